//! The layers, as functions named and parametrised like PyTorch's (`torch.nn.functional`), on
//! [`Tensor`]s in PyTorch's layout. The CPU reference: plain loops, f32 values, f64 statistics.

use crate::{NnError, Tensor};

/// How a convolution reads outside its input (`padding_mode` in PyTorch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaddingMode {
    Zeros,
    Replicate,
    Circular,
}

/// Settings of a 2D convolution, `[along y, along x]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conv2d {
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub mode: PaddingMode,
}

impl Conv2d {
    /// The output's `[height, width]` for an input `[h, w]` and a kernel `[kh, kw]`, or why
    /// the convolution cannot run on it.
    pub fn output_size(
        &self,
        [ci, h, w]: [usize; 3],
        [wci, kh, kw]: [usize; 3],
    ) -> Result<[usize; 2], NnError> {
        if wci != ci {
            return Err(NnError::Shape(format!(
                "conv2d: input has {ci} channels, the weight expects {wci}"
            )));
        }
        let (input, kernel) = ([h, w], [kh, kw]);
        let extent = |a: usize| {
            let span = (input[a] + 2 * self.padding[a]) as isize
                - (self.dilation[a] * (kernel[a].max(1) - 1) + 1) as isize;
            (span >= 0).then(|| span as usize / self.stride[a].max(1) + 1)
        };
        let (Some(ho), Some(wo)) = (extent(0), extent(1)) else {
            return Err(NnError::Shape(format!(
                "conv2d: a {kh}×{kw} kernel does not fit a {h}×{w} input"
            )));
        };
        if self.mode == PaddingMode::Circular && (self.padding[0] > h || self.padding[1] > w) {
            return Err(NnError::Shape("conv2d: circular padding larger than the input".into()));
        }
        Ok([ho, wo])
    }

    /// Stride 1, dilation 1, "same" zero padding for an odd kernel `k`.
    pub fn same(k: usize) -> Self {
        Self { stride: [1, 1], padding: [k / 2; 2], dilation: [1, 1], mode: PaddingMode::Zeros }
    }
}

/// For each output position and kernel tap, the input index it reads (`None`: a zero).
pub(crate) fn taps(
    out: usize,
    k: usize,
    size: usize,
    stride: usize,
    pad: usize,
    dilation: usize,
    mode: PaddingMode,
) -> Vec<Option<usize>> {
    let mut table = Vec::with_capacity(out * k);
    for o in 0..out {
        for t in 0..k {
            let i = (o * stride + t * dilation) as isize - pad as isize;
            let n = size as isize;
            table.push(match mode {
                _ if (0..n).contains(&i) => Some(i as usize),
                PaddingMode::Zeros => None,
                PaddingMode::Replicate => Some(i.clamp(0, n - 1) as usize),
                PaddingMode::Circular => Some(i.rem_euclid(n) as usize),
            });
        }
    }
    table
}

/// `F.conv2d` (with PyTorch's `padding_mode`): `x` `[n, ci, h, w]`, `weight` `[co, ci, kh, kw]`,
/// `bias` `[co]`.
pub fn conv2d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    conv: Conv2d,
) -> Result<Tensor, NnError> {
    let [n, ci, h, w] = x.dims4("conv2d")?;
    let [co, wci, kh, kw] = weight.dims4("conv2d weight")?;
    if let Some(b) = bias {
        if b.shape != [co] {
            return Err(NnError::Shape(format!(
                "conv2d: bias shape {:?}, expected [{co}]",
                b.shape
            )));
        }
    }
    let [ho, wo] = conv.output_size([ci, h, w], [wci, kh, kw])?;
    let rows = taps(ho, kh, h, conv.stride[0], conv.padding[0], conv.dilation[0], conv.mode);
    let cols = taps(wo, kw, w, conv.stride[1], conv.padding[1], conv.dilation[1], conv.mode);
    // The tasks below write every output value once (the bias, to which the products are
    // added, or the bias plus the products), so the output needs no initialising pass.
    let len = crate::tensor::elements(&[n, co, ho, wo])?;
    let mut out = Vec::with_capacity(len);
    let target = SharedOut(out.spare_capacity_mut().as_mut_ptr().cast::<f32>());
    let bias = bias.map(|b| b.data.as_slice());
    let taps = Taps { rows: &rows, cols: &cols, kernel: [kh, kw], out: [ho, wo] };
    if crate::winograd::applies([n, ci, co], [ho, wo], &conv, [kh, kw]) {
        crate::winograd::conv3x3(x, weight, bias, &taps, target);
    } else {
        conv_im2col(x, weight, bias, &taps, conv, target);
    }
    // SAFETY: the convolution wrote all `len` values.
    unsafe { out.set_len(len) };
    Tensor::new(vec![n, co, ho, wo], out)
}

