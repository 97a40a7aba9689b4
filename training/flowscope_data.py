"""Datasets written by `flowscope generate` (the format in docs/MODELS.md), read for training.

`load(dirs)` takes one folder or several shard folders of the same dataset (what N machines
wrote with `--shard I/N`, not yet copied together): the union of their runs must be complete.
The normalisation statistics are summed from the runs' own records in run order, exactly as
`flowscope generate` writes them into meta.json once a folder holds every run.
"""

import json
import os

import numpy as np


def _description(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if k != "normalisation"}


class Dataset:
    def __init__(self, meta: dict, runs: list, stats: dict):
        self.meta = meta
        self.runs = runs  # [{"index", "split", "condition", "frames": np.ndarray [F, C, H, W]}]
        self.stats = stats

    def split(self, name: str) -> list:
        return [r for r in self.runs if r["split"] == name]

    @property
    def channels(self) -> list:
        return self.meta["channels"]


def load(dirs) -> Dataset:
    dirs = [dirs] if isinstance(dirs, (str, os.PathLike)) else list(dirs)
    metas = []
    for d in dirs:
        path = os.path.join(d, "meta.json")
        if not os.path.exists(path):
            raise SystemExit(f"{d}: no meta.json (write it with `flowscope generate <dataset> --out {d}`)")
        with open(path) as f:
            metas.append(json.load(f))
    description = _description(metas[0])
    for d, meta in zip(dirs[1:], metas[1:]):
        if _description(meta) != description:
            raise SystemExit(f"{d} holds another dataset than {dirs[0]} (other options or seed)")
    runs, sums = [], []
    for entry in description["runs"]:
        found = [d for d in dirs if os.path.exists(os.path.join(d, entry["file"]))]
        if not found:
            raise SystemExit(f"run {entry['file']} is in none of {dirs}: a shard is missing")
        base = os.path.join(found[0], entry["file"])
        with open(base[: -len(".npy")] + ".json") as f:
            record = json.load(f)
        runs.append({
            "index": entry["index"],
            "split": entry["split"],
            "condition": entry["condition"],
            "frames": np.load(base).astype(np.float32),
            "times": record.get("times"),
        })
        sums.append((entry["split"], entry["condition"], record["sums"]))
    return Dataset(description, runs, _normalisation(sums, len(description["channels"])))


def _normalisation(sums: list, channels: int) -> dict:
    train = [s for s in sums if s[0] == "train"] or sums
    total = [[0.0, 0.0, 0.0] for _ in range(channels)]
    for _, _, run in train:
        for c in range(channels):
            for k in range(3):
                total[c][k] += run[c][k]

    def stats(s, q, n):
        mean = s / n
        return mean, max(q / n - mean * mean, 0.0) ** 0.5

    chans = [stats(*t) for t in total]
    conds = []
    for k in range(len(train[0][1])):
        values = [c[k] for _, c, _ in train]
        conds.append(stats(sum(values), sum(v * v for v in values), float(len(values))))
    return {
        "channels": {"mean": [m for m, _ in chans], "std": [s for _, s in chans]},
        "conditions": {"mean": [m for m, _ in conds], "std": [s for _, s in conds]},
    }
