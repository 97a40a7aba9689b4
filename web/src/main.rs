//! Flowscope playground entry point: install the panic overlay, then mount the app.
//! Everything else lives in the library modules; this file only mounts.

mod api;
mod components;
mod engine;
mod gpu_status;
mod models;
mod render;
mod threads;
mod ui;
mod url;

fn main() {
    // The threaded build's workers instantiate the same module; the app lives on the page only.
    if web_sys::window().is_none() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        ui::show_fatal(&format!("Flowscope crashed: {info}"));
    }));
    leptos::mount::mount_to_body(components::app::App);
}
