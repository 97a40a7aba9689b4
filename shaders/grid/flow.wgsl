// One incompressible Navier–Stokes step on the staggered MAC grid: the WGSL twin of
// crates/flowscope-grid/src/{grid,advect,diffuse,fluid}.rs. Same layouts as the CPU reference:
// u on x-faces ((nx + 1) × ny), v on y-faces (nx × (ny + 1)), scalars and pressure at cell
// centres (nx × ny), row-major with j from the bottom.

struct Grid {
    nx: u32,
    ny: u32,
    dx: f32,
    dy: f32,
    periodic_x: u32,
    periodic_y: u32,
    has_solid: u32,
    // Signed: the backward half of MacCormack runs with −dt.
    dt: f32,
    // Per side (left, right, bottom, top): 1 where the tangential ghost is 2·wall − inside
    // (no-slip walls, inflow), 0 where it copies the inside value.
    ghost_left: u32,
    ghost_right: u32,
    ghost_bottom: u32,
    ghost_top: u32,
    // Tangential wall velocity per side (the lid's speed).
    wall_left: f32,
    wall_right: f32,
    wall_bottom: f32,
    wall_top: f32,
    // 0 none, 1 uniform, 2 parabolic across [inflow_y0, inflow_y1].
    inflow_kind: u32,
    inflow_speed: f32,
    inflow_y0: f32,
    inflow_y1: f32,
    right_outflow: u32,
    // 1: an outflow face copies its upstream neighbour (after advection and viscosity).
    extrapolate_outflow: u32,
    // ν h / dx², ν h / dy² of one viscosity sub-step h.
    viscous_x: f32,
    viscous_y: f32,
    // Passive scalar: source rate (per second) and Boussinesq buoyancy (per unit scalar).
    source_rate: f32,
    buoyancy: f32,
    nu: f32,
    // Vorticity confinement strength ε.
    confinement: f32,
    // How advection traces back: 0 the midpoint rule, 1 Euler.
    integrator: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct Stats {
    max_u: f32,
    max_v: f32,
    max_divergence: f32,
    // Largest component at the start of the last step (for its CFL number).
    speed_before: f32,
    // Force of the fluid on the obstacles after the last step, and how many steps of this
    // batch have written theirs to `history`.
    force_x: f32,
    force_y: f32,
    recorded: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> grid: Grid;
// The velocity that transports (and whose divergence is taken).
@group(0) @binding(1) var<storage, read> vel_u: array<f32>;
@group(0) @binding(2) var<storage, read> vel_v: array<f32>;
// The component being processed, and the result.
@group(0) @binding(3) var<storage, read> src: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
// MacCormack: clamp bounds from the forward step, its result, and the round trip.
@group(0) @binding(5) var<storage, read_write> lo: array<f32>;
@group(0) @binding(6) var<storage, read_write> hi: array<f32>;
@group(0) @binding(7) var<storage, read> forward: array<f32>;
@group(0) @binding(8) var<storage, read> back: array<f32>;
@group(0) @binding(9) var<storage, read> solid: array<u32>;
// dt-scaled pressure φ of the projection.
@group(0) @binding(10) var<storage, read> phi: array<f32>;
@group(0) @binding(11) var<storage, read_write> partials: array<f32>;
@group(0) @binding(12) var<storage, read_write> stats: Stats;
// The obstacle force of every step of the current batch.
@group(0) @binding(13) var<storage, read_write> history: array<vec2<f32>>;
// Smallest and largest finite value of a view (for its colour scale).
@group(0) @binding(14) var<storage, read_write> extent: vec2<f32>;

// Workgroup size of reductions and single-workgroup kernels: small, because barriers in large
// workgroups are slow on software adapters (SwiftShader) and gain nothing at these sizes.
const GROUP: u32 = 64u;

fn is_solid(i: u32, j: u32) -> bool {
    return grid.has_solid != 0u && solid[j * grid.nx + i] != 0u;
}

// ---- Advection ----

// One staggered component: w × h samples, sample (k, l) at ((k + ox) dx, (l + oy) dy);
// period is the count of distinct samples along a periodic axis, 0 when not periodic.
struct Layout {
    w: u32,
    h: u32,
    ox: f32,
    oy: f32,
    period_x: u32,
    period_y: u32,
}

fn layout_u() -> Layout {
    return Layout(grid.nx + 1u, grid.ny, 0.0, 0.5, grid.periodic_x * grid.nx, grid.periodic_y * grid.ny);
}

fn layout_v() -> Layout {
    return Layout(grid.nx, grid.ny + 1u, 0.5, 0.0, grid.periodic_x * grid.nx, grid.periodic_y * grid.ny);
}

fn layout_c() -> Layout {
    return Layout(grid.nx, grid.ny, 0.5, 0.5, grid.periodic_x * grid.nx, grid.periodic_y * grid.ny);
}

// The two neighbouring sample indices along one axis and the weight of the second.
struct Axis {
    a: u32,
    b: u32,
    f: f32,
}

fn axis(coordinate: f32, len: u32, period: u32) -> Axis {
    if (period != 0u) {
        let base = floor(coordinate);
        let a = u32(((i32(base) % i32(period)) + i32(period)) % i32(period));
        return Axis(a, (a + 1u) % period, coordinate - base);
    }
    let c = clamp(coordinate, 0.0, f32(len - 1u));
    let a = min(u32(floor(c)), len - 2u);
    return Axis(a, a + 1u, c - f32(a));
}

// The four sample indices around (x, y) and the bilinear weights of the second ones.
struct Bilinear {
    k00: u32,
    k10: u32,
    k01: u32,
    k11: u32,
    fx: f32,
    fy: f32,
}

fn bilinear(l: Layout, x: f32, y: f32) -> Bilinear {
    let ax = axis(x / grid.dx - l.ox, l.w, l.period_x);
    let ay = axis(y / grid.dy - l.oy, l.h, l.period_y);
    return Bilinear(ay.a * l.w + ax.a, ay.a * l.w + ax.b, ay.b * l.w + ax.a, ay.b * l.w + ax.b, ax.f, ay.f);
}

fn mix4(a: f32, b: f32, c: f32, d: f32, fx: f32, fy: f32) -> f32 {
    return (a * (1.0 - fx) + b * fx) * (1.0 - fy) + (c * (1.0 - fx) + d * fx) * fy;
}

fn velocity_at(x: f32, y: f32) -> vec2<f32> {
    let bu = bilinear(layout_u(), x, y);
    let bv = bilinear(layout_v(), x, y);
    let u = mix4(vel_u[bu.k00], vel_u[bu.k10], vel_u[bu.k01], vel_u[bu.k11], bu.fx, bu.fy);
    let v = mix4(vel_v[bv.k00], vel_v[bv.k10], vel_v[bv.k01], vel_v[bv.k11], bv.fx, bv.fy);
    return vec2<f32>(u, v);
}

// Where the fluid at p was dt ago (Euler, or the midpoint rule).
fn trace_back(p: vec2<f32>) -> vec2<f32> {
    let u0 = velocity_at(p.x, p.y);
    if grid.integrator == 1u {
        return p - grid.dt * u0;
    }
    let mid = p - 0.5 * grid.dt * u0;
    let um = velocity_at(mid.x, mid.y);
    return p - grid.dt * um;
}

// Semi-Lagrangian transport of sample k of `src` (layout l): value to dst, bounds to lo, hi.
fn transport(l: Layout, k: u32) {
    let i = k % l.w;
    let j = k / l.w;
    let p = vec2<f32>((f32(i) + l.ox) * grid.dx, (f32(j) + l.oy) * grid.dy);
    let origin = trace_back(p);
    let b = bilinear(l, origin.x, origin.y);
    let a00 = src[b.k00];
    let a10 = src[b.k10];
    let a01 = src[b.k01];
    let a11 = src[b.k11];
    dst[k] = mix4(a00, a10, a01, a11, b.fx, b.fy);
    lo[k] = min(min(a00, a10), min(a01, a11));
    hi[k] = max(max(a00, a10), max(a01, a11));
}

@compute @workgroup_size(256)
fn transport_u(@builtin(global_invocation_id) id: vec3<u32>) {
    let l = layout_u();
    if (id.x >= l.w * l.h) { return; }
    transport(l, id.x);
}

@compute @workgroup_size(256)
fn transport_v(@builtin(global_invocation_id) id: vec3<u32>) {
    let l = layout_v();
    if (id.x >= l.w * l.h) { return; }
    transport(l, id.x);
}

@compute @workgroup_size(256)
fn transport_c(@builtin(global_invocation_id) id: vec3<u32>) {
    let l = layout_c();
    if (id.x >= l.w * l.h) { return; }
    transport(l, id.x);
}

// MacCormack: forward value plus half the round-trip error, clamped to the forward bounds.
@compute @workgroup_size(256)
fn mac_cormack_correct(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= arrayLength(&dst)) { return; }
    dst[k] = clamp(forward[k] + 0.5 * (src[k] - back[k]), lo[k], hi[k]);
}

// ---- Boundary conditions on the normal velocity (dst holds u or v, in place) ----

fn inflow_at(y: f32) -> f32 {
    if (y < grid.inflow_y0 || y > grid.inflow_y1) {
        return 0.0;
    }
    if (grid.inflow_kind == 1u) {
        return grid.inflow_speed;
    }
    if (grid.inflow_kind == 2u) {
        let span = grid.inflow_y1 - grid.inflow_y0;
        return 4.0 * grid.inflow_speed * (y - grid.inflow_y0) * (grid.inflow_y1 - y) / (span * span);
    }
    return 0.0;
}

@compute @workgroup_size(256)
fn enforce_u(@builtin(global_invocation_id) id: vec3<u32>) {
    let w = grid.nx + 1u;
    let k = id.x;
    if (k >= w * grid.ny) { return; }
    let i = k % w;
    let j = k / w;
    var value = dst[k];
    if (grid.periodic_x != 0u) {
        if (i == grid.nx) { value = dst[k - grid.nx]; }
    } else if (i == 0u) {
        value = inflow_at((f32(j) + 0.5) * grid.dy);
    } else if (i == grid.nx) {
        if (grid.right_outflow == 0u) {
            value = 0.0;
        } else if (grid.extrapolate_outflow != 0u) {
            value = dst[k - 1u];
        }
    }
    if ((i > 0u && is_solid(i - 1u, j)) || (i < grid.nx && is_solid(i, j))) {
        value = 0.0;
    }
    dst[k] = value;
}

@compute @workgroup_size(256)
fn enforce_v(@builtin(global_invocation_id) id: vec3<u32>) {
    let nx = grid.nx;
    let k = id.x;
    if (k >= nx * (grid.ny + 1u)) { return; }
    let i = k % nx;
    let j = k / nx;
    var value = dst[k];
    if (grid.periodic_y != 0u) {
        if (j == grid.ny) { value = dst[i]; }
    } else if (j == 0u || j == grid.ny) {
        value = 0.0;
    }
    if ((j > 0u && is_solid(i, j - 1u)) || (j < grid.ny && is_solid(i, j))) {
        value = 0.0;
    }
    dst[k] = value;
}

// ---- Viscosity: one forward-Euler sub-step, src → dst ----

// The value beyond a side of a tangential component whose nearest interior value is `inside`.
fn ghost(kind: u32, wall: f32, inside: f32) -> f32 {
    if (kind != 0u) {
        return 2.0 * wall - inside;
    }
    return inside;
}

@compute @workgroup_size(256)
fn diffuse_u(@builtin(global_invocation_id) id: vec3<u32>) {
    let nx = grid.nx;
    let ny = grid.ny;
    let w = nx + 1u;
    let k = id.x;
    if (k >= w * ny) { return; }
    let i = k % w;
    let j = k / w;
    let c = src[k];
    let periodic_x = grid.periodic_x != 0u;
    if (i == nx || (i == 0u && !periodic_x)) {
        dst[k] = c;
        return;
    }
    var west: f32;
    if (i == 0u) { west = src[j * w + nx - 1u]; } else { west = src[k - 1u]; }
    let east = src[k + 1u];
    var south: f32;
    if (j > 0u) {
        south = src[k - w];
    } else if (grid.periodic_y != 0u) {
        south = src[(ny - 1u) * w + i];
    } else {
        south = ghost(grid.ghost_bottom, grid.wall_bottom, c);
    }
    var north: f32;
    if (j + 1u < ny) {
        north = src[k + w];
    } else if (grid.periodic_y != 0u) {
        north = src[i];
    } else {
        north = ghost(grid.ghost_top, grid.wall_top, c);
    }
    dst[k] = c + grid.viscous_x * (west + east - 2.0 * c) + grid.viscous_y * (south + north - 2.0 * c);
}

@compute @workgroup_size(256)
fn diffuse_v(@builtin(global_invocation_id) id: vec3<u32>) {
    let nx = grid.nx;
    let ny = grid.ny;
    let k = id.x;
    if (k >= nx * (ny + 1u)) { return; }
    let i = k % nx;
    let j = k / nx;
    let c = src[k];
    let periodic_y = grid.periodic_y != 0u;
    if (j == ny || (j == 0u && !periodic_y)) {
        dst[k] = c;
        return;
    }
    var south: f32;
    if (j == 0u) { south = src[(ny - 1u) * nx + i]; } else { south = src[k - nx]; }
    let north = src[k + nx];
    var west: f32;
    if (i > 0u) {
        west = src[k - 1u];
    } else if (grid.periodic_x != 0u) {
        west = src[j * nx + nx - 1u];
    } else {
        west = ghost(grid.ghost_left, grid.wall_left, c);
    }
    var east: f32;
    if (i + 1u < nx) {
        east = src[k + 1u];
    } else if (grid.periodic_x != 0u) {
        east = src[j * nx];
    } else {
        east = ghost(grid.ghost_right, grid.wall_right, c);
    }
    dst[k] = c + grid.viscous_x * (west + east - 2.0 * c) + grid.viscous_y * (south + north - 2.0 * c);
}

// ---- Projection ----

fn divergence_at(i: u32, j: u32) -> f32 {
    let du = vel_u[j * (grid.nx + 1u) + i + 1u] - vel_u[j * (grid.nx + 1u) + i];
    let dv = vel_v[(j + 1u) * grid.nx + i] - vel_v[j * grid.nx + i];
    return du / grid.dx + dv / grid.dy;
}

// The right-hand side −∇·u of the pressure equation, zero in obstacles.
@compute @workgroup_size(256)
fn pressure_rhs(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= grid.nx * grid.ny) { return; }
    let i = k % grid.nx;
    let j = k / grid.nx;
    if (is_solid(i, j)) {
        dst[k] = 0.0;
    } else {
        dst[k] = -divergence_at(i, j);
    }
}

