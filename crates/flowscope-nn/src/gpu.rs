//! The layers on the GPU (`shaders/nn/layers.wgsl`), on the device the solvers use. A network is
//! recorded once for fixed input shapes — its weights uploaded, its intermediate buffers made, its
//! dispatches listed ([`Recorder`]) — and then runs as often as needed without allocating,
//! its output staying on the GPU for whoever reads it next (a sampler, a solver, the renderer).

use crate::layers::{Activation, Conv2d, PaddingMode, Pool, Upsampling};
use crate::{NnError, Tensor};
use flowscope_gpu::buffers;
use flowscope_gpu::program::{encode, Op, Program};
use flowscope_gpu::{wgpu, GpuContext};

const SOURCE: &str = include_str!("../../../shaders/nn/layers.wgsl");
const GROUP: u32 = 64;
/// Output channels one invocation of the convolution computes (`CONV_CHANNELS` in the WGSL).
const CONV_CHANNELS: usize = 4;
/// Workgroups per dispatch dimension (WebGPU's limit); beyond it the kernels use y.
const MAX_GROUPS: u32 = 65_535;

/// A tensor in a GPU buffer.
#[derive(Clone, Debug)]
pub struct GpuTensor {
    pub buffer: wgpu::Buffer,
    pub shape: Vec<usize>,
}

impl GpuTensor {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn dims4(&self, what: &str) -> Result<[usize; 4], NnError> {
        <[usize; 4]>::try_from(self.shape.as_slice()).map_err(|_| {
            NnError::Shape(format!(
                "{what} expects [batch, channels, height, width], got {:?}",
                self.shape
            ))
        })
    }
}

fn activation_code(activation: Option<Activation>) -> u32 {
    match activation {
        None => 0,
        Some(Activation::Relu) => 1,
        Some(Activation::Silu) => 2,
        Some(Activation::Gelu) => 3,
        Some(Activation::Tanh) => 4,
        Some(Activation::Elu) => 5,
    }
}

/// Records layers as dispatches on one device.
pub struct Recorder {
    ctx: GpuContext,
    program: Program,
    ops: Vec<Op>,
}

