//! The running simulation and its renderer, owned outside the reactive graph (wasm is single
//! threaded; a thread-local keeps non-`Send` GPU handles out of signals). Components and the JS
//! API talk to it through the commands at the bottom of this file.

use crate::compare::Compare;
use crate::render::{
    canvas2d::Canvas2dRenderer, readback::ReadbackRenderer, webgpu::WebGpuRenderer, ColorScale,
};
use crate::ui;
use crate::{gate, gpu_status};
use flowscope_cases::Simulation;
use flowscope_core::{
    budget, colormap, Backend, Budget, CaseSpec, Field2, Interaction, InteractionKind, ParamValue,
    ParamValues, Plot, ViewKind, ViewSpec,
};
use flowscope_gpu::GpuContext;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use wasm_bindgen::JsValue;
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
    /// Long work of the case under way: what it is and the fraction done (`WorkBar`).
    pub progress: Option<(String, f64)>,
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
    /// The view shown (a name from the case's views).
    pub view: RwSignal<String>,
    /// The colormap chosen, or empty for the view's own.
    pub colormap: RwSignal<String>,
    /// A fixed colour range chosen by the user; `None`: the case's range or the data's.
    pub range: RwSignal<Option<(f32, f32)>>,
    /// Velocity arrows over the picture.
    pub arrows: RwSignal<bool>,
    /// Particle disc size relative to the default, in particle views.
    pub particle_size: RwSignal<f64>,
    /// Which of the case's pointer interactions the pointer does (an index into them).
    pub pointer_mode: RwSignal<usize>,
    /// Whether the running case draws particles whose size can change.
    pub particle_sized: RwSignal<bool>,
    /// Playback speed: the fraction of animation frames that step.
    pub speed: RwSignal<f64>,
    pub history: RwSignal<History>,
    pub plots: RwSignal<Vec<Plot>>,
    /// What the pointer is over: coordinates and value.
    pub hover: RwSignal<Option<String>>,
    /// The user chose the CPU backend although WebGPU is available.
    pub prefer_cpu: RwSignal<bool>,
    pub gpu_available: RwSignal<bool>,
    /// What a link asked for and could not have (clamped or defaulted values).
    pub url_notices: RwSignal<Vec<String>>,
    /// The arrows overlay (see `arrow_segments`); empty when off.
    pub arrow_segments: RwSignal<Vec<[f32; 4]>>,
    /// The fraction of a clip recorded so far, while one is (see [`crate::record`]).
    pub recording: RwSignal<Option<f64>>,
    /// Compare mode's request (see [`crate::compare`]): the first side runs `values[0]`.
    pub compare: RwSignal<Option<Compare>>,
    /// The second side's observables.
    pub compare_history: RwSignal<History>,
    /// Whether the difference of the two sides is drawn (where their grids match).
    pub difference: RwSignal<bool>,
    /// The largest |second − first| of the drawn view at the last difference drawn.
    pub max_difference: RwSignal<Option<f32>>,
    /// Milliseconds from navigation start to the first drawn frame.
    pub first_frame_ms: RwSignal<Option<f64>>,
    /// A model download under way (`models::DownloadBar`).
    pub download: RwSignal<Option<crate::models::Download>>,
}

/// The observables recorded since the last reset, for plots and the CSV export.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    pub step: Vec<u64>,
    pub time: Vec<f64>,
    /// One series per observable of the case, in the spec's order.
    pub values: Vec<Vec<f64>>,
}

/// Recorded points kept per series; beyond it every other point is dropped.
const HISTORY_POINTS: usize = 2000;

impl History {
    fn record(&mut self, step: u64, time: f64, values: Vec<f64>) {
        // The same step again: a GPU case's read-back has caught up with it since (a paused
        // case's last point would otherwise keep the values of the batch before).
        if self.step.last() == Some(&step) && self.values.len() == values.len() {
            for (series, value) in self.values.iter_mut().zip(values) {
                if let Some(last) = series.last_mut() {
                    *last = value;
                }
            }
            return;
        }
        if self.values.len() != values.len() {
            self.values = vec![Vec::new(); values.len()];
        }
        self.step.push(step);
        self.time.push(time);
        for (series, value) in self.values.iter_mut().zip(values) {
            series.push(value);
        }
        if self.step.len() > HISTORY_POINTS {
            fn halve<T>(v: &mut Vec<T>) {
                let mut k = 0;
                v.retain(|_| {
                    k += 1;
                    k % 2 == 1
                })
            }
            halve(&mut self.step);
            halve(&mut self.time);
            self.values.iter_mut().for_each(halve);
        }
    }

