//! Buffer helpers: creation from slices, and read-back through a staging buffer.
//!
//! Buffers are never created `mapped_at_creation`: in the browser that call throws once the
//! device is lost (which the browser reports only later, asynchronously), and wgpu turns the
//! exception into a panic. Contents go in through `queue.write_buffer`, which a lost device
//! ignores.

use std::sync::{Arc, Mutex};

/// A buffer of `usage` holding `bytes` (padded to wgpu's 4-byte copy alignment, at least 4).
fn buffer_with(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    label: &str,
    bytes: &[u8],
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    let size = bytes.len().max(1).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT as usize);
    let buffer = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size as u64,
        usage: usage | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    if bytes.len() == size {
        queue.write_buffer(&buffer, 0, bytes);
    } else if !bytes.is_empty() {
        let mut padded = bytes.to_vec();
        padded.resize(size, 0);
        queue.write_buffer(&buffer, 0, &padded);
    }
    buffer
}

/// A storage buffer initialised from `data`, usable as copy source and destination.
pub fn storage_from<T: bytemuck::Pod>(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    label: &str,
    data: &[T],
) -> wgpu::Buffer {
    buffer_with(
        device,
        queue,
        label,
        bytemuck::cast_slice(data),
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    )
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
    queue: &wgpu::Queue,
    label: &str,
    value: &T,
) -> wgpu::Buffer {
    buffer_with(device, queue, label, bytemuck::bytes_of(value), wgpu::BufferUsages::UNIFORM)
}

/// Copies `source` to the CPU, waiting for the GPU. Native only: the web must never block.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_blocking<T: bytemuck::Pod>(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    source: &wgpu::Buffer,
) -> Result<Vec<T>, String> {
    pollster::block_on(read_async(device, queue, source))
}

/// Copies `source` to the CPU once the GPU has written it, without blocking the browser's
/// thread (natively it waits for the device).
pub async fn read_async<T: bytemuck::Pod>(
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
    let (sender, receiver) = futures_channel::oneshot::channel();
    staging.slice(..).map_async(wgpu::MapMode::Read, move |result| {
        let _ = sender.send(result);
    });
    #[cfg(not(target_arch = "wasm32"))]
    device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| e.to_string())?;
    receiver
        .await
        .map_err(|_| "the GPU device went away during a read-back".to_string())?
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

/// Reads a few f32 buffers back without blocking: [`AsyncRead::request`] copies them into one
/// staging buffer and maps it; [`AsyncRead::take`] hands the arrays over once the map has
/// completed (a frame or so later in the browser). One read at a time; a request while one is in
/// flight is skipped, so callers may request after every step batch, and
/// [`AsyncRead::catch_up`] issues the skipped one once the read in flight has landed.
pub struct AsyncRead {
    staging: wgpu::Buffer,
    lengths: Vec<usize>,
    slot: Arc<Mutex<ReadSlot>>,
}

#[derive(Default)]
struct ReadSlot {
    in_flight: bool,
    /// A request came while a read was in flight: what it asked for has not been read yet.
    skipped: bool,
    ready: Option<Vec<Vec<f32>>>,
}

impl AsyncRead {
    /// A reader for buffers of `lengths` f32 values each.
    pub fn new(device: &wgpu::Device, label: &str, lengths: &[usize]) -> Self {
        let total: usize = lengths.iter().sum();
        Self {
            staging: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: (4 * total.max(1)) as u64,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            lengths: lengths.to_vec(),
            slot: Arc::default(),
        }
    }

    /// Starts reading the first `lengths[k]` values of `sources[k]`, unless a read is in flight.
    pub fn request(&self, device: &wgpu::Device, queue: &wgpu::Queue, sources: &[&wgpu::Buffer]) {
        self.request_with(device, queue, sources, |_| {});
    }

