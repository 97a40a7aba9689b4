//! Networks in the browser. A model file is fetched when first needed, its progress shown as a
//! bar; a file of the site's own `models/` is checked against `models/manifest.json` (size and
//! sha256) before use; the network then runs on the CPU or, with WebGPU, on the device the
//! solvers use. `window.flowscope.nn` reaches it from JS (docs/EMBEDDING.md).

use crate::engine::{self, Signals};
use crate::ui;
use flowscope_cases::ModelFiles;
use flowscope_core::CaseSpec;
use flowscope_nn::weights::{check_manifest_entry, Manifest};
use flowscope_nn::{Config, GpuModel, Model, Tensor};
use js_sys::{Array, Float32Array, Object, Promise, Reflect, Uint8Array};
use leptos::prelude::*;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

/// The site's model folder and its manifest (contract: `public/models/manifest.json`).
const MODELS: &str = "models/";
const MANIFEST: &str = "models/manifest.json";

/// A download under way, for the progress bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Download {
    pub label: String,
    pub loaded: f64,
    /// Bytes in all, when the server says.
    pub total: Option<f64>,
}

fn js_message(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

async fn fetch(url: &str) -> Result<web_sys::Response, String> {
    let response = JsFuture::from(ui::window().fetch_with_str(url))
        .await
        .map_err(|e| format!("cannot fetch {url}: {}", js_message(&e)))?;
    let response: web_sys::Response =
        response.dyn_into().map_err(|_| format!("{url}: the answer is not an HTTP response"))?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {} {}", response.status(), response.status_text()));
    }
    Ok(response)
}

/// The largest model file a page downloads: far above the shipped ones (a few MB), far below
/// what a tab can hold.
const MAX_MODEL_BYTES: usize = 256 << 20;

fn too_large(url: &str) -> String {
    format!("{url}: larger than {} MB, the most a page loads", MAX_MODEL_BYTES >> 20)
}

/// What to reserve for a download that announces `total` bytes (nothing is reserved on trust
/// beyond the cap; a larger announcement is refused before any byte arrives).
fn capacity(url: &str, total: Option<f64>) -> Result<usize, String> {
    match total {
        Some(t) if t > MAX_MODEL_BYTES as f64 => Err(too_large(url)),
        Some(t) if t >= 0.0 => Ok(t as usize),
        _ => Ok(0),
    }
}

/// The body of `url`, calling `progress(bytes so far, bytes in all if known)` as it arrives.
async fn fetch_bytes(
    url: &str,
    mut progress: impl FnMut(f64, Option<f64>),
) -> Result<Vec<u8>, String> {
    let response = fetch(url).await?;
    let total =
        response.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<f64>().ok());
    let Some(body) = response.body() else { return Ok(Vec::new()) };
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(capacity(url, total)?);
    progress(0.0, total);
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("{url}: the download broke off: {}", js_message(&e)))?;
        let done = Reflect::get(&chunk, &"done".into()).ok().and_then(|d| d.as_bool());
        if done != Some(false) {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into())
            .map_err(|_| format!("{url}: a chunk without data"))?
            .unchecked_into();
        let start = bytes.len();
        if start + value.length() as usize > MAX_MODEL_BYTES {
            let _ = reader.cancel();
            return Err(too_large(url));
        }
        bytes.resize(start + value.length() as usize, 0);
        value.copy_to(&mut bytes[start..]);
        progress(bytes.len() as f64, total);
    }
    Ok(bytes)
}

/// Checks a file of the site's `models/` against its manifest entry.
async fn check_with_manifest(file: &str, bytes: &[u8]) -> Result<(), String> {
    let text = fetch(MANIFEST).await?.text().map_err(|e| js_message(&e))?;
    let text = JsFuture::from(text).await.map_err(|e| js_message(&e))?.as_string();
    let manifest = Manifest::parse(&text.unwrap_or_default()).map_err(|e| e.to_string())?;
    let entry = manifest
        .models
        .iter()
        .find(|m| m.file == file)
        .ok_or_else(|| format!("{MODELS}{file} is not listed in {MANIFEST}"))?;
    check_manifest_entry(bytes, entry.bytes, &entry.sha256)
        .map_err(|e| format!("{MODELS}{file}: {e}"))
}

