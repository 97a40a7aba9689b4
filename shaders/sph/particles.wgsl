// What the 2D particle solvers share (appended to wcsph.wgsl and dfsph.wgsl, which declare
// `params` with the fields used here, `pos` at binding 1 holding fluid then wall particles, and
// `quantity_of(i)`, the value the view shows for fluid particle i): the smoothing kernels, the
// neighbour grid rebuilt on the device by a counting sort (count particles per cell with
// atomics, exclusive prefix sum, scatter; the host never reads anything back), and the view
// that draws particles as discs.

// Counting sort: each particle's cell and rank in it, per-cell counts, cell starts, order.
@group(0) @binding(9) var<storage, read_write> cell_of: array<u32>;
@group(0) @binding(10) var<storage, read_write> rank: array<u32>;
@group(0) @binding(11) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(12) var<storage, read_write> start: array<u32>;
@group(0) @binding(13) var<storage, read_write> order: array<u32>;

const GROUP: u32 = 64u;
const PI: f32 = 3.14159265358979;

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

// ---- Kernels (support 2h) ----

fn kernel_w(r: f32) -> f32 {
    let h = params.h;
    let q = r / h;
    if (q >= 2.0) { return 0.0; }
    if (params.shape == 0u) {
        let sigma = 10.0 / (7.0 * PI * h * h);
        if (q < 1.0) { return sigma * (1.0 - 1.5 * q * q + 0.75 * q * q * q); }
        let t = 2.0 - q;
        return sigma * 0.25 * t * t * t;
    }
    let sigma = 7.0 / (4.0 * PI * h * h);
    let t = 1.0 - 0.5 * q;
    return sigma * t * t * t * t * (2.0 * q + 1.0);
}

fn kernel_dw_dr(r: f32) -> f32 {
    let h = params.h;
    let q = r / h;
    if (q >= 2.0) { return 0.0; }
    if (params.shape == 0u) {
        let sigma = 10.0 / (7.0 * PI * h * h);
        if (q < 1.0) { return sigma * (-3.0 * q + 2.25 * q * q) / h; }
        let t = 2.0 - q;
        return sigma * (-0.75 * t * t) / h;
    }
    let sigma = 7.0 / (4.0 * PI * h * h);
    let t = 1.0 - 0.5 * q;
    return sigma * (-5.0 * q * t * t * t) / h;
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

// The range of neighbouring cells of a position: (x0, x1, y0, y1), inclusive.
fn cell_range(p: vec2<f32>) -> vec4<u32> {
    let c = cell_coords(p);
    return vec4<u32>(
        select(c.x - 1u, 0u, c.x == 0u),
        min(c.x + 1u, params.dims_x - 1u),
        select(c.y - 1u, 0u, c.y == 0u),
        min(c.y + 1u, params.dims_y - 1u),
    );
}

// ---- Views ----

struct Image {
    nx: u32,
    ny: u32,
    pixel: f32,
    radius: f32,
    // 0 speed, 1 pressure, 2 density, 3 neighbour count.
    quantity: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(18) var<uniform> image: Image;
@group(0) @binding(19) var<storage, read_write> pixels: array<f32>;

// Each pixel takes the value of the nearest fluid particle within `radius` (NaN if none): the
// particles drawn as discs, read from the sorted grid of the current positions.
@compute @workgroup_size(64)
fn splat(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= image.nx * image.ny) { return; }
    let p = vec2<f32>((f32(k % image.nx) + 0.5) * image.pixel, (f32(k / image.nx) + 0.5) * image.pixel);
    var best = image.radius;
    // NaN (no fluid here), made at run time: a NaN constant is a shader-creation error.
    var nan_bits = 0x7fc00000u;
    var value = bitcast<f32>(nan_bits);
    let range = cell_range(p);
    for (var cy = range.z; cy <= range.w; cy++) {
        for (var cx = range.x; cx <= range.y; cx++) {
            let cell = cy * params.dims_x + cx;
            for (var s = start[cell]; s < start[cell + 1u]; s++) {
                let j = order[s];
                if (j >= params.n_fluid) { continue; }
                let r = length(p - pos[j]);
                if (r <= best) {
                    best = r;
                    value = quantity_of(j);
                }
            }
        }
    }
    pixels[k] = value;
}
