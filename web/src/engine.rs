//! The running simulation and its renderer, owned outside the reactive graph (wasm is single
//! threaded; a thread-local keeps non-`Send` GPU handles out of signals). Components and the JS
//! API talk to it through the commands at the bottom of this file.

use crate::gpu_status;
use crate::render::{
    canvas2d::Canvas2dRenderer, readback::ReadbackRenderer, webgpu::WebGpuRenderer, ColorScale,
};
use crate::ui;
use flowscope_cases::Simulation;
use flowscope_core::{colormap, Backend, CaseSpec, Interaction, ParamValue, ParamValues, ViewSpec};
use flowscope_gpu::GpuContext;
use leptos::prelude::*;
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use web_sys::{HtmlCanvasElement, HtmlElement};

/// What the HUD shows; refreshed a few times a second.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hud {
    pub steps: u64,
    pub time: f64,
    pub dt: f64,
    pub fps: f64,
    pub ms_per_step: f64,
    pub backend: Option<Backend>,
    pub device: String,
    pub grid: String,
}

/// The reactive side of the app. All fields are `Copy` handles.
#[derive(Clone, Copy)]
pub struct Signals {
    pub case_id: RwSignal<String>,
    pub params: RwSignal<ParamValues>,
    /// Parameters changed since the last reset that only apply on reset.
    pub pending: RwSignal<Vec<String>>,
    pub playing: RwSignal<bool>,
    pub steps_per_frame: RwSignal<u32>,
    pub hud: RwSignal<Hud>,
    /// Why the CPU backend is in use, when it is.
    pub backend_note: RwSignal<Option<String>>,
    pub notices: RwSignal<Vec<String>>,
    pub error: RwSignal<Option<String>>,
    pub ready: RwSignal<bool>,
}

impl Signals {
    pub fn new(spec: &'static CaseSpec) -> Self {
        Self {
            case_id: RwSignal::new(spec.id.to_string()),
            params: RwSignal::new(spec.defaults()),
            pending: RwSignal::new(Vec::new()),
            playing: RwSignal::new(!ui::prefers_reduced_motion()),
            steps_per_frame: RwSignal::new(4),
            hud: RwSignal::new(Hud::default()),
            backend_note: RwSignal::new(None),
            notices: RwSignal::new(Vec::new()),
            error: RwSignal::new(None),
            ready: RwSignal::new(false),
        }
    }

    pub fn spec(&self) -> &'static CaseSpec {
        flowscope_cases::find(&self.case_id.get_untracked()).unwrap_or(flowscope_cases::CATALOG[0])
    }
}

enum Renderer {
    WebGpu(Box<WebGpuRenderer>),
    Readback(Box<ReadbackRenderer>),
    Canvas2d(Canvas2dRenderer),
}

/// How the picture reaches the screen (reported by the JS API's `state().display`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// The render pipeline draws the GPU field into a WebGPU canvas: no copies.
    WebGpuCanvas,
    /// GPU compute, asynchronous read-back, Canvas 2D drawing.
    Readback,
    /// CPU backend, Canvas 2D drawing.
    Canvas2d,
}

impl Display {
    pub fn name(self) -> &'static str {
        match self {
            Display::WebGpuCanvas => "webgpu-canvas",
            Display::Readback => "readback",
            Display::Canvas2d => "canvas2d",
        }
    }
}

pub struct Engine {
    pub sim: Box<dyn Simulation>,
    renderer: Renderer,
    canvas: HtmlCanvasElement,
    view: &'static ViewSpec,
    scale: ColorScale,
    /// GPU time of the last stepped batch, per step, set when the queue reports completion.
    gpu_ms_per_step: Arc<Mutex<Option<f64>>>,
    /// Stepped batches the GPU has not finished yet.
    gpu_batches_in_flight: Arc<AtomicUsize>,
}

