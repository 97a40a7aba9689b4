//! The picture that `snapshot()` and the PNG button hand out (contract, docs/EMBEDDING.md): the
//! view as drawn — colormap, particles, arrows — at the viewport's size on screen times a scale
//! (the screen's devicePixelRatio by default; 256 to 4096 px wide), with the colour bar and a
//! caption when asked. A 1D case's picture is its strip and, below it, its profile plot.

use crate::command::SnapshotOptions;
use crate::components::plots;
use crate::engine::{Engine, Signals};
use crate::ui;
use flowscope_core::{colormap, Plot, SeriesStyle};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

const MIN_WIDTH: f64 = 256.0;
const MAX_SIDE: f64 = 4096.0;
/// The page's colours (style.css), so that the picture looks like the screen.
const BACKGROUND: &str = "#0f1216";
const TEXT: &str = "#e6e9ee";
const MUTED: &str = "#9aa5b4";
const LINE: &str = "#2a313b";
/// A domain this much wider than tall is a 1D case's strip.
const STRIP_ASPECT: f64 = 4.0;

fn context(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, String> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
        .ok_or_else(|| "the browser gave no 2D canvas for the picture".to_string())
}

/// The picture as a PNG data URL.
pub fn snapshot(
    signals: Signals,
    engine: &mut Engine,
    options: SnapshotOptions,
) -> Result<String, String> {
    let source = engine.drawn_canvas()?;
    let (width, height, u) = view_size(engine, options.scale, MAX_SIDE);
    let aspect = width / height;
    let font = 13.0 * u;
    let profile =
        (aspect >= STRIP_ASPECT).then(|| signals.plots.get_untracked().into_iter().next());
    let profile = profile.flatten();
    let decorated = options.colorbar || options.labels || profile.is_some();
    let pad = if decorated { 10.0 * u } else { 0.0 };

    let (out, cx) = offscreen_canvas()?;
    cx.set_font(&format!("{font}px system-ui, sans-serif"));
    let range = engine.scale();
    let tick_labels =
        [range.vmax, 0.5 * (range.vmin + range.vmax), range.vmin].map(|v| format!("{v:.3}"));
    let view = engine.view();
    let view_label = if view.unit.is_empty() {
        view.label.to_string()
    } else {
        format!("{} [{}]", view.label, view.unit)
    };
    let text_width = |text: &str| cx.measure_text(text).map(|m| m.width()).unwrap_or(0.0);
    let (bar_gap, bar_width) = (12.0 * u, 16.0 * u);
    let line = 1.4 * font;
    let (bar_column, bar_height) = if options.colorbar {
        let ticks = tick_labels.iter().map(|t| text_width(t)).fold(0.0, f64::max);
        let column = (bar_width + 6.0 * u + ticks).max(text_width(&view_label));
        (bar_gap + column, height.max(3.0 * line))
    } else {
        (0.0, 0.0)
    };
    let top_block = height.max(bar_height) + if options.colorbar { line } else { 0.0 };
    let plot_height = if profile.is_some() { (0.45 * width).max(180.0 * u) } else { 0.0 };
    let total_width = pad + width + bar_column + pad;
    let caption = if options.labels { caption_lines(signals, &view_label) } else { Vec::new() };
    let caption = wrap(&caption, total_width - 2.0 * pad, &text_width);
    let caption_height =
        if caption.is_empty() { 0.0 } else { 6.0 * u + caption.len() as f64 * line };
    let gap = if profile.is_some() { 10.0 * u } else { 0.0 };
    let total_height = pad + top_block + gap + plot_height + caption_height + pad;
    out.set_width(total_width.round() as u32);
    out.set_height(total_height.round() as u32);
    // Resizing a canvas resets its state.
    cx.set_font(&format!("{font}px system-ui, sans-serif"));
    cx.set_fill_style_str(BACKGROUND);
    cx.fill_rect(0.0, 0.0, total_width, total_height);

    draw_view(signals, &source, &cx, (pad, pad, width, height), u)?;

    if options.colorbar {
        let x = pad + width + bar_gap;
        let name = engine.colormap();
        let rows = bar_height.round().max(2.0) as usize;
        for row in 0..rows {
            let [r, g, b] = colormap::color(name, 1.0 - row as f64 / (rows - 1) as f64);
            cx.set_fill_style_str(&format!("rgb({r},{g},{b})"));
            cx.fill_rect(x, pad + row as f64, bar_width, 1.0);
        }
        cx.set_fill_style_str(MUTED);
        let tx = x + bar_width + 6.0 * u;
        let baselines = ["top", "middle", "bottom"];
        let ys = [pad, pad + 0.5 * bar_height, pad + bar_height];
        for ((text, baseline), y) in tick_labels.iter().zip(baselines).zip(ys) {
            cx.set_text_baseline(baseline);
            let _ = cx.fill_text(text, tx, y);
        }
        cx.set_text_baseline("top");
        let _ = cx.fill_text(&view_label, x, pad + bar_height + 0.3 * font);
    }

    if let Some(plot) = &profile {
        let area = (pad, pad + top_block + gap, width, plot_height);
        chart(&cx, plot, area, u, font);
    }

    cx.set_text_baseline("top");
    for (k, text) in caption.iter().enumerate() {
        cx.set_fill_style_str(if k == 0 { TEXT } else { MUTED });
        let y = pad + top_block + gap + plot_height + 6.0 * u + k as f64 * line;
        let _ = cx.fill_text(text, pad, y);
    }
    out.to_data_url().map_err(|e| format!("the picture cannot be exported: {e:?}"))
}

