"""Trains ACDM (autoregressive conditional diffusion, Kohl et al. 2023) or its deterministic UNet
baseline on a `flowscope generate acdm-wake` dataset, and exports it for Flowscope.

    training/run train_acdm.py --data target/data/acdm-wake --model acdm
    torchrun --nproc_per_node=2 train_acdm.py …      # the same run on 2 processes (DDP)

ACDM: a UNet predicts the noise ε of the next state x₁ given the previous state x₀ and Re. 20
diffusion steps, linear β from 0.0025 to 0.5; the condition x₀ is itself noised to the same
step (q(x₀,t | x₀)) as in the paper, Re enters as a constant plane; ε-MSE on single steps. The
baseline ("unet") is the same UNet mapping x₀ and Re to x₁ directly (one-step MSE).

Scale-out: under torchrun the global batch (--batch) is split over the processes, each draws
its own samples from one permutation, and every random number of a sample (t, ε) comes from a
generator keyed by (seed, epoch, sample), so the loss curve does not depend on the process
count (to float reordering). gloo on CPUs, NCCL on GPUs. Checkpoints every --checkpoint-every
steps and at the end of each epoch in --workdir; --resume continues from the last one.
"""

import argparse
import json
import math
import os
import time

import torch
import torch.distributed as dist
from torch.nn import functional as F

import flowscope_data
import flowscope_nn

STEPS = 20
BETAS = (0.0025, 0.5)


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", default=["../target/data/acdm-wake"], help="dataset folder(s) (shards)")
    p.add_argument("--model", choices=["acdm", "unet"], default="acdm")
    p.add_argument("--base", type=int, default=24, help="UNet base channels")
    p.add_argument("--mults", default="1,2,4", help="channel multipliers per level")
    p.add_argument("--attention", default="2", help="levels with attention (comma list, may be empty)")
    p.add_argument("--epochs", type=int, default=8, help="about 3.5 min each on two CPU cores at the defaults")
    p.add_argument("--batch", type=int, default=32, help="global batch, split over the processes")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default=None, help="checkpoints and the loss log (default ../target/training/<model>)")
    p.add_argument("--resume", action="store_true", help="continue from the workdir's checkpoint")
    p.add_argument("--checkpoint-every", type=int, default=200, help="optimizer steps between checkpoints")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    p.add_argument("--export", default=None, help="safetensors file to write at the end (f16 unless --f32)")
    p.add_argument("--f32", action="store_true")
    p.add_argument("--threads", type=int, default=None, help="torch threads per process")
    return p.parse_args()


def alpha_bars():
    betas = torch.tensor([BETAS[0] + (BETAS[1] - BETAS[0]) * k / (STEPS - 1) for k in range(STEPS)], dtype=torch.float64)
    return torch.cumprod(1.0 - betas, 0).float()


class Pairs(torch.utils.data.Dataset):
    """(x₀, x₁, Re) of consecutive stored frames of the training runs, normalised."""

    def __init__(self, data: flowscope_data.Dataset, split="train"):
        mean = torch.tensor(data.stats["channels"]["mean"]).view(1, -1, 1, 1)
        std = torch.tensor(data.stats["channels"]["std"]).view(1, -1, 1, 1)
        cm, cs = data.stats["conditions"]["mean"][0], data.stats["conditions"]["std"][0]
        self.runs = [((torch.from_numpy(r["frames"]) - mean) / std, (r["condition"][0] - cm) / max(cs, 1e-12)) for r in data.split(split)]
        self.index = [(k, f) for k, (frames, _) in enumerate(self.runs) for f in range(frames.shape[0] - 1)]

    def __len__(self):
        return len(self.index)

    def __getitem__(self, i):
        run, frame = self.index[i]
        frames, re = self.runs[run]
        return frames[frame], frames[frame + 1], torch.tensor(re, dtype=torch.float32), i


def config(args, channels: int) -> dict:
    mults = [int(m) for m in args.mults.split(",")]
    attention = [int(a) for a in args.attention.split(",") if a.strip()]
    common = {"family": "unet", "out_channels": channels, "base": args.base, "mults": mults, "attention": attention}
    if args.model == "acdm":
        # x_t in, the noised previous state and Re as conditioning.
        return {**common, "in_channels": channels, "cond_channels": channels + 1}
    return {**common, "in_channels": channels, "cond_channels": 1}


