//! Weights from a safetensors file (f32, f16 or bf16), with the model's config as JSON in its
//! metadata, and the manifest check (size and sha256) of shipped model files.

use crate::{NnError, Tensor};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The tensors of a file by name, taken one by one by a model as it builds itself.
pub struct Weights {
    tensors: BTreeMap<String, Tensor>,
    metadata: BTreeMap<String, String>,
}

impl Weights {
    /// Parses safetensors bytes; every tensor is converted to f32.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, NnError> {
        let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| {
            NnError::File(format!("not a complete safetensors file ({e}); is it truncated?"))
        })?;
        let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| NnError::File(format!("unreadable safetensors header: {e}")))?;
        let metadata = header.metadata().clone().unwrap_or_default().into_iter().collect();
        let mut tensors = BTreeMap::new();
        for (name, view) in file.tensors() {
            let raw = view.data();
            let data: Vec<f32> = match view.dtype() {
                safetensors::Dtype::F32 => raw
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                safetensors::Dtype::F16 => raw
                    .chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                safetensors::Dtype::BF16 => raw
                    .chunks_exact(2)
                    .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                other => {
                    return Err(NnError::File(format!(
                        "tensor '{name}' is {other:?}; Flowscope reads f32, f16 and bf16"
                    )))
                }
            };
            tensors.insert(name.clone(), Tensor::new(view.shape().to_vec(), data)?);
        }
        Ok(Self { tensors, metadata })
    }

    /// A metadata entry (`config`, `op`, …).
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// The tensor `name`, which must have `shape`.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor, NnError> {
        let tensor = self.tensors.remove(name).ok_or_else(|| {
            NnError::Weights(format!("the file has no tensor '{name}' (expected shape {shape:?})"))
        })?;
        if tensor.shape != shape {
            return Err(NnError::Weights(format!(
                "tensor '{name}' has shape {:?}; the config expects {shape:?}",
                tensor.shape
            )));
        }
        Ok(tensor)
    }

    /// The tensor `name` with whatever shape it has (inputs and outputs of fixtures).
    pub fn take_any(&mut self, name: &str) -> Result<Tensor, NnError> {
        self.tensors
            .remove(name)
            .ok_or_else(|| NnError::Weights(format!("the file has no tensor '{name}'")))
    }

    /// Fails if tensors are left that the model did not take: a file for another config.
    pub fn finish(self, model: &str) -> Result<(), NnError> {
        match self.tensors.keys().next() {
            None => Ok(()),
            Some(name) => Err(NnError::Weights(format!(
                "tensor '{name}' (and {} more) is not part of this {model}: the file does not match its config",
                self.tensors.len() - 1
            ))),
        }
    }
}

/// One shipped model in `public/models/manifest.json` (contract).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ManifestEntry {
    /// The file, relative to the manifest.
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    /// The model's config, as stored in the file.
    pub config: AnyConfig,
    pub parameters: usize,
}

/// A model file's config: a grid network's, a particle network's, or that of a family another
/// room reads (the control room's CNN controller), kept as written.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum AnyConfig {
    Grid(crate::Config),
    Particles(crate::particles::ParticleConfig),
    Other(serde_json::Value),
}

/// Families whose files other rooms read; the manifest lists them with their tensors' size.
const OTHER_FAMILIES: &[&str] = &["cnn-controller"];

/// `public/models/manifest.json`: `{"models": [entry, …]}`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub models: Vec<ManifestEntry>,
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Self, NnError> {
        serde_json::from_str(text).map_err(|e| NnError::File(format!("manifest.json: {e}")))
    }

    /// The entry for a model file, built from its bytes (what `flowscope model manifest` writes).
    pub fn entry(file: &str, bytes: &[u8]) -> Result<ManifestEntry, NnError> {
        let config = Weights::from_bytes(bytes)?
            .metadata("config")
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok());
        let family = config.as_ref().and_then(|c| c["family"].as_str().map(str::to_string));
        let (config, parameters) = if let Some(other) =
            config.filter(|_| family.as_deref().is_some_and(|f| OTHER_FAMILIES.contains(&f)))
        {
            let file = safetensors::SafeTensors::deserialize(bytes)
                .map_err(|e| NnError::File(format!("not a safetensors file: {e}")))?;
            let parameters =
                file.tensors().iter().map(|(_, t)| t.shape().iter().product::<usize>()).sum();
            (AnyConfig::Other(other), parameters)
        } else if family.as_deref() == Some("sfbc") {
            let net = crate::particles::ParticleNet::from_bytes(bytes)?;
            let parameters = net.parameters();
            (AnyConfig::Particles(net.config), parameters)
        } else {
            let (config, _) = crate::Model::from_bytes(bytes)?;
            (AnyConfig::Grid(config.clone()), crate::Model::parameters(&config))
        };
        Ok(ManifestEntry {
            file: file.to_string(),
            bytes: bytes.len() as u64,
            sha256: Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect(),
            parameters,
            config,
        })
    }
}

/// Checks a downloaded model file against its manifest entry.
pub fn check_manifest_entry(bytes: &[u8], size: u64, sha256: &str) -> Result<(), NnError> {
    if bytes.len() as u64 != size {
        return Err(NnError::File(format!(
            "the file has {} bytes, the manifest says {size}: truncated or replaced",
            bytes.len()
        )));
    }
    let digest: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    if !digest.eq_ignore_ascii_case(sha256) {
        return Err(NnError::File(format!("sha256 {digest} differs from the manifest's {sha256}")));
    }
    Ok(())
}
