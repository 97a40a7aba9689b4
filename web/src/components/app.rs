//! The page layout: header, gallery, control bar, viewport with colorbar, plots, parameters,
//! explanation. `?embed=1` keeps only the viewport and a control strip (`&controls=` chooses
//! which: play, step, reset, spf, speed, time, help, view, params).

use super::{
    colorbar::Colorbar,
    controls::{self, ControlBar, Hud, Shown},
    display::{CompareBar, DisplayBar, ExportBar},
    gallery::Gallery,
    params::ParamPanel,
    plots::Plots,
    viewport::Viewport,
};
use crate::engine::{self, Signals};
use crate::models::{DownloadBar, WorkBar};
use crate::{ui, url};
use gloo_events::EventListener;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;

/// The embed's controls when `?controls=` does not say.
const EMBED_CONTROLS: &str = "play,step,reset";

#[component]
pub fn App() -> impl IntoView {
    let signals = Signals::new(flowscope_cases::CATALOG[0]);
    if let Some(restored) = ui::window().location().hash().ok().as_deref().and_then(url::restore) {
        url::apply(signals, restored);
    }
    if let Some(notice) = crate::threads::start() {
        signals.url_notices.update(|notices| notices.push(notice));
    }
    if let Some(notice) = crate::engine::read_budget_factor() {
        signals.url_notices.update(|notices| notices.push(notice));
    }
    url::keep_in_sync(signals);
    listen_for_hash_changes(signals);
    install_shortcuts(signals);
    crate::api::install(signals);
    let embed = ui::query_param("embed").is_some_and(|v| v == "1" || v == "true");
    if embed {
        let _ = ui::document().body().map(|b| b.class_list().add_1("embed"));
        let list =
            ui::query_param("controls").map(|c| url_decode(&c)).unwrap_or(EMBED_CONTROLS.into());
        let shown = Shown(Some(list.split(',').map(|c| c.trim().to_string()).collect()));
        let display = shown.has("view");
        let params = shown.has("params");
        return view! {
            <main class="embed-layout" data-testid="embed">
                <ControlBar signals shown />
                <Notices signals />
                <DownloadBar signals />
                <WorkBar signals />
                {display.then(|| view! { <DisplayBar signals /> })}
                <Viewport signals />
                {params.then(|| view! { <ParamPanel signals /> })}
                <a class="powered" href=move || standalone_link(signals) target="_blank" rel="noopener">
                    "Open in Flowscope ↗"
                </a>
            </main>
        }
        .into_any();
    }
    let explanation = move || {
        let spec = flowscope_cases::find(&signals.case_id.get()).ok()?;
        Some(view! {
            <h2>{spec.title}</h2>
            <p>{spec.explanation}</p>
            <p class="reference"><strong>"Reference: "</strong>{spec.reference}</p>
        })
    };
    view! {
        <header class="top">
            <h1>"Flowscope"</h1>
            <span class="tagline">"Physics simulations and learned solvers, live in your browser"</span>
            <BackendBadge signals />
        </header>
        <BackendNote signals />
        <main class="layout">
            <Gallery signals />
            <section class="stage" aria-label="Simulation">
                <ControlBar signals shown=Shown(None) />
                <Notices signals />
                <DownloadBar signals />
                <WorkBar signals />
                <DisplayBar signals />
                <CompareBar signals />
                <div class="view-row">
                    <Viewport signals />
                    <Colorbar signals />
                </div>
                <div class="below-view">
                    <Hud signals />
                    <ExportBar signals />
                </div>
                <Plots signals />
            </section>
            <aside class="side">
                <ParamPanel signals />
                <section class="explanation" data-testid="explanation" aria-label="About this case">
                    {explanation}
                </section>
            </aside>
        </main>
    }
    .into_any()
}

fn url_decode(text: &str) -> String {
    js_sys::decode_uri_component(text)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| text.into())
}

/// The same state on the full page (the embed's "open" link).
fn standalone_link(signals: Signals) -> String {
    let location = ui::window().location();
    format!("{}{}", location.pathname().unwrap_or_default(), url::hash(signals))
}

/// A hash typed into the address bar, or reached with back/forward, loads that state.
fn listen_for_hash_changes(signals: Signals) {
    let listener = EventListener::new(&ui::window(), "hashchange", move |_| {
        let hash = ui::window().location().hash().unwrap_or_default();
        if hash == url::hash(signals) {
            return;
        }
        if let Some(restored) = url::restore(&hash) {
            url::apply(signals, restored);
            engine::restart(signals);
            engine::apply_display(signals);
        }
    });
    listener.forget();
}

/// Space plays or pauses, → steps, r resets; not while typing in a field or using a control
/// that takes those keys itself.
fn install_shortcuts(signals: Signals) {
    let listener = EventListener::new(&ui::window(), "keydown", move |event| {
        let Some(event) = event.dyn_ref::<web_sys::KeyboardEvent>() else { return };
        if event.ctrl_key() || event.meta_key() || event.alt_key() {
            return;
        }
        let tag = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .map(|e| e.tag_name())
            .unwrap_or_default();
        // Fields take their own keys; a focused button takes Space as its own click.
        let own = matches!(tag.as_str(), "INPUT" | "SELECT" | "TEXTAREA")
            || (tag == "BUTTON" && event.key() == " ");
        if own {
            return;
        }
        let handled = match event.key().as_str() {
            " " => {
                controls::toggle_play(signals);
                true
            }
            "ArrowRight" => {
                controls::step_once(signals);
                true
            }
            "r" | "R" => {
                engine::restart(signals);
                true
            }
            _ => false,
        };
        if handled {
            event.prevent_default();
        }
    });
    listener.forget();
}

#[component]
fn BackendBadge(signals: Signals) -> impl IntoView {
    let label = move || match signals.hud.get().backend {
        Some(flowscope_core::Backend::Gpu) => "WebGPU",
        Some(flowscope_core::Backend::Cpu) => "CPU",
        None => "starting…",
    };
    let title = move || signals.hud.get().device;
    view! {
        <span class="badge" data-testid="backend-badge" title=title aria-live="polite">{label}</span>
    }
}

#[component]
fn BackendNote(signals: Signals) -> impl IntoView {
    move || {
        signals.backend_note.get().map(|note| {
            view! { <div class="banner" role="status" data-testid="gpu-status">{note}</div> }
        })
    }
}

#[component]
fn Notices(signals: Signals) -> impl IntoView {
    view! {
        {move || signals.error.get().map(|message| view! {
            <div class="error" role="alert" data-testid="sim-error">
                {message}
                " "
                <button on:click=move |_| crate::engine::restart(signals)>"Reset"</button>
            </div>
        })}
        {move || signals.notices.get().into_iter().map(|n| view! {
            <div class="notice" role="status" data-testid="notice">{n}</div>
        }).collect_view()}
        {move || (!signals.url_notices.get().is_empty()).then(|| view! {
            <div class="notice url-notice" role="status" data-testid="url-notice">
                <ul>{signals.url_notices.get().into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
                <button aria-label="Dismiss" on:click=move |_| signals.url_notices.set(Vec::new())>"×"</button>
            </div>
        })}
    }
}
