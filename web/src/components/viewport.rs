//! The viewport: the engine puts its canvas in here; pointer drags become case interactions.

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
    view! {
        <div class="viewport" node_ref=host data-testid="viewport"
            on:pointerdown=move |ev| {
                dragging.set(true);
                engine::pointer(signals, ev.client_x() as f64, ev.client_y() as f64);
            }
            on:pointermove=move |ev| {
                if dragging.get_untracked() {
                    engine::pointer(signals, ev.client_x() as f64, ev.client_y() as f64);
                }
            }
            on:pointerup=move |_| dragging.set(false)
            on:pointerleave=move |_| dragging.set(false)>
        </div>
    }
}
