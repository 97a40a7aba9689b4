//! A solver's GPU work as data: the kernels of one WGSL module ([`Program`]), and sequences of
//! dispatches and buffer copies ([`Op`]) built once, with their bind groups, and encoded every
//! step without allocating anything new.

use crate::shader;
use std::collections::HashMap;

/// One unit of recorded GPU work.
#[derive(Clone, Debug)]
pub enum Op {
    Dispatch {
        pipeline: wgpu::ComputePipeline,
        group: wgpu::BindGroup,
        workgroups: [u32; 3],
    },
    /// A dispatch whose workgroup counts a kernel wrote into `args` at `offset` (three u32):
    /// how an iterative solver on the device stops without the host reading anything back.
    Indirect {
        pipeline: wgpu::ComputePipeline,
        group: wgpu::BindGroup,
        args: wgpu::Buffer,
        offset: u64,
    },
    Copy {
        from: wgpu::Buffer,
        to: wgpu::Buffer,
        bytes: u64,
    },
}

impl Op {
    /// A whole-buffer copy of `from` into `to` (which must be at least as large).
    pub fn copy(from: &wgpu::Buffer, to: &wgpu::Buffer) -> Self {
        Op::Copy { from: from.clone(), to: to.clone(), bytes: from.size() }
    }
}

/// Encodes `ops` in order; consecutive dispatches share one compute pass (wgpu orders the
/// dispatches inside a pass, each seeing the writes of the ones before).
pub fn encode(encoder: &mut wgpu::CommandEncoder, ops: &[Op]) {
    let mut k = 0;
    while k < ops.len() {
        if let Op::Copy { from, to, bytes } = &ops[k] {
            encoder.copy_buffer_to_buffer(from, 0, to, 0, *bytes);
            k += 1;
            continue;
        }
        let mut pass = encoder.begin_compute_pass(&Default::default());
        while let Some(op) = ops.get(k) {
            match op {
                Op::Dispatch { pipeline, group, workgroups } => {
                    pass.set_pipeline(pipeline);
                    pass.set_bind_group(0, group, &[]);
                    pass.dispatch_workgroups(workgroups[0], workgroups[1], workgroups[2]);
                }
                Op::Indirect { pipeline, group, args, offset } => {
                    pass.set_pipeline(pipeline);
                    pass.set_bind_group(0, group, &[]);
                    pass.dispatch_workgroups_indirect(args, *offset);
                }
                Op::Copy { .. } => break,
            }
            k += 1;
        }
    }
}

/// The compute pipelines of one WGSL module, created on first use of each entry point.
pub struct Program {
    device: wgpu::Device,
    label: &'static str,
    module: wgpu::ShaderModule,
    pipelines: HashMap<&'static str, wgpu::ComputePipeline>,
}

impl Program {
    /// Compiles `kernel` (with the shared prelude).
    pub fn new(device: &wgpu::Device, label: &'static str, kernel: &str) -> Self {
        Self {
            device: device.clone(),
            label,
            module: shader::module(device, label, kernel),
            pipelines: HashMap::new(),
        }
    }

    fn pipeline(&mut self, entry: &'static str) -> wgpu::ComputePipeline {
        let (device, module, label) = (&self.device, &self.module, self.label);
        self.pipelines
            .entry(entry)
            .or_insert_with(|| {
                shader::compute_pipeline(device, &format!("{label}::{entry}"), module, entry)
            })
            .clone()
    }

    /// A dispatch of `entry` over `workgroups`, binding each `(binding, buffer)` in group 0.
    /// The list must name exactly the bindings the entry point uses.
    pub fn op(
        &mut self,
        entry: &'static str,
        bindings: &[(u32, &wgpu::Buffer)],
        workgroups: [u32; 3],
    ) -> Op {
        let (pipeline, group) = self.bind(entry, bindings);
        Op::Dispatch { pipeline, group, workgroups }
    }

    /// A dispatch of `entry` over the workgroup counts at `offset` in `args` (a buffer with
    /// `INDIRECT` usage), binding each `(binding, buffer)` in group 0.
    pub fn op_indirect(
        &mut self,
        entry: &'static str,
        bindings: &[(u32, &wgpu::Buffer)],
        args: &wgpu::Buffer,
        offset: u64,
    ) -> Op {
        let (pipeline, group) = self.bind(entry, bindings);
        Op::Indirect { pipeline, group, args: args.clone(), offset }
    }

    fn bind(
        &mut self,
        entry: &'static str,
        bindings: &[(u32, &wgpu::Buffer)],
    ) -> (wgpu::ComputePipeline, wgpu::BindGroup) {
        let pipeline = self.pipeline(entry);
        let entries: Vec<_> = bindings
            .iter()
            .map(|(binding, buffer)| wgpu::BindGroupEntry {
                binding: *binding,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(entry),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        (pipeline, group)
    }

    /// A dispatch of `entry` over `items` invocations in workgroups of `size` (one dimension).
    pub fn op_1d(
        &mut self,
        entry: &'static str,
        bindings: &[(u32, &wgpu::Buffer)],
        items: usize,
        size: u32,
    ) -> Op {
        self.op(entry, bindings, [shader::groups(items as u32, size), 1, 1])
    }
}