/// Where a convolution reads: the input index of every (output position, kernel tap) pair along
/// y and x (`None`: a zero), from [`taps`].
pub(crate) struct Taps<'a> {
    pub rows: &'a [Option<usize>],
    pub cols: &'a [Option<usize>],
    pub kernel: [usize; 2],
    pub out: [usize; 2],
}

/// Queries per attention task: a block of scores stays in the cache, and a few hundred tokens
/// make several tasks per batch entry.
const ATTENTION_QUERIES: usize = 64;

/// The least number of values an elementwise pass spreads over threads.
const PARALLEL_MIN_VALUES: usize = 1 << 13;

/// Output pixels per im2col block: the block (`ci·kh·kw` rows) should stay in the cache.
fn block_pixels(taps_per_output: usize) -> usize {
    (131_072 / taps_per_output).clamp(256, 4096)
}

/// Any convolution, by blocks of output rows: the taps of the block's pixels as a
/// `[ci·kh·kw, pixels]` matrix (im2col), then its product with the `[co, ci·kh·kw]` weights added
/// to those columns of `out`. Blocks of a few hundred pixels keep the matrix in the cache, and
/// natively they spread over the cores. A 1×1 convolution without stride or padding multiplies
/// the input itself. `target` is an `[n, co, ho, wo]` output's room, which the tasks fill.
fn conv_im2col(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&[f32]>,
    taps: &Taps,
    conv: Conv2d,
    target: SharedOut,
) {
    let ([n, ci, h, w], co) = ([x.shape[0], x.shape[1], x.shape[2], x.shape[3]], weight.shape[0]);
    let ([kh, kw], [ho, wo]) = (taps.kernel, taps.out);
    let (taps_per_output, pixels) = (ci * kh * kw, ho * wo);
    // The extents the unsafe products below rely on.
    assert!(weight.len() >= co * taps_per_output);
    assert!(x.data.len() >= n * ci * h * w);
    assert!(taps.rows.len() >= ho * kh && taps.cols.len() >= wo * kw);
    let pointwise = kh == 1 && kw == 1 && conv.stride == [1, 1] && conv.padding == [0, 0];
    let rows_per_block = (block_pixels(taps_per_output) / wo.max(1)).clamp(1, ho.max(1));
    // At least a block per thread where the rows allow: a small batch at a coarse level would
    // otherwise be one block on one core. The products' sums run in the same order whatever
    // the blocks, so the output does not depend on the thread count.
    let blocks_per_entry = flowscope_parallel::threads().div_ceil(n.max(1));
    let rows_per_block = rows_per_block.min(ho.div_ceil(blocks_per_entry)).max(1);
    let blocks = ho.div_ceil(rows_per_block);
    let task = |t: usize| {
        let (b, first_row) = (t / blocks, (t % blocks) * rows_per_block);
        let rows = rows_per_block.min(ho - first_row);
        let (first, width) = (first_row * wo, rows * wo);
        let input = &x.data[b * ci * h * w..][..ci * h * w];
        // SAFETY (both products): `c` is columns `first..first + width` of batch entry `b`'s
        // `[co, pixels]` plane of the output, which no other task writes; `target` holds
        // conv2d's whole `[n, co, ho, wo]` output.
        let c_block = target.at(b * co * pixels + first);
        for o in 0..co {
            let value = bias.map_or(0.0, |bias| bias[o]);
            // SAFETY: as below; the block's values are written here first.
            unsafe { fill(c_block.wrapping_add(o * pixels), width, value) };
        }
        if pointwise {
            // `b` is `ci` rows of `width` values at stride `pixels` (= h·w here) from `first`.
            assert!(pixels == h * w && first + width <= pixels);
            let b_block = input[first..].as_ptr();
            let a = weight.data.as_ptr();
            unsafe { gemm_add(co, ci, width, a, b_block, pixels, c_block, pixels) };
            return;
        }
        // The matrix lives in a buffer kept between calls (one per thread): every value is
        // written, and a fresh zeroed one per call showed up in profiles.
        SCRATCH.with_borrow_mut(|scratch| {
            if scratch.len() < taps_per_output * width {
                scratch.resize(taps_per_output * width, 0.0);
            }
            let col = &mut scratch[..taps_per_output * width];
            for (c, input) in input.chunks(h * w).enumerate() {
                for ky in 0..kh {
                    for kx in 0..kw {
                        let row = &mut col[((c * kh + ky) * kw + kx) * width..][..width];
                        for (oy, dst) in (first_row..first_row + rows).zip(row.chunks_mut(wo)) {
                            let Some(sy) = taps.rows[oy * kh + ky] else {
                                dst.fill(0.0);
                                continue;
                            };
                            let in_row = &input[sy * w..][..w];
                            // With stride 1 the taps inside the input are one contiguous run.
                            let (lo, hi) = if conv.stride[1] == 1 {
                                let offset =
                                    (kx * conv.dilation[1]) as isize - conv.padding[1] as isize;
                                let lo = (-offset).clamp(0, wo as isize) as usize;
                                let hi =
                                    (w as isize - offset).clamp(lo as isize, wo as isize) as usize;
                                let start = (lo as isize + offset) as usize;
                                dst[lo..hi].copy_from_slice(&in_row[start..start + hi - lo]);
                                (lo, hi)
                            } else {
                                (0, 0)
                            };
                            for ox in (0..lo).chain(hi..wo) {
                                dst[ox] = taps.cols[ox * kw + kx].map_or(0.0, |sx| in_row[sx]);
                            }
                        }
                    }
                }
            }
            let (a, b) = (weight.data.as_ptr(), col.as_ptr());
            unsafe { gemm_add(co, taps_per_output, width, a, b, width, c_block, pixels) };
        });
    };
    flowscope_parallel::for_each(n * blocks, task);
}

