// Compressible SPH in 1D: the WGSL twin of crates/flowscope-sph/src/gas1d.rs. Summation
// density (with variable smoothing length h = η m / ρ, three fixed-point passes), the ideal-gas
// or barotropic pressure, symmetrised pressure forces with the thermal-energy equation and
// Monaghan's viscosity, classical RK4. Periodic ends wrap the neighbour search; reflective ends
// add mirror images of the particles near an end (opposite velocity), found by searching around
// the particle's own mirror point. The neighbour grid is sort.wgsl's (appended), one row of
// cells no narrower than the initial support.

struct Params {
    n_all: u32,
    dims_x: u32,
    dims_y: u32,
    // 1: periodic ends, 0: reflective.
    periodic: u32,
    lo_x: f32,
    lo_y: f32,
    cell_x: f32,
    cell_y: f32,
    a: f32,
    b: f32,
    length: f32,
    // 0: cubic spline, 1: Wendland C2.
    shape: u32,
    // 1: ideal gas p = (γ − 1) ρ e, 0: barotropic p = κ (ρ − ρ0) with sound speed c0.
    ideal: u32,
    gamma: f32,
    kappa: f32,
    rho0: f32,
    c0: f32,
    alpha: f32,
    beta: f32,
    // Variable smoothing length h = η m / ρ when positive.
    eta: f32,
    dt: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// Positions being evaluated (x; y is 0 for the grid).
@group(0) @binding(1) var<storage, read_write> pos: array<vec2<f32>>;
// Velocity and specific internal energy being evaluated.
@group(0) @binding(2) var<storage, read_write> moving: array<vec2<f32>>;
// The state at the start of the step: x, v, e.
@group(0) @binding(3) var<storage, read_write> base: array<vec4<f32>>;
// h, ρ, p and sound speed c of the last evaluation.
@group(0) @binding(4) var<storage, read_write> thermo: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> mass: array<f32>;
// Rates of the last evaluation (dx, dv, de) and their RK4 sum.
@group(0) @binding(6) var<storage, read_write> rates: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> total: array<vec4<f32>>;
// The largest smoothing length (one value).
@group(0) @binding(8) var<storage, read_write> h_max: array<f32>;

const REDUCE: u32 = 256u;

// ---- Kernels in 1D (support 2h) ----

fn kernel_w(r: f32, h: f32) -> f32 {
    let q = r / h;
    if (q >= 2.0) { return 0.0; }
    if (params.shape == 0u) {
        let sigma = 2.0 / (3.0 * h);
        if (q < 1.0) { return sigma * (1.0 - 1.5 * q * q + 0.75 * q * q * q); }
        let t = 2.0 - q;
        return sigma * 0.25 * t * t * t;
    }
    let sigma = 5.0 / (8.0 * h);
    let t = 1.0 - 0.5 * q;
    return sigma * t * t * t * (1.5 * q + 1.0);
}

fn kernel_dw_dr(r: f32, h: f32) -> f32 {
    let q = r / h;
    if (q >= 2.0) { return 0.0; }
    if (params.shape == 0u) {
        let sigma = 2.0 / (3.0 * h);
        if (q < 1.0) { return sigma * (-3.0 * q + 2.25 * q * q) / h; }
        let t = 2.0 - q;
        return sigma * (-0.75 * t * t) / h;
    }
    let sigma = 5.0 / (8.0 * h);
    let t = 1.0 - 0.5 * q;
    return sigma * (-3.0 * q * t * t) / h;
}

// ---- Neighbour search ----

// The cells within `r` of `x`: the first (unwrapped when periodic) and how many.
fn span(x: f32, r: f32) -> vec2<i32> {
    let first = i32(floor((x - r - params.lo_x) / params.cell_x));
    let last = i32(floor((x + r - params.lo_x) / params.cell_x));
    let dims = i32(params.dims_x);
    if (params.periodic == 1u) {
        return vec2<i32>(first, min(last - first + 1, dims));
    }
    let lo = max(first, 0);
    let hi = min(last, dims - 1);
    return vec2<i32>(lo, max(hi - lo + 1, 0));
}

fn cell_at(c: i32) -> u32 {
    let dims = i32(params.dims_x);
    return u32(((c % dims) + dims) % dims);
}

// x_i − x_j, the nearest periodic image when the ends are periodic.
fn separation(x_i: f32, x_j: f32) -> f32 {
    if (params.periodic == 1u) { return periodic_delta(x_i, x_j, params.length); }
    return x_i - x_j;
}

// The mirror points of x beyond the reflective ends within `r` of them (NaN-free sentinel: a
// point is used only when its flag is set): (left, right, has left, has right).
fn mirrors(x: f32, r: f32) -> vec4<f32> {
    var out = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    if (params.periodic == 0u) {
        if (x - params.a < r) { out.x = 2.0 * params.a - x; out.z = 1.0; }
        if (params.b - x < r) { out.y = 2.0 * params.b - x; out.w = 1.0; }
    }
    return out;
}

// ---- Densities and pressures ----

// ρ_i by summation with h_i over the particles and their mirror images, then h_i = η m_i / ρ_i.
@compute @workgroup_size(64)
fn density(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_all) { return; }
    let x_i = pos[i].x;
    let h = thermo[i].x;
    let reach = 2.0 * h;
    var rho = mass[i] * kernel_w(0.0, h);
    let s = span(x_i, reach);
    for (var c = s.x; c < s.x + s.y; c++) {
        let cell = cell_at(c);
        for (var k = start[cell]; k < start[cell + 1u]; k++) {
            let j = order[k];
            if (j == i) { continue; }
            rho += mass[j] * kernel_w(abs(separation(x_i, pos[j].x)), h);
        }
    }
    let m = mirrors(x_i, reach);
    for (var side = 0u; side < 2u; side++) {
        if (m[2u + side] == 0.0) { continue; }
        // Mirror images of j (at 2a − x_j) lie within reach of x_i when x_j lies within reach of
        // x_i's own mirror point.
        let centre = m[side];
        let end = select(params.a, params.b, side == 1u);
        let t = span(centre, reach);
        for (var c = t.x; c < t.x + t.y; c++) {
            let cell = cell_at(c);
            for (var k = start[cell]; k < start[cell + 1u]; k++) {
                let j = order[k];
                let r = abs(x_i - (2.0 * end - pos[j].x));
                rho += mass[j] * kernel_w(r, h);
            }
        }
    }
    var next = h;
    if (params.eta > 0.0) { next = params.eta * mass[i] / rho; }
    thermo[i] = vec4<f32>(next, rho, thermo[i].z, thermo[i].w);
}

