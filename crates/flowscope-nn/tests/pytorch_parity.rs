//! The CPU reference against PyTorch: every layer and every family, on the fixtures that
//! `training/make_fixtures.py` writes (random weights and inputs, PyTorch's outputs).

use flowscope_nn::layers::{self, Activation, Conv2d, PaddingMode, Pool, Upsampling};
use flowscope_nn::{Model, NnError, Tensor, Weights};
use std::path::PathBuf;

/// PyTorch's f32 results, to this relative accuracy: |ours − PyTorch| ≤ 1e-4 (|PyTorch| + FLOOR ·
/// max |PyTorch|). The floor keeps values that cancel to near zero (where summation order alone
/// decides the digits) from dominating; the ∞-norm relative error of the UNet is about 1e-6.
const TOLERANCE: f32 = 1e-4;
const FLOOR: f32 = 1e-2;

fn fixtures(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/nn").join(kind)
}

fn load(path: &std::path::Path) -> Weights {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Weights::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A whole-number setting of a fixture's layer (1 where it has none).
fn setting(op: &serde_json::Value, key: &str) -> usize {
    op[key].as_u64().unwrap_or(1) as usize
}

/// The convolution settings a fixture's layer records.
fn conv_settings(op: &serde_json::Value) -> Conv2d {
    Conv2d {
        stride: [setting(op, "stride"); 2],
        padding: [setting(op, "padding"); 2],
        dilation: [setting(op, "dilation"); 2],
        mode: serde_json::from_value::<PaddingMode>(op["padding_mode"].clone()).unwrap(),
    }
}

fn run_layer(w: &mut Weights, op: &serde_json::Value) -> Result<Tensor, NnError> {
    let x = w.take_any("x")?;
    let int = |key: &str| setting(op, key);
    let conv = || conv_settings(op);
    let name = op["op"].as_str().unwrap();
    match name {
        "conv2d" => layers::conv2d(&x, &w.take_any("weight")?, Some(&w.take_any("bias")?), conv()),
        "conv1d" => layers::conv1d(&x, &w.take_any("weight")?, Some(&w.take_any("bias")?), conv()),
        "linear" => layers::linear(&x, &w.take_any("weight")?, Some(&w.take_any("bias")?)),
        "group_norm" => {
            let eps = op["eps"].as_f64().unwrap();
            layers::group_norm(&x, int("groups"), &w.take_any("weight")?, &w.take_any("bias")?, eps)
        }
        "layer_norm" => {
            let eps = op["eps"].as_f64().unwrap();
            layers::layer_norm(&x, &w.take_any("weight")?, &w.take_any("bias")?, eps)
        }
        "upsample" => {
            let mode = serde_json::from_value::<Upsampling>(op["mode"].clone()).unwrap();
            layers::upsample2x(&x, mode)
        }
        "avg_pool2d" => layers::pool2d(&x, int("kernel"), Pool::Average),
        "max_pool2d" => layers::pool2d(&x, int("kernel"), Pool::Max),
        "time_embedding" => Ok(layers::time_embedding(&x.data, int("dim"))),
        "attention" => {
            let groups = int("groups");
            let c = x.shape[1];
            let normed = layers::group_norm(
                &x,
                groups,
                &w.take_any("norm_weight")?,
                &w.take_any("norm_bias")?,
                1e-5,
            )?;
            let qkv = layers::conv2d(
                &normed,
                &w.take_any("qkv_weight")?,
                Some(&w.take_any("qkv_bias")?),
                Conv2d::same(1),
            )?;
            let y = layers::attention(&qkv, int("heads"))?;
            let out = layers::conv2d(
                &y,
                &w.take_any("out_weight")?,
                Some(&w.take_any("out_bias")?),
                Conv2d::same(1),
            )?;
            assert_eq!(out.shape[1], c);
            layers::add(&x, &out)
        }
        activation => {
            let activation: Activation = serde_json::from_value(serde_json::json!(activation))
                .unwrap_or_else(|_| panic!("unknown op {activation}"));
            Ok(activation.on(x))
        }
    }
}

#[test]
fn every_layer_matches_pytorch() {
    let mut checked = Vec::new();
    for entry in
        std::fs::read_dir(fixtures("layers")).expect("fixtures: run training/run make_fixtures.py")
    {
        let path = entry.unwrap().path();
        let mut w = load(&path);
        let op: serde_json::Value = serde_json::from_str(w.metadata("op").unwrap()).unwrap();
        let expected = w.take_any("y").unwrap();
        let got = run_layer(&mut w, &op).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(got.shape, expected.shape, "{}", path.display());
        let error = got.max_relative_error(&expected, FLOOR);
        assert!(error < TOLERANCE, "{}: relative error {error:e}", path.display());
        checked.push(path.file_stem().unwrap().to_string_lossy().to_string());
    }
    // Every layer the issue names has a fixture.
    for needed in [
        "conv2d_k3",
        "conv2d_k5_s2_replicate",
        "conv2d_k3_d2_circular",
        "conv1d_k3_circular",
        "linear",
        "group_norm",
        "layer_norm",
        "relu",
        "silu",
        "gelu",
        "tanh",
        "upsample_nearest",
        "upsample_bilinear",
        "avg_pool2d",
        "max_pool2d",
        "time_embedding",
        "attention",
    ] {
        assert!(checked.iter().any(|c| c == needed), "no fixture for {needed}");
    }
}

#[test]
fn every_family_matches_pytorch() {
    for name in ["mlp_smdp", "mlp_f16", "rescnn_circular", "unet_small", "unet_circular"] {
        let bytes = std::fs::read(fixtures("models").join(format!("{name}.safetensors"))).unwrap();
        let (config, model) = Model::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut io = load(&fixtures("models").join(format!("{name}.io.safetensors")));
        let x = io.take_any("x").unwrap();
        let t = io.take_any("t").ok();
        let cond = io.take_any("cond").ok();
        let expected = io.take_any("y").unwrap();
        let got = model.forward(&x, t.as_ref().map(|t| t.data.as_slice()), cond.as_ref()).unwrap();
        assert_eq!(got.shape, expected.shape, "{name}");
        let error = got.max_relative_error(&expected, FLOOR);
        assert!(error < TOLERANCE, "{name}: relative error {error:e}");
        let stored: usize = safetensors::SafeTensors::deserialize(&bytes)
            .unwrap()
            .tensors()
            .iter()
            .map(|(_, v)| v.shape().iter().product::<usize>())
            .sum();
        assert_eq!(Model::parameters(&config), stored, "{name}: parameter count");
    }
}

/// A model file with its config's JSON replaced, or a tensor renamed.
fn tampered(
    name: &str,
    edit: impl Fn(&mut serde_json::Value),
    rename: Option<(&str, &str)>,
) -> Vec<u8> {
    let bytes = std::fs::read(fixtures("models").join(format!("{name}.safetensors"))).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let mut metadata = header.metadata().clone().unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&metadata["config"]).unwrap();
    edit(&mut config);
    metadata.insert("config".into(), config.to_string());
    let tensors: Vec<(String, safetensors::tensor::TensorView)> = file
        .tensors()
        .into_iter()
        .map(|(n, v)| match rename {
            Some((from, to)) if n == from => (to.to_string(), v),
            _ => (n, v),
        })
        .collect();
    safetensors::serialize(tensors, Some(metadata)).unwrap()
}