/// Colormap tables, built once.
pub fn lut(name: &str) -> &'static [u32; 256] {
    static TABLES: OnceLock<Vec<[u32; 256]>> = OnceLock::new();
    let tables = TABLES.get_or_init(|| colormap::NAMES.iter().map(|n| colormap::lut(n)).collect());
    let index = colormap::NAMES.iter().position(|n| *n == name).unwrap_or(0);
    &tables[index]
}

impl Engine {
    fn start(
        spec: &'static CaseSpec,
        params: &ParamValues,
        gpu: Option<&GpuContext>,
        display: Display,
        host: &HtmlElement,
    ) -> Result<Self, String> {
        let gpu = gpu.filter(|_| spec.gpu);
        let sim = flowscope_cases::create(spec.id, params, gpu).map_err(|e| e.to_string())?;
        // A case may choose the CPU for some parameters (a solver without a GPU twin).
        let gpu = gpu.filter(|_| sim.backend() == Backend::Gpu);
        let canvas = ui::create_canvas();
        host.replace_children_with_node_1(&canvas);
        // The viewport takes the domain's shape (a 5:1 channel is not drawn as a square).
        let [[x0, x1], [y0, y1]] = sim.domain();
        let aspect = (x1 - x0) / (y1 - y0);
        let _ = host.set_attribute("style", &format!("aspect-ratio: {aspect:.6}"));
        let renderer = match gpu {
            Some(ctx) if display == Display::Readback => {
                let _ = canvas.set_attribute("class", "pixelated");
                Renderer::Readback(Box::new(ReadbackRenderer::new(ctx, canvas.clone())?))
            }
            Some(ctx) => {
                let width = (host.client_width() as f64 * ui::window().device_pixel_ratio())
                    .clamp(256.0, 2048.0);
                canvas.set_width(width as u32);
                canvas.set_height((width / aspect).max(1.0) as u32);
                Renderer::WebGpu(Box::new(WebGpuRenderer::new(ctx, canvas.clone())?))
            }
            None => {
                let _ = canvas.set_attribute("class", "pixelated");
                Renderer::Canvas2d(Canvas2dRenderer::new(canvas.clone())?)
            }
        };
        let view = &spec.views[0];
        let (vmin, vmax) = sim.view_range(view.name).unwrap_or((0.0, 1.0));
        let scale = ColorScale { vmin, vmax, lut: lut(view.colormap) };
        Ok(Self {
            sim,
            renderer,
            canvas,
            view,
            scale,
            gpu_ms_per_step: Arc::default(),
            gpu_batches_in_flight: Arc::default(),
        })
    }

    fn step(&mut self, n: u32, gpu: Option<&GpuContext>) -> Result<f64, String> {
        let started = ui::now_ms();
        self.sim.step(n).map_err(|e| e.to_string())?;
        if let Some(ctx) = gpu.filter(|_| self.sim.backend() == Backend::Gpu) {
            let slot = self.gpu_ms_per_step.clone();
            let in_flight = self.gpu_batches_in_flight.clone();
            in_flight.fetch_add(1, Ordering::Relaxed);
            ctx.queue.on_submitted_work_done(move || {
                in_flight.fetch_sub(1, Ordering::Relaxed);
                if let Ok(mut slot) = slot.lock() {
                    *slot = Some((ui::now_ms() - started) / n as f64);
                }
            });
        }
        Ok((ui::now_ms() - started) / n as f64)
    }

    /// Whether the GPU is still working through earlier batches: submitting more would only
    /// queue work faster than it runs (and on a slow adapter exhaust memory).
    fn gpu_behind(&self) -> bool {
        self.gpu_batches_in_flight.load(Ordering::Relaxed) > 1
    }

