//! Small browser helpers shared by the components.

use wasm_bindgen::JsCast;

pub fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

pub fn document() -> web_sys::Document {
    window().document().expect("a document")
}

/// Milliseconds from `performance.now()`.
pub fn now_ms() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or(0.0)
}

/// Shows the fatal-error overlay that index.html provides outside the app, so it still works
/// after the wasm module has died.
pub fn show_fatal(message: &str) {
    let Some(element) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("fatal-message"))
    else {
        return;
    };
    element.set_text_content(Some(message));
    if let Some(overlay) = document().get_element_by_id("fatal") {
        let _ = overlay.remove_attribute("hidden");
    }
}

/// A query-string parameter of the page URL (`?backend=cpu`).
pub fn query_param(name: &str) -> Option<String> {
    let search = window().location().search().ok()?;
    search.trim_start_matches('?').split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| value.to_string())
    })
}

/// `true` when the user asked the system for reduced motion.
pub fn prefers_reduced_motion() -> bool {
    window()
        .match_media("(prefers-reduced-motion: reduce)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches())
}

/// The page's element with `data-testid` = `id`, if it is mounted.
pub fn element_by_testid(id: &str) -> Option<web_sys::HtmlElement> {
    document()
        .query_selector(&format!("[data-testid=\"{id}\"]"))
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
}

/// The width below which the page lays out for a phone (style.css uses the same).
pub const PHONE_QUERY: &str = "(max-width: 700px)";

/// Whether the page is laid out for a phone.
pub fn is_phone() -> bool {
    window().match_media(PHONE_QUERY).ok().flatten().is_some_and(|m| m.matches())
}

pub fn create_canvas() -> web_sys::HtmlCanvasElement {
    let canvas = document()
        .create_element("canvas")
        .expect("create canvas")
        .dyn_into::<web_sys::HtmlCanvasElement>()
        .expect("a canvas element");
    let _ = canvas.set_attribute("data-testid", "viewport-canvas");
    let _ = canvas.set_attribute("aria-label", "Simulation view; drag to interact");
    canvas
}

/// Offers `bytes` as a file download named `name`.
pub fn download(name: &str, bytes: &[u8], mime: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| format!("cannot make the file: {e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|e| format!("cannot make the file: {e:?}"))?;
    download_url(name, &url);
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Offers a URL (a data or blob URL) as a file download named `name`.
pub fn download_url(name: &str, url: &str) {
    let Ok(anchor) = document().create_element("a") else { return };
    let _ = anchor.set_attribute("href", url);
    let _ = anchor.set_attribute("download", name);
    if let Some(anchor) = anchor.dyn_ref::<web_sys::HtmlElement>() {
        anchor.click();
    }
}
