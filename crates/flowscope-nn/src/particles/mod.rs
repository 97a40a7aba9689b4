//! Continuous convolutions over particle neighbourhoods: the layers of the learned particle
//! solvers, SFBC's separable basis convolutions and DMCF's momentum-conserving form.
//!
//! A layer maps per-particle features `f` `[N, C_in]` to `[N, C_out]` over a neighbour graph:
//! out_i = Σ_j f_j · g(q_ij) + f_i S + b, with q_ij = (x_j − x_i) / radius over the neighbours j
//! of i within the radius (i itself included) and g(q) = Σ_uv W_uv b_u(q_x) b_v(q_y), a separable
//! sum of 1D bases ([`Basis`]) with weights `[terms^dim, C_in, C_out]`. The antisymmetric form
//! (DMCF) is out_i = Σ_j (f_i + f_j) · (g(q_ij) − g(−q_ij)): each pair adds opposite amounts to
//! its two particles, so the outputs sum to zero — a network whose last layer is antisymmetric
//! changes the total momentum by round-off only.
//!
//! [`gpu`] runs the same network in WGSL (`shaders/nn/particles.wgsl`).
//!
//! This room never searches for neighbours: the caller (a case, with the SPH room's cell lists)
//! hands in the [`Graph`]. The PyTorch twin is `ParticleNet` in `training/flowscope_nn.py`, with
//! the same parameter names.

pub mod gpu;

use crate::{NnError, Weights};
use serde::{Deserialize, Serialize};

/// The 1D basis functions a filter is built from, on normalised offsets q ∈ [−1, 1].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// 1/√(2π), cos(πq)/√π, sin(πq)/√π, cos(2πq)/√π, sin(2πq)/√π, … (SFBC's Fourier basis).
    Fourier,
    /// The constant and the cosines only (even functions).
    FourierEven,
    /// The sines only (odd functions).
    FourierOdd,
    /// Hat functions on `terms` nodes over [−1, 1] (CConv's piecewise-linear filter).
    Linear,
    /// Chebyshev polynomials T_0 … T_{terms−1}.
    Chebyshev,
}

impl Basis {
    pub const ALL: [Basis; 5] =
        [Basis::Fourier, Basis::FourierEven, Basis::FourierOdd, Basis::Linear, Basis::Chebyshev];

    /// The `out.len()` first functions of the basis at `q`.
    pub fn eval(self, q: f32, out: &mut [f32]) {
        use std::f32::consts::PI;
        let terms = out.len();
        match self {
            Basis::Fourier | Basis::FourierEven | Basis::FourierOdd => {
                let norm = 1.0 / PI.sqrt();
                let mut k = 0;
                if self != Basis::FourierOdd && k < terms {
                    out[k] = 1.0 / (2.0 * PI).sqrt();
                    k += 1;
                }
                let mut m = 1.0f32;
                while k < terms {
                    let (sin, cos) = (m * PI * q).sin_cos();
                    if self != Basis::FourierOdd {
                        out[k] = cos * norm;
                        k += 1;
                    }
                    if self != Basis::FourierEven && k < terms {
                        out[k] = sin * norm;
                        k += 1;
                    }
                    m += 1.0;
                }
            }
            Basis::Linear => {
                let spacing = if terms > 1 { 2.0 / (terms - 1) as f32 } else { 2.0 };
                for (k, v) in out.iter_mut().enumerate() {
                    let node = -1.0 + k as f32 * spacing;
                    *v = (1.0 - (q - node).abs() / spacing).max(0.0);
                }
            }
            Basis::Chebyshev => {
                for k in 0..terms {
                    out[k] = match k {
                        0 => 1.0,
                        1 => q,
                        _ => 2.0 * q * out[k - 1] - out[k - 2],
                    };
                }
            }
        }
    }
}

/// Neighbour pairs grouped by particle (compressed rows): the neighbours of particle i are
/// `j[start[i]..start[i + 1]]` with normalised offsets `q[e * dim..(e + 1) * dim]`
/// (q = (x_j − x_i) / radius, |q| ≤ 1).
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub dim: usize,
    pub start: Vec<u32>,
    pub j: Vec<u32>,
    pub q: Vec<f32>,
}

impl Graph {
    pub fn new(dim: usize) -> Self {
        Self { dim, start: vec![0], j: Vec::new(), q: Vec::new() }
    }

    pub fn particles(&self) -> usize {
        self.start.len() - 1
    }