/// The view's picture size: the viewport's CSS width times `scale` (devicePixelRatio by
/// default), at least 256 and at most `max_side` px on either side; and the unit that text and
/// lines scale by (a CSS pixel in picture pixels).
pub fn view_size(engine: &Engine, scale: Option<f64>, max_side: f64) -> (f64, f64, f64) {
    let (css_width, css_height) = engine.canvas_css_size();
    // The shape on screen (a tall domain's viewport is capped in height), else the domain's.
    let aspect = if css_width > 0.0 && css_height > 0.0 {
        css_width / css_height
    } else {
        let [[x0, x1], [y0, y1]] = engine.sim.domain();
        (x1 - x0) / (y1 - y0)
    };
    let css_width = if css_width > 0.0 { css_width } else { 512.0 };
    let scale = scale.unwrap_or_else(|| ui::window().device_pixel_ratio());
    let mut width = (css_width * scale).round().clamp(MIN_WIDTH, max_side);
    let mut height = (width / aspect).round().max(1.0);
    if height > max_side {
        height = max_side;
        width = (max_side * aspect).round().max(1.0);
    }
    (width, height, (width / css_width).max(1.0))
}

/// The view as the viewport shows it — its black backdrop under "nothing here", the drawn
/// canvas `source`, the arrows — into the rectangle `(x, y, w, h)` of `cx`.
pub fn draw_view(
    signals: Signals,
    source: &HtmlCanvasElement,
    cx: &CanvasRenderingContext2d,
    area: (f64, f64, f64, f64),
    u: f64,
) -> Result<(), String> {
    let (x, y, w, h) = area;
    cx.set_fill_style_str("#000");
    cx.fill_rect(x, y, w, h);
    cx.set_image_smoothing_enabled(!source.class_name().contains("pixelated"));
    cx.draw_image_with_html_canvas_element_and_dw_and_dh(source, x, y, w, h)
        .map_err(|e| format!("the view cannot be drawn into the picture: {e:?}"))?;
    arrows(cx, &signals.arrow_segments.get_untracked(), area, u);
    Ok(())
}

/// A canvas off the page.
pub fn offscreen_canvas() -> Result<(HtmlCanvasElement, CanvasRenderingContext2d), String> {
    let canvas = ui::document()
        .create_element("canvas")
        .ok()
        .and_then(|c| c.dyn_into::<HtmlCanvasElement>().ok())
        .ok_or("the browser gave no canvas for the picture")?;
    let cx = context(&canvas)?;
    Ok((canvas, cx))
}

/// The case and view, the time, then every parameter.
fn caption_lines(signals: Signals, view_label: &str) -> Vec<String> {
    let hud = signals.hud.get_untracked();
    let title = format!(
        "{} — {view_label} — t = {:.4} (step {})",
        signals.spec().title,
        hud.time,
        hud.steps
    );
    let params: Vec<String> = signals
        .params
        .get_untracked()
        .iter()
        .map(|(name, value)| format!("{name} = {value}"))
        .collect();
    vec![title, params.join(", ")]
}

/// Lines broken at spaces to fit `width`.
fn wrap(lines: &[String], width: f64, text_width: &dyn Fn(&str) -> f64) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines.iter().filter(|l| !l.is_empty()) {
        let mut current = String::new();
        for word in line.split(' ') {
            let candidate =
                if current.is_empty() { word.to_string() } else { format!("{current} {word}") };
            if text_width(&candidate) > width && !current.is_empty() {
                out.push(std::mem::replace(&mut current, word.to_string()));
            } else {
                current = candidate;
            }
        }
        out.push(current);
    }
    out
}

