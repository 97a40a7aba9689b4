//! `flowscope model info <file>` and `flowscope model run <file> --input x.npy --out y.npy`.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use flowscope_nn::{GpuModel, Model, Tensor, Weights};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Print a model file's config, parameter count and tensors.
    Info {
        file: PathBuf,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write DIR/manifest.json for the .safetensors files in DIR (size, sha256, config).
    Manifest { dir: PathBuf },
    /// Time a model's forward pass on inputs of a given shape; prints JSON.
    Bench {
        file: PathBuf,
        /// Input shape, e.g. 1,3,64,32.
        #[arg(long, value_delimiter = ',', required = true)]
        shape: Vec<usize>,
        #[arg(long, value_enum, default_value_t = crate::BackendArg::Cpu)]
        backend: crate::BackendArg,
        /// Minimum measured time.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// Run a model on an input array and write the output array.
    Run {
        file: PathBuf,
        /// The input, a .npy array in the model's layout ([batch, channels, height, width] for
        /// the CNNs, [batch, features] for the MLP), f32 or f64.
        #[arg(long)]
        input: PathBuf,
        /// The UNet's noise level or time, one per batch entry (comma-separated).
        #[arg(long, value_delimiter = ',')]
        t: Vec<f32>,
        /// The UNet's conditioning channels, a .npy array.
        #[arg(long)]
        cond: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = crate::BackendArg::Cpu)]
        backend: crate::BackendArg,
        /// Where to write the output (.npy, f32).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Forward latency of a model on random inputs of `shape` (conditioning, for a UNet, of the
/// channels its config declares); prints JSON.
fn bench(file: &Path, shape: &[usize], backend: crate::BackendArg, seconds: f64) -> Result<()> {
    let bytes = read(file)?;
    let (config, model) = Model::from_bytes(&bytes).with_context(|| file.display().to_string())?;
    let len = checked_len(shape, &config)?;
    let values = |len: usize| (0..len).map(|k| ((k as f32) * 0.618_034).fract() - 0.5).collect();
    let x = Tensor::new(shape.to_vec(), values(len))?;
    let cond = match &config {
        flowscope_nn::Config::Unet { cond_channels, .. } if *cond_channels > 0 => {
            let cond_shape = [shape[0], *cond_channels, shape[2], shape[3]];
            Some(Tensor::new(cond_shape.to_vec(), values(cond_shape.iter().product()))?)
        }
        _ => None,
    };
    let t = vec![10.0f32; shape[0]];
    let t = matches!(config, flowscope_nn::Config::Unet { .. }).then_some(t.as_slice());
    let gpu = match backend {
        crate::BackendArg::Cpu => None,
        crate::BackendArg::Gpu => {
            let ctx = flowscope_gpu::GpuContext::new_blocking()
                .map_err(|why| anyhow::anyhow!("--backend gpu: {why}; use --backend cpu"))?;
            let cond_shape = cond.as_ref().map(|c| c.shape.as_slice());
            Some((GpuModel::new(&ctx, &model, shape, cond_shape)?, ctx))
        }
    };
    let once = || -> Result<()> {
        match &gpu {
            None => drop(model.forward(&x, t, cond.as_ref())?),
            Some((gpu, ctx)) => {
                gpu.run(&x, t, cond.as_ref())?;
                flowscope_gpu::buffers::wait_idle(&ctx.device).map_err(anyhow::Error::msg)?;
            }
        }
        Ok(())
    };
    once()?;
    let started = std::time::Instant::now();
    let mut runs = 0u32;
    // At least one timed run; three when they fit in three times the time asked for.
    let more = |runs: u32, elapsed: f64| {
        runs == 0 || elapsed < seconds || (runs < 3 && elapsed < 3.0 * seconds)
    };
    while more(runs, started.elapsed().as_secs_f64()) {
        once()?;
        runs += 1;
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    let device = gpu.as_ref().map(|(_, ctx)| ctx.describe()).unwrap_or_else(|| {
        format!("native, {} threads", std::thread::available_parallelism().map_or(1, |n| n.get()))
    });
    let report = serde_json::json!({
        "parameters": Model::parameters(&config),
        "shape": shape,
        "backend": if gpu.is_some() { "gpu" } else { "cpu" },
        "device": device,
        "runs": runs,
        "ms": ms,
    });
    println!("{report}");
    Ok(())
}

pub fn run(command: ModelCommand) -> Result<()> {
    match command {
        ModelCommand::Info { file, json } => info(&file, json),
        ModelCommand::Manifest { dir } => manifest(&dir),
        ModelCommand::Bench { file, shape, backend, seconds } => {
            bench(&file, &shape, backend, seconds)
        }
        ModelCommand::Run { file, input, t, cond, backend, out } => {
            let bytes = read(&file)?;
            let (_, model) =
                Model::from_bytes(&bytes).with_context(|| file.display().to_string())?;
            let x = read_npy(&input)?;
            let cond = cond.as_deref().map(read_npy).transpose()?;
            let t = (!t.is_empty()).then_some(t.as_slice());
            let y = match backend {
                crate::BackendArg::Cpu => model.forward(&x, t, cond.as_ref())?,
                crate::BackendArg::Gpu => {
                    let ctx = flowscope_gpu::GpuContext::new_blocking().map_err(|why| {
                        anyhow::anyhow!("--backend gpu: {why}; use --backend cpu")
                    })?;
                    let cond_shape = cond.as_ref().map(|c| c.shape.as_slice());
                    let gpu = GpuModel::new(&ctx, &model, &x.shape, cond_shape)?;
                    gpu.forward_blocking(&x, t, cond.as_ref())?
                }
            };
            write_npy(&out, &y)
        }
    }
}

fn manifest(dir: &Path) -> Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    let mut manifest = flowscope_nn::weights::Manifest::default();
    for path in &files {
        let name = path.file_name().expect("a file").to_string_lossy().to_string();
        let entry = flowscope_nn::weights::Manifest::entry(&name, &read(path)?)
            .with_context(|| path.display().to_string())?;
        manifest.models.push(entry);
    }
    let target = dir.join("manifest.json");
    std::fs::write(&target, serde_json::to_string_pretty(&manifest)? + "\n")
        .with_context(|| format!("cannot write {}", target.display()))?;
    eprintln!("{}: {} models", target.display(), manifest.models.len());
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn info(file: &Path, json: bool) -> Result<()> {
    let bytes = read(file)?;
    // Grid and particle networks alike (the manifest's reading of a file).
    let entry = flowscope_nn::weights::Manifest::entry(&file.display().to_string(), &bytes)
        .with_context(|| file.display().to_string())?;
    let (config, parameters) = (entry.config, entry.parameters);
    let weights = Weights::from_bytes(&bytes)?;
    let file_view = safetensors::SafeTensors::deserialize(&bytes)?;
    let mut tensors: Vec<(String, Vec<usize>, String)> = file_view
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            (name, view.shape().to_vec(), format!("{:?}", view.dtype()).to_lowercase())
        })
        .collect();
    tensors.sort();
    if json {
        let report = serde_json::json!({
            "config": config,
            "parameters": parameters,
            "bytes": bytes.len(),
            "format": weights.metadata("format"),
            "tensors": tensors.iter().map(|(n, s, d)| serde_json::json!({"name": n, "shape": s, "dtype": d})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("{}", file.display());
    println!("config: {}", serde_json::to_string(&config)?);
    println!("parameters: {parameters} ({} tensors, {} bytes)", tensors.len(), bytes.len());
    for (name, shape, dtype) in tensors {
        println!("    {name:<40} {dtype:<4} {shape:?}");
    }
    Ok(())
}

/// The largest input `model bench` allocates: 2²⁸ values (1 GiB of f32).
const MAX_BENCH_VALUES: usize = 1 << 28;

/// The number of values of a `--shape`, checked before anything is allocated: whole positive
/// sizes, four of them for a UNet (batch, channels, height, width), at most [`MAX_BENCH_VALUES`].
fn checked_len(shape: &[usize], config: &flowscope_nn::Config) -> Result<usize> {
    if matches!(config, flowscope_nn::Config::Unet { .. }) && shape.len() != 4 {
        bail!("--shape {shape:?}: a UNet takes four sizes, batch,channels,height,width");
    }
    if shape.contains(&0) {
        bail!("--shape {shape:?}: every size must be at least 1");
    }
    shape
        .iter()
        .try_fold(1usize, |len, &d| len.checked_mul(d))
        .filter(|&len| len <= MAX_BENCH_VALUES)
        .with_context(|| format!("--shape {shape:?}: more than {MAX_BENCH_VALUES} values"))
}

fn read_npy(path: &Path) -> Result<Tensor> {
    let bytes = read(path)?;
    let npy = npyz::NpyFile::new(&bytes[..])
        .with_context(|| format!("{} is not a .npy file", path.display()))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let data: Vec<f32> = match npy.dtype() {
        npyz::DType::Plain(t) if t.to_string() == "<f4" => npy.into_vec::<f32>()?,
        npyz::DType::Plain(t) if t.to_string() == "<f8" => {
            npy.into_vec::<f64>()?.into_iter().map(|v| v as f32).collect()
        }
        other => bail!("{}: {other:?} values; expected f32 or f64", path.display()),
    };
    Ok(Tensor::new(shape, data)?)
}

fn write_npy(path: &Path, tensor: &Tensor) -> Result<()> {
    use npyz::WriterBuilder;
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let shape: Vec<u64> = tensor.shape.iter().map(|&d| d as u64).collect();
    let mut writer = npyz::WriteOptions::new()
        .dtype(npyz::DType::new_scalar("<f4".parse().expect("valid type string")))
        .shape(&shape)
        .writer(std::io::BufWriter::new(file))
        .begin_nd()?;
    writer.extend(tensor.data.iter().copied())?;
    writer.finish()?;
    Ok(())
}