/// The output's address, shared by tasks that write disjoint parts of it.
#[derive(Clone, Copy)]
pub(crate) struct SharedOut(pub *mut f32);
// SAFETY: the tasks that share it write disjoint parts (see `conv_im2col`, `attention` and
// `winograd::conv3x3`).
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    pub fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

/// Writes `value` to `len` consecutive floats from `at`.
///
/// # Safety
/// They must be in one allocation, unborrowed.
unsafe fn fill(at: *mut f32, len: usize, value: f32) {
    for k in 0..len {
        at.add(k).write(value);
    }
}

/// `c += a · b` with matrixmultiply's blocked kernels: `a` `[m, k]` row-major and contiguous,
/// `b` `[k, n]` and `c` `[m, n]` with row strides `rsb` and `rsc`.
///
/// # Safety
/// The pointers must cover those extents, and nothing else may touch `c`'s meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_add(
    m: usize,
    k: usize,
    n: usize,
    a: *const f32,
    b: *const f32,
    rsb: usize,
    c: *mut f32,
    rsc: usize,
) {
    matrixmultiply::sgemm(
        m,
        k,
        n,
        1.0,
        a,
        k as isize,
        1,
        b,
        rsb as isize,
        1,
        1.0,
        c,
        rsc as isize,
        1,
    );
}

