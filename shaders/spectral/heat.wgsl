// 2D heat equation dT/dt = D ∇²T on a periodic grid: the WGSL twin of
// crates/flowscope-spectral/src/heat/cpu.rs. Keep the arithmetic in the same order as the CPU
// reference so both agree to float round-off.

struct HeatParams {
    nx: u32,
    ny: u32,
    // D dt / dx² and D dt / dy².
    rx: f32,
    ry: f32,
    // Paint blob: centre in cell units, radius in cells, target value.
    paint_x: f32,
    paint_y: f32,
    paint_radius: f32,
    paint_value: f32,
}

@group(0) @binding(0) var<uniform> params: HeatParams;
// Current state (explicit) or current Jacobi iterate (implicit).
@group(0) @binding(1) var<storage, read> src: array<f32>;
// Right-hand side of the implicit system: the state at the start of the step.
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
// The field painted in place.
@group(0) @binding(4) var<storage, read_write> field: array<f32>;

// Sum of the x neighbours and of the y neighbours of (i, j) in `src`.
fn neighbour_sums(i: u32, j: u32) -> vec2<f32> {
    let nx = params.nx;
    let ny = params.ny;
    let west = src[cell_index(wrap(i, -1, nx), j, nx)];
    let east = src[cell_index(wrap(i, 1, nx), j, nx)];
    let south = src[cell_index(i, wrap(j, -1, ny), nx)];
    let north = src[cell_index(i, wrap(j, 1, ny), nx)];
    return vec2<f32>(west + east, south + north);
}

// Forward Euler: T' = T + rx (Tw + Te − 2T) + ry (Ts + Tn − 2T). Stable for rx + ry ≤ 1/2.
@compute @workgroup_size(8, 8)
fn explicit_step(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= params.nx || id.y >= params.ny) {
        return;
    }
    let k = cell_index(id.x, id.y, params.nx);
    let c = src[k];
    let s = neighbour_sums(id.x, id.y);
    dst[k] = c + params.rx * (s.x - 2.0 * c) + params.ry * (s.y - 2.0 * c);
}

// One Jacobi sweep of backward Euler (1 + 2rx + 2ry) T' − rx (Tw' + Te') − ry (Ts' + Tn') = T.
@compute @workgroup_size(8, 8)
fn jacobi_sweep(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= params.nx || id.y >= params.ny) {
        return;
    }
    let k = cell_index(id.x, id.y, params.nx);
    let s = neighbour_sums(id.x, id.y);
    dst[k] = (rhs[k] + params.rx * s.x + params.ry * s.y) / (1.0 + 2.0 * params.rx + 2.0 * params.ry);
}

// Raises T towards paint_value inside a periodic Gaussian blob: T = max(T, value · exp(−d²/r²)).
@compute @workgroup_size(8, 8)
fn paint(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= params.nx || id.y >= params.ny) {
        return;
    }
    let dx = periodic_delta(f32(id.x) + 0.5, params.paint_x, f32(params.nx));
    let dy = periodic_delta(f32(id.y) + 0.5, params.paint_y, f32(params.ny));
    let w = exp(-(dx * dx + dy * dy) / (params.paint_radius * params.paint_radius));
    let k = cell_index(id.x, id.y, params.nx);
    field[k] = max(field[k], params.paint_value * w);
}
