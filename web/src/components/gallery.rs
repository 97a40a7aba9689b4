//! The case gallery, generated from the catalog and grouped.

use crate::engine::{self, Signals};
use crate::ui;
use leptos::prelude::*;

const GROUPS: &[(&str, &str)] = &[
    ("grids", "Grid fluids"),
    ("particles", "Particle fluids"),
    ("learned", "Learned models"),
    ("learning", "Learning through physics"),
    ("spectral", "Spectral turbulence"),
];

/// The first author and year of a reference, for the card ("U. Ghia … 1982").
fn short_reference(reference: &str) -> String {
    let author = reference.split([',', ';']).next().unwrap_or(reference).trim();
    let author = match author.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &author[..cut]),
        None => author.to_string(),
    };
    let year = reference
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 4 && (w.starts_with("19") || w.starts_with("20")));
    match year {
        Some(year) => format!("{author} … {year}"),
        None => author.to_string(),
    }
}

#[component]
pub fn Gallery(signals: Signals) -> impl IntoView {
    // On a phone a link to a case opens on the case, the gallery folded behind a button above
    // it; picking a case folds it again.
    let linked = ui::window().location().hash().is_ok_and(|h| h.contains("case="));
    let collapsed = RwSignal::new(linked && ui::is_phone());
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
                                title=spec.reference
                                on:click=move |_| {
                                    signals.url_notices.set(Vec::new());
                                    engine::load_case(signals, spec, spec.defaults());
                                    if ui::is_phone() {
                                        collapsed.set(true);
                                    }
                                }
                            >
                                <img class="thumb" src=format!("thumbs/{}.png", spec.id) alt=""
                                    width="64" height="64" loading="lazy" />
                                <span class="case-title">{spec.title}</span>
                                <span class="case-summary">{spec.summary}</span>
                                <span class="case-reference">{short_reference(spec.reference)}</span>
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
    let count = flowscope_cases::CATALOG.len();
    view! {
        <nav class="gallery" class:collapsed=move || collapsed.get() data-testid="gallery" aria-label="Cases">
            <button class="gallery-toggle" data-testid="gallery-toggle"
                aria-expanded=move || (!collapsed.get()).to_string()
                on:click=move |_| collapsed.update(|c| *c = !*c)>
                {move || if collapsed.get() { format!("All {count} cases ▾") } else { "Hide the cases ▴".to_string() }}
            </button>
            {groups}
        </nav>
    }
}
