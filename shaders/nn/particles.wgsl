// Continuous convolutions over particle neighbourhoods, the twin of
// crates/flowscope-nn/src/particles/mod.rs: `gather` sums, for each particle i and filter term t,
// the neighbours' features weighted by the basis at their offsets (the antisymmetric form: the
// odd part of the basis and f_i + f_j); `combine` multiplies the sums by the weights and adds
// the self term, bias and ReLU.

struct Layer {
    n: u32, cin: u32, cout: u32, terms: u32,
    dim: u32, basis: u32, antisymmetric: u32, relu: u32,
    filters: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> layer: Layer;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> start: array<u32>;
@group(0) @binding(3) var<storage, read> nbr: array<u32>;
@group(0) @binding(4) var<storage, read> offsets: array<f32>;
@group(0) @binding(5) var<storage, read_write> gathered: array<f32>;
@group(0) @binding(6) var<storage, read> weight: array<f32>;
@group(0) @binding(7) var<storage, read> self_weight: array<f32>;
@group(0) @binding(8) var<storage, read> bias: array<f32>;
@group(0) @binding(9) var<storage, read_write> dst: array<f32>;

const PI: f32 = 3.14159265358979;

// Term t of the 1D basis at q: 0 Fourier, 1 its even half, 2 its odd half, 3 linear hats,
// 4 Chebyshev (the same order as `Basis::ALL`).
fn basis_1d(kind: u32, t: u32, q: f32) -> f32 {
    let norm = 1.0 / sqrt(PI);
    switch kind {
        case 0u: {
            if (t == 0u) { return 1.0 / sqrt(2.0 * PI); }
            let m = f32((t + 1u) / 2u);
            if (t % 2u == 1u) { return cos(m * PI * q) * norm; }
            return sin(m * PI * q) * norm;
        }
        case 1u: {
            if (t == 0u) { return 1.0 / sqrt(2.0 * PI); }
            return cos(f32(t) * PI * q) * norm;
        }
        case 2u: {
            return sin(f32(t + 1u) * PI * q) * norm;
        }
        case 3u: {
            let spacing = select(2.0, 2.0 / f32(layer.terms - 1u), layer.terms > 1u);
            let node = -1.0 + f32(t) * spacing;
            return max(1.0 - abs(q - node) / spacing, 0.0);
        }
        default: {
            // T_t by the recurrence, as the CPU reference evaluates it.
            var a = 1.0;
            var b = q;
            if (t == 0u) { return a; }
            for (var k = 1u; k < t; k++) {
                let c = 2.0 * q * b - a;
                a = b;
                b = c;
            }
            return b;
        }
    }
}

// The separable filter term `index` (the first axis's term slowest) at pair e's offset × sign.
fn filter_term(index: u32, e: u32, sign: f32) -> f32 {
    var rest = index;
    var value = 1.0;
    for (var k = 0u; k < layer.dim; k++) {
        let axis = layer.dim - 1u - k;
        value *= basis_1d(layer.basis, rest % layer.terms, sign * offsets[e * layer.dim + axis]);
        rest /= layer.terms;
    }
    return value;
}

@compute @workgroup_size(64)
fn gather(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= layer.n * layer.filters) { return; }
    let i = k / layer.filters;
    let t = k % layer.filters;
    let cin = layer.cin;
    let row = k * cin;
    for (var c = 0u; c < cin; c++) { gathered[row + c] = 0.0; }
    for (var e = start[i]; e < start[i + 1u]; e++) {
        let j = nbr[e];
        var b = filter_term(t, e, 1.0);
        if (layer.antisymmetric == 1u) {
            b -= filter_term(t, e, -1.0);
            for (var c = 0u; c < cin; c++) {
                gathered[row + c] += b * (src[i * cin + c] + src[j * cin + c]);
            }
        } else {
            for (var c = 0u; c < cin; c++) {
                gathered[row + c] += b * src[j * cin + c];
            }
        }
    }
}

@compute @workgroup_size(64)
fn combine(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= layer.n * layer.cout) { return; }
    let i = k / layer.cout;
    let o = k % layer.cout;
    let width = layer.filters * layer.cin;
    var sum = 0.0;
    for (var m = 0u; m < width; m++) {
        sum += gathered[i * width + m] * weight[m * layer.cout + o];
    }
    if (layer.antisymmetric == 0u) {
        sum += bias[o];
        for (var c = 0u; c < layer.cin; c++) {
            sum += self_weight[o * layer.cin + c] * src[i * layer.cin + c];
        }
    }
    if (layer.relu == 1u) { sum = max(sum, 0.0); }
    dst[k] = sum;
}
