//! SVG plots: every observable against time, and the case's profiles with their reference data
//! (Ghia's points on the cavity centrelines, the exact Sod solution).

use crate::engine::Signals;
use flowscope_core::{Series, SeriesStyle};
use leptos::prelude::*;

const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 170.0;
/// Plot area inside the SVG: left, right, top, bottom margins.
const MARGIN: (f64, f64, f64, f64) = (48.0, 10.0, 10.0, 30.0);
pub(crate) const COLOURS: &[&str] = &["#f0a030", "#5ab4ff", "#9be15d", "#ff6b9a"];
/// Markers drawn per series at most (every k-th beyond).
pub(crate) const MAX_MARKERS: usize = 600;

/// Round tick positions covering `[lo, hi]`.
pub(crate) fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-300);
    let raw = span / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(raw);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A tick label with as many decimals as the tick spacing `step` needs.
pub(crate) fn label(value: f64, step: f64) -> String {
    if value.abs() < 1e-9 * step {
        return "0".into();
    }
    let magnitude = value.abs().max(step);
    if value != 0.0 && !(1e-3..1e5).contains(&magnitude) {
        let digits = ((magnitude / step).log10().ceil() as usize).clamp(1, 8);
        return format!("{value:.digits$e}", digits = digits.saturating_sub(1).max(1));
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{value:.decimals$}")
}

/// Bounds of the finite points, padded a little; a flat series gets a unit-ish span.
pub(crate) fn bounds(series: &[Series]) -> Option<([f64; 2], [f64; 2])> {
    let mut points = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|p| p[0].is_finite() && p[1].is_finite());
    let first = points.next()?;
    let (mut x, mut y) = ([first[0]; 2], [first[1]; 2]);
    for p in points {
        x = [x[0].min(p[0]), x[1].max(p[0])];
        y = [y[0].min(p[1]), y[1].max(p[1])];
    }
    let pad = |[lo, hi]: [f64; 2]| {
        let span = hi - lo;
        if span <= 1e-12 * lo.abs().max(1e-300) {
            let d = if lo == 0.0 { 1.0 } else { 0.05 * lo.abs() };
            [lo - d, hi + d]
        } else {
            [lo - 0.04 * span, hi + 0.04 * span]
        }
    };
    Some((pad(x), pad(y)))
}

/// One chart with axes, ticks and a legend.
#[component]
pub fn Chart(
    title: String,
    x_label: String,
    y_label: String,
    series: Vec<Series>,
    testid: String,
) -> impl IntoView {
    let (left, right, top, bottom) = MARGIN;
    let (w, h) = (WIDTH - left - right, HEIGHT - top - bottom);
    let Some(([x0, x1], [y0, y1])) = bounds(&series) else {
        return view! {
            <figure class="chart" data-testid=testid>
                <figcaption>{title}</figcaption>
                <p class="empty">"no data yet"</p>
            </figure>
        }
        .into_any();
    };
    let sx = move |x: f64| left + (x - x0) / (x1 - x0) * w;
    let sy = move |y: f64| top + (1.0 - (y - y0) / (y1 - y0)) * h;
    let spacing = |t: &[f64]| if t.len() > 1 { t[1] - t[0] } else { 1.0 };
    let (xt, yt) = (ticks(x0, x1), ticks(y0, y1));
    let (dx, dy) = (spacing(&xt), spacing(&yt));
    let x_ticks = xt
        .into_iter()
        .map(|t| {
            view! {
                <line x1=sx(t) x2=sx(t) y1=top y2=top + h class="grid" />
                <text x=sx(t) y=HEIGHT - 16.0 text-anchor="middle">{label(t, dx)}</text>
            }
        })
        .collect_view();
    let y_ticks = yt
        .into_iter()
        .map(|t| {
            view! {
                <line x1=left x2=left + w y1=sy(t) y2=sy(t) class="grid" />
                <text x=left - 4.0 y=sy(t) + 4.0 text-anchor="end">{label(t, dy)}</text>
            }
        })
        .collect_view();
    let legend: Vec<(String, &str)> = series
        .iter()
        .enumerate()
        .map(|(k, s)| (s.label.clone(), COLOURS[k % COLOURS.len()]))
        .collect();
    let curves = series.into_iter().enumerate().map(|(k, s)| {
        let colour = COLOURS[k % COLOURS.len()];
        let finite = s.points.into_iter().filter(|p| p[0].is_finite() && p[1].is_finite());
        match s.style {
            SeriesStyle::Line => {
                let points: Vec<String> = finite.map(|p| format!("{:.1},{:.1}", sx(p[0]), sy(p[1]))).collect();
                view! { <polyline points=points.join(" ") fill="none" stroke=colour stroke-width="1.5" /> }.into_any()
            }
            SeriesStyle::Markers => {
                let points: Vec<[f64; 2]> = finite.collect();
                let stride = points.len().div_ceil(MAX_MARKERS).max(1);
                let filled = k == 0;
                points.into_iter().step_by(stride).map(|p| view! {
                    <circle cx=format!("{:.1}", sx(p[0])) cy=format!("{:.1}", sy(p[1])) r="2.2"
                        fill=if filled { colour } else { "none" } stroke=colour />
                }).collect_view().into_any()
            }
        }
    }).collect_view();
    let aria = format!("{title}: {y_label} against {x_label}");
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>{title}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=aria>
                {x_ticks}{y_ticks}
                <rect x=left y=top width=w height=h class="frame" />
                {curves}
                <text x=left + w / 2.0 y=HEIGHT - 2.0 text-anchor="middle" class="axis">{x_label}</text>
                <text x="12" y=top + h / 2.0 text-anchor="middle" class="axis"
                    transform=format!("rotate(-90 12 {})", top + h / 2.0)>{y_label}</text>
            </svg>
            {(legend.len() > 1).then(|| view! {
                <ul class="legend">
                    {legend.into_iter().map(|(text, colour)| view! {
                        <li><span class="swatch" style:background=colour></span>{text}</li>
                    }).collect_view()}
                </ul>
            })}
        </figure>
    }
    .into_any()
}

