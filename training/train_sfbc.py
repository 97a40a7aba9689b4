"""Trains a learned particle solver (SFBC's continuous convolutions, optionally with DMCF's
momentum-conserving head) on `flowscope generate sfbc-1d` or `sfbc-2d`: one network step
advances the fluid by a frame distance of 16 solver steps, trained unrolled (2 steps at first,
up to --unroll), the loss on positions and velocities of every unrolled step.

    training/run train_sfbc.py --data ../target/data/sfbc-1d --basis fourier --export ../public/models/sfbc-1d-fourier.safetensors
    training/run train_sfbc.py --data ../target/data/sfbc-2d --terms 4 --basis fourier --export ../public/models/sfbc-2d-fourier.safetensors
    torchrun --nproc_per_node 2 train_sfbc.py ...     # DistributedDataParallel (gloo, NCCL on GPUs)

1D (the periodic ring): the network sees, per particle, the features [1, u / u_scale] and its
neighbours within `radius` (periodic). 2D (the closed box): fluid and wall particles are nodes
of one graph with the features [fluid, u / u_scale, v / u_scale, wall] — the wall channel's
weights are SFBC's separate convolution over the wall particles — and only the fluid moves.
The network predicts the velocity change over the frame, du / du_scale; positions follow by
the trapezoidal rule, x' = x + dt (u + u') / 2. Checkpoints every --checkpoint-every steps;
--resume continues from the last one.
"""

import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.distributed as dist

import flowscope_data
import flowscope_nn


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", required=True, help="dataset folder(s) (shards allowed)")
    p.add_argument("--basis", default="fourier", choices=flowscope_nn.BASES)
    p.add_argument("--terms", type=int, default=8, help="basis terms per axis (SFBC's 2D models: fewer)")
    p.add_argument("--head", default="sfbc", choices=["sfbc", "dmcf"], help="dmcf: antisymmetric last layer")
    p.add_argument("--widths", default="32,64,64", help="hidden widths (SFBC's default [32, 64, 64, out])")
    p.add_argument("--radius", type=float, default=None,
                   help="support radius of every convolution (1D: 0.02; 2D: the solver kernel's support, 2.6 spacings)")
    p.add_argument("--frame-distance", type=int, default=16,
                   help="solver steps per network step (1D: published steps of 1e-3 s; 2D: a multiple of the data's 16)")
    p.add_argument("--unroll", type=int, default=6, help="largest number of unrolled steps (from 2)")
    p.add_argument("--noise", type=float, default=0.0,
                   help="noise on each sample's start: positions by this many particle spacings, velocities by this many du_scale")
    p.add_argument("--steps", type=int, default=6000, help="optimizer steps (the schedules' length)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (a quick check)")
    p.add_argument("--batch", type=int, default=4, help="samples (whole runs at a start frame) per step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's choice)")
    p.add_argument("--workdir", default=None, help="checkpoint and log folder")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--checkpoint-every", type=int, default=200)
    p.add_argument("--export", default=None, help="write the trained model here (safetensors)")
    p.add_argument("--f16", action="store_true", help="export in f16")
    return p.parse_args()


def wrap(d, length=2.0):
    """Periodic differences on [-1, 1) to their nearest image."""
    return d - length * torch.round(d / length)


def neighbours(x, radius):
    """Padded neighbour lists of particles x [B, N] on the periodic [-1, 1), i itself included,
    flattened over the batch (particle b * N + k): indices [B N, K] and validity [B N, K]."""
    b, n = x.shape
    inside = wrap(x[:, None, :] - x[:, :, None]).abs() < radius  # [B, i, j]
    k = int(inside.sum(-1).max())
    valid, nbr = torch.topk(inside.to(torch.int8), k, dim=-1)
    nbr = nbr + n * torch.arange(b)[:, None, None]
    return nbr.reshape(b * n, k), valid.bool().reshape(b * n, k)


