"""Flowscope's network families in PyTorch, defined once for training and export.

The parameter names here are the names `crates/flowscope-nn` reads from a safetensors file, so a
checkpoint exports without renaming (`export`). Each family is built from a JSON config, which
travels in the file's metadata under "config".
"""

import json
import math

import torch
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {
    "relu": nn.ReLU,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}


def sinusoidal_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """[sin(t f_k), cos(t f_k)] with f_k = 10000^(-k / (dim/2)), k < dim/2 (t: shape [batch])."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class Mlp(nn.Module):
    """Linear layers with an activation between them (none after the last)."""

    def __init__(self, widths, activation="relu"):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.act = ACTIVATIONS[activation]()

    def forward(self, x):
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k + 1 < len(self.layers):
                x = self.act(x)
        return x


class ResCnn(nn.Module):
    """Residual CNN for learned corrections: conv in, residual blocks of two convolutions (one
    dilation per block), conv out; one padding mode throughout (zeros, replicate, circular)."""

    def __init__(self, in_channels, out_channels, width, dilations, kernel=3, padding_mode="zeros", activation="relu"):
        super().__init__()
        pad = kernel // 2
        conv = lambda a, b, d=1: nn.Conv2d(a, b, kernel, padding=pad * d, dilation=d, padding_mode=padding_mode)
        self.conv_in = conv(in_channels, width)
        self.blocks = nn.ModuleList(
            nn.ModuleDict({"conv1": conv(width, width, d), "conv2": conv(width, width, d)}) for d in dilations
        )
        self.conv_out = conv(width, out_channels)
        self.act = ACTIVATIONS[activation]()

    def forward(self, x):
        x = self.act(self.conv_in(x))
        for block in self.blocks:
            x = x + block["conv2"](self.act(block["conv1"](x)))
        return self.conv_out(x)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, time_dim, groups, padding_mode="zeros"):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, padding_mode=padding_mode)
        self.time = nn.Linear(time_dim, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, padding_mode=padding_mode)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class Attention(nn.Module):
    """Multi-head self-attention over the pixels of a (low-resolution) feature map, residual."""

    def __init__(self, channels, heads, groups):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        scores = torch.einsum("bhdi,bhdj->bhij", q, k) / math.sqrt(c // self.heads)
        y = torch.einsum("bhij,bhdj->bhdi", scores.softmax(dim=-1), v).reshape(b, c, h, w)
        return x + self.out(y)


class Upsample(nn.Module):
    def __init__(self, cin, cout, mode, padding_mode="zeros"):
        super().__init__()
        self.mode = mode
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, padding_mode=padding_mode)

    def forward(self, x):
        if self.mode == "nearest":
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        else:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return self.conv(x)


class UNet(nn.Module):
    """The diffusion models' UNet: noise-level embedding, conditioning channels concatenated to
    the input, one residual block per level with optional attention, skip connections. Every
    3 × 3 convolution pads with `padding_mode` ("circular" for periodic boxes)."""

    def __init__(self, in_channels, out_channels, cond_channels, base, mults, attention, heads=4, groups=8, upsample="nearest", padding_mode="zeros"):
        super().__init__()
        self.base = base
        chans = [base * m for m in mults]
        tdim = 4 * base
        self.time_in = nn.Linear(base, tdim)
        self.time_out = nn.Linear(tdim, tdim)
        pm = padding_mode
        self.init = nn.Conv2d(in_channels + cond_channels, base, 3, padding=1, padding_mode=pm)
        self.downs = nn.ModuleList()
        prev = base
        for i, c in enumerate(chans):
            level = nn.ModuleDict({"res": ResBlock(prev, c, tdim, groups, pm)})
            if i in attention:
                level["attn"] = Attention(c, heads, groups)
            if i + 1 < len(chans):
                level["down"] = nn.Conv2d(c, c, 3, stride=2, padding=1, padding_mode=pm)
            self.downs.append(level)
            prev = c
        self.mid1 = ResBlock(prev, prev, tdim, groups, pm)
        self.mid_attn = Attention(prev, heads, groups)
        self.mid2 = ResBlock(prev, prev, tdim, groups, pm)
        self.ups = nn.ModuleList()
        for i in reversed(range(len(chans))):
            c = chans[i]
            level = nn.ModuleDict({"res": ResBlock(2 * c, c, tdim, groups, pm)})
            if i in attention:
                level["attn"] = Attention(c, heads, groups)
            if i > 0:
                level["up"] = Upsample(c, chans[i - 1], upsample, pm)
            self.ups.append(level)
        self.out_norm = nn.GroupNorm(groups, base)
        self.out_conv = nn.Conv2d(base, out_channels, 3, padding=1, padding_mode=pm)

    def forward(self, x, t, cond=None):
        temb = self.time_out(F.gelu(self.time_in(sinusoidal_embedding(t, self.base))))
        if cond is not None:
            x = torch.cat([x, cond], dim=1)
        x = self.init(x)
        skips = []
        for level in self.downs:
            x = level["res"](x, temb)
            if "attn" in level:
                x = level["attn"](x)
            skips.append(x)
            if "down" in level:
                x = level["down"](x)
        x = self.mid2(self.mid_attn(self.mid1(x, temb)), temb)
        for level in self.ups:
            x = level["res"](torch.cat([x, skips.pop()], dim=1), temb)
            if "attn" in level:
                x = level["attn"](x)
            if "up" in level:
                x = level["up"](x)
        return self.out_conv(F.silu(self.out_norm(x)))


BASES = ("fourier", "fourier-even", "fourier-odd", "linear", "chebyshev")


def basis_1d(name: str, q: torch.Tensor, terms: int) -> torch.Tensor:
    """SFBC's 1D bases at normalised offsets q in [-1, 1]: [..., terms]. Fourier: 1/sqrt(2 pi),
    cos(pi q)/sqrt(pi), sin(pi q)/sqrt(pi), cos(2 pi q)/sqrt(pi), ...; its even (cosine) and odd
    (sine) halves; linear hats on `terms` nodes over [-1, 1] (CConv); Chebyshev T_0 ... T_{terms-1}."""
    if name in ("fourier", "fourier-even", "fourier-odd"):
        out = []
        k = 1
        if name != "fourier-odd":
            out.append(torch.full_like(q, 1.0 / math.sqrt(2 * math.pi)))
        while len(out) < terms:
            if name != "fourier-odd":
                out.append(torch.cos(k * math.pi * q) / math.sqrt(math.pi))
            if name != "fourier-even" and len(out) < terms:
                out.append(torch.sin(k * math.pi * q) / math.sqrt(math.pi))
            k += 1
        return torch.stack(out[:terms], dim=-1)
    if name == "linear":
        nodes = torch.linspace(-1.0, 1.0, terms, dtype=q.dtype)
        return torch.clamp(1.0 - (q[..., None] - nodes).abs() * (terms - 1) / 2.0, min=0.0)
    if name == "chebyshev":
        out = [torch.ones_like(q), q]
        while len(out) < terms:
            out.append(2.0 * q * out[-1] - out[-2])
        return torch.stack(out[:terms], dim=-1)
    raise ValueError(f"unknown basis {name!r}; known: {', '.join(BASES)}")


def filter_basis(name: str, q: torch.Tensor, terms: int) -> torch.Tensor:
    """The separable filter's basis at offsets q [E, dim]: [E, terms^dim], the first axis's term
    slowest (index u * terms + v in 2D)."""
    b = basis_1d(name, q[:, 0], terms)
    for axis in range(1, q.shape[1]):
        b = (b[:, :, None] * basis_1d(name, q[:, axis], terms)[:, None, :]).reshape(q.shape[0], -1)
    return b


class ParticleConv(nn.Module):
    """Continuous convolution over particle neighbourhoods (SFBC): out_i = sum_j f_j g(q_ij) +
    f_i S + b, q_ij = (x_j - x_i) / radius over the neighbours j within the radius (i itself
    included), g a separable sum of 1D bases with weights [terms^dim, C_in, C_out].
    Antisymmetric (DMCF): out_i = sum_j (f_i + f_j) (g(q_ij) - g(-q_ij)), no self term or bias, so
    the outputs sum to zero over the particles.

    Neighbours come padded: `nbr` [N, K] (padding: any index), the basis `b` [N, K, T] already
    zero on padding (from `ParticleNet.bases`)."""

    def __init__(self, basis, terms, dim, cin, cout, antisymmetric=False):
        super().__init__()
        self.antisymmetric = antisymmetric
        count = terms ** dim
        self.weight = nn.Parameter(torch.randn(count, cin, cout) / math.sqrt(count * cin))
        if not antisymmetric:
            self.linear = nn.Linear(cin, cout)

    def forward(self, f, nbr, b):
        message = f[nbr]  # [N, K, C_in]
        if self.antisymmetric:
            message = message + f[:, None, :]
        gathered = torch.bmm(b.transpose(1, 2), message)  # [N, T, C_in]
        out = gathered.reshape(f.shape[0], -1) @ self.weight.reshape(-1, self.weight.shape[2])
        if not self.antisymmetric:
            out = out + self.linear(f)
        return out


class ParticleNet(nn.Module):
    """SFBC's network: continuous convolutions of widths [..., out] with ReLU between them; the
    last one antisymmetric (DMCF) with head "dmcf"."""

    def __init__(self, dim, basis, terms, in_features, widths, out_features, head="sfbc"):
        super().__init__()
        self.basis, self.terms, self.head = basis, terms, head
        sizes = [in_features, *widths, out_features]
        self.convs = nn.ModuleList(
            ParticleConv(basis, terms, dim, a, b, antisymmetric=(head == "dmcf" and k == len(sizes) - 2))
            for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
        )

    def bases(self, q, valid):
        """The filter basis at the offsets q [N, K, dim], zero where `valid` [N, K] is not, and
        its antisymmetric part b(q) - b(-q) for a DMCF head: two [N, K, T] (or None)."""
        n, k, dim = q.shape
        flat = q.reshape(-1, dim)
        mask = valid[..., None].to(q.dtype)
        b = filter_basis(self.basis, flat, self.terms).reshape(n, k, -1) * mask
        odd = None
        if self.head == "dmcf":
            odd = (filter_basis(self.basis, flat, self.terms) - filter_basis(self.basis, -flat, self.terms)).reshape(n, k, -1) * mask
        return b, odd

    def forward(self, f, nbr, q, valid):
        """Features f [N, C_in] of particles with neighbours `nbr` [N, K] at offsets q [N, K, dim]
        (entries where `valid` [N, K] is false are padding)."""
        b, odd = self.bases(q, valid)
        for k, conv in enumerate(self.convs):
            f = conv(f, nbr, odd if conv.antisymmetric else b)
            if k + 1 < len(self.convs):
                f = torch.relu(f)
        return f


def padded_neighbours(d, radius):
    """Neighbour lists from offsets d [N, N, dim] (d[i, j] = x_j - x_i, nearest images): the
    indices [N, K] of the j with |d| < radius (i itself included), padded to the largest count K,
    a validity mask [N, K] and the normalised offsets q [N, K, dim]."""
    inside = d.norm(dim=-1) < radius
    k = int(inside.sum(-1).max())
    valid, nbr = torch.topk(inside.to(torch.int8), k, dim=-1, sorted=True)
    valid = valid.bool()
    q = torch.gather(d, 1, nbr[..., None].expand(-1, -1, d.shape[-1])) / radius
    return nbr, valid, q * valid[..., None]


def build(config: dict) -> nn.Module:
    """A model from its config (the JSON stored in the safetensors metadata)."""
    family = config["family"]
    if family == "mlp":
        return Mlp(config["widths"], config.get("activation", "relu"))
    if family == "rescnn":
        return ResCnn(
            config["in_channels"], config["out_channels"], config["width"], config["dilations"],
            config.get("kernel", 3), config.get("padding_mode", "zeros"), config.get("activation", "relu"),
        )
    if family == "unet":
        return UNet(
            config["in_channels"], config["out_channels"], config.get("cond_channels", 0), config["base"],
            config["mults"], config.get("attention", []), config.get("heads", 4), config.get("groups", 8),
            config.get("upsample", "nearest"), config.get("padding_mode", "zeros"),
        )
    if family == "sfbc":
        return ParticleNet(
            config["dim"], config["basis"], config["terms"], config["in_features"], config["widths"],
            config["out_features"], config.get("head", "sfbc"),
        )
    raise ValueError(f"unknown family {family!r}")


def export(model: nn.Module, config: dict, path: str, dtype=torch.float32, extra: dict = None) -> None:
    """Writes the weights as safetensors with the config in the metadata; `extra` (what a case
    needs besides the network: diffusion schedule, normalisation, …) goes under "extra"."""
    import os

    from safetensors.torch import save_file

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tensors = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
    metadata = {"config": json.dumps(config), "format": "flowscope-nn/1"}
    if extra is not None:
        metadata["extra"] = json.dumps(extra)
    save_file(tensors, path, metadata=metadata)
