//! The field renderer (field.wgsl) draws what the CPU colour mapping says: right cell, right
//! orientation (j = 0 at the bottom), right table entry, the background colour for NaN and infinities (no value). Runs on llvmpipe.

use flowscope_gpu::render::{FieldImage, FieldRenderer};
use flowscope_gpu::{buffers, context_for_tests, wgpu};

const NX: u32 = 8;
const NY: u32 = 4;
const SCALE: u32 = 4;

fn table() -> &'static [u32; 256] {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|k| {
            u32::from_le_bytes([k as u8, 255 - k as u8, (k * 7 % 256) as u8, 255])
        })
    })
}

#[test]
fn field_pixels_match_the_cpu_colour_mapping() {
    let Some(ctx) = context_for_tests() else { return };
    let (vmin, vmax) = (-1.0f32, 3.0f32);
    let mut field: Vec<f32> =
        (0..NX * NY).map(|k| -1.5 + 5.0 * k as f32 / (NX * NY - 1) as f32).collect();
    field[(2 * NX + 5) as usize] = f32::NAN;
    field[(NX + 1) as usize] = f32::INFINITY;
    let buffer = buffers::storage_from(&ctx.device, &ctx.queue, "field", &field);
    let (width, height) = (NX * SCALE, NY * SCALE);
    let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("target"),
        size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba8Unorm,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let row_bytes = 256u32;
    let readback = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("pixels"),
        size: (row_bytes * height) as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let mut renderer = FieldRenderer::new(&ctx, wgpu::TextureFormat::Rgba8Unorm);
    let image = FieldImage { field: &buffer, nx: NX, ny: NY, vmin, vmax, lut: table() };
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    renderer.encode(&mut encoder, &texture.create_view(&Default::default()), &image);
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &readback,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(row_bytes),
                rows_per_image: Some(height),
            },
        },
        wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
    );
    ctx.queue.submit([encoder.finish()]);
    let pixels: Vec<u8> = buffers::read_blocking(&ctx.device, &ctx.queue, &readback).unwrap();

    for py in 0..height {
        for px in 0..width {
            let (i, j) = (px / SCALE, NY - 1 - py / SCALE);
            let value = field[(j * NX + i) as usize];
            let expected = if !value.is_finite() {
                [30, 30, 36, 255]
            } else {
                let t = ((value - vmin) / (vmax - vmin)).clamp(0.0, 1.0);
                table()[(t * 255.0).round() as usize].to_le_bytes()
            };
            let k = (py * row_bytes + px * 4) as usize;
            let got = &pixels[k..k + 4];
            let close = got.iter().zip(expected).all(|(&g, e)| g.abs_diff(e) <= 1);
            assert!(
                close,
                "pixel ({px}, {py}) = cell ({i}, {j}): got {got:?}, expected {expected:?}"
            );
        }
    }
}
