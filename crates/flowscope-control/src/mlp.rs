//! The controllers' network: dense layers with tanh between them and a linear output (the
//! reference's Keras `Dense` stack), all parameters in one flat vector so that gradients,
//! their combination and Adam are plain vector loops.
//!
//! Layer k's weight is `[out, in]` row-major, then its bias: PyTorch's `nn.Linear` layout, and the
//! `flowscope-nn` MLP file's (`layers.k.weight`, `layers.k.bias`).

use rand::Rng;
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    /// Inputs, hidden widths…, outputs.
    pub widths: Vec<usize>,
    pub params: Vec<f64>,
}

/// Where layer k's weight and bias start in the flat parameters, and its sizes.
#[derive(Clone, Copy)]
struct Layer {
    weight: usize,
    bias: usize,
    inputs: usize,
    outputs: usize,
}

fn layers(widths: &[usize]) -> impl Iterator<Item = Layer> + '_ {
    widths.windows(2).scan(0, |offset, pair| {
        let layer = Layer {
            weight: *offset,
            bias: *offset + pair[0] * pair[1],
            inputs: pair[0],
            outputs: pair[1],
        };
        *offset = layer.bias + pair[1];
        Some(layer)
    })
}

/// Σ a_k b_k with four running sums, which the compiler turns into SIMD.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    let mut acc = [0.0; 4];
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail
}

