"""Trains the learned correction of SMDP (score matching through differentiable physics, Holzschuh,
Vegetti, Thuerey 2023) on a `flowscope generate smdp-toy` or `smdp-heat` dataset (the folder's
meta.json says which), and exports it for Flowscope.

    training/run train_smdp.py --data ../target/data/smdp-toy --export ../public/models/smdp-toy.safetensors
    training/run train_smdp.py --data ../target/data/smdp-heat --window 6 --export ../public/models/smdp-heat.safetensors
    torchrun --nproc_per_node=2 train_smdp.py …      # the same run on 2 processes (DDP)

Both problems are dx = P(x) dt + g dW. The network gives c_θ(x, t) ≈ g² ∇ log p_t(x), the score
scaled by g²: what the physics stepped back, B(x), lacks. Training rolls the data backwards,
x_{t−Δt} = B(x_t) + Δt c_θ(x_t, t), from a data state over a window of steps and compares each
step with the data; a one-step window is score matching (the update's mean is the reverse SDE's),
longer windows train the rollout. The window grows linearly to --window over the epochs. The loss
is in units of one step's noise, g √Δt. Inference (Rust, flowscope_nn::smdp): the reverse SDE
x ← B(x) + Δt c_θ + g √Δt z and the probability-flow ODE x ← B(x) + ½ Δt c_θ.

The toy: P(x) = −λ·sign(x)·x², B(x) = x − Δt P(x). The network f (an MLP [2, 30, 30, 25, 20,
10, 1], ELU, input [u, ln t] with u = x (1 + λt), which keeps the two modes near ±1 as they drift
in) gives c_θ = 2P(x) + ½[f(u, t) − f(−u, t)]: odd in x as the toy's score is, and the stationary
score (g² ∇ log p = 2P once the starts are forgotten) where the data are thin, so that a particle
in the tails is drawn back rather than run away by the inverse physics.

The heat equation: P = Δ on a periodic box, B the exact spectral step backwards, each mode times
exp(|k|² Δt) clipped to --clip (the inverse of diffusion is unbounded); c_θ = f / Δt of a UNet f
with circular padding whose time input is the step number t / Δt. f is the step's correction
Δt c_θ, of the size of the noise it removes (c_θ itself is ~100 times the noise for the
noise-dominated high modes: the plain parameterisation stayed at c_θ ≈ 0); its last layer
starts at zero, so training starts from the inverse physics alone.

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


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", default=["../target/data/smdp-toy"], help="dataset folder(s) (shards)")
    p.add_argument("--epochs", type=int, default=None, help="passes over every (trajectory, start step) (toy 6, heat 2)")
    p.add_argument("--window", type=int, default=1, help="backward steps per sample at the last epoch (1: score matching)")
    p.add_argument("--batch", type=int, default=None, help="global batch, split over the processes (toy 512, heat 16)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--clip", type=float, default=1.25, help="heat: the largest gain of a mode in one backward step")
    p.add_argument("--base", type=int, default=16, help="heat: the UNet's base width")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default=None, help="checkpoints and the loss log (default ../target/training/<dataset>)")
    p.add_argument("--resume", action="store_true", help="continue from the workdir's checkpoint")
    p.add_argument("--checkpoint-every", type=int, default=100, help="optimizer steps between checkpoints")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    p.add_argument("--export", default=None, help="safetensors file to write at the end (f32)")
    p.add_argument("--threads", type=int, default=None, help="torch threads per process")
    return p.parse_args()


class Starts(torch.utils.data.Dataset):
    """(trajectory, step) pairs of the training runs whose window fits: a sample rolls back from
    step `step` of one trajectory. `paths` is [trajectories, steps + 1, …state]."""

    def __init__(self, paths: torch.Tensor, window: int):
        self.paths = paths
        self.window = window
        self.count = paths.shape[1] - 1 - window + 1

    def __len__(self):
        return self.paths.shape[0] * self.count

    def __getitem__(self, i):
        path, offset = divmod(i, self.count)
        step = offset + self.window
        return self.paths[path, step - self.window: step + 1], torch.tensor(step)


class Toy:
    """The 1D toy SDE: many particles, each a scalar state."""

    widths = [2, 30, 30, 25, 20, 10, 1]

    def __init__(self, options, args):
        self.sde = {"lambda": float(options["lambda"]), "g": float(options["g"]), "dt": float(options["dt"])}
        self.config = {"family": "mlp", "widths": self.widths, "activation": "elu"}
        self.extra = {
            "model": "smdp-toy",
            "output": "g² × score: x − Δt P(x) + Δt·c is the reverse SDE's mean step",
            "symmetry": "odd: c(x, t) = 2 P(x) + (f(u, ln t) − f(−u, ln t)) / 2, u = x (1 + λ t)",
            "sde": {**self.sde, "t_end": float(options["t_end"])},
        }

    def paths(self, data):
        # Runs are [steps + 1, 1, 1, trajectories]: one array [trajectories, steps + 1].
        return torch.cat([torch.from_numpy(r["frames"][:, 0, 0, :]).T.contiguous() for r in data.split("train")])

    def odd_part(self, model, x, t):
        """½[f(u, ln t) − f(−u, ln t)] with u = x (1 + λt): the toy is symmetric under x → −x (P
        is odd, the starts ±1 equally likely), so its score is odd in x, exactly, whatever the
        network learns; u carries x along the deterministic flow x0 / (1 + λ t x0) so that the
        two modes sit near u = ±1 at every t."""
        u, log_t = x * (1 + self.sde["lambda"] * t), torch.log(t)
        both = model(torch.stack([torch.cat([u, -u]), torch.cat([log_t, log_t])], dim=1))[:, 0]
        plus, minus = both.chunk(2)
        return 0.5 * (plus - minus)

    def back(self, model, x, step):
        t = step.float() * self.sde["dt"]
        drift = -self.sde["lambda"] * torch.sign(x) * x * x
        c = 2 * drift + self.odd_part(model, x, t)
        return x - self.sde["dt"] * (drift - c)


class Heat:
    """The heat equation on a periodic 2π box: each state an n × n field."""

    def __init__(self, options, args):
        n, steps = int(options["n"]), int(options["steps"])
        self.dt = float(options["t_end"]) / steps
        self.sde = {"g": float(options["noise"]), "dt": self.dt}
        m = torch.fft.fftfreq(n, d=1.0 / n)
        k2 = m[None, :] ** 2 + m[:, None] ** 2
        self.gains = torch.exp(k2 * self.dt).clamp(max=args.clip)
        self.config = {
            "family": "unet", "in_channels": 1, "out_channels": 1, "base": args.base, "mults": [1, 2, 2],
            "attention": [], "heads": 4, "groups": 8, "padding_mode": "circular",
        }
        self.extra = {
            "model": "smdp-heat",
            "output": "g² × score: B(x) + Δt·c is the reverse SDE's mean step, B the clipped inverse step",
            "correction_scale": 1.0 / self.dt,
            "time_input": "t / dt (the step number)",
            "heat": {"n": n, "diffusivity": 1.0, "t_end": float(options["t_end"]), "steps": steps,
                     "noise": self.sde["g"], "inverse_clip": args.clip, "exponent": float(options["exponent"])},
        }

    def paths(self, data):
        # Runs are [steps + 1, 1, n, n].
        return torch.stack([torch.from_numpy(r["frames"][:, 0]) for r in data.split("train")])

    def inverse(self, x):
        return torch.fft.ifft2(torch.fft.fft2(x) * self.gains).real

    def start(self, model):
        torch.nn.init.zeros_(model.out_conv.weight)
        torch.nn.init.zeros_(model.out_conv.bias)

    def back(self, model, x, step):
        return self.inverse(x) + model(x[:, None], step.float(), None)[:, 0]


# Per problem: its class, default epochs and batch, and whether the learning rate follows a
# cosine decay to 0 with gradients clipped to norm 1 (the heat network's training spiked and
# lost what it had learned at a constant 1e-3).
PROBLEMS = {"smdp-toy": (Toy, 6, 512, False), "smdp-heat": (Heat, 3, 16, True)}


def rollout_loss(problem, model, paths, steps, window):
    """Rolls each path's state at `steps` back `window` steps; the mean squared misfit per step,
    in units of a step's noise."""
    x = paths[:, -1]
    loss = 0.0
    for k in range(window):
        x = problem.back(model, x, steps - k)
        loss = loss + ((x - paths[:, -2 - k]) ** 2).mean()
    return loss / (window * problem.sde["g"] ** 2 * problem.sde["dt"])


