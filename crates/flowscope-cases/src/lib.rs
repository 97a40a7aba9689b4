//! The case catalog. Every case is one file in this crate and one line in [`CATALOG`]; the web
//! UI, the CLI and the tests are generated from the specs listed here.
//!
//! Never depends on leptos, web-sys or the CLI.

pub mod acdm_wake;
pub mod airfoil;
pub mod airfoil_uncertainty;
pub mod backward_step;
pub mod control_cartpole;
pub mod control_case;
pub mod control_guidance;
pub mod control_quantum;
pub mod cylinder_wake;
pub mod dam_break;
pub mod datasets;
mod flow_case;
pub mod hasegawa_wakatani;
pub mod heat;
pub mod hydrostatic_tank;
pub mod learned_particles;
pub mod learned_sph_1d;
pub mod learned_sph_2d;
pub mod lid_cavity;
pub mod particle_case;
pub mod smdp_heat;
pub mod smdp_toy;
pub mod smoke_plume;
pub mod sod_shock_tube;
pub mod sph_1d_periodic;
pub mod sph_playground;
pub mod taylor_green;

use flow_case::FlowCase;
use flowscope_core::{Budget, Case, CaseError, CaseSpec, ParamValues};
use flowscope_gpu::{wgpu, GpuContext};
use particle_case::ParticleCase;

/// Every case, in gallery order: one line per case.
pub static CATALOG: &[&CaseSpec] = &[
    &heat::SPEC,
    &smoke_plume::SPEC,
    &lid_cavity::SPEC,
    &taylor_green::SPEC,
    &backward_step::SPEC,
    &cylinder_wake::SPEC,
    &airfoil::SPEC,
    &sod_shock_tube::SPEC,
    &sph_1d_periodic::SPEC,
    &dam_break::SPEC,
    &hydrostatic_tank::SPEC,
    &sph_playground::SPEC,
    &acdm_wake::SPEC,
    &smdp_toy::SPEC,
    &smdp_heat::SPEC,
    &airfoil_uncertainty::SPEC,
    &learned_sph_1d::SPEC,
    &learned_sph_2d::SPEC,
    &control_cartpole::SPEC,
    &control_guidance::SPEC,
    &control_quantum::SPEC,
    &hasegawa_wakatani::SPEC,
];

/// The model files a learned case needs, by name (see [`CaseSpec::models`]).
pub type ModelFiles = std::collections::BTreeMap<String, Vec<u8>>;

/// The spec of a case id, or a one-line error listing the known ids.
pub fn find(id: &str) -> Result<&'static CaseSpec, String> {
    CATALOG.iter().copied().find(|s| s.id == id).ok_or_else(|| {
        let known: Vec<_> = CATALOG.iter().map(|s| s.id).collect();
        format!("unknown case '{id}'; known cases: {}", known.join(", "))
    })
}

/// A scalar field living on the GPU, for renderers that read it without a copy.
pub struct GpuView<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub nx: u32,
    pub ny: u32,
}

/// A running case, as the front ends hold it.
pub trait Simulation: Case {
    /// The GPU buffer behind a scalar view, on the GPU backend.
    fn gpu_view(&self, view: &str) -> Option<GpuView<'_>>;
    /// The extent of a GPU view as measured on the GPU a frame or so ago, for views without a
    /// fixed range (the CPU backend measures the field it returns instead).
    fn measured_range(&self, _view: &str) -> Option<(f32, f32)> {
        None
    }
    /// Draws particles `scale` times their default size (0.25 to 2) in particle views; cases
    /// without particles ignore it.
    fn set_particle_size(&mut self, _scale: f64) {}
    /// The particle size in use, where the case draws particles whose size can change.
    fn particle_size(&self) -> Option<f64> {
        None
    }
    /// The smallest piece of work, for front ends that keep a page responsive: a step, or for a
    /// learned rollout one denoising step of all samples (a frame completes over several).
    fn step_slice(&mut self) -> Result<(), CaseError> {
        self.step(1)
    }
    /// Whether a front end should play the case slice by slice on either backend (its GPU work
    /// paces itself) rather than in batches of steps.
    fn slices(&self) -> bool {
        self.backend() == flowscope_core::Backend::Cpu
    }
    /// Long work under way, for a progress bar: what it is and the fraction done (a learned
    /// case drawing its samples); `None` when there is none.
    fn progress(&self) -> Option<(String, f64)> {
        None
    }
    /// Takes in results the device has delivered since (a GPU rollout's frames read back); true
    /// while more are on their way. A front end polls it every frame and redraws; it never
    /// blocks.
    fn poll(&mut self) -> Result<bool, CaseError> {
        Ok(false)
    }
}

