//! The embed API (contract, docs/EMBEDDING.md): `window.flowscope` for same-origin pages and the
//! same commands over `postMessage` for cross-origin iframes.
//!
//! Commands: `load(caseId, params)`, `set(name, value)`, `play()`, `pause()`, `step(n)`,
//! `reset()`, `state()`, `observables()`, `snapshot(options)`, `record(options)`,
//! `stopRecording()`, and `ready` (a promise; over postMessage a `ready` command, and a
//! `flowscope-ready` message to the embedding page). Bad input is an error with a message (a
//! rejected promise, a thrown JS error or an error reply); it never panics the app. The
//! asynchronous commands (`load`, `set`, `step`, `reset`, `record`) run one after another in the
//! order they were called, after start-up (see [`crate::gate`]).

use crate::command::{Command, SnapshotOptions};
use crate::engine::{self, Signals};
use crate::gate;
use flowscope_core::{CaseSpec, ParamValue};
use js_sys::{Array, Object, Promise, Reflect};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;

fn set_key(object: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(object, &key.into(), &value);
}

fn param_to_js(value: &ParamValue) -> JsValue {
    match value {
        ParamValue::Float(v) => (*v).into(),
        ParamValue::Int(v) => (*v as f64).into(),
        ParamValue::Enum(v) => v.as_str().into(),
    }
}

/// `{case, params, step, time, backend, …}`.
pub fn state(signals: Signals) -> JsValue {
    engine::refresh_hud(signals);
    let hud = signals.hud.get_untracked();
    let object = Object::new();
    set_key(&object, "case", signals.case_id.get_untracked().into());
    let params = Object::new();
    for (name, value) in signals.params.get_untracked().iter() {
        set_key(&params, name, param_to_js(value));
    }
    set_key(&object, "params", params.into());
    set_key(&object, "step", (hud.steps as f64).into());
    set_key(&object, "time", hud.time.into());
    set_key(&object, "dt", hud.dt.into());
    let backend =
        hud.backend.map(|b| if b == flowscope_core::Backend::Gpu { "webgpu" } else { "cpu" });
    set_key(&object, "backend", backend.into());
    set_key(&object, "display", engine::display().name().into());
    // Why the backend is not the one asked for, or how it displays (null when nothing to say).
    set_key(&object, "backendNote", signals.backend_note.get_untracked().into());
    set_key(&object, "threads", (flowscope_parallel::threads() as f64).into());
    set_key(&object, "view", signals.view.get_untracked().into());
    let colormap = signals.colormap.get_untracked();
    let colormap =
        if colormap.is_empty() { signals.view_spec().colormap.to_string() } else { colormap };
    set_key(&object, "colormap", colormap.into());
    set_key(&object, "playing", signals.playing.get_untracked().into());
    set_key(&object, "msPerStep", hud.ms_per_step.into());
    set_key(&object, "fps", hud.fps.into());
    set_key(&object, "firstFrameMs", signals.first_frame_ms.get_untracked().into());
    set_key(&object, "error", signals.error.get_untracked().into());
    // The case's long work under way ({label, fraction}), or null.
    let progress = hud.progress.map(|(label, fraction)| {
        let progress = Object::new();
        set_key(&progress, "label", label.into());
        set_key(&progress, "fraction", fraction.into());
        JsValue::from(progress)
    });
    set_key(&object, "progress", progress.unwrap_or(JsValue::NULL));
    // Compare mode: what is compared, the second side's time, the largest difference drawn.
    let compare = signals.compare.get_untracked().map(|compare| {
        let object = Object::new();
        set_key(&object, "name", compare.name.as_str().into());
        let values: Array = compare.values.iter().map(|v| JsValue::from(v.as_str())).collect();
        set_key(&object, "values", values.into());
        set_key(&object, "difference", signals.difference.get_untracked().into());
        let largest = signals.max_difference.get_untracked().map(f64::from);
        set_key(&object, "maxDifference", largest.map_or(JsValue::NULL, JsValue::from));
        let history = signals.compare_history.get_untracked();
        set_key(&object, "time", history.time.last().copied().map_or(JsValue::NULL, JsValue::from));
        JsValue::from(object)
    });
    set_key(&object, "compare", compare.unwrap_or(JsValue::NULL));
    // The module's memory (it grows and never shrinks): what a soak test watches.
    let buffer = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer();
    let bytes = Reflect::get(&buffer, &"byteLength".into()).unwrap_or(JsValue::NULL);
    set_key(&object, "memoryBytes", bytes);
    object.into()
}

