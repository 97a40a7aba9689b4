"""Trains the airfoil-uncertainty models (Liu & Thuerey, AIAA Journal 62(8), 2024) on a
`flowscope generate airfoil-uncertainty` dataset, and exports them for Flowscope.

    training/run train_airfoil.py --model ddpm --export ../public/models/airfoil-ddpm.safetensors
    training/run train_airfoil.py --model flow-matching --export ../public/models/airfoil-flow-matching.safetensors
    training/run train_airfoil.py --model heteroscedastic --export ../public/models/airfoil-heteroscedastic.safetensors
    torchrun --nproc_per_node=2 train_airfoil.py …      # the same run on 2 processes (DDP)

Every model is the paper's UNet (16 base channels, multipliers 1 2 4 4, attention at the two
coarsest levels) on [u∞x, u∞y, mask] → [p, ux, uy] at 32 × 32, normalised as in the paper: p by
u², velocities by u (p's mean is already removed in the data), then each channel divided by its
largest magnitude over the training set; the free stream (body frame: u cos α, u sin α) divided by
the largest training speed. The solver's snapshots at one condition are the samples of the
distribution to learn.
- ddpm: ε-prediction, 200 steps, cosine schedule (s = 0.008); the UNet's time input is the step.
- flow-matching: x_τ = (1 − τ) x + τ ε, the UNet predicts v = ε − x at time input 200 τ; sampled
  by Euler steps from τ = 1 to 0.
- heteroscedastic: one pass, 6 outputs (mean and log σ² per channel), Gaussian negative log
  likelihood; its samples are draws from that Gaussian.

Scale-out as in train_acdm.py: the global batch splits over the processes, every random number of
a sample comes from a generator keyed by (seed, step, sample), gloo on CPUs, NCCL on GPUs;
checkpoints in --workdir, --resume continues. The learning rate decays by a cosine to 1/20 over
--steps.
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

DIFFUSION_STEPS = 200
COSINE_S = 0.008
FLOW_TIME_SCALE = 200.0
TARGETS = ["p", "ux", "uy"]


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", default=["../target/data/airfoil-uncertainty"], help="dataset folder(s) (shards)")
    p.add_argument("--model", choices=["ddpm", "flow-matching", "heteroscedastic"], default="ddpm")
    p.add_argument("--base", type=int, default=16)
    p.add_argument("--mults", default="1,2,4,4")
    p.add_argument("--attention", default="2,3")
    p.add_argument("--steps", type=int, default=8000, help="optimizer steps (about 0.12 s each on two CPU cores)")
    p.add_argument("--batch", type=int, default=25, help="global batch, split over the processes")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default=None, help="checkpoints and the loss log (default ../target/training/airfoil-<model>)")
    p.add_argument("--resume", action="store_true", help="continue from the workdir's checkpoint")
    p.add_argument("--checkpoint-every", type=int, default=200, help="optimizer steps between checkpoints")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps (the schedule still spans --steps)")
    p.add_argument("--export", default=None, help="safetensors file to write at the end (f16 unless --f32)")
    p.add_argument("--f32", action="store_true")
    p.add_argument("--threads", type=int, default=None, help="torch threads per process")
    return p.parse_args()


def cosine_alpha_bars():
    f = lambda t: math.cos((t / DIFFUSION_STEPS + COSINE_S) / (1 + COSINE_S) * math.pi / 2) ** 2
    betas = [min(1 - f(k + 1) / f(k), 0.999) for k in range(DIFFUSION_STEPS)]
    return torch.tensor(np.cumprod([1 - b for b in betas]), dtype=torch.float32)


def normalisation(data: flowscope_data.Dataset) -> dict:
    """The paper's scaling, from the training runs: targets by u² (p) and u, then by the largest
    magnitude per channel; the free stream by the largest training speed."""
    train = data.split("train")
    largest = [0.0, 0.0, 0.0]
    for run in train:
        u = run["condition"][2]
        scaled = run["frames"][:, :3] / np.array([u * u, u, u], dtype=np.float32)[None, :, None, None]
        largest = [max(m, float(np.abs(scaled[:, c]).max())) for c, m in enumerate(largest)]
    return {
        "targets": TARGETS,
        "divide_by_speed_power": [2, 1, 1],
        "target_scale": largest,
        "speed_scale": max(r["condition"][2] for r in train),
        "inputs": ["u_x / speed_scale (body frame, u cos α)", "u_y / speed_scale (u sin α)", "mask"],
    }


def inputs_of(condition, mask, norm) -> np.ndarray:
    """[u∞x, u∞y, mask] of a condition, normalised."""
    alpha, u = math.radians(condition[1]), condition[2]
    s = norm["speed_scale"]
    planes = [np.full_like(mask, u * math.cos(alpha) / s), np.full_like(mask, u * math.sin(alpha) / s), mask]
    return np.stack(planes).astype(np.float32)


class Snapshots(torch.utils.data.Dataset):
    """(inputs, normalised targets) of every snapshot of the training runs."""

    def __init__(self, data: flowscope_data.Dataset, norm: dict, split="train"):
        self.items = []
        for run in data.split(split):
            u = run["condition"][2]
            scale = np.array([u * u * norm["target_scale"][0], u * norm["target_scale"][1], u * norm["target_scale"][2]], dtype=np.float32)
            cond = torch.from_numpy(inputs_of(run["condition"], run["frames"][0, 3], norm))
            for frame in run["frames"]:
                self.items.append((cond, torch.from_numpy(frame[:3] / scale[:, None, None])))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        cond, target = self.items[i]
        return cond, target, i


def config(args) -> dict:
    return {
        "family": "unet",
        "in_channels": 3,
        # The heteroscedastic UNet's input is the condition itself.
        "cond_channels": 0 if args.model == "heteroscedastic" else 3,
        "out_channels": 6 if args.model == "heteroscedastic" else 3,
        "base": args.base,
        "mults": [int(m) for m in args.mults.split(",")],
        "attention": [int(a) for a in args.attention.split(",") if a.strip()],
    }


def draws(seed: int, step: int, index: torch.Tensor, shape):
    """τ ∈ [0, 1) and ε of each sample, from a generator keyed by (seed, step, sample)."""
    taus, eps = [], []
    for i in index.tolist():
        g = torch.Generator().manual_seed(((seed * 1_000_003 + step) * 1_000_033 + i) % (2**63))
        taus.append(float(torch.rand((), generator=g)))
        eps.append(torch.randn(shape, generator=g))
    return torch.tensor(taus), torch.stack(eps)


def loss_of(model, args, bars, cond, x, index, step):
    b = x.shape[0]
    if args.model == "heteroscedastic":
        out = model(cond, torch.zeros(b, device=x.device))
        mean, log_var = out[:, :3], out[:, 3:].clamp(-20.0, 10.0)
        return 0.5 * (log_var + (x - mean) ** 2 * torch.exp(-log_var)).mean()
    tau, eps = draws(args.seed, step, index, x.shape[1:])
    tau, eps = tau.to(x.device), eps.to(x.device)
    if args.model == "ddpm":
        t = (tau * DIFFUSION_STEPS).long().clamp(max=DIFFUSION_STEPS - 1)
        a = bars[t].view(-1, 1, 1, 1)
        xt = a.sqrt() * x + (1 - a).sqrt() * eps
        return torch.nn.functional.mse_loss(model(xt, t.float(), cond), eps)
    tt = tau.view(-1, 1, 1, 1)
    xt = (1 - tt) * x + tt * eps
    return torch.nn.functional.mse_loss(model(xt, tau * FLOW_TIME_SCALE, cond), eps - x)


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
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    workdir = args.workdir or os.path.join("..", "target", "training", f"airfoil-{args.model}")
    os.makedirs(workdir, exist_ok=True)

    data = flowscope_data.load(args.data)
    if data.meta["dataset"] != "airfoil-uncertainty":
        raise SystemExit(f"{args.data[0]} holds '{data.meta['dataset']}', not an airfoil-uncertainty dataset")
    norm = normalisation(data)
    snapshots = Snapshots(data, norm)
    cfg = config(args)
    extra = {
        "model": args.model,
        "normalisation": norm,
        "dataset": {"command": data.meta["command"], "options": data.meta["options"], "channels": TARGETS, "conditions": data.meta["conditions"],
                    "train": [r["condition"] for r in data.split("train")], "test": [r["condition"] for r in data.split("test")]},
    }
    if args.model == "ddpm":
        extra["diffusion"] = {"steps": DIFFUSION_STEPS, "schedule": {"kind": "cosine", "s": COSINE_S}, "prediction": "epsilon"}
    elif args.model == "flow-matching":
        extra["flow_matching"] = {"path": "x_tau = (1 - tau) x + tau eps", "prediction": "eps - x", "time_scale": FLOW_TIME_SCALE}
    else:
        extra["heteroscedastic"] = {"outputs": "mean (3 channels), then log variance (3 channels)"}
    model = flowscope_nn.build(cfg).to(device)
    params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps)))
    step = 0
    checkpoint = os.path.join(workdir, "checkpoint.pt")
    if args.resume and os.path.exists(checkpoint):
        state = torch.load(checkpoint, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
    ddp = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    sampler = torch.utils.data.DistributedSampler(snapshots, num_replicas=world, rank=rank, shuffle=True, seed=args.seed, drop_last=True)
    loader = torch.utils.data.DataLoader(snapshots, batch_size=args.batch // world, sampler=sampler, drop_last=True)
    bars = cosine_alpha_bars().to(device)
    log_path = os.path.join(workdir, "loss.jsonl")
    if rank == 0:
        print(f"airfoil {args.model}: {params:,} weights, {len(snapshots)} training snapshots, {world} process(es), "
              f"global batch {args.batch}, {args.steps} steps ({len(loader)} per epoch)", flush=True)
    started = time.time()

    def save():
        if rank == 0:
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(), "step": step, "config": cfg, "extra": extra}
            torch.save(state, checkpoint + ".tmp")
            os.replace(checkpoint + ".tmp", checkpoint)

    last = args.steps if args.max_steps is None else min(args.steps, args.max_steps)
    while step < last:
        epoch, skip = divmod(step, len(loader))
        sampler.set_epoch(epoch)
        for k, (cond, x, index) in enumerate(loader):
            if k < skip:
                continue
            loss = loss_of(ddp, args, bars, cond.to(device), x.to(device), index, step)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            value = loss.detach()
            if distributed:
                dist.all_reduce(value)
                value /= world
            if not math.isfinite(float(value)):
                raise SystemExit(f"step {step}: the loss is {float(value)}; stopping (lower --lr?)")
            if rank == 0:
                with open(log_path, "a") as f:
                    f.write(json.dumps({"step": step, "loss": float(value), "lr": schedule.get_last_lr()[0], "wall_s": time.time() - started}) + "\n")
                if step % 50 == 0:
                    print(f"step {step}/{args.steps}: loss {float(value):.5f} ({time.time() - started:.0f} s)", flush=True)
            if step % args.checkpoint_every == 0:
                save()
            if step >= last:
                break
    save()
    if rank == 0 and args.export:
        flowscope_nn.export(model.cpu(), cfg, args.export, torch.float32 if args.f32 else torch.float16, extra)
        print(f"wrote {args.export}; rewrite the manifest with `flowscope model manifest public/models`")
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