    /// Adds neighbour `j` at offset `q` to the particle being built (the last begun).
    pub fn push(&mut self, j: usize, q: &[f32]) {
        self.j.push(j as u32);
        self.q.extend_from_slice(q);
    }

    /// Closes the current particle's row and begins the next one.
    pub fn end_row(&mut self) {
        self.start.push(self.j.len() as u32);
    }

    fn check(&self) -> Result<(), NnError> {
        let (n, edges) = (self.particles(), self.j.len());
        let ok = self.start.first() == Some(&0)
            && self.start.last() == Some(&(edges as u32))
            && self.start.windows(2).all(|w| w[0] <= w[1])
            && self.q.len() == edges * self.dim
            && self.j.iter().all(|&j| (j as usize) < n);
        if ok {
            Ok(())
        } else {
            Err(NnError::Shape(format!(
                "the neighbour graph is inconsistent ({n} particles, {edges} pairs, {} offsets)",
                self.q.len()
            )))
        }
    }
}

/// One continuous convolution.
#[derive(Clone, Debug)]
pub struct ParticleConv {
    pub basis: Basis,
    pub terms: usize,
    pub dim: usize,
    pub cin: usize,
    pub cout: usize,
    /// `[terms^dim, C_in, C_out]`.
    pub weight: Vec<f32>,
    /// The self term S (`[C_out, C_in]`, PyTorch's Linear layout) and bias; None when
    /// antisymmetric.
    pub linear: Option<(Vec<f32>, Vec<f32>)>,
    pub antisymmetric: bool,
}

impl ParticleConv {
    fn filters(&self) -> usize {
        self.terms.pow(self.dim as u32)
    }

    /// The separable basis at q, `[terms^dim]` (the first axis's term slowest).
    fn filter_basis(&self, q: &[f32], scratch: &mut [f32], out: &mut [f32]) {
        let t = self.terms;
        self.basis.eval(q[0], &mut out[..t]);
        let mut len = t;
        for &qa in &q[1..] {
            self.basis.eval(qa, &mut scratch[..t]);
            for u in (0..len).rev() {
                let bu = out[u];
                for v in 0..t {
                    out[u * t + v] = bu * scratch[v];
                }
            }
            len *= t;
        }
    }

    /// The filter basis at every pair of the graph, `[pairs, terms^dim]` (antisymmetric:
    /// b(q) − b(−q)); the same for every layer of a network, so computed once a forward.
    pub fn edge_basis(&self, graph: &Graph) -> Vec<f32> {
        let (filters, dim) = (self.filters(), self.dim);
        let mut out = vec![0.0f32; graph.j.len() * filters];
        const PAIRS: usize = 1024;
        flowscope_parallel::for_each_chunk_mut(&mut out, PAIRS * filters, |block, out| {
            let mut scratch = vec![0.0f32; self.terms];
            let mut mirrored = vec![0.0f32; filters];
            let mut minus = vec![0.0f32; dim];
            for (k, b) in out.chunks_exact_mut(filters).enumerate() {
                let e = block * PAIRS + k;
                let q = &graph.q[e * dim..(e + 1) * dim];
                self.filter_basis(q, &mut scratch, b);
                if self.antisymmetric {
                    minus.iter_mut().zip(q).for_each(|(m, q)| *m = -q);
                    self.filter_basis(&minus, &mut scratch, &mut mirrored);
                    b.iter_mut().zip(&mirrored).for_each(|(b, m)| *b -= m);
                }
            }
        });
        out
    }

    /// `f` `[N, C_in]` → `[N, C_out]`.
    pub fn forward(&self, f: &[f32], graph: &Graph) -> Result<Vec<f32>, NnError> {
        graph.check()?;
        self.forward_with(f, graph, &self.edge_basis(graph))
    }

