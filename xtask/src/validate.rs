//! `cargo xtask validate`: the full validation runs, written to docs/VALIDATION.md with SVG
//! plots in docs/validation/. The quick versions of the same checks run in the test suite.
//! flowscope-grid is optimised even in this debug-built tool (see the workspace profile).

use crate::project_root;
use anyhow::{Context, Result};
use flowscope_core::svg::line_chart as svg_plot;
use flowscope_grid::flow::interpolate;
use flowscope_grid::{Advection, Grid, IncompressibleFlow, Side, Sides, Velocity};
use std::fmt::Write as _;
use std::time::Instant;

fn ghia(file: &str, column: usize) -> Result<Vec<(f64, f64)>> {
    let path = project_root().join("tests/fixtures/ghia1982").join(file);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let value = cells.get(column)?.trim();
            (!value.is_empty()).then(|| Some((cells[0].parse().ok()?, value.parse().ok()?)))?
        })
        .collect())
}

struct CavityResult {
    re: f64,
    n: usize,
    time: f64,
    steps: usize,
    seconds: f64,
    u_error: f64,
    v_error: f64,
    u: Vec<(f64, f64)>,
    v: Vec<(f64, f64)>,
}

fn cavity(re: f64, n: usize) -> CavityResult {
    let wall = Side::NoSlip { tangential: 0.0 };
    let sides =
        Sides { left: wall, right: wall, bottom: wall, top: Side::NoSlip { tangential: 1.0 } };
    let grid = Grid::new(n, n, 1.0, 1.0, sides).expect("valid grid");
    let mut flow = IncompressibleFlow::new(
        grid.clone(),
        Velocity::zeros(&grid),
        1.0 / re,
        Advection::MacCormack,
        1e-6,
    );
    let started = Instant::now();
    let mut energy = 0.0;
    let mut steps = 0;
    loop {
        let dt = flow.cfl_dt(0.5, 1.0);
        flow.step(dt).expect("the cavity stays finite");
        steps += 1;
        if steps % 200 == 0 {
            let now = flow.kinetic_energy();
            if (now - energy).abs() < 1e-7 * now || flow.time > 80.0 {
                break;
            }
            energy = now;
        }
    }
    let column = if re == 100.0 { 1 } else { 2 };
    let u = flow.u_profile_at_x(0.5);
    let v = flow.v_profile_at_y(0.5);
    let error = |reference: Vec<(f64, f64)>, profile: &[(f64, f64)], edges| {
        reference
            .iter()
            .map(|&(p, r)| (interpolate(profile, p, 1.0, edges) - r).abs())
            .fold(0.0, f64::max)
    };
    let u_error =
        error(ghia("u_vertical_centreline.csv", column).unwrap_or_default(), &u, (0.0, 1.0));
    let v_error =
        error(ghia("v_horizontal_centreline.csv", column).unwrap_or_default(), &v, (0.0, 0.0));
    CavityResult {
        re,
        n,
        time: flow.time,
        steps,
        seconds: started.elapsed().as_secs_f64(),
        u_error,
        v_error,
        u,
        v,
    }
}

