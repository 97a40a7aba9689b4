//! The shared GPU context: one wgpu device for solvers, networks and rendering.
//!
//! - [`GpuContext::new`] walks the detection ladder (no WebGPU, no adapter, device request
//!   failed) and says in plain words why the GPU is unavailable, so callers can fall back to the
//!   CPU backend with a reason to show.
//! - [`buffers`]: storage/uniform buffer creation and read-back (blocking on native only).
//! - [`shader`]: WGSL sources from `shaders/`, with the shared prelude prepended.
//! - [`program`]: a module's kernels and prebuilt sequences of dispatches and copies.
//! - [`render`]: draws a scalar field buffer through a colormap into any colour target.
//!
//! Never depends on leptos, web-sys or the CLI.

pub mod buffers;
pub mod program;
pub mod render;
pub mod shader;

pub use wgpu;

use std::sync::{Arc, Mutex};

/// Why no GPU device is available: each rung of the detection ladder has its own message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GpuUnavailable {
    #[error("this browser does not expose WebGPU (navigator.gpu is missing); running on the CPU")]
    NoWebGpu,
    #[error("no GPU adapter was found ({0}); running on the CPU")]
    NoAdapter(String),
    #[error("the GPU refused to create a device ({0}); running on the CPU")]
    DeviceRequest(String),
}

/// `navigator.gpu` exists. Checked directly rather than through a throwaway adapter request,
/// so "no WebGPU" and "no adapter" stay distinct rungs and only one adapter is ever requested.
#[cfg(target_arch = "wasm32")]
fn browser_exposes_webgpu() -> bool {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &"navigator".into())
        .and_then(|navigator| js_sys::Reflect::get(&navigator, &"gpu".into()))
        .is_ok_and(|gpu| !gpu.is_undefined() && !gpu.is_null())
}

#[cfg(not(target_arch = "wasm32"))]
fn browser_exposes_webgpu() -> bool {
    false
}

/// Why a device was lost after start-up, recorded by the device-lost callback.
pub type LostReason = Arc<Mutex<Option<String>>>;

/// One adapter, device and queue, shared by everything that runs on the GPU.
#[derive(Clone)]
pub struct GpuContext {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter_info: wgpu::AdapterInfo,
    lost: LostReason,
    /// The first error the browser reported outside any error scope (a validation or
    /// out-of-memory error: the device still works, the results that needed it do not).
    error: LostReason,
}

impl GpuContext {
    /// Requests an adapter and device. On the web only WebGPU is accepted (no WebGL path);
    /// natively any backend that wgpu finds (Vulkan, Metal, DX12).
    pub async fn new() -> Result<Self, GpuUnavailable> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        if cfg!(target_arch = "wasm32") {
            if !browser_exposes_webgpu() {
                return Err(GpuUnavailable::NoWebGpu);
            }
            desc.backends = wgpu::Backends::BROWSER_WEBGPU;
        }
        let instance = wgpu::Instance::new(desc);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                // The browser gives no reason worth showing; natively wgpu lists what it tried.
                GpuUnavailable::NoAdapter(if cfg!(target_arch = "wasm32") {
                    "the browser exposes WebGPU but offered none: hardware acceleration may be off or the driver blocklisted".into()
                } else {
                    e.to_string()
                })
            })?;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("flowscope"),
                required_limits: wgpu::Limits::default(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuUnavailable::DeviceRequest(e.to_string()))?;
        let lost: LostReason = Arc::default();
        let slot = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(format!("{reason:?}: {message}"));
            }
        });
        let error: LostReason = Arc::default();
        // In the browser a validation error would only reach the console; keep it for the app
        // to show. Natively wgpu's default handler panics, which is what tests want.
        #[cfg(target_arch = "wasm32")]
        {
            let slot = error.clone();
            device.on_uncaptured_error(Arc::new(move |error| {
                if let Ok(mut slot) = slot.lock() {
                    slot.get_or_insert_with(|| format!("GPU error: {error}"));
                }
            }));
        }
        shader::adopt(&device);
        Ok(Self { adapter_info: adapter.get_info(), instance, adapter, device, queue, lost, error })
    }

    /// Blocking [`Self::new`] for native tools and tests.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking() -> Result<Self, GpuUnavailable> {
        pollster::block_on(Self::new())
    }

    /// `Some(reason)` once the device has been lost (driver reset, tab in background too long,
    /// a browser that cannot present…). The browser says so asynchronously: work submitted just
    /// before may still have met the lost device, which is why no buffer is created mapped.
    pub fn lost_reason(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|slot| slot.clone())
    }

    /// The first uncaptured GPU error since the last call, if any (browser only).
    pub fn take_error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|mut slot| slot.take())
    }

    /// Whether the adapter is a software renderer (SwiftShader, llvmpipe): it runs WGSL
    /// correctly but slower than the CPU backend for most work.
    pub fn is_software(&self) -> bool {
        self.adapter_info.device_type == wgpu::DeviceType::Cpu
    }

    /// A short human description, e.g. "llvmpipe (Vulkan)".
    pub fn describe(&self) -> String {
        let info = &self.adapter_info;
        if info.name.is_empty() {
            format!("{:?}", info.backend)
        } else {
            format!("{} ({:?})", info.name, info.backend)
        }
    }
}

/// The context GPU tests run on, or `None` (with a note on stderr) where no adapter exists.
/// With `FLOWSCOPE_REQUIRE_GPU=1` (set by `cargo xtask test`) a missing adapter fails instead,
/// so CI can never skip the parity tests silently.
#[cfg(not(target_arch = "wasm32"))]
pub fn context_for_tests() -> Option<GpuContext> {
    match GpuContext::new_blocking() {
        Ok(ctx) => Some(ctx),
        Err(why) if std::env::var("FLOWSCOPE_REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("FLOWSCOPE_REQUIRE_GPU=1 but {why}; install mesa-vulkan-drivers for llvmpipe")
        }
        Err(why) => {
            eprintln!("skipping GPU test: {why}");
            None
        }
    }
}
