//! The model families, built from the config stored with their weights. Each mirrors its
//! PyTorch twin in `training/flowscope_nn.py` module for module and name for name.

use crate::gpu::{GpuTensor, Recorder};
use crate::layers::{self, Activation, Conv2d, PaddingMode, Upsampling};
use crate::{NnError, Tensor, Weights};
use flowscope_gpu::GpuContext;
use serde::{Deserialize, Serialize};

fn relu() -> Activation {
    Activation::Relu
}
fn three() -> usize {
    3
}
fn four() -> usize {
    4
}
fn eight() -> usize {
    8
}
fn zeros() -> PaddingMode {
    PaddingMode::Zeros
}
fn nearest() -> Upsampling {
    Upsampling::Nearest
}

/// A model's architecture (contract: the JSON in the safetensors metadata under "config").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "lowercase", deny_unknown_fields)]
pub enum Config {
    /// Linear layers `widths[0] → widths[1] → …` with `activation` between them.
    Mlp {
        widths: Vec<usize>,
        #[serde(default = "relu")]
        activation: Activation,
    },
    /// Residual CNN for learned corrections: one residual block per dilation.
    Rescnn {
        in_channels: usize,
        out_channels: usize,
        width: usize,
        dilations: Vec<usize>,
        #[serde(default = "three")]
        kernel: usize,
        #[serde(default = "zeros")]
        padding_mode: PaddingMode,
        #[serde(default = "relu")]
        activation: Activation,
    },
    /// The diffusion models' UNet: widths `base × mults[level]`, attention at the levels listed.
    Unet {
        in_channels: usize,
        out_channels: usize,
        #[serde(default)]
        cond_channels: usize,
        base: usize,
        mults: Vec<usize>,
        #[serde(default)]
        attention: Vec<usize>,
        #[serde(default = "four")]
        heads: usize,
        #[serde(default = "eight")]
        groups: usize,
        #[serde(default = "nearest")]
        upsample: Upsampling,
        /// How every 3 × 3 convolution pads (circular for periodic boxes).
        #[serde(default = "zeros")]
        padding_mode: PaddingMode,
    },
}

struct Conv {
    weight: Tensor,
    bias: Tensor,
    settings: Conv2d,
}

