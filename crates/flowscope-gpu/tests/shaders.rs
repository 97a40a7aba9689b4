//! Every WGSL file under `shaders/` parses and validates with naga, with the shared prelude
//! prepended as at run time. Needs no GPU.

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
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable shader");
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