thread_local! {
    /// The convolutions' work space, kept between calls (one per thread).
    pub(crate) static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `F.conv1d`: `x` `[n, ci, l]`, `weight` `[co, ci, k]`; the 1D settings are the x entries.
pub fn conv1d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    conv: Conv2d,
) -> Result<Tensor, NnError> {
    let [n, ci, l] = x.dims3("conv1d")?;
    let [co, wci, k] = weight.dims3("conv1d weight")?;
    let as_image = Tensor { shape: vec![n, ci, 1, l], data: x.data.clone() };
    let kernel = Tensor { shape: vec![co, wci, 1, k], data: weight.data.clone() };
    let flat = Conv2d {
        stride: [1, conv.stride[1]],
        padding: [0, conv.padding[1]],
        dilation: [1, conv.dilation[1]],
        ..conv
    };
    let mut out = conv2d(&as_image, &kernel, bias, flat)?;
    let lo = out.shape[3];
    out.shape = vec![n, co, lo];
    Ok(out)
}

/// `F.linear`: `x` `[…, in]`, `weight` `[out, in]`.
pub fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor, NnError> {
    let [out_f, in_f] = weight.dims2("linear weight")?;
    if x.shape.last() != Some(&in_f) {
        return Err(NnError::Shape(format!(
            "linear: input {:?} does not end in {in_f} features",
            x.shape
        )));
    }
    let rows = x.len() / in_f;
    let mut shape = x.shape.clone();
    *shape.last_mut().expect("checked above") = out_f;
    let mut data = Vec::with_capacity(rows * out_f);
    for r in 0..rows {
        let input = &x.data[r * in_f..][..in_f];
        for o in 0..out_f {
            let row = &weight.data[o * in_f..][..in_f];
            let dot: f32 = row.iter().zip(input).map(|(a, b)| a * b).sum();
            data.push(dot + bias.map_or(0.0, |b| b.data[o]));
        }
    }
    Tensor::new(shape, data)
}

/// The mean of `values` and `1 / √(variance + eps)` (biased variance, like PyTorch), in f64 and
/// about the mean (no cancellation), summed in eight independent lanes so that the loops
/// vectorise (one running sum is a chain of dependent additions).
fn statistics(values: &[f32], eps: f64) -> (f64, f64) {
    fn lane_sum(values: &[f32], term: impl Fn(f32) -> f64) -> f64 {
        let mut lanes = [0.0f64; 8];
        let chunks = values.chunks_exact(8);
        let rest: f64 = chunks.remainder().iter().map(|&v| term(v)).sum();
        for chunk in chunks {
            for (lane, &v) in lanes.iter_mut().zip(chunk) {
                *lane += term(v);
            }
        }
        lanes.iter().sum::<f64>() + rest
    }
    let count = values.len() as f64;
    let mean = lane_sum(values, f64::from) / count;
    let var = lane_sum(values, |v| (f64::from(v) - mean) * (f64::from(v) - mean)) / count;
    (mean, 1.0 / (var + eps).sqrt())
}

/// Normalises each group of `values` to zero mean and unit variance (biased, like PyTorch).
fn normalise(values: &mut [f32], eps: f64) {
    let (mean, scale) = statistics(values, eps);
    values.iter_mut().for_each(|v| *v = ((f64::from(*v) - mean) * scale) as f32);
}

/// `F.group_norm`: `x` `[n, c, …]`, per-channel `weight` and `bias` `[c]`.
pub fn group_norm(
    x: &Tensor,
    groups: usize,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
) -> Result<Tensor, NnError> {
    group_norm_then(x, groups, weight, bias, eps, None)
}

