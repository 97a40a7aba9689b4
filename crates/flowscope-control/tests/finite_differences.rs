//! Every hand-written adjoint against central finite differences of the forward code.

use flowscope_control::bptt::{batch_gradients, rollout};
use flowscope_control::{rollout_loss, CartPole, Cnn, Controller, Guidance, Mlp, Quantum, System};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn close(analytic: f64, numeric: f64, what: &str) {
    let scale = analytic.abs().max(numeric.abs()).max(1e-6);
    assert!(
        (analytic - numeric).abs() / scale < 1e-5,
        "{what}: adjoint {analytic} vs finite difference {numeric}"
    );
}

/// `system`'s step adjoint at `state` and `control` against finite differences of ⟨w, step⟩.
fn check_step_adjoint(system: &impl System, state: &[f64], control: &[f64], what: &str) {
    let s = system.state_len();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let weights: Vec<f64> = (0..s).map(|_| rng.random_range(-1.0..1.0)).collect();
    let objective = |state: &[f64], control: &[f64]| {
        let mut next = vec![0.0; s];
        system.step(state, control, &mut next);
        next.iter().zip(&weights).map(|(a, b)| a * b).sum::<f64>()
    };
    let (mut state_adjoint, mut control_adjoint) = (vec![0.0; s], vec![0.0; control.len()]);
    system.step_adjoint(state, control, &weights, &mut state_adjoint, &mut control_adjoint);
    let h = 1e-6;
    for k in 0..s {
        let (mut up, mut down) = (state.to_vec(), state.to_vec());
        up[k] += h;
        down[k] -= h;
        let numeric = (objective(&up, control) - objective(&down, control)) / (2.0 * h);
        close(state_adjoint[k], numeric, &format!("{what}, d/ds[{k}]"));
    }
    for k in 0..control.len() {
        let (mut up, mut down) = (control.to_vec(), control.to_vec());
        up[k] += h;
        down[k] -= h;
        let numeric = (objective(state, &up) - objective(state, &down)) / (2.0 * h);
        close(control_adjoint[k], numeric, &format!("{what}, d/du[{k}]"));
    }
}

#[test]
fn cartpole_step_adjoint_matches_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for poles in 1..=4 {
        let system = CartPole::new(poles);
        let state: Vec<f64> =
            (0..system.state_len()).map(|_| rng.random_range(-3.0..3.0)).collect();
        let force = [rng.random_range(-5.0..5.0)];
        check_step_adjoint(&system, &state, &force, &format!("{poles} poles"));
    }
}

#[test]
fn guidance_step_adjoint_matches_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (drivers, evaders) in [(1, 1), (2, 4), (3, 2)] {
        let system = Guidance::new(drivers, evaders);
        let mut state = system.starts(1, &mut rng);
        // Moving, and some objects close together (the forces' steep part).
        for v in state.iter_mut() {
            *v += rng.random_range(-0.3..0.3);
        }
        let control: Vec<f64> =
            (0..system.control_len()).map(|_| rng.random_range(-2.0..2.0)).collect();
        check_step_adjoint(
            &system,
            &state,
            &control,
            &format!("{drivers} drivers, {evaders} evaders"),
        );
    }
}