    /// The history as CSV in the CLI's `observables.csv` format: `t,step,<observable names>`,
    /// one row per recorded step.
    pub fn to_csv(&self, spec: &CaseSpec) -> String {
        let mut csv = String::from("t,step");
        for observable in spec.observables {
            csv.push(',');
            csv.push_str(observable.name);
        }
        csv.push('\n');
        for (row, (step, time)) in self.step.iter().zip(&self.time).enumerate() {
            csv.push_str(&format!("{time:.9e},{step}"));
            for series in &self.values {
                csv.push_str(&format!(",{:.9e}", series[row]));
            }
            csv.push('\n');
        }
        csv
    }
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
            view: RwSignal::new(spec.views[0].name.to_string()),
            colormap: RwSignal::new(String::new()),
            range: RwSignal::new(None),
            arrows: RwSignal::new(false),
            particle_size: RwSignal::new(1.0),
            particle_sized: RwSignal::new(false),
            pointer_mode: RwSignal::new(0),
            speed: RwSignal::new(1.0),
            history: RwSignal::new(History::default()),
            plots: RwSignal::new(Vec::new()),
            hover: RwSignal::new(None),
            prefer_cpu: RwSignal::new(false),
            gpu_available: RwSignal::new(false),
            first_frame_ms: RwSignal::new(None),
            download: RwSignal::new(None),
            arrow_segments: RwSignal::new(Vec::new()),
            recording: RwSignal::new(None),
            compare: RwSignal::new(None),
            compare_history: RwSignal::new(History::default()),
            difference: RwSignal::new(false),
            max_difference: RwSignal::new(None),
            url_notices: RwSignal::new(Vec::new()),
        }
    }

    /// The view spec shown: the chosen one where the case has it, else its first.
    pub fn view_spec(&self) -> &'static ViewSpec {
        let spec = self.spec();
        let name = self.view.get_untracked();
        spec.views.iter().find(|v| v.name == name).unwrap_or(&spec.views[0])
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
    colormap: &'static str,
    /// A colour range the user fixed.
    user_range: Option<(f32, f32)>,
    /// The range shared with the other side in compare mode (where nothing else fixes one).
    shared_range: Option<(f32, f32)>,
    /// The drawn field for the hover readout: when it was read, at which step.
    probe: Option<(f64, u64, Field2)>,
    scale: ColorScale,
    /// GPU time of the last stepped batch, per step, set when the queue reports completion.
    gpu_ms_per_step: Arc<Mutex<Option<f64>>>,
    /// Stepped batches the GPU has not finished yet.
    gpu_batches_in_flight: Arc<AtomicUsize>,
    /// How many of the case's notices the page shows; those it adds while running follow.
    notices_shown: usize,
}

/// `?budget=F`: the page allows F times the default resource budget (docs/EMBEDDING.md).
static BUDGET_FACTOR: OnceLock<f64> = OnceLock::new();

/// Reads `?budget=` once; a notice for the page when the value cannot be used.
pub fn read_budget_factor() -> Option<String> {
    let (factor, notice) = match ui::query_param("budget") {
        None => (1.0, None),
        Some(text) => match text.parse::<f64>() {
            Ok(f) if (1.0 / 16.0..=budget::MAX_FACTOR).contains(&f) => (f, None),
            _ => (
                1.0,
                Some(format!(
                    "Link: budget={} is not a factor from 0.0625 to {}; using the default",
                    text.chars().take(24).collect::<String>(),
                    budget::MAX_FACTOR
                )),
            ),
        },
    };
    let _ = BUDGET_FACTOR.set(factor);
    notice
}

