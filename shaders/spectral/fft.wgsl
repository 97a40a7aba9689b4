// The 2D FFT on the GPU, the twin of crates/flowscope-spectral/src/fft.rs (rustfft there):
// complex values as vec2<f32>, row-major [j][i], a batch of fields one after the other; each pass
// is one radix-2 Stockham stage along the rows or the columns (autosort: no bit reversal),
// ping-ponging between two buffers.

struct Stage {
    // Length of the transformed dimension.
    n: u32,
    // Half the butterfly span of this stage: 1, 2, 4, …, n/2.
    p: u32,
    // Distance between consecutive elements of a line (1 along rows, nx along columns).
    stride: u32,
    // Distance between consecutive lines (nx along rows, 1 along columns).
    line_stride: u32,
    lines: u32,
    // −1 forward, +1 inverse.
    sign: f32,
    // Multiplies the outputs: 1/(nx·ny) in the inverse's last stage, else 1.
    scale: f32,
    // Lines per field of the batch, and the distance between fields (nx·ny).
    field_lines: u32,
    field_stride: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> stage: Stage;
@group(0) @binding(1) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec2<f32>>;

// One butterfly: inputs i and i + n/2 of a line, outputs 2i − k and 2i − k + p, with the
// twiddle exp(sign·iπk/p), k = i mod p.
@compute @workgroup_size(64)
fn stockham(@builtin(global_invocation_id) id: vec3<u32>) {
    let half = stage.n / 2u;
    let flat = id.x + id.y * 65535u * 64u;
    if (flat >= half * stage.lines) { return; }
    let line = flat / half;
    let i = flat % half;
    let k = i & (stage.p - 1u);
    let base = (line / stage.field_lines) * stage.field_stride
        + (line % stage.field_lines) * stage.line_stride;
    let u0 = src[base + i * stage.stride];
    let u1 = src[base + (i + half) * stage.stride];
    let angle = stage.sign * 3.141592653589793 * f32(k) / f32(stage.p);
    let w = vec2<f32>(cos(angle), sin(angle));
    let v1 = vec2<f32>(u1.x * w.x - u1.y * w.y, u1.x * w.y + u1.y * w.x);
    let out = 2u * i - k;
    dst[base + out * stage.stride] = (u0 + v1) * stage.scale;
    dst[base + (out + stage.p) * stage.stride] = (u0 - v1) * stage.scale;
}
