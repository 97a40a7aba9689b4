//! The trainer: the loss falls, a seed replays a run, the exported controller runs in the nn
//! room unchanged.

use flowscope_control::{CartPole, Clip, Mlp, Mode, Trainer, TrainerSettings};

fn settings(mode: Mode) -> TrainerSettings {
    TrainerSettings {
        mode,
        clip: Clip::None,
        lr: 1e-2,
        batch: 8,
        samples: 32,
        hidden: vec![32, 32],
        seed: 5,
    }
}

#[test]
fn training_lowers_the_loss_and_replays_from_its_seed() {
    let mut trainer =
        Trainer::<_, Mlp>::new(CartPole::new(1), settings(Mode::Combined), None).unwrap();
    let before = trainer.test_loss();
    let stats: Vec<_> = (0..4).map(|_| trainer.epoch().unwrap()).collect();
    let after = stats.last().unwrap().test_loss;
    assert!(after < 0.8 * before, "test loss {before} -> {after}");
    assert!(stats.iter().all(|s| s.grad_norm > 0.0 && s.cosine.abs() <= 1.0));

    let mut again =
        Trainer::<_, Mlp>::new(CartPole::new(1), settings(Mode::Combined), None).unwrap();
    let replay: Vec<_> = (0..4).map(|_| again.epoch().unwrap()).collect();
    assert_eq!(stats, replay);
    assert_eq!(trainer.controller, again.controller);
}

#[test]
fn bad_settings_and_mismatched_controllers_are_refused() {
    let mut bad = settings(Mode::Full);
    bad.lr = 0.0;
    assert!(Trainer::<_, Mlp>::new(CartPole::new(1), bad.clone(), None)
        .err()
        .unwrap()
        .contains("learning rate"));
    bad.lr = f64::NAN;
    assert!(Trainer::<_, Mlp>::new(CartPole::new(1), bad, None).is_err());
    let two =
        Trainer::<_, Mlp>::new(CartPole::new(2), settings(Mode::Full), None).unwrap().controller;
    let error =
        Trainer::<_, Mlp>::new(CartPole::new(1), settings(Mode::Full), Some(two)).err().unwrap();
    assert!(error.contains("do not fit"), "{error}");
}

#[test]
fn exported_controller_runs_in_the_nn_room() {
    let trainer = Trainer::<_, Mlp>::new(CartPole::new(2), settings(Mode::Full), None).unwrap();
    let bytes = trainer.controller.to_safetensors(&serde_json::json!({"model": "bptt-cartpole"}));
    let (back, extra) = Mlp::from_safetensors(&bytes).unwrap();
    assert_eq!(extra["model"], "bptt-cartpole");
    let (_, model) = flowscope_nn::Model::from_bytes(&bytes).unwrap();
    let input = [0.3, -0.2, 3.0, 0.5, 2.9, -0.4];
    let ours = trainer.controller.forward(&input)[0];
    let x = flowscope_nn::Tensor::new(vec![1, 6], input.map(|v| v as f32).to_vec()).unwrap();
    let theirs = model.forward(&x, None, None).unwrap().data[0];
    assert!((f64::from(theirs) - ours).abs() < 1e-4, "nn {theirs} vs control {ours}");
    assert!(back.params.iter().zip(&trainer.controller.params).all(|(a, b)| (a - b).abs() < 1e-6));
    assert!(Mlp::from_safetensors(&bytes[..bytes.len() - 8]).is_err());
}