// |∇·u| per cell (for the largest divergence after the projection).
@compute @workgroup_size(256)
fn divergence_magnitude(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= grid.nx * grid.ny) { return; }
    dst[k] = abs(divergence_at(k % grid.nx, k / grid.nx));
}

// u −= ∂φ/∂x on every x-face between two fluid cells, or a fluid cell and a p = 0 side.
@compute @workgroup_size(256)
fn subtract_gradient_u(@builtin(global_invocation_id) id: vec3<u32>) {
    let nx = grid.nx;
    let w = nx + 1u;
    let k = id.x;
    if (k >= w * grid.ny) { return; }
    let i = k % w;
    let j = k / w;
    let row = j * nx;
    var has_west = false;
    var west = 0.0;
    if (i > 0u) {
        has_west = !is_solid(i - 1u, j);
        west = phi[row + i - 1u];
    } else if (grid.periodic_x != 0u) {
        has_west = true;
        west = phi[row + nx - 1u];
    }
    var has_east = false;
    var east = 0.0;
    if (i < nx) {
        has_east = !is_solid(i, j);
        east = phi[row + i];
    } else if (grid.periodic_x == 0u && grid.right_outflow != 0u) {
        has_east = true;
        east = -phi[row + nx - 1u];
    }
    if (has_west && has_east) {
        dst[k] -= (east - west) / grid.dx;
    }
}

