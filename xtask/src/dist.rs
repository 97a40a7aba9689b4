//! The static site: the app built twice in the `wasm-release` profile — `pkg/`, single-threaded,
//! and `pkg-threads/`, with shared memory and a Web Worker pool, which index.html loads when the
//! page is cross-origin isolated — with wasm-bindgen's bindings and the files of `web/` and
//! `public/`. Every URL in it is relative.

use crate::{project_root, setup};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether the site must have the threaded build.
#[derive(Clone, Copy, PartialEq)]
pub enum Threaded {
    /// Fail without it (tests, benchmarks).
    Required,
    /// Leave it out, with a warning, where its toolchain cannot be had (the site then runs on
    /// one thread everywhere).
    IfAvailable,
}

/// One build of the app: where cargo puts it, its flags and the folder its bindings go to.
struct Variant {
    name: &'static str,
    target_dir: &'static str,
    rustflags: &'static str,
    pkg: &'static str,
}

/// SIMD128 (every WebGPU-era browser has it) lets the networks' matrix products use
/// matrixmultiply's vector kernel.
const PLAIN: Variant = Variant {
    name: "single-threaded",
    target_dir: "target",
    rustflags: "-D warnings -C target-feature=+simd128",
    pkg: "pkg",
};

/// Shared memory needs atomics (and with them bulk memory and mutable globals) in every
/// object, std included. The linker is asked for an imported shared memory (4 GiB at most, as
/// the plain build may grow to) and for the thread-local storage entry points wasm-bindgen
/// sets each worker up with.
const THREADED: Variant = Variant {
    name: "threaded",
    target_dir: "target/wasm-threads",
    rustflags: "-D warnings -C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals \
                -C link-arg=--shared-memory -C link-arg=--import-memory \
                -C link-arg=--max-memory=4294967296 -C link-arg=--export=__wasm_init_tls \
                -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align \
                -C link-arg=--export=__tls_base",
    pkg: "pkg-threads",
};

/// Whether the app carries the browser tests' hooks (`window.flowscope.__test_panic` and
/// `__test_lose_device`, compiled in by the environment variable `FLOWSCOPE_TEST_HOOKS`): the
/// test command's site does, the shipped site never.
#[derive(Clone, Copy, PartialEq)]
pub enum Hooks {
    Shipped,
    ForTests,
}

/// Builds the site into `out` and returns the path.
pub fn build(out: &Path, threaded: Threaded) -> Result<PathBuf> {
    build_with(out, threaded, Hooks::Shipped)
}

/// [`build`], with or without the test hooks.
pub fn build_with(out: &Path, threaded: Threaded, hooks: Hooks) -> Result<PathBuf> {
    let plain_toolchain = setup::wasm_toolchain()?;
    let threads_toolchain = match setup::wasm_threads_toolchain() {
        Ok(toolchain) => Some(toolchain),
        Err(error) if threaded == Threaded::IfAvailable => {
            eprintln!(
                "xtask: warning: no threaded build, the site will run on one thread: {error:#}"
            );
            None
        }
        Err(error) => return Err(error),
    };
    // The two variants at once: each ends in a long single-threaded link-time optimisation,
    // and they share no target folder.
    let (plain, threads) = std::thread::scope(|scope| {
        let threads = threads_toolchain
            .map(|toolchain| scope.spawn(move || compile(&THREADED, toolchain, hooks)));
        let plain = compile(&PLAIN, plain_toolchain, hooks);
        let threads = threads.map(|t| t.join().expect("the threaded build's thread"));
        (plain, threads)
    });
    let plain = plain?;
    let threads = threads.transpose()?;
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    bindgen(&plain, &out.join(PLAIN.pkg))?;
    if let Some(wasm) = &threads {
        bindgen(wasm, &out.join(THREADED.pkg))?;
    }
    let root = project_root();
    for file in ["index.html", "boot.js", "style.css"] {
        std::fs::copy(root.join("web").join(file), out.join(file))
            .with_context(|| format!("copying web/{file}"))?;
    }
    copy_tree(&root.join("public"), out)?;
    let size = |pkg: &str| -> Result<f64> {
        Ok(std::fs::metadata(out.join(pkg).join("flowscope_web_bg.wasm"))?.len() as f64 / 1048576.0)
    };
    let threaded_size = match threads {
        Some(_) => format!(", threaded {:.2} MiB", size(THREADED.pkg)?),
        None => String::new(),
    };
    eprintln!("xtask: site in {} (wasm {:.2} MiB{threaded_size})", out.display(), size(PLAIN.pkg)?);
    Ok(out.to_path_buf())
}

/// Compiles one variant and returns its wasm file.
fn compile(variant: &Variant, toolchain: setup::WasmToolchain, hooks: Hooks) -> Result<PathBuf> {
    let root = project_root();
    eprintln!("xtask: building the wasm app (release, {})", variant.name);
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(&root)
        .args(["build", "-p", "flowscope-web", "--target", "wasm32-unknown-unknown"])
        .args(["--profile", "wasm-release", "--target-dir", variant.target_dir])
        .env("RUSTFLAGS", variant.rustflags)
        .envs(toolchain.env.iter().map(|(k, v)| (*k, v.as_str())));
    match hooks {
        Hooks::ForTests => cargo.env("FLOWSCOPE_TEST_HOOKS", "1"),
        Hooks::Shipped => cargo.env_remove("FLOWSCOPE_TEST_HOOKS"),
    };
    if !cargo.status().context("running cargo")?.success() {
        bail!("the {} wasm build failed (see the compiler output above)", variant.name);
    }
    Ok(root.join(variant.target_dir).join("wasm32-unknown-unknown/wasm-release/flowscope-web.wasm"))
}

fn bindgen(wasm: &Path, pkg: &Path) -> Result<()> {
    let status = Command::new(setup::wasm_bindgen()?)
        .args(["--target", "web", "--no-typescript", "--out-name", "flowscope_web", "--out-dir"])
        .arg(pkg)
        .arg(wasm)
        .status()
        .context("running wasm-bindgen")?;
    if !status.success() {
        bail!("wasm-bindgen failed on {}", wasm.display());
    }
    Ok(())
}

/// Copies the contents of `from` into the existing folder `to`.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
