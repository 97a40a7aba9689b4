// Divergence-free SPH in 2D: the WGSL twin of crates/flowscope-sph/src/dfsph.rs. One step:
// gravity and viscosity into the predicted velocity `pred`, the constant-density solve, the
// move, the neighbour grid (sort.wgsl, appended with particles.wgsl) and DFSPH factors at the
// new positions, the divergence-free solve, `vel` = `pred`.
//
// Both solves iterate on the device without reading anything back: each iteration is a source
// and an apply dispatch, indirect with workgroup counts from a `Solve` record, around a
// one-workgroup `reduce`; once `reduce` finds the average error within the tolerance it sets the
// counts to zero (and returns at once from then on), so the iterations recorded up to the limit
// cost next to nothing after convergence. The two solves share
// their arithmetic by measuring the divergence in density units (dt · Dρ/Dt):
// error = Σ s / (ρ0 n), κ = s α / dt².
//
// The constant-density solve starts from zero κ (`accelerate` clears `kappa_sum` once it has
// extrapolated the walls' pressure from it) and relaxes it both ways: its source is the relaxed
// step OMEGA (ρ* − ρ0), held where it would take κ below zero, and it also stops only once no
// particle is compressed by more than WORST_TOLERANCES tolerances (dfsph.rs says why). Its steps
// are Chebyshev-accelerated: `reduce`, which alone knows whether the solve converged, writes the
// steps the apply kernel takes, ω_k × the source plus (ω_k − 1) × the last step with the weight
// it keeps in the `Solve` record; once converged it writes the plain source (the smoothing sweep)
// and keeps the kernels dispatched for that one apply, and the next `reduce` stops them.

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
    gx: f32,
    gy: f32,
    dt: f32,
    viscosity: f32,
    tolerance: f32,
    max_iterations: u32,
    // 0: cubic spline, 1: Wendland C2.
    shape: u32,
    // Of the constant-density solve's Chebyshev weights (0: plain sweeps).
    spectral_radius: f32,
}

// A solve's progress, and the indirect dispatch arguments of its kernels.
struct Solve {
    done: u32,
    // Iterations evaluated so far.
    k: u32,
    // Iterations the solve took (max_iterations until it converges).
    iterations: u32,
    // Average error at the last evaluation.
    error: f32,
    // Workgroups of the per-particle kernels (x, y, z).
    particles: vec3<u32>,
    // The Chebyshev weight of the last accelerated step.
    weight: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
// Fluid then wall particles.
@group(0) @binding(1) var<storage, read_write> pos: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> vel: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> rho: array<f32>;
@group(0) @binding(4) var<storage, read_write> alpha: array<f32>;
// The velocity the solves correct.
@group(0) @binding(5) var<storage, read_write> pred: array<vec2<f32>>;
// Each particle's compression (density units) in the current iteration, and the lowest step
// that keeps its κ at or above zero.
@group(0) @binding(6) var<storage, read_write> source: array<vec2<f32>>;
// κ summed over the constant-density solve: κ ρ is the pressure.
@group(0) @binding(7) var<storage, read_write> kappa_sum: array<f32>;
@group(0) @binding(8) var<storage, read_write> solve: Solve;
@group(0) @binding(14) var<storage, read_write> neighbours: array<u32>;
// The steps the apply kernels take (density units, as `source`).
@group(0) @binding(15) var<storage, read_write> steps: array<f32>;

// Fewer neighbours than this mark a particle at the free surface (dfsph.rs).
const SURFACE_NEIGHBOURS: u32 = 16u;
// The constant-density solve's relaxation and worst-compression limit (dfsph.rs).
const OMEGA: f32 = 0.5;
const WORST_TOLERANCES: f32 = 10.0;
const REDUCE: u32 = 256u;

// ---- Densities and factors ----

// ρ_i by summation, the DFSPH factor α_i (walls push with 2κ_i) and the neighbour count.
@compute @workgroup_size(64)
fn factors(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    let m = params.mass;
    let p_i = pos[i];
    var density = m * kernel_w(0.0);
    var fluid = vec2<f32>(0.0, 0.0);
    var wall = vec2<f32>(0.0, 0.0);
    var squares = 0.0;
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
                density += m * kernel_w(r);
                let g = m * kernel_dw_dr(r) / r * d;
                if (j < params.n_fluid) {
                    fluid += g;
                    squares += dot(g, g);
                } else {
                    wall += g;
                }
                count += 1u;
            }
        }
    }
    let denominator = dot(fluid + wall, fluid + 2.0 * wall) + squares;
    var a = 0.0;
    if (denominator > 1e-9 * density * density) { a = density / denominator; }
    rho[i] = density;
    alpha[i] = a;
    neighbours[i] = count;
}