    /// [`ParticleConv::forward`] with the graph's [`ParticleConv::edge_basis`] given.
    fn forward_with(&self, f: &[f32], graph: &Graph, basis: &[f32]) -> Result<Vec<f32>, NnError> {
        let n = graph.particles();
        if graph.dim != self.dim || f.len() != n * self.cin {
            return Err(NnError::Shape(format!(
                "a {}D convolution of {} input features got {} values for {n} particles in {}D",
                self.dim,
                self.cin,
                f.len(),
                graph.dim
            )));
        }
        if self.cout < self.cin {
            return Ok(self.forward_transformed(f, graph, basis));
        }
        let (filters, cin, cout) = (self.filters(), self.cin, self.cout);
        let width = filters * cin;
        let mut out = vec![0.0f32; n * cout];
        // Rows in blocks: each block gathers its [rows, filters · C_in] sums, then one product.
        const ROWS: usize = 64;
        flowscope_parallel::for_each_chunk_mut(&mut out, ROWS * cout, |block, out| {
            let first = block * ROWS;
            let rows = out.len() / cout;
            let mut gathered = vec![0.0f32; rows * width];
            let mut message = vec![0.0f32; cin];
            for r in 0..rows {
                let i = first + r;
                let row = &mut gathered[r * width..(r + 1) * width];
                for e in graph.start[i] as usize..graph.start[i + 1] as usize {
                    let j = graph.j[e] as usize;
                    let b = &basis[e * filters..(e + 1) * filters];
                    let message = if self.antisymmetric {
                        for c in 0..cin {
                            message[c] = f[i * cin + c] + f[j * cin + c];
                        }
                        &message[..]
                    } else {
                        &f[j * cin..(j + 1) * cin]
                    };
                    for (slot, &bt) in row.chunks_exact_mut(cin).zip(b) {
                        slot.iter_mut().zip(message).for_each(|(s, m)| *s += bt * m);
                    }
                }
            }
            gemm_add(rows, width, cout, &gathered, &self.weight, out);
            self.add_self_term(f, first, out);
        });
        Ok(out)
    }

    /// The same sums in the other order, cheaper when C_out < C_in (a network's last layer):
    /// each particle's features through every filter term first, g_j = f_j W_t `[N, terms^dim,
    /// C_out]`, then out_i = Σ_j Σ_t b_t(q_ij) g_j,t (antisymmetric: g_i,t + g_j,t).
    fn forward_transformed(&self, f: &[f32], graph: &Graph, basis: &[f32]) -> Vec<f32> {
        let (filters, cin, cout, n) = (self.filters(), self.cin, self.cout, graph.particles());
        let width = filters * cout;
        // The weight as [C_in, terms^dim · C_out], so that one product makes every g_j.
        let mut by_input = vec![0.0f32; cin * width];
        for t in 0..filters {
            for c in 0..cin {
                let from = &self.weight[(t * cin + c) * cout..][..cout];
                by_input[c * width + t * cout..][..cout].copy_from_slice(from);
            }
        }
        const ROWS: usize = 64;
        let mut g = vec![0.0f32; n * width];
        flowscope_parallel::for_each_chunk_mut(&mut g, ROWS * width, |block, g| {
            let rows = g.len() / width;
            let x = &f[block * ROWS * cin..][..rows * cin];
            gemm_add(rows, cin, width, x, &by_input, g);
        });
        let mut out = vec![0.0f32; n * cout];
        flowscope_parallel::for_each_chunk_mut(&mut out, ROWS * cout, |block, out| {
            let first = block * ROWS;
            for (r, y) in out.chunks_exact_mut(cout).enumerate() {
                let i = first + r;
                for e in graph.start[i] as usize..graph.start[i + 1] as usize {
                    let j = graph.j[e] as usize;
                    let b = &basis[e * filters..(e + 1) * filters];
                    let gj = g[j * width..(j + 1) * width].chunks_exact(cout);
                    for (gj, &bt) in gj.zip(b) {
                        y.iter_mut().zip(gj).for_each(|(y, g)| *y += bt * g);
                    }
                    if self.antisymmetric {
                        let gi = g[i * width..(i + 1) * width].chunks_exact(cout);
                        for (gi, &bt) in gi.zip(b) {
                            y.iter_mut().zip(gi).for_each(|(y, g)| *y += bt * g);
                        }
                    }
                }
            }
            self.add_self_term(f, first, out);
        });
        out
    }

    /// Adds the self term f_i S + b to the rows `out` of the particles from `first` on.
    fn add_self_term(&self, f: &[f32], first: usize, out: &mut [f32]) {
        let Some((s, bias)) = &self.linear else { return };
        let (cin, cout) = (self.cin, self.cout);
        for (r, y) in out.chunks_exact_mut(cout).enumerate() {
            let x = &f[(first + r) * cin..(first + r + 1) * cin];
            for (o, y) in y.iter_mut().enumerate() {
                let w = &s[o * cin..(o + 1) * cin];
                *y += bias[o] + w.iter().zip(x).map(|(w, x)| w * x).sum::<f32>();
            }
        }
    }
}

