// Weakly compressible SPH in 2D: the WGSL twin of crates/flowscope-sph/src/wcsph.rs, with the
// neighbour grid rebuilt on the device at every evaluation (sort.wgsl, appended with
// particles.wgsl).
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
    // Kinematic viscosity ν (Morris' Laplacian in Monaghan's form; 0: none).
    nu: f32,
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
// Rates of each fluid particle: acceleration (xy), dρ/dt (z: `rates` writes the δ-SPH
// diffusion, `continuity` adds the velocity divergence), neighbour count (w). Packed, as WebGPU
// allows eight storage buffers per kernel.
@group(0) @binding(7) var<storage, read_write> out: array<vec4<f32>>;
// Pressure (x) and density (y) of each wall particle.
@group(0) @binding(14) var<storage, read_write> wall: array<vec2<f32>>;
@group(0) @binding(17) var<storage, read_write> listing: array<u32>;

fn pressure_of(density: f32) -> f32 {
    return params.stiffness * (pow(density / params.rho0, 7.0) - 1.0);
}

fn density_of(pressure: f32) -> f32 {
    return params.rho0 * pow(max(pressure / params.stiffness + 1.0, 1e-6), 1.0 / 7.0);
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
                let r2 = r * r + 0.01 * h * h;
                if (j < params.n_fluid && params.delta > 0.0) {
                    let toward = -dot(d, grad);
                    change += 2.0 * params.delta * h * params.c0 * (rho_j - rho_i) * toward / r2 * m / rho_j;
                }
                let approach = dot(v_ij, d);
                // Π_ij = −k (v_ij·x_ij) / (r² + ε) / ρ̄_ij: k = 8ν in all pairs, plus α c0 h
                // in approaching ones.
                var k = 8.0 * params.nu;
                if (approach < 0.0) {
                    k += params.alpha * params.c0 * h;
                }
                let viscous = -k * (approach / r2) / (0.5 * (rho_i + rho_j));
                let pair = pr_i / (rho_i * rho_i) + pr_j / (rho_j * rho_j) + viscous;
                a -= m * pair * grad;
            }
        }
    }
    out[i] = vec4<f32>(a, change, f32(count));
}

// dρ/dt += ∑ m (v_i − v_j)·∇W_ij at the current velocities (walls at rest), after `rates`.
@compute @workgroup_size(64)
fn continuity(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    let p_i = pos[i];
    let v_i = vel[i];
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
                if (j < params.n_fluid) { v_j = vel[j]; }
                change += params.mass * dot(v_i - v_j, kernel_dw_dr(r) / r * d);
            }
        }
    }
    out[i].z += change;
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

// ---- Symplectic Euler time stepping: load, rates, kick, continuity, drift ----

// The velocity along the forces (into `vel`, where `continuity` reads it).
@compute @workgroup_size(64)
fn kick(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    vel[i] = v0[i] + params.dt * out[i].xy;
}

// Positions and densities along the new velocity.
@compute @workgroup_size(64)
fn drift(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= params.n_fluid) { return; }
    let dt = params.dt;
    v0[i] = vel[i];
    x0[i] = x0[i] + dt * vel[i];
    rho_start[i] = rho_start[i] + dt * out[i].z;
}

// ---- Midpoint time stepping: load, rates, continuity, half_step, rates, continuity, full_step ----

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

// The value the views show for fluid particle i (Image.quantity: 0 speed, 1 pressure, 2 density,
// 3 neighbour count).
fn quantity_of(i: u32) -> f32 {
    switch image.quantity {
        case 0u: { return length(vel[i]); }
        case 1u: { return pressure_of(rho[i]); }
        case 2u: { return rho[i]; }
        default: { return out[i].w; }
    }
}