def network_step(model, x, u, extra):
    """One learned step of the 1D gas: positions and velocities [B, N] to the next frame's."""
    b, n = x.shape
    with torch.no_grad():
        nbr, valid = neighbours(x, extra["radius"])
    flat = x.reshape(-1)
    q = (wrap(flat[nbr] - flat[:, None]) / extra["radius"] * valid)[..., None]
    features = torch.stack([torch.ones_like(u), u / extra["u_scale"]], dim=-1).reshape(b * n, 2)
    du = model(features, nbr, q, valid).reshape(b, n) * extra["du_scale"]
    u_next = u + du
    x_next = wrap(x + extra["dt"] * 0.5 * (u + u_next) + 1.0) - 1.0
    return x_next, u_next


class Ring1d:
    """SFBC's test case I: particles x, u [B, N] on the periodic [-1, 1); frames [runs, F, 3, N]
    (x, u, rho)."""

    dataset, dim, in_features = "sfbc-1d", 1, 2

    def __init__(self, args, data):
        options = data.meta["options"]
        frame_dt = float(options["frame_dt"])
        dt = args.frame_distance * 1e-3
        self.stride = round(dt / frame_dt)
        if abs(self.stride * frame_dt - dt) > 1e-9 or self.stride < 1:
            raise SystemExit(f"--frame-distance {args.frame_distance} (dt {dt}) is not a whole number of frames of {frame_dt}")
        self.train = self.frames(data, "train")
        n = self.n = self.train.shape[-1]
        u = self.train[:, :, 1]
        du = u[:, self.stride:] - u[:, :-self.stride]
        self.extra = {
            "dim": 1, "n": n, "radius": args.radius or 0.02, "dt": dt, "frame_distance": args.frame_distance,
            "spacing": 2.0 / n, "u_scale": float(u.std()) or 1.0, "du_scale": float(du.std()) or 1.0,
            "features": ["one", "u / u_scale"], "output": "du / du_scale",
        }
        self.noise_shape = (2, n)

    @staticmethod
    def frames(data, split):
        return torch.from_numpy(np.stack([r["frames"][:, :, 0, :] for r in data.split(split)]))

    def start(self, frames, run, start, noise):
        x, u = frames[run, start, 0], frames[run, start, 1]
        if noise is not None:
            x = wrap(x + noise[:, 0] * self.extra["spacing"] + 1.0) - 1.0
            u = u + noise[:, 1] * self.extra["du_scale"]
        return x, u

    def step(self, model, x, u):
        return network_step(model, x, u, self.extra)

    def error(self, x, u, target):
        extra = self.extra
        return (wrap(x - target[:, 0]) / extra["spacing"]).pow(2).mean() + ((u - target[:, 1]) / extra["u_scale"]).pow(2).mean()


def box_step(model, x, u, wall, extra):
    """One learned step of the 2D box: positions and velocities [B, N, 2] of fluid and wall
    particles (`wall` [N] true for walls) to the next frame's."""
    b, n, _ = x.shape
    with torch.no_grad():
        # Distances by matrix products: ~1e-7 off near the radius, and far cheaper.
        inside = torch.cdist(x, x, compute_mode="use_mm_for_euclid_dist") < extra["radius"]  # [B, i, j]
        batch, i, j = inside.nonzero(as_tuple=True)  # row-major: grouped by (b, i)
        row = batch * n + i
        count = torch.bincount(row, minlength=b * n)
        first = torch.cumsum(count, 0) - count
        k = int(count.max())
        nbr = torch.zeros(b * n, k, dtype=torch.long)
        valid = torch.zeros(b * n, k, dtype=torch.bool)
        slot = torch.arange(row.numel()) - first[row]
        nbr[row, slot] = batch * n + j
        valid[row, slot] = True
    flat = x.reshape(b * n, 2)
    q = (flat[nbr] - flat[:, None, :]) / extra["radius"] * valid[..., None]
    wall = wall.to(x.dtype).expand(b, n)
    features = torch.cat([(1 - wall)[..., None], u / extra["u_scale"], wall[..., None]], dim=-1).reshape(b * n, 4)
    du = model(features, nbr, q, valid).reshape(b, n, 2) * extra["du_scale"]
    u_next = u + du * (1 - wall)[..., None]
    x_next = x + extra["dt"] * 0.5 * (u + u_next)
    return x_next, u_next


