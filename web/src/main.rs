//! Flowscope playground entry point: install the panic overlay, then mount the app.
//! Everything else lives in the library modules; this file only mounts.

mod api;
mod command;
mod compare;
mod components;
mod engine;
mod gate;
mod gpu_status;
mod models;
mod picture;
mod record;
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
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        engine::note_panic(message);
    }));
    leptos::mount::mount_to_body(components::app::App);
}
