//! The run output folder (contract): `meta.json`, `observables.csv`, `fields/<view>_<step>.npy`;
//! for particle cases `fields/position_<step>.npy` (f32 [N, d]) and each view per particle
//! (f32 [N], same order), with the particles' mass, smoothing length and equation of state in
//! `meta.json`.

use anyhow::{Context, Result};
use flowscope_cases::Simulation;
use flowscope_core::{npy_f32, CaseSpec, Field2};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct Output {
    dir: PathBuf,
    csv: BufWriter<File>,
}

impl Output {
    pub fn create(dir: &Path, spec: &CaseSpec) -> Result<Self> {
        fs::create_dir_all(dir.join("fields"))
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join("observables.csv");
        let mut csv = BufWriter::new(
            File::create(&path).with_context(|| format!("cannot write {}", path.display()))?,
        );
        let names: Vec<_> = spec.observables.iter().map(|o| o.name).collect();
        writeln!(csv, "t,step,{}", names.join(","))?;
        Ok(Self { dir: dir.to_path_buf(), csv })
    }

    /// Appends one row of observables; a non-finite state stops the run with a clear error.
    pub fn record(&mut self, case: &dyn Simulation) -> Result<()> {
        let values = case.observables()?;
        let cells: Vec<String> = values.iter().map(|v| format!("{v:.9e}")).collect();
        writeln!(self.csv, "{:.9e},{},{}", case.time(), case.steps(), cells.join(","))?;
        Ok(())
    }

    /// Writes every view of the current step as `fields/<view>_<step>.npy`, vector views as
    /// `<view>_x` and `<view>_y`.
    pub fn write_fields(&mut self, case: &dyn Simulation) -> Result<()> {
        let fields = self.dir.join("fields");
        if let Some(state) = case.particle_state() {
            let n = (state.positions.len() / state.dim) as u64;
            let path = fields.join(format!("position_{}.npy", case.steps()));
            write_bytes(&path, &npy_f32(&[n, state.dim as u64], &state.positions))?;
            for (name, values) in &state.views {
                let path = fields.join(format!("{name}_{}.npy", case.steps()));
                write_bytes(&path, &npy_f32(&[n], values))?;
            }
            return Ok(());
        }
        for view in case.spec().views {
            for name in view.scalar_names() {
                let field = case.read_view(&name)?;
                let path = self.dir.join("fields").join(format!("{name}_{}.npy", case.steps()));
                write_npy(&path, &field)?;
            }
        }
        Ok(())
    }

    pub fn write_meta(mut self, case: &dyn Simulation, device: Option<String>) -> Result<()> {
        self.csv.flush()?;
        let mut meta = serde_json::json!({
            "case": case.spec().id,
            "params": case.params(),
            "backend": case.backend(),
            "device": device,
            "steps": case.steps(),
            "time": case.time(),
            "dt": case.dt(),
            "domain": case.domain(),
            "shape": case.shape(),
            "particles": case.particles(),
            "notices": case.notices(),
            "layout": "[j, i], j along y from the bottom, cell centres ((i+0.5)dx, (j+0.5)dy)",
            "flowscope": env!("CARGO_PKG_VERSION"),
        });
        if let (Some(state), Some(object)) = (case.particle_state(), meta.as_object_mut()) {
            if let Some(particles) = state.meta.as_object() {
                object.extend(particles.clone());
            }
            object.insert(
                "layout".into(),
                "particles: position_<step>.npy [N, d], <view>_<step>.npy [N] in the same order"
                    .into(),
            );
        }
        let path = self.dir.join("meta.json");
        fs::write(&path, serde_json::to_string_pretty(&meta)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// The field as `.npy` ([`Field2::to_npy`]).
pub fn write_npy(path: &Path, field: &Field2) -> Result<()> {
    write_bytes(path, &field.to_npy())
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