/// `y += a x`.
pub(crate) fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// The file with its JSON header's keys in sorted order: safetensors writes the metadata from a
/// hash map, and the same controller must give the same bytes (and sha256).
pub(crate) fn with_sorted_header(bytes: &[u8]) -> Vec<u8> {
    use std::collections::BTreeMap;
    let length = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let mut header: BTreeMap<String, Value> =
        serde_json::from_slice(&bytes[8..8 + length]).expect("safetensors wrote JSON");
    if let Some(Value::Object(metadata)) = header.get("__metadata__") {
        let sorted: BTreeMap<String, Value> = metadata.clone().into_iter().collect();
        header.insert("__metadata__".into(), serde_json::to_value(sorted).expect("JSON"));
    }
    let mut text = serde_json::to_string(&header).expect("JSON");
    // The header is as long as before: the same keys and values, padded to 8 bytes again.
    while text.len() < length {
        text.push(' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&bytes[8 + length..]);
    out
}

impl Mlp {
    /// Glorot-uniform weights and zero biases (Keras' `Dense` defaults, as the reference).
    pub fn new(widths: &[usize], rng: &mut impl Rng) -> Self {
        assert!(widths.len() >= 2 && widths.iter().all(|&w| w > 0), "an MLP needs layers");
        let mut params = vec![0.0; Self::parameters(widths)];
        for layer in layers(widths) {
            let limit = (6.0 / (layer.inputs + layer.outputs) as f64).sqrt();
            for w in &mut params[layer.weight..layer.bias] {
                *w = rng.random_range(-limit..limit);
            }
        }
        Self { widths: widths.to_vec(), params }
    }

    pub fn parameters(widths: &[usize]) -> usize {
        widths.windows(2).map(|p| (p[0] + 1) * p[1]).sum()
    }

    pub fn inputs(&self) -> usize {
        self.widths[0]
    }

    pub fn outputs(&self) -> usize {
        self.widths[self.widths.len() - 1]
    }

    /// Numbers a [`Self::forward_tape`] records: every layer's activations, input and output
    /// included.
    pub fn tape_len(&self) -> usize {
        self.widths.iter().sum()
    }

    /// Runs the network on `input`, recording the activations in `tape` (of [`Self::tape_len`]);
    /// the output is the tape's last [`Self::outputs`] numbers.
    pub fn forward_tape(&self, input: &[f64], tape: &mut [f64]) {
        tape[..self.inputs()].copy_from_slice(input);
        let last = self.widths.len() - 2;
        let mut start = 0;
        for (k, layer) in layers(&self.widths).enumerate() {
            let (done, rest) = tape.split_at_mut(start + layer.inputs);
            let x = &done[start..];
            for (o, y) in rest[..layer.outputs].iter_mut().enumerate() {
                let row = &self.params[layer.weight + o * layer.inputs..][..layer.inputs];
                let z = self.params[layer.bias + o] + dot(row, x);
                *y = if k == last { z } else { z.tanh() };
            }
            start += layer.inputs;
        }
    }

    /// The network's output for `input`.
    pub fn forward(&self, input: &[f64]) -> Vec<f64> {
        let mut tape = vec![0.0; self.tape_len()];
        self.forward_tape(input, &mut tape);
        tape.split_off(tape.len() - self.outputs())
    }

    /// Adds the parameter gradient of `output_adjoint · output` at the recorded `tape` to `grad`
    /// and, when asked, writes the input's adjoint.
    pub fn backward(
        &self,
        tape: &[f64],
        output_adjoint: &[f64],
        grad: &mut [f64],
        input_adjoint: Option<&mut [f64]>,
    ) {
        let all: Vec<Layer> = layers(&self.widths).collect();
        let mut delta = output_adjoint.to_vec();
        let mut end = tape.len() - self.outputs();
        for (k, layer) in all.iter().enumerate().rev() {
            let x = &tape[end - layer.inputs..end];
            for (o, &d) in delta.iter().enumerate() {
                axpy(d, x, &mut grad[layer.weight + o * layer.inputs..][..layer.inputs]);
                grad[layer.bias + o] += d;
            }
            if k == 0 && input_adjoint.is_none() {
                break;
            }
            let mut below = vec![0.0; layer.inputs];
            for (o, &d) in delta.iter().enumerate() {
                axpy(
                    d,
                    &self.params[layer.weight + o * layer.inputs..][..layer.inputs],
                    &mut below,
                );
            }
            if k == 0 {
                if let Some(adjoint) = input_adjoint {
                    adjoint.copy_from_slice(&below);
                }
                break;
            }
            for (b, h) in below.iter_mut().zip(x) {
                *b *= 1.0 - h * h;
            }
            delta = below;
            end -= layer.inputs;
        }
    }

    /// Where each layer's activations start in a tape.
    fn activation_starts(&self) -> Vec<usize> {
        self.widths
            .iter()
            .scan(0, |offset, width| {
                let start = *offset;
                *offset += width;
                Some(start)
            })
            .collect()
    }

    /// Numbers a [`Self::unit_backward`] writes per output: the adjoint of every hidden layer's
    /// pre-activation, then the input gradient.
    pub fn unit_len(&self) -> usize {
        self.widths[..self.widths.len() - 1].iter().sum()
    }

    /// For each output k, the backward pass of the unit adjoint e_k at the recorded `tape`:
    /// `out` holds, output after output, the hidden layers' adjoints δ and ∂y_k/∂x. Every
    /// adjoint of the outputs is a combination of these, so a rollout computes them once and
    /// each gradient mode only mixes them ([`Self::accumulate`]).
    pub fn unit_backward(&self, tape: &[f64], out: &mut [f64]) {
        let all: Vec<Layer> = layers(&self.widths).collect();
        let starts = self.activation_starts();
        let hidden = self.unit_len() - self.inputs();
        let last = all.len() - 1;
        for (k, unit) in out.chunks_exact_mut(self.unit_len()).enumerate() {
            // Below the linear output layer: row k of its weight.
            let top = all[last];
            let mut delta = self.params[top.weight + k * top.inputs..][..top.inputs].to_vec();
            for i in (0..last).rev() {
                // Layer i maps activation i to activation i + 1 (hidden, tanh).
                let h = &tape[starts[i + 1]..starts[i + 1] + all[i].outputs];
                for (d, h) in delta.iter_mut().zip(h) {
                    *d *= 1.0 - h * h;
                }
                let offset = starts[i + 1] - self.inputs();
                unit[offset..offset + delta.len()].copy_from_slice(&delta);
                let mut below = vec![0.0; all[i].inputs];
                for (o, &d) in delta.iter().enumerate() {
                    axpy(
                        d,
                        &self.params[all[i].weight + o * all[i].inputs..][..all[i].inputs],
                        &mut below,
                    );
                }
                delta = below;
            }
            unit[hidden..].copy_from_slice(&delta);
        }
    }

    /// Adds Σ_n of the parameter gradient of `adjoints[n] · output_n` to `grad`, for the steps
    /// whose tapes (`tapes`, [`Self::tape_len`] each) and unit adjoints (`units`,
    /// [`Self::unit_len`] × outputs each) are given: the hidden layers' sums as matrix products
    /// over the steps.
    pub fn accumulate(&self, tapes: &[f64], units: &[f64], adjoints: &[f64], grad: &mut [f64]) {
        let (t, u, ul) = (self.tape_len(), self.outputs(), self.unit_len());
        let steps = adjoints.len() / u;
        let all: Vec<Layer> = layers(&self.widths).collect();
        let starts = self.activation_starts();
        let last = all.len() - 1;
        let top = all[last];
        for n in 0..steps {
            let h = &tapes[n * t + starts[last]..][..top.inputs];
            for k in 0..u {
                let mu = adjoints[n * u + k];
                axpy(mu, h, &mut grad[top.weight + k * top.inputs..][..top.inputs]);
                grad[top.bias + k] += mu;
            }
        }
        for (i, layer) in all[..last].iter().enumerate() {
            let offset = starts[i + 1] - self.inputs();
            // Row n: Σ_k μ_{n,k} δ_{n,k} of this layer.
            let mut deltas = vec![0.0; steps * layer.outputs];
            for (n, row) in deltas.chunks_exact_mut(layer.outputs).enumerate() {
                for k in 0..u {
                    let unit = &units[(n * u + k) * ul + offset..][..layer.outputs];
                    axpy(adjoints[n * u + k], unit, row);
                }
                for (b, d) in
                    grad[layer.bias..layer.bias + layer.outputs].iter_mut().zip(row.iter())
                {
                    *b += d;
                }
            }
            let weight = &mut grad[layer.weight..layer.bias];
            // weight[o][j] += Σ_n deltas[n][o] · tape_n[starts[i] + j].
            // SAFETY: the strides describe `deltas` (steps × outputs), the activations inside
            // `tapes` (steps rows of stride t) and `weight` (outputs × inputs), all in bounds.
            unsafe {
                matrixmultiply::dgemm(
                    layer.outputs,
                    steps,
                    layer.inputs,
                    1.0,
                    deltas.as_ptr(),
                    1,
                    layer.outputs as isize,
                    tapes[starts[i]..].as_ptr(),
                    t as isize,
                    1,
                    1.0,
                    weight.as_mut_ptr(),
                    layer.inputs as isize,
                    1,
                );
            }
        }
    }

    /// The network as a `flowscope-nn` MLP file (f32, config `{"family": "mlp", "widths": …,
    /// "activation": "tanh"}`), with `extra` in its metadata.
    pub fn to_safetensors(&self, extra: &Value) -> Vec<u8> {
        let mut tensors = Vec::new();
        for (k, layer) in layers(&self.widths).enumerate() {
            let bytes = |range: std::ops::Range<usize>| -> Vec<u8> {
                self.params[range].iter().flat_map(|&v| (v as f32).to_le_bytes()).collect()
            };
            tensors.push((
                format!("layers.{k}.weight"),
                vec![layer.outputs, layer.inputs],
                bytes(layer.weight..layer.bias),
            ));
            tensors.push((
                format!("layers.{k}.bias"),
                vec![layer.outputs],
                bytes(layer.bias..layer.bias + layer.outputs),
            ));
        }
        let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
            .iter()
            .map(|(name, shape, data)| {
                let view = safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    shape.clone(),
                    data,
                )
                .expect("shape and data agree by construction");
                (name.clone(), view)
            })
            .collect();
        let config = json!({"family": "mlp", "widths": self.widths, "activation": "tanh"});
        let metadata =
            [("config".to_string(), config.to_string()), ("extra".to_string(), extra.to_string())]
                .into_iter()
                .collect();
        let bytes = safetensors::serialize(views, Some(metadata))
            .expect("serializing in memory cannot fail");
        with_sorted_header(&bytes)
    }

    /// Reads a file written by [`Self::to_safetensors`] (f32 or f64 tensors): the network and
    /// its `extra` metadata.
    pub fn from_safetensors(bytes: &[u8]) -> Result<(Self, Value), String> {
        let (file, config, extra) = open_safetensors(bytes)?;
        if config["family"] != "mlp" || config["activation"] != "tanh" {
            return Err(format!("not a tanh MLP controller (config {config})"));
        }
        let widths: Vec<usize> = serde_json::from_value(config["widths"].clone())
            .map_err(|e| format!("the config's widths: {e}"))?;
        if widths.len() < 2 || widths.contains(&0) || widths.iter().any(|&w| w > 4096) {
            return Err(format!("unusable widths {widths:?}"));
        }
        let mut params = vec![0.0; Self::parameters(&widths)];
        for (k, layer) in layers(&widths).enumerate() {
            for (name, range, shape) in [
                ("weight", layer.weight..layer.bias, vec![layer.outputs, layer.inputs]),
                ("bias", layer.bias..layer.bias + layer.outputs, vec![layer.outputs]),
            ] {
                let name = format!("layers.{k}.{name}");
                let view = file.tensor(&name).map_err(|_| format!("the file has no '{name}'"))?;
                if view.shape() != shape.as_slice() {
                    return Err(format!("'{name}' is {:?}, not {shape:?}", view.shape()));
                }
                params[range].copy_from_slice(&read_tensor(&file, &name)?);
            }
        }
        if file.len() != 2 * (widths.len() - 1) {
            return Err("the file holds tensors an MLP of its widths does not use".into());
        }
        Ok((Self { widths, params }, extra))
    }
}

/// A controller file's tensors, its `config` metadata and its `extra` metadata (null if none).
pub(crate) fn open_safetensors(
    bytes: &[u8],
) -> Result<(safetensors::SafeTensors<'_>, Value, Value), String> {
    let file = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a complete safetensors file ({e})"))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| format!("unreadable safetensors header: {e}"))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let field = |key: &str| -> Result<Value, String> {
        let text = metadata.get(key).ok_or(format!("the file has no '{key}' metadata"))?;
        serde_json::from_str(text).map_err(|e| format!("its '{key}' metadata: {e}"))
    };
    let config = field("config")?;
    Ok((file, config, field("extra").unwrap_or(Value::Null)))
}

/// Tensor `name`'s values (f32 or f64), refused if any is not finite.
pub(crate) fn read_tensor(file: &safetensors::SafeTensors, name: &str) -> Result<Vec<f64>, String> {
    let view = file.tensor(name).map_err(|_| format!("the file has no '{name}'"))?;
    let values: Vec<f64> = match view.dtype() {
        safetensors::Dtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        safetensors::Dtype::F64 => view
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("chunks of 8")))
            .collect(),
        other => return Err(format!("'{name}' is {other:?}; f32 or f64 expected")),
    };
    if values.iter().any(|v| !v.is_finite()) {
        return Err(format!("'{name}' holds NaN or infinite values"));
    }
    Ok(values)
}
