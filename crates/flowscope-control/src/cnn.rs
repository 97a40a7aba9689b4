//! The quantum problem's controller: the reference's small CNN over the wave function —
//! a convolution over 3 grid points × (Re, Im) with stride 2, a second one over 3 positions
//! with stride 2, both tanh with `width` channels, then a linear output — with its backward
//! pass, in the same shape as [`crate::Mlp`]'s (tape, unit adjoints, accumulation), so that
//! [`crate::bptt`] trains either.
//!
//! Parameters, flat, in this order: `conv0.weight [width, 3, 2]` (output channel, position,
//! Re/Im), `conv0.bias`, `conv1.weight [width, 3, width]` (output, position, input channel),
//! `conv1.bias`, `dense.weight [outputs, positions × width]` (position-major, as Keras flattens),
//! `dense.bias`. Position-major kernels make every receptive field one contiguous slice of the
//! activations below it.

use crate::mlp::{axpy, dot, with_sorted_header};
use rand::Rng;
use serde_json::{json, Value};

const KERNEL: usize = 3;
const STRIDE: usize = 2;

#[derive(Clone, Debug, PartialEq)]
pub struct Cnn {
    /// Grid points of the input (each a Re, Im pair).
    pub points: usize,
    /// Channels of both convolutions.
    pub width: usize,
    pub outputs: usize,
    pub params: Vec<f64>,
}

/// Positions a valid convolution with stride 2 leaves of `n`.
fn positions(n: usize) -> usize {
    if n < KERNEL {
        0
    } else {
        (n - KERNEL) / STRIDE + 1
    }
}

/// Offsets of the parameter blocks and the layer sizes.
struct Layout {
    p0: usize,
    p1: usize,
    w0: usize,
    b0: usize,
    w1: usize,
    b1: usize,
    w2: usize,
    b2: usize,
    end: usize,
}

impl Cnn {
    fn layout(&self) -> Layout {
        Self::layout_of(self.points, self.width, self.outputs)
    }

    fn layout_of(points: usize, width: usize, outputs: usize) -> Layout {
        let (p0, w) = (positions(points), width);
        let p1 = positions(p0);
        let w0 = 0;
        let b0 = w0 + w * KERNEL * 2;
        let w1 = b0 + w;
        let b1 = w1 + w * KERNEL * w;
        let w2 = b1 + w;
        let b2 = w2 + outputs * p1 * w;
        Layout { p0, p1, w0, b0, w1, b1, w2, b2, end: b2 + outputs }
    }

    fn zeros(points: usize, width: usize, outputs: usize) -> Result<Self, String> {
        if positions(positions(points)) == 0 || width == 0 || outputs == 0 || width > 1024 {
            return Err(format!(
                "a CNN controller needs at least 7 points and 1–1024 channels, not {points} \
                 points and {width}"
            ));
        }
        let params = vec![0.0; Self::layout_of(points, width, outputs).end];
        Ok(Self { points, width, outputs, params })
    }

    /// Glorot-uniform kernels and zero biases (Keras' defaults, as the reference).
    pub fn new(
        points: usize,
        width: usize,
        outputs: usize,
        rng: &mut impl Rng,
    ) -> Result<Self, String> {
        let mut cnn = Self::zeros(points, width, outputs)?;
        let l = cnn.layout();
        let params = &mut cnn.params;
        // Keras: fan_in = kernel × input channels, fan_out = kernel × output channels.
        for (range, fan_in, fan_out) in [
            (l.w0..l.b0, KERNEL * 2, KERNEL * 2 * width),
            (l.w1..l.b1, KERNEL * width, KERNEL * width),
            (l.w2..l.b2, l.p1 * width, outputs),
        ] {
            let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
            params[range].iter_mut().for_each(|w| *w = rng.random_range(-limit..limit));
        }
        Ok(cnn)
    }

    pub fn inputs(&self) -> usize {
        2 * self.points
    }

    /// Input, both convolutions' activations (position-major), output.
    pub fn tape_len(&self) -> usize {
        let l = self.layout();
        self.inputs() + (l.p0 + l.p1) * self.width + self.outputs
    }

