// Multigrid-preconditioned conjugate gradients for the pressure Poisson equation: the WGSL twin
// of crates/flowscope-grid/src/pressure.rs. The operator comes as a five-point stencil per level
// (weights and diagonal computed once on the CPU), so the same kernels serve every level. The
// Helmholtz systems of implicit viscosity reuse them: their shift σ (cg.shift) adds to the
// diagonal, and two kernels at the end move a velocity component in and out.
//
// The CG scalars (α, β, r·z, the residual) live in `cg` on the GPU; the host never reads them
// while solving. Once the residual meets the tolerance `done` is set and every later kernel of
// the iteration budget returns at once.

struct Level {
    nx: u32,
    ny: u32,
    periodic_x: u32,
    periodic_y: u32,
    // Size of the next coarser level (restriction and prolongation).
    coarse_nx: u32,
    coarse_ny: u32,
    omega: f32,
    sweeps: u32,
}

struct Cg {
    norm_b: f32,
    residual: f32,
    rz: f32,
    alpha: f32,
    beta: f32,
    mean: f32,
    iterations: u32,
    // 0 running, 1 converged (or out of budget), 2 zero right-hand side.
    done: u32,
    tolerance: f32,
    max_iterations: u32,
    fluid_cells: f32,
    // σ of a Helmholtz system (σ − ∇²) x = b, added to every diagonal; 0 for pressure.
    shift: f32,
}

@group(0) @binding(0) var<uniform> level: Level;
// West, east, south, north weights of each cell.
@group(0) @binding(1) var<storage, read> stencil: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> diagonal: array<f32>;
@group(0) @binding(3) var<storage, read_write> cg: Cg;
@group(0) @binding(4) var<storage, read> in_a: array<f32>;
@group(0) @binding(5) var<storage, read> in_b: array<f32>;
@group(0) @binding(6) var<storage, read_write> out_a: array<f32>;
@group(0) @binding(7) var<storage, read> in_c: array<f32>;
@group(0) @binding(8) var<storage, read_write> out_b: array<f32>;
// One partial sum per workgroup of a reduction.
@group(0) @binding(9) var<storage, read_write> partials: array<f32>;
// 1 in obstacle cells (finest level).
@group(0) @binding(10) var<storage, read> solid: array<u32>;

// Implicit viscosity: a velocity component, the weights of its given neighbours, the moving
// walls' share of the right-hand side, and the component's row length.
@group(0) @binding(11) var<storage, read_write> component: array<f32>;
@group(0) @binding(12) var<storage, read> known: array<vec4<f32>>;
@group(0) @binding(13) var<storage, read> constant: array<f32>;
struct Arrangement {
    stride: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}
@group(0) @binding(14) var<uniform> arrangement: Arrangement;

// Workgroup size of reductions and single-workgroup kernels: small, because barriers in large
// workgroups are slow on software adapters (SwiftShader) and gain nothing at these sizes.
const GROUP: u32 = 64u;

fn cells() -> u32 {
    return level.nx * level.ny;
}

// Neighbour indices of cell k (west, east, south, north); a missing neighbour maps to k, where
// its weight is zero anyway.
fn neighbours(k: u32) -> vec4<u32> {
    let nx = level.nx;
    let ny = level.ny;
    let i = k % nx;
    let j = k / nx;
    var west = k;
    var east = k;
    var south = k;
    var north = k;
    if (i > 0u) { west = k - 1u; } else if (level.periodic_x != 0u) { west = k + nx - 1u; }
    if (i + 1u < nx) { east = k + 1u; } else if (level.periodic_x != 0u) { east = k + 1u - nx; }
    if (j > 0u) { south = k - nx; } else if (level.periodic_y != 0u) { south = k + (ny - 1u) * nx; }
    if (j + 1u < ny) { north = k + nx; } else if (level.periodic_y != 0u) { north = i; }
    return vec4<u32>(west, east, south, north);
}