/// `c += a · b`, all row-major and contiguous: `a` `[m, k]`, `b` `[k, n]`, `c` `[m, n]`.
fn gemm_add(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n, "gemm extents");
    // SAFETY: the extents were just checked, and `c` is borrowed mutably for the call.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            1.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// The network of a `sfbc` model file: its config, stored as JSON in the metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticleConfig {
    pub family: String,
    pub dim: usize,
    pub basis: Basis,
    pub terms: usize,
    pub in_features: usize,
    pub widths: Vec<usize>,
    pub out_features: usize,
    /// "sfbc" (every layer as above) or "dmcf" (the last layer antisymmetric).
    #[serde(default = "sfbc")]
    pub head: String,
}

fn sfbc() -> String {
    "sfbc".into()
}

/// Continuous convolutions with ReLU between them (SFBC's network; DMCF's with the "dmcf" head).
#[derive(Clone, Debug)]
pub struct ParticleNet {
    pub config: ParticleConfig,
    pub convs: Vec<ParticleConv>,
}

impl ParticleNet {
    /// Reads a model file: the config from its metadata, then every tensor it needs, each
    /// checked for its shape; tensors the config does not use are an error too.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, NnError> {
        let mut weights = Weights::from_bytes(bytes)?;
        let text = weights
            .metadata("config")
            .ok_or_else(|| NnError::Config("the file has no 'config' in its metadata".into()))?;
        let config: ParticleConfig =
            serde_json::from_str(text).map_err(|e| NnError::Config(format!("config: {e}")))?;
        let net = Self::build(config, &mut weights)?;
        weights.finish("sfbc")?;
        Ok(net)
    }

    pub fn build(config: ParticleConfig, w: &mut Weights) -> Result<Self, NnError> {
        if config.family != "sfbc" {
            return Err(NnError::Config(format!(
                "a '{}' model is not a particle network (family 'sfbc')",
                config.family
            )));
        }
        if !(1..=2).contains(&config.dim) || !(1..=16).contains(&config.terms) {
            return Err(NnError::Config(format!(
                "dim must be 1 or 2 and terms 1–16, got dim {} and terms {}",
                config.dim, config.terms
            )));
        }
        let dmcf = match config.head.as_str() {
            "sfbc" => false,
            "dmcf" => true,
            other => {
                return Err(NnError::Config(format!("head must be sfbc or dmcf, got '{other}'")))
            }
        };
        let sizes: Vec<usize> = std::iter::once(config.in_features)
            .chain(config.widths.iter().copied())
            .chain(std::iter::once(config.out_features))
            .collect();
        let filters = config.terms.pow(config.dim as u32);
        let mut convs = Vec::new();
        for (k, pair) in sizes.windows(2).enumerate() {
            let (cin, cout) = (pair[0], pair[1]);
            let antisymmetric = dmcf && k + 2 == sizes.len();
            let weight = w.take(&format!("convs.{k}.weight"), &[filters, cin, cout])?.data;
            let linear = if antisymmetric {
                None
            } else {
                Some((
                    w.take(&format!("convs.{k}.linear.weight"), &[cout, cin])?.data,
                    w.take(&format!("convs.{k}.linear.bias"), &[cout])?.data,
                ))
            };
            convs.push(ParticleConv {
                basis: config.basis,
                terms: config.terms,
                dim: config.dim,
                cin,
                cout,
                weight,
                linear,
                antisymmetric,
            });
        }
        Ok(Self { config, convs })
    }

    /// Features `[N, in_features]` → `[N, out_features]`.
    pub fn forward(&self, features: &[f32], graph: &Graph) -> Result<Vec<f32>, NnError> {
        graph.check()?;
        // The layers share basis, terms and dimension: one basis for the plain layers, one for
        // an antisymmetric head.
        let (mut plain, mut odd) = (None, None);
        let mut f = std::borrow::Cow::Borrowed(features);
        for (k, conv) in self.convs.iter().enumerate() {
            let cached = if conv.antisymmetric { &mut odd } else { &mut plain };
            let basis = cached.get_or_insert_with(|| conv.edge_basis(graph));
            let mut out = conv.forward_with(&f, graph, basis)?;
            if k + 1 < self.convs.len() {
                out.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            f = std::borrow::Cow::Owned(out);
        }
        Ok(f.into_owned())
    }

    pub fn parameters(&self) -> usize {
        self.convs
            .iter()
            .map(|c| c.weight.len() + c.linear.as_ref().map_or(0, |(s, b)| s.len() + b.len()))
            .sum()
    }
}