    fn render(&mut self) -> Result<(), String> {
        let name = self.view.name;
        let on_gpu = || format!("view '{name}' is not on the GPU");
        let fixed = self.sim.view_range(name).is_some();
        if let (false, Some(extent)) = (fixed, self.sim.measured_range(name)) {
            self.scale = auto_scale(extent, self.view.colormap, self.scale.lut);
        }
        match &mut self.renderer {
            Renderer::WebGpu(renderer) => {
                renderer.draw(&self.sim.gpu_view(name).ok_or_else(on_gpu)?, &self.scale)
            }
            Renderer::Readback(renderer) => {
                renderer.draw(&self.sim.gpu_view(name).ok_or_else(on_gpu)?, &self.scale)
            }
            Renderer::Canvas2d(renderer) => {
                let field = self.sim.read_view(self.view.name).map_err(|e| e.to_string())?;
                if !fixed {
                    let extent = field.finite_range().unwrap_or((0.0, 1.0));
                    self.scale = auto_scale(extent, self.view.colormap, self.scale.lut);
                }
                renderer.draw(&field, &self.scale)
            }
        }
    }

    pub fn view(&self) -> &'static ViewSpec {
        self.view
    }

    pub fn scale(&self) -> ColorScale {
        self.scale
    }

    /// Domain coordinates of a pointer position in client pixels, if it is over the canvas.
    fn domain_point(&self, client_x: f64, client_y: f64) -> Option<(f64, f64)> {
        let rect = self.canvas.get_bounding_client_rect();
        let u = (client_x - rect.left()) / rect.width();
        let v = (client_y - rect.top()) / rect.height();
        if !(0.0..=1.0).contains(&u) || !(0.0..=1.0).contains(&v) {
            return None;
        }
        let [[x0, x1], [y0, y1]] = self.sim.domain();
        Some((x0 + u * (x1 - x0), y1 - v * (y1 - y0)))
    }
}

/// The colour range of a field without a fixed one, from its extent: symmetric about zero for the
/// diverging map so that white means zero.
fn auto_scale((lo, hi): (f32, f32), colormap: &str, lut: &'static [u32; 256]) -> ColorScale {
    let (vmin, vmax) = if colormap == "coolwarm" {
        let m = lo.abs().max(hi.abs()).max(1e-12);
        (-m, m)
    } else if hi > lo {
        (lo, hi)
    } else {
        (lo, lo + 1e-12)
    };
    ColorScale { vmin, vmax, lut }
}

#[derive(Default)]
struct App {
    gpu: Option<GpuContext>,
    /// Set once drawing into a WebGPU canvas has lost a device: display through read-back.
    readback_display: bool,
    engine: Option<Engine>,
    host: Option<HtmlElement>,
    last_frame_ms: f64,
    fps: f64,
    ms_per_step: f64,
    last_hud_ms: f64,
}

impl App {
    fn display(&self) -> Display {
        match (&self.gpu, self.readback_display) {
            (None, _) => Display::Canvas2d,
            (Some(_), true) => Display::Readback,
            (Some(_), false) => Display::WebGpuCanvas,
        }
    }
}

/// How the picture currently reaches the screen.
pub fn display() -> Display {
    with_app(|app| app.display())
}

thread_local! {
    static APP: RefCell<App> = RefCell::new(App::default());
}

fn with_app<R>(f: impl FnOnce(&mut App) -> R) -> R {
    APP.with(|app| f(&mut app.borrow_mut()))
}

/// Runs `f` on the engine, if one is running.
pub fn with_engine<R>(f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
    with_app(|app| app.engine.as_mut().map(f))
}

/// Detects the GPU, starts the current case in `host` and runs the frame loop.
pub fn boot(signals: Signals, host: HtmlElement) {
    with_app(|app| app.host = Some(host));
    leptos::task::spawn_local(async move {
        match gpu_status::detect().await {
            Ok(ctx) => {
                // Escape hatch for drivers that compute fine but cannot present a WebGPU canvas.
                let readback = ui::query_param("display").as_deref() == Some("readback");
                with_app(|app| {
                    app.gpu = Some(ctx);
                    app.readback_display = readback;
                });
                if readback {
                    signals.backend_note.set(Some(
                        "Computing on WebGPU; each frame is read back for display \
                         (requested in the URL: ?display=readback)"
                            .into(),
                    ));
                }
            }
            Err(reason) => signals.backend_note.set(Some(reason)),
        }
        restart(signals);
        signals.ready.set(true);
        request_animation_frame(move || frame(signals));
    });
}

