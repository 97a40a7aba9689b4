//! The order things happen in. Start-up (choosing the GPU device and starting the first case),
//! device-loss recovery and the embed API's commands run one after another, in the order they
//! were asked for: a page script that loads cases the moment `window.flowscope` exists, or fires
//! loads without awaiting them, never meets a half-chosen backend or a device being replaced.
//!
//! The queue is held until start-up [`open`]s it; `window.flowscope.ready` is that moment.

use js_sys::{Function, Promise};
use std::cell::RefCell;
use std::future::Future;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

struct Queue {
    /// Settles (never rejects) once everything queued so far has run.
    tail: Promise,
    /// Resolves `ready`; taken by [`open`].
    open: Option<Function>,
    ready: Promise,
}

thread_local! {
    static QUEUE: RefCell<Queue> = RefCell::new({
        let mut open = None;
        let ready = Promise::new(&mut |resolve, _| open = Some(resolve));
        Queue { tail: ready.clone(), open, ready }
    });
}

/// `window.flowscope.ready`: resolves with the state once start-up is over.
pub fn ready() -> Promise {
    QUEUE.with(|q| q.borrow().ready.clone())
}

/// Ends start-up: `ready` resolves with `state`, and queued work starts to run.
pub fn open(state: &JsValue) {
    if let Some(resolve) = QUEUE.with(|q| q.borrow_mut().open.take()) {
        let _ = resolve.call1(&JsValue::UNDEFINED, state);
    }
}

/// After a panic: whatever was running will never finish, so the queue no longer waits for it
/// (or for start-up). The command that panicked gets no answer; later ones run.
pub fn abandon() {
    QUEUE.with(|q| {
        if let Ok(mut q) = q.try_borrow_mut() {
            q.tail = Promise::resolve(&JsValue::UNDEFINED);
            if let Some(resolve) = q.open.take() {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        }
    });
}

/// Runs `task` once start-up and everything queued before it have finished (whether they
/// succeeded or not). The promise settles with the task's outcome; a task's value that is
/// itself a promise is waited for.
pub fn queue<F, Fut>(task: F) -> Promise
where
    F: FnOnce() -> Fut + 'static,
    Fut: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    let previous = QUEUE.with(|q| q.borrow().tail.clone());
    let outcome = future_to_promise(async move {
        let _ = JsFuture::from(previous).await;
        let value = task().await?;
        match value.dyn_into::<Promise>() {
            Ok(promise) => JsFuture::from(promise).await,
            Err(value) => Ok(value),
        }
    });
    let settled = outcome.clone();
    let tail = future_to_promise(async move {
        let _ = JsFuture::from(settled).await;
        Ok(JsValue::UNDEFINED)
    });
    QUEUE.with(|q| q.borrow_mut().tail = tail);
    outcome
}
