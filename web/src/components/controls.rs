//! Play/pause, step, reset, steps per frame, and the performance readout.

use crate::engine::{self, Signals};
use leptos::prelude::*;

#[component]
pub fn ControlBar(signals: Signals) -> impl IntoView {
    let toggle = move |_| signals.playing.update(|p| *p = !*p);
    let hud = signals.hud;
    view! {
        <div class="controls" role="toolbar" aria-label="Simulation controls">
            <button data-testid="btn-play" on:click=toggle disabled=move || !signals.ready.get()
                aria-label=move || if signals.playing.get() { "Pause" } else { "Play" }>
                {move || if signals.playing.get() { "❚❚ Pause" } else { "▶ Play" }}
            </button>
            <button data-testid="btn-step" aria-label="Step once"
                on:click=move |_| { signals.playing.set(false); engine::step_now(signals, 1) }>
                "Step ▸"
            </button>
            <button data-testid="btn-reset" aria-label="Reset" on:click=move |_| engine::restart(signals)>
                "↺ Reset"
            </button>
            <label class="spf">
                "steps/frame "
                <input type="number" min="1" max="1000" data-testid="steps-per-frame"
                    prop:value=move || signals.steps_per_frame.get().to_string()
                    on:change=move |ev| {
                        let n = event_target_value(&ev).parse::<u32>().unwrap_or(1).clamp(1, 1000);
                        signals.steps_per_frame.set(n);
                    } />
            </label>
            <span class="readout" data-testid="step-count">
                {move || format!("step {} · t = {:.4} s", hud.get().steps, hud.get().time)}
            </span>
            <span class="readout" data-testid="fps">{move || format!("{:.0} fps", hud.get().fps)}</span>
            <span class="readout" data-testid="ms-per-step">
                {move || format!("{:.3} ms/step", hud.get().ms_per_step)}
            </span>
            <span class="readout" data-testid="controls-grid">{move || hud.get().grid}</span>
        </div>
    }
}