/// Rebuilds the simulation from the current case and parameters (the reset button).
pub fn restart(signals: Signals) {
    let spec = signals.spec();
    let params = signals.params.get_untracked();
    let result = with_app(|app| {
        let host = app.host.clone().ok_or("the viewport is not mounted")?;
        app.engine = None;
        let engine = Engine::start(spec, &params, app.gpu.as_ref(), app.display(), &host)?;
        let used = engine.sim.params().clone();
        let mut notices = engine.sim.notices().to_vec();
        if app.gpu.is_some() && !spec.gpu {
            notices.push(format!(
                "{} has no WebGPU kernels yet; it runs on the CPU backend",
                spec.title
            ));
        }
        app.engine = Some(engine);
        app.ms_per_step = 0.0;
        Ok::<_, String>((used, notices))
    });
    match result {
        Ok((used, notices)) => {
            signals.params.set(used);
            signals.notices.set(notices);
            signals.pending.set(Vec::new());
            signals.error.set(None);
            refresh_hud(signals);
        }
        Err(message) => {
            signals.playing.set(false);
            signals.error.set(Some(message));
        }
    }
}

/// Switches to another case at its defaults.
pub fn load_case(signals: Signals, spec: &'static CaseSpec, params: ParamValues) {
    signals.case_id.set(spec.id.to_string());
    signals.params.set(params);
    restart(signals);
}

/// Applies a parameter change: live ones at once, the others on the next reset.
pub fn set_param(signals: Signals, name: &str, value: ParamValue) -> Result<(), String> {
    let spec = signals.spec();
    let param = spec.param(name).ok_or_else(|| format!("unknown parameter '{name}'"))?;
    let value = param.clamp(&value);
    if param.needs_reset {
        signals.params.update(|p| {
            let _ = p.set(spec.id, spec.params, name, value);
        });
        signals.pending.update(|p| {
            if !p.iter().any(|n| n == name) {
                p.push(name.to_string());
            }
        });
        return Ok(());
    }
    let applied = with_engine(|engine| {
        engine.sim.set_param(name, value).map_err(|e| e.to_string())?;
        Ok::<_, String>((engine.sim.params().clone(), engine.sim.notices().to_vec()))
    });
    match applied {
        Some(Ok((params, notices))) => {
            // Keep pending (reset-only) values the user already chose.
            let pending = signals.pending.get_untracked();
            signals.params.update(|current| {
                for (key, value) in params.iter() {
                    if !pending.iter().any(|p| p == key) {
                        let _ = current.set(spec.id, spec.params, key, value.clone());
                    }
                }
            });
            signals.notices.set(notices);
            Ok(())
        }
        Some(Err(message)) => Err(message),
        None => Err("no simulation is running".into()),
    }
}

/// Advances `n` steps now (the step button, the JS API) and redraws.
pub fn step_now(signals: Signals, n: u32) {
    let result = with_app(|app| {
        let gpu = app.gpu.clone();
        let Some(engine) = app.engine.as_mut() else { return Ok(()) };
        app.ms_per_step = engine.step(n, gpu.as_ref())?;
        engine.render()
    });
    if let Err(message) = result {
        fail(signals, message);
    }
    refresh_hud(signals);
}

/// A pointer interaction at client coordinates.
pub fn pointer(signals: Signals, client_x: f64, client_y: f64) {
    let result = with_engine(|engine| {
        if engine.sim.spec().interactions.is_empty() {
            return Ok(());
        }
        let Some((x, y)) = engine.domain_point(client_x, client_y) else { return Ok(()) };
        let [[x0, x1], _] = engine.sim.domain();
        let paint = Interaction::Paint { x, y, radius: 0.03 * (x1 - x0), value: 1.0 };
        engine.sim.interact(&paint).map_err(|e| e.to_string())?;
        if !signals.playing.get_untracked() {
            engine.render()?;
        }
        Ok::<_, String>(())
    });
    if let Some(Err(message)) = result {
        fail(signals, message);
    }
}