#[test]
fn mlp_backward_matches_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mlp = Mlp::new(&[5, 7, 6, 2], &mut rng);
    let input: Vec<f64> = (0..5).map(|_| rng.random_range(-2.0..2.0)).collect();
    let adjoint = [0.7, -1.3];
    let objective = |mlp: &Mlp, input: &[f64]| {
        mlp.forward(input).iter().zip(&adjoint).map(|(a, b)| a * b).sum::<f64>()
    };
    let mut tape = vec![0.0; mlp.tape_len()];
    mlp.forward_tape(&input, &mut tape);
    let (mut grad, mut input_adjoint) = (vec![0.0; mlp.params.len()], vec![0.0; 5]);
    mlp.backward(&tape, &adjoint, &mut grad, Some(&mut input_adjoint));
    let h = 1e-6;
    for (k, &analytic) in grad.iter().enumerate() {
        let (mut up, mut down) = (mlp.clone(), mlp.clone());
        up.params[k] += h;
        down.params[k] -= h;
        let numeric = (objective(&up, &input) - objective(&down, &input)) / (2.0 * h);
        close(analytic, numeric, &format!("d/dθ[{k}]"));
    }
    for k in 0..5 {
        let (mut up, mut down) = (input.clone(), input.clone());
        up[k] += h;
        down[k] -= h;
        let numeric = (objective(&mlp, &up) - objective(&mlp, &down)) / (2.0 * h);
        close(input_adjoint[k], numeric, &format!("d/dx[{k}]"));
    }
}

#[test]
fn guidance_rollout_gradient_with_running_and_control_losses_matches_finite_differences() {
    let mut system = Guidance::new(2, 4);
    system.regularisation = 0.1;
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mlp = Mlp::new(&[system.state_len(), 8, 8, system.control_len()], &mut rng);
    let starts = system.starts(2, &mut rng);
    let grads = batch_gradients(&system, &mlp, &starts, false);
    let s = system.state_len();
    let loss = |mlp: &Mlp| {
        (0..2)
            .map(|b| {
                let r = rollout(&system, mlp, &starts[b * s..(b + 1) * s]);
                rollout_loss(&system, &r.states, &r.controls)
            })
            .sum::<f64>()
            / 2.0
    };
    close(grads.loss, loss(&mlp), "loss");
    let h = 1e-6;
    for k in (0..mlp.params.len()).step_by(5) {
        let (mut up, mut down) = (mlp.clone(), mlp.clone());
        up.params[k] += h;
        down.params[k] -= h;
        close(grads.full[k], (loss(&up) - loss(&down)) / (2.0 * h), &format!("F, d/dθ[{k}]"));
    }
}

/// The batch loss when the controller sees `frozen` states (P: the states of the unperturbed
/// rollout) instead of the live ones (F: `frozen` = None).
fn loss(system: &CartPole, mlp: &Mlp, starts: &[f64], frozen: Option<&[Vec<f64>]>) -> f64 {
    let s = system.state_len();
    let batch = starts.len() / s;
    let mut total = 0.0;
    for b in 0..batch {
        let mut state = starts[b * s..(b + 1) * s].to_vec();
        let mut next = vec![0.0; s];
        for n in 0..system.steps() {
            let seen = frozen.map_or(state.as_slice(), |f| &f[b][n * s..(n + 1) * s]);
            let force = mlp.forward(seen);
            system.step(&state, &force, &mut next);
            std::mem::swap(&mut state, &mut next);
        }
        total += system.loss(&state);
    }
    total / batch as f64
}

#[test]
fn rollout_gradients_match_finite_differences() {
    // Two poles over the published 100 steps, a narrow controller to keep it quick.
    let system = CartPole::new(2);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mlp = Mlp::new(&[6, 8, 8, 1], &mut rng);
    let starts = system.starts(3, &mut rng);
    let grads = batch_gradients(&system, &mlp, &starts, true);
    let s = system.state_len();
    let frozen: Vec<Vec<f64>> =
        (0..3).map(|b| rollout(&system, &mlp, &starts[b * s..(b + 1) * s]).states).collect();
    close(grads.loss, loss(&system, &mlp, &starts, None), "loss");
    let h = 1e-6;
    for k in (0..mlp.params.len()).step_by(7) {
        let (mut up, mut down) = (mlp.clone(), mlp.clone());
        up.params[k] += h;
        down.params[k] -= h;
        let full =
            (loss(&system, &up, &starts, None) - loss(&system, &down, &starts, None)) / (2.0 * h);
        close(grads.full[k], full, &format!("F, d/dθ[{k}]"));
        let physics = (loss(&system, &up, &starts, Some(&frozen))
            - loss(&system, &down, &starts, Some(&frozen)))
            / (2.0 * h);
        close(grads.physics[k], physics, &format!("P, d/dθ[{k}]"));
    }
    assert!(grads.full != grads.physics, "F and P differ on a controlled rollout");
}

