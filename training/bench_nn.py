"""PyTorch's side of `cargo xtask bench nn`: writes the benchmark UNet (random, seeded) as a
Flowscope model file and as ONNX (for onnxruntime-web in the browser run, beside it with the
suffix .onnx), and times PyTorch's CPU forward pass on the same shapes. Prints JSON.

    training/run bench_nn.py OUT.safetensors
"""

import json
import os
import sys
import time

import torch

import flowscope_nn as fnn

# The diffusion surrogate's size (Diffusion-based-Flow-Prediction: base 16, mults 1 2 4 4,
# attention at the two coarsest levels, 1.19 M weights): inputs [p, ux, uy] conditioned on
# [u∞x, u∞y, mask]. One residual block per level here; base 24 gives 1.8 M weights.
CONFIG = {"family": "unet", "in_channels": 3, "out_channels": 3, "cond_channels": 3, "base": 24,
          "mults": [1, 2, 4, 4], "attention": [2, 3], "heads": 4, "groups": 8}
SHAPES = [(1, 32, 64), (8, 32, 64), (1, 64, 128), (8, 64, 128)]


def export_onnx(model, path):
    """One file for every batch size and any height and width divisible by 2^(levels - 1)."""
    # A batch of 2: torch.export specialises a dimension of size 1 to a constant.
    x = torch.randn(2, 3, 32, 64)
    batch = torch.export.Dim("batch")
    stride = 2 ** (len(CONFIG["mults"]) - 1)
    h, w = torch.export.Dim("h", max=1024), torch.export.Dim("w", max=1024)
    image = {0: batch, 2: stride * h, 3: stride * w}
    with torch.no_grad():
        torch.onnx.export(model, (x, torch.full((2,), 10.0), x.clone()), path,
                          input_names=["x", "t", "cond"], output_names=["y"],
                          dynamic_shapes={"x": image, "t": {0: batch}, "cond": image},
                          dynamo=True, external_data=False, verbose=False)


def main(path):
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    model = fnn.build(CONFIG).eval()
    fnn.export(model, CONFIG, path)
    export_onnx(model, os.path.splitext(path)[0] + ".onnx")
    rows = []
    with torch.no_grad():
        for n, h, w in SHAPES:
            x = torch.randn(n, 3, h, w)
            cond = torch.randn(n, 3, h, w)
            t = torch.full((n,), 10.0)
            model(x, t, cond)
            runs, started = 0, time.perf_counter()
            while runs < 3 or time.perf_counter() - started < 2.0:
                model(x, t, cond)
                runs += 1
            ms = (time.perf_counter() - started) * 1000 / runs
            rows.append({"shape": [n, 3, h, w], "ms": ms, "threads": torch.get_num_threads()})
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({"parameters": params, "torch": torch.__version__, "rows": rows}))


if __name__ == "__main__":
    main(sys.argv[1])
