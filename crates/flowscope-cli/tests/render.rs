//! `flowscope render`'s contract: pictures of a run's fields, their size, colours and colour bar,
//! the GIF's frames, and one clear line for bad input.

use flowscope_core::colormap;
use std::path::Path;
use std::process::Command;

fn flowscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flowscope")).args(args).output().expect("runs")
}

fn run_heat(dir: &Path, steps: &str) {
    let out = dir.to_str().unwrap();
    let result = flowscope(&[
        "run",
        "heat",
        "--set",
        "n=64",
        "--set",
        "initial=mode",
        "--steps",
        steps,
        "--every",
        "10",
        "--out",
        out,
    ]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
}

/// RGB rows of an indexed PNG.
fn read_png(path: &Path) -> (usize, usize, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let palette = reader.info().palette.as_ref().expect("an indexed PNG").to_vec();
    assert_eq!(info.color_type, png::ColorType::Indexed);
    let pixels = buffer[..info.width as usize * info.height as usize]
        .iter()
        .map(|&k| {
            [palette[3 * k as usize], palette[3 * k as usize + 1], palette[3 * k as usize + 2]]
        })
        .collect();
    (info.width as usize, info.height as usize, pixels)
}

fn read_field(path: &Path) -> Vec<f32> {
    let (_, values) = flowscope_core::read_npy_f32(&std::fs::read(path).unwrap()).unwrap();
    values
}

#[test]
fn a_picture_is_wide_colormapped_to_its_ends_and_carries_a_colour_bar() {
    let dir = tempfile::tempdir().unwrap();
    run_heat(dir.path(), "10");
    let path = dir.path().to_str().unwrap();
    let result = flowscope(&["render", path, "--view", "temperature", "--colormap", "inferno"]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let (width, height, pixels) = read_png(&dir.path().join("png/temperature_10.png"));
    assert!(width >= 256 + 40 && height >= 256, "{width} × {height}");

    // The field's top left corner is the first pixel that is not the white background.
    let white = [255, 255, 255];
    let first = pixels.iter().position(|p| *p != white).unwrap();
    let (x0, y0) = (first % width, first / width);
    let cell = 256 / 64;
    let values = read_field(&dir.path().join("fields/temperature_10.npy"));
    let at = |k: usize| {
        let (i, j) = (k % 64, k / 64);
        pixels[(y0 + (63 - j) * cell + 1) * width + x0 + i * cell + 1]
    };
    let arg = |better: fn(f32, f32) -> bool| {
        (0..values.len()).fold(0, |best, k| if better(values[k], values[best]) { k } else { best })
    };
    assert_eq!(at(arg(|a, b| a > b)), colormap::color("inferno", 1.0), "the largest value");
    assert_eq!(at(arg(|a, b| a < b)), colormap::color("inferno", 0.0), "the smallest value");

    // Right of the field: the bar, the largest value's colour at its top, the smallest's below.
    let bar_x = (x0 + 64 * cell..width)
        .find(|&x| pixels[y0 * width + x] == colormap::color("inferno", 1.0))
        .expect("a colour bar right of the field");
    let bottom = (y0..height).rev().find(|&y| pixels[y * width + bar_x] != white).unwrap();
    assert_eq!(pixels[bottom * width + bar_x], colormap::color("inferno", 0.0));
    // Its range written beside it: dark text right of the bar.
    let ink = pixels[y0 * width + bar_x + 20..(y0 + 16) * width].iter().any(|p| p[0] < 60);
    assert!(ink, "labels beside the bar");
}

#[test]
fn a_fixed_range_and_scale_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    run_heat(dir.path(), "10");
    let path = dir.path().to_str().unwrap();
    let result = flowscope(&["render", path, "--scale", "2", "--range", "-4,4"]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let (width, _, pixels) = read_png(&dir.path().join("png/temperature_10.png"));
    assert!((128 + 30..256).contains(&width), "64 cells × 2 px and the bar: {width}");
    // T in [0, 1] of [-4, 4]: the middle of the map, never its ends.
    let ends = [colormap::color("viridis", 0.0), colormap::color("viridis", 1.0)];
    let field = &pixels[8 * width + 8..8 * width + 8 + 100];
    assert!(field.iter().all(|p| !ends.contains(p)));
}

#[test]
fn a_gif_holds_one_frame_per_written_step() {
    let dir = tempfile::tempdir().unwrap();
    run_heat(dir.path(), "30");
    let gif_path = dir.path().join("heat.gif");
    let result = flowscope(&[
        "render",
        dir.path().to_str().unwrap(),
        "--gif",
        gif_path.to_str().unwrap(),
        "--fps",
        "20",
    ]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let mut decoder = options.read_info(std::fs::File::open(&gif_path).unwrap()).unwrap();
    assert!(decoder.width() >= 256);
    let mut frames = 0;
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        assert_eq!(frame.delay, 5, "1/100 s units at 20 fps");
        frames += 1;
    }
    assert_eq!(frames, 3, "steps 10, 20 and 30");
}

#[test]
fn bad_input_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    run_heat(dir.path(), "10");
    let path = dir.path().to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["render", "/nonexistent/run"], "not a run folder"),
        (&["render", path, "--view", "vorticity"], "its views: temperature"),
        (&["render", path, "--colormap", "jet"], "known: viridis"),
        (&["render", path, "--range", "1,0"], "LO < HI"),
        (&["render", path, "--range", "a,b"], "two numbers"),
        (&["render", path, "--scale", "0"], "at least 1"),
        (&["render", path, "--scale", "100"], "at most 4096"),
        (&["render", path, "--fps", "0"], "--fps"),
    ];
    for (args, expected) in cases {
        let result = flowscope(args);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
    std::fs::remove_dir_all(dir.path().join("fields")).unwrap();
    std::fs::create_dir(dir.path().join("fields")).unwrap();
    let stderr = String::from_utf8_lossy(&flowscope(&["render", path]).stderr).to_string();
    assert!(stderr.contains("--every"), "{stderr}");
}

#[test]
fn particle_runs_are_drawn_from_their_positions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let result = flowscope(&["run", "dam-break", "--steps", "10", "--every", "10", "--out", out]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let result = flowscope(&["render", out, "--view", "speed"]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let (width, _, pixels) = read_png(&dir.path().join("png/speed_10.png"));
    assert!(width >= 256);
    let coloured = pixels.iter().filter(|p| p[0] != p[1] || p[1] != p[2]).count();
    assert!(coloured > 1000, "particles drawn in colour: {coloured} pixels");
}