/// `{name: [values]}` for every observable since the last reset, plus `step` and `time`; in
/// compare mode the second side's under `compare`.
fn observables(signals: Signals) -> JsValue {
    let object = history_object(signals, &signals.history.get_untracked());
    if signals.compare.get_untracked().is_some() {
        let twin = history_object(signals, &signals.compare_history.get_untracked());
        set_key(&object, "compare", twin.into());
    }
    object.into()
}

fn history_object(signals: Signals, history: &engine::History) -> Object {
    let object = Object::new();
    let array = |values: &[f64]| values.iter().map(|&v| JsValue::from(v)).collect::<Array>();
    let steps: Vec<f64> = history.step.iter().map(|&s| s as f64).collect();
    set_key(&object, "step", array(&steps).into());
    set_key(&object, "time", array(&history.time).into());
    for (spec, values) in signals.spec().observables.iter().zip(&history.values) {
        set_key(&object, spec.name, array(values).into());
    }
    object
}

/// A promise that resolves with the state once all submitted GPU work has finished and the case
/// has taken in what it reads back.
fn when_done(signals: Signals) -> Promise {
    let Some(gpu) = engine::gpu() else { return Promise::resolve(&state(signals)) };
    let (sender, receiver) = futures_channel::oneshot::channel::<()>();
    gpu.queue.on_submitted_work_done(move || {
        let _ = sender.send(());
    });
    wasm_bindgen_futures::future_to_promise(async move {
        receiver.await.map_err(|_| JsValue::from_str("the GPU device went away"))?;
        engine::settled(signals).await;
        Ok(state(signals))
    })
}

/// JS arguments as JSON values (`undefined` as null), for [`Command::decode`].
fn json_args(values: &[JsValue]) -> Result<Vec<serde_json::Value>, String> {
    values
        .iter()
        .map(|value| {
            if value.is_undefined() {
                return Ok(serde_json::Value::Null);
            }
            // JSON has no NaN or infinity: serde would read them as null.
            if value.as_f64().is_some_and(|x| !x.is_finite()) {
                return Err("arguments must be finite numbers, strings or objects".to_string());
            }
            serde_wasm_bindgen::from_value(value.clone())
                .map_err(|e| format!("arguments must be JSON-like values: {e}"))
        })
        .collect()
}

fn load(
    signals: Signals,
    case_id: &str,
    params: &[(String, String)],
) -> Result<&'static CaseSpec, String> {
    let spec = flowscope_cases::find(case_id)?;
    let mut values = spec.defaults();
    for (name, text) in params {
        spec.set_text(&mut values, name, text).map_err(|e| e.to_string())?;
    }
    engine::load_case(signals, spec, values);
    signals.error.get_untracked().map_or(Ok(spec), Err)
}

/// Settles once the loaded case runs: at once, or for a learned case once its model files are
/// fetched (rejecting when they cannot be).
fn when_loaded(signals: Signals, spec: &'static CaseSpec) -> Promise {
    if spec.models.is_empty() {
        return when_done(signals);
    }
    wasm_bindgen_futures::future_to_promise(async move {
        crate::models::fetch_case_files(signals, spec)
            .await
            .map_err(|e| JsValue::from(js_sys::Error::new(&e)))?;
        if let Some(error) = signals.error.get_untracked() {
            return Err(js_sys::Error::new(&error).into());
        }
        wasm_bindgen_futures::JsFuture::from(when_done(signals)).await
    })
}

