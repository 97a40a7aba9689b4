//! CPU-backend renderer: colormap on the CPU, `putImageData` at grid resolution, and CSS
//! (`image-rendering: pixelated`) scales it up crisply.

use super::ColorScale;
use flowscope_core::Field2;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

/// The colour of pixels without a value.
const NO_DATA: [u8; 4] = [30, 30, 36, 255];

pub struct Canvas2dRenderer {
    canvas: HtmlCanvasElement,
    context: CanvasRenderingContext2d,
    pixels: Vec<u8>,
}

impl Canvas2dRenderer {
    pub fn new(canvas: HtmlCanvasElement) -> Result<Self, String> {
        let context = canvas
            .get_context("2d")
            .map_err(|e| format!("canvas 2D context: {e:?}"))?
            .ok_or("this canvas already has another context")?
            .dyn_into::<CanvasRenderingContext2d>()
            .map_err(|_| "not a 2D context".to_string())?;
        Ok(Self { canvas, context, pixels: Vec::new() })
    }

    pub fn draw(&mut self, field: &Field2, scale: &ColorScale) -> Result<(), String> {
        let (nx, ny) = (field.nx, field.ny);
        if self.canvas.width() != nx as u32 || self.canvas.height() != ny as u32 {
            self.canvas.set_width(nx as u32);
            self.canvas.set_height(ny as u32);
        }
        self.pixels.resize(nx * ny * 4, 0);
        // Image rows run top to bottom; field rows bottom to top.
        for j in 0..ny {
            let row = ny - 1 - j;
            for i in 0..nx {
                let value = field.at(i, j);
                // No value (NaN): where a particle view has no fluid, drawn as background.
                let rgba = if !value.is_finite() {
                    NO_DATA
                } else {
                    scale.lut[scale.index(value)].to_le_bytes()
                };
                let k = (row * nx + i) * 4;
                self.pixels[k..k + 4].copy_from_slice(&rgba);
            }
        }
        // A copy out of the module's memory: ImageData refuses a view of the threaded build's
        // shared memory.
        let array = js_sys::Uint8ClampedArray::new_with_length(self.pixels.len() as u32);
        array.copy_from(&self.pixels);
        let image = ImageData::new_with_js_u8_clamped_array_and_sh(&array, nx as u32, ny as u32)
            .map_err(|e| format!("ImageData: {e:?}"))?;
        self.context.put_image_data(&image, 0.0, 0.0).map_err(|e| format!("putImageData: {e:?}"))
    }
}
