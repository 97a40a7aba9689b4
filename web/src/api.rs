//! `window.flowscope`: a small JS API for pages and tests (the subset of the embed API that
//! exists so far): `state()`, `step(n)` → Promise, `play()`, `pause()`, `reset()`,
//! `load(caseId, params)`. Bad input returns a rejected promise or throws a JS error with a
//! message; it never panics the app.

use crate::engine::{self, Signals};
use flowscope_core::ParamValue;
use js_sys::{Object, Promise, Reflect};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;

fn state(signals: Signals) -> JsValue {
    let hud = signals.hud.get_untracked();
    let object = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&object, &key.into(), &value);
    };
    set("case", signals.case_id.get_untracked().into());
    let params = Object::new();
    for (name, value) in signals.params.get_untracked().iter() {
        let value: JsValue = match value {
            ParamValue::Float(v) => (*v).into(),
            ParamValue::Int(v) => (*v as f64).into(),
            ParamValue::Enum(v) => v.as_str().into(),
        };
        let _ = Reflect::set(&params, &name.into(), &value);
    }
    set("params", params.into());
    set("step", (hud.steps as f64).into());
    set("time", hud.time.into());
    set("dt", hud.dt.into());
    set(
        "backend",
        hud.backend
            .map(|b| if b == flowscope_core::Backend::Gpu { "webgpu" } else { "cpu" })
            .into(),
    );
    set("display", engine::display().name().into());
    set("playing", signals.playing.get_untracked().into());
    set("msPerStep", hud.ms_per_step.into());
    set("error", signals.error.get_untracked().into());
    object.into()
}

/// A promise that resolves with the state once all submitted GPU work has finished.
fn when_done(signals: Signals) -> Promise {
    let Some(gpu) = engine::gpu() else { return Promise::resolve(&state(signals)) };
    let (sender, receiver) = futures_channel::oneshot::channel::<()>();
    gpu.queue.on_submitted_work_done(move || {
        let _ = sender.send(());
    });
    wasm_bindgen_futures::future_to_promise(async move {
        receiver.await.map_err(|_| JsValue::from_str("the GPU device went away"))?;
        Ok(state(signals))
    })
}

fn load(signals: Signals, case_id: String, params: JsValue) -> Result<(), String> {
    let spec = flowscope_cases::find(&case_id)?;
    let mut values = spec.defaults();
    if params.is_object() {
        let object: Object = params.clone().unchecked_into();
        for key in Object::keys(&object).iter() {
            let name = key.as_string().unwrap_or_default();
            let value = Reflect::get(&params, &key).map_err(|_| format!("cannot read '{name}'"))?;
            let text = value.as_string().or_else(|| value.as_f64().map(|v| v.to_string()));
            let text =
                text.ok_or_else(|| format!("parameter '{name}' must be a number or string"))?;
            spec.set_text(&mut values, &name, &text).map_err(|e| e.to_string())?;
        }
    }
    engine::load_case(signals, spec, values);
    match signals.error.get_untracked() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

pub fn install(signals: Signals) {
    let api = Object::new();
    let define = |name: &str, function: JsValue| {
        let _ = Reflect::set(&api, &name.into(), &function);
    };
    define("state", Closure::<dyn Fn() -> JsValue>::new(move || state(signals)).into_js_value());
    define(
        "step",
        Closure::<dyn Fn(JsValue) -> Promise>::new(move |n: JsValue| {
            let n = n.as_f64().unwrap_or(1.0);
            if !(1.0..=100_000.0).contains(&n) {
                return Promise::reject(&"step(n): n must be between 1 and 100000".into());
            }
            signals.playing.set(false);
            engine::step_now(signals, n as u32);
            when_done(signals)
        })
        .into_js_value(),
    );
    define("play", Closure::<dyn Fn()>::new(move || signals.playing.set(true)).into_js_value());
    define("pause", Closure::<dyn Fn()>::new(move || signals.playing.set(false)).into_js_value());
    define(
        "reset",
        Closure::<dyn Fn() -> Promise>::new(move || {
            engine::restart(signals);
            when_done(signals)
        })
        .into_js_value(),
    );
    define(
        "load",
        Closure::<dyn Fn(JsValue, JsValue) -> Promise>::new(
            move |case: JsValue, params: JsValue| {
                let Some(case) = case.as_string() else {
                    return Promise::reject(
                        &"load(caseId, params): caseId must be a string".into(),
                    );
                };
                match load(signals, case, params) {
                    Ok(()) => when_done(signals),
                    Err(message) => Promise::reject(&message.into()),
                }
            },
        )
        .into_js_value(),
    );
    // Test hook: proves that a panic reaches the error overlay instead of killing the page.
    define(
        "__test_panic",
        Closure::<dyn Fn()>::new(|| {
            panic!("test panic requested through window.flowscope.__test_panic()")
        })
        .into_js_value(),
    );
    let _ = Reflect::set(&crate::ui::window(), &"flowscope".into(), &api);
}