impl Conv {
    fn load(
        w: &mut Weights,
        name: &str,
        cin: usize,
        cout: usize,
        k: usize,
        settings: Conv2d,
    ) -> Result<Self, NnError> {
        Ok(Self {
            weight: w.take(&format!("{name}.weight"), &[cout, cin, k, k])?,
            bias: w.take(&format!("{name}.bias"), &[cout])?,
            settings,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor, NnError> {
        layers::conv2d(x, &self.weight, Some(&self.bias), self.settings)
    }
}

struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    fn load(w: &mut Weights, name: &str, fin: usize, fout: usize) -> Result<Self, NnError> {
        Ok(Self {
            weight: w.take(&format!("{name}.weight"), &[fout, fin])?,
            bias: w.take(&format!("{name}.bias"), &[fout])?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor, NnError> {
        layers::linear(x, &self.weight, Some(&self.bias))
    }
}

struct GroupNorm {
    weight: Tensor,
    bias: Tensor,
    groups: usize,
}

impl GroupNorm {
    fn load(w: &mut Weights, name: &str, channels: usize, groups: usize) -> Result<Self, NnError> {
        if groups == 0 || !channels.is_multiple_of(groups) {
            return Err(NnError::Config(format!(
                "{name}: {channels} channels do not split into {groups} groups"
            )));
        }
        Ok(Self {
            weight: w.take(&format!("{name}.weight"), &[channels])?,
            bias: w.take(&format!("{name}.bias"), &[channels])?,
            groups,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor, NnError> {
        layers::group_norm(x, self.groups, &self.weight, &self.bias, 1e-5)
    }

    /// The norm and then SiLU, as every residual block and the output head do.
    fn forward_silu(&self, x: &Tensor) -> Result<Tensor, NnError> {
        let silu = Some(Activation::Silu);
        layers::group_norm_then(x, self.groups, &self.weight, &self.bias, 1e-5, silu)
    }
}

pub struct Mlp {
    layers: Vec<Linear>,
    activation: Activation,
}

pub struct ResCnn {
    conv_in: Conv,
    blocks: Vec<(Conv, Conv)>,
    conv_out: Conv,
    activation: Activation,
}

struct ResBlock {
    norm1: GroupNorm,
    conv1: Conv,
    time: Linear,
    norm2: GroupNorm,
    conv2: Conv,
    skip: Option<Conv>,
}

impl ResBlock {
    fn load(
        w: &mut Weights,
        name: &str,
        cin: usize,
        cout: usize,
        tdim: usize,
        groups: usize,
        three: Conv2d,
    ) -> Result<Self, NnError> {
        Ok(Self {
            norm1: GroupNorm::load(w, &format!("{name}.norm1"), cin, groups)?,
            conv1: Conv::load(w, &format!("{name}.conv1"), cin, cout, 3, three)?,
            time: Linear::load(w, &format!("{name}.time"), tdim, cout)?,
            norm2: GroupNorm::load(w, &format!("{name}.norm2"), cout, groups)?,
            conv2: Conv::load(w, &format!("{name}.conv2"), cout, cout, 3, three)?,
            skip: (cin != cout)
                .then(|| Conv::load(w, &format!("{name}.skip"), cin, cout, 1, Conv2d::same(1)))
                .transpose()?,
        })
    }

    /// `temb_act` is SiLU of the time embedding, shared by every block.
    fn forward(&self, x: &Tensor, temb_act: &Tensor) -> Result<Tensor, NnError> {
        let mut h = self.conv1.forward(&self.norm1.forward_silu(x)?)?;
        let shift = self.time.forward(temb_act)?;
        let [n, c, hh, ww] = h.dims4("resblock")?;
        if shift.shape != [n, c] {
            return Err(NnError::Shape(format!(
                "resblock: time embedding {:?} for {n} × {c}",
                shift.shape
            )));
        }
        // Broadcast over the pixels, as `[:, :, None, None]` does.
        for (plane, s) in h.data.chunks_mut(hh * ww).zip(&shift.data) {
            plane.iter_mut().for_each(|v| *v += s);
        }
        let h = self.conv2.forward(&self.norm2.forward_silu(&h)?)?;
        match &self.skip {
            Some(skip) => layers::add(&h, &skip.forward(x)?),
            None => layers::add(&h, x),
        }
    }
}

struct Attention {
    norm: GroupNorm,
    qkv: Conv,
    out: Conv,
    heads: usize,
}

impl Attention {
    fn load(
        w: &mut Weights,
        name: &str,
        channels: usize,
        heads: usize,
        groups: usize,
    ) -> Result<Self, NnError> {
        if heads == 0 || !channels.is_multiple_of(heads) {
            return Err(NnError::Config(format!(
                "{name}: {channels} channels do not split into {heads} heads"
            )));
        }
        Ok(Self {
            norm: GroupNorm::load(w, &format!("{name}.norm"), channels, groups)?,
            qkv: Conv::load(w, &format!("{name}.qkv"), channels, 3 * channels, 1, Conv2d::same(1))?,
            out: Conv::load(w, &format!("{name}.out"), channels, channels, 1, Conv2d::same(1))?,
            heads,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor, NnError> {
        let qkv = self.qkv.forward(&self.norm.forward(x)?)?;
        layers::add(x, &self.out.forward(&layers::attention(&qkv, self.heads)?)?)
    }
}

struct Level {
    res: ResBlock,
    attn: Option<Attention>,
    /// Downsampling (on the way down) or upsampling then convolution (on the way up).
    resample: Option<Conv>,
}

pub struct Unet {
    base: usize,
    time_in: Linear,
    time_out: Linear,
    init: Conv,
    downs: Vec<Level>,
    mid1: ResBlock,
    mid_attn: Attention,
    mid2: ResBlock,
    ups: Vec<Level>,
    upsample: Upsampling,
    out_norm: GroupNorm,
    out_conv: Conv,
}

pub enum Model {
    Mlp(Mlp),
    ResCnn(Box<ResCnn>),
    Unet(Box<Unet>),
}

impl Model {
    /// Reads a model file: the config from its metadata, then every tensor the config needs,
    /// each checked for its shape; tensors the config does not use are an error too.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Config, Self), NnError> {
        let mut weights = Weights::from_bytes(bytes)?;
        let text = weights.metadata("config").ok_or_else(|| {
            NnError::Config("the file has no 'config' in its metadata (export it with training/flowscope_nn.py)".into())
        })?;
        let config: Config =
            serde_json::from_str(text).map_err(|e| NnError::Config(format!("config: {e}")))?;
        let model = Self::build(&config, &mut weights)?;
        let family = match config {
            Config::Mlp { .. } => "mlp",
            Config::Rescnn { .. } => "rescnn",
            Config::Unet { .. } => "unet",
        };
        weights.finish(family)?;
        Ok((config, model))
    }

    pub fn build(config: &Config, w: &mut Weights) -> Result<Self, NnError> {
        Ok(match config {
            Config::Mlp { widths, activation } => {
                if widths.len() < 2 {
                    return Err(NnError::Config(
                        "mlp: widths needs at least input and output".into(),
                    ));
                }
                let layers = widths
                    .windows(2)
                    .enumerate()
                    .map(|(k, pair)| Linear::load(w, &format!("layers.{k}"), pair[0], pair[1]))
                    .collect::<Result<_, _>>()?;
                Model::Mlp(Mlp { layers, activation: *activation })
            }
            Config::Rescnn {
                in_channels,
                out_channels,
                width,
                dilations,
                kernel,
                padding_mode,
                activation,
            } => {
                let settings = |d: usize| Conv2d {
                    stride: [1, 1],
                    padding: [kernel / 2 * d; 2],
                    dilation: [d, d],
                    mode: *padding_mode,
                };
                let conv_in = Conv::load(w, "conv_in", *in_channels, *width, *kernel, settings(1))?;
                let blocks = dilations
                    .iter()
                    .enumerate()
                    .map(|(k, &d)| {
                        Ok((
                            Conv::load(
                                w,
                                &format!("blocks.{k}.conv1"),
                                *width,
                                *width,
                                *kernel,
                                settings(d),
                            )?,
                            Conv::load(
                                w,
                                &format!("blocks.{k}.conv2"),
                                *width,
                                *width,
                                *kernel,
                                settings(d),
                            )?,
                        ))
                    })
                    .collect::<Result<_, NnError>>()?;
                let conv_out =
                    Conv::load(w, "conv_out", *width, *out_channels, *kernel, settings(1))?;
                Model::ResCnn(Box::new(ResCnn {
                    conv_in,
                    blocks,
                    conv_out,
                    activation: *activation,
                }))
            }
            Config::Unet {
                in_channels,
                out_channels,
                cond_channels,
                base,
                mults,
                attention,
                heads,
                groups,
                upsample,
                padding_mode,
            } => {
                if mults.is_empty() {
                    return Err(NnError::Config("unet: mults needs at least one level".into()));
                }
                let three = Conv2d { mode: *padding_mode, ..Conv2d::same(3) };
                let chans: Vec<usize> = mults.iter().map(|m| base * m).collect();
                let tdim = 4 * base;
                let mut downs = Vec::new();
                let mut prev = *base;
                for (i, &c) in chans.iter().enumerate() {
                    let name = format!("downs.{i}");
                    downs.push(Level {
                        res: ResBlock::load(
                            w,
                            &format!("{name}.res"),
                            prev,
                            c,
                            tdim,
                            *groups,
                            three,
                        )?,
                        attn: attention
                            .contains(&i)
                            .then(|| {
                                Attention::load(w, &format!("{name}.attn"), c, *heads, *groups)
                            })
                            .transpose()?,
                        resample: (i + 1 < chans.len())
                            .then(|| {
                                let down = Conv2d { stride: [2, 2], ..three };
                                Conv::load(w, &format!("{name}.down"), c, c, 3, down)
                            })
                            .transpose()?,
                    });
                    prev = c;
                }
                let mut ups = Vec::new();
                for (k, i) in (0..chans.len()).rev().enumerate() {
                    let name = format!("ups.{k}");
                    let c = chans[i];
                    ups.push(Level {
                        res: ResBlock::load(
                            w,
                            &format!("{name}.res"),
                            2 * c,
                            c,
                            tdim,
                            *groups,
                            three,
                        )?,
                        attn: attention
                            .contains(&i)
                            .then(|| {
                                Attention::load(w, &format!("{name}.attn"), c, *heads, *groups)
                            })
                            .transpose()?,
                        resample: (i > 0)
                            .then(|| {
                                Conv::load(w, &format!("{name}.up.conv"), c, chans[i - 1], 3, three)
                            })
                            .transpose()?,
                    });
                }
                Model::Unet(Box::new(Unet {
                    base: *base,
                    time_in: Linear::load(w, "time_in", *base, tdim)?,
                    time_out: Linear::load(w, "time_out", tdim, tdim)?,
                    init: Conv::load(w, "init", in_channels + cond_channels, *base, 3, three)?,
                    downs,
                    mid1: ResBlock::load(w, "mid1", prev, prev, tdim, *groups, three)?,
                    mid_attn: Attention::load(w, "mid_attn", prev, *heads, *groups)?,
                    mid2: ResBlock::load(w, "mid2", prev, prev, tdim, *groups, three)?,
                    ups,
                    upsample: *upsample,
                    out_norm: GroupNorm::load(w, "out_norm", *base, *groups)?,
                    out_conv: Conv::load(w, "out_conv", *base, *out_channels, 3, three)?,
                }))
            }
        })
    }

    /// Runs the model: `x` alone for the MLP and the residual CNN; the UNet also takes the noise
    /// level or time `t` (one per batch entry) and the conditioning channels `cond`.
    pub fn forward(
        &self,
        x: &Tensor,
        t: Option<&[f32]>,
        cond: Option<&Tensor>,
    ) -> Result<Tensor, NnError> {
        match self {
            Model::Mlp(mlp) => {
                let mut h = x.clone();
                for (k, layer) in mlp.layers.iter().enumerate() {
                    h = layer.forward(&h)?;
                    if k + 1 < mlp.layers.len() {
                        h = mlp.activation.on(h);
                    }
                }
                Ok(h)
            }
            Model::ResCnn(net) => {
                let mut h = net.activation.on(net.conv_in.forward(x)?);
                for (conv1, conv2) in &net.blocks {
                    let inner = conv2.forward(&net.activation.on(conv1.forward(&h)?))?;
                    h = layers::add(&h, &inner)?;
                }
                net.conv_out.forward(&h)
            }
            Model::Unet(net) => net.forward(x, t, cond),
        }
    }
}

impl Unet {
    fn forward(
        &self,
        x: &Tensor,
        t: Option<&[f32]>,
        cond: Option<&Tensor>,
    ) -> Result<Tensor, NnError> {
        let [n, _, h, w] = x.dims4("unet")?;
        let t = t.ok_or_else(|| NnError::Shape("unet: needs the noise level t".into()))?;
        if t.len() != n {
            return Err(NnError::Shape(format!(
                "unet: {} noise levels for a batch of {n}",
                t.len()
            )));
        }
        let depth = self.downs.len() as u32 - 1;
        if h % (1 << depth) != 0 || w % (1 << depth) != 0 {
            return Err(NnError::Shape(format!(
                "unet: {h}×{w} is not divisible by 2^{depth} (its depth)"
            )));
        }
        let temb = layers::time_embedding(t, self.base);
        let temb = self.time_out.forward(&Activation::Gelu.on(self.time_in.forward(&temb)?))?;
        let temb = Activation::Silu.on(temb);
        let input = match cond {
            Some(cond) => layers::concat_channels(x, cond)?,
            None => x.clone(),
        };
        let mut h = self.init.forward(&input)?;
        let mut skips = Vec::new();
        for level in &self.downs {
            h = level.res.forward(&h, &temb)?;
            if let Some(attn) = &level.attn {
                h = attn.forward(&h)?;
            }
            skips.push(h.clone());
            if let Some(down) = &level.resample {
                h = down.forward(&h)?;
            }
        }
        h = self.mid2.forward(&self.mid_attn.forward(&self.mid1.forward(&h, &temb)?)?, &temb)?;
        for level in &self.ups {
            let skip = skips.pop().expect("one skip per level");
            h = level.res.forward(&layers::concat_channels(&h, &skip)?, &temb)?;
            if let Some(attn) = &level.attn {
                h = attn.forward(&h)?;
            }
            if let Some(up) = &level.resample {
                h = up.forward(&layers::upsample2x(&h, self.upsample)?)?;
            }
        }
        self.out_conv.forward(&self.out_norm.forward_silu(&h)?)
    }
}

impl Model {
    /// Number of weights.
    pub fn parameters(config: &Config) -> usize {
        let lin = |a: usize, b: usize| a * b + b;
        let conv = |a: usize, b: usize, k: usize| a * b * k * k + b;
        match config {
            Config::Mlp { widths, .. } => widths.windows(2).map(|p| lin(p[0], p[1])).sum(),
            Config::Rescnn { in_channels, out_channels, width, dilations, kernel, .. } => {
                conv(*in_channels, *width, *kernel)
                    + 2 * dilations.len() * conv(*width, *width, *kernel)
                    + conv(*width, *out_channels, *kernel)
            }
            Config::Unet {
                in_channels,
                out_channels,
                cond_channels,
                base,
                mults,
                attention,
                ..
            } => {
                let tdim = 4 * base;
                let res = |a: usize, b: usize| {
                    2 * a
                        + conv(a, b, 3)
                        + lin(tdim, b)
                        + 2 * b
                        + conv(b, b, 3)
                        + if a != b { conv(a, b, 1) } else { 0 }
                };
                let attn = |c: usize| 2 * c + conv(c, 3 * c, 1) + conv(c, c, 1);
                let chans: Vec<usize> = mults.iter().map(|m| base * m).collect();
                let mut total = lin(*base, tdim)
                    + lin(tdim, tdim)
                    + conv(in_channels + cond_channels, *base, 3);
                let mut prev = *base;
                for (i, &c) in chans.iter().enumerate() {
                    total += res(prev, c) + if attention.contains(&i) { attn(c) } else { 0 };
                    if i + 1 < chans.len() {
                        total += conv(c, c, 3);
                    }
                    prev = c;
                }
                total += 2 * res(prev, prev) + attn(prev);
                for i in (0..chans.len()).rev() {
                    let c = chans[i];
                    total += res(2 * c, c) + if attention.contains(&i) { attn(c) } else { 0 };
                    if i > 0 {
                        total += conv(c, chans[i - 1], 3);
                    }
                }
                total + 2 * base + conv(*base, *out_channels, 3)
            }
        }
    }
}

// The same networks recorded on the GPU: each component mirrors its `forward`.

impl Conv {
    fn record(&self, rec: &mut Recorder, x: &GpuTensor) -> Result<GpuTensor, NnError> {
        let (weight, bias) = (rec.upload(&self.weight), rec.upload(&self.bias));
        rec.conv2d(x, &weight, &bias, self.settings)
    }
}

impl Linear {
    fn record(&self, rec: &mut Recorder, x: &GpuTensor) -> Result<GpuTensor, NnError> {
        let (weight, bias) = (rec.upload(&self.weight), rec.upload(&self.bias));
        rec.linear(x, &weight, &bias)
    }
}

impl GroupNorm {
    fn record(
        &self,
        rec: &mut Recorder,
        x: &GpuTensor,
        then: Option<Activation>,
    ) -> Result<GpuTensor, NnError> {
        let (weight, bias) = (rec.upload(&self.weight), rec.upload(&self.bias));
        rec.group_norm(x, self.groups, &weight, &bias, 1e-5, then)
    }
}

impl ResBlock {
    fn record(
        &self,
        rec: &mut Recorder,
        x: &GpuTensor,
        temb_act: &GpuTensor,
    ) -> Result<GpuTensor, NnError> {
        let normed = self.norm1.record(rec, x, Some(Activation::Silu))?;
        let h = self.conv1.record(rec, &normed)?;
        let shift = self.time.record(rec, temb_act)?;
        rec.add_channel(&h, &shift)?;
        let normed = self.norm2.record(rec, &h, Some(Activation::Silu))?;
        let h = self.conv2.record(rec, &normed)?;
        match &self.skip {
            Some(skip) => {
                let skipped = skip.record(rec, x)?;
                rec.add(&h, &skipped)
            }
            None => rec.add(&h, x),
        }
    }
}

impl Attention {
    fn record(&self, rec: &mut Recorder, x: &GpuTensor) -> Result<GpuTensor, NnError> {
        let normed = self.norm.record(rec, x, None)?;
        let qkv = self.qkv.record(rec, &normed)?;
        let y = rec.attention(&qkv, self.heads)?;
        let out = self.out.record(rec, &y)?;
        rec.add(x, &out)
    }
}

impl Model {
    /// Records the network on the GPU for inputs of the recorded shapes (see [`GpuModel`]).
    fn record(
        &self,
        rec: &mut Recorder,
        x: &GpuTensor,
        t: Option<&GpuTensor>,
        cond: Option<&GpuTensor>,
    ) -> Result<GpuTensor, NnError> {
        match self {
            Model::Mlp(mlp) => {
                let mut h = x.clone();
                for (k, layer) in mlp.layers.iter().enumerate() {
                    h = layer.record(rec, &h)?;
                    if k + 1 < mlp.layers.len() {
                        rec.activation(&h, mlp.activation);
                    }
                }
                Ok(h)
            }
            Model::ResCnn(net) => {
                let mut h = net.conv_in.record(rec, x)?;
                rec.activation(&h, net.activation);
                for (conv1, conv2) in &net.blocks {
                    let inner = conv1.record(rec, &h)?;
                    rec.activation(&inner, net.activation);
                    let inner = conv2.record(rec, &inner)?;
                    h = rec.add(&h, &inner)?;
                }
                net.conv_out.record(rec, &h)
            }
            Model::Unet(net) => {
                let t = t.ok_or_else(|| NnError::Shape("unet: needs the noise level t".into()))?;
                let temb = rec.time_embedding(t, net.base);
                let temb = net.time_in.record(rec, &temb)?;
                rec.activation(&temb, Activation::Gelu);
                let temb = net.time_out.record(rec, &temb)?;
                rec.activation(&temb, Activation::Silu);
                let input = match cond {
                    Some(cond) => rec.concat(x, cond)?,
                    None => x.clone(),
                };
                let mut h = net.init.record(rec, &input)?;
                let mut skips = Vec::new();
                for level in &net.downs {
                    h = level.res.record(rec, &h, &temb)?;
                    if let Some(attn) = &level.attn {
                        h = attn.record(rec, &h)?;
                    }
                    skips.push(h.clone());
                    if let Some(down) = &level.resample {
                        h = down.record(rec, &h)?;
                    }
                }
                h = net.mid1.record(rec, &h, &temb)?;
                h = net.mid_attn.record(rec, &h)?;
                h = net.mid2.record(rec, &h, &temb)?;
                for level in &net.ups {
                    let skip = skips.pop().expect("one skip per level");
                    let joined = rec.concat(&h, &skip)?;
                    h = level.res.record(rec, &joined, &temb)?;
                    if let Some(attn) = &level.attn {
                        h = attn.record(rec, &h)?;
                    }
                    if let Some(up) = &level.resample {
                        let upsampled = rec.upsample2x(&h, net.upsample)?;
                        h = up.record(rec, &upsampled)?;
                    }
                }
                let normed = net.out_norm.record(rec, &h, Some(Activation::Silu))?;
                net.out_conv.record(rec, &normed)
            }
        }
    }
}

/// A model recorded on the GPU for fixed input shapes: write inputs, run, read or pass on the
/// output buffer.
pub struct GpuModel {
    rec: Recorder,
    x: GpuTensor,
    t: Option<GpuTensor>,
    cond: Option<GpuTensor>,
    out: GpuTensor,
}

impl GpuModel {
    /// Uploads `model`'s weights and records it for inputs `x_shape` (and, for the UNet, one
    /// noise level per batch entry and conditioning of `cond_shape`).
    pub fn new(
        ctx: &GpuContext,
        model: &Model,
        x_shape: &[usize],
        cond_shape: Option<&[usize]>,
    ) -> Result<Self, NnError> {
        let mut rec = Recorder::new(ctx);
        let x = rec.empty(x_shape);
        let t = matches!(model, Model::Unet(_)).then(|| rec.empty(&x_shape[..1]));
        let cond = cond_shape.map(|shape| rec.empty(shape));
        let out = model.record(&mut rec, &x, t.as_ref(), cond.as_ref())?;
        Ok(Self { rec, x, t, cond, out })
    }

    /// The recorded input `x` (a sampler writes the sample there) and the output.
    pub fn input(&self) -> &GpuTensor {
        &self.x
    }

    pub fn output(&self) -> &GpuTensor {
        &self.out
    }

    pub fn recorder(&self) -> &Recorder {
        &self.rec
    }

    /// The recorded conditioning input, for models recorded with one.
    pub fn condition(&self) -> Option<&GpuTensor> {
        self.cond.as_ref()
    }

    /// Writes the noise levels alone (the UNet's `t`, one per batch entry).
    pub fn set_noise_levels(&self, t: &[f32]) -> Result<(), NnError> {
        match &self.t {
            Some(buffer) => self.rec.write(buffer, &Tensor::new(vec![t.len()], t.to_vec())?),
            None => Err(NnError::Shape("only the UNet takes a noise level".into())),
        }
    }

    /// Writes the noise levels and the conditioning (as `run` does) without touching `x`.
    pub fn set_conditions(&self, t: Option<&[f32]>, cond: Option<&Tensor>) -> Result<(), NnError> {
        match (&self.t, t) {
            (Some(_), Some(t)) => self.set_noise_levels(t)?,
            (Some(_), None) => return Err(NnError::Shape("unet: needs the noise level t".into())),
            _ => {}
        }
        match (&self.cond, cond) {
            (Some(buffer), Some(cond)) => self.rec.write(buffer, cond),
            (Some(_), None) => {
                Err(NnError::Shape("the model was recorded with conditioning; pass it".into()))
            }
            (None, Some(_)) => {
                Err(NnError::Shape("the model was recorded without conditioning".into()))
            }
            (None, None) => Ok(()),
        }
    }

    /// Runs on new inputs; the output stays on the GPU.
    pub fn run(
        &self,
        x: &Tensor,
        t: Option<&[f32]>,
        cond: Option<&Tensor>,
    ) -> Result<&GpuTensor, NnError> {
        self.rec.write(&self.x, x)?;
        self.set_conditions(t, cond)?;
        self.rec.run();
        Ok(&self.out)
    }

    /// Runs and reads the output back without blocking (the browser's way).
    pub async fn forward(
        &self,
        x: &Tensor,
        t: Option<&[f32]>,
        cond: Option<&Tensor>,
    ) -> Result<Tensor, NnError> {
        let out = self.run(x, t, cond)?.clone();
        self.rec.download_async(&out).await
    }

    /// Runs and reads the output back (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn forward_blocking(
        &self,
        x: &Tensor,
        t: Option<&[f32]>,
        cond: Option<&Tensor>,
    ) -> Result<Tensor, NnError> {
        let out = self.run(x, t, cond)?.clone();
        self.rec.download(&out)
    }
}
