"""The parity fixture of the shipped learned particle solvers: for each model file given, the
first held-out run's start (positions and velocities) and what PyTorch's network steps make
of it, so that crates/flowscope-cases holds its CPU rollout to PyTorch's.

    training/run make_sfbc_fixture.py ../target/data/sfbc-1d ../public/models/sfbc-1d-*.safetensors

Writes tests/fixtures/nn/sfbc-1d-rollout.safetensors: x0, u0 [N] and, per model <name>,
<name>.x and <name>.u [STEPS, N].
"""

import json
import os
import sys

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import flowscope_data
import flowscope_nn
from train_sfbc import network_step

STEPS = 4
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "nn", "sfbc-1d-rollout.safetensors")


def load(path):
    with safe_open(path, "pt") as f:
        meta = f.metadata()
        config, extra = json.loads(meta["config"]), json.loads(meta["extra"])
        model = flowscope_nn.build(config)
        model.load_state_dict({k: f.get_tensor(k).float() for k in f.keys()})
    return model.eval(), extra


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    data = flowscope_data.load(sys.argv[1])
    start = torch.from_numpy(data.split("test")[0]["frames"][0, :, 0, :].astype(np.float32))
    tensors = {"x0": start[0], "u0": start[1]}
    for path in sys.argv[2:]:
        model, extra = load(path)
        name = os.path.basename(path).removesuffix(".safetensors")
        x, u, xs, us = start[0][None], start[1][None], [], []
        with torch.no_grad():
            for _ in range(STEPS):
                x, u = network_step(model, x, u, extra)
                xs.append(x[0])
                us.append(u[0])
        tensors[f"{name}.x"], tensors[f"{name}.u"] = torch.stack(xs), torch.stack(us)
        print(f"{name}: {STEPS} steps, |u| up to {float(torch.stack(us).abs().max()):.3f}")
    save_file({k: v.contiguous() for k, v in tensors.items()}, OUT)
    print(f"wrote {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
