//! The particle network on the GPU (`shaders/nn/particles.wgsl`): each layer a `gather` dispatch
//! (per particle and filter term, the basis-weighted sums over the neighbours) and a `combine`
//! dispatch (the weights, the self term, bias and ReLU). The graph changes every step: it is
//! uploaded into buffers that grow as needed, and the dispatches are recorded again only when
//! they do.

use super::{Basis, Graph, ParticleNet};
use crate::NnError;
use flowscope_gpu::buffers;
use flowscope_gpu::program::{encode, Op, Program};
use flowscope_gpu::{wgpu, GpuContext};

const SOURCE: &str = include_str!("../../../../shaders/nn/particles.wgsl");
const GROUP: u32 = 64;
const MAX_GROUPS: u32 = 65_535;

struct GpuLayer {
    uniform: wgpu::Buffer,
    weight: wgpu::Buffer,
    self_weight: wgpu::Buffer,
    bias: wgpu::Buffer,
    words: [u32; 12],
}

/// Buffers sized for a number of particles and pairs, and the dispatches recorded over them.
struct Recorded {
    particles: usize,
    pairs: usize,
    start: wgpu::Buffer,
    nbr: wgpu::Buffer,
    offsets: wgpu::Buffer,
    /// The input features, then each layer's output.
    activations: Vec<wgpu::Buffer>,
    ops: Vec<Op>,
}

/// A [`ParticleNet`] on one device.
pub struct GpuParticleNet {
    ctx: GpuContext,
    program: Program,
    dim: usize,
    in_features: usize,
    out_features: usize,
    layers: Vec<GpuLayer>,
    recorded: Option<Recorded>,
}

fn basis_code(basis: Basis) -> u32 {
    Basis::ALL.iter().position(|&b| b == basis).expect("every basis is in ALL") as u32
}

impl GpuParticleNet {
    pub fn new(ctx: &GpuContext, net: &ParticleNet) -> Self {
        let (device, queue) = (&ctx.device, &ctx.queue);
        let last = net.convs.len() - 1;
        let layers = net
            .convs
            .iter()
            .enumerate()
            .map(|(k, conv)| {
                let (self_weight, bias) = match &conv.linear {
                    Some((s, b)) => (s.clone(), b.clone()),
                    None => (vec![0.0], vec![0.0]),
                };
                let filters = conv.terms.pow(conv.dim as u32);
                GpuLayer {
                    uniform: buffers::uniform_from(device, queue, "particle layer", &[0u32; 12]),
                    weight: buffers::storage_from(device, queue, "particle weights", &conv.weight),
                    self_weight: buffers::storage_from(
                        device,
                        queue,
                        "particle self",
                        &self_weight,
                    ),
                    bias: buffers::storage_from(device, queue, "particle bias", &bias),
                    words: [
                        0,
                        conv.cin as u32,
                        conv.cout as u32,
                        conv.terms as u32,
                        conv.dim as u32,
                        basis_code(conv.basis),
                        u32::from(conv.antisymmetric),
                        u32::from(k < last),
                        filters as u32,
                        0,
                        0,
                        0,
                    ],
                }
            })
            .collect();
        Self {
            ctx: ctx.clone(),
            program: Program::new(device, "nn/particles.wgsl", SOURCE),
            dim: net.config.dim,
            in_features: net.config.in_features,
            out_features: net.config.out_features,
            layers,
            recorded: None,
        }
    }

    fn groups(items: usize) -> [u32; 3] {
        let groups = (items as u32).div_ceil(GROUP).max(1);
        [groups.min(MAX_GROUPS), groups.div_ceil(MAX_GROUPS), 1]
    }

