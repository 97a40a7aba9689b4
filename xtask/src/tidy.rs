//! Repository rules checked as tests: the layers stay in order.

#[cfg(test)]
mod tests {
    use crate::project_root;

    /// The physics and case crates never depend on the web or CLI layers (STYLE.md, rule 1).
    #[test]
    fn lower_layers_do_not_depend_on_front_ends() {
        let forbidden = ["leptos", "web-sys", "flowscope-cli", "flowscope-web", "clap"];
        for krate in [
            "flowscope-core",
            "flowscope-gpu",
            "flowscope-parallel",
            "flowscope-spectral",
            "flowscope-grid",
            "flowscope-sph",
            "flowscope-nn",
            "flowscope-control",
            "flowscope-cases",
        ] {
            let manifest = project_root().join("crates").join(krate).join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest).expect("manifest");
            for line in text.lines().map(str::trim) {
                for name in forbidden {
                    assert!(
                        !line.starts_with(&format!("{name} "))
                            && !line.starts_with(&format!("{name}.")),
                        "{krate} must not depend on {name}: {line}"
                    );
                }
            }
        }
    }

    /// The control room is CPU arithmetic: no GPU, no networks runtime, no cases (its `//!`).
    #[test]
    fn control_depends_on_no_gpu_nn_or_cases() {
        let text =
            std::fs::read_to_string(project_root().join("crates/flowscope-control/Cargo.toml"))
                .expect("manifest");
        let dependencies = text.split("[dev-dependencies]").next().expect("a first part");
        for name in ["wgpu", "flowscope-gpu", "flowscope-nn", "flowscope-cases"] {
            assert!(!dependencies.contains(name), "flowscope-control must not depend on {name}");
        }
    }

    /// The core crate is the bottom layer: no GPU either.
    #[test]
    fn core_does_not_depend_on_wgpu() {
        let text = std::fs::read_to_string(project_root().join("crates/flowscope-core/Cargo.toml"))
            .expect("manifest");
        assert!(!text.contains("wgpu"), "flowscope-core must not depend on wgpu");
    }
}