/// The overlay's arrows (unit-square segments, y down) in the rectangle `(x, y, w, h)`.
fn arrows(
    cx: &CanvasRenderingContext2d,
    segments: &[[f32; 4]],
    area: (f64, f64, f64, f64),
    u: f64,
) {
    let (x, y, w, h) = area;
    cx.set_stroke_style_str("rgba(255,255,255,0.85)");
    cx.set_fill_style_str("rgba(255,255,255,0.85)");
    cx.set_line_width(1.3 * u);
    let head = 5.0 * u;
    for &[a, b, c, d] in segments {
        let (x0, y0) = (x + f64::from(a) * w, y + f64::from(b) * h);
        let (x1, y1) = (x + f64::from(c) * w, y + f64::from(d) * h);
        cx.begin_path();
        cx.move_to(x0, y0);
        cx.line_to(x1, y1);
        cx.stroke();
        let angle = (y1 - y0).atan2(x1 - x0);
        cx.begin_path();
        cx.move_to(x1, y1);
        for side in [-0.45f64, 0.45] {
            cx.line_to(x1 - head * (angle + side).cos(), y1 - head * (angle + side).sin());
        }
        cx.close_path();
        cx.fill();
    }
}

/// A profile chart like the page's (axes, ticks, its series, a legend) in `(x, y, w, h)`.
fn chart(
    cx: &CanvasRenderingContext2d,
    plot: &Plot,
    area: (f64, f64, f64, f64),
    u: f64,
    font: f64,
) {
    let (x, y, w, h) = area;
    let (left, right, top, bottom) = (56.0 * u, 10.0 * u, 1.6 * font, 2.6 * font);
    let (px, py, pw, ph) = (x + left, y + top, w - left - right, h - top - bottom);
    cx.set_fill_style_str(TEXT);
    cx.set_text_baseline("top");
    cx.set_text_align("left");
    let _ = cx.fill_text(&plot.title, x, y);
    let Some(([x0, x1], [y0, y1])) = plots::bounds(&plot.series) else { return };
    let sx = |v: f64| px + (v - x0) / (x1 - x0) * pw;
    let sy = |v: f64| py + ph - (v - y0) / (y1 - y0) * ph;
    cx.set_stroke_style_str(LINE);
    cx.set_line_width(u);
    cx.stroke_rect(px, py, pw, ph);
    cx.set_fill_style_str(MUTED);
    let x_ticks = plots::ticks(x0, x1);
    let x_step = x_ticks.get(1).map_or(1.0, |t| t - x_ticks[0]);
    cx.set_text_align("center");
    for t in &x_ticks {
        let _ = cx.fill_text(&plots::label(*t, x_step), sx(*t), py + ph + 0.3 * font);
    }
    let _ = cx.fill_text(plot.x_label, px + 0.5 * pw, py + ph + 1.4 * font);
    let y_ticks = plots::ticks(y0, y1);
    let y_step = y_ticks.get(1).map_or(1.0, |t| t - y_ticks[0]);
    cx.set_text_align("right");
    cx.set_text_baseline("middle");
    for t in &y_ticks {
        let _ = cx.fill_text(&plots::label(*t, y_step), px - 4.0 * u, sy(*t));
    }
    cx.set_text_align("left");
    for (k, series) in plot.series.iter().enumerate() {
        let colour = plots::COLOURS[k % plots::COLOURS.len()];
        cx.set_stroke_style_str(colour);
        cx.set_fill_style_str(colour);
        cx.set_line_width(1.5 * u);
        let points = series.points.iter().filter(|p| p[0].is_finite() && p[1].is_finite());
        match series.style {
            SeriesStyle::Line => {
                cx.begin_path();
                for (n, p) in points.enumerate() {
                    if n == 0 {
                        cx.move_to(sx(p[0]), sy(p[1]));
                    } else {
                        cx.line_to(sx(p[0]), sy(p[1]));
                    }
                }
                cx.stroke();
            }
            SeriesStyle::Markers => {
                for p in points.step_by(series.points.len().div_ceil(plots::MAX_MARKERS).max(1)) {
                    cx.begin_path();
                    let _ = cx.arc(sx(p[0]), sy(p[1]), 2.0 * u, 0.0, std::f64::consts::TAU);
                    cx.fill();
                }
            }
        }
        // The legend, top right inside the axes.
        let ly = py + (0.8 + k as f64 * 1.3) * font;
        let lx = px + pw - 0.35 * pw;
        cx.fill_rect(lx, ly - 0.1 * font, 1.2 * font, 0.2 * font);
        cx.set_fill_style_str(TEXT);
        let _ = cx.fill_text(&series.label, lx + 1.6 * font, ly);
    }
}
