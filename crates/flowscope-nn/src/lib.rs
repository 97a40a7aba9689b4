//! Flowscope's neural networks: the layers the learned cases use, the model families built from
//! a config, and weights trained in PyTorch, read from safetensors.
//!
//! - [`layers`]: convolutions (any kernel, stride, dilation; zero, replicate, circular padding),
//!   linear, group and layer norm, activations, up- and downsampling, the sinusoidal time
//!   embedding, concatenation, residual sums, self-attention; named like `torch.nn.functional`.
//! - [`model`]: MLP, residual CNN and UNet, built from [`Config`] (the JSON stored with the
//!   weights) with the parameter names of their PyTorch twins in `training/flowscope_nn.py`.
//! - [`diffusion`]: β schedules (linear, cosine), DDPM ancestral and DDIM sampling, batched,
//!   from counter-based seeded noise (a sample is reproducible from its seed alone).
//! - [`particles`]: continuous convolutions over particle neighbourhoods (SFBC's basis
//!   convolutions, DMCF's momentum-conserving antisymmetric form) and their network.
//! - [`smdp`]: score matching through differentiable physics — a diffusive process run
//!   backwards, the physics' approximate inverse plus a learned score (reverse SDE or ODE).
//! - [`weights`]: safetensors in f32, f16 or bf16; a file that does not match its config is
//!   refused with the name of the tensor at fault.
//!
//! - [`gpu`]: the same layers in WGSL (`shaders/nn/layers.wgsl`) on the shared device; a model
//!   is recorded once for its input shapes and then runs without allocating.
//!
//! Both are held to PyTorch by the fixtures of `training/make_fixtures.py`.

pub mod diffusion;
pub mod gpu;
pub mod layers;
pub mod model;
pub mod particles;
pub mod smdp;
pub mod tensor;
pub mod weights;
mod winograd;

pub use model::{Config, GpuModel, Model};
pub use tensor::Tensor;
pub use weights::Weights;

/// Why a network could not be loaded or run. `Display` is one line a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// The bytes are not a usable model file (truncated, wrong format, manifest mismatch).
    #[error("model file: {0}")]
    File(String),
    /// The config in the file is missing or invalid.
    #[error("model config: {0}")]
    Config(String),
    /// A tensor is missing, extra or of the wrong shape for the config.
    #[error("weights: {0}")]
    Weights(String),
    /// An input of the wrong shape.
    #[error("{0}")]
    Shape(String),
}