/// [`group_norm`] followed by `activation`, in the same pass over the values.
pub fn group_norm_then(
    x: &Tensor,
    groups: usize,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
    activation: Option<Activation>,
) -> Result<Tensor, NnError> {
    let (n, c) = (x.shape[0], *x.shape.get(1).unwrap_or(&0));
    if groups == 0 || !c.is_multiple_of(groups) {
        return Err(NnError::Shape(format!(
            "group_norm: {c} channels do not split into {groups} groups"
        )));
    }
    let spatial = x.len() / (n * c).max(1);
    let per_group = c / groups * spatial;
    let mut out = x.clone();
    let normalise_group = |g: usize, chunk: &mut [f32]| {
        let (mean, scale) = statistics(chunk, eps);
        for (k, channel) in chunk.chunks_mut(spatial).enumerate() {
            let ch = (g % groups) * (c / groups) + k;
            // One multiply-add per value: v·a + b with the statistics folded in.
            let a = (scale * f64::from(weight.data[ch])) as f32;
            let b = (f64::from(bias.data[ch]) - mean * scale * f64::from(weight.data[ch])) as f32;
            match activation {
                Some(Activation::Silu) => channel.iter_mut().for_each(|v| *v = silu(*v * a + b)),
                Some(activation) => {
                    channel.iter_mut().for_each(|v| *v = activation.apply(*v * a + b))
                }
                None => channel.iter_mut().for_each(|v| *v = *v * a + b),
            }
        }
    };
    // Spreading a small tensor over threads costs more than it saves.
    if out.len() < PARALLEL_MIN_VALUES {
        out.data.chunks_mut(per_group).enumerate().for_each(|(g, chunk)| normalise_group(g, chunk));
    } else {
        flowscope_parallel::for_each_chunk_mut(&mut out.data, per_group, normalise_group);
    }
    Ok(out)
}

/// `F.layer_norm` over the last dimension.
pub fn layer_norm(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Tensor, NnError> {
    let d = *x.shape.last().unwrap_or(&0);
    if weight.shape != [d] {
        return Err(NnError::Shape(format!(
            "layer_norm: weight {:?} for {d} features",
            weight.shape
        )));
    }
    let mut out = x.clone();
    for row in out.data.chunks_mut(d) {
        normalise(row, eps);
        for (k, v) in row.iter_mut().enumerate() {
            *v = *v * weight.data[k] + bias.data[k];
        }
    }
    Ok(out)
}

/// The activations, by PyTorch's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Relu,
    Silu,
    /// The exact (erf) GELU, PyTorch's default.
    Gelu,
    Tanh,
    /// α = 1.
    Elu,
}

/// `x · σ(x)`.
#[inline]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + exp(-x))
}

/// `eˣ` to about 2 ulp (Cephes' `expf`: a degree-6 polynomial after reducing by ln 2), written
/// without calls or branches so that loops over it vectorize; libm's `expf` is a call per value
/// and was a tenth of a UNet's time on the CPU.
#[inline]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Round x / ln 2 to the nearest integer by the 1.5 · 2²³ trick (no rounding call).
    const ROUND: f32 = 12_582_912.0;
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 0.166_666_65)
        * r
        + 0.5;
    let scale = f32::from_bits(((n as i32 + 127) << 23) as u32);
    (p * r * r + r + 1.0) * scale
}

impl Activation {
    pub fn apply(self, v: f32) -> f32 {
        match self {
            Activation::Relu => v.max(0.0),
            Activation::Silu => silu(v),
            Activation::Gelu => 0.5 * v * (1.0 + libm::erff(v * std::f32::consts::FRAC_1_SQRT_2)),
            Activation::Tanh => v.tanh(),
            Activation::Elu => {
                if v > 0.0 {
                    v
                } else {
                    v.exp_m1()
                }
            }
        }
    }