def main():
    args = parse()
    if args.threads:
        torch.set_num_threads(args.threads)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    if args.window < 1:
        raise SystemExit("--window must be at least 1")
    torch.manual_seed(args.seed)

    data = flowscope_data.load(args.data)
    name = data.meta["dataset"]
    if name not in PROBLEMS:
        raise SystemExit(f"{args.data}: a {name} dataset, not smdp-toy or smdp-heat")
    make, epochs, batch, annealed = PROBLEMS[name]
    args.epochs = args.epochs or epochs
    args.batch = args.batch or batch
    if args.batch % world:
        raise SystemExit(f"--batch {args.batch} does not split over {world} processes")
    options = data.meta["options"]
    problem = make(options, args)
    cfg, extra = problem.config, {**problem.extra, "dataset": {"command": data.meta["command"], "options": options}}
    paths = problem.paths(data)
    if args.window > paths.shape[1] - 1:
        raise SystemExit(f"--window {args.window}: the trajectories have {paths.shape[1] - 1} steps")
    workdir = args.workdir or os.path.join("..", "target", "training", name)
    os.makedirs(workdir, exist_ok=True)
    model = flowscope_nn.build(cfg)
    if hasattr(problem, "start"):
        problem.start(model)
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
        window = window_at(args, epoch)
        starts = Starts(paths, window)
        sampler = torch.utils.data.DistributedSampler(starts, num_replicas=world, rank=rank, shuffle=True, seed=args.seed, drop_last=True)
        loader = torch.utils.data.DataLoader(starts, batch_size=args.batch // world, sampler=sampler, drop_last=True)
        sampler.set_epoch(epoch)
        if rank == 0:
            print(f"{name} epoch {epoch}: window {window}, {params:,} weights, {len(starts):,} starts, {world} process(es), "
                  f"global batch {args.batch}, {len(loader)} steps", flush=True)
        skip = step - steps_before(paths, args, world, epoch)
        total = steps_before(paths, args, world, args.epochs)
        for k, (batch_paths, steps) in enumerate(loader):
            if k < skip:
                continue
            loss = rollout_loss(problem, ddp, batch_paths, steps, window)
            optimizer.zero_grad()
            loss.backward()
            if annealed:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                for group in optimizer.param_groups:
                    group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * step / total))
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
                if step % 50 == 0:
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


def window_at(args, epoch):
    return 1 + (args.window - 1) * epoch // max(args.epochs - 1, 1)


def steps_before(paths, args, world, epoch):
    """Optimizer steps of the epochs before `epoch` (their windows differ, so do their lengths)."""
    count, steps = paths.shape[0], paths.shape[1] - 1
    return sum(count * (steps - window_at(args, e) + 1) // world // (args.batch // world) for e in range(epoch))


if __name__ == "__main__":
    main()
