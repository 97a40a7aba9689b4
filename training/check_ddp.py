"""Checks the scale-out: a few steps of a training script under torchrun with 1 and with 2 CPU
processes (gloo), the same global batch, give the same loss curve (to float reordering).

    flowscope generate acdm-wake --out ../target/data/acdm-tiny --seed 1 --set n=64 --set out=16 \\
        --set re_train=300,500,700 --set re_test=150 --set warmup=5 --set frames=20
    training/run check_ddp.py --data ../target/data/acdm-tiny [--model acdm|unet]
    training/run check_ddp.py --script train_smdp.py --data ../target/data/smdp-toy
    training/run check_ddp.py --script train_airfoil.py --data ../target/data/airfoil-uncertainty [--airfoil-model M]
    training/run check_ddp.py --script train_sfbc.py --data ../target/data/sfbc-1d
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile


def losses(processes: int, args, workdir: str) -> list:
    if args.script == "train_acdm.py":
        small = ["--model", args.model, "--batch", "8", "--base", "16", "--mults", "1,2", "--attention", "1"]
    elif args.script == "train_airfoil.py":
        small = ["--model", args.airfoil_model, "--batch", "10", "--base", "8", "--mults", "1,2", "--attention", "1"]
    elif args.script == "train_sfbc.py":
        small = ["--batch", "4", "--widths", "8,8"]
    else:
        small = ["--batch", "64"]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
        args.script, "--data", *args.data, *small, "--max-steps", str(args.steps), "--threads", "1",
        "--workdir", workdir, "--seed", "5",
    ]
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    with open(os.path.join(workdir, "loss.jsonl")) as f:
        return [json.loads(line)["loss"] for line in f]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", nargs="+", required=True)
    p.add_argument("--script", default="train_acdm.py", choices=["train_acdm.py", "train_smdp.py", "train_airfoil.py", "train_sfbc.py"])
    p.add_argument("--airfoil-model", default="ddpm", choices=["ddpm", "flow-matching", "heteroscedastic"], help="train_airfoil.py's model")
    p.add_argument("--model", default="acdm", choices=["acdm", "unet"], help="train_acdm.py's model")
    p.add_argument("--steps", type=int, default=6)
    args = p.parse_args()
    root = tempfile.mkdtemp()
    try:
        one = losses(1, args, os.path.join(root, "one"))
        two = losses(2, args, os.path.join(root, "two"))
    finally:
        shutil.rmtree(root)
    worst = max(abs(a - b) / abs(a) for a, b in zip(one, two))
    for k, (a, b) in enumerate(zip(one, two)):
        print(f"step {k + 1}: 1 process {a:.7f}   2 processes {b:.7f}")
    print(f"largest relative difference: {worst:.2e}")
    if len(one) != len(two) or worst > 1e-4:
        raise SystemExit("the 2-process loss curve differs from the 1-process one")


if __name__ == "__main__":
    main()
