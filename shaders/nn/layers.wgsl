// The network layers on the GPU: the twins of crates/flowscope-nn/src/layers.rs, one thread per
// output value (a workgroup per group for the norm statistics). Tensors are PyTorch-layout f32
// arrays: images [n][c][h][w], features [rows][features].

struct Conv {
    n: u32, ci: u32, h: u32, w: u32,
    co: u32, kh: u32, kw: u32, ho: u32,
    wo: u32, stride_y: u32, stride_x: u32, pad_y: u32,
    pad_x: u32, dil_y: u32, dil_x: u32, mode: u32,   // 0 zeros, 1 replicate, 2 circular
}

// Element-wise work: `len` values, `mode` the activation (0 none, 1 relu, 2 silu, 3 gelu,
// 4 tanh, 5 elu), `plane` the values per channel, `ca`/`cb` channel counts for concatenation.
struct Elementwise {
    len: u32, mode: u32, plane: u32, ca: u32,
    cb: u32, _p0: u32, _p1: u32, _p2: u32,
}

struct Norm {
    n: u32, c: u32, groups: u32, spatial: u32,
    eps: f32, mode: u32, _p0: u32, _p1: u32,
}

struct Linear {
    rows: u32, fin: u32, fout: u32, _p0: u32,
}

// Resampling of `planes` images of h × w: `mode` 0 nearest, 1 bilinear (upsampling by 2),
// 2 average, 3 max (pooling by k).
struct Resample {
    planes: u32, h: u32, w: u32, mode: u32,
    k: u32, _p0: u32, _p1: u32, _p2: u32,
}

struct Attn {
    n: u32, c: u32, heads: u32, pixels: u32,
}

struct Embedding {
    n: u32, dim: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> conv: Conv;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
@group(0) @binding(5) var<uniform> elem: Elementwise;
@group(0) @binding(6) var<uniform> norm: Norm;
@group(0) @binding(7) var<uniform> lin: Linear;
@group(0) @binding(8) var<uniform> resample: Resample;
@group(0) @binding(9) var<uniform> attn: Attn;
@group(0) @binding(10) var<uniform> emb: Embedding;
@group(0) @binding(11) var<storage, read> other: array<f32>;
@group(0) @binding(12) var<storage, read_write> stats: array<f32>;

fn activate(v: f32, mode: u32) -> f32 {
    switch mode {
        case 1u: { return max(v, 0.0); }
        case 2u: { return v / (1.0 + exp(-v)); }
        case 3u: { return 0.5 * v * (1.0 + erf(v * 0.7071067811865476)); }
        case 4u: { return tanh(v); }
        case 5u: { if (v > 0.0) { return v; } return exp(v) - 1.0; }
        default: { return v; }
    }
}

// erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, under f32 rounding of GELU).
fn erf(x: f32) -> f32 {
    let a = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let r = 1.0 - poly * exp(-a * a);
    return select(r, -r, x < 0.0);
}

// Input index along one axis for output position o and tap t, or -1 for a zero.
fn tap(o: u32, t: u32, stride: u32, pad: u32, dil: u32, size: u32, mode: u32) -> i32 {
    let i = i32(o * stride + t * dil) - i32(pad);
    let n = i32(size);
    if (i >= 0 && i < n) { return i; }
    if (mode == 1u) { return clamp(i, 0, n - 1); }
    if (mode == 2u) { return ((i % n) + n) % n; }
    return -1;
}

// Output channels per invocation: every input value loaded serves four of them.
const CONV_CHANNELS: u32 = 4u;

// One output pixel of CONV_CHANNELS consecutive output channels per invocation. The taps'
// positions are worked out once per tap, then the input channels run innermost.
@compute @workgroup_size(64)
fn conv2d(@builtin(global_invocation_id) id: vec3<u32>) {
    let groups = (conv.co + CONV_CHANNELS - 1u) / CONV_CHANNELS;
    let k = id.x + id.y * 65535u * 64u;
    if (k >= conv.n * groups * conv.ho * conv.wo) { return; }
    let ox = k % conv.wo;
    let oy = (k / conv.wo) % conv.ho;
    let g = (k / (conv.wo * conv.ho)) % groups;
    let b = k / (conv.wo * conv.ho * groups);
    let o0 = g * CONV_CHANNELS;
    // The last group may run past co: its extra lanes read channel co − 1 and are not stored.
    let o = min(vec4<u32>(o0, o0 + 1u, o0 + 2u, o0 + 3u), vec4<u32>(conv.co - 1u));
    var sum = vec4<f32>(bias[o.x], bias[o.y], bias[o.z], bias[o.w]);
    let taps = conv.kh * conv.kw;
    let plane = conv.h * conv.w;
    for (var ky = 0u; ky < conv.kh; ky++) {
        let sy = tap(oy, ky, conv.stride_y, conv.pad_y, conv.dil_y, conv.h, conv.mode);
        if (sy < 0) { continue; }
        for (var kx = 0u; kx < conv.kw; kx++) {
            let sx = tap(ox, kx, conv.stride_x, conv.pad_x, conv.dil_x, conv.w, conv.mode);
            if (sx < 0) { continue; }
            var s = b * conv.ci * plane + u32(sy) * conv.w + u32(sx);
            var wi = o * conv.ci * taps + vec4<u32>(ky * conv.kw + kx);
            for (var c = 0u; c < conv.ci; c++) {
                sum += src[s] * vec4<f32>(weight[wi.x], weight[wi.y], weight[wi.z], weight[wi.w]);
                s += plane;
                wi += vec4<u32>(taps);
            }
        }
    }
    let out_plane = conv.ho * conv.wo;
    let out = ((b * conv.co + o0) * conv.ho + oy) * conv.wo + ox;
    dst[out] = sum.x;
    if (o0 + 1u < conv.co) { dst[out + out_plane] = sum.y; }
    if (o0 + 2u < conv.co) { dst[out + 2u * out_plane] = sum.z; }
    if (o0 + 3u < conv.co) { dst[out + 3u * out_plane] = sum.w; }
}

@compute @workgroup_size(64)
fn linear(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if (k >= lin.rows * lin.fout) { return; }
    let row = k / lin.fout;
    let o = k % lin.fout;
    var sum = bias[o];
    for (var i = 0u; i < lin.fin; i++) {
        sum += weight[o * lin.fin + i] * src[row * lin.fin + i];
    }
    dst[k] = sum;
}

// In place: dst = activation(dst).
@compute @workgroup_size(64)
fn activation(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= elem.len) { return; }
    dst[k] = activate(dst[k], elem.mode);
}

