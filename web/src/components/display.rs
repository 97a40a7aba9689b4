//! What the viewport shows (view, colormap, colour range, arrows) and what leaves the page:
//! the link, PNG, CSV and `.npy` exports.

use crate::command::{RecordOptions, SnapshotOptions};
use crate::engine::{self, Signals};
use crate::ui;
use flowscope_core::{colormap, ViewKind};
use leptos::prelude::*;

#[component]
pub fn DisplayBar(signals: Signals) -> impl IntoView {
    let views = move || {
        let spec = flowscope_cases::find(&signals.case_id.get()).ok()?;
        Some(
            spec.views
                .iter()
                .map(|v| {
                    let name = v.name;
                    view! { <option value=name selected=move || signals.view.get() == name>{v.label}</option> }
                })
                .collect_view(),
        )
    };
    let change = move |update: Box<dyn FnOnce()>| {
        update();
        engine::apply_display(signals);
    };
    let has_vector = move || {
        flowscope_cases::find(&signals.case_id.get())
            .is_ok_and(|s| s.views.iter().any(|v| v.kind == ViewKind::Vector))
    };
    let range_text = move |k: usize| {
        signals
            .range
            .get()
            .map(|(lo, hi)| if k == 0 { lo } else { hi }.to_string())
            .unwrap_or_default()
    };
    let set_range = move |k: usize, text: String| {
        let current = signals.range.get_untracked();
        let scale = engine::with_engine(|e| e.scale());
        let (mut lo, mut hi) = current.or(scale.map(|s| (s.vmin, s.vmax))).unwrap_or((0.0, 1.0));
        match text.trim().parse::<f32>() {
            Ok(v) if v.is_finite() => {
                if k == 0 {
                    lo = v
                } else {
                    hi = v
                }
                if lo < hi {
                    change(Box::new(move || signals.range.set(Some((lo, hi)))));
                } else {
                    signals.url_notices.set(vec!["The colour range needs min < max".into()]);
                }
            }
            _ if text.trim().is_empty() => change(Box::new(move || signals.range.set(None))),
            _ => signals.url_notices.set(vec![format!("Colour range: '{text}' is not a number")]),
        }
    };
    view! {
        <div class="display-bar" role="group" aria-label="Display">
            <label>"view "
                <select data-testid="view-select" on:change=move |ev| {
                    let name = event_target_value(&ev);
                    change(Box::new(move || { signals.view.set(name); signals.range.set(None) }));
                }>{views}</select>
            </label>
            <label>"colormap "
                <select data-testid="colormap-select" on:change=move |ev| {
                    let name = event_target_value(&ev);
                    change(Box::new(move || signals.colormap.set(name)));
                }>
                    <option value="" selected=move || signals.colormap.get().is_empty()>"view default"</option>
                    {colormap::NAMES.iter().map(|&name| view! {
                        <option value=name selected=move || signals.colormap.get() == name>{name}</option>
                    }).collect_view()}
                </select>
            </label>
            <span class="range" role="group" aria-label="Colour range (empty: automatic)">
                "range "
                <input type="number" step="any" placeholder="auto" aria-label="Colour range minimum"
                    data-testid="range-min" prop:value=move || range_text(0)
                    on:change=move |ev| set_range(0, event_target_value(&ev)) />
                "–"
                <input type="number" step="any" placeholder="auto" aria-label="Colour range maximum"
                    data-testid="range-max" prop:value=move || range_text(1)
                    on:change=move |ev| set_range(1, event_target_value(&ev)) />
                <button aria-label="Automatic colour range" data-testid="range-auto"
                    on:click=move |_| change(Box::new(move || signals.range.set(None)))>"auto"</button>
            </span>
            {move || {
                signals.view.track();
                let sized = signals.particle_sized.get() && signals.view_spec().kind == ViewKind::Particles;
                sized.then(|| view! {
                    <label>"particle size "
                        <input type="range" min="0.5" max="2" step="0.05" data-testid="particle-size"
                            aria-label="Particle size"
                            prop:value=move || signals.particle_size.get().to_string()
                            on:input=move |ev| {
                                if let Ok(size) = event_target_value(&ev).parse::<f64>() {
                                    change(Box::new(move || signals.particle_size.set(size)));
                                }
                            } />
                    </label>
                })
            }}
            {move || {
                let spec = flowscope_cases::find(&signals.case_id.get()).ok()?;
                (spec.interactions.len() > 1).then(|| view! {
                    <label>"pointer "
                        <select data-testid="pointer-mode" on:change=move |ev| {
                            if let Ok(mode) = event_target_value(&ev).parse::<usize>() {
                                signals.pointer_mode.set(mode);
                            }
                        }>
                            {spec.interactions.iter().enumerate().map(|(k, kind)| view! {
                                <option value=k.to_string() selected=move || signals.pointer_mode.get() == k>
                                    {kind.label()}
                                </option>
                            }).collect_view()}
                        </select>
                    </label>
                })
            }}
            {move || has_vector().then(|| view! {
                <label>
                    <input type="checkbox" data-testid="arrows-toggle" prop:checked=move || signals.arrows.get()
                        on:change=move |ev| signals.arrows.set(event_target_checked(&ev)) />
                    " arrows"
                </label>
            })}
        </div>
    }
}

