//! The continuous convolutions against PyTorch (`training/make_fixtures.py`'s `particles()`):
//! every basis in 1D and 2D and the antisymmetric head, on the CPU and in WGSL, and the
//! momentum the head conserves.

use flowscope_nn::particles::gpu::GpuParticleNet;
use flowscope_nn::particles::{Graph, ParticleNet};
use flowscope_nn::Weights;
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/nn/particles")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fixture's pairs (PyTorch's COO order, grouped by i) as a graph over `n` particles.
fn graph(io: &mut Weights, n: usize, dim: usize) -> Graph {
    let i = io.take_any("i").unwrap().data;
    let j = io.take_any("j").unwrap().data;
    let q = io.take_any("q").unwrap().data;
    let mut graph = Graph::new(dim);
    let mut e = 0;
    for particle in 0..n {
        while e < i.len() && i[e] as usize == particle {
            graph.push(j[e] as usize, &q[e * dim..(e + 1) * dim]);
            e += 1;
        }
        graph.end_row();
    }
    assert_eq!(e, i.len(), "the pairs come grouped by particle");
    graph
}

#[test]
fn every_basis_and_head_matches_pytorch() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/nn/particles");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".safetensors") && !n.ends_with(".io.safetensors"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 13, "5 bases × 2 dimensions and 3 antisymmetric heads: {names:?}");
    let ctx = flowscope_gpu::context_for_tests();
    for name in names {
        let net =
            ParticleNet::from_bytes(&fixture(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut io =
            Weights::from_bytes(&fixture(&name.replace(".safetensors", ".io.safetensors")))
                .unwrap();
        let f = io.take_any("f").unwrap();
        let expected = io.take_any("y").unwrap().data;
        let n = f.shape[0];
        let g = graph(&mut io, n, net.config.dim);
        let y = net.forward(&f.data, &g).unwrap();
        let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs()));
        let error =
            |y: &[f32]| y.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let cpu = error(&y);
        assert!(
            cpu <= 1e-4 * scale.max(1.0),
            "{name}: max |CPU − PyTorch| = {cpu} (scale {scale})"
        );
        if let Some(ctx) = &ctx {
            let mut gpu = GpuParticleNet::new(ctx, &net);
            let wgsl = error(&gpu.forward_blocking(&f.data, &g).unwrap());
            assert!(
                wgsl <= 1e-4 * scale.max(1.0),
                "{name}: max |WGSL − PyTorch| = {wgsl} (scale {scale})"
            );
        }
        if net.config.head == "dmcf" {
            for c in 0..net.config.out_features {
                let sum: f32 = (0..n).map(|i| y[i * net.config.out_features + c]).sum();
                assert!(sum.abs() < 1e-5 * scale * n as f32, "{name}: outputs sum to {sum}");
            }
        }
    }
}

#[test]
fn a_graph_that_does_not_fit_the_features_is_refused() {
    let net = ParticleNet::from_bytes(&fixture("fourier_1d.safetensors")).unwrap();
    let mut g = Graph::new(1);
    g.push(3, &[0.5]);
    g.end_row();
    let error = net.forward(&[1.0, 0.0], &g).unwrap_err().to_string();
    assert!(error.contains("inconsistent"), "{error}");
    let error = net.forward(&[1.0], &Graph::new(1)).unwrap_err().to_string();
    assert!(error.contains("input features"), "{error}");
}

/// The WGSL network takes graphs of any size in turn (its buffers grow, and are reused).
#[test]
fn the_gpu_network_follows_a_changing_graph() {
    let Some(ctx) = flowscope_gpu::context_for_tests() else { return };
    let net = ParticleNet::from_bytes(&fixture("chebyshev_1d.safetensors")).unwrap();
    let mut gpu = GpuParticleNet::new(&ctx, &net);
    for (n, reach) in [(8usize, 2usize), (8, 5), (8, 1), (20, 3)] {
        let mut g = Graph::new(1);
        for i in 0..n {
            for k in 0..=reach {
                let j = (i + k) % n;
                g.push(j, &[k as f32 / (reach + 1) as f32]);
            }
            g.end_row();
        }
        let f: Vec<f32> = (0..2 * n).map(|k| (k as f32 * 0.37).sin()).collect();
        let cpu = net.forward(&f, &g).unwrap();
        let wgsl = gpu.forward_blocking(&f, &g).unwrap();
        let error = cpu.iter().zip(&wgsl).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(error < 1e-4, "{n} particles, {reach} neighbours: {error}");
    }
}
