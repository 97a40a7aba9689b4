// The neighbour grid of the particle solvers, rebuilt on the device by a counting sort (count
// particles per cell with atomics, exclusive prefix sum, scatter; the host never reads anything
// back). Appended to each solver's shader, which declares `params` with n_all, dims_x, dims_y,
// lo_x, lo_y, cell_x and cell_y, and `pos` at binding 1 (vec2 per particle; 1D uses x).

// Counting sort: each particle's cell and rank in it, per-cell counts, cell starts, order.
@group(0) @binding(9) var<storage, read_write> cell_of: array<u32>;
@group(0) @binding(10) var<storage, read_write> rank: array<u32>;
@group(0) @binding(11) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(12) var<storage, read_write> start: array<u32>;
@group(0) @binding(13) var<storage, read_write> order: array<u32>;

const GROUP: u32 = 64u;

fn cells() -> u32 {
    return params.dims_x * params.dims_y;
}

fn cell_coords(p: vec2<f32>) -> vec2<u32> {
    let fx = floor((p.x - params.lo_x) / params.cell_x);
    let fy = floor((p.y - params.lo_y) / params.cell_y);
    let cx = u32(clamp(fx, 0.0, f32(params.dims_x - 1u)));
    let cy = u32(clamp(fy, 0.0, f32(params.dims_y - 1u)));
    return vec2<u32>(cx, cy);
}

// ---- Counting sort ----

@compute @workgroup_size(64)
fn clear_counts(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x > cells()) { return; }
    atomicStore(&counts[id.x], 0u);
}

@compute @workgroup_size(64)
fn count_cells(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_all) { return; }
    let c = cell_coords(pos[i]);
    let cell = c.y * params.dims_x + c.x;
    cell_of[i] = cell;
    rank[i] = atomicAdd(&counts[cell], 1u);
}

var<workgroup> partial: array<u32, 64>;

// Exclusive prefix sum of the counts into start (start[cells] = all particles), in one
// workgroup: each thread sums a contiguous chunk, thread 0 scans the chunk sums, then each
// thread writes its chunk's starts.
@compute @workgroup_size(64)
fn scan(@builtin(local_invocation_index) t: u32) {
    let n = cells();
    let chunk = (n + GROUP - 1u) / GROUP;
    let first = t * chunk;
    let last = min(first + chunk, n);
    var sum = 0u;
    for (var c = first; c < last; c++) {
        sum += atomicLoad(&counts[c]);
    }
    partial[t] = sum;
    workgroupBarrier();
    if (t == 0u) {
        var running = 0u;
        for (var k = 0u; k < GROUP; k++) {
            let here = partial[k];
            partial[k] = running;
            running += here;
        }
        start[n] = running;
    }
    workgroupBarrier();
    var running = partial[t];
    for (var c = first; c < last; c++) {
        start[c] = running;
        running += atomicLoad(&counts[c]);
    }
}

@compute @workgroup_size(64)
fn scatter(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_all) { return; }
    order[start[cell_of[i]] + rank[i]] = i;
}