#[test]
fn unit_adjoints_mixed_over_steps_equal_the_backward_passes() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mlp = Mlp::new(&[3, 9, 5, 2], &mut rng);
    let (t, ul) = (mlp.tape_len(), mlp.unit_len());
    let mut tapes = vec![0.0; 3 * t];
    let mut units = vec![0.0; 3 * 2 * ul];
    let adjoints: Vec<f64> = (0..6).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut expected = vec![0.0; mlp.params.len()];
    for n in 0..3 {
        let input: Vec<f64> = (0..3).map(|_| rng.random_range(-2.0..2.0)).collect();
        mlp.forward_tape(&input, &mut tapes[n * t..(n + 1) * t]);
        mlp.unit_backward(&tapes[n * t..(n + 1) * t], &mut units[n * 2 * ul..(n + 1) * 2 * ul]);
        let mut input_adjoint = vec![0.0; 3];
        mlp.backward(
            &tapes[n * t..(n + 1) * t],
            &adjoints[2 * n..2 * n + 2],
            &mut expected,
            Some(&mut input_adjoint),
        );
        for (j, a) in input_adjoint.iter().enumerate() {
            let mixed: f64 =
                (0..2).map(|k| adjoints[2 * n + k] * units[(n * 2 + k) * ul + ul - 3 + j]).sum();
            close(mixed, *a, &format!("step {n}, input {j}"));
        }
    }
    let mut grad = vec![0.0; mlp.params.len()];
    mlp.accumulate(&tapes, &units, &adjoints, &mut grad);
    for (k, (a, b)) in grad.iter().zip(&expected).enumerate() {
        close(*a, *b, &format!("d/dθ[{k}]"));
    }
}

#[test]
fn quantum_step_adjoint_matches_finite_differences() {
    let system = Quantum::new(3).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for control in [0.0, 4.0, -25.0] {
        let state: Vec<f64> =
            (0..system.state_len()).map(|_| rng.random_range(-0.3..0.3)).collect();
        check_step_adjoint(&system, &state, &[control], &format!("u = {control}"));
    }
}

#[test]
fn cnn_unit_adjoints_mixed_over_steps_match_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    // 11 points: 5 then 2 positions, so both convolutions' strides and overlaps count.
    let cnn = Cnn::new(11, 4, 2, &mut rng).unwrap();
    let (t, ul, steps) = (cnn.tape_len(), cnn.unit_len(), 3);
    let inputs: Vec<Vec<f64>> =
        (0..steps).map(|_| (0..22).map(|_| rng.random_range(-1.5..1.5)).collect()).collect();
    let adjoints: Vec<f64> = (0..2 * steps).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut tapes = vec![0.0; steps * t];
    let mut units = vec![0.0; steps * 2 * ul];
    for n in 0..steps {
        cnn.forward_tape(&inputs[n], &mut tapes[n * t..(n + 1) * t]);
        cnn.unit_backward(&tapes[n * t..(n + 1) * t], &mut units[n * 2 * ul..(n + 1) * 2 * ul]);
    }
    let objective = |cnn: &Cnn, inputs: &[Vec<f64>]| -> f64 {
        (0..steps)
            .map(|n| {
                let out = cnn.forward(&inputs[n]);
                out[0] * adjoints[2 * n] + out[1] * adjoints[2 * n + 1]
            })
            .sum()
    };
    let mut grad = vec![0.0; cnn.params.len()];
    cnn.accumulate(&tapes, &units, &adjoints, &mut grad);
    let h = 1e-6;
    for (k, &analytic) in grad.iter().enumerate() {
        let (mut up, mut down) = (cnn.clone(), cnn.clone());
        up.params[k] += h;
        down.params[k] -= h;
        let numeric = (objective(&up, &inputs) - objective(&down, &inputs)) / (2.0 * h);
        close(analytic, numeric, &format!("d/dθ[{k}]"));
    }
    for n in 0..steps {
        for j in 0..22 {
            let (mut up, mut down) = (inputs.clone(), inputs.clone());
            up[n][j] += h;
            down[n][j] -= h;
            let numeric = (objective(&cnn, &up) - objective(&cnn, &down)) / (2.0 * h);
            let mixed: f64 =
                (0..2).map(|k| adjoints[2 * n + k] * units[(n * 2 + k) * ul + ul - 22 + j]).sum();
            close(mixed, numeric, &format!("step {n}, d/dx[{j}]"));
        }
    }
}

