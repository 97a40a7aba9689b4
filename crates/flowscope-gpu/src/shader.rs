//! WGSL sources. Every kernel file in `shaders/` is compiled with `shaders/common/prelude.wgsl`
//! prepended, so shared helpers (grid indexing, periodic wrap) are written once.
//!
//! Modules and pipelines are kept per device and thread and handed out again: switching cases
//! would otherwise compile the same kernels anew (seconds on a software adapter or on browsers
//! whose shader compiler is slow), and every grid case shares the grid room's kernels.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

/// What this thread compiled for the device it adopted last.
#[derive(Default)]
struct Compiled {
    device: Option<wgpu::Device>,
    /// Hashes of every device this thread adopted. Natively wgpu compares devices by an index
    /// that each instance counts from the start, so two contexts can hold "equal" devices: once
    /// that happens the thread stops sharing kernels rather than hand one device another's.
    adopted: HashSet<u64>,
    ambiguous: bool,
    modules: HashMap<String, wgpu::ShaderModule>,
    pipelines: HashMap<(wgpu::ShaderModule, String), wgpu::ComputePipeline>,
}

thread_local! {
    static COMPILED: RefCell<Compiled> = RefCell::default();
    static HASHER: RandomState = RandomState::new();
}

/// Makes `device` (just created) the one whose kernels this thread keeps; the last device's
/// are dropped.
pub(crate) fn adopt(device: &wgpu::Device) {
    let hash = HASHER.with(|h| h.hash_one(device));
    COMPILED.with_borrow_mut(|compiled| {
        compiled.ambiguous |= !compiled.adopted.insert(hash);
        compiled.device = Some(device.clone());
        compiled.modules.clear();
        compiled.pipelines.clear();
    });
}

/// Runs `f` on the kernels kept for `device`, or returns `None` where they are not kept.
#[allow(clippy::mutable_key_type)] // wgpu handles hash and compare by identity.
fn kept<R>(device: &wgpu::Device, f: impl FnOnce(&mut Compiled) -> R) -> Option<R> {
    COMPILED.with_borrow_mut(|compiled| {
        let kept = !compiled.ambiguous && compiled.device.as_ref() == Some(device);
        kept.then(|| f(compiled))
    })
}

/// Shared helpers prepended to every kernel.
pub const PRELUDE: &str = include_str!("../../../shaders/common/prelude.wgsl");

/// The full source of a kernel: prelude, then the kernel file's text.
pub fn with_prelude(kernel: &str) -> String {
    format!("{PRELUDE}\n{kernel}")
}

/// The shader module of a kernel (with prelude), compiled on the first request for this source
/// on this device.
pub fn module(device: &wgpu::Device, label: &str, kernel: &str) -> wgpu::ShaderModule {
    let source = with_prelude(kernel);
    let compile = |source: &str| {
        device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        })
    };
    kept(device, |compiled| {
        compiled.modules.entry(source.clone()).or_insert_with(|| compile(&source)).clone()
    })
    .unwrap_or_else(|| compile(&source))
}

/// A compute pipeline with an automatic layout for `entry` in `module`, created on the first
/// request. Shared pipelines are safe: bind groups are made from the pipeline's own layout.
pub fn compute_pipeline(
    device: &wgpu::Device,
    label: &str,
    module: &wgpu::ShaderModule,
    entry: &str,
) -> wgpu::ComputePipeline {
    let create = || {
        device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: None,
            module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        })
    };
    #[allow(clippy::mutable_key_type)] // wgpu handles hash and compare by identity.
    let kept = kept(device, |compiled| {
        let key = (module.clone(), entry.to_owned());
        compiled.pipelines.entry(key).or_insert_with(create).clone()
    });
    kept.unwrap_or_else(create)
}

/// Workgroups needed to cover `n` items with groups of `size`.
pub fn groups(n: u32, size: u32) -> u32 {
    n.div_ceil(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Switching cases compiled every kernel again: seconds per case on a software adapter.
    #[test]
    fn kernels_compile_once_per_device() {
        let Some(ctx) = crate::context_for_tests() else { return };
        let kernel = "@group(0) @binding(0) var<storage, read_write> x: array<f32>;\n\
                      @compute @workgroup_size(1) fn main() { x[0] = 1.0; }";
        let first = module(&ctx.device, "a", kernel);
        let again = module(&ctx.device, "b", kernel);
        assert_eq!(first, again);
        let pipeline = compute_pipeline(&ctx.device, "a", &first, "main");
        assert_eq!(pipeline, compute_pipeline(&ctx.device, "b", &again, "main"));
        // A second context natively numbers its device as the first: the thread stops sharing
        // (the first device compiles anew) rather than hand one device the other's kernels.
        let Some(other) = crate::context_for_tests() else { return };
        let theirs = module(&other.device, "a", kernel);
        compute_pipeline(&other.device, "a", &theirs, "main");
        if other.device == ctx.device {
            assert_ne!(module(&ctx.device, "a", kernel), first);
        }
    }
}
