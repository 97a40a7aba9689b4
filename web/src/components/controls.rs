//! The control bar: play/pause, step, reset, steps per frame, speed, the keyboard help, and the
//! performance readout with the backend switch. In embed mode `?controls=` picks which appear.

use crate::engine::{self, Signals};
use leptos::prelude::*;

/// Playback speeds offered (the fraction of frames that step).
const SPEEDS: &[(f64, &str)] = &[(1.0, "1×"), (0.5, "½×"), (0.25, "¼×"), (0.1, "⅒×")];

/// Which controls to show: all of them, or the embed's chosen few.
#[derive(Clone, Debug)]
pub struct Shown(pub Option<Vec<String>>);

impl Shown {
    pub fn has(&self, control: &str) -> bool {
        self.0.as_ref().is_none_or(|list| list.iter().any(|c| c == control))
    }
}

pub fn toggle_play(signals: Signals) {
    if signals.ready.get_untracked() {
        signals.playing.update(|p| *p = !*p);
    }
}

pub fn step_once(signals: Signals) {
    signals.playing.set(false);
    engine::step_now(signals, 1);
}

#[component]
pub fn ControlBar(signals: Signals, shown: Shown) -> impl IntoView {
    let hud = signals.hud;
    let help_open = RwSignal::new(false);
    let has = |c: &str| shown.has(c);
    view! {
        <div class="controls" role="toolbar" aria-label="Simulation controls">
            {has("play").then(|| view! {
                <button data-testid="btn-play" on:click=move |_| toggle_play(signals)
                    disabled=move || !signals.ready.get()
                    aria-keyshortcuts="Space"
                    aria-label=move || if signals.playing.get() { "Pause" } else { "Play" }>
                    {move || if signals.playing.get() { "❚❚ Pause" } else { "▶ Play" }}
                </button>
            })}
            {has("step").then(|| view! {
                <button data-testid="btn-step" aria-label="Step once" aria-keyshortcuts="ArrowRight"
                    on:click=move |_| step_once(signals)>"Step ▸"</button>
            })}
            {has("reset").then(|| view! {
                <button data-testid="btn-reset" aria-label="Reset" aria-keyshortcuts="r"
                    on:click=move |_| engine::restart(signals)>"↺ Reset"</button>
            })}
            {has("spf").then(|| view! {
                <label class="spf">
                    "steps/frame "
                    <input type="number" min="1" max="1000" data-testid="steps-per-frame"
                        prop:value=move || signals.steps_per_frame.get().to_string()
                        on:change=move |ev| {
                            let n = event_target_value(&ev).parse::<u32>().unwrap_or(1).clamp(1, 1000);
                            signals.steps_per_frame.set(n);
                        } />
                </label>
            })}
            {has("speed").then(|| view! {
                <label class="speed">
                    "speed "
                    <select data-testid="speed" on:change=move |ev| {
                        if let Ok(speed) = event_target_value(&ev).parse::<f64>() {
                            signals.speed.set(speed);
                        }
                    }>
                        {SPEEDS.iter().map(|&(value, label)| view! {
                            <option value=value.to_string() selected=move || signals.speed.get() == value>{label}</option>
                        }).collect_view()}
                    </select>
                </label>
            })}
            {has("time").then(|| view! {
                <span class="readout" data-testid="step-count" aria-live="off">
                    {move || format!("step {} · t = {:.4} s", hud.get().steps, hud.get().time)}
                </span>
            })}
            {has("help").then(|| view! {
                <span class="help">
                    <button data-testid="btn-help" aria-label="Keyboard shortcuts"
                        aria-expanded=move || help_open.get().to_string()
                        aria-controls="help-popover"
                        on:click=move |_| help_open.update(|o| *o = !*o)>"?"</button>
                    <div id="help-popover" class="popover" role="dialog" aria-label="Keyboard shortcuts"
                        data-testid="help-popover" hidden=move || !help_open.get()>
                        <dl>
                            <dt><kbd>"Space"</kbd></dt><dd>"play / pause"</dd>
                            <dt><kbd>"→"</kbd></dt><dd>"one step"</dd>
                            <dt><kbd>"r"</kbd></dt><dd>"reset"</dd>
                        </dl>
                        <p>"Shortcuts work whenever the focus is not in a text field."</p>
                    </div>
                </span>
            })}
        </div>
    }
}

/// fps, ms/step on the backend in use, grid or particle count, and the WebGPU/CPU switch.
#[component]
pub fn Hud(signals: Signals) -> impl IntoView {
    let hud = signals.hud;
    let switch = move || {
        let spec = flowscope_cases::find(&signals.case_id.get()).ok()?;
        (signals.gpu_available.get() && spec.gpu).then(|| view! {
            <label class="backend-switch">
                "backend "
                <select data-testid="backend-switch" on:change=move |ev| {
                    signals.prefer_cpu.set(event_target_value(&ev) == "cpu");
                    engine::restart(signals);
                }>
                    <option value="webgpu" selected=move || !signals.prefer_cpu.get()>"WebGPU"</option>
                    <option value="cpu" selected=move || signals.prefer_cpu.get()>"CPU"</option>
                </select>
            </label>
        })
    };
    view! {
        <div class="hud" data-testid="hud" aria-label="Performance">
            <span class="readout" data-testid="fps">{move || format!("{:.0} fps", hud.get().fps)}</span>
            <span class="readout" data-testid="ms-per-step">
                {move || {
                    let h = hud.get();
                    let backend = match h.backend {
                        Some(flowscope_core::Backend::Gpu) => "WebGPU",
                        _ => "CPU",
                    };
                    format!("{:.3} ms/step ({backend})", h.ms_per_step)
                }}
            </span>
            <span class="readout" data-testid="controls-grid">{move || hud.get().grid}</span>
            {switch}
        </div>
    }
}