fn set(signals: Signals, name: &str, text: &str) -> Result<(), String> {
    let spec = signals.spec();
    let param = spec.param(name).ok_or_else(|| {
        let known: Vec<_> = spec.params.iter().map(|p| p.name).collect();
        format!("'{}' has no parameter '{name}'; it has: {}", spec.id, known.join(", "))
    })?;
    let value = param.parse(text).map_err(|e| e.to_string())?;
    engine::set_param(signals, name, value)
}

/// Wall time `step(n)` steps before it gives the page a turn.
const STEP_SLICE_MS: f64 = 40.0;
/// Steps taken in one call at most (a GPU case records at most this many into its command
/// buffers before the page has a turn).
const STEP_CHUNK: u32 = 64;

thread_local! {
    /// Counts `pause()` calls: a running `step(n)` that sees it change stops early.
    static PAUSES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// `step(n)`: the steps in slices of about [`STEP_SLICE_MS`], the page getting a turn between
/// them (it stays responsive, and `pause()` stops the rest); settles with the state once they
/// have run and the GPU has finished them.
fn step(signals: Signals, n: u32) -> Promise {
    signals.playing.set(false);
    let pauses = PAUSES.with(std::cell::Cell::get);
    let paused = move || PAUSES.with(std::cell::Cell::get) != pauses;
    wasm_bindgen_futures::future_to_promise(async move {
        let mut left = n;
        while left > 0 && !paused() && signals.error.get_untracked().is_none() {
            let started = crate::ui::now_ms();
            while left > 0 && crate::ui::now_ms() - started < STEP_SLICE_MS {
                let chunk = left.min(STEP_CHUNK);
                if !engine::step_quietly(signals, chunk) {
                    break;
                }
                left -= chunk;
            }
            if left > 0 {
                if let Some(gpu) = engine::gpu() {
                    // The device catches up before more is submitted.
                    let (sender, receiver) = futures_channel::oneshot::channel::<()>();
                    gpu.queue.on_submitted_work_done(move || {
                        let _ = sender.send(());
                    });
                    let _ = receiver.await;
                }
                engine::yield_to_page().await;
            }
        }
        engine::after_steps(signals);
        if let Some(error) = signals.error.get_untracked() {
            return Err(JsValue::from_str(&error));
        }
        wasm_bindgen_futures::JsFuture::from(when_done(signals)).await
    })
}

fn snapshot(signals: Signals, options: SnapshotOptions) -> Result<JsValue, String> {
    engine::with_engine(|e| crate::picture::snapshot(signals, e, options))
        .ok_or("no simulation is running yet (await window.flowscope.ready)")?
        .map(JsValue::from)
}

/// An asynchronous command, queued behind start-up and earlier commands (see [`crate::gate`]):
/// its promise settles with what `command` returns (a value or a promise of one) or rejects
/// with its message.
fn queued(
    signals: Signals,
    command: impl FnOnce() -> Result<JsValue, String> + 'static,
) -> Result<JsValue, String> {
    Ok(gate::queue(move || async move {
        engine::recover_if_lost(signals).await;
        command().map_err(JsValue::from)
    })
    .into())
}

/// [`queued`], for a command on the current case: a learned case picked by a click starts
/// once its model files are here, and the command waits for that (it would otherwise act on
/// no simulation at all); it rejects when they cannot be fetched.
fn queued_on_case(
    signals: Signals,
    command: impl FnOnce() -> Result<JsValue, String> + 'static,
) -> Result<JsValue, String> {
    Ok(gate::queue(move || async move {
        engine::recover_if_lost(signals).await;
        // The case's own start is the first waiter on its files: it has run when this resumes.
        crate::models::fetch_case_files(signals, signals.spec()).await?;
        command().map_err(JsValue::from)
    })
    .into())
}

/// Runs one command; the result is a value or a promise of one.
pub fn run(signals: Signals, command: Command) -> Result<JsValue, String> {
    match command {
        Command::Load { case, params } => queued(signals, move || {
            load(signals, &case, &params).map(|spec| when_loaded(signals, spec).into())
        }),
        Command::Set { name, value } => {
            queued_on_case(signals, move || set(signals, &name, &value).map(|()| state(signals)))
        }
        Command::Play => {
            signals.playing.set(true);
            Ok(JsValue::UNDEFINED)
        }
        Command::Pause => {
            signals.playing.set(false);
            PAUSES.with(|p| p.set(p.get() + 1));
            Ok(JsValue::UNDEFINED)
        }
        Command::Step(n) => queued_on_case(signals, move || Ok(step(signals, n).into())),
        Command::Reset => queued_on_case(signals, move || {
            engine::restart(signals);
            Ok(when_done(signals).into())
        }),
        Command::State => Ok(state(signals)),
        Command::Ready => Ok(gate::ready().into()),
        Command::Observables => Ok(observables(signals)),
        Command::Snapshot(options) => snapshot(signals, options),
        Command::Record(options) => queued_on_case(signals, move || {
            let clip = crate::record::record(signals, options);
            Ok(wasm_bindgen_futures::future_to_promise(async move {
                clip.await.map(JsValue::from).map_err(JsValue::from)
            })
            .into())
        }),
        Command::Compare(args) => queued(signals, move || {
            let compare = match args {
                Some(args) => {
                    let compare =
                        crate::compare::Compare::new(signals.spec(), &args.name, &args.values)?;
                    signals.difference.set(args.difference);
                    Some(compare)
                }
                None => None,
            };
            // The first side takes the first value, the parameter panel with it.
            if let Some(compare) = &compare {
                let spec = signals.spec();
                signals.params.update(|p| {
                    let _ = p.set_text(spec.id, spec.params, &compare.name, &compare.values[0]);
                });
            }
            signals.compare.set(compare);
            engine::restart(signals);
            if let Some(error) = signals.error.get_untracked() {
                signals.compare.set(None);
                return Err(error);
            }
            Ok(when_done(signals).into())
        }),
        Command::StopRecording => {
            crate::record::stop();
            Ok(JsValue::UNDEFINED)
        }
    }
}

/// Decodes and runs command `name` with JS arguments `args`.
fn run_named(signals: Signals, name: &str, args: &[JsValue]) -> Result<JsValue, String> {
    run(signals, Command::decode(name, &json_args(args)?)?)
}

/// Who may drive the page over postMessage (contract, docs/EMBEDDING.md).
#[derive(Clone, Debug, PartialEq)]
enum Senders {
    /// The page that embeds this one, whatever its origin (the default).
    Parent,
    /// Any window of these origins (`?origins=https://a.edu,https://b.org`).
    Origins(Vec<String>),
    /// Any window at all (`?origins=*`).
    Any,
}

impl Senders {
    /// From the `origins` query parameter's (decoded) value.
    fn parse(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            None | Some("") => Senders::Parent,
            Some("*") => Senders::Any,
            Some(list) => Senders::Origins(
                list.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_string())
                    .filter(|o| !o.is_empty())
                    .collect(),
            ),
        }
    }

    fn from_url() -> Self {
        let value = crate::ui::query_param("origins").map(|v| {
            js_sys::decode_uri_component(&v).ok().and_then(|s| s.as_string()).unwrap_or(v)
        });
        Self::parse(value.as_deref())
    }

    fn allow(&self, source: &JsValue, origin: &str) -> bool {
        match self {
            Senders::Any => true,
            Senders::Origins(list) => list.iter().any(|o| o == origin),
            Senders::Parent => {
                let window = crate::ui::window();
                match window.parent() {
                    Ok(Some(parent)) => {
                        !Object::is(&parent, &window) && Object::is(&parent, source)
                    }
                    _ => false,
                }
            }
        }
    }
}