    pub fn forward_tape(&self, input: &[f64], tape: &mut [f64]) {
        let (l, w, p) = (self.layout(), self.width, &self.params);
        let n = self.inputs();
        tape[..n].copy_from_slice(input);
        let (x, rest) = tape.split_at_mut(n);
        let (h0, rest) = rest.split_at_mut(l.p0 * w);
        let (h1, out) = rest.split_at_mut(l.p1 * w);
        for (q, row) in h0.chunks_exact_mut(w).enumerate() {
            let patch = &x[STRIDE * q * 2..][..KERNEL * 2];
            for (o, h) in row.iter_mut().enumerate() {
                *h = (p[l.b0 + o] + dot(&p[l.w0 + o * KERNEL * 2..][..KERNEL * 2], patch)).tanh();
            }
        }
        for (q, row) in h1.chunks_exact_mut(w).enumerate() {
            let patch = &h0[STRIDE * q * w..][..KERNEL * w];
            for (o, h) in row.iter_mut().enumerate() {
                *h = (p[l.b1 + o] + dot(&p[l.w1 + o * KERNEL * w..][..KERNEL * w], patch)).tanh();
            }
        }
        for (k, y) in out.iter_mut().enumerate() {
            *y = p[l.b2 + k] + dot(&p[l.w2 + k * l.p1 * w..][..l.p1 * w], h1);
        }
    }

    pub fn forward(&self, input: &[f64]) -> Vec<f64> {
        let mut tape = vec![0.0; self.tape_len()];
        self.forward_tape(input, &mut tape);
        tape.split_off(tape.len() - self.outputs)
    }

    /// Per output: the adjoints of both convolutions' pre-activations, then ∂y_k/∂x.
    pub fn unit_len(&self) -> usize {
        let l = self.layout();
        (l.p0 + l.p1) * self.width + self.inputs()
    }

    /// For each output k, the backward pass of the unit adjoint e_k (see
    /// [`crate::Mlp::unit_backward`]): `out` holds δ0, δ1 and the input gradient per output.
    pub fn unit_backward(&self, tape: &[f64], out: &mut [f64]) {
        let (l, w, p) = (self.layout(), self.width, &self.params);
        let n = self.inputs();
        let h0 = &tape[n..n + l.p0 * w];
        let h1 = &tape[n + l.p0 * w..][..l.p1 * w];
        for (k, unit) in out.chunks_exact_mut(self.unit_len()).enumerate() {
            let (d0, rest) = unit.split_at_mut(l.p0 * w);
            let (d1, dx) = rest.split_at_mut(l.p1 * w);
            for ((d, &wt), h) in d1.iter_mut().zip(&p[l.w2 + k * l.p1 * w..]).zip(h1) {
                *d = wt * (1.0 - h * h);
            }
            d0.fill(0.0);
            for (q, row) in d1.chunks_exact(w).enumerate() {
                let below = &mut d0[STRIDE * q * w..][..KERNEL * w];
                for (o, &d) in row.iter().enumerate() {
                    axpy(d, &p[l.w1 + o * KERNEL * w..][..KERNEL * w], below);
                }
            }
            for (d, h) in d0.iter_mut().zip(h0) {
                *d *= 1.0 - h * h;
            }
            dx.fill(0.0);
            for (q, row) in d0.chunks_exact(w).enumerate() {
                let below = &mut dx[STRIDE * q * 2..][..KERNEL * 2];
                for (o, &d) in row.iter().enumerate() {
                    axpy(d, &p[l.w0 + o * KERNEL * 2..][..KERNEL * 2], below);
                }
            }
        }
    }

    /// Adds Σ_n of the parameter gradient of `adjoints[n] · output_n` to `grad` (see
    /// [`crate::Mlp::accumulate`]); the kernels' sums are matrix products over the steps, one
    /// per output position.
    pub fn accumulate(&self, tapes: &[f64], units: &[f64], adjoints: &[f64], grad: &mut [f64]) {
        let (l, w, u) = (self.layout(), self.width, self.outputs);
        let (t, ul, n_in) = (self.tape_len(), self.unit_len(), self.inputs());
        let steps = adjoints.len() / u;
        let h0_at = n_in;
        let h1_at = n_in + l.p0 * w;
        for n in 0..steps {
            let h1 = &tapes[n * t + h1_at..][..l.p1 * w];
            for k in 0..u {
                let mu = adjoints[n * u + k];
                axpy(mu, h1, &mut grad[l.w2 + k * l.p1 * w..][..l.p1 * w]);
                grad[l.b2 + k] += mu;
            }
        }
        // Per convolution: the mixed adjoints Σ_k μ_{n,k} δ_{n,k}, rows (step, position).
        let mixed = |offset: usize, positions: usize| -> Vec<f64> {
            let mut rows = vec![0.0; steps * positions * w];
            for (n, block) in rows.chunks_exact_mut(positions * w).enumerate() {
                for k in 0..u {
                    let unit = &units[(n * u + k) * ul + offset..][..positions * w];
                    axpy(adjoints[n * u + k], unit, block);
                }
            }
            rows
        };
        for (offset, positions, below_at, below_width, weight, bias) in
            [(l.p0 * w, l.p1, h0_at, w, l.w1, l.b1), (0, l.p0, 0, 2, l.w0, l.b0)]
        {
            let deltas = mixed(offset, positions);
            for row in deltas.chunks_exact(w) {
                grad[bias..bias + w].iter_mut().zip(row).for_each(|(b, d)| *b += d);
            }
            let span = KERNEL * below_width;
            for q in 0..positions {
                // weight[o][·] += Σ_n δ_n[q][o] · (receptive field of q in step n's tape).
                // SAFETY: `deltas` holds steps × positions rows of w, the receptive fields lie
                // inside each step's tape (row stride t), the weight block is w × span.
                unsafe {
                    matrixmultiply::dgemm(
                        w,
                        steps,
                        span,
                        1.0,
                        deltas[q * w..].as_ptr(),
                        1,
                        (positions * w) as isize,
                        tapes[below_at + STRIDE * q * below_width..].as_ptr(),
                        t as isize,
                        1,
                        1.0,
                        grad[weight..].as_mut_ptr(),
                        span as isize,
                        1,
                    );
                }
            }
        }
    }