fn budget_factor() -> f64 {
    BUDGET_FACTOR.get().copied().unwrap_or(1.0)
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
        models: &flowscope_cases::ModelFiles,
    ) -> Result<Self, String> {
        let gpu = gpu.filter(|_| spec.gpu);
        let backend = if gpu.is_some() { Backend::Gpu } else { Backend::Cpu };
        let budget = Budget::browser(backend).times(budget_factor());
        let sim = flowscope_cases::create_within(spec.id, params, gpu, models, &budget)
            .map_err(|e| e.to_string())?;
        // A case may choose the CPU for some parameters (a solver without a GPU twin), and one on
        // the GPU may bring its views back to the CPU (a learned rollout's small frames): those
        // are drawn by the 2D canvas.
        let gpu = gpu.filter(|_| {
            sim.backend() == Backend::Gpu && sim.gpu_view(spec.views[0].name).is_some()
        });
        let canvas = ui::create_canvas();
        // The canvas goes first; the arrows overlay the viewport keeps stays on top of it.
        if let Ok(Some(old)) = host.query_selector("canvas") {
            old.remove();
        }
        let _ = host.prepend_with_node_1(&canvas);
        // The viewport takes the domain's shape (a 5:1 channel is not drawn as a square).
        let [[x0, x1], [y0, y1]] = sim.domain();
        let aspect = (x1 - x0) / (y1 - y0);
        // Through the CSSOM: a style attribute would need 'unsafe-inline' in the site's CSP.
        let _ = host.style().set_property("aspect-ratio", &format!("{aspect:.6}"));
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
        let sim_notices = sim.notices().len();
        let (vmin, vmax) = sim.view_range(view.name).unwrap_or((0.0, 1.0));
        let scale = ColorScale { vmin, vmax, lut: lut(view.colormap) };
        Ok(Self {
            sim,
            renderer,
            canvas,
            view,
            colormap: view.colormap,
            user_range: None,
            shared_range: None,
            probe: None,
            scale,
            gpu_ms_per_step: Arc::default(),
            gpu_batches_in_flight: Arc::default(),
            notices_shown: sim_notices,
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

    /// The case's smallest piece of work (see `Simulation::step_slice`), on the CPU.
    fn step_slice(&mut self) -> Result<f64, String> {
        let started = ui::now_ms();
        self.sim.step_slice().map_err(|e| e.to_string())?;
        Ok(ui::now_ms() - started)
    }

    /// Whether the GPU is still working through earlier batches: submitting more would only
    /// queue work faster than it runs (and on a slow adapter exhaust memory).
    fn gpu_behind(&self) -> bool {
        self.gpu_batches_in_flight.load(Ordering::Relaxed) > 1
    }

    /// Chooses what is drawn: a view of the case, a colormap (empty: the view's own) and a fixed
    /// range (`None`: the case's or the data's), and the particle size in particle views.
    pub fn set_display(
        &mut self,
        view: &'static ViewSpec,
        colormap: &str,
        range: Option<(f32, f32)>,
        particle_size: f64,
    ) {
        self.view = view;
        self.sim.set_particle_size(particle_size);
        self.colormap =
            colormap::NAMES.iter().copied().find(|n| *n == colormap).unwrap_or(view.colormap);
        self.user_range = range;
        self.scale.lut = lut(self.colormap);
        self.probe = None;
    }

    /// The scalar drawn for the current view: a vector view is drawn as its magnitude (the
    /// case's `speed` view) with arrows.
    fn drawn(&self) -> &'static str {
        match self.view.kind {
            ViewKind::Vector => "speed",
            _ => self.view.name,
        }
    }

    /// The colour range: the user's, else the case's fixed one for the drawn field.
    fn fixed_range(&self) -> Option<(f32, f32)> {
        self.user_range.or_else(|| self.sim.view_range(self.drawn())).or(self.shared_range)
    }

    /// The drawn field's extent where nothing fixes the range (on the GPU, as last measured).
    fn auto_extent(&self) -> Option<(f32, f32)> {
        if self.user_range.is_some() || self.sim.view_range(self.drawn()).is_some() {
            return None;
        }
        let name = self.drawn();
        self.sim
            .measured_range(name)
            .or_else(|| self.sim.read_view(name).ok().and_then(|f| f.finite_range()))
    }

    fn render(&mut self) -> Result<(), String> {
        let name = self.drawn();
        let on_gpu = || format!("view '{name}' is not on the GPU");
        let fixed = self.fixed_range();
        let lut = self.scale.lut;
        match fixed {
            Some((vmin, vmax)) => self.scale = ColorScale { vmin, vmax, lut },
            None => {
                if let Some(extent) = self.sim.measured_range(name) {
                    self.scale = auto_scale(extent, self.colormap, lut);
                }
            }
        }
        match &mut self.renderer {
            Renderer::WebGpu(renderer) => {
                let [[x0, x1], [y0, y1]] = self.sim.domain();
                fit_to_screen(&self.canvas, (x1 - x0) / (y1 - y0));
                renderer.draw(&self.sim.gpu_view(name).ok_or_else(on_gpu)?, &self.scale)
            }
            Renderer::Readback(renderer) => {
                renderer.draw(&self.sim.gpu_view(name).ok_or_else(on_gpu)?, &self.scale)
            }
            Renderer::Canvas2d(renderer) => {
                let field = self.sim.read_view(name).map_err(|e| e.to_string())?;
                if fixed.is_none() {
                    let extent = field.finite_range().unwrap_or((0.0, 1.0));
                    self.scale = auto_scale(extent, self.colormap, lut);
                }
                renderer.draw(&field, &self.scale)
            }
        }
    }

    /// The drawn field on the CPU (in the browser's GPU backend, as last read back).
    pub fn read_drawn(&self) -> Result<Field2, String> {
        self.sim.read_view(self.drawn()).map_err(|e| e.to_string())
    }

    /// The velocity components for arrows, where the case has a velocity view.
    pub fn read_velocity(&self) -> Option<(Field2, Field2)> {
        let vector = self.sim.spec().views.iter().find(|v| v.kind == ViewKind::Vector)?;
        let [x, y] = <[String; 2]>::try_from(vector.scalar_names()).ok()?;
        Some((self.sim.read_view(&x).ok()?, self.sim.read_view(&y).ok()?))
    }

    /// The viewport's canvas, drawn afresh so that a WebGPU canvas still holds the picture
    /// (until this task ends) for whoever copies it.
    pub fn drawn_canvas(&mut self) -> Result<HtmlCanvasElement, String> {
        self.render()?;
        Ok(self.canvas.clone())
    }

    /// The viewport canvas's size on the page in CSS pixels (0 while it is not laid out).
    pub fn canvas_css_size(&self) -> (f64, f64) {
        (f64::from(self.canvas.client_width()), f64::from(self.canvas.client_height()))
    }

    pub fn view(&self) -> &'static ViewSpec {
        self.view
    }

    pub fn scale(&self) -> ColorScale {
        self.scale
    }

    /// The colormap drawn (the user's choice, else the view's own).
    pub fn colormap(&self) -> &'static str {
        self.colormap
    }

    /// Domain coordinates of a pointer position in client pixels, if it is over the canvas.
    pub fn domain_point(&self, client_x: f64, client_y: f64) -> Option<(f64, f64)> {
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

/// Keeps a WebGPU canvas's pixel size matched to its size on screen (window resizes, zoom,
/// high-DPI screens) so that the picture stays crisp.
fn fit_to_screen(canvas: &HtmlCanvasElement, aspect: f64) {
    let ratio = ui::window().device_pixel_ratio();
    let width = (f64::from(canvas.client_width()) * ratio).round().clamp(64.0, 4096.0);
    if (width - f64::from(canvas.width())).abs() > 1.0 {
        canvas.set_width(width as u32);
        canvas.set_height((width / aspect).round().max(1.0) as u32);
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

/// Compare mode's second side, and the picture of the difference between the sides.
struct Twin {
    engine: Engine,
    difference: Canvas2dRenderer,
}

/// Most steps the second side takes at once to catch up with the first.
const MAX_FOLLOW_STEPS: f64 = 10_000.0;

impl Twin {
    /// Steps the second side until its time is the first's (to within half its step).
    fn follow(&mut self, first: &Engine, gpu: Option<&GpuContext>) -> Result<(), String> {
        let behind = first.sim.time() - self.engine.sim.time();
        let steps = (behind / self.engine.sim.dt()).round().min(MAX_FOLLOW_STEPS);
        if steps >= 1.0 {
            self.engine.step(steps as u32, gpu)?;
        }
        Ok(())
    }
}

/// Draws the first side and, in compare mode, the second with the same colour range and their
/// difference; returns the largest |second − first| when it was drawn.
fn render_sides(
    first: &mut Engine,
    twin: Option<&mut Twin>,
    difference: bool,
) -> Result<Option<f32>, String> {
    let Some(twin) = twin else { return first.render().map(|()| None) };
    let shared = match (first.auto_extent(), twin.engine.auto_extent()) {
        (Some((a0, a1)), Some((b0, b1))) => {
            let scale = auto_scale((a0.min(b0), a1.max(b1)), first.colormap, first.scale.lut);
            Some((scale.vmin, scale.vmax))
        }
        _ => None,
    };
    first.shared_range = shared;
    twin.engine.shared_range = shared;
    first.render()?;
    twin.engine.render()?;
    if !difference {
        return Ok(None);
    }
    let (Ok(a), Ok(b)) = (first.read_drawn(), twin.engine.read_drawn()) else { return Ok(None) };
    if (a.nx, a.ny) != (b.nx, b.ny) {
        return Ok(None);
    }
    let mut delta = b;
    let mut largest = 0.0f32;
    for (d, a) in delta.data.iter_mut().zip(&a.data) {
        *d -= a;
        if d.is_finite() {
            largest = largest.max(d.abs());
        }
    }
    let m = largest.max(1e-12);
    let scale = ColorScale { vmin: -m, vmax: m, lut: lut("coolwarm") };
    twin.difference.draw(&delta, &scale)?;
    Ok(Some(largest))
}

#[derive(Default)]
struct App {
    gpu: Option<GpuContext>,
    /// Compare mode's second side.
    twin: Option<Twin>,
    /// Set once drawing into a WebGPU canvas has lost a device: display through read-back.
    readback_display: bool,
    /// Devices requested to replace lost ones (bounded: a device that keeps getting lost is
    /// given up for the CPU).
    replacements: u32,
    /// Set while the device is being replaced: nothing may start on the old one.
    recovering: bool,
    /// A replacement of the lost device waits in the command queue.
    recovery_queued: bool,
    /// The message of a panic that interrupted the app (see [`with_app`]).
    crashed: Option<String>,
    engine: Option<Engine>,
    last_frame_ms: f64,
    fps: f64,
    ms_per_step: f64,
    last_hud_ms: f64,
    /// Accumulated playback speed; a frame steps when it reaches 1.
    speed_credit: f64,
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

/// Panics so far (counted by the panic hook).
static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Called by the panic hook: the app state taken at the time will never be put back.
pub fn note_panic(message: String) {
    PANICS.fetch_add(1, Ordering::SeqCst);
    CRASH_MESSAGE.with(|m| *m.borrow_mut() = Some(message));
    gate::abandon();
}

thread_local! {
    /// The app state, taken out while in use. In the browser a panic aborts without unwinding:
    /// what was taken is then never put back, and the next call starts from a fresh state
    /// instead of finding it borrowed forever.
    static APP: Cell<Option<Box<App>>> = Cell::new(Some(Box::default()));
    /// The panic count when the state was taken, while it is out.
    static TAKEN_AT: Cell<Option<usize>> = const { Cell::new(None) };
    static CRASH_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The viewport element the engine draws in.
    static HOST: RefCell<Option<HtmlElement>> = const { RefCell::new(None) };
}

fn with_app<R>(f: impl FnOnce(&mut App) -> R) -> R {
    let panics = PANICS.load(Ordering::SeqCst);
    let mut app = match APP.take() {
        Some(app) => app,
        // Out, with no panic since it was taken: a call from inside another (a bug).
        None if TAKEN_AT.get() == Some(panics) => panic!("the app state is already in use"),
        // Out since a panic: the old state (and its GPU objects) is abandoned.
        None => Box::new(App {
            crashed: Some(
                CRASH_MESSAGE
                    .with(|m| m.borrow_mut().take())
                    .unwrap_or_else(|| "an internal error".into()),
            ),
            ..App::default()
        }),
    };
    TAKEN_AT.set(Some(panics));
    let result = f(&mut app);
    TAKEN_AT.set(None);
    APP.set(Some(app));
    result
}

/// Runs `f` on the engine, if one is running.
pub fn with_engine<R>(f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
    with_app(|app| app.engine.as_mut().map(f))
}

/// Draws what runs (both sides in compare mode); a failure pauses with its message.
fn render_all(signals: Signals) {
    let difference = signals.difference.get_untracked();
    let drawn = with_app(|app| {
        let first = app.engine.as_mut()?;
        Some(render_sides(first, app.twin.as_mut(), difference))
    });
    match drawn {
        Some(Ok(largest)) => signals.max_difference.set(largest),
        Some(Err(message)) => fail(signals, message),
        None => {}
    }
}

/// A future that resolves after `ms` milliseconds (a macrotask later at 0: promise callbacks
/// queued before, such as a device-lost notification, have run by then).
async fn sleep(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// How long [`settled`] waits for read-backs while a solver case (not a learned one) plays.
const PLAYING_SETTLE_MS: f64 = 500.0;

/// Resolves once the running case has taken in everything on its way from the device (a GPU
/// rollout's frames, read back after the work is done), with the HUD and history updated; for a
/// playing solver case, whose state keeps moving, after at most [`PLAYING_SETTLE_MS`].
pub async fn settled(signals: Signals) {
    let started = crate::ui::now_ms();
    loop {
        // Both sides in compare mode: each takes in its own read-backs.
        let pending = with_app(|app| {
            let first = app.engine.as_mut()?.sim.poll();
            let second = app.twin.as_mut().map_or(Ok(false), |t| t.engine.sim.poll());
            Some(first.and_then(|a| second.map(|b| a || b)))
        });
        // A playing solver keeps asking for newer state: there is nothing to settle on, so it
        // gets a moment for what is on its way and no more (a learned case's frames end).
        let solver = signals.spec().models.is_empty();
        let chasing = solver
            && signals.playing.get_untracked()
            && crate::ui::now_ms() - started > PLAYING_SETTLE_MS;
        match pending {
            Some(Ok(true)) if !chasing => sleep(1).await,
            Some(Err(error)) => return fail(signals, error.to_string()),
            _ => break,
        }
    }
    render_all(signals);
    refresh_hud(signals);
    record(signals);
}

/// Resolves once the GPU has finished all work submitted so far (at once without a GPU).
pub async fn gpu_idle(gpu: Option<GpuContext>) {
    let Some(gpu) = gpu else { return };
    let (sender, receiver) = futures_channel::oneshot::channel::<()>();
    gpu.queue.on_submitted_work_done(move || {
        let _ = sender.send(());
    });
    let _ = receiver.await;
}

/// Detects the GPU, starts the current case and runs the frame loop; then opens the command
/// queue (`window.flowscope.ready`). Commands and clicks that arrive before take effect after.
pub fn boot(signals: Signals, host: HtmlElement) {
    HOST.with(|h| *h.borrow_mut() = Some(host));
    leptos::task::spawn_local(async move {
        match gpu_status::detect().await {
            Ok(ctx) => {
                // Escape hatch for drivers that compute fine but cannot present a WebGPU canvas.
                let readback = ui::query_param("display").as_deref() == Some("readback");
                with_app(|app| {
                    app.gpu = Some(ctx);
                    app.readback_display = readback;
                });
                signals.gpu_available.set(true);
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
        // A learned case opened by a link starts (and the queue opens) once its model is here;
        // a failed download shows when the case starts.
        let _ = crate::models::fetch_case_files(signals, signals.spec()).await;
        start_case(signals);
        if display() == Display::WebGpuCanvas {
            // The first frame into the WebGPU canvas is the test of whether this browser can
            // present one: some lose the device on the spot (headless Chromium does). Find out
            // now, before any command runs, rather than on a page script's next load.
            let _ = with_engine(|engine| engine.render());
            gpu_idle(gpu()).await;
            sleep(0).await;
            let lost = with_app(|app| app.gpu.as_ref().and_then(|g| g.lost_reason()));
            if let Some(reason) = lost {
                replace_device(signals, reason).await;
            }
        }
        signals.ready.set(true);
        with_app(|app| app.last_frame_ms = 0.0);
        request_animation_frame(move || frame(signals));
        let state = crate::api::state(signals);
        gate::open(&state);
        crate::api::announce_ready(&state);
    });
}

/// Rebuilds the simulation from the current case and parameters (the reset button). Before
/// start-up is over, or while the device is being replaced, the current case starts when that
/// is done.
pub fn restart(signals: Signals) {
    if with_app(|app| app.recovering) || !signals.ready.get_untracked() {
        return;
    }
    start_case(signals);
}

fn start_case(signals: Signals) {
    // After a panic the app state starts afresh without a GPU (see [`with_app`]): say why.
    if let Some(message) = with_app(|app| app.crashed.take()) {
        signals.gpu_available.set(false);
        signals.ready.set(true);
        signals.backend_note.set(Some(format!(
            "Flowscope hit an internal error ({message}); the case restarted on the CPU backend"
        )));
    }
    let spec = signals.spec();
    let Some(models) = crate::models::case_files(spec) else {
        // A learned case starts once its model files are here.
        with_app(|app| app.engine = None);
        signals.error.set(None);
        leptos::task::spawn_local(async move {
            let fetched = crate::models::fetch_case_files(signals, spec).await;
            if signals.case_id.get_untracked() != spec.id {
                return;
            }
            match fetched {
                Ok(()) => start_case(signals),
                Err(message) => {
                    signals.playing.set(false);
                    signals.error.set(Some(message));
                }
            }
        });
        return;
    };
    let mut params = signals.params.get_untracked();
    let compare = signals.compare.get_untracked().filter(|c| spec.param(&c.name).is_some());
    let mut second = None;
    if let Some(compare) = &compare {
        let mut other = params.clone();
        let _ = params.set_text(spec.id, spec.params, &compare.name, &compare.values[0]);
        let _ = other.set_text(spec.id, spec.params, &compare.name, &compare.values[1]);
        second = Some(other);
    }
    let result = with_app(|app| {
        let host = HOST.with(|h| h.borrow().clone()).ok_or("the viewport is not mounted")?;
        app.engine = None;
        app.twin = None;
        let gpu = app.gpu.as_ref().filter(|_| !signals.prefer_cpu.get_untracked());
        let mut engine = Engine::start(spec, &params, gpu, app.display(), &host, &models)?;
        engine.set_display(
            signals.view_spec(),
            &signals.colormap.get_untracked(),
            signals.range.get_untracked(),
            signals.particle_size.get_untracked(),
        );
        if let Some(other) = &second {
            let twin_host =
                ui::element_by_testid("viewport-b").ok_or("the compare viewport is not mounted")?;
            let mut twin = Engine::start(spec, other, gpu, app.display(), &twin_host, &models)
                .map_err(|e| format!("compare: the second side cannot start: {e}"))?;
            twin.set_display(
                signals.view_spec(),
                &signals.colormap.get_untracked(),
                signals.range.get_untracked(),
                signals.particle_size.get_untracked(),
            );
            let difference_host = ui::element_by_testid("viewport-difference")
                .ok_or("the difference viewport is not mounted")?;
            let canvas = ui::create_canvas();
            let _ = canvas.set_attribute("class", "pixelated");
            let _ = canvas.set_attribute("data-testid", "difference-canvas");
            let _ = canvas.set_attribute("aria-label", "Difference of the two sides");
            if let Ok(Some(old)) = difference_host.query_selector("canvas") {
                old.remove();
            }
            let _ = difference_host.append_child(&canvas);
            let _ = difference_host.style().set_property(
                "aspect-ratio",
                &twin_host.style().get_property_value("aspect-ratio").unwrap_or_default(),
            );
            app.twin = Some(Twin { engine: twin, difference: Canvas2dRenderer::new(canvas)? });
        }
        let used = engine.sim.params().clone();
        let sized = engine.sim.particle_size().is_some();
        let mut notices = engine.sim.notices().to_vec();
        if gpu.is_some() && !spec.gpu {
            notices.push(format!(
                "{} has no WebGPU kernels yet; it runs on the CPU backend",
                spec.title
            ));
        }
        app.engine = Some(engine);
        app.ms_per_step = 0.0;
        Ok::<_, String>((used, notices, sized))
    });
    match result {
        Ok((used, notices, sized)) => {
            signals.params.set(used);
            signals.particle_sized.set(sized);
            signals.notices.set(notices);
            signals.pending.set(Vec::new());
            signals.error.set(None);
            signals.history.set(History::default());
            signals.compare_history.set(History::default());
            signals.max_difference.set(None);
            signals.plots.set(Vec::new());
            refresh_hud(signals);
            record(signals);
        }
        Err(message) => {
            signals.playing.set(false);
            signals.error.set(Some(message));
        }
    }
}

/// Switches to another case with `params`, showing its first view in its own colours.
pub fn load_case(signals: Signals, spec: &'static CaseSpec, params: ParamValues) {
    signals.compare.set(None);
    signals.case_id.set(spec.id.to_string());
    signals.params.set(params);
    signals.view.set(spec.views[0].name.to_string());
    signals.pointer_mode.set(0);
    signals.colormap.set(String::new());
    signals.range.set(None);
    restart(signals);
}

/// Applies the view, colormap and range signals to the running engine and redraws.
pub fn apply_display(signals: Signals) {
    with_app(|app| {
        let engines = app.engine.iter_mut().chain(app.twin.iter_mut().map(|t| &mut t.engine));
        for engine in engines {
            engine.set_display(
                signals.view_spec(),
                &signals.colormap.get_untracked(),
                signals.range.get_untracked(),
                signals.particle_size.get_untracked(),
            );
        }
    });
    render_all(signals);
    refresh_hud(signals);
}

/// Records the observables and the case's plots (a few times a second; on the browser's GPU
/// backend they come from the state last read back, and are skipped until there is one).
fn record(signals: Signals) {
    let Some((step, time, values, plots)) = with_engine(|engine| {
        let sim = &engine.sim;
        (sim.steps(), sim.time(), sim.observables().ok(), sim.plots().ok())
    }) else {
        return;
    };
    if let Some(values) = values {
        signals.history.update(|h| h.record(step, time, values));
    }
    let twin = with_app(|app| {
        let sim = &app.twin.as_ref()?.engine.sim;
        Some((sim.steps(), sim.time(), sim.observables().ok()?))
    });
    if let Some((step, time, values)) = twin {
        signals.compare_history.update(|h| h.record(step, time, values));
    }
    if let Some(plots) = plots {
        if plots != signals.plots.get_untracked() {
            signals.plots.set(plots);
        }
    }
    let wanted = signals.arrows.get_untracked() || signals.view_spec().kind == ViewKind::Vector;
    let segments = if wanted {
        with_engine(|e| e.read_velocity()).flatten().map(|(ux, uy)| arrow_segments(&ux, &uy))
    } else {
        None
    };
    signals.arrow_segments.set(segments.unwrap_or_default());
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
    let compared = signals.compare.get_untracked().is_some_and(|c| c.name == name);
    if compared {
        return Err(format!("'{name}' is being compared; end compare mode to set it"));
    }
    let applied = with_app(|app| {
        let engine = app.engine.as_mut()?;
        let result = (|| {
            engine.sim.set_param(name, value.clone()).map_err(|e| e.to_string())?;
            if let Some(twin) = app.twin.as_mut() {
                twin.engine.sim.set_param(name, value).map_err(|e| e.to_string())?;
            }
            Ok::<_, String>((engine.sim.params().clone(), engine.sim.notices().to_vec()))
        })();
        Some(result)
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

/// Advances `n` steps now (the step button) and redraws.
pub fn step_now(signals: Signals, n: u32) {
    if step_quietly(signals, n) {
        render_all(signals);
    }
    refresh_hud(signals);
    record(signals);
}

/// Advances `n` steps without drawing or recording (a slice of the JS API's `step(n)`); false
/// if the case failed (the error is shown).
pub fn step_quietly(signals: Signals, n: u32) -> bool {
    let result = with_app(|app| {
        let gpu = app.gpu.clone();
        let Some(engine) = app.engine.as_mut() else { return Ok(()) };
        app.ms_per_step = engine.step(n, gpu.as_ref())?;
        if let Some(twin) = app.twin.as_mut() {
            twin.follow(engine, gpu.as_ref())?;
        }
        Ok(())
    });
    match result {
        Ok(()) => true,
        Err(message) => {
            fail(signals, message);
            false
        }
    }
}

/// Draws and records the state after steps taken by [`step_quietly`].
pub fn after_steps(signals: Signals) {
    render_all(signals);
    refresh_hud(signals);
    record(signals);
}

/// Resolves after the browser has had a turn (the next macrotask).
pub async fn yield_to_page() {
    sleep(0).await;
}

/// Shows the coordinates and the drawn value under the pointer (client coordinates), or
/// clears the readout when the pointer is elsewhere.
pub fn hover(signals: Signals, client_x: f64, client_y: f64) {
    let text = with_engine(|engine| {
        let (x, y) = engine.domain_point(client_x, client_y)?;
        let steps = engine.sim.steps();
        let stale = engine
            .probe
            .as_ref()
            .is_none_or(|(at, step, _)| *step != steps && ui::now_ms() - at > 250.0);
        if stale {
            engine.probe = engine.read_drawn().ok().map(|f| (ui::now_ms(), steps, f));
        }
        let [[x0, x1], [y0, y1]] = engine.sim.domain();
        let value = engine.probe.as_ref().map(|(_, _, field)| {
            let i = (((x - x0) / (x1 - x0) * field.nx as f64) as usize).min(field.nx - 1);
            let j = (((y - y0) / (y1 - y0) * field.ny as f64) as usize).min(field.ny - 1);
            field.at(i, j)
        });
        let view = engine.view();
        let value = match value {
            Some(v) if v.is_finite() => format!("{} = {v:.4} {}", view.label, view.unit),
            Some(_) => format!("{}: no data here", view.label),
            None => String::new(),
        };
        Some(format!("x = {x:.3}, y = {y:.3} · {value}"))
    });
    signals.hover.set(text.flatten());
}

/// Arrows per side of the overlay, along the longer side.
const ARROWS_ACROSS: usize = 24;

/// Velocity arrows as segments `[x0, y0, x1, y1]` in the unit square of the picture (y down),
/// sampled on a coarse grid and scaled so that the fastest arrow spans one sample spacing.
fn arrow_segments(ux: &Field2, uy: &Field2) -> Vec<[f32; 4]> {
    let (nx, ny) = (ux.nx, ux.ny);
    let stride = nx.max(ny).div_ceil(ARROWS_ACROSS).max(1);
    let samples =
        || (0..ny).step_by(stride).flat_map(move |j| (0..nx).step_by(stride).map(move |i| (i, j)));
    let fastest = samples()
        .map(|(i, j)| ux.at(i, j).hypot(uy.at(i, j)))
        .filter(|s| s.is_finite())
        .fold(0.0f32, f32::max);
    if fastest <= 0.0 {
        return Vec::new();
    }
    let length = 0.9 * stride as f32 / fastest;
    samples()
        .filter_map(|(i, j)| {
            let (u, v) = (ux.at(i, j), uy.at(i, j));
            if !(u.is_finite() && v.is_finite()) || u.hypot(v) < 0.02 * fastest {
                return None;
            }
            let (cx, cy) = (i as f32 + 0.5, j as f32 + 0.5);
            let (ex, ey) = (cx + u * length, cy + v * length);
            Some([cx / nx as f32, 1.0 - cy / ny as f32, ex / nx as f32, 1.0 - ey / ny as f32])
        })
        .collect()
}

/// A pointer interaction at client coordinates: what the case's interaction chosen in
/// `pointer_mode` does there.
pub fn pointer(signals: Signals, client_x: f64, client_y: f64) {
    let mode = signals.pointer_mode.get_untracked();
    let result = with_engine(|engine| {
        let interactions = engine.sim.spec().interactions;
        let Some(&kind) = interactions.get(mode).or(interactions.first()) else { return Ok(None) };
        let Some((x, y)) = engine.domain_point(client_x, client_y) else { return Ok(None) };
        let [[x0, x1], _] = engine.sim.domain();
        let interaction = match kind {
            InteractionKind::DragObstacle => Interaction::Drag { x, y },
            InteractionKind::PaintScalar | InteractionKind::AddFluid => {
                Interaction::Paint { x, y, radius: 0.03 * (x1 - x0), value: 1.0 }
            }
        };
        engine.sim.interact(&interaction).map_err(|e| e.to_string())?;
        Ok::<_, String>(Some(interaction))
    });
    let interaction = match result {
        Some(Ok(interaction)) => interaction,
        Some(Err(message)) => return fail(signals, message),
        None => None,
    };
    // In compare mode the second side gets the same input at the same place.
    if let Some(interaction) = interaction {
        let twin = with_app(|app| {
            app.twin
                .as_mut()
                .map(|t| t.engine.sim.interact(&interaction).map_err(|e| e.to_string()))
        });
        if let Some(Err(message)) = twin {
            return fail(signals, message);
        }
    }
    if !signals.playing.get_untracked() {
        render_all(signals);
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

pub fn refresh_hud(signals: Signals) {
    let hud = with_app(|app| {
        let engine = app.engine.as_mut()?;
        let fresh = engine.sim.notices().get(engine.notices_shown..).unwrap_or_default().to_vec();
        engine.notices_shown += fresh.len();
        let measured_gpu = engine.gpu_ms_per_step.lock().ok().and_then(|slot| *slot);
        let sim = &engine.sim;
        Some((
            fresh,
            Hud {
                steps: sim.steps(),
                time: sim.time(),
                dt: sim.dt(),
                fps: app.fps,
                ms_per_step: measured_gpu.unwrap_or(app.ms_per_step),
                backend: Some(sim.backend()),
                device: app.gpu.as_ref().map(|g| g.describe()).unwrap_or_else(|| "wasm".into()),
                grid: match (sim.shape(), sim.particles()) {
                    (Some([ny, nx]), _) => format!("{nx} × {ny}"),
                    (None, Some(n)) => format!("{n} particles"),
                    (None, None) => String::new(),
                },
                progress: sim.progress(),
            },
        ))
    });
    if let Some((fresh, hud)) = hud {
        if !fresh.is_empty() {
            signals.notices.update(|notices| notices.extend(fresh));
        }
        signals.hud.set(hud);
    }
}

/// Replacement devices a page may request before it gives the GPU up for the CPU.
const MAX_REPLACEMENTS: u32 = 2;

/// Replaces a lost device and restarts the current case on the new one. A device lost while
/// drawing into a WebGPU canvas is replaced by one that displays through read-back; a device
/// that keeps getting lost (or none to be had) leaves the CPU, with the reason shown.
async fn replace_device(signals: Signals, reason: String) {
    let (retry, was_canvas) = with_app(|app| {
        let retry = app.replacements < MAX_REPLACEMENTS;
        let was_canvas = app.display() == Display::WebGpuCanvas;
        app.readback_display = true;
        app.replacements += 1;
        app.gpu = None;
        app.engine = None;
        app.recovering = true;
        (retry, was_canvas)
    });
    let replacement = if retry { gpu_status::request(true).await.ok() } else { None };
    let note = match &replacement {
        Some(_) if was_canvas => gpu_status::readback_message(&reason),
        Some(_) => gpu_status::replaced_message(&reason),
        None => gpu_status::lost_message(&reason),
    };
    with_app(|app| {
        app.gpu = replacement;
        app.recovering = false;
    });
    signals.backend_note.set(Some(note));
    start_case(signals);
}

/// Recovers from a lost device found by the frame loop: queued, so that commands wait for it
/// (a command queued before replaces the device itself, see [`recover_if_lost`]).
fn recover_from_device_loss(signals: Signals) {
    if with_app(|app| std::mem::replace(&mut app.recovery_queued, true)) {
        return;
    }
    let _ = gate::queue(move || async move {
        with_app(|app| app.recovery_queued = false);
        recover_if_lost(signals).await;
        Ok(JsValue::UNDEFINED)
    });
}

/// For queued work: replaces the device first if it has been lost.
pub async fn recover_if_lost(signals: Signals) {
    let lost = with_app(|app| app.gpu.as_ref().and_then(|g| g.lost_reason()));
    if let Some(reason) = lost {
        replace_device(signals, reason).await;
    }
}

/// Test hook: panics while the app state is in use.
pub fn panic_in_use() {
    with_app(|_| panic!("test panic requested through window.flowscope.__test_panic()"));
}

/// Test hook: loses the GPU device as a driver reset would.
pub fn lose_device() {
    if let Some(gpu) = gpu() {
        gpu.device.destroy();
    }
}

/// Milliseconds of stepping per animation frame before the rest waits for the next frame.
const FRAME_BUDGET_MS: f64 = 30.0;

fn frame(signals: Signals) {
    // Asked first, so that the loop goes on even if this frame panics.
    request_animation_frame(move || frame(signals));
    let (crashed, recovering, lost, error) = with_app(|app| {
        let gpu = app.gpu.as_ref();
        (
            app.crashed.is_some(),
            app.recovering,
            gpu.and_then(|g| g.lost_reason()).is_some(),
            gpu.and_then(|g| g.take_error()),
        )
    });
    if crashed {
        start_case(signals);
        return;
    }
    if recovering {
        return;
    }
    if lost {
        recover_from_device_loss(signals);
        return;
    }
    if let Some(error) = error {
        fail(signals, error);
    }
    let mut playing = signals.playing.get_untracked();
    if playing {
        // Slow motion steps on a fraction of the frames.
        let credit = with_app(|app| {
            app.speed_credit += signals.speed.get_untracked();
            let due = app.speed_credit >= 1.0;
            if due {
                app.speed_credit -= 1.0;
            }
            due
        });
        playing = credit;
    }
    let steps = signals.steps_per_frame.get_untracked().max(1);
    let difference = signals.difference.get_untracked();
    let now = ui::now_ms();
    let result = with_app(|app| {
        let gpu = app.gpu.clone();
        let Some(engine) = app.engine.as_mut() else { return Ok((false, None)) };
        if playing && !engine.gpu_behind() {
            // Up to `steps` steps, but stop once the frame budget is spent so that slow cases
            // (large grids on the CPU) keep the page responsive.
            let mut done = 0;
            while done < steps {
                let (batch, ms) = match gpu.as_ref().filter(|_| !engine.sim.slices()) {
                    Some(ctx) => (steps, engine.step(steps, Some(ctx))?),
                    // One slice: a step, a warm-up batch, a learned rollout's denoising step or
                    // (on the GPU) its next frame.
                    None => (1, engine.step_slice()?),
                };
                app.ms_per_step =
                    if app.ms_per_step == 0.0 { ms } else { 0.9 * app.ms_per_step + 0.1 * ms };
                done += batch;
                if ui::now_ms() - now > FRAME_BUDGET_MS {
                    break;
                }
            }
        }
        if let Some(twin) = app.twin.as_mut() {
            twin.follow(engine, gpu.as_ref())?;
            twin.engine.sim.poll().map_err(|e| e.to_string())?;
        }
        // Whatever the device has delivered since (a learned rollout's frames) is drawn now.
        engine.sim.poll().map_err(|e| e.to_string())?;
        let largest = render_sides(engine, app.twin.as_mut(), difference)?;
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
        Ok::<_, String>((due, largest))
    });
    if signals.first_frame_ms.get_untracked().is_none() && result.is_ok() {
        signals.first_frame_ms.set(Some(now));
    }
    match result {
        Ok((due, largest)) => {
            if signals.max_difference.get_untracked() != largest {
                signals.max_difference.set(largest);
            }
            if due {
                refresh_hud(signals);
                record(signals);
            }
        }
        Err(message) => fail(signals, message),
    }
}

#[cfg(test)]
mod tests {
    use super::History;

    #[test]
    fn a_step_recorded_again_takes_the_newer_values() {
        let mut history = History::default();
        history.record(10, 0.1, vec![1.0, 2.0]);
        history.record(20, 0.2, vec![3.0, 4.0]);
        history.record(20, 0.2, vec![5.0, 6.0]);
        assert_eq!(history.step, [10, 20]);
        assert_eq!(history.values, [vec![1.0, 5.0], vec![2.0, 6.0]]);
    }
}