/// The model files `spec` lists, read from `dir` and checked against `dir/manifest.json` (size
/// and sha256); empty for a case without models.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_models(spec: &CaseSpec, dir: &std::path::Path) -> Result<ModelFiles, String> {
    spec.models.iter().map(|file| Ok((file.to_string(), read_model(dir, file)?.0))).collect()
}

/// The "extra" metadata the training/ scripts write into a model file (what a case needs
/// besides the network), checked to be the model `model` (its "model" entry).
pub fn model_extra(bytes: &[u8], model: &str) -> Result<serde_json::Value, String> {
    let extra = flowscope_nn::Weights::from_bytes(bytes)
        .map_err(|e| e.to_string())?
        .metadata("extra")
        .map(str::to_string)
        .ok_or("the model file has no 'extra' metadata: export it with its training/ script")?;
    let extra: serde_json::Value =
        serde_json::from_str(&extra).map_err(|e| format!("the model's 'extra' metadata: {e}"))?;
    if extra["model"] != model {
        return Err(format!("not a {model} model (model: {})", extra["model"]));
    }
    Ok(extra)
}

/// Model file `file` of `dir`, checked against `dir/manifest.json` (size and sha256): its bytes
/// and sha256.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_model(dir: &std::path::Path, file: &str) -> Result<(Vec<u8>, String), String> {
    use flowscope_nn::weights::{check_manifest_entry, Manifest};
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        format!(
            "cannot read {} ({e}): run from the repository, or give --models",
            manifest_path.display()
        )
    })?;
    let manifest =
        Manifest::parse(&text).map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    let entry = manifest.models.iter().find(|m| m.file == file).ok_or_else(|| {
        format!("{} lists no {file}: the model is not shipped", manifest_path.display())
    })?;
    let path = dir.join(file);
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    check_manifest_entry(&bytes, entry.bytes, &entry.sha256)
        .map_err(|e| format!("{} does not match its manifest entry: {e}", path.display()))?;
    Ok((bytes, entry.sha256.clone()))
}

/// Starts case `id` with `params` on the GPU when `gpu` is given, else on the CPU (a learned
/// case needs [`create_with`]).
pub fn create(
    id: &str,
    params: &ParamValues,
    gpu: Option<&GpuContext>,
) -> Result<Box<dyn Simulation>, CaseError> {
    create_with(id, params, gpu, &ModelFiles::new())
}

/// [`create`] with the model files the case's spec lists.
pub fn create_with(
    id: &str,
    params: &ParamValues,
    gpu: Option<&GpuContext>,
    models: &ModelFiles,
) -> Result<Box<dyn Simulation>, CaseError> {
    create_within(id, params, gpu, models, &Budget::UNLIMITED)
}

