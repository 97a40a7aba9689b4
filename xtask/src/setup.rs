//! Installs what the commands need, idempotently: quick checks first, installs only when
//! something is missing. Each failure is one line naming the missing piece and the manual fix.

use crate::project_root;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;
use std::sync::Once;

/// How to build for wasm32 on this machine.
pub struct WasmToolchain {
    /// Environment for cargo (empty on the normal rustup path).
    pub env: Vec<(&'static str, String)>,
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn is_root() -> bool {
    output("id", &["-u"]).is_some_and(|uid| uid.trim() == "0")
}

/// `apt-get install` as root (after one `apt-get update` per run), else a one-line instruction.
pub fn apt_install(packages: &[&str], why: &str) -> Result<()> {
    let list = packages.join(" ");
    if !Path::new("/usr/bin/apt-get").exists() {
        bail!("{why} needs {list}; install the equivalent packages with your system's package manager");
    }
    if !is_root() {
        bail!("{why} needs {list}; run: sudo apt-get install -y {list}");
    }
    static UPDATE: Once = Once::new();
    UPDATE.call_once(|| {
        eprintln!("xtask: apt-get update");
        let _ = Command::new("apt-get").args(["update", "-qq"]).status();
    });
    eprintln!("xtask: installing {list} ({why})");
    let status = Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get")?;
    if !status.success() {
        bail!("apt-get could not install {list} ({why}); install them by hand: apt-get install -y {list}");
    }
    Ok(())
}

/// The wasm32 toolchain: rustup's target where it is installed, else Debian's rustc-web.
pub fn wasm_toolchain() -> Result<WasmToolchain> {
    if rustup_has_wasm32() || succeeds("rustup", &["target", "add", "wasm32-unknown-unknown"]) {
        return Ok(WasmToolchain { env: vec![] });
    }
    debian_toolchain("the wasm build (rustup has no wasm32 target here)")
}

/// The toolchain for the threaded wasm build: std rebuilt with atomics (`-Z build-std`, allowed
/// on a stable toolchain by `RUSTC_BOOTSTRAP`), so it needs std's sources — rustup's `rust-src`
/// beside its wasm32 target, else Debian's rustc-web with rust-web-src.
pub fn wasm_threads_toolchain() -> Result<WasmToolchain> {
    let rustup_has_sources = || {
        output("rustc", &["--print", "sysroot"]).is_some_and(|root| {
            Path::new(root.trim()).join("lib/rustlib/src/rust/library").exists()
        })
    };
    if rustup_has_wasm32()
        && (rustup_has_sources() || succeeds("rustup", &["component", "add", "rust-src"]))
    {
        return Ok(WasmToolchain {
            env: vec![
                ("RUSTC_BOOTSTRAP", "1".into()),
                ("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort".into()),
            ],
        });
    }
    debian_toolchain(
        "the threaded wasm build (std rebuilt with atomics; rustup has no rust-src here)",
    )
}

fn rustup_has_wasm32() -> bool {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    installed.lines().any(|t| t.trim() == "wasm32-unknown-unknown")
}

/// Debian's rustc-web (installed if missing, for `why`), building std from its sources.
fn debian_toolchain(why: &str) -> Result<WasmToolchain> {
    let std_sources = Path::new("/usr/lib/rustlib/src/rust/library");
    if !Path::new("/usr/bin/rustc").exists() || !std_sources.exists() {
        apt_install(&["rustc-web", "cargo-web", "rust-web-src", "lld-22"], why)?;
    }
    Ok(WasmToolchain {
        env: vec![
            ("RUSTC", "/usr/bin/rustc".into()),
            ("RUSTC_BOOTSTRAP", "1".into()),
            ("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort".into()),
        ],
    })
}

/// The wasm-bindgen version pinned in Cargo.lock.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock =
        std::fs::read_to_string(project_root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines.next().and_then(|l| l.trim().strip_prefix("version = ")) {
                return Ok(version.trim_matches('"').to_string());
            }
        }
    }
    bail!("Cargo.lock has no wasm-bindgen entry")
}

/// `wasm-bindgen` at exactly the locked version.
pub fn wasm_bindgen() -> Result<String> {
    let version = locked_wasm_bindgen_version()?;
    let have = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    if have.split_whitespace().nth(1) != Some(version.as_str()) {
        eprintln!("xtask: installing wasm-bindgen-cli {version} (takes a few minutes once)");
        let status = Command::new("cargo")
            .args(["install", "wasm-bindgen-cli", "--version", &version])
            .status()
            .context("running cargo install")?;
        if !status.success() {
            bail!("could not install wasm-bindgen-cli {version}; run: cargo install wasm-bindgen-cli --version {version}");
        }
    }
    Ok("wasm-bindgen".into())
}

/// Software Vulkan (llvmpipe) so wgpu finds an adapter without a GPU.
pub fn vulkan_driver() -> Result<()> {
    let icds = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"];
    let any_icd = icds
        .iter()
        .any(|dir| std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()));
    if any_icd || cfg!(not(target_os = "linux")) {
        return Ok(());
    }
    apt_install(&["mesa-vulkan-drivers"], "native GPU tests on a software Vulkan adapter")
}

/// Chromium, for the browser tests and benchmarks.
pub fn chromium() -> Result<String> {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).exists() {
            return Ok(candidate.into());
        }
    }
    apt_install(&["chromium"], "the browser tests")?;
    Ok("/usr/bin/chromium".into())
}

/// Node.js with `playwright-core` and `pngjs` installed from tests/e2e/package-lock.json.
pub fn playwright() -> Result<()> {
    if !succeeds("node", &["--version"]) || !succeeds("npm", &["--version"]) {
        apt_install(&["nodejs", "npm"], "the browser tests")?;
    }
    npm_ci("tests/e2e", &["playwright-core", "pngjs"])
}

/// onnxruntime-web for the browser benchmark of the networks (tests/bench/web; not needed by the
/// test suite). Returns its `dist` folder.
pub fn onnxruntime_web() -> Result<std::path::PathBuf> {
    npm_ci("tests/bench/web", &["onnxruntime-web"])?;
    Ok(project_root().join("tests/bench/web/node_modules/onnxruntime-web/dist"))
}

/// `npm ci` in `folder` (relative to the root) unless `packages` are installed there already.
fn npm_ci(folder: &str, packages: &[&str]) -> Result<()> {
    let dir = project_root().join(folder);
    let installed = packages
        .iter()
        .all(|name| dir.join("node_modules").join(name).join("package.json").exists());
    if installed {
        return Ok(());
    }
    eprintln!("xtask: npm ci in {folder}");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .context("running npm")?;
    if !status.success() {
        bail!("npm could not install {}; run: (cd {folder} && npm ci)", packages.join(", "));
    }
    Ok(())
}