#[test]
fn mismatched_truncated_or_foreign_files_are_refused_by_name() {
    let error = |bytes: &[u8]| Model::from_bytes(bytes).err().expect("refused").to_string();
    let wrong_width = tampered("unet_small", |c| c["base"] = 16.into(), None);
    let message = error(&wrong_width);
    let expected = "tensor 'downs.0.res.norm1.weight' has shape [8]; the config expects [16]";
    assert!(message.contains(expected), "{message}");
    let renamed = tampered("mlp_smdp", |_| {}, Some(("layers.2.bias", "layers.2.beta")));
    assert!(error(&renamed).contains("no tensor 'layers.2.bias'"), "{}", error(&renamed));
    let extra = tampered("mlp_smdp", |c| c["widths"] = serde_json::json!([2, 30, 30]), None);
    assert!(error(&extra).contains("is not part of this mlp"), "{}", error(&extra));
    let bad_config = tampered("mlp_smdp", |c| c["family"] = "transformer".into(), None);
    assert!(error(&bad_config).contains("config"), "{}", error(&bad_config));
    let bytes = std::fs::read(fixtures("models").join("mlp_smdp.safetensors")).unwrap();
    assert!(error(&bytes[..bytes.len() - 10]).contains("truncated"));
    assert!(error(b"not a model").contains("model file"));
}

#[test]
fn the_manifest_check_catches_size_and_hash() {
    use flowscope_nn::weights::check_manifest_entry;
    use sha2::Digest;
    let bytes = b"weights";
    let sha: String = sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert!(check_manifest_entry(bytes, 7, &sha).is_ok());
    let other = "0".repeat(64);
    assert!(check_manifest_entry(bytes, 7, &other)
        .unwrap_err()
        .to_string()
        .contains("differs from the manifest"));
    assert!(check_manifest_entry(bytes, 8, &sha).unwrap_err().to_string().contains("truncated"));
}

