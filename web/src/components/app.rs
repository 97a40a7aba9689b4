//! The page layout: header, gallery, control bar, viewport with colorbar, parameters, notes.

use super::{
    colorbar::Colorbar, controls::ControlBar, gallery::Gallery, params::ParamPanel,
    viewport::Viewport,
};
use crate::engine::Signals;
use leptos::prelude::*;

#[component]
pub fn App() -> impl IntoView {
    let signals = Signals::new(flowscope_cases::CATALOG[0]);
    crate::api::install(signals);
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
            <section class="stage">
                <ControlBar signals />
                <Notices signals />
                <div class="view-row">
                    <Viewport signals />
                    <Colorbar signals />
                </div>
            </section>
            <aside class="side">
                <ParamPanel signals />
                <section class="explanation" data-testid="explanation">{explanation}</section>
            </aside>
        </main>
    }
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
    }
}