impl Recorder {
    pub fn new(ctx: &GpuContext) -> Self {
        Self {
            ctx: ctx.clone(),
            program: Program::new(&ctx.device, "nn/layers.wgsl", SOURCE),
            ops: Vec::new(),
        }
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    pub fn upload(&self, tensor: &Tensor) -> GpuTensor {
        let data = if tensor.is_empty() { vec![0.0] } else { tensor.data.clone() };
        GpuTensor {
            buffer: buffers::storage_from(&self.ctx.device, &self.ctx.queue, "nn tensor", &data),
            shape: tensor.shape.clone(),
        }
    }

    pub fn empty(&self, shape: &[usize]) -> GpuTensor {
        let len = shape.iter().product::<usize>().max(1);
        GpuTensor {
            buffer: buffers::storage_zeros(&self.ctx.device, "nn activations", len),
            shape: shape.to_vec(),
        }
    }

    /// A layer's settings as a uniform: up to 16 words, zero-padded (the largest struct's size).
    fn uniform(&self, words: &[u32]) -> wgpu::Buffer {
        let mut block = [0u32; 16];
        block[..words.len()].copy_from_slice(words);
        buffers::uniform_from(&self.ctx.device, &self.ctx.queue, "nn layer", &block)
    }

    /// A dispatch over `items` invocations, spilling into y beyond WebGPU's 65 535 groups.
    fn dispatch(&mut self, entry: &'static str, bindings: &[(u32, &wgpu::Buffer)], items: usize) {
        let groups = (items as u32).div_ceil(GROUP).max(1);
        let size = [groups.min(MAX_GROUPS), groups.div_ceil(MAX_GROUPS), 1];
        let op = self.program.op(entry, bindings, size);
        self.ops.push(op);
    }

    pub fn conv2d(
        &mut self,
        x: &GpuTensor,
        weight: &GpuTensor,
        bias: &GpuTensor,
        conv: Conv2d,
    ) -> Result<GpuTensor, NnError> {
        let [n, ci, h, w] = x.dims4("conv2d")?;
        let [co, wci, kh, kw] = weight.dims4("conv2d weight")?;
        let [ho, wo] = conv.output_size([ci, h, w], [wci, kh, kw])?;
        let mode = match conv.mode {
            PaddingMode::Zeros => 0,
            PaddingMode::Replicate => 1,
            PaddingMode::Circular => 2,
        };
        let words = [
            n,
            ci,
            h,
            w,
            co,
            kh,
            kw,
            ho,
            wo,
            conv.stride[0],
            conv.stride[1],
            conv.padding[0],
            conv.padding[1],
            conv.dilation[0],
            conv.dilation[1],
        ]
        .map(|v| v as u32);
        let mut all = words.to_vec();
        all.push(mode);
        let uniform = self.uniform(&all);
        let out = self.empty(&[n, co, ho, wo]);
        self.dispatch(
            "conv2d",
            &[
                (0, &uniform),
                (1, &x.buffer),
                (2, &weight.buffer),
                (3, &bias.buffer),
                (4, &out.buffer),
            ],
            // One invocation per pixel and group of CONV_CHANNELS output channels.
            n * co.div_ceil(CONV_CHANNELS) * ho * wo,
        );
        Ok(out)
    }

    pub fn linear(
        &mut self,
        x: &GpuTensor,
        weight: &GpuTensor,
        bias: &GpuTensor,
    ) -> Result<GpuTensor, NnError> {
        let (fout, fin) = (weight.shape[0], weight.shape[1]);
        if x.shape.last() != Some(&fin) {
            return Err(NnError::Shape(format!(
                "linear: input {:?} does not end in {fin} features",
                x.shape
            )));
        }
        let rows = x.len() / fin;
        let uniform = self.uniform(&[rows as u32, fin as u32, fout as u32]);
        let mut shape = x.shape.clone();
        *shape.last_mut().expect("checked above") = fout;
        let out = self.empty(&shape);
        self.dispatch(
            "linear",
            &[
                (7, &uniform),
                (1, &x.buffer),
                (2, &weight.buffer),
                (3, &bias.buffer),
                (4, &out.buffer),
            ],
            out.len(),
        );
        Ok(out)
    }

    /// Applies `activation` to `x` in place.
    pub fn activation(&mut self, x: &GpuTensor, activation: Activation) {
        let uniform = self.uniform(&[x.len() as u32, activation_code(Some(activation))]);
        self.dispatch("activation", &[(5, &uniform), (4, &x.buffer)], x.len());
    }

    /// Group norm, then `activation` (fused) if given.
    pub fn group_norm(
        &mut self,
        x: &GpuTensor,
        groups: usize,
        weight: &GpuTensor,
        bias: &GpuTensor,
        eps: f32,
        activation: Option<Activation>,
    ) -> Result<GpuTensor, NnError> {
        let (n, c) = (x.shape[0], x.shape[1]);
        if groups == 0 || !c.is_multiple_of(groups) {
            return Err(NnError::Shape(format!(
                "group_norm: {c} channels do not split into {groups} groups"
            )));
        }
        let spatial = x.len() / (n * c);
        let uniform = self.uniform(&[
            n as u32,
            c as u32,
            groups as u32,
            spatial as u32,
            eps.to_bits(),
            activation_code(activation),
        ]);
        let stats =
            buffers::storage_zeros(&self.ctx.device, "group norm statistics", 2 * n * groups);
        let op = self.program.op(
            "group_norm_stats",
            &[(6, &uniform), (1, &x.buffer), (12, &stats)],
            [(n * groups) as u32, 1, 1],
        );
        self.ops.push(op);
        let out = self.empty(&x.shape);
        self.dispatch(
            "group_norm_apply",
            &[
                (6, &uniform),
                (1, &x.buffer),
                (2, &weight.buffer),
                (3, &bias.buffer),
                (12, &stats),
                (4, &out.buffer),
            ],
            out.len(),
        );
        Ok(out)
    }

    /// Layer norm over the last dimension: a group norm of one group over each row.
    pub fn layer_norm(
        &mut self,
        x: &GpuTensor,
        weight: &GpuTensor,
        bias: &GpuTensor,
        eps: f32,
    ) -> Result<GpuTensor, NnError> {
        let d = *x.shape.last().unwrap_or(&0);
        if weight.shape != [d] {
            return Err(NnError::Shape(format!(
                "layer_norm: weight {:?} for {d} features",
                weight.shape
            )));
        }
        let rows = GpuTensor { buffer: x.buffer.clone(), shape: vec![x.len() / d.max(1), d] };
        let mut out = self.group_norm(&rows, 1, weight, bias, eps, None)?;
        out.shape = x.shape.clone();
        Ok(out)
    }

    pub fn add(&mut self, a: &GpuTensor, b: &GpuTensor) -> Result<GpuTensor, NnError> {
        if a.shape != b.shape {
            return Err(NnError::Shape(format!("add: {:?} and {:?}", a.shape, b.shape)));
        }
        let uniform = self.uniform(&[a.len() as u32]);
        let out = self.empty(&a.shape);
        self.dispatch(
            "add",
            &[(5, &uniform), (1, &a.buffer), (11, &b.buffer), (4, &out.buffer)],
            out.len(),
        );
        Ok(out)
    }

    /// `x[n][c][…] += shift[n][c]`, in place.
    pub fn add_channel(&mut self, x: &GpuTensor, shift: &GpuTensor) -> Result<(), NnError> {
        let [n, c, h, w] = x.dims4("add_channel")?;
        if shift.shape != [n, c] {
            return Err(NnError::Shape(format!(
                "add_channel: shift {:?} for {n} × {c}",
                shift.shape
            )));
        }
        let uniform = self.uniform(&[x.len() as u32, 0, (h * w) as u32]);
        self.dispatch(
            "add_channel",
            &[(5, &uniform), (11, &shift.buffer), (4, &x.buffer)],
            x.len(),
        );
        Ok(())
    }

    pub fn concat(&mut self, a: &GpuTensor, b: &GpuTensor) -> Result<GpuTensor, NnError> {
        let [n, ca, h, w] = a.dims4("concat")?;
        let [nb, cb, hb, wb] = b.dims4("concat")?;
        if (n, h, w) != (nb, hb, wb) {
            return Err(NnError::Shape(format!(
                "concat: {:?} and {:?} differ outside the channels",
                a.shape, b.shape
            )));
        }
        let out = self.empty(&[n, ca + cb, h, w]);
        let uniform = self.uniform(&[out.len() as u32, 0, (h * w) as u32, ca as u32, cb as u32]);
        self.dispatch(
            "concat",
            &[(5, &uniform), (1, &a.buffer), (11, &b.buffer), (4, &out.buffer)],
            out.len(),
        );
        Ok(out)
    }

    pub fn upsample2x(&mut self, x: &GpuTensor, mode: Upsampling) -> Result<GpuTensor, NnError> {
        let [n, c, h, w] = x.dims4("upsample")?;
        let code = match mode {
            Upsampling::Nearest => 0,
            Upsampling::Bilinear => 1,
        };
        let uniform = self.uniform(&[(n * c) as u32, h as u32, w as u32, code, 1]);
        let out = self.empty(&[n, c, 2 * h, 2 * w]);
        self.dispatch("resample2d", &[(8, &uniform), (1, &x.buffer), (4, &out.buffer)], out.len());
        Ok(out)
    }

    pub fn pool2d(&mut self, x: &GpuTensor, k: usize, pool: Pool) -> Result<GpuTensor, NnError> {
        let [n, c, h, w] = x.dims4("pool2d")?;
        let code = match pool {
            Pool::Average => 2,
            Pool::Max => 3,
        };
        let uniform = self.uniform(&[(n * c) as u32, h as u32, w as u32, code, k as u32]);
        let out = self.empty(&[n, c, h / k, w / k]);
        self.dispatch("resample2d", &[(8, &uniform), (1, &x.buffer), (4, &out.buffer)], out.len());
        Ok(out)
    }

    /// The sinusoidal embedding of `t` (`[n]`) to `[n, dim]`.
    pub fn time_embedding(&mut self, t: &GpuTensor, dim: usize) -> GpuTensor {
        let n = t.len();
        let uniform = self.uniform(&[n as u32, dim as u32]);
        let frequencies = self.upload(&crate::layers::time_frequencies(dim));
        let out = self.empty(&[n, dim / 2 * 2]);
        let bindings = [(10, &uniform), (1, &t.buffer), (2, &frequencies.buffer), (4, &out.buffer)];
        self.dispatch("time_embedding", &bindings, out.len());
        out
    }

    /// Self-attention of stacked `qkv` (`[n, 3c, h, w]`) to `[n, c, h, w]`; head size ≤ 64.
    pub fn attention(&mut self, qkv: &GpuTensor, heads: usize) -> Result<GpuTensor, NnError> {
        let [n, c3, h, w] = qkv.dims4("attention")?;
        let c = c3 / 3;
        if !c3.is_multiple_of(3) || heads == 0 || !c.is_multiple_of(heads) || c / heads > 64 {
            return Err(NnError::Shape(format!(
                "attention: {c3} channels are not 3 × heads × d (d ≤ 64) for {heads} heads"
            )));
        }
        let uniform = self.uniform(&[n as u32, c as u32, heads as u32, (h * w) as u32]);
        let out = self.empty(&[n, c, h, w]);
        self.dispatch(
            "attention",
            &[(9, &uniform), (1, &qkv.buffer), (4, &out.buffer)],
            n * heads * h * w,
        );
        Ok(out)
    }

    /// Encodes the recorded dispatches and submits them.
    pub fn run(&self) {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        self.encode(&mut encoder);
        self.ctx.queue.submit([encoder.finish()]);
    }

    /// Encodes the recorded dispatches into `encoder`, between the caller's own work.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder) {
        encode(encoder, &self.ops);
    }