/// [`create_with`] refusing parameters whose declared cost is over `budget`, before the case
/// allocates anything (the browser's tab budget; the CLI passes [`Budget::UNLIMITED`]).
pub fn create_within(
    id: &str,
    params: &ParamValues,
    gpu: Option<&GpuContext>,
    models: &ModelFiles,
    budget: &Budget,
) -> Result<Box<dyn Simulation>, CaseError> {
    let spec = find(id).map_err(CaseError::UnknownCase)?;
    if gpu.is_some() && !spec.gpu {
        return Err(CaseError::NoGpu(spec.id));
    }
    let complete = spec.complete(params)?;
    let cost = budget.check(spec, &complete)?;
    if let Some(ctx) = gpu {
        let limit = ctx.device.limits().max_storage_buffer_binding_size;
        flowscope_core::budget::check_device(spec, &complete, &cost, limit)?;
    }
    match spec.id {
        "heat" => Ok(Box::new(heat::HeatCase::new(params, gpu)?)),
        "hasegawa-wakatani" => {
            Ok(Box::new(hasegawa_wakatani::HasegawaWakataniCase::new(params, gpu)?))
        }
        "smoke-plume" => {
            Ok(Box::new(FlowCase::new(smoke_plume::SmokePlume::default(), params, gpu)?))
        }
        "lid-cavity" => Ok(Box::new(FlowCase::new(lid_cavity::LidCavity, params, gpu)?)),
        "backward-step" => {
            Ok(Box::new(FlowCase::new(backward_step::BackwardStep::default(), params, gpu)?))
        }
        "airfoil" => Ok(Box::new(FlowCase::new(airfoil::Airfoil::default(), params, gpu)?)),
        "cylinder-wake" => {
            Ok(Box::new(FlowCase::new(cylinder_wake::CylinderWake::default(), params, gpu)?))
        }
        "taylor-green" => {
            Ok(Box::new(FlowCase::new(taylor_green::TaylorGreen::default(), params, gpu)?))
        }
        "sod-shock-tube" => {
            Ok(Box::new(ParticleCase::new(sod_shock_tube::SodShockTube::default(), params, gpu)?))
        }
        "sph-1d-periodic" => {
            Ok(Box::new(ParticleCase::new(sph_1d_periodic::SphPeriodic, params, gpu)?))
        }
        "dam-break" => {
            Ok(Box::new(ParticleCase::new(dam_break::DamBreak::default(), params, gpu)?))
        }
        "hydrostatic-tank" => {
            Ok(Box::new(ParticleCase::new(hydrostatic_tank::HydrostaticTank, params, gpu)?))
        }
        "sph-playground" => {
            Ok(Box::new(ParticleCase::new(sph_playground::SphPlayground, params, gpu)?))
        }
        "acdm-wake" => Ok(Box::new(acdm_wake::AcdmWakeCase::new(params, models, gpu)?)),
        "smdp-toy" => Ok(Box::new(smdp_toy::SmdpToyCase::new(params, models)?)),
        "smdp-heat" => Ok(Box::new(smdp_heat::SmdpHeatCase::new(params, models, gpu)?)),
        "airfoil-uncertainty" => {
            Ok(Box::new(airfoil_uncertainty::AirfoilUncertaintyCase::new(params, models, gpu)?))
        }
        "learned-sph-1d" => {
            Ok(Box::new(learned_sph_1d::LearnedSph1dCase::new(params, models, gpu)?))
        }
        "learned-sph-2d" => {
            Ok(Box::new(learned_sph_2d::LearnedSph2dCase::new(params, models, gpu)?))
        }
        "control-cartpole" => {
            Ok(Box::new(control_cartpole::ControlCartpoleCase::new(params, models)?))
        }
        "control-guidance" => {
            Ok(Box::new(control_guidance::ControlGuidanceCase::new(params, models)?))
        }
        "control-quantum" => {
            Ok(Box::new(control_quantum::ControlQuantumCase::new(params, models)?))
        }
        // The catalog test runs every case, so this only guards a half-added one.
        other => {
            Err(CaseError::UnknownCase(format!("case '{other}' is listed but has no constructor")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowscope_core::ViewKind;
    use std::collections::HashSet;

    /// The learned cases' model files: the small ACDM fixtures (their datasets are tiny too, so
    /// the learned wake starts in a moment), else the shipped file (the SMDP toy's is 11 kB).
    fn fixture_models() -> ModelFiles {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        CATALOG
            .iter()
            .flat_map(|s| s.models)
            .map(|file| {
                let fixture = root.join("tests/fixtures/acdm").join(file);
                let path =
                    if fixture.exists() { fixture } else { root.join("public/models").join(file) };
                (file.to_string(), std::fs::read(&path).expect(file))
            })
            .collect()
    }

    #[test]
    fn case_ids_are_unique_and_url_safe() {
        let mut seen = HashSet::new();
        for spec in CATALOG {
            assert!(seen.insert(spec.id), "duplicate case id {}", spec.id);
            assert!(spec
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        }
    }

    #[test]
    fn every_case_runs_from_its_defaults_on_the_cpu() {
        for spec in CATALOG {
            let mut case =
                create_with(spec.id, &spec.defaults(), None, &fixture_models()).expect(spec.id);
            case.step(3).expect(spec.id);
            assert_eq!(case.steps(), 3);
            assert_eq!(case.observables().unwrap().len(), spec.observables.len());
            for view in spec.views {
                for name in view.scalar_names() {
                    let field = case.read_view(&name).unwrap();
                    if view.kind == ViewKind::Particles || spec.group == "learning" {
                        // NaN marks where no particle (or drawn object) is; there must be some.
                        assert!(field.data.iter().all(|v| !v.is_infinite()), "{}:{name}", spec.id);
                        assert!(field.finite_range().is_some(), "{}:{name} is empty", spec.id);
                    } else {
                        assert!(field.all_finite(), "{}:{name}", spec.id);
                    }
                }
            }
        }
    }

    #[test]
    fn every_case_offers_presets_that_apply_and_start() {
        for spec in CATALOG {
            assert!(!spec.presets.is_empty(), "{} offers no preset", spec.id);
            let names: HashSet<_> = spec.presets.iter().map(|p| p.name).collect();
            assert_eq!(names.len(), spec.presets.len(), "{}: preset names repeat", spec.id);
            for preset in spec.presets {
                let params =
                    spec.preset(preset.name).unwrap_or_else(|e| panic!("{}: {e}", spec.id));
                create_with(spec.id, &params, None, &fixture_models())
                    .unwrap_or_else(|e| panic!("{} preset {}: {e}", spec.id, preset.name));
            }
        }
        assert!(CATALOG[0].preset("no-such-preset").is_err());
    }

    #[test]
    fn particle_size_scales_the_drawn_discs() {
        let spec = find("sph-playground").unwrap();
        let mut params = spec.defaults();
        params.set_text(spec.id, spec.params, "fill", "0.2").unwrap();
        let mut case = create(spec.id, &params, None).unwrap();
        let covered = |case: &dyn Simulation| {
            case.read_view("speed").unwrap().data.iter().filter(|v| v.is_finite()).count()
        };
        let normal = covered(case.as_ref());
        assert_eq!(case.particle_size(), Some(1.0));
        assert_eq!(
            create("sod-shock-tube", &find("sod-shock-tube").unwrap().defaults(), None)
                .unwrap()
                .particle_size(),
            None,
            "1D strips have no particle size"
        );
        case.set_particle_size(2.0);
        let large = covered(case.as_ref());
        assert!(large > normal * 11 / 10, "double-size discs cover {large}, default {normal}");
    }

    #[test]
    fn every_case_has_a_gallery_thumbnail() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../public/thumbs");
        for spec in CATALOG {
            let path = dir.join(format!("{}.png", spec.id));
            assert!(path.exists(), "{} is missing: run `cargo xtask thumbnails`", path.display());
        }
    }

    #[test]
    fn every_parameter_default_lies_in_its_range() {
        for spec in CATALOG {
            for param in spec.params {
                param.check(&param.default_value()).unwrap();
            }
        }
    }

    #[test]
    fn every_view_names_a_colormap_there_is() {
        for spec in CATALOG {
            for view in spec.views {
                assert!(
                    flowscope_core::colormap::NAMES.contains(&view.colormap),
                    "{}: view '{}' asks for colormap '{}'",
                    spec.id,
                    view.name,
                    view.colormap
                );
            }
        }
    }

    #[test]
    fn observables_that_do_not_apply_are_named_for_the_current_settings() {
        let hidden = |id: &str, set: &[(&str, &str)]| {
            let spec = find(id).unwrap();
            let mut params = spec.defaults();
            for (name, value) in set {
                params.set_text(id, spec.params, name, value).unwrap();
            }
            let case = create_with(id, &params, None, &fixture_models()).unwrap();
            let names = case.inapplicable_observables();
            assert!(
                names.iter().all(|n| spec.observables.iter().any(|o| o.name == *n)),
                "{names:?}"
            );
            names
        };
        let small = [("n", "8")];
        assert_eq!(hidden("dam-break", &[small[0], ("solver", "wcsph")]), ["solver_iterations"]);
        assert!(hidden("dam-break", &[small[0], ("solver", "dfsph")]).is_empty());
        assert_eq!(hidden("hydrostatic-tank", &[]), Vec::<&str>::new());
        assert_eq!(hidden("learned-sph-2d", &[("solver", "off")]).len(), 4);
        assert!(hidden("learned-sph-2d", &[]).is_empty());
    }
}
