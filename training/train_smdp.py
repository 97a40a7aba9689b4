"""Trains the learned score of SMDP (score matching through differentiable physics, Holzschuh,
Vegetti, Thuerey 2023) for its toy SDE on a `flowscope generate smdp-toy` dataset, and exports it
for Flowscope.

    training/run train_smdp.py --data ../target/data/smdp-toy --export ../public/models/smdp-toy.safetensors
    torchrun --nproc_per_node=2 train_smdp.py …      # the same run on 2 processes (DDP)

The toy: dx = P(x) dt + g dW, P(x) = −λ·sign(x)·x². The network f (an MLP
[2, 30, 30, 25, 20, 10, 1], ELU, input [u, ln t] with u = x (1 + λt), which keeps the two modes
near ±1 as they drift in) gives c_θ = 2P(x) + ½[f(u, t) − f(−u, t)]: odd
in x as the toy's score is, and the stationary score (g² ∇ log p = 2P once the starts are
forgotten) where the data are thin, so that a particle in the tails is drawn back rather than
run away by the inverse physics. c_θ is the score scaled by g², c_θ ≈ g² ∇ log p_t:
what the physics stepped back, x − Δt P(x), lacks. Training rolls the data backwards through
the physics, x_{t−Δt} = x_t − Δt [P(x_t) − c_θ(x_t, t)], from a data state over a window of
steps and compares each step with the data; a one-step window is score matching (the update's
mean is the reverse SDE's), longer windows train the rollout. The loss is in units of one step's
noise, g √Δt. Inference (Rust, flowscope_nn::smdp): the reverse SDE x ← x − Δt[P − c_θ] + g √Δt z
and the probability-flow ODE x ← x − Δt[P − ½ c_θ].

Scale-out as in train_acdm.py: the global batch splits over the processes, every random number
of a sample comes from a generator keyed by (seed, epoch, sample), gloo on CPUs, NCCL on GPUs;
checkpoints in --workdir, --resume continues.
"""

import argparse
import json
import math
import os
import time

import torch
import torch.distributed as dist

import flowscope_data
import flowscope_nn

WIDTHS = [2, 30, 30, 25, 20, 10, 1]


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", default=["../target/data/smdp-toy"], help="dataset folder(s) (shards)")
    p.add_argument("--epochs", type=int, default=6, help="passes over every (trajectory, start step)")
    p.add_argument("--window", type=int, default=1, help="backward steps per sample at the last epoch (1: score matching)")
    p.add_argument("--batch", type=int, default=512, help="global batch, split over the processes")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default=None, help="checkpoints and the loss log (default ../target/training/smdp-toy)")
    p.add_argument("--resume", action="store_true", help="continue from the workdir's checkpoint")
    p.add_argument("--checkpoint-every", type=int, default=500, help="optimizer steps between checkpoints")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    p.add_argument("--export", default=None, help="safetensors file to write at the end (f32: the network is tiny)")
    p.add_argument("--threads", type=int, default=None, help="torch threads per process")
    return p.parse_args()


class Starts(torch.utils.data.Dataset):
    """(trajectory, step) pairs of the training runs whose window fits: a sample rolls back from
    step `step` of one trajectory."""

    def __init__(self, data: flowscope_data.Dataset, window: int):
        # Runs are [steps + 1, 1, 1, trajectories]: one array [trajectories, steps + 1].
        self.paths = torch.cat([torch.from_numpy(r["frames"][:, 0, 0, :]).T.contiguous() for r in data.split("train")])
        self.window = window
        steps = self.paths.shape[1] - 1
        self.count = steps - window + 1

    def __len__(self):
        return self.paths.shape[0] * self.count

    def __getitem__(self, i):
        path, offset = divmod(i, self.count)
        step = offset + self.window
        return self.paths[path, step - self.window: step + 1], torch.tensor(step)


def odd_part(model, x, t, lam):
    """½[f(u, ln t) − f(−u, ln t)] with u = x (1 + λt): the toy is symmetric under x → −x (P is
    odd, the starts ±1 equally likely), so its score is odd in x, exactly, whatever the network
    learns; u carries x along the deterministic flow x0 / (1 + λ t x0) so that the two modes sit
    near u = ±1 at every t."""
    u, log_t = x * (1 + lam * t), torch.log(t)
    both = model(torch.stack([torch.cat([u, -u]), torch.cat([log_t, log_t])], dim=1))[:, 0]
    plus, minus = both.chunk(2)
    return 0.5 * (plus - minus)


