//! GPU compute, CPU display: each frame copies the field into a staging buffer, maps it
//! asynchronously and draws it with the Canvas 2D renderer, one frame behind the simulation.
//! Used where drawing into a WebGPU canvas loses the device (seen in headless Chromium with
//! SwiftShader) while compute works.

use super::{canvas2d::Canvas2dRenderer, ColorScale};
use flowscope_cases::GpuView;
use flowscope_core::Field2;
use flowscope_gpu::{wgpu, GpuContext};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use web_sys::HtmlCanvasElement;

const IDLE: u8 = 0;
const IN_FLIGHT: u8 = 1;
const READY: u8 = 2;
const FAILED: u8 = 3;

pub struct ReadbackRenderer {
    ctx: GpuContext,
    canvas2d: Canvas2dRenderer,
    staging: Option<(wgpu::Buffer, u32, u32)>,
    state: Arc<AtomicU8>,
}

impl ReadbackRenderer {
    pub fn new(ctx: &GpuContext, canvas: HtmlCanvasElement) -> Result<Self, String> {
        Ok(Self {
            ctx: ctx.clone(),
            canvas2d: Canvas2dRenderer::new(canvas)?,
            staging: None,
            state: Arc::new(AtomicU8::new(IDLE)),
        })
    }

    pub fn draw(&mut self, view: &GpuView<'_>, scale: &ColorScale) -> Result<(), String> {
        match self.state.load(Ordering::Acquire) {
            IN_FLIGHT => return Ok(()),
            FAILED => return Err("reading the field back from the GPU failed".into()),
            READY => {
                let (buffer, nx, ny) = self.staging.as_ref().expect("a mapped staging buffer");
                let data = {
                    let mapped = buffer.slice(..).get_mapped_range().map_err(|e| e.to_string())?;
                    bytemuck::cast_slice::<u8, f32>(&mapped).to_vec()
                };
                buffer.unmap();
                let field = Field2 { nx: *nx as usize, ny: *ny as usize, data };
                self.state.store(IDLE, Ordering::Release);
                self.canvas2d.draw(&field, scale)?;
            }
            _ => {}
        }
        let bytes = view.nx as u64 * view.ny as u64 * 4;
        if self.staging.as_ref().is_none_or(|(_, nx, ny)| (*nx, *ny) != (view.nx, view.ny)) {
            let buffer = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("display read-back"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            self.staging = Some((buffer, view.nx, view.ny));
        }
        let (buffer, _, _) = self.staging.as_ref().expect("just created");
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(view.buffer, 0, buffer, 0, bytes);
        self.ctx.queue.submit([encoder.finish()]);
        self.state.store(IN_FLIGHT, Ordering::Release);
        let state = self.state.clone();
        buffer.slice(..).map_async(wgpu::MapMode::Read, move |result| {
            state.store(if result.is_ok() { READY } else { FAILED }, Ordering::Release);
        });
        Ok(())
    }
}
