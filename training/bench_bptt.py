"""PyTorch side of `cargo xtask bench control`: one training update of the cart-pole controller
(batch 8, 100 steps, 2 x 100 tanh MLP, 1 and 4 poles), as the reference computes it: F (one
rollout, one backward pass) and C (the P and the F rollout, a backward pass each, combined), in
f64 (the twin's precision and ours) and f32, on the CPU threads torch is given. Prints JSON.

    training/run bench_bptt.py
"""

import json
import time

import torch

from bptt_twin import gradient


def time_update(poles, mode, dtype, repeats=20):
    torch.manual_seed(0)
    widths = [2 + 2 * poles, 100, 100, 1]
    layers = [torch.nn.Linear(a, b, dtype=dtype) for a, b in zip(widths, widths[1:])]
    params = [p for layer in layers for p in (layer.weight, layer.bias)]
    opt = torch.optim.Adam(params, lr=1e-3)
    starts = torch.rand(8, widths[0], dtype=dtype) * 2 - 1
    starts[:, 2::2] = torch.pi + starts[:, 2::2] * torch.pi / 6

    def update():
        g = gradient(layers, starts, mode)[1]
        offset = 0
        for p in params:
            p.grad = g[offset:offset + p.numel()].reshape(p.shape).clone()
            offset += p.numel()
        opt.step()

    for _ in range(3):
        update()
    t0 = time.perf_counter()
    for _ in range(repeats):
        update()
    return (time.perf_counter() - t0) / repeats * 1000.0


def main():
    rows = []
    for poles in (1, 4):
        for mode in ("F", "C"):
            for dtype in (torch.float64, torch.float32):
                ms = time_update(poles, mode, dtype)
                rows.append({"poles": poles, "mode": mode, "dtype": str(dtype).removeprefix("torch."), "ms": ms})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()