// dst = src + other.
@compute @workgroup_size(64)
fn add(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= elem.len) { return; }
    dst[k] = src[k] + other[k];
}

// In place: dst[n][c][pixel] += other[n][c] (a per-channel shift, the time embedding's).
@compute @workgroup_size(64)
fn add_channel(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= elem.len) { return; }
    dst[k] += other[k / elem.plane];
}

// dst = cat([src, other], channels): src has `ca` channels, other `cb`, `plane` values each.
@compute @workgroup_size(64)
fn concat(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= elem.len) { return; }
    let per = (elem.ca + elem.cb) * elem.plane;
    let b = k / per;
    let r = k % per;
    if (r < elem.ca * elem.plane) {
        dst[k] = src[b * elem.ca * elem.plane + r];
    } else {
        dst[k] = other[b * elem.cb * elem.plane + r - elem.ca * elem.plane];
    }
}

var<workgroup> partial: array<f32, 256>;

// One workgroup per (batch, group): mean and 1/σ into stats[2 g], stats[2 g + 1] (two passes
// over the values: the mean first, then the squared deviations, as the CPU does in f64).
@compute @workgroup_size(256)
fn group_norm_stats(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
    let g = group.x;
    let count = norm.c / norm.groups * norm.spatial;
    let start = g * count;
    var sum = 0.0;
    for (var i = local.x; i < count; i += 256u) { sum += src[start + i]; }
    partial[local.x] = sum;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (local.x < s) { partial[local.x] += partial[local.x + s]; }
        workgroupBarrier();
    }
    let mean = partial[0] / f32(count);
    workgroupBarrier();
    var squares = 0.0;
    for (var i = local.x; i < count; i += 256u) {
        let d = src[start + i] - mean;
        squares += d * d;
    }
    partial[local.x] = squares;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (local.x < s) { partial[local.x] += partial[local.x + s]; }
        workgroupBarrier();
    }
    if (local.x == 0u) {
        stats[2u * g] = mean;
        stats[2u * g + 1u] = inverseSqrt(partial[0] / f32(count) + norm.eps);
    }
}

// dst = activation((src − mean) / σ · weight[c] + bias[c]).
@compute @workgroup_size(64)
fn group_norm_apply(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= norm.n * norm.c * norm.spatial) { return; }
    let c = (k / norm.spatial) % norm.c;
    let b = k / (norm.spatial * norm.c);
    let g = b * norm.groups + c / (norm.c / norm.groups);
    let v = (src[k] - stats[2u * g]) * stats[2u * g + 1u] * weight[c] + bias[c];
    dst[k] = activate(v, norm.mode);
}

