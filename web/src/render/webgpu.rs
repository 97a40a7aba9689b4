//! WebGPU renderer: a full-screen triangle whose fragment shader reads the field buffer and the
//! colormap table (`shaders/render/field.wgsl`).

use super::ColorScale;
use flowscope_cases::GpuView;
use flowscope_gpu::{buffers, shader, wgpu, GpuContext};
use web_sys::HtmlCanvasElement;

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

#[cfg(target_arch = "wasm32")]
fn canvas_surface(
    ctx: &GpuContext,
    canvas: &HtmlCanvasElement,
) -> Result<wgpu::Surface<'static>, String> {
    ctx.instance
        .create_surface(wgpu::SurfaceTarget::Canvas(canvas.clone()))
        .map_err(|e| format!("WebGPU canvas: {e}"))
}

/// Native builds (clippy, tests) have no canvas to draw on.
#[cfg(not(target_arch = "wasm32"))]
fn canvas_surface(_: &GpuContext, _: &HtmlCanvasElement) -> Result<wgpu::Surface<'static>, String> {
    Err("a canvas surface exists only in the browser".into())
}

pub struct WebGpuRenderer {
    ctx: GpuContext,
    canvas: HtmlCanvasElement,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    pipeline: wgpu::RenderPipeline,
    uniform: wgpu::Buffer,
    lut: wgpu::Buffer,
    lut_source: Option<&'static [u32; 256]>,
}

impl WebGpuRenderer {
    pub fn new(ctx: &GpuContext, canvas: HtmlCanvasElement) -> Result<Self, String> {
        let surface = canvas_surface(ctx, &canvas)?;
        let caps = surface.get_capabilities(&ctx.adapter);
        // Colormap tables hold sRGB-encoded bytes already: draw to a non-sRGB target.
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| !f.is_srgb())
            .or_else(|| caps.formats.first().copied())
            .ok_or("the canvas offers no texture format")?;
        let config = wgpu::SurfaceConfiguration {
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            format,
            color_space: wgpu::SurfaceColorSpace::Auto,
            width: canvas.width().max(1),
            height: canvas.height().max(1),
            present_mode: wgpu::PresentMode::Fifo,
            desired_maximum_frame_latency: 2,
            alpha_mode: caps.alpha_modes.first().copied().unwrap_or(wgpu::CompositeAlphaMode::Auto),
            view_formats: vec![],
        };
        surface.configure(&ctx.device, &config);
        let module = shader::module(&ctx.device, "field.wgsl", SOURCE);
        let pipeline = ctx.device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
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
        let uniform = buffers::uniform_from(
            &ctx.device,
            "field view",
            &FieldView { nx: 1, ny: 1, vmin: 0.0, vmax: 1.0 },
        );
        let lut = buffers::storage_from(&ctx.device, "colormap", &[0u32; 256]);
        Ok(Self {
            ctx: ctx.clone(),
            canvas,
            surface,
            config,
            pipeline,
            uniform,
            lut,
            lut_source: None,
        })
    }

    pub fn draw(&mut self, field: &GpuView<'_>, scale: &ColorScale) -> Result<(), String> {
        let (width, height) = (self.canvas.width().max(1), self.canvas.height().max(1));
        if (width, height) != (self.config.width, self.config.height) {
            self.config.width = width;
            self.config.height = height;
            self.surface.configure(&self.ctx.device, &self.config);
        }
        if !self.lut_source.is_some_and(|lut| std::ptr::eq(lut, scale.lut)) {
            self.ctx.queue.write_buffer(&self.lut, 0, bytemuck::cast_slice(scale.lut));
            self.lut_source = Some(scale.lut);
        }
        let view = FieldView { nx: field.nx, ny: field.ny, vmin: scale.vmin, vmax: scale.vmax };
        self.ctx.queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&view));
        let bind_group = self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("field view"),
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: self.uniform.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: field.buffer.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: self.lut.as_entire_binding() },
            ],
        });
        let frame = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(frame)
            | wgpu::CurrentSurfaceTexture::Suboptimal(frame) => frame,
            _ => return Err("no canvas texture this frame".into()),
        };
        let target = frame.texture.create_view(&Default::default());
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("field view"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &target,
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
        self.ctx.queue.submit([encoder.finish()]);
        self.ctx.queue.present(frame);
        Ok(())
    }
}
