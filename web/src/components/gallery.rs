//! The case gallery, generated from the catalog and grouped.

use crate::engine::{self, Signals};
use leptos::prelude::*;

const GROUPS: &[(&str, &str)] =
    &[("grids", "Grid fluids"), ("particles", "Particle fluids"), ("learned", "Learned models")];

#[component]
pub fn Gallery(signals: Signals) -> impl IntoView {
    let groups = GROUPS
        .iter()
        .filter(|(group, _)| flowscope_cases::CATALOG.iter().any(|s| s.group == *group))
        .map(|(group, title)| {
            let cards = flowscope_cases::CATALOG
                .iter()
                .filter(|s| s.group == *group)
                .map(|&spec| {
                    let active = move || signals.case_id.get() == spec.id;
                    view! {
                        <li>
                            <button
                                class="case-card"
                                class:active=active
                                aria-pressed=move || active().to_string()
                                data-testid=format!("case-card-{}", spec.id)
                                on:click=move |_| engine::load_case(signals, spec, spec.defaults())
                            >
                                <span class="case-title">{spec.title}</span>
                                <span class="case-summary">{spec.summary}</span>
                            </button>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <h2 class="group">{*title}</h2>
                <ul class="cases">{cards}</ul>
            }
        })
        .collect_view();
    view! { <nav class="gallery" data-testid="gallery" aria-label="Cases">{groups}</nav> }
}
