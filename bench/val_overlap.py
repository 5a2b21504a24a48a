"""Which val formulas were in a config's training data, and did the model learn them by heart?

Counts, per training directory of `--config`, the images whose formula is a val formula
(token for token: what `img2latex train` now leaves out), and with `--predictions` (from
`img2latex evaluate --save-predictions`) scores the val images with those formulas beside all
val images. A model that memorized them would read them better than the rest.

    python bench/val_overlap.py --config configs/finetune-v12.yaml --predictions results/val-greedy-predictions.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from img2latex.config import load_config
from img2latex.data import read_labels
from img2latex.dataset import formulas, token_key
from img2latex.metrics import score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--predictions", help="JSONL of `img2latex evaluate --save-predictions` on the val split")
    args = ap.parse_args()
    cfg = load_config(args.config)
    val = read_labels(cfg.data.val)
    keys = {token_key(f) for _, f in val}
    print(f"`python bench/val_overlap.py --config {args.config}"
          + (f" --predictions {args.predictions}`" if args.predictions else "`") + "\n")
    print("| training directory | images | with a val formula |\n| --- | --- | --- |")
    seen: set[str] = set()
    for directory in cfg.data.train:
        labels = [token_key(f) for f in formulas(directory)]
        shared = [k for k in labels if k in keys]
        seen.update(shared)
        print(f"| `{directory}` | {len(labels)} | {len(shared)} |")
    overlap = [name for name, f in val if token_key(f) in seen]
    print(f"\n{len(seen)} val formulas, on {len(overlap)} val images: {', '.join(overlap)}")
    if args.predictions:
        rows = {r["image"]: r for r in map(json.loads, Path(args.predictions).read_text(encoding="utf-8").splitlines())}
        print("\n| val images | count | BLEU-4 | edit distance | exact match |\n| --- | --- | --- | --- | --- |")
        for label, names in (("with a training formula", overlap), ("all", list(rows))):
            s = score([rows[n]["reference"] for n in names], [rows[n]["latex"] or "" for n in names])
            print(f"| {label} | {s.count} | {s.bleu:.4f} | {s.edit_distance:.4f} | {s.exact_match:.1%} |")


if __name__ == "__main__":
    main()
