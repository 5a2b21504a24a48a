"""The training curve as a PNG: `img2latex plot runs/base/metrics.jsonl --out docs/curve.png`.

Draws training loss and val loss (left) and val BLEU (right) against steps from the JSONL
metrics log that training writes. Where a run was resumed, later records of a step replace
earlier ones, so the curve shows the run that produced the weights.
"""

from __future__ import annotations

import json
from pathlib import Path


def read_metrics(path: str | Path) -> tuple[dict[int, dict], dict[int, dict]]:
    """(token-loss records, evaluation records), each keyed by step, the last record winning."""
    train, evals = {}, {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if "val_bleu" in record:
                evals[record["step"]] = record
            elif "loss" in record:  # (encoder pre-training logs `pretrain_loss` instead)
                train[record["step"]] = record
    return train, evals


def plot_curve(metrics: str | Path, out: str | Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    train, evals = read_metrics(metrics)
    if not evals and not train:
        raise ValueError(f"{metrics}: no metrics records")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    steps = sorted(train)
    left.plot(steps, [train[s]["loss"] for s in steps], lw=0.8, alpha=0.7, label="train loss")
    steps = sorted(evals)
    left.plot(steps, [evals[s]["val_loss"] for s in steps], "o-", ms=3, label="val loss")
    left.set(xlabel="step", ylabel="cross-entropy", yscale="log")
    left.legend()
    right.plot(steps, [evals[s]["val_bleu"] for s in steps], "o-", ms=3, color="C2")
    right.set(xlabel="step", ylabel="val BLEU-4 (greedy, val subset)", ylim=(0, 1))
    for axis in (left, right):
        axis.grid(alpha=0.3)
    fig.suptitle(title or str(metrics))
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
