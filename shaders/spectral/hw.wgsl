// The Hasegawa–Wakatani solver on the GPU, the twin of crates/flowscope-spectral/src/hw/cpu.rs:
// the state is vec2(n, Ω) per cell, row-major [j][i]; one RK4 stage is pack Ω → FFT → times the
// inverse Laplacian → inverse FFT → unpack φ (fft.wgsl between), two Laplacian passes, then the
// rates with the third Laplacian inline, accumulated into the next state and the next stage.

struct Hw {
    n: u32,
    c1: f32,
    kappa: f32,
    nu: f32,
    inv_dx2: f32,
    // 1 / (12 dx²) of Arakawa's bracket, 1 / (2 dx) of the central ∂y.
    bracket_scale: f32,
    inv_2dx: f32,
    // dt times this stage's RK4 weight, and dt times the next stage's offset (0: no next stage).
    weight: f32,
    offset: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> hw: Hw;

// pack: Ω into the FFT's complex buffer.
@group(0) @binding(1) var<storage, read> pack_state: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> pack_spectrum: array<vec2<f32>>;

@compute @workgroup_size(64)
fn pack(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= hw.n * hw.n) { return; }
    pack_spectrum[k] = vec2<f32>(pack_state[k].y, 0.0);
}

// solve: each mode times −dx² / ((2π)² |f|²) (zero for the mean), precomputed.
@group(0) @binding(3) var<storage, read> solve_factor: array<f32>;
@group(0) @binding(4) var<storage, read_write> solve_spectrum: array<vec2<f32>>;

@compute @workgroup_size(64)
fn solve(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= hw.n * hw.n) { return; }
    solve_spectrum[k] = solve_spectrum[k] * solve_factor[k];
}

// unpack: φ is the real part.
@group(0) @binding(5) var<storage, read> unpack_spectrum: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read_write> unpack_phi: array<f32>;

@compute @workgroup_size(64)
fn unpack(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= hw.n * hw.n) { return; }
    unpack_phi[k] = unpack_spectrum[k].x;
}

// laplacian: the periodic 5-point Laplacian of both components.
@group(0) @binding(7) var<storage, read> lap_src: array<vec2<f32>>;
@group(0) @binding(8) var<storage, read_write> lap_dst: array<vec2<f32>>;

@compute @workgroup_size(8, 8)
fn laplacian(@builtin(global_invocation_id) id: vec3<u32>) {
    let n = hw.n;
    if (id.x >= n || id.y >= n) { return; }
    let i = id.x;
    let j = id.y;
    let sum = lap_src[cell_index(wrap(i, 1, n), j, n)] + lap_src[cell_index(wrap(i, -1, n), j, n)]
        + lap_src[cell_index(i, wrap(j, 1, n), n)] + lap_src[cell_index(i, wrap(j, -1, n), n)];
    lap_dst[cell_index(i, j, n)] = (sum - 4.0 * lap_src[cell_index(i, j, n)]) * hw.inv_dx2;
}

// rates: ∂t (n, Ω) of the stage, added to the next state (times weight) and, where a stage
// follows, the next stage's state y0 + offset · rate.
@group(0) @binding(9) var<storage, read> stage_state: array<vec2<f32>>;
@group(0) @binding(10) var<storage, read> stage_phi: array<f32>;
@group(0) @binding(11) var<storage, read> stage_second: array<vec2<f32>>;
@group(0) @binding(12) var<storage, read> start_state: array<vec2<f32>>;
@group(0) @binding(13) var<storage, read_write> next_state: array<vec2<f32>>;
@group(0) @binding(14) var<storage, read_write> next_stage: array<vec2<f32>>;

@compute @workgroup_size(8, 8)
fn rates(@builtin(global_invocation_id) id: vec3<u32>) {
    let n = hw.n;
    if (id.x >= n || id.y >= n) { return; }
    let i = id.x;
    let j = id.y;
    let ie = wrap(i, 1, n);
    let iw = wrap(i, -1, n);
    let jn = wrap(j, 1, n);
    let js = wrap(j, -1, n);
    let c = cell_index(i, j, n);
    let e = cell_index(ie, j, n);
    let w = cell_index(iw, j, n);
    let no = cell_index(i, jn, n);
    let s = cell_index(i, js, n);
    let ne = cell_index(ie, jn, n);
    let nw = cell_index(iw, jn, n);
    let se = cell_index(ie, js, n);
    let sw = cell_index(iw, js, n);
    let pe = stage_phi[e];
    let pw = stage_phi[w];
    let pn = stage_phi[no];
    let ps = stage_phi[s];
    let pne = stage_phi[ne];
    let pnw = stage_phi[nw];
    let pse = stage_phi[se];
    let psw = stage_phi[sw];
    let fe = stage_state[e];
    let fw = stage_state[w];
    let f_n = stage_state[no];
    let fs = stage_state[s];
    let fne = stage_state[ne];
    let fnw = stage_state[nw];
    let fse = stage_state[se];
    let fsw = stage_state[sw];
    // Arakawa's [φ, f] for f = n and f = Ω at once, as hw2d writes it.
    let bracket = (pe * (f_n - fs + fne - fse) - pw * (f_n - fs + fnw - fsw)
        - pn * (fe - fw + fne - fnw)
        + ps * (fe - fw + fse - fsw)
        + pse * (fe - fs)
        + pne * (f_n - fe)
        - pnw * (f_n - fw)
        - psw * (fw - fs)) * hw.bracket_scale;
    let third = (stage_second[e] + stage_second[w] + stage_second[no] + stage_second[s]
        - 4.0 * stage_second[c]) * hw.inv_dx2;
    let diff = hw.c1 * (stage_phi[c] - stage_state[c].x);
    let drive = vec2<f32>(-hw.kappa * (pn - ps) * hw.inv_2dx, 0.0);
    let rate = vec2<f32>(diff, diff) - bracket + drive + hw.nu * third;
    next_state[c] = next_state[c] + hw.weight * rate;
    if (hw.offset != 0.0) {
        next_stage[c] = start_state[c] + hw.offset * rate;
    }
}

// stir: a Gaussian of vorticity at a point of the periodic box (nearest image), as hw::stir.
struct Stir {
    x: f32,
    y: f32,
    radius: f32,
    amplitude: f32,
    dx: f32,
    length: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(15) var<uniform> stirring: Stir;
@group(0) @binding(16) var<storage, read_write> stirred: array<vec2<f32>>;

@compute @workgroup_size(8, 8)
fn stir(@builtin(global_invocation_id) id: vec3<u32>) {
    let n = hw.n;
    if (id.x >= n || id.y >= n) { return; }
    let rx = periodic_delta((f32(id.x) + 0.5) * stirring.dx, stirring.x, stirring.length);
    let ry = periodic_delta((f32(id.y) + 0.5) * stirring.dx, stirring.y, stirring.length);
    let weight = exp(-(rx * rx + ry * ry) / (stirring.radius * stirring.radius));
    if (weight > 1e-4) {
        let c = cell_index(id.x, id.y, n);
        stirred[c].y = stirred[c].y + stirring.amplitude * weight;
    }
}