class Box2d:
    """SFBC's test case II at our scale: fluid and wall particles x, u [B, N, 2] in a closed
    box; frames [runs, F, 6, N] (x, y, u, v, rho, wall); the walls never move."""

    dataset, dim, in_features = "sfbc-2d", 2, 4

    def __init__(self, args, data):
        if args.frame_distance % 16:
            raise SystemExit(f"--frame-distance {args.frame_distance}: the data's frames are 16 solver steps apart")
        self.stride = args.frame_distance // 16
        self.train = Ring1d.frames(data, "train")
        n = self.train.shape[-1]
        times = data.split("train")[0]["times"]
        across = int(data.meta["options"]["n"])
        self.wall = self.train[0, 0, 5] > 0.5
        fluid = ~self.wall
        u = self.train[:, :, 2:4][..., fluid]
        du = u[:, self.stride:] - u[:, :-self.stride]
        self.extra = {
            "dim": 2, "n": across, "particles": n, "radius": args.radius or 2.6 / across,
            "dt": float(times[self.stride] - times[0]), "frame_distance": args.frame_distance,
            "spacing": 1.0 / across, "u_scale": float(u.std()) or 1.0, "du_scale": float(du.std()) or 1.0,
            "features": ["fluid", "u / u_scale", "v / u_scale", "wall"], "output": "du / du_scale",
        }
        self.noise_shape = (2, n, 2)

    def start(self, frames, run, start, noise):
        x = frames[run, start, 0:2].transpose(1, 2)
        u = frames[run, start, 2:4].transpose(1, 2)
        if noise is not None:
            fluid = (~self.wall)[None, :, None]
            x = x + noise[:, 0] * self.extra["spacing"] * fluid
            u = u + noise[:, 1] * self.extra["du_scale"] * fluid
        return x, u

    def step(self, model, x, u):
        return box_step(model, x, u, self.wall, self.extra)

    def error(self, x, u, target):
        extra, fluid = self.extra, ~self.wall
        dx = (x - target[:, 0:2].transpose(1, 2))[:, fluid] / extra["spacing"]
        du = (u - target[:, 2:4].transpose(1, 2))[:, fluid] / extra["u_scale"]
        return dx.pow(2).sum(-1).mean() + du.pow(2).sum(-1).mean()


def rollout_loss(problem, model, frames, starts, unroll, noise=None):
    """Mean over the unrolled steps of the squared position error (in particle spacings) and
    velocity error (in u_scale). `noise` (in spacings and du_scale) perturbs the start, so that
    the network learns to steer back."""
    run, start = starts[:, 0], starts[:, 1]
    x, u = problem.start(frames, run, start, noise)
    loss = 0.0
    for m in range(1, unroll + 1):
        x, u = problem.step(model, x, u)
        loss = loss + problem.error(x, u, frames[run, start + m * problem.stride])
    return loss / unroll


def unroll_at(args, step):
    """2 unrolled steps at first, one more every equal share of training, up to --unroll."""
    if args.unroll <= 2:
        return args.unroll
    return 2 + (args.unroll - 1) * step // args.steps if step < args.steps else args.unroll