    /// The network as a safetensors file (f32; config `{"family": "cnn-controller", "points",
    /// "width", "outputs", "activation": "tanh"}`), with `extra` in its metadata.
    pub fn to_safetensors(&self, extra: &Value) -> Vec<u8> {
        let l = self.layout();
        let w = self.width;
        let tensors = [
            ("conv0.weight", vec![w, KERNEL, 2], l.w0..l.b0),
            ("conv0.bias", vec![w], l.b0..l.w1),
            ("conv1.weight", vec![w, KERNEL, w], l.w1..l.b1),
            ("conv1.bias", vec![w], l.b1..l.w2),
            ("dense.weight", vec![self.outputs, l.p1 * w], l.w2..l.b2),
            ("dense.bias", vec![self.outputs], l.b2..l.end),
        ];
        let data: Vec<Vec<u8>> = tensors
            .iter()
            .map(|(_, _, range)| {
                self.params[range.clone()].iter().flat_map(|&v| (v as f32).to_le_bytes()).collect()
            })
            .collect();
        let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
            .iter()
            .zip(&data)
            .map(|((name, shape, _), bytes)| {
                let view = safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    shape.clone(),
                    bytes,
                )
                .expect("shape and data agree by construction");
                (name.to_string(), view)
            })
            .collect();
        let config = json!({
            "family": "cnn-controller", "points": self.points, "width": w,
            "outputs": self.outputs, "activation": "tanh",
        });
        let metadata =
            [("config".to_string(), config.to_string()), ("extra".to_string(), extra.to_string())]
                .into_iter()
                .collect();
        let bytes = safetensors::serialize(views, Some(metadata))
            .expect("serializing in memory cannot fail");
        with_sorted_header(&bytes)
    }

    /// Reads a file written by [`Self::to_safetensors`] (f32 or f64): the network and its
    /// `extra` metadata.
    pub fn from_safetensors(bytes: &[u8]) -> Result<(Self, Value), String> {
        let (file, config, extra) = crate::mlp::open_safetensors(bytes)?;
        if config["family"] != "cnn-controller" || config["activation"] != "tanh" {
            return Err(format!("not a CNN controller (config {config})"));
        }
        let number = |key: &str| -> Result<usize, String> {
            config[key]
                .as_u64()
                .map(|v| v as usize)
                .ok_or(format!("the config has no number '{key}'"))
        };
        let (points, width, outputs) = (number("points")?, number("width")?, number("outputs")?);
        if points > 4096 || outputs > 64 {
            return Err(format!("unusable sizes: {points} points, {outputs} outputs"));
        }
        let mut cnn = Self::zeros(points, width, outputs)?;
        let l = cnn.layout();
        for (name, range) in [
            ("conv0.weight", l.w0..l.b0),
            ("conv0.bias", l.b0..l.w1),
            ("conv1.weight", l.w1..l.b1),
            ("conv1.bias", l.b1..l.w2),
            ("dense.weight", l.w2..l.b2),
            ("dense.bias", l.b2..l.end),
        ] {
            let values = crate::mlp::read_tensor(&file, name)?;
            if values.len() != range.len() {
                return Err(format!(
                    "'{name}' holds {} numbers, not {}",
                    values.len(),
                    range.len()
                ));
            }
            cnn.params[range].copy_from_slice(&values);
        }
        if file.len() != 6 {
            return Err("the file holds tensors this CNN does not use".into());
        }
        Ok((cnn, extra))
    }
}