@compute @workgroup_size(256)
fn subtract_gradient_v(@builtin(global_invocation_id) id: vec3<u32>) {
    let nx = grid.nx;
    let k = id.x;
    if (k >= nx * (grid.ny + 1u)) { return; }
    let i = k % nx;
    let j = k / nx;
    var has_south = false;
    var south = 0.0;
    if (j > 0u) {
        has_south = !is_solid(i, j - 1u);
        south = phi[(j - 1u) * nx + i];
    } else if (grid.periodic_y != 0u) {
        has_south = true;
        south = phi[(grid.ny - 1u) * nx + i];
    }
    var has_north = false;
    var north = 0.0;
    if (j < grid.ny) {
        has_north = !is_solid(i, j);
        north = phi[j * nx + i];
    }
    if (has_south && has_north) {
        dst[k] -= (north - south) / grid.dy;
    }
}

// ---- Passive scalar (smoke): source and Boussinesq buoyancy ----

// dst (the scalar) += rate · dt · src (the source's cell coverage).
@compute @workgroup_size(256)
fn add_source(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= grid.nx * grid.ny) { return; }
    dst[k] += grid.source_rate * grid.dt * src[k];
}

// dst (v) += buoyancy · dt · (scalar averaged onto the face), interior y-faces only.
@compute @workgroup_size(256)
fn add_buoyancy(@builtin(global_invocation_id) id: vec3<u32>) {
    let nx = grid.nx;
    let k = id.x;
    if (k >= nx * (grid.ny + 1u)) { return; }
    let i = k % nx;
    let j = k / nx;
    if (j == 0u || j == grid.ny) { return; }
    let s = 0.5 * (src[(j - 1u) * nx + i] + src[j * nx + i]);
    dst[k] += grid.buoyancy * grid.dt * s;
}

