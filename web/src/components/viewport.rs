//! The viewport: the engine puts its canvas in here; pointer drags (mouse, pen or touch) become
//! case interactions, hovering shows the value under the pointer, and arrows are drawn over it.
//! In compare mode the second side and the difference stand beside it.

use crate::engine::{self, Signals};
use leptos::html;
use leptos::prelude::*;

#[component]
pub fn Viewport(signals: Signals) -> impl IntoView {
    let host = NodeRef::<html::Div>::new();
    let dragging = RwSignal::new(false);
    Effect::new(move |started: Option<bool>| {
        if started == Some(true) {
            return true;
        }
        match host.get() {
            Some(element) => {
                engine::boot(signals, element.into());
                true
            }
            None => false,
        }
    });
    let arrows = move || {
        signals.arrow_segments.get().into_iter().map(|[x0, y0, x1, y1]| view! {
            <line x1=x0 * 1000.0 y1=y0 * 1000.0 x2=x1 * 1000.0 y2=y1 * 1000.0 marker-end="url(#arrowhead)" />
        }).collect_view()
    };
    let comparing = move || signals.compare.get().is_some();
    let label = move |k: usize| signals.compare.get().map(|c| c.label(k));
    view! {
        <div class="viewport-frame">
            <div class="viewports" class:comparing=comparing>
            <div class="viewport" node_ref=host data-testid="viewport" data-label=move || label(0)
                on:pointerdown=move |ev| {
                    dragging.set(true);
                    engine::pointer(signals, ev.client_x() as f64, ev.client_y() as f64);
                }
                on:pointermove=move |ev| {
                    let (x, y) = (ev.client_x() as f64, ev.client_y() as f64);
                    if dragging.get_untracked() {
                        engine::pointer(signals, x, y);
                    }
                    engine::hover(signals, x, y);
                }
                on:pointerup=move |_| dragging.set(false)
                on:pointercancel=move |_| dragging.set(false)
                on:pointerleave=move |_| { dragging.set(false); signals.hover.set(None) }>
            <svg class="arrows" data-testid="arrows" viewBox="0 0 1000 1000" preserveAspectRatio="none"
                aria-hidden="true" hidden=move || signals.arrow_segments.get().is_empty()>
                <defs>
                    <marker id="arrowhead" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="4"
                        markerHeight="4" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" fill="white" />
                    </marker>
                </defs>
                {arrows}
            </svg>
            </div>
            // Compare mode's second side and the difference (the engine puts their canvases here).
            <div class="viewport twin" data-testid="viewport-b" data-label=move || label(1)
                hidden=move || !comparing()></div>
            <div class="viewport twin" data-testid="viewport-difference"
                data-label=move || signals.compare.get().map(|c| {
                    let range = signals.max_difference.get().map(|m| format!(", ±{m:.3}")).unwrap_or_default();
                    format!("difference: ({}) − ({}){range}", c.label(1), c.label(0))
                })
                hidden=move || !(comparing() && signals.difference.get())></div>
            </div>
            <output class="hover" data-testid="hover-readout" aria-live="off">
                {move || signals.hover.get().unwrap_or_default()}
            </output>
        </div>
    }
}
