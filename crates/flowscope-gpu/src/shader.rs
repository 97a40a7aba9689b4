//! WGSL sources. Every kernel file in `shaders/` is compiled with `shaders/common/prelude.wgsl`
//! prepended, so shared helpers (grid indexing, periodic wrap) are written once.

/// Shared helpers prepended to every kernel.
pub const PRELUDE: &str = include_str!("../../../shaders/common/prelude.wgsl");

/// The full source of a kernel: prelude, then the kernel file's text.
pub fn with_prelude(kernel: &str) -> String {
    format!("{PRELUDE}\n{kernel}")
}

/// Compiles a kernel (with prelude) into a shader module.
pub fn module(device: &wgpu::Device, label: &str, kernel: &str) -> wgpu::ShaderModule {
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(with_prelude(kernel).into()),
    })
}

/// A compute pipeline with an automatic layout for `entry` in `module`.
pub fn compute_pipeline(
    device: &wgpu::Device,
    label: &str,
    module: &wgpu::ShaderModule,
    entry: &str,
) -> wgpu::ComputePipeline {
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// Workgroups needed to cover `n` items with groups of `size`.
pub fn groups(n: u32, size: u32) -> u32 {
    n.div_ceil(size)
}