// ---- Views (cell centres, into dst) ----

fn centred(i: u32, j: u32) -> vec2<f32> {
    let w = grid.nx + 1u;
    let ux = 0.5 * (vel_u[j * w + i] + vel_u[j * w + i + 1u]);
    let uy = 0.5 * (vel_v[j * grid.nx + i] + vel_v[(j + 1u) * grid.nx + i]);
    return vec2<f32>(ux, uy);
}

@compute @workgroup_size(256)
fn view_speed(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= grid.nx * grid.ny) { return; }
    dst[k] = length(centred(k % grid.nx, k / grid.nx));
}

@compute @workgroup_size(256)
fn view_velocity_x(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= grid.nx * grid.ny) { return; }
    dst[k] = centred(k % grid.nx, k / grid.nx).x;
}

@compute @workgroup_size(256)
fn view_velocity_y(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= grid.nx * grid.ny) { return; }
    dst[k] = centred(k % grid.nx, k / grid.nx).y;
}

// u at column i, row j (j may be −1 or ny: the ghost beyond the bottom or top side).
fn u_with_ghost(i: u32, j: i32) -> f32 {
    let ny = i32(grid.ny);
    let w = grid.nx + 1u;
    if (j >= 0 && j < ny) {
        return vel_u[u32(j) * w + i];
    }
    if (grid.periodic_y != 0u) {
        return vel_u[u32((j + ny) % ny) * w + i];
    }
    if (j < 0) {
        return ghost(grid.ghost_bottom, grid.wall_bottom, vel_u[i]);
    }
    return ghost(grid.ghost_top, grid.wall_top, vel_u[(grid.ny - 1u) * w + i]);
}

