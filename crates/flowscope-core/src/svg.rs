//! Small SVG line charts for the reports (docs/VALIDATION.md, docs/MODELS.md), hand-written:
//! plotting crates need system fonts to lay out text, which CI machines may lack.

use std::fmt::Write as _;

/// A small SVG chart: lines for simulated profiles, circles for reference points.
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    lines: &[(&str, &[(f64, f64)])],
    points: &[(&str, &[(f64, f64)])],
) -> String {
    let (w, h, m) = (520.0, 380.0, 50.0);
    let all = lines.iter().chain(points).flat_map(|(_, d)| d.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let sx = |x: f64| m + (x - x0) / (x1 - x0).max(1e-12) * (w - 2.0 * m);
    let sy = |y: f64| h - m - (y - y0) / (y1 - y0).max(1e-12) * (h - 2.0 * m);
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
    let mut svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='12'>\n\
         <rect width='100%' height='100%' fill='white'/>\n\
         <text x='{}' y='20' text-anchor='middle' font-size='14'>{title}</text>\n\
         <rect x='{m}' y='{m}' width='{}' height='{}' fill='none' stroke='#444'/>\n\
         <text x='{}' y='{}' text-anchor='middle'>{x_label}</text>\n\
         <text x='14' y='{}' text-anchor='middle' transform='rotate(-90 14 {})'>{y_label}</text>\n",
        w / 2.0, w - 2.0 * m, h - 2.0 * m, w / 2.0, h - 12.0, h / 2.0, h / 2.0
    );
    for k in 0..=4 {
        let (fx, fy) = (x0 + (x1 - x0) * k as f64 / 4.0, y0 + (y1 - y0) * k as f64 / 4.0);
        let _ = writeln!(
            svg,
            "<text x='{:.1}' y='{:.1}' text-anchor='middle'>{fx:.2}</text>",
            sx(fx),
            h - m + 16.0
        );
        let _ = writeln!(
            svg,
            "<text x='{:.1}' y='{:.1}' text-anchor='end'>{fy:.2}</text>",
            m - 4.0,
            sy(fy) + 4.0
        );
    }
    let mut legend = 0;
    for (k, (name, data)) in lines.iter().enumerate() {
        let path: Vec<String> =
            data.iter().map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y))).collect();
        let colour = colours[k % colours.len()];
        let _ = writeln!(
            svg,
            "<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{}'/>",
            path.join(" ")
        );
        let _ = writeln!(
            svg,
            "<text x='{}' y='{}' fill='{colour}'>— {name}</text>",
            m + 8.0,
            m + 16.0 + 16.0 * legend as f64
        );
        legend += 1;
    }
    for (k, (name, data)) in points.iter().enumerate() {
        let colour = colours[(k + lines.len()) % colours.len()];
        for &(x, y) in data.iter() {
            let _ = writeln!(
                svg,
                "<circle cx='{:.1}' cy='{:.1}' r='3.5' fill='none' stroke='{colour}'/>",
                sx(x),
                sy(y)
            );
        }
        let _ = writeln!(
            svg,
            "<text x='{}' y='{}' fill='{colour}'>○ {name}</text>",
            m + 8.0,
            m + 16.0 + 16.0 * legend as f64
        );
        legend += 1;
    }
    svg.push_str("</svg>\n");
    svg
}
