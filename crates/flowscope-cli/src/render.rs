//! `flowscope render DIR --view V` (contract, README "CLI"): a run folder's `fields/*.npy` as
//! pictures for papers and slides — `DIR/png/<view>_<step>.png`, colormapped like the page with
//! a colour bar and its range written beside it — or, with `--gif FILE`, one animated GIF.
//!
//! Every frame of a view shares one colour range (the view's fixed one, else the extent over
//! all frames, symmetric about zero for coolwarm) so that a clip does not flicker. Pictures are
//! indexed: 252 colormap steps, then the background, the text and the "nothing here" colours.

use anyhow::{bail, Context, Result};
use clap::Parser;
use flowscope_core::{colormap, read_npy_f32, ViewKind};
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Parser)]
pub struct RenderArgs {
    /// A run folder written by `flowscope run` (meta.json and fields/).
    pub dir: PathBuf,
    /// The view to draw (a vector view as its magnitude); default the case's first view.
    #[arg(long)]
    pub view: Option<String>,
    /// Colormap (viridis, inferno, coolwarm); default the view's own.
    #[arg(long)]
    pub colormap: Option<String>,
    /// Pixels per grid cell; default the fewest that make the field at least 256 px wide.
    #[arg(long)]
    pub scale: Option<u32>,
    /// Colour range as LO,HI; default the view's fixed range, else the extent over all frames.
    #[arg(long, value_name = "LO,HI", allow_hyphen_values = true)]
    pub range: Option<String>,
    /// Write the frames into this animated GIF instead of PNGs.
    #[arg(long, value_name = "FILE")]
    pub gif: Option<PathBuf>,
    /// Frames per second of the GIF.
    #[arg(long, default_value_t = 10)]
    pub fps: u32,
}

/// Colormap steps in the palette; the entries after them are fixed colours.
const STEPS: usize = 252;
const BACKGROUND: u8 = 252;
const INK: u8 = 253;
const EMPTY: u8 = 254;
/// The least width of the field's picture by default.
const MIN_WIDTH: usize = 256;
/// The largest side of a picture.
const MAX_SIDE: usize = 4096;

/// An indexed picture (row 0 at the top) over [`palette`].
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// RGB triples: the colormap's steps (its two ends exactly), white, near-black, light grey.
pub fn palette(name: &str) -> Vec<u8> {
    let mut rgb: Vec<u8> =
        (0..STEPS).flat_map(|k| colormap::color(name, k as f64 / (STEPS - 1) as f64)).collect();
    rgb.extend([255, 255, 255, 20, 20, 20, 200, 200, 200, 0, 0, 0]);
    rgb
}

fn index_of(value: f32, (lo, hi): (f32, f32)) -> u8 {
    if !value.is_finite() {
        return EMPTY;
    }
    let t = ((value - lo) / (hi - lo)).clamp(0.0, 1.0);
    (t * (STEPS - 1) as f32).round() as u8
}

/// One frame's data: a grid `[ny, nx]` with row 0 at the bottom, or particles.
enum Frame {
    Grid { nx: usize, ny: usize, values: Vec<f32> },
    Particles { positions: Vec<f32>, dim: usize, values: Vec<f32> },
}

impl Frame {
    fn values(&self) -> &[f32] {
        match self {
            Frame::Grid { values, .. } | Frame::Particles { values, .. } => values,
        }
    }
}