fn v_with_ghost(i: i32, j: u32) -> f32 {
    let nx = i32(grid.nx);
    let row = j * grid.nx;
    if (i >= 0 && i < nx) {
        return vel_v[row + u32(i)];
    }
    if (grid.periodic_x != 0u) {
        return vel_v[row + u32((i + nx) % nx)];
    }
    if (i < 0) {
        return ghost(grid.ghost_left, grid.wall_left, vel_v[row]);
    }
    return ghost(grid.ghost_right, grid.wall_right, vel_v[row + grid.nx - 1u]);
}

// ∂v/∂x − ∂u/∂y at corner (i, j), at (i dx, j dy).
fn corner_vorticity(i: u32, j: u32) -> f32 {
    let dvdx = (v_with_ghost(i32(i), j) - v_with_ghost(i32(i) - 1, j)) / grid.dx;
    let dudy = (u_with_ghost(i, i32(j)) - u_with_ghost(i, i32(j) - 1)) / grid.dy;
    return dvdx - dudy;
}

@compute @workgroup_size(256)
fn view_vorticity(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= grid.nx * grid.ny) { return; }
    let i = k % grid.nx;
    let j = k / grid.nx;
    dst[k] = 0.25 * (corner_vorticity(i, j) + corner_vorticity(i + 1u, j)
        + corner_vorticity(i, j + 1u) + corner_vorticity(i + 1u, j + 1u));
}