// ---- Non-pressure forces ----

// pred = vel + dt (g + Morris viscosity, walls at rest: no-slip, + the hydrostatic part of the
// walls' pressure from the last solve's κ_i); then κ_i starts again from zero.
@compute @workgroup_size(64)
fn accelerate(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    let h = params.h;
    let p_i = pos[i];
    let v_i = vel[i];
    let k_i = kappa_sum[i];
    let g = vec2<f32>(params.gx, params.gy);
    var a = vec2<f32>(params.gx, params.gy);
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
                var v_j = vec2<f32>(0.0, 0.0);
                var rho_j = rho[i];
                if (j < params.n_fluid) {
                    v_j = vel[j];
                    rho_j = rho[j];
                }
                var s = 8.0 * params.viscosity * params.mass / rho_j * dot(v_i - v_j, d)
                    / (r * r + 0.01 * h * h);
                if (j >= params.n_fluid) {
                    // What the wall adds to the κ_i it mirrors: g·(x_wall − x_i), held at zero κ.
                    s -= params.mass / rho[i] * (max(k_i - dot(g, d), 0.0) - k_i);
                }
                a += s * kernel_dw_dr(r) / r * d;
            }
        }
    }
    pred[i] = v_i + params.dt * a;
    kappa_sum[i] = 0.0;
}

// ---- The two solves ----

// Resets the solve: nothing evaluated yet, every kernel dispatched.
@compute @workgroup_size(1)
fn begin_solve() {
    solve.done = 0u;
    solve.k = 0u;
    solve.iterations = params.max_iterations;
    solve.error = 0.0;
    solve.particles = vec3<u32>((params.n_fluid + GROUP - 1u) / GROUP, 1u, 1u);
    solve.weight = 1.0;
}

// Dρ/Dt of fluid particle i for the predicted velocities (walls at rest).
fn density_change(i: u32) -> f32 {
    let m = params.mass;
    let p_i = pos[i];
    let v_i = pred[i];
    var change = 0.0;
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
                var v_j = vec2<f32>(0.0, 0.0);
                if (j < params.n_fluid) { v_j = pred[j]; }
                change += m * dot(v_i - v_j, kernel_dw_dr(r) / r * d);
            }
        }
    }
    return change;
}

// The relaxed step OMEGA (ρ + dt Dρ/Dt − ρ0), and the step that takes κ to zero.
@compute @workgroup_size(64)
fn density_source(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    var lowest = -3.4e38;
    if (alpha[i] > 0.0) {
        lowest = -kappa_sum[i] * params.dt * params.dt / alpha[i];
    }
    source[i] = vec2<f32>(OMEGA * (rho[i] + params.dt * density_change(i) - params.rho0), lowest);
}

// Compressing divergence, dt max(Dρ/Dt, 0), left alone at the free surface.
@compute @workgroup_size(64)
fn divergence_source(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    var s = 0.0;
    if (neighbours[i] >= SURFACE_NEIGHBOURS) {
        s = params.dt * max(density_change(i), 0.0);
    }
    source[i] = vec2<f32>(s, -3.4e38);
}

var<workgroup> sums: array<f32, REDUCE>;
var<workgroup> peaks: array<f32, REDUCE>;
var<workgroup> finished: u32;
var<workgroup> weight: f32;

