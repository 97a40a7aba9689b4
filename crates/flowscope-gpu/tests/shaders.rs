//! Every WGSL file under `shaders/` parses and validates with naga, with the shared prelude
//! prepended and the shared parts appended as at run time (the particle solvers' counting sort
//! and 2D kernels are validated as parts of the solvers). Needs no GPU.

use std::path::{Path, PathBuf};

fn wgsl_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("shaders/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            wgsl_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "wgsl") {
            found.push(path);
        }
    }
}

#[test]
fn every_shader_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shaders");
    let mut files = Vec::new();
    wgsl_files(&root, &mut files);
    assert!(files.len() >= 3, "expected the prelude, heat and render shaders, found {files:?}");
    let read = |path: &Path| std::fs::read_to_string(path).expect("readable shader");
    let (sort, particles) =
        (read(&root.join("sph/sort.wgsl")), read(&root.join("sph/particles.wgsl")));
    for file in files {
        let mut text = read(&file);
        if file.ends_with("sph/sort.wgsl") || file.ends_with("sph/particles.wgsl") {
            continue;
        }
        if file.ends_with("sph/gas1d.wgsl") {
            text = format!("{text}\n{sort}");
        } else if file.ends_with("sph/wcsph.wgsl") || file.ends_with("sph/dfsph.wgsl") {
            text = format!("{text}\n{sort}\n{particles}");
        }
        let source = if file.ends_with("common/prelude.wgsl") {
            text
        } else {
            flowscope_gpu::shader::with_prelude(&text)
        };
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{}: {}", file.display(), e.emit_to_string(&source)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
    }
}
