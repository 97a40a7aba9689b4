//! The GPU detection ladder as the user sees it: a backend and, where the GPU is not used, why.

use flowscope_gpu::{GpuContext, GpuUnavailable};

/// Walks the ladder: CPU requested in the URL → no `navigator.gpu` → no adapter → device
/// refused → a software adapter (slower than the CPU backend, so not used unless the URL asks
/// for it with `?backend=webgpu`). `Err` carries the sentence that tells the user why the CPU
/// backend runs.
pub async fn detect() -> Result<GpuContext, String> {
    let requested = crate::ui::query_param("backend");
    if requested.as_deref() == Some("cpu") {
        return Err("CPU backend requested in the URL (?backend=cpu)".into());
    }
    // Asked for by name, a GPU that is briefly unavailable is waited for.
    let ctx = request(requested.as_deref() == Some("webgpu"))
        .await
        .map_err(|why: GpuUnavailable| capitalise(&why.to_string()))?;
    if ctx.is_software() && requested.as_deref() != Some("webgpu") {
        return Err(format!(
            "WebGPU runs on a software renderer here ({}), slower than the CPU backend; running \
             on the CPU (add ?backend=webgpu to the URL to use it anyway)",
            ctx.describe()
        ));
    }
    Ok(ctx)
}

/// Waits between adapter requests when `patient`: after a lost device (or while the browser
/// starts its GPU process under load) Chromium answers "no adapter" for a moment, and a page
/// that asked for WebGPU should not end up on the CPU for that.
const RETRY_MS: [u32; 4] = [250, 500, 1000, 2000];

/// A device, requested again after the waits of [`RETRY_MS`] when `patient` and the browser
/// has WebGPU at all.
pub async fn request(patient: bool) -> Result<GpuContext, GpuUnavailable> {
    let mut waits = RETRY_MS.iter().filter(|_| patient);
    loop {
        let outcome = GpuContext::new().await;
        let passing =
            matches!(outcome, Err(GpuUnavailable::NoAdapter(_) | GpuUnavailable::DeviceRequest(_)));
        match waits.next() {
            Some(&ms) if passing => gloo_timers::future::TimeoutFuture::new(ms).await,
            _ => return outcome,
        }
    }
}

/// The message when drawing into a WebGPU canvas lost the device and a new one took over.
pub fn readback_message(reason: &str) -> String {
    format!(
        "Drawing into a WebGPU canvas lost the GPU device ({reason}); the simulation still runs \
         on WebGPU and each frame is read back for display"
    )
}

/// The message when a lost device (not one drawing into a canvas) was replaced by a new one.
pub fn replaced_message(reason: &str) -> String {
    format!(
        "The GPU device was lost ({reason}); the case restarted on a new WebGPU device, each \
         frame read back for display"
    )
}

/// The message for a device lost after start-up.
pub fn lost_message(reason: &str) -> String {
    format!("The GPU device was lost ({reason}); restarted the case on the CPU")
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
