//! What the learned particle cases share: running a particle network one frame at a time on
//! the CPU, or on the device with one frame in flight (the next frame's neighbour graph needs
//! this one's positions), frames arriving through `poll`.

use flowscope_core::{Backend, CaseError};
use flowscope_gpu::buffers::PendingRead;
use flowscope_gpu::GpuContext;
use flowscope_nn::particles::gpu::GpuParticleNet;
use flowscope_nn::particles::{Graph, ParticleNet};

/// A learned particle system: its network's inputs at the current state, and the state a
/// frame later from the network's outputs.
pub trait Rollout {
    fn net(&self) -> &ParticleNet;
    /// The neighbour graph and the features `[N, C_in]` of the current state.
    fn inputs(&self) -> (Graph, Vec<f32>);
    /// Takes in the network's outputs `[N, C_out]` for the current state.
    fn arrive(&mut self, out: &[f32]) -> Result<(), CaseError>;
}

struct GpuPath {
    ctx: GpuContext,
    net: GpuParticleNet,
    pending: Option<PendingRead>,
    /// Frames asked for and not submitted yet.
    requested: u64,
}

/// Where the network runs.
pub struct Runner {
    gpu: Option<GpuPath>,
}

impl Runner {
    /// On the CPU, or with `gpu` on that device.
    pub fn new(gpu: Option<&GpuContext>, net: &ParticleNet) -> Self {
        let gpu = gpu.map(|ctx| GpuPath {
            ctx: ctx.clone(),
            net: GpuParticleNet::new(ctx, net),
            pending: None,
            requested: 0,
        });
        Self { gpu }
    }

    pub fn backend(&self) -> Backend {
        if self.gpu.is_some() {
            Backend::Gpu
        } else {
            Backend::Cpu
        }
    }

    /// `n` frames. On the device they arrive through `poll` (natively, before this returns).
    pub fn step(&mut self, system: &mut impl Rollout, n: u32) -> Result<(), CaseError> {
        if let Some(gpu) = &mut self.gpu {
            gpu.requested += u64::from(n);
            self.submit(system)?;
            #[cfg(not(target_arch = "wasm32"))]
            while self.poll(system)? {
                let ctx = &self.gpu.as_ref().expect("on the device").ctx;
                flowscope_gpu::buffers::wait_idle(&ctx.device).map_err(CaseError::Gpu)?;
            }
            return Ok(());
        }
        for _ in 0..n {
            let (graph, features) = system.inputs();
            let out = system
                .net()
                .forward(&features, &graph)
                .map_err(|e| CaseError::Model(e.to_string()))?;
            system.arrive(&out)?;
        }
        Ok(())
    }

    /// One frame; on the device a new one only once the last has arrived.
    pub fn step_slice(&mut self, system: &mut impl Rollout) -> Result<(), CaseError> {
        match &mut self.gpu {
            Some(gpu) if gpu.pending.is_none() && gpu.requested == 0 => {
                gpu.requested = 1;
                self.submit(system)
            }
            Some(_) => Ok(()),
            None => self.step(system, 1),
        }
    }

    /// On the device: submits the next requested frame when none is in flight.
    fn submit(&mut self, system: &impl Rollout) -> Result<(), CaseError> {
        let Some(gpu) = &mut self.gpu else { return Ok(()) };
        if gpu.pending.is_some() || gpu.requested == 0 {
            return Ok(());
        }
        let (graph, features) = system.inputs();
        let mut encoder = gpu.ctx.device.create_command_encoder(&Default::default());
        gpu.net
            .encode(&mut encoder, &features, &graph)
            .map_err(|e| CaseError::Gpu(e.to_string()))?;
        gpu.ctx.queue.submit([encoder.finish()]);
        let output = gpu.net.output().ok_or(CaseError::Gpu("nothing recorded".into()))?;
        let len = graph.particles() * gpu.net.out_features();
        gpu.pending = Some(PendingRead::start(&gpu.ctx.device, &gpu.ctx.queue, output, len));
        gpu.requested -= 1;
        Ok(())
    }

    /// On the device: takes in the frame read back, if it has arrived, and submits the next;
    /// true while frames are in flight or asked for.
    pub fn poll(&mut self, system: &mut impl Rollout) -> Result<bool, CaseError> {
        let Some(gpu) = &mut self.gpu else { return Ok(false) };
        // Natively, map callbacks run when the device is polled (the browser runs them itself).
        #[cfg(not(target_arch = "wasm32"))]
        let _ = gpu.ctx.device.poll(flowscope_gpu::wgpu::PollType::Poll);
        if let Some(read) = &gpu.pending {
            let Some(values) = read.try_take() else { return Ok(true) };
            gpu.pending = None;
            let out = values.map_err(CaseError::Gpu)?;
            if let Err(error) = system.arrive(&out) {
                gpu.requested = 0;
                return Err(error);
            }
        }
        self.submit(system)?;
        Ok(self.gpu.as_ref().is_some_and(|g| g.pending.is_some() || g.requested > 0))
    }
}
