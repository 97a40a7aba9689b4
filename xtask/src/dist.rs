//! The static site: wasm built in the `wasm-release` profile, bindings from wasm-bindgen, and
//! the files of `web/` and `public/`. Every URL in it is relative.

use crate::{project_root, setup};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the site into `out` and returns the path.
pub fn build(out: &Path) -> Result<PathBuf> {
    let root = project_root();
    let toolchain = setup::wasm_toolchain()?;
    let bindgen = setup::wasm_bindgen()?;
    eprintln!("xtask: building the wasm app (release)");
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(&root)
        .args(["build", "-p", "flowscope-web", "--target", "wasm32-unknown-unknown"])
        .args(["--profile", "wasm-release"])
        .args(&toolchain.args)
        // SIMD128 (every WebGPU-era browser has it) lets the networks' matrix products use
        // matrixmultiply's vector kernel.
        .env("RUSTFLAGS", "-D warnings -C target-feature=+simd128")
        .envs(toolchain.env.iter().map(|(k, v)| (*k, v.as_str())));
    if !cargo.status().context("running cargo")?.success() {
        bail!("the wasm build failed (see the compiler output above)");
    }
    let wasm = root.join("target/wasm32-unknown-unknown/wasm-release/flowscope-web.wasm");
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    let pkg = out.join("pkg");
    let status = Command::new(bindgen)
        .args(["--target", "web", "--no-typescript", "--out-name", "flowscope_web", "--out-dir"])
        .arg(&pkg)
        .arg(&wasm)
        .status()
        .context("running wasm-bindgen")?;
    if !status.success() {
        bail!("wasm-bindgen failed on {}", wasm.display());
    }
    for file in ["index.html", "style.css"] {
        std::fs::copy(root.join("web").join(file), out.join(file))
            .with_context(|| format!("copying web/{file}"))?;
    }
    copy_tree(&root.join("public"), out)?;
    let size = std::fs::metadata(pkg.join("flowscope_web_bg.wasm"))?.len();
    eprintln!("xtask: site in {} (wasm {:.2} MiB)", out.display(), size as f64 / 1048576.0);
    Ok(out.to_path_buf())
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