def rollout_loss(model, paths, steps, sde, window):
    """Rolls each path's state at `steps` back `window` steps; the mean squared misfit per step,
    in units of a step's noise."""
    x = paths[:, -1]
    loss = 0.0
    for k in range(window):
        t = (steps - k).float() * sde["dt"]
        drift = -sde["lambda"] * torch.sign(x) * x * x
        c = 2 * drift + odd_part(model, x, t, sde["lambda"])
        x = x - sde["dt"] * (drift - c)
        loss = loss + ((x - paths[:, -2 - k]) ** 2).mean()
    return loss / (window * sde["g"] ** 2 * sde["dt"])


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
    if args.window < 1:
        raise SystemExit("--window must be at least 1")
    torch.manual_seed(args.seed)
    workdir = args.workdir or os.path.join("..", "target", "training", "smdp-toy")
    os.makedirs(workdir, exist_ok=True)

    data = flowscope_data.load(args.data)
    if data.meta["dataset"] != "smdp-toy":
        raise SystemExit(f"{args.data}: a {data.meta['dataset']} dataset, not smdp-toy")
    options = data.meta["options"]
    sde = {"lambda": float(options["lambda"]), "g": float(options["g"]), "dt": float(options["dt"])}
    cfg = {"family": "mlp", "widths": WIDTHS, "activation": "elu"}
    extra = {
        "model": "smdp-toy",
        "output": "g² × score: x − Δt P(x) + Δt·c is the reverse SDE's mean step",
        "symmetry": "odd: c(x, t) = 2 P(x) + (f(u, ln t) − f(−u, ln t)) / 2, u = x (1 + λ t)",
        "sde": {**sde, "t_end": float(options["t_end"])},
        "dataset": {"command": data.meta["command"], "options": options},
    }
    model = flowscope_nn.build(cfg)
    params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, epoch = 0, 0
    checkpoint = os.path.join(workdir, "checkpoint.pt")
    if args.resume and os.path.exists(checkpoint):
        state = torch.load(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, epoch = state["step"], state["epoch"]
    ddp = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    log_path = os.path.join(workdir, "loss.jsonl")
    started = time.time()

    def save():
        if rank == 0:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "epoch": epoch, "config": cfg, "extra": extra}, checkpoint + ".tmp")
            os.replace(checkpoint + ".tmp", checkpoint)

    done = False
    while epoch < args.epochs and not done:
        # The window grows linearly to --window over the epochs (1 throughout by default).
        window = 1 + (args.window - 1) * epoch // max(args.epochs - 1, 1)
        starts = Starts(data, window)
        sampler = torch.utils.data.DistributedSampler(starts, num_replicas=world, rank=rank, shuffle=True, seed=args.seed, drop_last=True)
        loader = torch.utils.data.DataLoader(starts, batch_size=args.batch // world, sampler=sampler, drop_last=True)
        sampler.set_epoch(epoch)
        if rank == 0:
            print(f"epoch {epoch}: window {window}, {params:,} weights, {len(starts):,} starts, {world} process(es), "
                  f"global batch {args.batch}, {len(loader)} steps", flush=True)
        skip = step - steps_before(starts, args, world, epoch)
        for k, (paths, steps) in enumerate(loader):
            if k < skip:
                continue
            loss = rollout_loss(ddp, paths, steps, sde, window)
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
                    f.write(json.dumps({"step": step, "epoch": epoch, "window": window, "loss": float(value), "wall_s": time.time() - started}) + "\n")
                if step % 200 == 0:
                    print(f"epoch {epoch} step {step}: loss {float(value):.4f} ({time.time() - started:.0f} s)", flush=True)
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
        flowscope_nn.export(model.cpu(), cfg, args.export, torch.float32, extra)
        print(f"wrote {args.export}; rewrite the manifest with `flowscope model manifest public/models`")
    if distributed:
        dist.destroy_process_group()


def steps_before(starts, args, world, epoch):
    """Optimizer steps of the epochs before `epoch` (their windows differ, so do their lengths)."""
    paths, steps = starts.paths.shape[0], starts.paths.shape[1] - 1
    total = 0
    for e in range(epoch):
        window = 1 + (args.window - 1) * e // max(args.epochs - 1, 1)
        total += paths * (steps - window + 1) // world // (args.batch // world)
    return total


if __name__ == "__main__":
    main()