fn diag(k: u32) -> f32 {
    return diagonal[k] + cg.shift;
}

// (A x)_k with x = in_a.
fn apply_in_a(k: u32) -> f32 {
    let n = neighbours(k);
    let w = stencil[k];
    let around = w.x * in_a[n.x] + w.y * in_a[n.y] + w.z * in_a[n.z] + w.w * in_a[n.w];
    return diag(k) * in_a[k] - around;
}

fn running() -> bool {
    return cg.done == 0u;
}

var<workgroup> group_running: u32;

// `running()` as a workgroup-uniform value, for kernels with barriers.
fn running_uniform(t: u32) -> bool {
    if (t == 0u) {
        group_running = select(0u, 1u, running());
    }
    return workgroupUniformLoad(&group_running) != 0u;
}

// ---- Smoothing, restriction, prolongation (any level; b = in_b) ----

// First weighted-Jacobi sweep from x = 0: x = ω D⁻¹ b.
@compute @workgroup_size(256)
fn jacobi_from_zero(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= cells() || !running()) { return; }
    out_a[k] = level.omega / diag(k) * in_b[k];
}

// x' = x + ω D⁻¹ (b − A x), x = in_a.
@compute @workgroup_size(256)
fn jacobi(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= cells() || !running()) { return; }
    out_a[k] = in_a[k] + level.omega / diag(k) * (in_b[k] - apply_in_a(k));
}

// Coarse right-hand side: the average of the fine residual b − A x over each 2 × 2 block
// (a partial block at an odd edge); one invocation per coarse cell, written to out_b.
@compute @workgroup_size(256)
fn restrict_residual(@builtin(global_invocation_id) id: vec3<u32>) {
    let kc = id.x;
    if (kc >= level.coarse_nx * level.coarse_ny || !running()) { return; }
    let ic = kc % level.coarse_nx;
    let jc = kc / level.coarse_nx;
    var sum = 0.0;
    for (var dj = 0u; dj < 2u; dj++) {
        for (var di = 0u; di < 2u; di++) {
            let i = 2u * ic + di;
            let j = 2u * jc + dj;
            if (i < level.nx && j < level.ny) {
                let k = j * level.nx + i;
                sum += in_b[k] - apply_in_a(k);
            }
        }
    }
    out_b[kc] = 0.25 * sum;
}

// x' = x + (coarse correction of the block holding the cell), x = in_a, correction = in_c.
@compute @workgroup_size(256)
fn prolong(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= cells() || !running()) { return; }
    let i = k % level.nx;
    let j = k / level.nx;
    out_a[k] = in_a[k] + in_c[(j / 2u) * level.coarse_nx + i / 2u];
}

// The coarsest level: `sweeps` Jacobi sweeps from zero in one workgroup, alternating between
// out_a and out_b (an even count ends in out_a).
fn coarse_value(from_a: bool, k: u32) -> f32 {
    if (from_a) { return out_a[k]; }
    return out_b[k];
}

@compute @workgroup_size(64)
fn coarsest(@builtin(local_invocation_index) t: u32) {
    if (!running_uniform(t)) { return; }
    let n = cells();
    for (var k = t; k < n; k += GROUP) {
        out_a[k] = 0.0;
    }
    storageBarrier();
    for (var s = 0u; s < level.sweeps; s++) {
        let from_a = s % 2u == 0u;
        for (var k = t; k < n; k += GROUP) {
            let nb = neighbours(k);
            let w = stencil[k];
            let x = coarse_value(from_a, k);
            let around = w.x * coarse_value(from_a, nb.x) + w.y * coarse_value(from_a, nb.y)
                + w.z * coarse_value(from_a, nb.z) + w.w * coarse_value(from_a, nb.w);
            let next = x + level.omega / diag(k) * (in_b[k] - (diag(k) * x - around));
            if (from_a) { out_b[k] = next; } else { out_a[k] = next; }
        }
        storageBarrier();
    }
}

// ---- Conjugate gradients (finest level) ----