fn read_npy(path: &Path) -> Result<(Vec<u64>, Vec<f32>)> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    read_npy_f32(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The steps with a file `fields/<name>_<step>.npy`, in order.
fn steps_of(fields: &Path, name: &str) -> Result<Vec<u64>> {
    let prefix = format!("{name}_");
    let mut steps: Vec<u64> = fs::read_dir(fields)
        .with_context(|| format!("cannot read {}", fields.display()))?
        .filter_map(|entry| {
            let file = entry.ok()?.file_name().into_string().ok()?;
            file.strip_prefix(&prefix)?.strip_suffix(".npy")?.parse().ok()
        })
        .collect();
    steps.sort_unstable();
    Ok(steps)
}

/// The view's values at `step`: a scalar, a vector's magnitude, or per particle.
fn read_frame(fields: &Path, view: &str, vector: bool, step: u64) -> Result<Frame> {
    let file = |name: &str| fields.join(format!("{name}_{step}.npy"));
    let grid = |(shape, values): (Vec<u64>, Vec<f32>)| -> Result<Frame> {
        match shape[..] {
            [ny, nx] => Ok(Frame::Grid { nx: nx as usize, ny: ny as usize, values }),
            [n] => Ok(Frame::Grid { nx: n as usize, ny: 1, values }),
            _ => bail!("a grid field must be 1D or 2D, not of shape {shape:?}"),
        }
    };
    let position = file("position");
    if position.exists() {
        let (shape, positions) = read_npy(&position)?;
        let (_, values) = read_npy(&file(view))?;
        let dim = *shape.get(1).unwrap_or(&1) as usize;
        if positions.len() != values.len() * dim || !(1..=2).contains(&dim) {
            bail!(
                "{}: positions {shape:?} do not match {} values",
                position.display(),
                values.len()
            );
        }
        return Ok(Frame::Particles { positions, dim, values });
    }
    if !vector {
        return grid(read_npy(&file(view))?);
    }
    let (shape, x) = read_npy(&file(&format!("{view}_x")))?;
    let (_, y) = read_npy(&file(&format!("{view}_y")))?;
    if x.len() != y.len() {
        bail!("the components of '{view}' at step {step} differ in size");
    }
    grid((shape, x.iter().zip(&y).map(|(a, b)| a.hypot(*b)).collect()))
}

/// The shared colour range of the frames.
fn extent(frames: &[Frame], colormap: &str) -> (f32, f32) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for v in frames.iter().flat_map(|f| f.values()).filter(|v| v.is_finite()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if colormap == "coolwarm" {
        let m = lo.abs().max(hi.abs()).max(1e-12);
        return (-m, m);
    }
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    }
}

/// The field's picture: `width` wide (a 1D strip a sixth as high), the domain's aspect.
fn draw_field(frame: &Frame, width: usize, domain: [[f64; 2]; 2], range: (f32, f32)) -> Picture {
    let [[x0, x1], [y0, y1]] = domain;
    match frame {
        Frame::Grid { nx, ny, values } => {
            let scale = width / nx;
            let height = if *ny == 1 { (width / 6).max(48) } else { ny * scale };
            let mut pixels = vec![0; width * height];
            for (row, line) in pixels.chunks_mut(width).enumerate() {
                let j = if *ny == 1 { 0 } else { ny - 1 - row / scale };
                for (x, pixel) in line.iter_mut().enumerate() {
                    *pixel = index_of(values[j * nx + x / scale], range);
                }
            }
            Picture { width, height, pixels }
        }
        Frame::Particles { positions, dim, values } => {
            let height = if *dim == 1 {
                (width / 6).max(48)
            } else {
                ((width as f64 * (y1 - y0) / (x1 - x0)).round() as usize).clamp(1, MAX_SIDE)
            };
            let mut pixels = vec![EMPTY; width * height];
            // A disc per particle about its share of the area (of the strip in 1D).
            let n = values.len().max(1) as f64;
            let radius = if *dim == 1 {
                0.5 * width as f64 / n
            } else {
                0.6 * ((width * height) as f64 / n).sqrt()
            }
            .max(1.5);
            for (k, value) in values.iter().enumerate() {
                let u = (f64::from(positions[dim * k]) - x0) / (x1 - x0);
                let v = if *dim == 1 {
                    0.5
                } else {
                    (f64::from(positions[2 * k + 1]) - y0) / (y1 - y0)
                };
                let (cx, cy) = (u * width as f64, (1.0 - v) * height as f64);
                let colour = index_of(*value, range);
                let r = radius.ceil() as i64;
                // In 1D a particle colours the strip's full height about it.
                let rows = if *dim == 1 { height as i64 } else { r };
                for dy in -rows..=rows {
                    for dx in -r..=r {
                        let (x, y) = (cx as i64 + dx, cy as i64 + dy);
                        let inside = *dim == 1 || (dx * dx + dy * dy) as f64 <= radius * radius;
                        if inside
                            && (0..width as i64).contains(&x)
                            && (0..height as i64).contains(&y)
                        {
                            pixels[y as usize * width + x as usize] = colour;
                        }
                    }
                }
            }
            Picture { width, height, pixels }
        }
    }
}

/// 5×7 glyphs of the characters a range label uses, one byte per row (low 5 bits, MSB left).
fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        '.' => [0, 0, 0, 0, 0, 12, 12],
        '-' => [0, 0, 0, 31, 0, 0, 0],
        '+' => [0, 4, 4, 31, 4, 4, 0],
        'e' => [0, 0, 14, 17, 31, 16, 14],
        _ => [0; 7],
    }
}