/// A model recorded on one device for one input shape.
struct Recording {
    shape: Vec<usize>,
    device: flowscope_gpu::wgpu::Device,
    model: Rc<GpuModel>,
}

/// A model ready to run: its CPU network and, once asked for, its GPU recording for one input
/// shape on the page's current device (a new shape, or a device that replaced a lost one,
/// records anew).
pub struct LoadedModel {
    pub url: String,
    pub config: Config,
    pub bytes: usize,
    model: Model,
    gpu: RefCell<Option<Recording>>,
}

/// Fetches a model file with the progress bar up meanwhile; a file of the site's `models/` is
/// checked against the manifest.
async fn fetch_checked(signals: Signals, url: &str) -> Result<Vec<u8>, String> {
    let label = url.rsplit('/').next().unwrap_or(url).to_string();
    signals.download.set(Some(Download { label: label.clone(), loaded: 0.0, total: None }));
    let bytes = fetch_bytes(url, |loaded, total| {
        signals.download.set(Some(Download { label: label.clone(), loaded, total }))
    })
    .await;
    signals.download.set(None);
    let bytes = bytes?;
    if let Some(file) = url.strip_prefix(MODELS) {
        check_with_manifest(file, &bytes).await?;
    }
    Ok(bytes)
}

/// A learned case's model file: being fetched (with those waiting for it), or here.
enum Slot {
    Loading(Vec<futures_channel::oneshot::Sender<Result<(), String>>>),
    Ready(Rc<Vec<u8>>),
}

thread_local! {
    /// The learned cases' model files, fetched once per page.
    static CASE_FILES: RefCell<BTreeMap<String, Slot>> = const { RefCell::new(BTreeMap::new()) };
}

/// The model files `spec` runs, when all of them are here.
pub fn case_files(spec: &CaseSpec) -> Option<ModelFiles> {
    CASE_FILES.with(|files| {
        let files = files.borrow();
        spec.models
            .iter()
            .map(|file| match files.get(*file) {
                Some(Slot::Ready(bytes)) => Some((file.to_string(), bytes.to_vec())),
                _ => None,
            })
            .collect()
    })
}

/// Fetches (once per page, however often asked) and checks the model files `spec` runs.
pub async fn fetch_case_files(signals: Signals, spec: &CaseSpec) -> Result<(), String> {
    for file in spec.models {
        let waiting = CASE_FILES.with(|files| {
            let mut files = files.borrow_mut();
            match files.get_mut(*file) {
                Some(Slot::Ready(_)) => Some(None),
                Some(Slot::Loading(waiters)) => {
                    let (sender, receiver) = futures_channel::oneshot::channel();
                    waiters.push(sender);
                    Some(Some(receiver))
                }
                None => {
                    files.insert(file.to_string(), Slot::Loading(Vec::new()));
                    None
                }
            }
        });
        match waiting {
            Some(None) => continue,
            Some(Some(receiver)) => {
                receiver.await.map_err(|_| format!("the download of {file} was abandoned"))??
            }
            None => {
                let result = fetch_checked(signals, &format!("{MODELS}{file}")).await;
                let waiters = CASE_FILES.with(|files| {
                    let mut files = files.borrow_mut();
                    let slot = match &result {
                        Ok(bytes) => {
                            files.insert(file.to_string(), Slot::Ready(Rc::new(bytes.clone())))
                        }
                        // A failed download is tried again the next time the case starts.
                        Err(_) => files.remove(*file),
                    };
                    match slot {
                        Some(Slot::Loading(waiters)) => waiters,
                        _ => Vec::new(),
                    }
                });
                let outcome = result.map(|_| ());
                for waiter in waiters {
                    let _ = waiter.send(outcome.clone());
                }
                outcome?;
            }
        }
    }
    Ok(())
}

/// Fetches and checks a model file, with the progress bar up meanwhile.
pub async fn load(signals: Signals, url: String) -> Result<Rc<LoadedModel>, String> {
    let bytes = fetch_checked(signals, &url).await?;
    let (config, model) = Model::from_bytes(&bytes).map_err(|e| format!("{url}: {e}"))?;
    Ok(Rc::new(LoadedModel { url, config, bytes: bytes.len(), model, gpu: RefCell::new(None) }))
}