@compute @workgroup_size(64)
fn pressure(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_all) { return; }
    let t = thermo[i];
    let rho = t.y;
    var p: f32;
    var c: f32;
    if (params.ideal == 1u) {
        p = (params.gamma - 1.0) * rho * moving[i].y;
        c = sqrt(params.gamma * max(p, 0.0) / rho);
    } else {
        p = params.kappa * (rho - params.rho0);
        c = params.c0;
    }
    thermo[i] = vec4<f32>(t.x, rho, p, c);
}

var<workgroup> largest: array<f32, REDUCE>;

@compute @workgroup_size(256)
fn reduce_h(@builtin(local_invocation_index) t: u32) {
    var h = 0.0;
    for (var i = t; i < params.n_all; i += REDUCE) {
        h = max(h, thermo[i].x);
    }
    largest[t] = h;
    workgroupBarrier();
    for (var stride = REDUCE / 2u; stride > 0u; stride /= 2u) {
        if (t < stride) { largest[t] = max(largest[t], largest[t + stride]); }
        workgroupBarrier();
    }
    if (t == 0u) { h_max[0] = largest[0]; }
}

// ---- Rates ----

// The contribution of neighbour j (or its mirror image: `sign` −1 flips its velocity) at
// separation d = x_i − x_j to particle i's (dv, de).
fn pair(i: u32, j: u32, d: f32, sign: f32) -> vec2<f32> {
    let r = abs(d);
    let t_i = thermo[i];
    let t_j = thermo[j];
    let h = 0.5 * (t_i.x + t_j.x);
    if (r >= 2.0 * h || r == 0.0) { return vec2<f32>(0.0, 0.0); }
    let grad = kernel_dw_dr(r, h) * d / r;
    let v_ij = moving[i].x - sign * moving[j].x;
    let approach = v_ij * d;
    var viscous = 0.0;
    if (approach < 0.0) {
        let mu = h * approach / (r * r + 0.01 * h * h);
        let c = 0.5 * (t_i.w + t_j.w);
        viscous = (-params.alpha * c * mu + params.beta * mu * mu) / (0.5 * (t_i.y + t_j.y));
    }
    let term = t_i.z / (t_i.y * t_i.y) + t_j.z / (t_j.y * t_j.y) + viscous;
    return vec2<f32>(-mass[j] * term * grad, 0.5 * mass[j] * term * v_ij * grad);
}