// out_a = A in_a.
@compute @workgroup_size(256)
fn apply(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= cells() || !running()) { return; }
    out_a[k] = apply_in_a(k);
}

// out_a = in_b − A in_a (the initial residual; runs unless the right-hand side is zero).
@compute @workgroup_size(256)
fn residual(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= cells() || cg.done == 2u) { return; }
    out_a[k] = in_b[k] - apply_in_a(k);
}

// p += α d, r −= α A d: p = out_a, r = out_b, d = in_a, A d = in_b.
@compute @workgroup_size(256)
fn update(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= cells() || !running()) { return; }
    out_a[k] += cg.alpha * in_a[k];
    out_b[k] -= cg.alpha * in_b[k];
}

// d = z + β d: z = in_a, d = out_a.
@compute @workgroup_size(256)
fn direction(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= cells() || !running()) { return; }
    out_a[k] = in_a[k] + cg.beta * out_a[k];
}

// d = z (the first direction).
@compute @workgroup_size(256)
fn first_direction(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= cells() || !running()) { return; }
    out_a[k] = in_a[k];
}

// ---- Reductions: one partial per workgroup, then one workgroup finishes ----

var<workgroup> shared_sum: array<f32, 64>;

fn reduce_group(t: u32, value: f32) -> f32 {
    shared_sum[t] = value;
    workgroupBarrier();
    for (var stride = GROUP / 2u; stride > 0u; stride /= 2u) {
        if (t < stride) {
            shared_sum[t] += shared_sum[t + stride];
        }
        workgroupBarrier();
    }
    return shared_sum[0];
}

fn partial_dot(id: u32, t: u32, group: u32) {
    var value = 0.0;
    if (id < cells()) {
        value = in_a[id] * in_b[id];
    }
    let sum = reduce_group(t, value);
    if (t == 0u) {
        partials[group] = sum;
    }
}

// partials = per-workgroup sums of in_a · in_b (while running).
@compute @workgroup_size(64)
fn dot_partial(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    if (!running_uniform(t)) { return; }
    partial_dot(id.x, t, group.x);
}

// The same, also when the solve is over or has not started (norms of b, the final projection).
@compute @workgroup_size(64)
fn dot_partial_always(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    partial_dot(id.x, t, group.x);
}

fn partial_fluid_sum(id: u32, t: u32, group: u32) {
    var value = 0.0;
    if (id < cells() && solid[id] == 0u) {
        value = in_a[id];
    }
    let sum = reduce_group(t, value);
    if (t == 0u) {
        partials[group] = sum;
    }
}

// partials = per-workgroup sums of in_a over fluid cells (for the mean).
@compute @workgroup_size(64)
fn fluid_sum_partial(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    if (!running_uniform(t)) { return; }
    partial_fluid_sum(id.x, t, group.x);
}

@compute @workgroup_size(64)
fn fluid_sum_partial_always(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    partial_fluid_sum(id.x, t, group.x);
}

// Sum of all partials, in one workgroup.
fn total(t: u32) -> f32 {
    let count = (cells() + GROUP - 1u) / GROUP;
    var value = 0.0;
    for (var g = t; g < count; g += GROUP) {
        value += partials[g];
    }
    return reduce_group(t, value);
}

// Start of a solve: ‖b‖ from the partials of b · b.
@compute @workgroup_size(64)
fn start(@builtin(local_invocation_index) t: u32) {
    let sum = total(t);
    if (t == 0u) {
        cg.norm_b = sqrt(sum);
        cg.iterations = 0u;
        cg.residual = 0.0;
        cg.done = select(0u, 2u, cg.norm_b == 0.0);
    }
}

// ‖r‖ / ‖b‖ of the initial residual; converged already if it meets the tolerance.
@compute @workgroup_size(64)
fn initial_residual(@builtin(local_invocation_index) t: u32) {
    let sum = total(t);
    if (t == 0u && cg.done == 0u) {
        cg.residual = sqrt(sum) / cg.norm_b;
        if (cg.residual <= cg.tolerance || cg.max_iterations == 0u) {
            cg.done = 1u;
        }
    }
}