/// The case's profiles, then every observable against time.
#[component]
pub fn Plots(signals: Signals) -> impl IntoView {
    let profiles = move || {
        signals.plots.get().into_iter().map(|plot| view! {
            <Chart title=plot.title x_label=plot.x_label.to_string() y_label=plot.y_label.to_string()
                series=plot.series testid=format!("plot-{}", plot.name) />
        }).collect_view()
    };
    let series = move || {
        let spec = flowscope_cases::find(&signals.case_id.get()).ok()?;
        let history = signals.history.get();
        let compare = signals.compare.get();
        let twin = signals.compare_history.get();
        signals.params.track();
        let hidden =
            crate::engine::with_engine(|e| e.sim.inapplicable_observables()).unwrap_or_default();
        Some(
            spec.observables
                .iter()
                .enumerate()
                .filter(|(_, observable)| !hidden.contains(&observable.name))
                .map(|(k, observable)| {
                    let points = |history: &crate::engine::History| {
                        history
                            .time
                            .iter()
                            .zip(history.values.get(k).into_iter().flatten())
                            .map(|(&t, &v)| [t, v])
                            .collect::<Vec<_>>()
                    };
                    // In compare mode both sides, named by their values.
                    let series = match &compare {
                        Some(c) => vec![
                            Series::line(c.label(0), points(&history)),
                            Series::line(c.label(1), points(&twin)),
                        ],
                        None => vec![Series::line(observable.name, points(&history))],
                    };
                    let unit = if observable.unit.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", observable.unit)
                    };
                    view! {
                        <Chart title=format!("{}{unit}", observable.label) x_label="t".to_string()
                            y_label=observable.name.to_string()
                            series=series
                            testid=format!("observable-{}", observable.name) />
                    }
                })
                .collect_view(),
        )
    };
    view! {
        <section class="plots" data-testid="plots" aria-label="Plots">
            {move || (!signals.plots.get().is_empty()).then(|| view! {
                <h2>"Profiles"</h2>
                <div class="charts">{profiles}</div>
            })}
            <h2>"Observables"</h2>
            <div class="charts">{series}</div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_resolve_their_spacing() {
        let t = ticks(1.374_998, 1.375_003);
        let labels: Vec<_> = t.iter().map(|&v| label(v, t[1] - t[0])).collect();
        let distinct: std::collections::HashSet<_> = labels.iter().collect();
        assert_eq!(distinct.len(), labels.len(), "{labels:?}");
        assert_eq!(label(0.5, 0.5), "0.5");
        assert_eq!(label(20.0, 10.0), "20");
        assert_eq!(label(0.0, 2e-7), "0");
        assert_eq!(label(4e-7, 2e-7), "4.0e-7");
    }
}