// Physical pressure φ / dt (grid.dt holds the last step's dt here).
@compute @workgroup_size(256)
fn view_pressure(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= grid.nx * grid.ny) { return; }
    if (grid.dt > 0.0) {
        dst[k] = phi[k] / grid.dt;
    } else {
        dst[k] = 0.0;
    }
}

@compute @workgroup_size(256)
fn view_obstacle(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= grid.nx * grid.ny) { return; }
    dst[k] = select(0.0, 1.0, is_solid(k % grid.nx, k / grid.nx));
}

// ---- Largest magnitudes, for the CFL number, divergence check and statistics ----

var<workgroup> shared_max: array<f32, 64>;

// What `magnitude` reports for NaN or ±∞ (WGSL has no infinite constants); the host treats
// anything this large as a diverged run.
const NON_FINITE: f32 = 3.4e38;

// NON_FINITE for NaN or ±∞ (detected on the bits: compilers may fold x != x), else |x|.
fn magnitude(x: f32) -> f32 {
    let bits = bitcast<u32>(x) & 0x7fffffffu;
    if (bits >= 0x7f800000u) {
        return NON_FINITE;
    }
    return abs(x);
}

fn reduce_max(t: u32, value: f32) -> f32 {
    shared_max[t] = value;
    workgroupBarrier();
    for (var stride = GROUP / 2u; stride > 0u; stride /= 2u) {
        if (t < stride) {
            shared_max[t] = max(shared_max[t], shared_max[t + stride]);
        }
        workgroupBarrier();
    }
    return shared_max[0];
}

// partials = per-workgroup max |src|.
@compute @workgroup_size(64)
fn max_partial(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    var value = 0.0;
    if (id.x < arrayLength(&src)) {
        value = magnitude(src[id.x]);
    }
    let m = reduce_max(t, value);
    if (t == 0u) {
        partials[group.x] = m;
    }
}

fn max_total(t: u32, count: u32) -> f32 {
    var value = 0.0;
    for (var g = t; g < count; g += GROUP) {
        value = max(value, partials[g]);
    }
    return reduce_max(t, value);
}

fn groups_for(n: u32) -> u32 {
    return (n + GROUP - 1u) / GROUP;
}

@compute @workgroup_size(64)
fn finish_max_u(@builtin(local_invocation_index) t: u32) {
    let m = max_total(t, groups_for((grid.nx + 1u) * grid.ny));
    if (t == 0u) {
        stats.speed_before = max(stats.max_u, stats.max_v);
        stats.max_u = m;
    }
}

