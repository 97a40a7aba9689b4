//! The parameter panel, generated from the case's schema: sliders with typed number inputs
//! (log scale where declared), selects for enums, and a mark on parameters that apply on reset.

use crate::engine::{self, Signals};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::ParamValue;
use leptos::prelude::*;

const SLIDER_STEPS: f64 = 1000.0;

/// Slider position in `[0, SLIDER_STEPS]` for a value.
fn to_slider(spec: &ParamSpec, value: f64) -> f64 {
    match spec.kind {
        ParamKind::Float { min, max, log: true, .. } => {
            (value.ln() - min.ln()) / (max.ln() - min.ln()) * SLIDER_STEPS
        }
        ParamKind::Float { min, max, .. } => (value - min) / (max - min) * SLIDER_STEPS,
        _ => value,
    }
}

fn from_slider(spec: &ParamSpec, position: f64) -> f64 {
    let t = position / SLIDER_STEPS;
    match spec.kind {
        ParamKind::Float { min, max, log: true, .. } => {
            (min.ln() + t * (max.ln() - min.ln())).exp()
        }
        ParamKind::Float { min, max, .. } => min + t * (max - min),
        _ => position,
    }
}

/// Three significant digits: what a slider can meaningfully set.
fn round_sig(value: f64) -> f64 {
    format!("{value:.2e}").parse().unwrap_or(value)
}

/// Short display form: plain decimals for ordinary magnitudes, scientific notation otherwise.
fn display(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 || (1e-3..1e5).contains(&magnitude) {
        format!("{}", round_sig(value))
    } else {
        let text = format!("{:.2e}", value);
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        format!("{mantissa}e{exponent}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_display_compactly() {
        assert_eq!(display(1e-4), "1e-4");
        assert_eq!(display(0.02), "0.02");
        assert_eq!(display(2.3841857910156e-3), "0.00238");
        assert_eq!(display(12345.0), "12300");
    }
}

#[component]
pub fn ParamPanel(signals: Signals) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let rows = move || {
        let spec = flowscope_cases::find(&signals.case_id.get()).ok()?;
        Some(spec.params.iter().map(|p| param_row(signals, p, error)).collect_view())
    };
    let presets = move || {
        let spec = flowscope_cases::find(&signals.case_id.get()).ok()?;
        let apply = move |name: String| match spec.preset(&name) {
            Ok(values) => {
                signals.params.set(values);
                engine::restart(signals);
            }
            Err(message) => error.set(Some(message.to_string())),
        };
        Some(view! {
            <label class="preset">"Preset "
                <select data-testid="preset-select" on:change=move |ev| apply(event_target_value(&ev))>
                    <option value="" selected=true disabled=true>"choose a setup…"</option>
                    {spec.presets.iter().map(|p| view! { <option value=p.name>{p.label}</option> }).collect_view()}
                </select>
            </label>
        })
    };
    view! {
        <section class="params" data-testid="params" aria-label="Parameters">
            <h2>"Parameters"</h2>
            {presets}
            {rows}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || (!signals.pending.get().is_empty()).then(|| view! {
                <p class="pending" data-testid="pending-reset">
                    "Changes marked ↺ apply on "
                    <button on:click=move |_| engine::restart(signals)>"reset"</button>
                </p>
            })}
        </section>
    }
}

fn param_row(
    signals: Signals,
    spec: &'static ParamSpec,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let apply = move |value: ParamValue| match engine::set_param(signals, spec.name, value) {
        Ok(()) => error.set(None),
        Err(message) => error.set(Some(message)),
    };
    let current = move || {
        signals.params.get().get(spec.name).cloned().unwrap_or_else(|| spec.default_value())
    };
    let pending = move || signals.pending.get().iter().any(|n| n == spec.name);
    let id = format!("param-{}", spec.name);
    let unit = (!spec.unit.is_empty()).then(|| format!(" [{}]", spec.unit));
    let input = match spec.kind {
        ParamKind::Enum { options, .. } => view! {
            <select id=id.clone() data-testid=id.clone()
                on:change=move |ev| apply(ParamValue::Enum(event_target_value(&ev)))>
                {options.iter().map(|&o| view! {
                    <option value=o selected=move || current() == ParamValue::Enum(o.to_string())>{o}</option>
                }).collect_view()}
            </select>
        }
        .into_any(),
        ParamKind::Int { min, max, .. } => {
            let as_int = move || match current() { ParamValue::Int(v) => v, _ => min };
            view! {
                <input type="range" min=min.to_string() max=max.to_string() step="1"
                    aria-label=spec.label prop:value=move || as_int().to_string()
                    on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse() { apply(ParamValue::Int(v)) }
                    } />
                <input type="number" id=id.clone() data-testid=id.clone() min=min.to_string() max=max.to_string()
                    prop:value=move || as_int().to_string()
                    on:change=move |ev| {
                        match event_target_value(&ev).parse() {
                            Ok(v) => apply(ParamValue::Int(v)),
                            Err(_) => error.set(Some(format!("{}: enter a whole number", spec.label))),
                        }
                    } />
            }
            .into_any()
        }
        ParamKind::Float { min, max, .. } => {
            let as_float = move || match current() { ParamValue::Float(v) => v, _ => min };
            view! {
                <input type="range" min="0" max=SLIDER_STEPS.to_string() step="1" aria-label=spec.label
                    prop:value=move || to_slider(spec, as_float()).to_string()
                    on:input=move |ev| {
                        if let Ok(p) = event_target_value(&ev).parse::<f64>() {
                            apply(ParamValue::Float(round_sig(from_slider(spec, p)).clamp(min, max)))
                        }
                    } />
                <input type="number" id=id.clone() data-testid=id.clone() step="any"
                    prop:value=move || display(as_float())
                    on:change=move |ev| {
                        match event_target_value(&ev).parse::<f64>() {
                            Ok(v) if v.is_finite() => apply(ParamValue::Float(v)),
                            _ => error.set(Some(format!("{}: enter a number", spec.label))),
                        }
                    } />
            }
            .into_any()
        }
    };
    view! {
        <div class="param" class:pending=pending title=spec.help>
            <label for=id>
                {spec.label}{unit}
                {spec.needs_reset.then(|| view! { <span class="reset-mark" title="applies on reset">" ↺"</span> })}
            </label>
            <div class="inputs">{input}</div>
            <button class="reset-one" aria-label=format!("Reset {} to its default", spec.label)
                on:click=move |_| apply(spec.default_value())>"⟲"</button>
        </div>
    }
}