/// The batch's mean rollout loss (running losses included) when the controller sees `frozen`
/// states instead of the live ones (P), or the live ones (F: `frozen` = None).
fn mean_rollout_loss(
    system: &impl System,
    controller: &impl Controller,
    starts: &[f64],
    frozen: Option<&[Vec<f64>]>,
) -> f64 {
    let s = system.state_len();
    let batch = starts.len() / s;
    let mut total = 0.0;
    for b in 0..batch {
        let mut states = starts[b * s..(b + 1) * s].to_vec();
        let mut controls = Vec::new();
        let mut next = vec![0.0; s];
        let mut tape = vec![0.0; controller.tape_len()];
        for n in 0..system.steps() {
            let state = &states[n * s..(n + 1) * s];
            let seen = frozen.map_or(state, |f| &f[b][n * s..(n + 1) * s]);
            controller.forward_tape(seen, &mut tape);
            let control = &tape[tape.len() - system.control_len()..];
            system.step(state, control, &mut next);
            controls.extend_from_slice(control);
            states.extend_from_slice(&next);
        }
        total += rollout_loss(system, &states, &controls);
    }
    total / batch as f64
}

#[test]
fn quantum_rollout_gradients_through_the_cnn_match_finite_differences() {
    // 24 of the 128 steps and 4 channels keep it quick; the loss is on every state.
    let mut system = Quantum::new(4).unwrap();
    system.steps = 24;
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let cnn = Cnn::new(32, 4, 1, &mut rng).unwrap();
    let starts = system.starts(2, &mut rng);
    let grads = batch_gradients(&system, &cnn, &starts, false);
    let s = system.state_len();
    let frozen: Vec<Vec<f64>> =
        (0..2).map(|b| rollout(&system, &cnn, &starts[b * s..(b + 1) * s]).states).collect();
    close(grads.loss, mean_rollout_loss(&system, &cnn, &starts, None), "loss");
    // A loss of about 24 and gradients down to 1e-7: a wider step keeps round-off out, and
    // components far below the largest are held to it absolutely.
    let h = 1e-4;
    let largest = grads.full.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let close = |a: f64, n: f64, what: &str| close(a + largest, n + largest, what);
    for k in (0..cnn.params.len()).step_by(11) {
        let (mut up, mut down) = (cnn.clone(), cnn.clone());
        up.params[k] += h;
        down.params[k] -= h;
        let full = (mean_rollout_loss(&system, &up, &starts, None)
            - mean_rollout_loss(&system, &down, &starts, None))
            / (2.0 * h);
        close(grads.full[k], full, &format!("F, d/dθ[{k}]"));
        let physics = (mean_rollout_loss(&system, &up, &starts, Some(&frozen))
            - mean_rollout_loss(&system, &down, &starts, Some(&frozen)))
            / (2.0 * h);
        close(grads.physics[k], physics, &format!("P, d/dθ[{k}]"));
    }
    assert!(grads.full != grads.physics, "F and P differ on a controlled rollout");
}