// r · z of the first preconditioned residual.
@compute @workgroup_size(64)
fn first_rz(@builtin(local_invocation_index) t: u32) {
    let sum = total(t);
    if (t == 0u && running()) {
        cg.rz = sum;
    }
}

// α = r·z / d·Ad, from the partials of d · Ad; counts the iteration.
@compute @workgroup_size(64)
fn step_length(@builtin(local_invocation_index) t: u32) {
    let sum = total(t);
    if (t == 0u && running()) {
        cg.iterations += 1u;
        cg.alpha = cg.rz / sum;
    }
}

// The residual after an update, from the partials of r · r; stop at the tolerance or budget.
@compute @workgroup_size(64)
fn check(@builtin(local_invocation_index) t: u32) {
    let sum = total(t);
    if (t == 0u && running()) {
        cg.residual = sqrt(sum) / cg.norm_b;
        if (cg.residual <= cg.tolerance || cg.iterations >= cg.max_iterations) {
            cg.done = 1u;
        }
    }
}

// β = r·z (new) / r·z (old), from the partials of r · z.
@compute @workgroup_size(64)
fn conjugate(@builtin(local_invocation_index) t: u32) {
    let sum = total(t);
    if (t == 0u && running()) {
        cg.beta = sum / cg.rz;
        cg.rz = sum;
    }
}

// Mean over fluid cells from the partials of a fluid sum.
@compute @workgroup_size(64)
fn mean(@builtin(local_invocation_index) t: u32) {
    let sum = total(t);
    if (t == 0u && running()) {
        cg.mean = sum / cg.fluid_cells;
    }
}

@compute @workgroup_size(64)
fn mean_always(@builtin(local_invocation_index) t: u32) {
    let sum = total(t);
    if (t == 0u) {
        cg.mean = sum / cg.fluid_cells;
    }
}

// Null-space projection of out_a: subtract the mean (singular systems) and zero solid cells.
fn project(k: u32, singular: bool) {
    if (solid[k] != 0u) {
        out_a[k] = 0.0;
    } else if (singular) {
        out_a[k] -= cg.mean;
    }
}

@compute @workgroup_size(256)
fn subtract_mean(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= cells() || !running()) { return; }
    project(id.x, true);
}

@compute @workgroup_size(256)
fn subtract_mean_always(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= cells()) { return; }
    project(id.x, true);
}

@compute @workgroup_size(256)
fn zero_solid_always(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= cells()) { return; }
    project(id.x, false);
}

// A zero right-hand side has the solution zero.
@compute @workgroup_size(256)
fn clear_if_no_rhs(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= cells() || cg.done != 2u) { return; }
    out_a[id.x] = 0.0;
}

// ---- Implicit viscosity (finest level) ----

fn component_at(k: u32) -> u32 {
    return (k / level.nx) * arrangement.stride + k % level.nx;
}

// The right-hand side σ x + (given neighbours) + (moving walls) into out_a and the warm start
// x into out_b; decoupled unknowns get zero in both.
@compute @workgroup_size(256)
fn helmholtz_rhs(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= cells()) { return; }
    if (solid[k] != 0u) {
        out_a[k] = 0.0;
        out_b[k] = 0.0;
        return;
    }
    let x = component[component_at(k)];
    let n = neighbours(k);
    let w = known[k];
    let given = w.x * component[component_at(n.x)] + w.y * component[component_at(n.y)]
        + w.z * component[component_at(n.z)] + w.w * component[component_at(n.w)];
    out_a[k] = cg.shift * x + given + constant[k];
    out_b[k] = x;
}

// The solution in_a back into the component, decoupled unknowns left as they were.
@compute @workgroup_size(256)
fn helmholtz_store(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= cells() || solid[k] != 0u) { return; }
    component[component_at(k)] = in_a[k];
}