// The average of the sources' positive parts (over `scale`) and their largest; converged (after
// at least one correction) stops the solve, an accelerated one after its smoothing sweep. Then
// the steps of this iteration's apply.
fn reduce_solve(t: u32, scale: f32, worst_tolerances: f32, accelerated: bool) {
    if (t == 0u) { finished = solve.done; }
    if (workgroupUniformLoad(&finished) == 1u) {
        if (t == 0u) { solve.particles = vec3<u32>(0u, 1u, 1u); }
        return;
    }
    var sum = 0.0;
    var peak = 0.0;
    for (var i = t; i < params.n_fluid; i += REDUCE) {
        sum += max(source[i].x, 0.0);
        peak = max(peak, source[i].x);
    }
    sums[t] = sum;
    peaks[t] = peak;
    workgroupBarrier();
    for (var stride = REDUCE / 2u; stride > 0u; stride /= 2u) {
        if (t < stride) {
            sums[t] += sums[t + stride];
            peaks[t] = max(peaks[t], peaks[t + stride]);
        }
        workgroupBarrier();
    }
    if (t == 0u) {
        let error = sums[0] / (scale * params.rho0 * f32(max(params.n_fluid, 1u)));
        let worst = peaks[0] / (scale * params.rho0);
        solve.error = error;
        var w = 1.0;
        if (error <= params.tolerance && worst <= worst_tolerances * params.tolerance
            && solve.k > 0u) {
            solve.done = 1u;
            solve.iterations = solve.k;
            if (!accelerated) {
                solve.particles = vec3<u32>(0u, 1u, 1u);
            }
        } else if (accelerated && solve.k > 0u) {
            // Chebyshev's weights: 1, 2/(2 − ρ²), 4/(4 − ρ² ω_(k−1)) (dfsph.rs).
            let r2 = params.spectral_radius * params.spectral_radius;
            if (solve.k == 1u) {
                w = 2.0 / (2.0 - r2);
            } else {
                w = 4.0 / (4.0 - r2 * solve.weight);
            }
            solve.weight = w;
        }
        solve.k += 1u;
        weight = w;
    }
    let w = workgroupUniformLoad(&weight);
    for (var i = t; i < params.n_fluid; i += REDUCE) {
        let s = source[i];
        steps[i] = max(w * s.x + (w - 1.0) * steps[i], s.y);
    }
}

@compute @workgroup_size(256)
fn reduce_density(@builtin(local_invocation_index) t: u32) {
    reduce_solve(t, OMEGA, WORST_TOLERANCES, true);
}

// The divergence-free solve stops on the average alone.
@compute @workgroup_size(256)
fn reduce_divergence(@builtin(local_invocation_index) t: u32) {
    reduce_solve(t, 1.0, 3.4e38, false);
}

// κ/ρ of fluid particle j in this iteration.
fn kappa_over_rho(j: u32) -> f32 {
    return steps[j] * alpha[j] / (params.dt * params.dt * rho[j]);
}

// pred_i −= dt ∑_j m (κ_i/ρ_i + κ_j/ρ_j) ∇W_ij, a wall particle mirroring κ_i/ρ_i.
fn apply_kappa(i: u32) {
    let m = params.mass;
    let p_i = pos[i];
    let k_i = kappa_over_rho(i);
    var dv = vec2<f32>(0.0, 0.0);
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
                var pair = 2.0 * k_i;
                if (j < params.n_fluid) { pair = k_i + kappa_over_rho(j); }
                dv += m * pair * kernel_dw_dr(r) / r * d;
            }
        }
    }
    pred[i] -= params.dt * dv;
}

@compute @workgroup_size(64)
fn apply_density(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    apply_kappa(i);
    kappa_sum[i] = max(kappa_sum[i] + steps[i] * alpha[i] / (params.dt * params.dt), 0.0);
}

@compute @workgroup_size(64)
fn apply_divergence(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    apply_kappa(i);
}

// ---- Time stepping ----

@compute @workgroup_size(64)
fn advance(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    pos[i] += params.dt * pred[i];
}

@compute @workgroup_size(64)
fn finish(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    vel[i] = pred[i];
}

// ---- Views ----

// The value the views show for fluid particle i (Image.quantity: 0 speed, 1 pressure, 2 density,
// 3 neighbour count).
fn quantity_of(i: u32) -> f32 {
    switch image.quantity {
        case 0u: { return length(vel[i]); }
        case 1u: { return kappa_sum[i] * rho[i]; }
        case 2u: { return rho[i]; }
        default: { return f32(neighbours[i]); }
    }
}
