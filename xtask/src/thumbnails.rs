//! `cargo xtask thumbnails`: the gallery pictures in public/thumbs/, rendered from the cases
//! themselves (CPU backend, default parameters, the first view in its colormap), each from a
//! developed state: a fixed number of steps per case.

use crate::project_root;
use anyhow::{Context, Result};
use flowscope_core::{colormap, Field2, ViewKind};
use std::path::Path;
use std::time::{Duration, Instant};

/// Pixels per side (64 CSS pixels at 2× density).
const SIZE: usize = 128;
/// Each case runs this many steps (unless it says otherwise below); a case that takes longer
/// than the budget stops there, with a warning, so the picture may then depend on the machine.
const STEPS: u32 = 400;
const BUDGET: Duration = Duration::from_secs(180);
const BACKGROUND: [u8; 3] = [0, 0, 0];

pub fn run(only: &[String]) -> Result<()> {
    let dir = project_root().join("public/thumbs");
    std::fs::create_dir_all(&dir)?;
    for spec in flowscope_cases::CATALOG {
        if !only.is_empty() && !only.iter().any(|id| id == spec.id) {
            continue;
        }
        let models = flowscope_cases::read_models(spec, &project_root().join("public/models"))
            .map_err(anyhow::Error::msg)?;
        let mut sim = flowscope_cases::create_with(spec.id, &spec.defaults(), None, &models)
            .with_context(|| format!("starting {}", spec.id))?;
        let started = Instant::now();
        let mut steps = 0;
        // A developed state, not the start: the learned particle solvers' frames are 16 solver
        // steps each, and their shipped models hold for about 20 of them; the plasma's drift
        // waves grow out of the noise and break up by t ≈ 100; the cylinder sheds vortices from
        // about step 4000; the step's recirculation and the cavity's vortex take a few thousand
        // steps; the dam break's surge is mid-tank at T ≈ 2.4.
        let wanted = match spec.id {
            id if id.starts_with("learned-sph") => 12,
            "hasegawa-wakatani" => 4800,
            "cylinder-wake" | "backward-step" => 6000,
            "airfoil" | "lid-cavity" => 3000,
            "dam-break" => 2250,
            "sph-playground" => 1500,
            // Slow steps: the learned wake's frames (its first develops the wake on the CPU),
            // the quantum controller's training updates.
            "acdm-wake" => 4,
            "control-quantum" => 120,
            _ => STEPS,
        };
        while steps < wanted && started.elapsed() < BUDGET {
            sim.step(1).with_context(|| format!("stepping {}", spec.id))?;
            steps += 1;
        }
        if steps < wanted {
            eprintln!("xtask: warning: {} stopped at step {steps} of {wanted} (budget)", spec.id);
        }
        let view = &spec.views[0];
        let name = if view.kind == ViewKind::Vector { "speed" } else { view.name };
        let field = sim.read_view(name)?;
        // A diverging field's few extreme cells (vorticity at a wall) would wash the rest out:
        // its range is the 98th percentile of |value|.
        let range = match sim.view_range(name) {
            Some(range) => range,
            None if view.colormap == "coolwarm" => {
                let m = percentile_of_magnitude(&field, 0.98).max(1e-12);
                (-m, m)
            }
            None => field.finite_range().unwrap_or((0.0, 1.0)),
        };
        let path = dir.join(format!("{}.png", spec.id));
        write_png(&path, &field, sim.domain(), range, view.colormap)?;
        eprintln!("xtask: {} after {steps} steps", path.display());
    }
    std::fs::write(
        dir.join("README.md"),
        "# Gallery thumbnails\n\nRendered from the cases themselves (CPU backend, default \
         parameters, first view) by\n\n    cargo xtask thumbnails\n\nRe-run it after adding or \
         changing a case; a test checks that every case has one.\n",
    )?;
    Ok(())
}

/// The `q` quantile of |value| over the finite cells.
fn percentile_of_magnitude(field: &Field2, q: f64) -> f32 {
    let mut magnitudes: Vec<f32> =
        field.data.iter().filter(|v| v.is_finite()).map(|v| v.abs()).collect();
    if magnitudes.is_empty() {
        return 1.0;
    }
    let k = ((magnitudes.len() - 1) as f64 * q).round() as usize;
    *magnitudes.select_nth_unstable_by(k, f32::total_cmp).1
}

/// The field letterboxed into a square at its domain's aspect ratio, nearest-neighbour.
fn write_png(
    path: &Path,
    field: &Field2,
    [[x0, x1], [y0, y1]]: flowscope_core::Domain,
    (vmin, vmax): (f32, f32),
    map: &str,
) -> Result<()> {
    let aspect = (x1 - x0) / (y1 - y0);
    let (w, h) = if aspect >= 1.0 {
        (SIZE, ((SIZE as f64 / aspect).round() as usize).max(1))
    } else {
        (((SIZE as f64 * aspect).round() as usize).max(1), SIZE)
    };
    let (ox, oy) = ((SIZE - w) / 2, (SIZE - h) / 2);
    let mut pixels = vec![0u8; SIZE * SIZE * 3];
    for py in 0..SIZE {
        for px in 0..SIZE {
            let rgb = if (ox..ox + w).contains(&px) && (oy..oy + h).contains(&py) {
                let i = ((px - ox) * field.nx / w).min(field.nx - 1);
                let j = field.ny - 1 - ((py - oy) * field.ny / h).min(field.ny - 1);
                let value = field.at(i, j);
                if value.is_finite() {
                    let t = f64::from((value - vmin) / (vmax - vmin).max(1e-30));
                    colormap::color(map, t)
                } else {
                    BACKGROUND
                }
            } else {
                BACKGROUND
            };
            let k = 3 * (py * SIZE + px);
            pixels[k..k + 3].copy_from_slice(&rgb);
        }
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), SIZE as u32, SIZE as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&pixels)?;
    Ok(())
}
