//! WebGPU renderer: presents [`FieldRenderer`]'s picture in a WebGPU canvas, zero-copy.

use super::ColorScale;
use flowscope_cases::GpuView;
use flowscope_gpu::render::{FieldImage, FieldRenderer};
use flowscope_gpu::{wgpu, GpuContext};
use web_sys::HtmlCanvasElement;

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
    renderer: FieldRenderer,
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
        let renderer = FieldRenderer::new(ctx, format);
        Ok(Self { ctx: ctx.clone(), canvas, surface, config, renderer })
    }

    pub fn draw(&mut self, field: &GpuView<'_>, scale: &ColorScale) -> Result<(), String> {
        let (width, height) = (self.canvas.width().max(1), self.canvas.height().max(1));
        if (width, height) != (self.config.width, self.config.height) {
            self.config.width = width;
            self.config.height = height;
            self.surface.configure(&self.ctx.device, &self.config);
        }
        let frame = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(frame)
            | wgpu::CurrentSurfaceTexture::Suboptimal(frame) => frame,
            _ => return Err("no canvas texture this frame".into()),
        };
        let target = frame.texture.create_view(&Default::default());
        let image = FieldImage {
            field: field.buffer,
            nx: field.nx,
            ny: field.ny,
            vmin: scale.vmin,
            vmax: scale.vmax,
            lut: scale.lut,
        };
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        self.renderer.encode(&mut encoder, &target, &image);
        self.ctx.queue.submit([encoder.finish()]);
        self.ctx.queue.present(frame);
        Ok(())
    }
}