@compute @workgroup_size(64)
fn finish_max_v(@builtin(local_invocation_index) t: u32) {
    let m = max_total(t, groups_for(grid.nx * (grid.ny + 1u)));
    if (t == 0u) { stats.max_v = m; }
}

@compute @workgroup_size(64)
fn finish_max_divergence(@builtin(local_invocation_index) t: u32) {
    let m = max_total(t, groups_for(grid.nx * grid.ny));
    if (t == 0u) { stats.max_divergence = m; }
}

// ---- Force on the obstacles (the twin of forces.rs): pressure and shear on fluid–solid faces ----

var<workgroup> shared_force: array<vec2<f32>, 64>;

fn force_at(k: u32) -> vec2<f32> {
    let nx = grid.nx;
    let ny = grid.ny;
    let i = k % nx;
    let j = k / nx;
    if (is_solid(i, j)) {
        return vec2<f32>(0.0, 0.0);
    }
    let p = phi[k] / grid.dt;
    let u = centred(i, j);
    var f = vec2<f32>(0.0, 0.0);
    // West and east faces: pressure along x, shear on the vertical velocity.
    if (i > 0u && is_solid(i - 1u, j)) {
        f += vec2<f32>(-p * grid.dy, grid.nu * u.y / (0.5 * grid.dx) * grid.dy);
    }
    if (i + 1u < nx && is_solid(i + 1u, j)) {
        f += vec2<f32>(p * grid.dy, grid.nu * u.y / (0.5 * grid.dx) * grid.dy);
    }
    if (j > 0u && is_solid(i, j - 1u)) {
        f += vec2<f32>(grid.nu * u.x / (0.5 * grid.dy) * grid.dx, -p * grid.dx);
    }
    if (j + 1u < ny && is_solid(i, j + 1u)) {
        f += vec2<f32>(grid.nu * u.x / (0.5 * grid.dy) * grid.dx, p * grid.dx);
    }
    return f;
}

fn reduce_force(t: u32, value: vec2<f32>) -> vec2<f32> {
    shared_force[t] = value;
    workgroupBarrier();
    for (var stride = GROUP / 2u; stride > 0u; stride /= 2u) {
        if (t < stride) {
            shared_force[t] += shared_force[t + stride];
        }
        workgroupBarrier();
    }
    return shared_force[0];
}

// partials[2g], partials[2g + 1] = the force summed over workgroup g's cells.
@compute @workgroup_size(64)
fn force_partial(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    var value = vec2<f32>(0.0, 0.0);
    if (id.x < grid.nx * grid.ny) {
        value = force_at(id.x);
    }
    let f = reduce_force(t, value);
    if (t == 0u) {
        partials[2u * group.x] = f.x;
        partials[2u * group.x + 1u] = f.y;
    }
}

@compute @workgroup_size(64)
fn finish_force(@builtin(local_invocation_index) t: u32) {
    let count = groups_for(grid.nx * grid.ny);
    var value = vec2<f32>(0.0, 0.0);
    for (var g = t; g < count; g += GROUP) {
        value += vec2<f32>(partials[2u * g], partials[2u * g + 1u]);
    }
    let f = reduce_force(t, value);
    if (t == 0u) {
        stats.force_x = f.x;
        stats.force_y = f.y;
        if (stats.recorded < arrayLength(&history)) {
            history[stats.recorded] = f;
        }
        stats.recorded += 1u;
    }
}

// ---- Extent of a view (smallest and largest finite value), for automatic colour scales ----

var<workgroup> shared_extent: array<vec2<f32>, 64>;