/// Pauses with a message: a diverging or broken simulation never keeps drawing garbage.
fn fail(signals: Signals, message: String) {
    signals.playing.set(false);
    signals.error.set(Some(message));
}

/// The GPU context in use, if any (for the JS API's completion promises).
pub fn gpu() -> Option<GpuContext> {
    with_app(|app| app.gpu.clone())
}

fn refresh_hud(signals: Signals) {
    let hud = with_app(|app| {
        let engine = app.engine.as_ref()?;
        let measured_gpu = engine.gpu_ms_per_step.lock().ok().and_then(|slot| *slot);
        let sim = &engine.sim;
        Some(Hud {
            steps: sim.steps(),
            time: sim.time(),
            dt: sim.dt(),
            fps: app.fps,
            ms_per_step: measured_gpu.unwrap_or(app.ms_per_step),
            backend: Some(sim.backend()),
            device: app.gpu.as_ref().map(|g| g.describe()).unwrap_or_else(|| "wasm".into()),
            grid: sim.shape().map(|[ny, nx]| format!("{nx} × {ny}")).unwrap_or_default(),
        })
    });
    if let Some(hud) = hud {
        signals.hud.set(hud);
    }
}

/// A lost device while drawing into a WebGPU canvas gets one more device that displays through
/// read-back; a second loss, or none to be had, falls back to the CPU.
fn recover_from_device_loss(signals: Signals, reason: String) {
    let retry = with_app(|app| {
        let retry = app.display() == Display::WebGpuCanvas;
        app.gpu = None;
        app.engine = None;
        app.readback_display = retry;
        retry
    });
    leptos::task::spawn_local(async move {
        let replacement = if retry { GpuContext::new().await.ok() } else { None };
        let note = match &replacement {
            Some(_) => gpu_status::readback_message(&reason),
            None => gpu_status::lost_message(&reason),
        };
        with_app(|app| app.gpu = replacement);
        signals.backend_note.set(Some(note));
        restart(signals);
        request_animation_frame(move || frame(signals));
    });
}

/// Milliseconds of stepping per animation frame before the rest waits for the next frame.
const FRAME_BUDGET_MS: f64 = 30.0;

fn frame(signals: Signals) {
    let lost = with_app(|app| app.gpu.as_ref().and_then(|g| g.lost_reason()));
    if let Some(reason) = lost {
        recover_from_device_loss(signals, reason);
        return;
    }
    let playing = signals.playing.get_untracked();
    let steps = signals.steps_per_frame.get_untracked().max(1);
    let now = ui::now_ms();
    let result = with_app(|app| {
        let gpu = app.gpu.clone();
        let Some(engine) = app.engine.as_mut() else { return Ok(false) };
        if playing && !engine.gpu_behind() {
            // Up to `steps` steps, but stop once the frame budget is spent so that slow cases
            // (large grids on the CPU) keep the page responsive.
            let mut done = 0;
            while done < steps {
                let batch = if gpu.is_some() { steps } else { 1 };
                let ms = engine.step(batch, gpu.as_ref())?;
                app.ms_per_step =
                    if app.ms_per_step == 0.0 { ms } else { 0.9 * app.ms_per_step + 0.1 * ms };
                done += batch;
                if ui::now_ms() - now > FRAME_BUDGET_MS {
                    break;
                }
            }
        }
        engine.render()?;
        let elapsed = now - app.last_frame_ms;
        if app.last_frame_ms > 0.0 && elapsed > 0.0 {
            app.fps =
                if app.fps == 0.0 { 1000.0 / elapsed } else { 0.9 * app.fps + 100.0 / elapsed };
        }
        app.last_frame_ms = now;
        let due = now - app.last_hud_ms > 250.0;
        if due {
            app.last_hud_ms = now;
        }
        Ok::<_, String>(due)
    });
    match result {
        Ok(true) => refresh_hud(signals),
        Ok(false) => {}
        Err(message) => fail(signals, message),
    }
    request_animation_frame(move || frame(signals));
}