    /// Buffers for `particles` and at least `pairs`, with the dispatches over them.
    fn record(&mut self, particles: usize, pairs: usize) -> Recorded {
        let device = &self.ctx.device;
        let widths: Vec<usize> = std::iter::once(self.in_features)
            .chain(self.layers.iter().map(|l| l.words[2] as usize))
            .collect();
        let activations: Vec<wgpu::Buffer> = widths
            .iter()
            .map(|w| buffers::storage_zeros(device, "particle features", particles * w))
            .collect();
        let widest = self.layers.iter().map(|l| (l.words[8] * l.words[1]) as usize).max();
        let gathered =
            buffers::storage_zeros(device, "particle sums", particles * widest.unwrap_or(1));
        let start = buffers::storage_zeros(device, "particle rows", particles + 1);
        let nbr = buffers::storage_zeros(device, "particle neighbours", pairs);
        let offsets = buffers::storage_zeros(device, "particle offsets", pairs * self.dim);
        let mut ops = Vec::new();
        for (k, layer) in self.layers.iter_mut().enumerate() {
            layer.words[0] = particles as u32;
            self.ctx.queue.write_buffer(&layer.uniform, 0, bytemuck::cast_slice(&layer.words));
            let (src, dst) = (&activations[k], &activations[k + 1]);
            let gather = [
                (0, &layer.uniform),
                (1, src),
                (2, &start),
                (3, &nbr),
                (4, &offsets),
                (5, &gathered),
            ];
            let items = particles * layer.words[8] as usize;
            ops.push(self.program.op("gather", &gather, Self::groups(items)));
            let combine = [
                (0, &layer.uniform),
                (1, src),
                (5, &gathered),
                (6, &layer.weight),
                (7, &layer.self_weight),
                (8, &layer.bias),
                (9, dst),
            ];
            let items = particles * layer.words[2] as usize;
            ops.push(self.program.op("combine", &combine, Self::groups(items)));
        }
        Recorded { particles, pairs, start, nbr, offsets, activations, ops }
    }

    /// Uploads the features (`[N, in_features]`) and the graph, and encodes the network into
    /// `encoder`; the output is in [`Self::output`] once the encoder's work has run.
    pub fn encode(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        features: &[f32],
        graph: &Graph,
    ) -> Result<(), NnError> {
        graph.check()?;
        let (n, pairs) = (graph.particles(), graph.j.len());
        if graph.dim != self.dim || features.len() != n * self.in_features {
            return Err(NnError::Shape(format!(
                "a {}D network of {} input features got {} values for {n} particles in {}D",
                self.dim,
                self.in_features,
                features.len(),
                graph.dim
            )));
        }
        let fits = self.recorded.as_ref().is_some_and(|r| r.particles == n && r.pairs >= pairs);
        if !fits {
            // Room for the pair count to grow by half before recording again.
            let capacity = (pairs + pairs / 2).max(1);
            self.recorded = Some(self.record(n, capacity));
        }
        let recorded = self.recorded.as_ref().expect("recorded above");
        let queue = &self.ctx.queue;
        queue.write_buffer(&recorded.activations[0], 0, bytemuck::cast_slice(features));
        queue.write_buffer(&recorded.start, 0, bytemuck::cast_slice(&graph.start));
        if pairs > 0 {
            queue.write_buffer(&recorded.nbr, 0, bytemuck::cast_slice(&graph.j));
            queue.write_buffer(&recorded.offsets, 0, bytemuck::cast_slice(&graph.q));
        }
        encode(encoder, &recorded.ops);
        Ok(())
    }

    /// The last layer's output, `[N, out_features]` (valid after [`Self::encode`]'s work ran).
    pub fn output(&self) -> Option<&wgpu::Buffer> {
        self.recorded.as_ref().and_then(|r| r.activations.last())
    }

    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// The network on the GPU, waiting for the result (native only: the browser must not block).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn forward_blocking(
        &mut self,
        features: &[f32],
        graph: &Graph,
    ) -> Result<Vec<f32>, NnError> {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        self.encode(&mut encoder, features, graph)?;
        self.ctx.queue.submit([encoder.finish()]);
        let output = self.output().expect("encoded above");
        let mut data: Vec<f32> = buffers::read_blocking(&self.ctx.device, &self.ctx.queue, output)
            .map_err(NnError::File)?;
        data.truncate(graph.particles() * self.out_features);
        Ok(data)
    }

    /// The same, reading back without blocking (the browser's way).
    pub async fn forward_async(
        &mut self,
        features: &[f32],
        graph: &Graph,
    ) -> Result<Vec<f32>, NnError> {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        self.encode(&mut encoder, features, graph)?;
        self.ctx.queue.submit([encoder.finish()]);
        let output = self.output().expect("encoded above");
        let mut data: Vec<f32> = buffers::read_async(&self.ctx.device, &self.ctx.queue, output)
            .await
            .map_err(NnError::File)?;
        data.truncate(graph.particles() * self.out_features);
        Ok(data)
    }
}
