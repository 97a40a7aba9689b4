//! Viewport renderers: WebGPU (draws from the simulation's own buffer), read-back (GPU compute,
//! Canvas 2D display) and Canvas 2D (the CPU backend).

pub mod canvas2d;
pub mod readback;
pub mod webgpu;

/// How a scalar field is mapped to colours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColorScale {
    pub vmin: f32,
    pub vmax: f32,
    pub lut: &'static [u32; 256],
}

impl ColorScale {
    /// Index into the lookup table, as the WGSL renderer computes it.
    pub fn index(&self, value: f32) -> usize {
        let span = (self.vmax - self.vmin).max(1e-30);
        let t = ((value - self.vmin) / span).clamp(0.0, 1.0);
        (t * 255.0).round() as usize
    }
}