def sample_noise(seed: int, epoch: int, index: torch.Tensor, shape):
    """t and the two noises of each sample, from a generator keyed by (seed, epoch, sample)."""
    ts, eps, eps_cond = [], [], []
    for i in index.tolist():
        g = torch.Generator().manual_seed(((seed * 1_000_003 + epoch) * 1_000_033 + i) % (2**63))
        ts.append(int(torch.randint(0, STEPS, (1,), generator=g)))
        eps.append(torch.randn(shape, generator=g))
        eps_cond.append(torch.randn(shape, generator=g))
    return torch.tensor(ts), torch.stack(eps), torch.stack(eps_cond)


def loss_of(model, args, bars, x0, x1, re, index, epoch):
    plane = re.view(-1, 1, 1, 1).expand(-1, 1, *x0.shape[2:])
    if args.model == "unet":
        pred = model(x0, torch.zeros(x0.shape[0]), plane)
        return F.mse_loss(pred, x1)
    t, eps, eps_cond = sample_noise(args.seed, epoch, index, x1.shape[1:])
    a = bars[t].view(-1, 1, 1, 1)
    xt = a.sqrt() * x1 + (1 - a).sqrt() * eps
    cond = torch.cat([a.sqrt() * x0 + (1 - a).sqrt() * eps_cond, plane], dim=1)
    return F.mse_loss(model(xt, t.float(), cond), eps)


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
    workdir = args.workdir or os.path.join("..", "target", "training", args.model)
    os.makedirs(workdir, exist_ok=True)

    data = flowscope_data.load(args.data)
    pairs = Pairs(data)
    cfg = config(args, len(data.channels))
    extra = {
        "model": args.model,
        "normalisation": data.stats,
        "dataset": {"command": data.meta["command"], "options": data.meta["options"], "channels": data.channels, "conditions": data.meta["conditions"]},
    }
    if args.model == "acdm":
        extra["diffusion"] = {"steps": STEPS, "schedule": {"kind": "linear", "start": BETAS[0], "end": BETAS[1]}, "condition": "noised to the step"}
    model = flowscope_nn.build(cfg).to(device)
    params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, epoch = 0, 0
    checkpoint = os.path.join(workdir, "checkpoint.pt")
    if args.resume and os.path.exists(checkpoint):
        state = torch.load(checkpoint, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, epoch = state["step"], state["epoch"]
    ddp = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    sampler = torch.utils.data.DistributedSampler(pairs, num_replicas=world, rank=rank, shuffle=True, seed=args.seed, drop_last=True)
    loader = torch.utils.data.DataLoader(pairs, batch_size=args.batch // world, sampler=sampler, drop_last=True)
    bars = alpha_bars()
    log_path = os.path.join(workdir, "loss.jsonl")
    if rank == 0:
        print(f"{args.model}: {params:,} weights, {len(pairs)} training pairs, {world} process(es), "
              f"global batch {args.batch}, {len(loader)} steps per epoch", flush=True)
    started = time.time()

    def save():
        if rank == 0:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "epoch": epoch, "config": cfg, "extra": extra}, checkpoint + ".tmp")
            os.replace(checkpoint + ".tmp", checkpoint)

    done = False
    while epoch < args.epochs and not done:
        sampler.set_epoch(epoch)
        skip = step - epoch * len(loader)  # batches of this epoch already done before a resume
        for k, (x0, x1, re, index) in enumerate(loader):
            if k < skip:
                continue
            loss = loss_of(ddp, args, bars.to(device), x0.to(device), x1.to(device), re.to(device), index, epoch)
            optimizer.zero_grad()
            loss.backward()
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
                    f.write(json.dumps({"step": step, "epoch": epoch, "loss": float(value), "wall_s": time.time() - started}) + "\n")
                if step % 20 == 0:
                    print(f"epoch {epoch} step {step}: loss {float(value):.5f} ({time.time() - started:.0f} s)", flush=True)
            if step % args.checkpoint_every == 0:
                save()
            if args.max_steps and step >= args.max_steps:
                done = True
                break
        else:
            epoch += 1
            save()
    save()
    if rank == 0 and args.export:
        flowscope_nn.export(model.cpu(), cfg, args.export, torch.float32 if args.f32 else torch.float16, extra)
        print(f"wrote {args.export}; rewrite the manifest with `flowscope model manifest public/models`")
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
