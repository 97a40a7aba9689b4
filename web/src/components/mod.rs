//! The UI, one component per file. Playwright finds elements by `data-testid`.

pub mod app;
pub mod colorbar;
pub mod controls;
pub mod display;
pub mod gallery;
pub mod params;
pub mod plots;
pub mod viewport;