@compute @workgroup_size(64)
fn evaluate(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_all) { return; }
    let x_i = pos[i].x;
    // Every pair within the support of its mean smoothing length.
    let reach = thermo[i].x + h_max[0];
    var sum = vec2<f32>(0.0, 0.0);
    let s = span(x_i, reach);
    for (var c = s.x; c < s.x + s.y; c++) {
        let cell = cell_at(c);
        for (var k = start[cell]; k < start[cell + 1u]; k++) {
            let j = order[k];
            if (j == i) { continue; }
            sum += pair(i, j, separation(x_i, pos[j].x), 1.0);
        }
    }
    let m = mirrors(x_i, reach);
    for (var side = 0u; side < 2u; side++) {
        if (m[2u + side] == 0.0) { continue; }
        let end = select(params.a, params.b, side == 1u);
        let t = span(m[side], reach);
        for (var c = t.x; c < t.x + t.y; c++) {
            let cell = cell_at(c);
            for (var k = start[cell]; k < start[cell + 1u]; k++) {
                let j = order[k];
                sum += pair(i, j, x_i - (2.0 * end - pos[j].x), -1.0);
            }
        }
    }
    var de = sum.y;
    if (params.ideal == 0u) { de = 0.0; }
    rates[i] = vec4<f32>(moving[i].x, sum.x, de, 0.0);
}

// ---- RK4 ----

// The evaluation state of the step's start.
@compute @workgroup_size(64)
fn load(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_all) { return; }
    let s = base[i];
    pos[i] = vec2<f32>(s.x, 0.0);
    moving[i] = s.yz;
}

// The evaluation state base + f dt k, and the RK4 sum with weight w.
fn stage(i: u32, f: f32, w: f32, first: bool) {
    let k = rates[i];
    if (first) { total[i] = k; } else { total[i] += w * k; }
    let s = base[i] + f * params.dt * k;
    pos[i] = vec2<f32>(s.x, 0.0);
    moving[i] = s.yz;
}

@compute @workgroup_size(64)
fn stage1(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= params.n_all) { return; }
    stage(id.x, 0.5, 1.0, true);
}

@compute @workgroup_size(64)
fn stage2(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= params.n_all) { return; }
    stage(id.x, 0.5, 2.0, false);
}

@compute @workgroup_size(64)
fn stage3(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= params.n_all) { return; }
    stage(id.x, 1.0, 2.0, false);
}

// base + dt/6 (k1 + 2 k2 + 2 k3 + k4), wrapped into the domain when periodic.
@compute @workgroup_size(64)
fn finish(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_all) { return; }
    var s = base[i] + params.dt / 6.0 * (total[i] + rates[i]);
    if (params.periodic == 1u) {
        s.x = params.a + (s.x - params.a) - params.length * floor((s.x - params.a) / params.length);
    }
    base[i] = s;
}

// ---- Views ----

struct Strip {
    points: u32,
    // 0 density, 1 velocity, 2 pressure, 3 specific internal energy.
    quantity: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(18) var<uniform> strip: Strip;
@group(0) @binding(19) var<storage, read_write> pixels: array<f32>;

fn quantity_of(j: u32) -> f32 {
    switch strip.quantity {
        case 0u: { return thermo[j].y; }
        case 1u: { return moving[j].x; }
        case 2u: { return thermo[j].z; }
        default: { return moving[j].y; }
    }
}

// The SPH interpolant ∑ m_j / ρ_j q_j W(x − x_j, h_j) at `points` evenly spaced points across the
// domain (the real particles only, as the CPU's strip).
@compute @workgroup_size(64)
fn draw_strip(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= strip.points) { return; }
    let x = params.a + (f32(k) + 0.5) * params.length / f32(strip.points);
    let reach = 2.0 * h_max[0];
    var sum = 0.0;
    let s = span(x, reach);
    for (var c = s.x; c < s.x + s.y; c++) {
        let cell = cell_at(c);
        for (var n = start[cell]; n < start[cell + 1u]; n++) {
            let j = order[n];
            let t = thermo[j];
            let w = kernel_w(abs(separation(x, pos[j].x)), t.x);
            sum += mass[j] / t.y * quantity_of(j) * w;
        }
    }
    pixels[k] = sum;
}
