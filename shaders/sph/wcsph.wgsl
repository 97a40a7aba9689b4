// Weakly compressible SPH in 2D: the WGSL twin of crates/flowscope-sph/src/wcsph.rs, with the
// neighbour grid built on the device every evaluation by a counting sort (count particles per
// cell with atomics, exclusive prefix sum, scatter), so the host never reads anything back.
//
// Particles: fluid first (n_fluid), then the static wall particles; `pos` holds all of them.

struct Params {
    n_fluid: u32,
    n_all: u32,
    dims_x: u32,
    dims_y: u32,
    lo_x: f32,
    lo_y: f32,
    cell_x: f32,
    cell_y: f32,
    h: f32,
    radius: f32,
    mass: f32,
    rho0: f32,
    c0: f32,
    // Tait stiffness B = c0² ρ0 / γ.
    stiffness: f32,
    alpha: f32,
    delta: f32,
    gx: f32,
    gy: f32,
    dt: f32,
    // 0: cubic spline, 1: Wendland C2.
    shape: u32,
    // Neighbour slots per particle in `listing`.
    max_listed: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> pos: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> vel: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> rho: array<f32>;
// The state at the start of the step.
@group(0) @binding(4) var<storage, read_write> x0: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> v0: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read_write> rho_start: array<f32>;
// Rates of each fluid particle: acceleration (xy), dρ/dt (z), neighbour count (w). Packed, as
// WebGPU allows eight storage buffers per kernel.
@group(0) @binding(7) var<storage, read_write> out: array<vec4<f32>>;
// Counting sort: each particle's cell and rank in it, per-cell counts, cell starts, order.
@group(0) @binding(9) var<storage, read_write> cell_of: array<u32>;
@group(0) @binding(10) var<storage, read_write> rank: array<u32>;
@group(0) @binding(11) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(12) var<storage, read_write> start: array<u32>;
@group(0) @binding(13) var<storage, read_write> order: array<u32>;
// Pressure (x) and density (y) of each wall particle.
@group(0) @binding(14) var<storage, read_write> wall: array<vec2<f32>>;
@group(0) @binding(17) var<storage, read_write> listing: array<u32>;

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

fn pressure_of(density: f32) -> f32 {
    return params.stiffness * (pow(density / params.rho0, 7.0) - 1.0);
}

fn density_of(pressure: f32) -> f32 {
    return params.rho0 * pow(max(pressure / params.stiffness + 1.0, 1e-6), 1.0 / 7.0);
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

// ---- Rates ----

// Wall pressure from the fluid around each wall particle (Adami), never pulling.
@compute @workgroup_size(64)
fn wall_pressure(@builtin(global_invocation_id) id: vec3<u32>) {
    let w = id.x;
    if (w >= params.n_all - params.n_fluid) { return; }
    let i = params.n_fluid + w;
    let p_i = pos[i];
    let range = cell_range(p_i);
    var sw = 0.0;
    var sp = 0.0;
    for (var cy = range.z; cy <= range.w; cy++) {
        for (var cx = range.x; cx <= range.y; cx++) {
            let cell = cy * params.dims_x + cx;
            for (var k = start[cell]; k < start[cell + 1u]; k++) {
                let j = order[k];
                if (j >= params.n_fluid) { continue; }
                let d = p_i - pos[j];
                let r = length(d);
                if (r >= params.radius) { continue; }
                let weight = kernel_w(r);
                sw += weight;
                sp += (pressure_of(rho[j]) + rho[j] * (params.gx * d.x + params.gy * d.y)) * weight;
            }
        }
    }
    var p = 0.0;
    if (sw > 0.0) { p = max(sp / sw, 0.0); }
    wall[w] = vec2<f32>(p, density_of(p));
}

@compute @workgroup_size(64)
fn rates(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    let p_i = pos[i];
    let v_i = vel[i];
    let rho_i = rho[i];
    let pr_i = pressure_of(rho_i);
    let h = params.h;
    let m = params.mass;
    var a = vec2<f32>(params.gx, params.gy);
    var change = 0.0;
    var count = 0u;
    let range = cell_range(p_i);
    for (var cy = range.z; cy <= range.w; cy++) {
        for (var cx = range.x; cx <= range.y; cx++) {
            let cell = cy * params.dims_x + cx;
            for (var k = start[cell]; k < start[cell + 1u]; k++) {
                let j = order[k];
                if (j == i) { continue; }
                let d = p_i - pos[j];
                let r = length(d);
                if (r >= params.radius) { continue; }
                count += 1u;
                let grad = kernel_dw_dr(r) / r * d;
                var v_j = vec2<f32>(0.0, 0.0);
                var rho_j: f32;
                var pr_j: f32;
                if (j < params.n_fluid) {
                    v_j = vel[j];
                    rho_j = rho[j];
                    pr_j = pressure_of(rho_j);
                } else {
                    let state = wall[j - params.n_fluid];
                    pr_j = state.x;
                    rho_j = state.y;
                }
                let v_ij = v_i - v_j;
                change += m * dot(v_ij, grad);
                let r2 = r * r + 0.01 * h * h;
                if (j < params.n_fluid && params.delta > 0.0) {
                    let toward = -dot(d, grad);
                    change += 2.0 * params.delta * h * params.c0 * (rho_j - rho_i) * toward / r2 * m / rho_j;
                }
                let approach = dot(v_ij, d);
                var viscous = 0.0;
                if (approach < 0.0) {
                    viscous = -params.alpha * params.c0 * (h * approach / r2) / (0.5 * (rho_i + rho_j));
                }
                let pair = pr_i / (rho_i * rho_i) + pr_j / (rho_j * rho_j) + viscous;
                a -= m * pair * grad;
            }
        }
    }
    out[i] = vec4<f32>(a, change, f32(count));
}

// Every neighbour index of each fluid particle (up to max_listed), for tests.
@compute @workgroup_size(64)
fn list_neighbours(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    let p_i = pos[i];
    var count = 0u;
    let range = cell_range(p_i);
    for (var cy = range.z; cy <= range.w; cy++) {
        for (var cx = range.x; cx <= range.y; cx++) {
            let cell = cy * params.dims_x + cx;
            for (var k = start[cell]; k < start[cell + 1u]; k++) {
                let j = order[k];
                if (j == i || length(p_i - pos[j]) >= params.radius) { continue; }
                if (count < params.max_listed) {
                    listing[i * params.max_listed + count] = j;
                }
                count += 1u;
            }
        }
    }
    out[i] = vec4<f32>(0.0, 0.0, 0.0, f32(count));
}

// ---- Midpoint time stepping ----

// The evaluation state from the step's start.
@compute @workgroup_size(64)
fn load(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    pos[i] = x0[i];
    vel[i] = v0[i];
    rho[i] = rho_start[i];
}

// Half a step along the first rates.
@compute @workgroup_size(64)
fn half_step(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    let half = 0.5 * params.dt;
    pos[i] = x0[i] + half * v0[i];
    let rates = out[i];
    vel[i] = v0[i] + half * rates.xy;
    rho[i] = rho_start[i] + half * rates.z;
}

// The whole step along the midpoint rates (vel holds the midpoint velocity).
@compute @workgroup_size(64)
fn full_step(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    let dt = params.dt;
    let rates = out[i];
    x0[i] = x0[i] + dt * vel[i];
    v0[i] = v0[i] + dt * rates.xy;
    rho_start[i] = rho_start[i] + dt * rates.z;
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

fn quantity_of(i: u32) -> f32 {
    switch image.quantity {
        case 0u: { return length(vel[i]); }
        case 1u: { return pressure_of(rho[i]); }
        case 2u: { return rho[i]; }
        default: { return out[i].w; }
    }
}

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