fn reduce_extent(t: u32, value: vec2<f32>) -> vec2<f32> {
    shared_extent[t] = value;
    workgroupBarrier();
    for (var stride = GROUP / 2u; stride > 0u; stride /= 2u) {
        if (t < stride) {
            let a = shared_extent[t];
            let b = shared_extent[t + stride];
            shared_extent[t] = vec2<f32>(min(a.x, b.x), max(a.y, b.y));
        }
        workgroupBarrier();
    }
    return shared_extent[0];
}

const HUGE: f32 = 3.0e38;

// partials[2g], partials[2g + 1] = smallest and largest finite src value of workgroup g.
@compute @workgroup_size(64)
fn extent_partial(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    var value = vec2<f32>(HUGE, -HUGE);
    if (id.x < arrayLength(&src) && magnitude(src[id.x]) < HUGE) {
        value = vec2<f32>(src[id.x], src[id.x]);
    }
    let e = reduce_extent(t, value);
    if (t == 0u) {
        partials[2u * group.x] = e.x;
        partials[2u * group.x + 1u] = e.y;
    }
}

@compute @workgroup_size(64)
fn finish_extent(@builtin(local_invocation_index) t: u32) {
    let count = groups_for(arrayLength(&src));
    var value = vec2<f32>(HUGE, -HUGE);
    for (var g = t; g < count; g += GROUP) {
        value = vec2<f32>(min(value.x, partials[2u * g]), max(value.y, partials[2u * g + 1u]));
    }
    let e = reduce_extent(t, value);
    if (t == 0u) {
        extent = e;
    }
}

// ---- Vorticity confinement (the twin of confine.rs) ----

fn vorticity_at(i: u32, j: u32) -> f32 {
    return 0.25 * (corner_vorticity(i, j) + corner_vorticity(i + 1u, j)
        + corner_vorticity(i, j + 1u) + corner_vorticity(i + 1u, j + 1u));
}

// lo, hi = the confinement force ε h (N × ω) per cell (zero on the outermost ring).
@compute @workgroup_size(256)
fn confinement_force(@builtin(global_invocation_id) id: vec3<u32>) {
    let nx = grid.nx;
    let ny = grid.ny;
    let k = id.x;
    if (k >= nx * ny) { return; }
    let i = k % nx;
    let j = k / nx;
    if (i == 0u || j == 0u || i + 1u == nx || j + 1u == ny) {
        lo[k] = 0.0;
        hi[k] = 0.0;
        return;
    }
    let w = vorticity_at(i, j);
    let gx = (abs(vorticity_at(i + 1u, j)) - abs(vorticity_at(i - 1u, j))) / (2.0 * grid.dx);
    let gy = (abs(vorticity_at(i, j + 1u)) - abs(vorticity_at(i, j - 1u))) / (2.0 * grid.dy);
    let norm = sqrt(gx * gx + gy * gy) + 1e-20;
    let h = min(grid.dx, grid.dy);
    lo[k] = grid.confinement * h * (gy / norm) * w;
    hi[k] = -grid.confinement * h * (gx / norm) * w;
}

// u += dt · (force averaged onto the interior x-faces); the force's x part is in lo.
@compute @workgroup_size(256)
fn add_confinement_u(@builtin(global_invocation_id) id: vec3<u32>) {
    let nx = grid.nx;
    let w = nx + 1u;
    let k = id.x;
    if (k >= w * grid.ny) { return; }
    let i = k % w;
    let j = k / w;
    if (i == 0u || i == nx) { return; }
    dst[k] += grid.dt * 0.5 * (lo[j * nx + i - 1u] + lo[j * nx + i]);
}

// v += dt · (force averaged onto the interior y-faces); the force's y part is in hi.
@compute @workgroup_size(256)
fn add_confinement_v(@builtin(global_invocation_id) id: vec3<u32>) {
    let nx = grid.nx;
    let k = id.x;
    if (k >= nx * (grid.ny + 1u)) { return; }
    let i = k % nx;
    let j = k / nx;
    if (j == 0u || j == grid.ny) { return; }
    dst[k] += grid.dt * 0.5 * (hi[(j - 1u) * nx + i] + hi[j * nx + i]);
}
