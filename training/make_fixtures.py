"""Parity fixtures for crates/flowscope-nn: what PyTorch computes, for every layer and family.

    training/run make_fixtures.py      # rewrites tests/fixtures/nn/

Layers: tests/fixtures/nn/layers/<case>.safetensors holds the input `x`, the parameters (if
any) and PyTorch's output `y`; the metadata's "op" is the layer and its settings as JSON.
Families: tests/fixtures/nn/models/<name>.safetensors is a model file as Flowscope loads it
(weights, metadata "config"); <name>.io.safetensors holds its inputs and PyTorch's output.
Seeded: re-running gives the same files.
"""

import json
import os

import torch
from safetensors.torch import save_file
from torch.nn import functional as F

import flowscope_nn as fnn

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "nn")


def save(path, tensors, metadata):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tensors = {k: v.detach().float().contiguous() for k, v in tensors.items()}
    save_file(tensors, path, metadata={k: json.dumps(v) for k, v in metadata.items()})


def layer(name, op, x, y, **params):
    save(os.path.join(OUT, "layers", f"{name}.safetensors"), {"x": x, "y": y, **params}, {"op": op})


def layers():
    g = torch.Generator().manual_seed(1)
    rand = lambda *shape: torch.randn(*shape, generator=g)
    x = rand(2, 3, 9, 11)
    for name, k, stride, dilation, padding, mode in [
        ("conv2d_k3", 3, 1, 1, 1, "zeros"),
        ("conv2d_k5_s2_replicate", 5, 2, 1, 2, "replicate"),
        ("conv2d_k3_d2_circular", 3, 1, 2, 2, "circular"),
        ("conv2d_k1", 1, 1, 1, 0, "zeros"),
        ("conv2d_k4_s2", 4, 2, 1, 1, "zeros"),
    ]:
        conv = torch.nn.Conv2d(3, 5, k, stride=stride, padding=padding, dilation=dilation, padding_mode=mode)
        torch.nn.init.normal_(conv.weight, generator=g)
        torch.nn.init.normal_(conv.bias, generator=g)
        op = {"op": "conv2d", "stride": stride, "padding": padding, "dilation": dilation, "padding_mode": mode}
        layer(name, op, x, conv(x), weight=conv.weight, bias=conv.bias)
    x1 = rand(2, 3, 17)
    conv1 = torch.nn.Conv1d(3, 4, 3, padding=1, padding_mode="circular")
    torch.nn.init.normal_(conv1.weight, generator=g)
    op = {"op": "conv1d", "stride": 1, "padding": 1, "dilation": 1, "padding_mode": "circular"}
    layer("conv1d_k3_circular", op, x1, conv1(x1), weight=conv1.weight, bias=conv1.bias)
    lin = torch.nn.Linear(7, 4)
    xl = rand(3, 7)
    layer("linear", {"op": "linear"}, xl, lin(xl), weight=lin.weight, bias=lin.bias)
    gn = torch.nn.GroupNorm(2, 6)
    torch.nn.init.normal_(gn.weight, generator=g)
    torch.nn.init.normal_(gn.bias, generator=g)
    xg = rand(2, 6, 5, 4) * 3 + 1
    layer("group_norm", {"op": "group_norm", "groups": 2, "eps": gn.eps}, xg, gn(xg), weight=gn.weight, bias=gn.bias)
    ln = torch.nn.LayerNorm(7)
    torch.nn.init.normal_(ln.weight, generator=g)
    torch.nn.init.normal_(ln.bias, generator=g)
    layer("layer_norm", {"op": "layer_norm", "eps": ln.eps}, xl * 2 + 1, ln(xl * 2 + 1), weight=ln.weight, bias=ln.bias)
    xa = rand(2, 3, 4, 5) * 3
    for act, f in [("relu", F.relu), ("silu", F.silu), ("gelu", F.gelu), ("tanh", torch.tanh), ("elu", F.elu)]:
        layer(act, {"op": act}, xa, f(xa))
    for mode in ["nearest", "bilinear"]:
        y = F.interpolate(x, scale_factor=2, mode=mode) if mode == "nearest" else F.interpolate(x, scale_factor=2, mode=mode, align_corners=False)
        layer(f"upsample_{mode}", {"op": "upsample", "mode": mode}, x, y)
    xp = rand(2, 3, 8, 10)
    layer("avg_pool2d", {"op": "avg_pool2d", "kernel": 2}, xp, F.avg_pool2d(xp, 2))
    layer("max_pool2d", {"op": "max_pool2d", "kernel": 2}, xp, F.max_pool2d(xp, 2))
    t = torch.tensor([0.0, 1.0, 17.5, 999.0])
    layer("time_embedding", {"op": "time_embedding", "dim": 16}, t, fnn.sinusoidal_embedding(t, 16))
    attn = fnn.Attention(8, 2, 4)
    for p in attn.parameters():
        torch.nn.init.normal_(p, std=0.5, generator=g)
    xt = rand(2, 8, 4, 3)
    params = {k.replace(".", "_"): v for k, v in attn.state_dict().items()}
    layer("attention", {"op": "attention", "heads": 2, "groups": 4}, xt, attn(xt), **params)


