// What the 2D particle solvers share (appended to wcsph.wgsl and dfsph.wgsl after sort.wgsl;
// they declare `params` with h, shape and n_fluid besides the grid's fields, and
// `quantity_of(i)`, the value the view shows for fluid particle i): the 2D smoothing kernels,
// the neighbouring cells of a position, and the view that draws particles as discs.

const PI: f32 = 3.14159265358979;

// ---- Kernels (support 2h) ----

fn kernel_w(r: f32) -> f32 {
    let h = params.h;
    let q = r / h;
    if (q >= 2.0) { return 0.0; }
    if (params.shape == 0u) {
        let sigma = 10.0 / (7.0 * PI * h * h);
        if (q < 1.0) { return sigma * (1.0 - 1.5 * q * q + 0.75 * q * q * q); }
        let t = 2.0 - q;
        return sigma * 0.25 * t * t * t;
    }
    let sigma = 7.0 / (4.0 * PI * h * h);
    let t = 1.0 - 0.5 * q;
    return sigma * t * t * t * t * (2.0 * q + 1.0);
}

fn kernel_dw_dr(r: f32) -> f32 {
    let h = params.h;
    let q = r / h;
    if (q >= 2.0) { return 0.0; }
    if (params.shape == 0u) {
        let sigma = 10.0 / (7.0 * PI * h * h);
        if (q < 1.0) { return sigma * (-3.0 * q + 2.25 * q * q) / h; }
        let t = 2.0 - q;
        return sigma * (-0.75 * t * t) / h;
    }
    let sigma = 7.0 / (4.0 * PI * h * h);
    let t = 1.0 - 0.5 * q;
    return sigma * (-5.0 * q * t * t * t) / h;
}


// The range of neighbouring cells of a position: (x0, x1, y0, y1), inclusive.
fn cell_range(p: vec2<f32>) -> vec4<u32> {
    let c = cell_coords(p);
    return vec4<u32>(
        select(c.x - 1u, 0u, c.x == 0u),
        min(c.x + 1u, params.dims_x - 1u),
        select(c.y - 1u, 0u, c.y == 0u),
        min(c.y + 1u, params.dims_y - 1u),
    );
}

// ---- Views ----

struct Image {
    nx: u32,
    ny: u32,
    pixel: f32,
    radius: f32,
    // 0 speed, 1 pressure, 2 density, 3 neighbour count.
    quantity: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(18) var<uniform> image: Image;
@group(0) @binding(19) var<storage, read_write> pixels: array<f32>;

// Each pixel takes the value of the nearest fluid particle within `radius` (NaN if none): the
// particles drawn as discs, read from the sorted grid of the current positions.
@compute @workgroup_size(64)
fn splat(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= image.nx * image.ny) { return; }
    let p = vec2<f32>((f32(k % image.nx) + 0.5) * image.pixel, (f32(k / image.nx) + 0.5) * image.pixel);
    var best = image.radius;
    // NaN (no fluid here), made at run time: a NaN constant is a shader-creation error.
    var nan_bits = 0x7fc00000u;
    var value = bitcast<f32>(nan_bits);
    let range = cell_range(p);
    for (var cy = range.z; cy <= range.w; cy++) {
        for (var cx = range.x; cx <= range.y; cx++) {
            let cell = cy * params.dims_x + cx;
            for (var s = start[cell]; s < start[cell + 1u]; s++) {
                let j = order[s];
                if (j >= params.n_fluid) { continue; }
                let r = length(p - pos[j]);
                if (r <= best) {
                    best = r;
                    value = quantity_of(j);
                }
            }
        }
    }
    pixels[k] = value;
}
