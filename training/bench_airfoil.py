"""PyTorch's side of `cargo xtask bench airfoil`: the time to draw K samples with a shipped
airfoil-uncertainty model (its weights and config from the safetensors file, in f32) on the
CPU, as a researcher would sample it: DDPM's ancestral steps, flow matching's Euler steps or one
pass of the heteroscedastic UNet and a Gaussian draw. The conditioning is constant planes and a
blank mask — the work per pass does not depend on it. Prints JSON.

    training/run bench_airfoil.py MODEL.safetensors --samples 16 [--steps S]
"""

import argparse
import json
import math
import os
import time

import torch
from safetensors import safe_open

import flowscope_nn as fnn


def load(path):
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata()
        weights = {k: f.get_tensor(k).float() for k in f.keys()}
    config, extra = json.loads(metadata["config"]), json.loads(metadata["extra"])
    model = fnn.build(config).eval()
    model.load_state_dict(weights)
    return model, config, extra


def cosine_betas(steps, s=0.008):
    f = [math.cos((t / steps + s) / (1 + s) * math.pi / 2) ** 2 for t in range(steps + 1)]
    return [min(1 - f[t + 1] / f[t], 0.999) for t in range(steps)]


def sample(model, config, extra, k, steps):
    shape = (k, 3, 32, 32)
    cond = torch.zeros(k, 3, 32, 32)
    cond[:, 0], cond[:, 1] = 0.8, 0.3
    kind = extra["model"]
    if kind == "heteroscedastic":
        y = model(cond, torch.zeros(k), None)
        mean, log_var = y[:, :3], y[:, 3:].clamp(-20, 10)
        return mean + (0.5 * log_var).exp() * torch.randn(shape)
    x = torch.randn(shape)
    if kind == "flow-matching":
        scale = extra["flow_matching"]["time_scale"]
        for i in range(steps):
            tau = 1 - i / steps
            x = x - model(x, torch.full((k,), scale * tau), cond) / steps
        return x
    betas = cosine_betas(extra["diffusion"]["steps"])
    bars, prod = [], 1.0
    for b in betas:
        prod *= 1 - b
        bars.append(prod)
    for t in reversed(range(len(betas))):
        eps = model(x, torch.full((k,), float(t)), cond)
        a = 1 / math.sqrt(1 - betas[t])
        x = a * (x - betas[t] / math.sqrt(1 - bars[t]) * eps)
        if t > 0:
            x = x + math.sqrt(betas[t]) * torch.randn(shape)
    return x


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--steps", type=int, default=0, help="0: the model's own (20 Euler, 200 DDPM)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    model, config, extra = load(args.model)
    steps = args.steps or (20 if extra["model"] == "flow-matching" else extra.get("diffusion", {}).get("steps", 1))
    with torch.no_grad():
        sample(model, config, extra, args.samples, 1)
        started = time.perf_counter()
        x = sample(model, config, extra, args.samples, steps)
        seconds = time.perf_counter() - started
    assert torch.isfinite(x).all()
    print(json.dumps({"model": extra["model"], "samples": args.samples, "steps": steps, "seconds": seconds,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