impl LoadedModel {
    /// The conditioning's shape for an input of `x_shape`, when the model takes conditioning.
    fn cond_shape(&self, x_shape: &[usize]) -> Option<Vec<usize>> {
        match (&self.config, x_shape) {
            (Config::Unet { cond_channels, .. }, [n, _, h, w]) if *cond_channels > 0 => {
                Some(vec![*n, *cond_channels, *h, *w])
            }
            _ => None,
        }
    }

    fn gpu_model(&self, x_shape: &[usize]) -> Result<Rc<GpuModel>, String> {
        let ctx = engine::gpu().ok_or("WebGPU is not available on this page; use backend 'cpu'")?;
        if let Some(recording) = self.gpu.borrow().as_ref() {
            if recording.shape == x_shape && recording.device == ctx.device {
                return Ok(recording.model.clone());
            }
        }
        let cond_shape = self.cond_shape(x_shape);
        let model = Rc::new(
            GpuModel::new(&ctx, &self.model, x_shape, cond_shape.as_deref())
                .map_err(|e| e.to_string())?,
        );
        let device = ctx.device.clone();
        *self.gpu.borrow_mut() =
            Some(Recording { shape: x_shape.to_vec(), device, model: model.clone() });
        Ok(model)
    }

    /// Runs the network on `x`; `t` (one per batch entry) and `cond` for the UNet.
    pub async fn run(
        &self,
        x: Tensor,
        t: Option<Vec<f32>>,
        cond: Option<Vec<f32>>,
        on_gpu: bool,
    ) -> Result<Tensor, String> {
        let cond = match (self.cond_shape(&x.shape), cond) {
            (Some(shape), Some(values)) => Some(Tensor::new(shape, values)),
            (Some(_), None) => return Err("this model needs the conditioning 'cond'".into()),
            (None, Some(_)) => return Err("this model takes no conditioning".into()),
            (None, None) => None,
        }
        .transpose()
        .map_err(|e| format!("cond: {e}"))?;
        let result = if on_gpu {
            let result = self.gpu_model(&x.shape)?.forward(&x, t.as_deref(), cond.as_ref()).await;
            if result.is_err() {
                // The device may have gone (it is replaced after a loss): record anew next time.
                self.gpu.borrow_mut().take();
            }
            result
        } else {
            self.model.forward(&x, t.as_deref(), cond.as_ref())
        };
        result.map_err(|e| e.to_string())
    }
}

fn set_key(object: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(object, &key.into(), &value);
}

fn shape_from_js(value: &JsValue) -> Result<Vec<usize>, String> {
    let array = value.dyn_ref::<Array>().ok_or("shape must be an array like [1, 3, 32, 64]")?;
    array
        .iter()
        .map(|d| match d.as_f64() {
            Some(d) if d >= 1.0 && d.fract() == 0.0 && d <= 1e6 => Ok(d as usize),
            _ => Err(format!("shape: {d:?} is not a positive whole number")),
        })
        .collect()
}

fn floats_from_js(what: &str, value: &JsValue) -> Result<Vec<f32>, String> {
    if value.is_instance_of::<Float32Array>() || Array::is_array(value) {
        Ok(Float32Array::new(value).to_vec())
    } else {
        Err(format!("{what} must be a Float32Array or an array of numbers"))
    }
}

/// `run(x, shape, {t, cond, backend})` → a promise of the output as a Float32Array.
fn run_from_js(
    model: Rc<LoadedModel>,
    x: JsValue,
    shape: JsValue,
    options: JsValue,
) -> Result<Promise, String> {
    let shape = shape_from_js(&shape)?;
    let x = Tensor::new(shape, floats_from_js("x", &x)?).map_err(|e| format!("x: {e}"))?;
    let option = |key: &str| Reflect::get(&options, &key.into()).unwrap_or(JsValue::UNDEFINED);
    let (t, cond, backend) = if options.is_object() {
        (option("t"), option("cond"), option("backend"))
    } else {
        (JsValue::UNDEFINED, JsValue::UNDEFINED, JsValue::UNDEFINED)
    };
    let t = match t.as_f64() {
        Some(t) => Some(vec![t as f32; x.shape[0]]),
        None if t.is_undefined() => None,
        None => Some(floats_from_js("t", &t)?),
    };
    let cond = if cond.is_undefined() { None } else { Some(floats_from_js("cond", &cond)?) };
    let on_gpu = match backend.as_string().as_deref() {
        None | Some("cpu") => false,
        Some("webgpu") => true,
        Some(other) => return Err(format!("backend '{other}': use 'cpu' or 'webgpu'")),
    };
    Ok(future_to_promise(async move {
        let y = model
            .run(x, t, cond, on_gpu)
            .await
            .map_err(|e| JsValue::from(js_sys::Error::new(&e)))?;
        Ok(Float32Array::from(y.data.as_slice()).into())
    }))
}