    /// Overwrites a recorded input with new values of the same shape.
    pub fn write(&self, target: &GpuTensor, values: &Tensor) -> Result<(), NnError> {
        if target.shape != values.shape {
            return Err(NnError::Shape(format!(
                "input of shape {:?} where {:?} was recorded",
                values.shape, target.shape
            )));
        }
        self.ctx.queue.write_buffer(&target.buffer, 0, bytemuck::cast_slice(&values.data));
        Ok(())
    }

    /// Reads a tensor back, waiting for the GPU (native only: the browser must not block).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn download(&self, tensor: &GpuTensor) -> Result<Tensor, NnError> {
        let data = buffers::read_blocking(&self.ctx.device, &self.ctx.queue, &tensor.buffer);
        Self::as_tensor(tensor, data)
    }

    /// Reads a tensor back once the GPU has computed it, without blocking (the browser's way).
    pub async fn download_async(&self, tensor: &GpuTensor) -> Result<Tensor, NnError> {
        let data = buffers::read_async(&self.ctx.device, &self.ctx.queue, &tensor.buffer).await;
        Self::as_tensor(tensor, data)
    }

    /// The buffer's values (it may be padded beyond the tensor) as `tensor`'s shape.
    fn as_tensor(tensor: &GpuTensor, data: Result<Vec<f32>, String>) -> Result<Tensor, NnError> {
        let mut data = data.map_err(NnError::File)?;
        data.truncate(tensor.len());
        Tensor::new(tensor.shape.clone(), data)
    }
}