/// Relative error of the Taylor–Green amplitude at t = 1 (ν = 0.1) with the given step rule.
fn taylor_green(n: usize, dt_rule: impl Fn(&IncompressibleFlow) -> f64) -> f64 {
    let tau = std::f64::consts::TAU;
    let grid = Grid::new(n, n, tau, tau, Sides::periodic()).expect("valid grid");
    let shape = Velocity::from_fn(&grid, |x, y| x.cos() * y.sin(), |x, y| -x.sin() * y.cos());
    let mut flow = IncompressibleFlow::new(grid, shape.clone(), 0.1, Advection::MacCormack, 1e-8);
    while flow.time < 1.0 - 1e-12 {
        let dt = dt_rule(&flow).min(1.0 - flow.time);
        flow.step(dt).expect("finite");
    }
    let dot = |a: &Velocity, b: &Velocity| {
        a.u.iter().zip(&b.u).map(|(x, y)| x * y).sum::<f64>()
            + a.v.iter().zip(&b.v).map(|(x, y)| x * y).sum::<f64>()
    };
    let amplitude = dot(&flow.velocity, &shape) / dot(&shape, &shape);
    let exact = (-0.2f64).exp();
    (amplitude - exact).abs() / exact
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Suite {
    Grid,
    Sph,
    /// The Hasegawa–Wakatani solver against hw2d (hours at the default lengths).
    Hw2d,
}

/// Runs the validations of `suite` (all when none), each writing its part under
/// docs/validation/, then assembles docs/VALIDATION.md from the parts.
pub fn run(suite: Option<Suite>, lengths: &crate::validate_hw::Lengths) -> Result<()> {
    let docs = project_root().join("docs");
    let plots = docs.join("validation");
    std::fs::create_dir_all(&plots)?;
    if suite.is_none_or(|s| s == Suite::Grid) {
        std::fs::write(plots.join("grid.md"), grid(&plots)?)?;
    }
    if suite.is_none_or(|s| s == Suite::Sph) {
        std::fs::write(plots.join("sph.md"), crate::validate_sph::report(&plots)?)?;
    }
    if suite.is_none_or(|s| s == Suite::Hw2d) {
        std::fs::write(plots.join("hw2d.md"), crate::validate_hw::report(&plots, lengths)?)?;
    }
    let mut report = String::from(
        "# Validation\n\nWritten by `cargo xtask validate [grid|sph|hw2d]` (do not edit by hand; each suite \
         rewrites its part, docs/validation/<suite>.md, and this file is assembled from the parts); \
         the quick versions of these checks run in `cargo xtask test`. CPU reference backends (f64) unless a row says GPU.\n\n",
    );
    for part in ["grid.md", "sph.md", "hw2d.md"] {
        if let Ok(text) = std::fs::read_to_string(plots.join(part)) {
            report.push_str(&text);
            report.push('\n');
        }
    }
    std::fs::write(docs.join("VALIDATION.md"), &report)?;
    println!("{report}");
    Ok(())
}

/// The grid solver's validations, as Markdown.
fn grid(plots: &std::path::Path) -> Result<String> {
    let mut report = String::from("# Grid solver\n\n");
    let _ = writeln!(report, "Date: {}. Machine: the 2-core CI machine.\n", today());

    report.push_str("## Lid-driven cavity against Ghia, Ghia & Shin (1982)\n\n");
    report.push_str("Unit square, lid speed 1, MacCormack advection, CFL 0.5, pressure tolerance 1e-6, run until the kinetic energy changes by less than 1e-7 (relative) over 200 steps. Errors are the largest absolute deviations from Ghia's Table I (u on x = 0.5) and Table II (v on y = 0.5; v(Re 400, x = 0.9063) left out as a misprint), the simulated profile interpolated linearly to Ghia's points. Gate: ≤ 0.02 at 128².\n\n");
    report.push_str("| Re | grid | t reached | steps | wall time | max abs error u | max abs error v | gate |\n|---|---|---|---|---|---|---|---|\n");
    let mut images = String::new();
    for re in [100.0, 400.0] {
        eprintln!("xtask: cavity Re {re} at 128²");
        let r = cavity(re, 128);
        let pass = if r.u_error <= 0.02 && r.v_error <= 0.02 { "pass" } else { "FAIL" };
        let _ = writeln!(
            report,
            "| {} | {}² | {:.1} | {} | {:.0} s | {:.4} | {:.4} | {pass} |",
            r.re, r.n, r.time, r.steps, r.seconds, r.u_error, r.v_error
        );
        let column = if re == 100.0 { 1 } else { 2 };
        let u_ref: Vec<(f64, f64)> =
            ghia("u_vertical_centreline.csv", column)?.iter().map(|&(y, u)| (u, y)).collect();
        let u_sim: Vec<(f64, f64)> = r.u.iter().map(|&(y, u)| (u, y)).collect();
        let name = format!("cavity_re{}_u.svg", re as u32);
        std::fs::write(
            plots.join(&name),
            svg_plot(
                &format!("u on x = 0.5, Re {re}"),
                "u",
                "y",
                &[("Flowscope 128²", &u_sim)],
                &[("Ghia et al. 1982", &u_ref)],
            ),
        )?;
        let v_ref = ghia("v_horizontal_centreline.csv", column)?;
        let name_v = format!("cavity_re{}_v.svg", re as u32);
        std::fs::write(
            plots.join(&name_v),
            svg_plot(
                &format!("v on y = 0.5, Re {re}"),
                "x",
                "v",
                &[("Flowscope 128²", &r.v)],
                &[("Ghia et al. 1982", &v_ref)],
            ),
        )?;
        let _ = writeln!(
            images,
            "![u profile, Re {re}](validation/{name}) ![v profile, Re {re}](validation/{name_v})\n"
        );
    }
    let _ = writeln!(report, "\n{images}");

    report.push_str("\n## Taylor–Green vortex\n\nPeriodic [0, 2π]², U = 1, ν = 0.1, MacCormack advection, pressure tolerance 1e-8; relative error of the velocity amplitude against exp(−2νt) at t = 1. Gate: < 1% at 64² (CFL 0.25).\n\n| grid | error, CFL 0.25 | error, fixed dt = 0.002 |\n|---|---|---|\n");
    let sizes = [32, 64, 128, 256];
    let mut cfl_errors = Vec::new();
    let mut fixed_errors = Vec::new();
    for n in sizes {
        eprintln!("xtask: Taylor–Green at {n}²");
        let a = taylor_green(n, |f| f.cfl_dt(0.25, 1.0));
        let b = taylor_green(n, |_| 0.002);
        cfl_errors.push(a);
        fixed_errors.push(b);
        let _ = writeln!(report, "| {n}² | {a:.3e} | {b:.3e} |");
    }
    let order = |e: &[f64]| -> String {
        e.windows(2).map(|w| format!("{:.2}", (w[0] / w[1]).log2())).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(
        report,
        "\nObserved orders between successive grids: {} at CFL 0.25 (space and time refined together: first order, set by the advect-then-project splitting); {} at fixed dt, where the error does not fall with the grid: at a fixed step the CFL number drops as cells shrink and semi-Lagrangian interpolation adds more damping per unit time, so only the CFL-coupled column measures convergence.",
        order(&cfl_errors),
        order(&fixed_errors)
    );
    let gate = if cfl_errors[1] < 0.01 { "pass" } else { "FAIL" };
    let _ = writeln!(report, "\nGate (64², CFL 0.25): {:.3e} < 1e-2: {gate}.", cfl_errors[1]);

    report.push_str("\n## Cylinder wake: Schäfer–Turek 2D-2\n\nChannel 2.2 × 0.41, cylinder D = 0.1 at (0.2, 0.2) resolved by whole cells, parabolic inflow Umax = 1.5 (Ū = 1), ν = 1e-3 (Re 100), MacCormack advection, CFL 0.5, pressure tolerance 1e-5, run to t = 8; maxima of Cd and Cl over t ∈ [6, 8]; St from the last two lift periods. Benchmark: St 0.295–0.305, max Cd 3.22–3.24, max Cl 0.99–1.01. Test-suite gate: St within 5% of 0.30 at 48 cells across.\n\n| cells across | grid | St | max Cd | max Cl | wall time |\n|---|---|---|---|---|---|\n");
    for n in [48, 64] {
        eprintln!("xtask: cylinder wake, {n} cells across");
        let started = Instant::now();
        let spec = flowscope_cases::find("cylinder-wake").map_err(anyhow::Error::msg)?;
        let mut params = spec.defaults();
        spec.set_text(&mut params, "n", &n.to_string())?;
        let mut case = flowscope_cases::create("cylinder-wake", &params, None)?;
        let index =
            |name: &str| spec.observables.iter().position(|o| o.name == name).expect("declared");
        let (cd_at, cl_at, st_at) =
            (index("drag_coefficient"), index("lift_coefficient"), index("strouhal"));
        let (mut max_cd, mut max_cl) = (f64::MIN, f64::MIN);
        while case.time() < 8.0 {
            case.step(1)?;
            if case.time() >= 6.0 {
                let values = case.observables()?;
                max_cd = max_cd.max(values[cd_at]);
                max_cl = max_cl.max(values[cl_at]);
            }
        }
        let st = case.observables()?[st_at];
        let shape = case.shape().unwrap_or([0, 0]);
        let _ = writeln!(
            report,
            "| {n} | {} × {} | {st:.4} | {max_cd:.3} | {max_cl:.3} | {:.0} s |",
            shape[1],
            shape[0],
            started.elapsed().as_secs_f64()
        );
    }
    report.push_str("\n## Backward-facing step: reattachment length against Re\n\nExpansion ratio 1.9423, parabolic inlet above the step, Re = Ū·2h/ν (h the inlet height), 12 channel heights after the step, 32 cells across the channel, each run to t = 40. Reference: Armaly, Durst, Pereira & Schönung (1983) measured x_r/S ≈ 8 at Re ≈ 389 (the setup PhiFlow's step demo reproduces); above Re ≈ 400 their experiment turns three-dimensional and two-dimensional solvers are no longer comparable to it.\n\n| Re | x_r / S | wall time |\n|---|---|---|\n");
    let mut curve = Vec::new();
    for re in [100.0, 200.0, 300.0, 389.0, 500.0] {
        eprintln!("xtask: backward-facing step at Re {re}");
        let started = Instant::now();
        let spec = flowscope_cases::find("backward-step").map_err(anyhow::Error::msg)?;
        let mut params = spec.defaults();
        spec.set_text(&mut params, "Re", &re.to_string()).map_err(anyhow::Error::msg)?;
        let mut case = flowscope_cases::create("backward-step", &params, None)?;
        while case.time() < 40.0 {
            case.step(10)?;
        }
        let at = spec.observables.iter().position(|o| o.name == "reattachment").expect("declared");
        let x_r = case.observables()?[at];
        curve.push((re, x_r));
        let _ = writeln!(report, "| {re} | {x_r:.2} | {:.0} s |", started.elapsed().as_secs_f64());
    }
    std::fs::write(
        plots.join("backward_step_reattachment.svg"),
        svg_plot(
            "Backward-facing step: primary reattachment",
            "Re",
            "x_r / S",
            &[("Flowscope, 32 cells across", &curve)],
            &[("Armaly et al. 1983 (Re 389)", &[(389.0, 8.0)])],
        ),
    )?;
    report.push_str("\n![reattachment against Re](validation/backward_step_reattachment.svg)\n");
    report.push_str("\n## Not validated yet\n\nThe airfoil's coefficients have no reference comparison yet. GPU parity is not part of this report: `cargo xtask test` checks it (every grid case, 100 steps at 128², relative L2 < 1e-4, pressure iterations within ±2).\n");
    Ok(report)
}

/// Today's date, for the reports.
pub fn today() -> String {
    std::process::Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
