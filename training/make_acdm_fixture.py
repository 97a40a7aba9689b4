"""What PyTorch computes for one ACDM rollout frame, as the parity fixture of the Rust sampler.

    training/run make_acdm_fixture.py   # writes tests/fixtures/acdm/step.io.safetensors

The conditioning and sampling of train_acdm.py, run as `flowscope sample` runs them: the tiny
fixture model, a synthetic previous state x0 (physical units) for two samples, DDPM over its 20
steps with Flowscope's counter-based noise (ported below), the condition noised to each step.
The Rust test (crates/flowscope-cases/src/acdm_wake.rs) must reproduce `next` — proof that the
runtime feeds the network exactly what training did.
"""

import json
import os

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import flowscope_nn
import train_acdm

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures", "acdm")
M32 = 0xFFFFFFFF


def _hash(v):
    v = (v * 747796405 + 2891336453) & M32
    word = (((v >> ((v >> 28) + 4)) ^ v) * 277803737) & M32
    return (word >> 22) ^ word


def normal(seed, draw, index):
    """flowscope_nn::diffusion::normal: PCG hashes to two uniforms, Box–Muller in f32."""
    a = _hash(seed ^ _hash(draw ^ _hash((index * 2) & M32)))
    b = _hash(seed ^ _hash(draw ^ _hash(((index * 2) & M32) | 1)))
    u1 = np.float32((a >> 8) + 1) / np.float32(16777216.0)
    u2 = np.float32(b >> 8) / np.float32(16777216.0)
    return np.sqrt(np.float32(-2.0) * np.log(u1)) * np.cos(np.float32(2.0 * np.pi) * u2)


def noise(shape, seeds, draw):
    per = int(np.prod(shape[1:]))
    return np.array([[normal(s, draw, i) for i in range(per)] for s in seeds], dtype=np.float32).reshape(shape)


def main():
    path = os.path.join(FIXTURES, "acdm-wake.safetensors")
    with safe_open(path, "pt") as f:
        meta = f.metadata()
        weights = {k: f.get_tensor(k).float() for k in f.keys()}
    config, extra = json.loads(meta["config"]), json.loads(meta["extra"])
    model = flowscope_nn.build(config)
    model.load_state_dict(weights)
    model.eval()
    mean = np.array(extra["normalisation"]["channels"]["mean"], dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array(extra["normalisation"]["channels"]["std"], dtype=np.float32).reshape(1, 3, 1, 1)
    re_mean, re_std = extra["normalisation"]["conditions"]["mean"][0], extra["normalisation"]["conditions"]["std"][0]

    h, w, re, seeds, frame = 16, 32, 150.0, [11, 12], 3
    y, x = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    x0 = np.stack([
        np.stack([0.5 + 0.2 * np.sin(0.3 * x + 0.2 * y + k), 0.1 * np.cos(0.4 * x - 0.1 * y * k), 0.05 * np.sin(0.2 * x * y / 10 + k)])
        for k in range(2)
    ]).astype(np.float32)

    betas = [train_acdm.BETAS[0] + (train_acdm.BETAS[1] - train_acdm.BETAS[0]) * k / (train_acdm.STEPS - 1) for k in range(train_acdm.STEPS)]
    bars = np.cumprod([1.0 - b for b in betas])
    frame_seeds = [((s * 0x9E3779B9) & M32) ^ frame for s in seeds]
    cond_seeds = [s ^ 0x5BD1E995 for s in frame_seeds]
    x0n = (x0 - mean) / std
    re_plane = np.full((2, 1, h, w), (re - re_mean) / max(re_std, 1e-12), dtype=np.float32)
    xt = noise(x0.shape, frame_seeds, 0)
    for k, t in enumerate(reversed(range(train_acdm.STEPS))):
        draw = k + 1
        bar = bars[t]
        cond_noise = noise(x0.shape, cond_seeds, draw)
        cond = np.concatenate([np.float32(np.sqrt(bar)) * x0n + np.float32(np.sqrt(1 - bar)) * cond_noise, re_plane], axis=1)
        with torch.no_grad():
            eps = model(torch.from_numpy(xt), torch.full((2,), float(t)), torch.from_numpy(cond.astype(np.float32))).numpy()
        beta = betas[t]
        a = 1.0 / np.sqrt(1.0 - beta)
        b = -beta / np.sqrt(1.0 - bar) * a
        sigma = np.sqrt(beta) if t > 0 else 0.0
        z = noise(x0.shape, frame_seeds, draw)
        xt = (a * xt.astype(np.float64) + b * eps.astype(np.float64) + sigma * z.astype(np.float64)).astype(np.float32)
    nxt = xt * std + mean
    out = os.path.join(FIXTURES, "step.io.safetensors")
    save_file({"x0": torch.from_numpy(x0), "next": torch.from_numpy(nxt.astype(np.float32))}, out,
              metadata={"re": json.dumps(re), "seeds": json.dumps(seeds), "frame": json.dumps(frame)})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
