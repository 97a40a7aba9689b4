//! The colorbar, drawn from the same lookup table as the viewport.

use crate::engine::{self, Signals};
use leptos::prelude::*;

#[component]
pub fn Colorbar(signals: Signals) -> impl IntoView {
    move || {
        signals.hud.track();
        let (view, scale, colormap) = engine::with_engine(|e| (e.view(), e.scale(), e.colormap()))?;
        let gradient = flowscope_core::colormap::css_gradient(colormap, "to top");
        let label = if view.unit.is_empty() {
            view.label.to_string()
        } else {
            format!("{} [{}]", view.label, view.unit)
        };
        let mid = 0.5 * (scale.vmin + scale.vmax);
        let caption = label.clone();
        Some(view! {
            <figure class="colorbar" data-testid="colorbar" aria-label=label>
                <div class="ticks">
                    <span>{format!("{:.3}", scale.vmax)}</span>
                    <span>{format!("{mid:.3}")}</span>
                    <span>{format!("{:.3}", scale.vmin)}</span>
                </div>
                <div class="bar" style:background=gradient></div>
                <figcaption>{caption}</figcaption>
            </figure>
        })
    }
}