/// Messages answered per second at most; more get an error reply (a page stuck in a loop must
/// not keep the tab busy).
const MESSAGES_PER_SECOND: u32 = 200;
/// The largest `args` of a message, as JSON.
const MAX_ARGS_BYTES: u32 = 16 * 1024;

thread_local! {
    static SENDERS: Senders = Senders::from_url();
    /// When the messages of the last second were answered (ms), oldest first.
    static RATE: std::cell::RefCell<std::collections::VecDeque<f64>> =
        const { std::cell::RefCell::new(std::collections::VecDeque::new()) };
    /// Origins already warned about (one console warning each).
    static WARNED: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether another message may be answered now: at most [`MESSAGES_PER_SECOND`] in any second
/// (a sliding window: a fixed one lets twice as many through across its boundary).
fn within_rate() -> bool {
    let now = crate::ui::now_ms();
    RATE.with(|rate| {
        let mut answered = rate.borrow_mut();
        while answered.front().is_some_and(|&t| now - t >= 1000.0) {
            answered.pop_front();
        }
        if answered.len() >= MESSAGES_PER_SECOND as usize {
            return false;
        }
        answered.push_back(now);
        true
    })
}

/// Answers a `postMessage` request `{type: "flowscope", id, command, args}` with
/// `{type: "flowscope-reply", id, ok, result | error}`; other messages are not ours and ignored.
/// Only the senders the URL allows are answered (see [`Senders`]); others get a console warning.
fn on_message(signals: Signals, event: &web_sys::MessageEvent) {
    let data = event.data();
    let field = |key: &str| Reflect::get(&data, &key.into()).unwrap_or(JsValue::UNDEFINED);
    if !data.is_object() || field("type").as_string().as_deref() != Some("flowscope") {
        return;
    }
    // The sender's window lives in another realm (often another origin), where `instanceof
    // Window` fails: it is a window by the message spec, so it is taken as one unchecked.
    let Some(source) = event.source().map(|s| s.unchecked_into::<web_sys::Window>()) else {
        return;
    };
    if !SENDERS.with(|senders| senders.allow(&source, &event.origin())) {
        let origin = event.origin();
        let first = WARNED.with(|warned| {
            let mut warned = warned.borrow_mut();
            let first = !warned.contains(&origin);
            if first {
                warned.push(origin.clone());
            }
            first
        });
        if first {
            web_sys::console::warn_1(
                &format!(
                    "Flowscope: ignoring commands from {origin}: this page answers {} (see the \
                     'origins' URL parameter in docs/EMBEDDING.md)",
                    SENDERS.with(|s| match s {
                        Senders::Parent => "only the page that embeds it".to_string(),
                        Senders::Origins(list) => format!("only {}", list.join(", ")),
                        Senders::Any => "everyone".to_string(),
                    })
                )
                .into(),
            );
        }
        return;
    }
    let origin = match event.origin().as_str() {
        "" | "null" => "*".to_string(),
        origin => origin.to_string(),
    };
    let id = field("id");
    let reply = move |outcome: Result<JsValue, JsValue>| {
        let message = Object::new();
        set_key(&message, "type", "flowscope-reply".into());
        set_key(&message, "id", id.clone());
        set_key(&message, "ok", outcome.is_ok().into());
        match outcome {
            Ok(result) => set_key(&message, "result", result),
            Err(error) => set_key(&message, "error", error),
        }
        let _ = source.post_message(&message, &origin);
    };
    let args = field("args");
    // What cannot be written as JSON (a cycle) counts as too large.
    let args_bytes = match args.is_undefined() {
        true => 0,
        false => js_sys::JSON::stringify(&args).map_or(u32::MAX, |text| text.length()),
    };
    let args = if args.is_undefined() { Ok(Array::new()) } else { args.dyn_into::<Array>() };
    let args = args.map(|args| args.iter().collect::<Vec<_>>());
    let outcome = match (field("command").as_string(), args) {
        _ if !within_rate() => Err(format!(
            "too many messages: this page answers at most {MESSAGES_PER_SECOND} a second"
        )),
        _ if args_bytes > MAX_ARGS_BYTES => Err(format!(
            "'args' is {args_bytes} characters as JSON; at most {MAX_ARGS_BYTES} are accepted"
        )),
        (None, _) => Err("a message needs a string 'command'".to_string()),
        (_, Err(_)) => Err("'args' must be an array".to_string()),
        (Some(command), Ok(args)) => run_named(signals, &command, &args),
    };
    match outcome {
        Err(message) => reply(Err(message.into())),
        Ok(value) if value.is_instance_of::<Promise>() => {
            let promise: Promise = value.unchecked_into();
            wasm_bindgen_futures::spawn_local(async move {
                reply(wasm_bindgen_futures::JsFuture::from(promise).await)
            });
        }
        Ok(value) => reply(Ok(value)),
    }
}

/// Tells the page that embeds this one (if any) that start-up is over:
/// `{type: "flowscope-ready", state}`, the postMessage twin of `window.flowscope.ready`.
pub fn announce_ready(state: &JsValue) {
    let window = crate::ui::window();
    let Ok(Some(parent)) = window.parent() else { return };
    if parent == window {
        return;
    }
    let message = Object::new();
    set_key(&message, "type", "flowscope-ready".into());
    set_key(&message, "state", state.clone());
    let _ = parent.post_message(&message, "*");
}

pub fn install(signals: Signals) {
    let api = Object::new();
    // Synchronous commands return their value or throw; the others return promises.
    let define = |name: &'static str, asynchronous: bool| {
        let function =
            Closure::<dyn Fn(JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
                move |a: JsValue, b: JsValue, c: JsValue| match run_named(signals, name, &[a, b, c])
                {
                    Ok(value) if asynchronous && !value.is_instance_of::<Promise>() => {
                        Ok(Promise::resolve(&value).into())
                    }
                    Ok(value) => Ok(value),
                    Err(message) if asynchronous => Ok(Promise::reject(&message.into()).into()),
                    Err(message) => Err(js_sys::Error::new(&message).into()),
                },
            );
        set_key(&api, name, function.into_js_value());
    };
    for name in ["load", "set", "step", "reset", "record", "compare"] {
        define(name, true);
    }
    for name in ["play", "pause", "state", "observables", "snapshot", "stopRecording"] {
        define(name, false);
    }
    // The browser tests' hooks, compiled into the test command's site only (never shipped).
    if option_env!("FLOWSCOPE_TEST_HOOKS").is_some() {
        // Proves that a panic (here while the app state is in use) reaches the error overlay
        // instead of killing the page, and that the app works again after it.
        set_key(
            &api,
            "__test_panic",
            Closure::<dyn Fn()>::new(engine::panic_in_use).into_js_value(),
        );
        // Loses the GPU device as a driver reset would, to prove the app recovers.
        set_key(
            &api,
            "__test_lose_device",
            Closure::<dyn Fn()>::new(engine::lose_device).into_js_value(),
        );
    }
    set_key(&api, "ready", gate::ready().into());
    set_key(&api, "nn", crate::models::api(signals));
    let _ = Reflect::set(&crate::ui::window(), &"flowscope".into(), &api);
    let listener = gloo_events::EventListener::new(&crate::ui::window(), "message", move |event| {
        if let Some(event) = event.dyn_ref::<web_sys::MessageEvent>() {
            on_message(signals, event);
        }
    });
    listener.forget();
}

#[cfg(test)]
mod tests {
    use super::Senders;

    #[test]
    fn the_origins_parameter_names_who_may_send_commands() {
        assert_eq!(Senders::parse(None), Senders::Parent);
        assert_eq!(Senders::parse(Some("")), Senders::Parent);
        assert_eq!(Senders::parse(Some("*")), Senders::Any);
        assert_eq!(
            Senders::parse(Some("https://a.edu/, https://b.org")),
            Senders::Origins(vec!["https://a.edu".into(), "https://b.org".into()])
        );
    }
}
