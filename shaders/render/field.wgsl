// Draws a scalar field straight from its storage buffer through a colormap lookup table.
// Used by the web viewport; no copy of the field leaves the GPU.

struct FieldView {
    nx: u32,
    ny: u32,
    vmin: f32,
    vmax: f32,
}

@group(0) @binding(0) var<uniform> view: FieldView;
@group(0) @binding(1) var<storage, read> field: array<f32>;
// 256 RGBA8 colours packed little-endian (see flowscope_core::colormap::lut).
@group(0) @binding(2) var<storage, read> lut: array<u32, 256>;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
}

// One triangle covering the viewport; uv (0, 0) is the top-left corner.
@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    let uv = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    var out: VertexOut;
    out.position = vec4<f32>(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0, 0.0, 1.0);
    out.uv = uv;
    return out;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    // Row j counts from the bottom of the domain, the top of the screen is y = ly.
    let i = min(u32(in.uv.x * f32(view.nx)), view.nx - 1u);
    let j = min(u32((1.0 - in.uv.y) * f32(view.ny)), view.ny - 1u);
    let value = field[cell_index(i, j, view.nx)];
    // Non-finite values mark "no value here" (no fluid in a particle view) and show the
    // background colour, as on the CPU renderer. Tested on the bits: WGSL compilers may assume
    // NaN never occurs and fold `value != value` away.
    if ((bitcast<u32>(value) & 0x7f800000u) == 0x7f800000u) {
        return vec4<f32>(30.0 / 255.0, 30.0 / 255.0, 36.0 / 255.0, 1.0);
    }
    let t = clamp((value - view.vmin) / max(view.vmax - view.vmin, 1e-30), 0.0, 1.0);
    return unpack4x8unorm(lut[u32(round(t * 255.0))]);
}