/// The layer of a fixture on the GPU: records it, runs it, reads the result back.
fn run_layer_gpu(
    ctx: &flowscope_gpu::GpuContext,
    w: &mut Weights,
    op: &serde_json::Value,
) -> Result<Tensor, NnError> {
    use flowscope_nn::gpu::Recorder;
    let mut rec = Recorder::new(ctx);
    let x = rec.upload(&w.take_any("x")?);
    let mut param = |rec: &Recorder, name: &str| w.take_any(name).map(|t| rec.upload(&t));
    let int = |key: &str| setting(op, key);
    let conv = || conv_settings(op);
    let out = match op["op"].as_str().unwrap() {
        "conv2d" => {
            let (weight, bias) = (param(&rec, "weight")?, param(&rec, "bias")?);
            rec.conv2d(&x, &weight, &bias, conv())?
        }
        "conv1d" => {
            // A 1D convolution is a 2D one over a single row.
            let (mut weight, bias) = (param(&rec, "weight")?, param(&rec, "bias")?);
            weight.shape.insert(2, 1);
            let mut row = x.clone();
            row.shape.insert(2, 1);
            let flat = Conv2d {
                stride: [1, int("stride")],
                padding: [0, int("padding")],
                dilation: [1, int("dilation")],
                ..conv()
            };
            let mut out = rec.conv2d(&row, &weight, &bias, flat)?;
            out.shape.remove(2);
            out
        }
        "linear" => {
            let (weight, bias) = (param(&rec, "weight")?, param(&rec, "bias")?);
            rec.linear(&x, &weight, &bias)?
        }
        "group_norm" => {
            let (weight, bias) = (param(&rec, "weight")?, param(&rec, "bias")?);
            rec.group_norm(
                &x,
                int("groups"),
                &weight,
                &bias,
                op["eps"].as_f64().unwrap() as f32,
                None,
            )?
        }
        "upsample" => rec.upsample2x(&x, serde_json::from_value(op["mode"].clone()).unwrap())?,
        "avg_pool2d" => rec.pool2d(&x, int("kernel"), Pool::Average)?,
        "max_pool2d" => rec.pool2d(&x, int("kernel"), Pool::Max)?,
        "time_embedding" => rec.time_embedding(&x, int("dim")),
        "attention" => {
            let (nw, nb) = (param(&rec, "norm_weight")?, param(&rec, "norm_bias")?);
            let normed = rec.group_norm(&x, int("groups"), &nw, &nb, 1e-5, None)?;
            let (qw, qb) = (param(&rec, "qkv_weight")?, param(&rec, "qkv_bias")?);
            let qkv = rec.conv2d(&normed, &qw, &qb, Conv2d::same(1))?;
            let y = rec.attention(&qkv, int("heads"))?;
            let (ow, ob) = (param(&rec, "out_weight")?, param(&rec, "out_bias")?);
            let out = rec.conv2d(&y, &ow, &ob, Conv2d::same(1))?;
            rec.add(&x, &out)?
        }
        "layer_norm" => {
            let (weight, bias) = (param(&rec, "weight")?, param(&rec, "bias")?);
            rec.layer_norm(&x, &weight, &bias, op["eps"].as_f64().unwrap() as f32)?
        }
        activation => {
            let activation: Activation =
                serde_json::from_value(serde_json::json!(activation)).unwrap();
            let copy = rec.add(&x, &rec.empty(&x.shape))?;
            rec.activation(&copy, activation);
            copy
        }
    };
    rec.run();
    rec.download(&out)
}

#[test]
fn every_layer_on_the_gpu_matches_pytorch() {
    let Some(ctx) = flowscope_gpu::context_for_tests() else { return };
    for entry in std::fs::read_dir(fixtures("layers")).unwrap() {
        let path = entry.unwrap().path();
        let mut w = load(&path);
        let op: serde_json::Value = serde_json::from_str(w.metadata("op").unwrap()).unwrap();
        let expected = w.take_any("y").unwrap();
        let got =
            run_layer_gpu(&ctx, &mut w, &op).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(got.shape, expected.shape, "{}", path.display());
        let error = got.max_relative_error(&expected, FLOOR);
        assert!(error < TOLERANCE, "{} on the GPU: relative error {error:e}", path.display());
    }
}