    /// [`AsyncRead::request`], calling `on_arrival` with the arrays as soon as they arrive (for
    /// what must not wait until they are taken, such as a view's colour range while paused).
    pub fn request_with(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        sources: &[&wgpu::Buffer],
        on_arrival: impl FnOnce(&[Vec<f32>]) + Send + 'static,
    ) {
        assert_eq!(sources.len(), self.lengths.len(), "one source per declared length");
        let Ok(mut slot) = self.slot.lock() else { return };
        if slot.in_flight {
            slot.skipped = true;
            return;
        }
        slot.in_flight = true;
        slot.skipped = false;
        drop(slot);
        let mut encoder = device.create_command_encoder(&Default::default());
        let mut offset = 0;
        for (source, &len) in sources.iter().zip(&self.lengths) {
            encoder.copy_buffer_to_buffer(source, 0, &self.staging, offset, 4 * len as u64);
            offset += 4 * len as u64;
        }
        queue.submit([encoder.finish()]);
        let (staging, slot, lengths) =
            (self.staging.clone(), self.slot.clone(), self.lengths.clone());
        self.staging.slice(..).map_async(wgpu::MapMode::Read, move |result| {
            let arrays: Option<Vec<Vec<f32>>> = result.ok().and_then(|()| {
                let bytes = staging.slice(..).get_mapped_range().ok()?;
                let floats: &[f32] = bytemuck::cast_slice(&bytes);
                let mut start = 0;
                Some(
                    lengths
                        .iter()
                        .map(|&len| {
                            start += len;
                            floats[start - len..start].to_vec()
                        })
                        .collect(),
                )
            });
            staging.unmap();
            if let Some(arrays) = &arrays {
                on_arrival(arrays);
            }
            if let Ok(mut slot) = slot.lock() {
                slot.in_flight = false;
                if arrays.is_some() {
                    slot.ready = arrays;
                }
            }
        });
    }

    /// Requests `sources` again if a request was skipped and the read in flight has landed; true
    /// while a read is still owed (so a paused page settles on the state last asked for, not on
    /// one read before its last steps).
    pub fn catch_up(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        sources: &[&wgpu::Buffer],
    ) -> bool {
        let Ok(slot) = self.slot.lock() else { return false };
        let (in_flight, skipped) = (slot.in_flight, slot.skipped);
        drop(slot);
        if skipped && !in_flight {
            self.request(device, queue, sources);
        }
        in_flight || skipped
    }

    /// The arrays of the last completed read, once.
    pub fn take(&self) -> Option<Vec<Vec<f32>>> {
        self.slot.lock().ok().and_then(|mut slot| slot.ready.take())
    }
}

/// One read of a buffer for code that polls rather than awaits (a case's step): the copy into a
/// staging buffer is submitted at once, after the work already queued, and
/// [`PendingRead::try_take`] hands the values over once the map has completed. Unlike
/// [`AsyncRead`], any number may be in flight, each with its own staging buffer.
pub struct PendingRead {
    slot: Arc<Mutex<Option<ReadOutcome>>>,
}

/// The values read, or why they cannot come.
type ReadOutcome = Result<Vec<f32>, String>;

impl PendingRead {
    /// Starts reading the first `len` f32 values of `source`.
    pub fn start(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        source: &wgpu::Buffer,
        len: usize,
    ) -> Self {
        let bytes = 4 * len.max(1) as u64;
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pending read"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(source, 0, &staging, 0, bytes);
        queue.submit([encoder.finish()]);
        let slot = Arc::new(Mutex::new(None));
        let (mapped, delivered) = (staging.clone(), slot.clone());
        staging.slice(..).map_async(wgpu::MapMode::Read, move |result| {
            let values = result
                .map_err(|e| format!("mapping a read-back buffer failed: {e}"))
                .and_then(|()| {
                    let view = mapped
                        .slice(..)
                        .get_mapped_range()
                        .map_err(|e| format!("reading a read-back buffer failed: {e}"))?;
                    let mut values = bytemuck::cast_slice::<u8, f32>(&view).to_vec();
                    values.truncate(len);
                    Ok(values)
                });
            mapped.unmap();
            if let Ok(mut slot) = delivered.lock() {
                *slot = Some(values);
            }
        });
        Self { slot }
    }

    /// The values (or why they cannot come), once they have arrived.
    pub fn try_take(&self) -> Option<ReadOutcome> {
        self.slot.lock().ok().and_then(|mut slot| slot.take())
    }

    /// Waits for the values (native only: the browser must not block).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait(self, device: &wgpu::Device) -> Result<Vec<f32>, String> {
        wait_idle(device)?;
        self.try_take().unwrap_or_else(|| Err("the read-back never completed".into()))
    }
}
