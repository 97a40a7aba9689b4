//! Flowscope core: the vocabulary every other crate speaks.
//!
//! - [`params`]: the parameter schema a case declares, and validated values.
//! - [`budget`]: what a case may allocate, declared from its parameters and checked in one place.
//! - [`case`]: the `Case` contract (spec, reset, step, views, observables, interactions).
//! - [`field`]: plain scalar fields on cell-centred grids, as the CLI and UI read them.
//! - [`colormap`]: colour lookup tables shared by the GPU renderer, the CPU renderer and the colorbar.
//!
//! This crate must never depend on wgpu, leptos, web-sys or the CLI: it is the bottom layer.

pub mod budget;
pub mod case;
pub mod colormap;
pub mod field;
pub mod params;
pub mod svg;

pub use budget::{Budget, Cost};
pub use case::{
    Backend, Case, CaseError, CaseSpec, Exchange, Interaction, InteractionKind, ObservableSpec,
    ParticleState, Plot, Preset, Series, SeriesStyle, ViewKind, ViewSpec,
};
pub use field::{npy_f32, read_npy_f32, Domain, Field2};
pub use params::{ParamError, ParamKind, ParamSpec, ParamValue, ParamValues};
