//! Project automation (matklad's xtask pattern): `cargo xtask <command>`.
//!
//! - `serve [--port 8080]`: build the release wasm app and serve it locally.
//! - `dist [--out dist]`: the static site, with relative URLs only.
//! - `test`: fmt, clippy, native tests (GPU tests on a software Vulkan adapter), the wasm
//!   build and the browser end-to-end tests.
//! - `bench heat|grid|sph [--no-browser]`: benchmarks (ms/step or particle-steps/s), native
//!   CPU/GPU, in the browser, and the reference tools side by side → paste into
//!   docs/BENCHMARKS.md.
//! - `validate [grid|sph]`: full validation runs against published data → docs/VALIDATION.md.
//!
//! Every command installs what is missing first (see `setup`), and says in one line what it
//! could not install and how to do it by hand.

mod bench;
mod dist;
mod serve;
mod setup;
mod test;
mod thumbnails;
mod tidy;
mod validate;
mod validate_hw;
mod validate_sph;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Flowscope project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the release site and serve it at http://127.0.0.1:PORT.
    Serve {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Serve the existing dist/ without rebuilding.
        #[arg(long)]
        no_build: bool,
    },
    /// Build the static site into a folder that works from any base path.
    Dist {
        #[arg(long, default_value = "dist")]
        out: PathBuf,
        /// Compile in the browser tests' hooks (for running tests/e2e by hand; never ship it).
        #[arg(long)]
        test_hooks: bool,
    },
    /// Run every check CI runs.
    Test {
        /// Skip the browser end-to-end tests (and the wasm build they need).
        #[arg(long)]
        no_browser: bool,
    },
    /// Run the full validations and write docs/VALIDATION.md with plots.
    Validate {
        /// One suite only (its part of docs/VALIDATION.md); all when left out.
        #[arg(value_enum)]
        suite: Option<validate::Suite>,
        /// hw2d: the model time the 512² run reaches (the reference averages t 300–1000).
        #[arg(long, default_value_t = 1000.0)]
        until: f64,
        /// hw2d: the model time of the coarse runs (the c1 scan, beside hw2d, the GPU).
        #[arg(long, default_value_t = 500.0)]
        coarse_until: f64,
    },
    /// Render the gallery thumbnails into public/thumbs/ from the cases themselves.
    Thumbnails {
        /// Only these case ids (all cases when none are given).
        cases: Vec<String>,
    },
    /// Run the fuzz targets (URL links, messages, model files, .npy) for many more cases than
    /// the test command does; a failure is kept in the target's proptest-regressions/ file.
    Fuzz {
        /// Cases per target.
        #[arg(long, default_value_t = 200_000)]
        cases: u32,
    },
    /// Play every case with random parameter changes for a while on both backends, watching
    /// the page's memory (the test command runs 1 minute of it).
    Soak {
        #[arg(long, default_value_t = 30.0)]
        minutes: f64,
    },
    /// Measure performance; prints a Markdown table for docs/BENCHMARKS.md.
    Bench {
        #[arg(value_enum)]
        suite: bench::Suite,
        /// Skip the browser measurements.
        #[arg(long)]
        no_browser: bool,
        /// `bench sph`'s dam-break sizes (10k, 100k; the 100k runs take about 45 minutes).
        #[arg(long, value_delimiter = ',', default_value = "10k,100k")]
        particles: Vec<String>,
        /// `bench sph`'s solvers (wcsph, dfsph), ours and SPlisHSPlasH's alike.
        #[arg(long, value_delimiter = ',', default_value = "wcsph,dfsph")]
        solvers: Vec<String>,
        /// `bench sph`'s limit on each run's wall time [s]: a run still going is stopped and
        /// its row marked.
        #[arg(long, default_value_t = 3600)]
        time_limit: u64,
    },
}

/// The repository root, from this crate's location.
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the root")
        .to_path_buf()
}

fn main() {
    let cli = Cli::parse();
    let result: Result<()> = match cli.command {
        Command::Serve { port, no_build } => serve::run(port, no_build),
        Command::Dist { out, test_hooks } => {
            let hooks = if test_hooks { dist::Hooks::ForTests } else { dist::Hooks::Shipped };
            dist::build_with(&project_root().join(out), dist::Threaded::IfAvailable, hooks)
                .map(|_| ())
        }
        Command::Test { no_browser } => test::run(!no_browser),
        Command::Bench { suite, no_browser, particles, solvers, time_limit } => {
            let time_limit = std::time::Duration::from_secs(time_limit);
            bench::run(suite, !no_browser, &bench::SphRuns { particles, solvers, time_limit })
        }
        Command::Validate { suite, until, coarse_until } => {
            validate::run(suite, &validate_hw::Lengths { until, coarse_until })
        }
        Command::Thumbnails { cases } => thumbnails::run(&cases),
        Command::Fuzz { cases } => test::fuzz(cases),
        Command::Soak { minutes } => test::soak(minutes),
    };
    if let Err(error) = result {
        let chain: Vec<String> = error.chain().map(|e| e.to_string()).collect();
        eprintln!("xtask: error: {}", chain.join(": "));
        std::process::exit(1);
    }
}
