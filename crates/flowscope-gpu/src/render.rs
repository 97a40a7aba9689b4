//! Draws a scalar field straight from its storage buffer through a colormap lookup table
//! (`shaders/render/field.wgsl`) into any colour target: a canvas texture on the web, an
//! offscreen texture in tests. No copy of the field leaves the GPU.

use crate::{buffers, shader, GpuContext};

const SOURCE: &str = include_str!("../../../shaders/render/field.wgsl");

/// Mirrors `FieldView` in field.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FieldView {
    nx: u32,
    ny: u32,
    vmin: f32,
    vmax: f32,
}

/// The field buffer to draw and how to colour it.
pub struct FieldImage<'a> {
    /// `nx × ny` f32, row-major `[j][i]`, `j` from the bottom of the domain.
    pub field: &'a wgpu::Buffer,
    pub nx: u32,
    pub ny: u32,
    pub vmin: f32,
    pub vmax: f32,
    /// 256 colours packed `0xAABBGGRR` (sRGB-encoded bytes).
    pub lut: &'static [u32; 256],
}

pub struct FieldRenderer {
    ctx: GpuContext,
    pipeline: wgpu::RenderPipeline,
    uniform: wgpu::Buffer,
    lut: wgpu::Buffer,
    lut_source: Option<&'static [u32; 256]>,
}

impl FieldRenderer {
    /// A renderer for targets of `format`; use a non-sRGB format, since the table already holds
    /// sRGB-encoded colours.
    pub fn new(ctx: &GpuContext, format: wgpu::TextureFormat) -> Self {
        let (device, queue) = (&ctx.device, &ctx.queue);
        let module = shader::module(device, "field.wgsl", SOURCE);
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("field view"),
            layout: None,
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                buffers: &[],
                compilation_options: Default::default(),
            },
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                targets: &[Some(format.into())],
                compilation_options: Default::default(),
            }),
            primitive: Default::default(),
            depth_stencil: None,
            multisample: Default::default(),
            multiview_mask: None,
            cache: None,
        });
        let view = FieldView { nx: 1, ny: 1, vmin: 0.0, vmax: 1.0 };
        Self {
            ctx: ctx.clone(),
            pipeline,
            uniform: buffers::uniform_from(device, queue, "field view", &view),
            lut: buffers::storage_from(device, queue, "colormap", &[0u32; 256]),
            lut_source: None,
        }
    }

    /// Encodes a pass that fills `target` with the coloured field.
    pub fn encode(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        image: &FieldImage<'_>,
    ) {
        let queue = &self.ctx.queue;
        if !self.lut_source.is_some_and(|lut| std::ptr::eq(lut, image.lut)) {
            queue.write_buffer(&self.lut, 0, bytemuck::cast_slice(image.lut));
            self.lut_source = Some(image.lut);
        }
        let view = FieldView { nx: image.nx, ny: image.ny, vmin: image.vmin, vmax: image.vmax };
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&view));
        let bind_group = self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("field view"),
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: self.uniform.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: image.field.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: self.lut.as_entire_binding() },
            ],
        });
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("field view"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                    store: wgpu::StoreOp::Store,
                },
            })],
            ..Default::default()
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}
