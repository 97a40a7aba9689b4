"""The parity fixture of the shipped learned particle solvers: for each model file given, the
first held-out run's start (positions and velocities) and what PyTorch's network steps make
of it, each step from PyTorch's state before it, so that crates/flowscope-cases holds its CPU
steps to PyTorch's.

    training/run make_sfbc_fixture.py ../target/data/sfbc-1d ../public/models/sfbc-1d-*.safetensors
    training/run make_sfbc_fixture.py ../target/data/sfbc-2d ../public/models/sfbc-2d-*.safetensors

Writes tests/fixtures/nn/<dataset>-rollout.safetensors: x0, u0 ([N], or [N, 2] in 2D over fluid
then wall particles, with `wall` [N]) and, per model <name>, <name>.x and <name>.u [STEPS, ...].
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
from train_sfbc import box_step, network_step

STEPS = 4
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "nn")


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
    dataset = data.meta["dataset"]
    start = torch.from_numpy(data.split("test")[0]["frames"][0, :, 0, :].astype(np.float32))
    if dataset == "sfbc-2d":
        wall = start[5] > 0.5
        x0, u0 = start[0:2].T.contiguous(), start[2:4].T.contiguous()
        tensors = {"x0": x0, "u0": u0, "wall": wall.float()}

        def step(model, x, u, extra):
            return box_step(model, x, u, wall, extra)
    else:
        x0, u0 = start[0], start[1]
        tensors = {"x0": x0, "u0": u0}
        step = network_step
    for path in sys.argv[2:]:
        model, extra = load(path)
        name = os.path.basename(path).removesuffix(".safetensors")
        x, u, xs, us = x0[None], u0[None], [], []
        with torch.no_grad():
            for _ in range(STEPS):
                x, u = step(model, x, u, extra)
                xs.append(x[0])
                us.append(u[0])
        tensors[f"{name}.x"], tensors[f"{name}.u"] = torch.stack(xs), torch.stack(us)
        print(f"{name}: {STEPS} steps, |u| up to {float(torch.stack(us).abs().max()):.3f}")
    out = os.path.join(FIXTURES, f"{dataset}-rollout.safetensors")
    save_file({k: v.contiguous() for k, v in tensors.items()}, out)
    print(f"wrote {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