/// The JS handle of a loaded model: `{url, config, parameters, bytes, run}`.
fn handle(model: Rc<LoadedModel>) -> JsValue {
    let object = Object::new();
    set_key(&object, "url", model.url.as_str().into());
    let config = serde_json::to_string(&model.config).unwrap_or_default();
    set_key(&object, "config", js_sys::JSON::parse(&config).unwrap_or(JsValue::NULL));
    set_key(&object, "parameters", (Model::parameters(&model.config) as f64).into());
    set_key(&object, "bytes", (model.bytes as f64).into());
    let run = Closure::<dyn Fn(JsValue, JsValue, JsValue) -> Promise>::new(
        move |x: JsValue, shape: JsValue, options: JsValue| {
            run_from_js(model.clone(), x, shape, options)
                .unwrap_or_else(|e| Promise::reject(&js_sys::Error::new(&e)))
        },
    );
    set_key(&object, "run", run.into_js_value());
    object.into()
}

/// `window.flowscope.nn`: `load(url)` → a promise of a model handle.
pub fn api(signals: Signals) -> JsValue {
    let nn = Object::new();
    let load_fn = Closure::<dyn Fn(JsValue) -> Promise>::new(move |url: JsValue| {
        let Some(url) = url.as_string() else {
            return Promise::reject(&js_sys::Error::new(
                "nn.load(url): url must be a string like 'models/name.safetensors'",
            ));
        };
        future_to_promise(async move {
            load(signals, url).await.map(handle).map_err(|e| js_sys::Error::new(&e).into())
        })
    });
    set_key(&nn, "load", load_fn.into_js_value());
    nn.into()
}

/// The progress bar of a model download, while one runs.
#[component]
pub fn DownloadBar(signals: Signals) -> impl IntoView {
    move || {
        signals.download.get().map(|d| {
            let megabytes = |b: f64| format!("{:.1} MB", b / 1e6);
            // A compressed transfer can deliver more bytes than its Content-Length.
            let total = d.total.filter(|&t| t >= d.loaded && t > 0.0);
            let text = match total {
                Some(t) => format!("{} of {}", megabytes(d.loaded), megabytes(t)),
                None => megabytes(d.loaded),
            };
            view! {
                <div class="download" role="status" data-testid="model-download">
                    <span>"Loading the model " {d.label.clone()} "… "</span>
                    <progress
                        max=total.unwrap_or(1.0)
                        value=total.map(|_| d.loaded)
                        aria-label="Model download"
                    ></progress>
                    <span>{text}</span>
                </div>
            }
        })
    }
}

/// The progress bar of a case's long work (a learned case drawing samples), while it runs; the
/// pause button stops it, keeping what is done.
#[component]
pub fn WorkBar(signals: Signals) -> impl IntoView {
    move || {
        signals.hud.get().progress.map(|(label, fraction)| {
            view! {
                <div class="download" role="status" data-testid="case-progress">
                    <span>{label}</span>
                    <progress max=1.0 value=fraction aria-label="Progress"></progress>
                    <span>{format!("{:.0} %", 100.0 * fraction)}</span>
                </div>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_reserves_at_most_the_cap_and_refuses_larger_announcements() {
        assert_eq!(capacity("m", Some(1e6)), Ok(1_000_000));
        assert_eq!(capacity("m", None), Ok(0));
        assert_eq!(capacity("m", Some(-5.0)), Ok(0));
        assert!(capacity("m", Some(1e12)).unwrap_err().contains("larger than 256 MB"));
    }
}