#[test]
fn every_family_on_the_gpu_matches_pytorch() {
    let Some(ctx) = flowscope_gpu::context_for_tests() else { return };
    for name in ["mlp_smdp", "mlp_f16", "rescnn_circular", "unet_small", "unet_circular"] {
        let bytes = std::fs::read(fixtures("models").join(format!("{name}.safetensors"))).unwrap();
        let (_, model) = Model::from_bytes(&bytes).unwrap();
        let mut io = load(&fixtures("models").join(format!("{name}.io.safetensors")));
        let x = io.take_any("x").unwrap();
        let t = io.take_any("t").ok();
        let cond = io.take_any("cond").ok();
        let expected = io.take_any("y").unwrap();
        let gpu = flowscope_nn::GpuModel::new(
            &ctx,
            &model,
            &x.shape,
            cond.as_ref().map(|c| c.shape.as_slice()),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got =
            gpu.forward_blocking(&x, t.as_ref().map(|t| t.data.as_slice()), cond.as_ref()).unwrap();
        assert_eq!(got.shape, expected.shape, "{name}");
        let error = got.max_relative_error(&expected, FLOOR);
        assert!(error < TOLERANCE, "{name} on the GPU: relative error {error:e}");
        // A second run on the same recording gives the same numbers.
        let again =
            gpu.forward_blocking(&x, t.as_ref().map(|t| t.data.as_slice()), cond.as_ref()).unwrap();
        assert_eq!(again, got, "{name}: a rerun differs");
    }
}

#[test]
fn diffusion_sampling_on_the_gpu_takes_the_cpu_steps() {
    use flowscope_nn::diffusion::{
        clip_x0, sample, sample_gpu, sample_steps, steps, GpuSampler, Sampler, Schedule,
    };
    let Some(ctx) = flowscope_gpu::context_for_tests() else { return };
    let bytes = std::fs::read(fixtures("models").join("unet_small.safetensors")).unwrap();
    let (_, model) = Model::from_bytes(&bytes).unwrap();
    let mut io = load(&fixtures("models").join("unet_small.io.safetensors"));
    let (x, cond) = (io.take_any("x").unwrap(), io.take_any("cond").unwrap());
    let betas = Schedule::Cosine { s: 0.008 }.betas(12);
    let seeds = [3, 4];
    let gpu = flowscope_nn::GpuModel::new(&ctx, &model, &x.shape, Some(&cond.shape)).unwrap();
    for sampler in [Sampler::Ddpm, Sampler::Ddim { steps: 4, eta: 0.5 }] {
        let mut epsilon = |x: &Tensor, t: &[f32]| model.forward(x, Some(t), Some(&cond));
        let on_cpu = sample(&mut epsilon, &betas, sampler, &x.shape, &seeds).unwrap();
        let buffer = sample_gpu(&gpu, &betas, sampler, &seeds, Some(&cond)).unwrap().clone();
        let on_gpu = gpu.recorder().download(&buffer).unwrap();
        let error = on_gpu.max_relative_error(&on_cpu, FLOOR);
        assert!(error < 1e-3, "{sampler:?}: GPU and CPU samples differ by {error:e}");
    }
    // DDPM with x₀ clipped (active at ±0.5) and flow matching's Euler steps.
    let mut clipped = steps(&betas, Sampler::Ddpm).unwrap();
    clip_x0(&mut clipped, &betas, 0.5);
    let flow = steps(&[], Sampler::FlowEuler { steps: 5, time_scale: 12.0 }).unwrap();
    for (name, plan) in [("clipped ddpm", clipped), ("flow euler", flow)] {
        let mut epsilon = |x: &Tensor, t: &[f32]| model.forward(x, Some(t), Some(&cond));
        let on_cpu = sample_steps(&mut epsilon, &plan, &x.shape, &seeds).unwrap();
        gpu.recorder().write(gpu.condition().unwrap(), &cond).unwrap();
        GpuSampler::new(&gpu, None).unwrap().run_steps(&gpu, &betas, &plan, &seeds, &[]).unwrap();
        let on_gpu = gpu.recorder().download(gpu.input()).unwrap();
        let error = on_gpu.max_relative_error(&on_cpu, FLOOR);
        assert!(error < 1e-3, "{name}: GPU and CPU samples differ by {error:e}");
    }
}

#[test]
fn every_shipped_model_matches_its_manifest_entry_and_loads() {
    use flowscope_nn::weights::{check_manifest_entry, Manifest};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../public/models");
    let manifest =
        Manifest::parse(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    for entry in &manifest.models {
        let bytes =
            std::fs::read(dir.join(&entry.file)).unwrap_or_else(|e| panic!("{}: {e}", entry.file));
        check_manifest_entry(&bytes, entry.bytes, &entry.sha256)
            .unwrap_or_else(|e| panic!("{}: {e}", entry.file));
        assert_eq!(
            Manifest::entry(&entry.file, &bytes).unwrap(),
            *entry,
            "{}: stale entry",
            entry.file
        );
    }
    // An entry is what the files say: the fixtures' UNet makes a consistent one.
    let bytes = std::fs::read(fixtures("models").join("unet_small.safetensors")).unwrap();
    let entry = Manifest::entry("unet_small.safetensors", &bytes).unwrap();
    assert_eq!((entry.bytes as usize, entry.parameters), (bytes.len(), 33258));
    assert!(check_manifest_entry(&bytes, entry.bytes, &entry.sha256).is_ok());
}
