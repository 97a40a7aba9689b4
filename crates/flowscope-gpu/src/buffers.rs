//! Buffer helpers: creation from slices, and read-back through a staging buffer.

use wgpu::util::DeviceExt;

/// A storage buffer initialised from `data`, usable as copy source and destination.
pub fn storage_from<T: bytemuck::Pod>(
    device: &wgpu::Device,
    label: &str,
    data: &[T],
) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: bytemuck::cast_slice(data),
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
    })
}

/// A zero-filled storage buffer of `len` f32 values (at least one, as wgpu wants no empty
/// bindings), usable as copy source and destination.
pub fn storage_zeros(device: &wgpu::Device, label: &str, len: usize) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: 4 * len.max(1) as u64,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// A uniform buffer holding one `Pod` struct, rewritable with `queue.write_buffer`.
pub fn uniform_from<T: bytemuck::Pod>(
    device: &wgpu::Device,
    label: &str,
    value: &T,
) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: bytemuck::bytes_of(value),
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    })
}

/// Copies `source` to the CPU, waiting for the GPU. Native only: the web must never block.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_blocking<T: bytemuck::Pod>(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    source: &wgpu::Buffer,
) -> Result<Vec<T>, String> {
    let size = source.size();
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("read-back staging"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(source, 0, &staging, 0, size);
    queue.submit([encoder.finish()]);
    let (sender, receiver) = std::sync::mpsc::channel();
    staging.slice(..).map_async(wgpu::MapMode::Read, move |result| {
        let _ = sender.send(result);
    });
    device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| e.to_string())?;
    receiver
        .recv()
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("mapping the read-back buffer failed: {e}"))?;
    let data = {
        let view = staging
            .slice(..)
            .get_mapped_range()
            .map_err(|e| format!("reading the read-back buffer failed: {e}"))?;
        bytemuck::cast_slice::<u8, T>(&view).to_vec()
    };
    staging.unmap();
    Ok(data)
}

/// Waits until all submitted work is done (native benchmarks and tests).
#[cfg(not(target_arch = "wasm32"))]
pub fn wait_idle(device: &wgpu::Device) -> Result<(), String> {
    device.poll(wgpu::PollType::wait_indefinitely()).map(|_| ()).map_err(|e| e.to_string())
}
