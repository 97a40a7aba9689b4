// The exact spectral step of the heat equation on the GPU, the twin of
// crates/flowscope-spectral/src/heat/exact.rs: a batch of real fields into the FFT's complex
// buffer, each Fourier mode times its gain (exp(∓D|k|²Δt), clipped for the inverse), the real
// part back out. The FFTs between are fft.wgsl's passes.

struct Sizes {
    // Values of the whole batch, and of one field.
    len: u32,
    plane: u32,
    _p0: u32,
    _p1: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> real_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> spectrum: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> gains: array<f32>;
@group(0) @binding(4) var<storage, read_write> real_out: array<f32>;

fn index(id: vec3<u32>) -> u32 {
    return id.x + id.y * 65535u * 64u;
}

@compute @workgroup_size(64)
fn to_complex(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = index(id);
    if (k >= sizes.len) { return; }
    spectrum[k] = vec2<f32>(real_in[k], 0.0);
}

@compute @workgroup_size(64)
fn scale_modes(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = index(id);
    if (k >= sizes.len) { return; }
    spectrum[k] = spectrum[k] * gains[k % sizes.plane];
}

@compute @workgroup_size(64)
fn real_part(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = index(id);
    if (k >= sizes.len) { return; }
    real_out[k] = spectrum[k].x;
}