def models():
    g = torch.Generator().manual_seed(2)
    torch.manual_seed(2)
    cases = [
        ("mlp_smdp", {"family": "mlp", "widths": [2, 30, 30, 25, 20, 10, 1], "activation": "elu"}, torch.float32),
        ("mlp_f16", {"family": "mlp", "widths": [3, 16, 4], "activation": "gelu"}, torch.float16),
        ("rescnn_circular", {"family": "rescnn", "in_channels": 2, "out_channels": 1, "width": 8,
                             "dilations": [1, 2], "padding_mode": "circular", "activation": "relu"}, torch.float32),
        ("unet_small", {"family": "unet", "in_channels": 2, "out_channels": 2, "cond_channels": 1, "base": 8,
                        "mults": [1, 2], "attention": [1], "heads": 2, "groups": 4}, torch.float32),
        ("unet_circular", {"family": "unet", "in_channels": 1, "out_channels": 1, "base": 8, "mults": [1, 2],
                           "heads": 2, "groups": 4, "padding_mode": "circular"}, torch.float32),
    ]
    for name, config, dtype in cases:
        model = fnn.build(config).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn(p.shape, generator=g) * 0.05)
            # The f16 file must compute what its rounded weights compute.
            model = model.to(dtype).float()
            if config["family"] == "mlp":
                io = {"x": torch.randn(5, config["widths"][0], generator=g)}
                io["y"] = model(io["x"])
            elif config["family"] == "rescnn":
                io = {"x": torch.randn(2, config["in_channels"], 12, 10, generator=g)}
                io["y"] = model(io["x"])
            else:
                io = {
                    "x": torch.randn(2, config["in_channels"], 16, 16, generator=g),
                    "t": torch.tensor([3.0, 150.0]),
                }
                if config.get("cond_channels", 0):
                    io["cond"] = torch.randn(2, config["cond_channels"], 16, 16, generator=g)
                io["y"] = model(io["x"], io["t"], io.get("cond"))
        fnn.export(model, config, os.path.join(OUT, "models", f"{name}.safetensors"), dtype)
        save(os.path.join(OUT, "models", f"{name}.io.safetensors"), io, {})
        count = sum(p.numel() for p in model.parameters())
        print(f"{name}: {count} parameters")


def particles():
    """Continuous convolutions: every basis in 1D and 2D, and the antisymmetric (DMCF) head, on
    random particles with their neighbours (i itself included), stored in COO order (i, j, q)."""
    g = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    cases = [(basis, dim, "sfbc") for basis in fnn.BASES for dim in (1, 2)]
    cases += [("fourier", 1, "dmcf"), ("fourier", 2, "dmcf"), ("linear", 2, "dmcf")]
    for basis, dim, head in cases:
        config = {"family": "sfbc", "dim": dim, "basis": basis, "terms": 5 if dim == 1 else 4,
                  "in_features": 2, "widths": [6, 5], "out_features": dim, "head": head}
        model = fnn.build(config).eval()
        n, radius = 40, 0.6
        x = torch.rand(n, dim, generator=g) * 2 - 1
        d = x[None, :, :] - x[:, None, :]  # [i, j]: x_j - x_i
        nbr, valid, q = fnn.padded_neighbours(d, radius)
        f = torch.randn(n, 2, generator=g)
        with torch.no_grad():
            y = model(f, nbr, q, valid)
        i, j = torch.nonzero(valid, as_tuple=True)[0], nbr[valid]
        q = q[valid]
        name = f"{basis}_{dim}d" + ("_dmcf" if head == "dmcf" else "")
        fnn.export(model, config, os.path.join(OUT, "particles", f"{name}.safetensors"))
        save(os.path.join(OUT, "particles", f"{name}.io.safetensors"),
             {"f": f, "i": i.float(), "j": j.float(), "q": q, "y": y}, {})
        print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, {len(i)} pairs")


if __name__ == "__main__":
    torch.use_deterministic_algorithms(True)
    layers()
    models()
    particles()
    print(f"fixtures written to {os.path.normpath(OUT)}")