    pub fn on(self, x: Tensor) -> Tensor {
        x.map(|v| self.apply(v))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Upsampling {
    Nearest,
    /// `align_corners=False`, PyTorch's default.
    Bilinear,
}

/// `F.interpolate(x, scale_factor=2, mode=…)` on `[n, c, h, w]`.
pub fn upsample2x(x: &Tensor, mode: Upsampling) -> Result<Tensor, NnError> {
    let [n, c, h, w] = x.dims4("upsample")?;
    let (ho, wo) = (2 * h, 2 * w);
    // Source position of an output pixel and its two neighbours with weights.
    let source = |o: usize, size: usize| -> (usize, usize, f32) {
        match mode {
            Upsampling::Nearest => (o / 2, o / 2, 0.0),
            Upsampling::Bilinear => {
                let s = ((o as f32 + 0.5) * 0.5 - 0.5).max(0.0);
                let i0 = (s.floor() as usize).min(size - 1);
                (i0, (i0 + 1).min(size - 1), s - i0 as f32)
            }
        }
    };
    let mut out = Tensor::zeros(&[n, c, ho, wo]);
    for plane in 0..n * c {
        let input = &x.data[plane * h * w..][..h * w];
        let output = &mut out.data[plane * ho * wo..][..ho * wo];
        for oy in 0..ho {
            let (y0, y1, fy) = source(oy, h);
            for ox in 0..wo {
                let (x0, x1, fx) = source(ox, w);
                let top = input[y0 * w + x0] * (1.0 - fx) + input[y0 * w + x1] * fx;
                let bottom = input[y1 * w + x0] * (1.0 - fx) + input[y1 * w + x1] * fx;
                output[oy * wo + ox] = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
    Ok(out)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pool {
    Average,
    Max,
}

/// `F.avg_pool2d` / `F.max_pool2d` with kernel = stride = `k` (no padding).
pub fn pool2d(x: &Tensor, k: usize, pool: Pool) -> Result<Tensor, NnError> {
    let [n, c, h, w] = x.dims4("pool2d")?;
    let (ho, wo) = (h / k, w / k);
    let mut out = Tensor::zeros(&[n, c, ho, wo]);
    for plane in 0..n * c {
        let input = &x.data[plane * h * w..][..h * w];
        for oy in 0..ho {
            for ox in 0..wo {
                let window =
                    (0..k).flat_map(|dy| (0..k).map(move |dx| (oy * k + dy) * w + ox * k + dx));
                out.data[(plane * ho + oy) * wo + ox] = match pool {
                    Pool::Average => window.map(|i| input[i]).sum::<f32>() / (k * k) as f32,
                    Pool::Max => window.map(|i| input[i]).fold(f32::NEG_INFINITY, f32::max),
                };
            }
        }
    }
    Ok(out)
}

/// The sinusoidal embedding of noise levels or times `t` `[n]`: `[sin(t f_k), cos(t f_k)]`,
/// `f_k = 10000^(−k/(dim/2))`, as `training/flowscope_nn.py` defines it.
pub fn time_embedding(t: &[f32], dim: usize) -> Tensor {
    let half = dim / 2;
    let freqs = time_frequencies(dim);
    let mut out = Tensor::zeros(&[t.len(), 2 * half]);
    for (row, &time) in t.iter().enumerate() {
        for (k, freq) in freqs.data.iter().enumerate() {
            let arg = time * freq;
            out.data[row * 2 * half + k] = arg.sin();
            out.data[row * 2 * half + half + k] = arg.cos();
        }
    }
    out
}

/// The embedding's frequencies `f_k`, `k < dim/2`.
pub fn time_frequencies(dim: usize) -> Tensor {
    let half = dim / 2;
    let data = (0..half).map(|k| (-(10000f32.ln()) * k as f32 / half as f32).exp()).collect();
    Tensor { shape: vec![half], data }
}

/// `torch.cat([a, b], dim=1)` of two image batches.
pub fn concat_channels(a: &Tensor, b: &Tensor) -> Result<Tensor, NnError> {
    let [n, ca, h, w] = a.dims4("concat")?;
    let [nb, cb, hb, wb] = b.dims4("concat")?;
    if (n, h, w) != (nb, hb, wb) {
        return Err(NnError::Shape(format!(
            "concat: {:?} and {:?} differ outside the channels",
            a.shape, b.shape
        )));
    }
    let mut data = Vec::with_capacity(a.len() + b.len());
    for i in 0..n {
        data.extend_from_slice(&a.data[i * ca * h * w..][..ca * h * w]);
        data.extend_from_slice(&b.data[i * cb * h * w..][..cb * h * w]);
    }
    Tensor::new(vec![n, ca + cb, h, w], data)
}

/// Elementwise `a + b` (residual connections).
pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor, NnError> {
    if a.shape != b.shape {
        return Err(NnError::Shape(format!("add: {:?} and {:?}", a.shape, b.shape)));
    }
    Ok(Tensor {
        shape: a.shape.clone(),
        data: a.data.iter().zip(&b.data).map(|(x, y)| x + y).collect(),
    })
}

/// Multi-head self-attention over the pixels of `qkv` `[n, 3c, h, w]` (queries, keys, values
/// stacked, heads inside each): softmax(qᵀk / √d) v, returned as `[n, c, h, w]`.
pub fn attention(qkv: &Tensor, heads: usize) -> Result<Tensor, NnError> {
    let [n, c3, h, w] = qkv.dims4("attention")?;
    let c = c3 / 3;
    if !c3.is_multiple_of(3) || heads == 0 || !c.is_multiple_of(heads) {
        return Err(NnError::Shape(format!(
            "attention: {c3} channels are not 3 × heads × d for {heads} heads"
        )));
    }
    let (d, p) = (c / heads, h * w);
    let scale = 1.0 / (d as f32).sqrt();
    let mut out = Tensor::zeros(&[n, c, h, w]);
    // Tasks of ATTENTION_QUERIES queries of one batch entry and head: each writes its own
    // columns of `out`, and every sum runs over the same terms in the same order as for all
    // queries at once.
    let blocks = p.div_ceil(ATTENTION_QUERIES);
    let target = SharedOut(out.data.as_mut_ptr());
    flowscope_parallel::for_each(n * heads * blocks, |t| {
        let (b, head, first) =
            (t / (heads * blocks), t / blocks % heads, t % blocks * ATTENTION_QUERIES);
        let queries = ATTENTION_QUERIES.min(p - first);
        // [d, p] blocks of q, k and v for this batch entry and head.
        let block = |which: usize| &qkv.data[((b * 3 + which) * c + head * d) * p..][..d * p];
        let (q, k, v) = (block(0), block(1), block(2));
        SCRATCH.with_borrow_mut(|scores| {
            scores.clear();
            scores.resize(queries * p, 0.0);
            // scores[i, j] = Σ_ch q[ch, first + i] k[ch, j] · scale
            gemm(queries, d, p, scale, (&q[first..], 1, p), (k, p, 1), scores);
            for row in scores.chunks_mut(p) {
                let max = row.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
                row.iter_mut().for_each(|s| *s = exp(*s - max));
                let inverse = 1.0 / row.iter().sum::<f32>();
                row.iter_mut().for_each(|s| *s *= inverse);
            }
            // out[ch, first + i] = Σ_j v[ch, j] scores[i, j]
            // SAFETY: columns first..first + queries of this entry's and head's [d, p] block of
            // `out`, which no other task writes; `v` and `scores` hold d·p and queries·p values.
            unsafe {
                matrixmultiply::sgemm(
                    d,
                    p,
                    queries,
                    1.0,
                    v.as_ptr(),
                    p as isize,
                    1,
                    scores.as_ptr(),
                    1,
                    p as isize,
                    1.0,
                    target.at((b * c + head * d) * p + first),
                    p as isize,
                    1,
                )
            };
        });
    });
    Ok(out)
}

/// `c += alpha · a · b` for `a` `[m, k]` and `b` `[k, n]` given as (values, row stride, column
/// stride), `c` row-major `[m, n]`; one thread.
fn gemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: (&[f32], usize, usize),
    b: (&[f32], usize, usize),
    c: &mut [f32],
) {
    assert!(a.0.len() > (m - 1) * a.1 + (k - 1) * a.2 && b.0.len() > (k - 1) * b.1 + (n - 1) * b.2);
    assert!(c.len() >= m * n);
    // SAFETY: the asserts above bound every index the strides reach; `c` is distinct from `a`
    // and `b`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.0.as_ptr(),
            a.1 as isize,
            a.2 as isize,
            b.0.as_ptr(),
            b.1 as isize,
            b.2 as isize,
            1.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fast_exp_is_within_a_few_ulp() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let exact = f64::from(x).exp();
            worst = worst.max((f64::from(super::exp(x)) - exact).abs() / exact);
            x += 0.0137;
        }
        assert!(worst < 4e-7, "worst relative error {worst:e}");
        assert_eq!(super::exp(-1000.0), (-87.0f32).exp().max(super::exp(-87.0)));
        assert!(super::silu(-200.0).abs() < 1e-30 && (super::silu(30.0) - 30.0).abs() < 1e-5);
    }
}
