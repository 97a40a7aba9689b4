//! The Rust gradients and updates against PyTorch autograd of the twin in training/bptt_twin.py
//! (f64), from the same weights and starts.

use flowscope_control::bptt::{batch_gradients, Adam};
use flowscope_control::{CartPole, Clip, Cnn, Controller, Guidance, Mlp, Mode, Quantum, System};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const FIXTURE: &[u8] = include_bytes!("../../../tests/fixtures/control/bptt-gradients.safetensors");

fn tensor(file: &safetensors::SafeTensors, name: &str) -> Vec<f64> {
    let view = file.tensor(name).unwrap_or_else(|_| panic!("the fixture has no {name}"));
    view.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect()
}

/// Largest difference relative to the largest reference value.
fn relative_error(ours: &[f64], reference: &[f64]) -> f64 {
    let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    ours.iter().zip(reference).fold(0.0f64, |m, (a, b)| m.max((a - b).abs())) / scale
}

#[test]
fn gradients_and_updates_match_pytorch() {
    let file = safetensors::SafeTensors::deserialize(FIXTURE).unwrap();
    for poles in [1, 3] {
        let key = format!("p{poles}");
        let system = CartPole::new(poles);
        let widths = [system.state_len(), 16, 16, 1];
        let mlp = Mlp { widths: widths.to_vec(), params: tensor(&file, &format!("{key}.params")) };
        let starts = tensor(&file, &format!("{key}.starts"));
        let grads = batch_gradients(&system, &mlp, &starts, true);
        let loss = tensor(&file, &format!("{key}.loss"))[0];
        assert!((grads.loss - loss).abs() < 1e-12, "{key}: loss {} vs {loss}", grads.loss);
        for mode in Mode::ALL {
            let reference = tensor(&file, &format!("{key}.grad.{}", mode.letter()));
            let error = relative_error(&grads.of(mode), &reference);
            assert!(error < 1e-6, "{key}, mode {}: relative error {error:e}", mode.letter());
        }
        for (mode, clip) in [(Mode::Combined, Clip::Norm(1.0)), (Mode::Full, Clip::Value(1.0))] {
            let mut trained = mlp.clone();
            let mut adam = Adam::new(1e-2, trained.params.len());
            for _ in 0..3 {
                let mut g = batch_gradients(&system, &trained, &starts, false).of(mode);
                clip.apply(&mut g);
                adam.step(&mut trained.params, &g);
            }
            let name = format!("{key}.after.{}.{}", mode.letter(), clip.name());
            let reference = tensor(&file, &name);
            let moved: Vec<f64> = reference.iter().zip(&mlp.params).map(|(a, b)| a - b).collect();
            let ours: Vec<f64> =
                trained.params.iter().zip(&mlp.params).map(|(a, b)| a - b).collect();
            let error = relative_error(&ours, &moved);
            assert!(error < 1e-6, "{name}: the updates differ by {error:e} (relative)");
        }
    }
}

#[test]
fn guidance_gradients_match_pytorch() {
    let file = safetensors::SafeTensors::deserialize(FIXTURE).unwrap();
    let mut system = Guidance::new(2, 4);
    system.regularisation = 0.1;
    let widths = [system.state_len(), 16, 16, system.control_len()];
    let mlp = Mlp { widths: widths.to_vec(), params: tensor(&file, "g.params") };
    let starts = tensor(&file, "g.starts");
    let grads = batch_gradients(&system, &mlp, &starts, true);
    let loss = tensor(&file, "g.loss")[0];
    assert!((grads.loss - loss).abs() < 1e-12 * loss, "loss {} vs {loss}", grads.loss);
    for mode in Mode::ALL {
        let reference = tensor(&file, &format!("g.grad.{}", mode.letter()));
        let error = relative_error(&grads.of(mode), &reference);
        assert!(error < 1e-6, "guidance, mode {}: relative error {error:e}", mode.letter());
    }
}

#[test]
fn quantum_gradients_through_the_cnn_match_pytorch() {
    let file = safetensors::SafeTensors::deserialize(FIXTURE).unwrap();
    let system = Quantum::new(3).unwrap();
    let mut cnn =
        Cnn::create(system.state_len(), &[8], 1, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    cnn.params = tensor(&file, "q.params");
    let starts = tensor(&file, "q.starts");
    let grads = batch_gradients(&system, &cnn, &starts, true);
    let loss = tensor(&file, "q.loss")[0];
    assert!((grads.loss - loss).abs() < 1e-12 * loss, "loss {} vs {loss}", grads.loss);
    for mode in Mode::ALL {
        let reference = tensor(&file, &format!("q.grad.{}", mode.letter()));
        let error = relative_error(&grads.of(mode), &reference);
        assert!(error < 1e-6, "quantum, mode {}: relative error {error:e}", mode.letter());
    }
}