@compute @workgroup_size(64)
fn resample2d(@builtin(global_invocation_id) id: vec3<u32>) {
    let up = resample.mode < 2u;
    var ho = resample.h / resample.k;
    var wo = resample.w / resample.k;
    if (up) {
        ho = 2u * resample.h;
        wo = 2u * resample.w;
    }
    let k = id.x + id.y * 65535u * 64u;
    if (k >= resample.planes * ho * wo) { return; }
    let ox = k % wo;
    let oy = (k / wo) % ho;
    let plane = (k / (wo * ho)) * resample.h * resample.w;
    let w = resample.w;
    switch resample.mode {
        case 0u: { dst[k] = src[plane + (oy / 2u) * w + ox / 2u]; }
        case 1u: {
            let sy = max((f32(oy) + 0.5) * 0.5 - 0.5, 0.0);
            let sx = max((f32(ox) + 0.5) * 0.5 - 0.5, 0.0);
            let y0 = min(u32(floor(sy)), resample.h - 1u);
            let x0 = min(u32(floor(sx)), w - 1u);
            let y1 = min(y0 + 1u, resample.h - 1u);
            let x1 = min(x0 + 1u, w - 1u);
            let fy = sy - f32(y0);
            let fx = sx - f32(x0);
            let top = src[plane + y0 * w + x0] * (1.0 - fx) + src[plane + y0 * w + x1] * fx;
            let bottom = src[plane + y1 * w + x0] * (1.0 - fx) + src[plane + y1 * w + x1] * fx;
            dst[k] = top * (1.0 - fy) + bottom * fy;
        }
        default: {
            var acc = select(-3.4e38, 0.0, resample.mode == 2u);
            for (var dy = 0u; dy < resample.k; dy++) {
                for (var dx = 0u; dx < resample.k; dx++) {
                    let v = src[plane + (oy * resample.k + dy) * w + ox * resample.k + dx];
                    if (resample.mode == 2u) { acc += v; } else { acc = max(acc, v); }
                }
            }
            if (resample.mode == 2u) { acc /= f32(resample.k * resample.k); }
            dst[k] = acc;
        }
    }
}

// The angle brought into [−π, π] in two exact-ish steps (Cody & Waite), so that large noise
// levels keep f32 accuracy where the GPU's sin and cos do not reduce carefully.
fn reduce_angle(a: f32) -> f32 {
    let k = round(a / 6.283185307);
    return (a - k * 6.28125) - k * 0.0019353071795864769;
}

@compute @workgroup_size(64)
fn time_embedding(@builtin(global_invocation_id) id: vec3<u32>) {
    let half = emb.dim / 2u;
    let k = id.x;
    if (k >= emb.n * 2u * half) { return; }
    let row = k / (2u * half);
    let j = k % (2u * half);
    // The frequencies come from the CPU (`weight`), as it computes them: a few ulp of GPU exp
    // would shift the phase at large noise levels by more than the 1e-4 parity allows.
    let arg = reduce_angle(src[row] * weight[j % half]);
    dst[k] = select(cos(arg), sin(arg), j < half);
}

// Self-attention, one thread per (batch, head, query pixel): softmax over the key pixels,
// computed in two passes (the maximum, then the weighted sum), head size at most 64.
@compute @workgroup_size(64)
fn attention(@builtin(global_invocation_id) id: vec3<u32>) {
    let d = attn.c / attn.heads;
    let p = attn.pixels;
    let k = id.x;
    if (k >= attn.n * attn.heads * p) { return; }
    let i = k % p;
    let head = (k / p) % attn.heads;
    let b = k / (p * attn.heads);
    let q_base = ((b * 3u) * attn.c + head * d) * p;
    let k_base = ((b * 3u + 1u) * attn.c + head * d) * p;
    let v_base = ((b * 3u + 2u) * attn.c + head * d) * p;
    let scale = inverseSqrt(f32(d));
    var best = -3.4e38;
    for (var j = 0u; j < p; j++) {
        var s = 0.0;
        for (var ch = 0u; ch < d; ch++) { s += src[q_base + ch * p + i] * src[k_base + ch * p + j]; }
        best = max(best, s * scale);
    }
    var acc: array<f32, 64>;
    var total = 0.0;
    for (var j = 0u; j < p; j++) {
        var s = 0.0;
        for (var ch = 0u; ch < d; ch++) { s += src[q_base + ch * p + i] * src[k_base + ch * p + j]; }
        let e = exp(s * scale - best);
        total += e;
        for (var ch = 0u; ch < d; ch++) { acc[ch] += e * src[v_base + ch * p + j]; }
    }
    for (var ch = 0u; ch < d; ch++) {
        dst[((b * attn.c) + head * d + ch) * p + i] = acc[ch] / total;
    }
}