/// A colour-bar label: short, exponent form outside 1e-3..1e4.
pub fn label(value: f32) -> String {
    let magnitude = value.abs();
    if value == 0.0 || (1e-3..1e4).contains(&magnitude) {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{value:.2e}")
    }
}

impl Picture {
    fn blank(width: usize, height: usize) -> Self {
        Self { width, height, pixels: vec![BACKGROUND; width * height] }
    }

    fn paste(&mut self, other: &Picture, x0: usize, y0: usize) {
        for (y, line) in other.pixels.chunks(other.width).enumerate() {
            let start = (y0 + y) * self.width + x0;
            self.pixels[start..start + other.width].copy_from_slice(line);
        }
    }

    /// `text` with its top left at (x0, y0), glyphs scaled by `size`.
    fn text(&mut self, text: &str, x0: usize, y0: usize, size: usize) {
        for (k, c) in text.chars().enumerate() {
            for (row, bits) in glyph(c).iter().enumerate() {
                for col in 0..5 {
                    if bits & (16 >> col) == 0 {
                        continue;
                    }
                    for dy in 0..size {
                        for dx in 0..size {
                            let (x, y) = (x0 + (k * 6 + col) * size + dx, y0 + row * size + dy);
                            if x < self.width && y < self.height {
                                self.pixels[y * self.width + x] = INK;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The field with a colour bar to its right, labelled with the range's ends and middle.
fn compose(field: &Picture, range: (f32, f32)) -> Picture {
    let size = (field.height.max(128) / 128).clamp(1, 3);
    let (gap, bar) = (8 * size, 12 * size);
    let labels = [label(range.1), label(0.5 * (range.0 + range.1)), label(range.0)];
    let text_width = labels.iter().map(|l| l.len()).max().unwrap_or(1) * 6 * size;
    let bar_height = field.height.max(7 * size * 3 + 8);
    let margin = 4 * size;
    let width = margin + field.width + gap + bar + 4 * size + text_width + margin;
    let height = margin + bar_height.max(field.height) + margin;
    let mut out = Picture::blank(width, height);
    out.paste(field, margin, margin);
    let bar_x = margin + field.width + gap;
    for row in 0..bar_height {
        let t = 1.0 - row as f64 / (bar_height - 1) as f64;
        let index = (t * (STEPS - 1) as f64).round() as u8;
        let start = (margin + row) * width + bar_x;
        out.pixels[start..start + bar].fill(index);
    }
    let text_x = bar_x + bar + 4 * size;
    let glyph_height = 7 * size;
    let rows =
        [margin, margin + (bar_height - glyph_height) / 2, margin + bar_height - glyph_height];
    for (text, y) in labels.iter().zip(rows) {
        out.text(text, text_x, y, size);
    }
    out
}

pub fn write_png(path: &Path, picture: &Picture, palette: &[u8]) -> Result<()> {
    let file =
        fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut encoder = png::Encoder::new(
        std::io::BufWriter::new(file),
        picture.width as u32,
        picture.height as u32,
    );
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(palette.to_vec());
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&picture.pixels)?;
    writer.finish()?;
    Ok(())
}

fn parse_range(text: &str) -> Result<(f32, f32)> {
    let parts: Vec<f32> = text
        .split(',')
        .map(|p| p.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("--range '{text}': give two numbers as LO,HI"))?;
    match parts[..] {
        [lo, hi] if lo.is_finite() && hi.is_finite() && lo < hi => Ok((lo, hi)),
        _ => bail!("--range '{text}': give two finite numbers LO,HI with LO < HI"),
    }
}

pub fn run(args: RenderArgs) -> Result<()> {
    let meta_path = args.dir.join("meta.json");
    let meta: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&meta_path).with_context(|| {
            format!(
                "{} is not a run folder (no meta.json); `flowscope run` writes one",
                args.dir.display()
            )
        })?)
        .with_context(|| format!("{} is not valid JSON", meta_path.display()))?;
    let case = meta["case"].as_str().context("meta.json names no case")?;
    let spec = flowscope_cases::find(case).map_err(anyhow::Error::msg)?;
    let view = match &args.view {
        Some(name) => spec.views.iter().find(|v| v.name == name).with_context(|| {
            let names: Vec<_> = spec.views.iter().map(|v| v.name).collect();
            format!("case '{case}' has no view '{name}'; its views: {}", names.join(", "))
        })?,
        None => spec.views.first().context("the case has no views")?,
    };
    let colormap = args.colormap.as_deref().unwrap_or(view.colormap);
    if !colormap::NAMES.contains(&colormap) {
        bail!("unknown colormap '{colormap}'; known: {}", colormap::NAMES.join(", "));
    }
    if args.fps == 0 || args.fps > 100 {
        bail!("--fps must be between 1 and 100");
    }
    let fields = args.dir.join("fields");
    let vector = view.kind == ViewKind::Vector;
    let first_file = if vector { format!("{}_x", view.name) } else { view.name.to_string() };
    let steps = steps_of(&fields, &first_file)?;
    if steps.is_empty() {
        bail!(
            "{} holds no {first_file}_<step>.npy: run with --every to write fields",
            fields.display()
        );
    }
    let frames: Vec<Frame> =
        steps.iter().map(|&s| read_frame(&fields, view.name, vector, s)).collect::<Result<_>>()?;
    let range = match &args.range {
        Some(text) => parse_range(text)?,
        None => view.range.unwrap_or_else(|| extent(&frames, colormap)),
    };
    let domain: [[f64; 2]; 2] = serde_json::from_value(meta["domain"].clone())
        .context("meta.json has no domain [[x0, x1], [y0, y1]]")?;
    // Particle pictures are drawn in units of 256 px.
    let nx = match &frames[0] {
        Frame::Grid { nx, .. } => *nx,
        Frame::Particles { .. } => MIN_WIDTH,
    };
    let scale = match args.scale {
        Some(0) => bail!("--scale must be at least 1"),
        Some(scale) => scale as usize,
        None => MIN_WIDTH.div_ceil(nx).max(1),
    };
    let width =
        if matches!(frames[0], Frame::Particles { .. }) { scale * MIN_WIDTH } else { nx * scale };
    if width > MAX_SIDE {
        bail!("the picture would be {width} px wide; at most {MAX_SIDE} (lower --scale)");
    }
    let palette = palette(colormap);
    let pictures: Vec<Picture> =
        frames.iter().map(|f| compose(&draw_field(f, width, domain, range), range)).collect();
    match &args.gif {
        Some(path) => {
            let file = fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut encoder = gif::Encoder::new(
                std::io::BufWriter::new(file),
                pictures[0].width as u16,
                pictures[0].height as u16,
                &palette,
            )?;
            encoder.set_repeat(gif::Repeat::Infinite)?;
            for picture in pictures {
                let mut frame = gif::Frame::from_indexed_pixels(
                    picture.width as u16,
                    picture.height as u16,
                    picture.pixels,
                    None,
                );
                frame.delay = (100 / args.fps).max(1) as u16;
                encoder.write_frame(&frame)?;
            }
            println!(
                "{} ({} frames, range {} to {})",
                path.display(),
                steps.len(),
                label(range.0),
                label(range.1)
            );
        }
        None => {
            let out = args.dir.join("png");
            fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
            for (picture, step) in pictures.iter().zip(&steps) {
                write_png(&out.join(format!("{}_{step}.png", view.name)), picture, &palette)?;
            }
            println!(
                "{}/{}_<step>.png ({} frames, range {} to {})",
                out.display(),
                view.name,
                steps.len(),
                label(range.0),
                label(range.1)
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_short_and_drawable() {
        assert_eq!(label(1.0), "1");
        assert_eq!(label(-0.125), "-0.125");
        assert_eq!(label(0.0), "0");
        assert_eq!(label(3.2e-6), "3.20e-6");
        for text in [label(-12345.0), label(0.5), label(7e9)] {
            assert!(text.chars().all(|c| glyph(c) != [0; 7]), "{text}");
        }
    }

    #[test]
    fn the_palette_holds_the_colormap_ends() {
        let rgb = palette("inferno");
        assert_eq!(rgb[..3], colormap::color("inferno", 0.0));
        assert_eq!(rgb[(STEPS - 1) * 3..STEPS * 3], colormap::color("inferno", 1.0));
        assert_eq!(index_of(f32::NAN, (0.0, 1.0)), EMPTY);
        assert_eq!(index_of(5.0, (0.0, 1.0)), (STEPS - 1) as u8);
    }
}