fn export_png(signals: Signals) {
    let options = SnapshotOptions { scale: None, colorbar: true, labels: true };
    match engine::with_engine(|e| crate::picture::snapshot(signals, e, options)) {
        Some(Ok(url)) => ui::download_url(&format!("{}.png", file_stem(signals)), &url),
        Some(Err(message)) => signals.url_notices.set(vec![message]),
        None => {}
    }
}

/// The record button's clip: the playing page for up to a minute, or until stopped.
const BUTTON_CLIP_SECONDS: f64 = 60.0;

/// Starts a clip from the button, or stops the one under way; the clip is downloaded.
fn toggle_recording(signals: Signals) {
    if signals.recording.get_untracked().is_some() {
        crate::record::stop();
        return;
    }
    let options = RecordOptions::seconds(BUTTON_CLIP_SECONDS);
    leptos::task::spawn_local(async move {
        let outcome = match crate::record::record(signals, options).await {
            Ok(clip) => {
                let extension = if clip.type_() == "image/gif" { "gif" } else { "webm" };
                web_sys::Url::create_object_url_with_blob(&clip)
                    .map(|url| {
                        ui::download_url(&format!("{}.{extension}", file_stem(signals)), &url);
                        let _ = web_sys::Url::revoke_object_url(&url);
                    })
                    .map_err(|e| format!("the clip cannot be saved: {e:?}"))
            }
            Err(message) => Err(message),
        };
        if let Err(message) = outcome {
            signals.url_notices.set(vec![format!("Recording: {message}")]);
        }
    });
}

fn export_csv(signals: Signals) {
    let csv = signals.history.get_untracked().to_csv(signals.spec());
    let name = format!("{}-observables.csv", file_stem(signals));
    if let Err(message) = ui::download(&name, csv.as_bytes(), "text/csv") {
        signals.url_notices.set(vec![message]);
    }
}

/// The fields of the current view as `.npy` (a vector view as its two components), in the
/// CLI's format.
fn export_npy(signals: Signals) {
    let view = signals.view_spec();
    let step = signals.hud.get_untracked().steps;
    for name in view.scalar_names() {
        let field = engine::with_engine(|e| e.sim.read_view(&name).map_err(|e| e.to_string()));
        let outcome = match field {
            Some(Ok(field)) => ui::download(
                &format!("{}-{name}_{step}.npy", file_stem(signals)),
                &field.to_npy(),
                "application/octet-stream",
            ),
            Some(Err(message)) => Err(message),
            None => Ok(()),
        };
        if let Err(message) = outcome {
            signals.url_notices.set(vec![format!("Export of '{name}': {message}")]);
        }
    }
}

/// The case's exchange file (a trained controller) as it stands, downloaded.
fn export_exchange(signals: Signals, file_name: &'static str) {
    let bytes = engine::with_engine(|e| e.sim.export_file().map_err(|e| e.to_string()));
    let outcome = match bytes {
        Some(Ok(bytes)) => ui::download(
            &format!("{}-{file_name}", file_stem(signals)),
            &bytes,
            "application/octet-stream",
        ),
        Some(Err(message)) => Err(message),
        None => Ok(()),
    };
    if let Err(message) = outcome {
        signals.url_notices.set(vec![format!("Export: {message}")]);
    }
}

/// Hands the file chosen in `input` to the running case; a file it refuses changes nothing and
/// says why.
fn import_exchange(signals: Signals, input: web_sys::HtmlInputElement) {
    let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
    // Choosing the same file again fires another change.
    input.set_value("");
    leptos::task::spawn_local(async move {
        let read = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
        let outcome = match read {
            Ok(buffer) => {
                let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                engine::with_engine(|e| e.sim.import_file(&bytes).map_err(|e| e.to_string()))
                    .unwrap_or(Ok(()))
            }
            Err(_) => Err(format!("cannot read {}", file.name())),
        };
        match outcome {
            Ok(()) => {
                signals.history.set(engine::History::default());
                engine::after_steps(signals);
            }
            Err(message) => signals.url_notices.set(vec![message]),
        }
    });
}

fn file_stem(signals: Signals) -> String {
    signals.case_id.get_untracked()
}