def main():
    args = parse()
    if args.threads:
        torch.set_num_threads(args.threads)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    if args.batch % world:
        raise SystemExit(f"--batch {args.batch} does not split over {world} processes")
    torch.manual_seed(args.seed)

    data = flowscope_data.load(args.data)
    kinds = {"sfbc-1d": Ring1d, "sfbc-2d": Box2d}
    if data.meta["dataset"] not in kinds:
        raise SystemExit(f"{args.data}: a {data.meta['dataset']} dataset, not sfbc-1d or sfbc-2d")
    problem = kinds[data.meta["dataset"]](args, data)
    train, stride = problem.train, problem.stride
    if train.shape[1] <= args.unroll * stride:
        raise SystemExit(f"the runs have {train.shape[1]} frames, too few for {args.unroll} steps of {stride}")
    extra = {"dataset": {"command": data.meta["command"], "options": data.meta["options"]}, **problem.extra,
             "noise": args.noise, "unroll": args.unroll}
    cfg = {
        "family": "sfbc", "dim": problem.dim, "basis": args.basis, "terms": args.terms, "in_features": problem.in_features,
        "widths": [int(w) for w in args.widths.split(",")], "out_features": problem.dim, "head": args.head,
    }
    name = f"{problem.dataset}-{args.basis}" + ("-dmcf" if args.head == "dmcf" else "") + ("-noise" if args.noise else "")
    workdir = args.workdir or os.path.join("..", "target", "training", name)
    os.makedirs(workdir, exist_ok=True)
    model = flowscope_nn.build(cfg)
    params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    step = 0
    checkpoint = os.path.join(workdir, "checkpoint.pt")
    if args.resume and os.path.exists(checkpoint):
        state = torch.load(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = state["step"]
    ddp = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    log_path = os.path.join(workdir, "loss.jsonl")
    if rank == 0:
        print(f"{name}: {params:,} weights, {train.shape[0]} runs of {train.shape[1]} frames, {train.shape[-1]} particles, "
              f"frame stride {stride}, {world} process(es), batch {args.batch}", flush=True)
    started = time.time()

    def save():
        if rank == 0:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "config": cfg, "extra": extra}, checkpoint + ".tmp")
            os.replace(checkpoint + ".tmp", checkpoint)

    while step < (args.max_steps or args.steps):
        unroll = unroll_at(args, step)
        # The step's draws depend on the seed and the step only (a resumed run repeats them);
        # each process takes its share of the global batch, so the curve does not depend on
        # the number of processes.
        g = torch.Generator().manual_seed(args.seed * 1_000_003 + step * 101)
        runs = torch.randint(0, train.shape[0], (args.batch,), generator=g)
        starts = torch.randint(0, train.shape[1] - unroll * stride, (args.batch,), generator=g)
        noise = args.noise * torch.randn(args.batch, *problem.noise_shape, generator=g) if args.noise else None
        local = slice(rank * args.batch // world, (rank + 1) * args.batch // world)
        picked = torch.stack([runs, starts], 1)[local]
        loss = rollout_loss(problem, ddp, train, picked, unroll, None if noise is None else noise[local])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for group in optimizer.param_groups:
            group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        optimizer.step()
        step += 1
        value = loss.detach()
        if distributed:
            dist.all_reduce(value)
            value /= world
        if not math.isfinite(float(value)):
            raise SystemExit(f"step {step}: the loss is {float(value)}; stopping (lower --lr?)")
        if rank == 0:
            with open(log_path, "a") as f:
                f.write(json.dumps({"step": step, "unroll": unroll, "loss": float(value), "wall_s": time.time() - started}) + "\n")
            if step % 50 == 0:
                print(f"step {step}: unroll {unroll}, loss {float(value):.4f} ({time.time() - started:.0f} s)", flush=True)
        if step % args.checkpoint_every == 0:
            save()
    save()
    if rank == 0:
        test = Ring1d.frames(data, "test")
        with torch.no_grad():
            starts = torch.tensor([[r, 0] for r in range(test.shape[0])])
            error = rollout_loss(problem, model, test, starts, min(8, (test.shape[1] - 1) // stride))
        print(f"{name}: held-out loss over 8 steps from the start: {float(error):.4f}", flush=True)
        if args.export:
            flowscope_nn.export(model.cpu(), cfg, args.export, torch.float16 if args.f16 else torch.float32, extra)
            print(f"wrote {args.export}; rewrite the manifest with `flowscope model manifest public/models`")
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