#[component]
pub fn ExportBar(signals: Signals) -> impl IntoView {
    let copied = RwSignal::new(None::<String>);
    let copy_link = move |_| {
        let link = crate::url::link(signals);
        let clipboard = ui::window().navigator().clipboard();
        let _ = clipboard.write_text(&link);
        copied.set(Some(link));
    };
    view! {
        <div class="export-bar" role="group" aria-label="Share and export">
            <button data-testid="btn-copy-link" on:click=copy_link>"Copy link"</button>
            <button data-testid="btn-export-png" on:click=move |_| export_png(signals)>"PNG"</button>
            <button data-testid="btn-record" aria-pressed=move || signals.recording.get().is_some().to_string()
                title="Record a clip of the view (up to a minute; click again to stop)"
                on:click=move |_| toggle_recording(signals)>
                {move || if signals.recording.get().is_some() { "■ Stop" } else { "● Record" }}
            </button>
            {move || signals.recording.get().map(|fraction| view! {
                <progress data-testid="record-progress" max="1" prop:value=fraction
                    aria-label="Recording" />
            })}
            <button data-testid="btn-export-csv" on:click=move |_| export_csv(signals)>"CSV"</button>
            <button data-testid="btn-export-npy" on:click=move |_| export_npy(signals)>".npy"</button>
            {move || signals.spec().exchange.as_ref().map(|exchange| {
                let (label, file_name) = (exchange.label, exchange.file_name);
                view! {
                    <button data-testid="btn-export-file" on:click=move |_| export_exchange(signals, file_name)>
                        {format!("Export {label}")}
                    </button>
                    <label class="import">
                        {format!("Import {label}")}
                        <input type="file" accept=".safetensors" data-testid="import-file"
                            on:change=move |ev| import_exchange(signals, event_target(&ev)) />
                    </label>
                }
            })}
            {move || copied.get().map(|link| view! {
                <input class="link" readonly data-testid="copied-link" aria-label="Link to this state"
                    prop:value=link />
            })}
        </div>
    }
}

/// Compare mode's controls: pick a parameter and two values; while comparing, the difference
/// view and the way out.
#[component]
pub fn CompareBar(signals: Signals) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let first = RwSignal::new(String::new());
    let second = RwSignal::new(String::new());
    let start = move || {
        let spec = signals.spec();
        let chosen = name.get_untracked();
        let param = spec.param(&chosen).or(spec.params.first());
        let Some(param) = param else { return };
        let current = signals.params.get_untracked().get(param.name).map(|v| v.to_string());
        let or_current = |text: String| {
            if text.trim().is_empty() {
                current.clone().unwrap_or_default()
            } else {
                text
            }
        };
        let values = [or_current(first.get_untracked()), or_current(second.get_untracked())];
        match crate::compare::Compare::new(spec, param.name, &values) {
            Ok(compare) => {
                signals.params.update(|p| {
                    let _ = p.set_text(spec.id, spec.params, &compare.name, &compare.values[0]);
                });
                signals.compare.set(Some(compare));
                engine::restart(signals);
            }
            Err(message) => signals.url_notices.set(vec![message]),
        }
    };
    let stop = move || {
        signals.compare.set(None);
        engine::restart(signals);
    };
    move || {
        match signals.compare.get() {
        Some(compare) => view! {
            <div class="compare-bar" role="group" aria-label="Compare" data-testid="compare-bar">
                <span>{format!("Comparing {}: {} | {}", compare.name, compare.values[0], compare.values[1])}</span>
                <label>
                    <input type="checkbox" data-testid="difference-toggle" prop:checked=move || signals.difference.get()
                        on:change=move |ev| { signals.difference.set(event_target_checked(&ev)); engine::apply_display(signals); } />
                    " difference"
                </label>
                <button data-testid="compare-end" on:click=move |_| stop()>"End compare"</button>
            </div>
        }
        .into_any(),
        None => {
            let spec = signals.spec();
            (spec.models.is_empty() && !spec.params.is_empty()).then(|| view! {
                <details class="compare-bar" data-testid="compare-bar">
                    <summary>"Compare two settings…"</summary>
                    <select aria-label="Parameter to compare" data-testid="compare-param"
                        on:change=move |ev| name.set(event_target_value(&ev))>
                        {spec.params.iter().map(|p| view! { <option value=p.name>{p.name}</option> }).collect_view()}
                    </select>
                    <input aria-label="First value" placeholder="value" data-testid="compare-a"
                        on:change=move |ev| first.set(event_target_value(&ev)) />
                    <input aria-label="Second value" placeholder="value" data-testid="compare-b"
                        on:change=move |ev| second.set(event_target_value(&ev)) />
                    <button data-testid="compare-start" on:click=move |_| start()>"Compare side by side"</button>
                </details>
            })
            .into_any()
        }
    }
    }
}
