"""Two prediction files compared on the formulas that use a token and on the rest.

Where did a change help? `img2latex evaluate --save-predictions FILE` writes one JSON line
per image (reference and prediction); this scores two such files, for the same images, on
the images whose reference holds one of `--tokens` and on the others.

    python bench/compare_predictions.py OLD.jsonl NEW.jsonl --tokens '\\operatorname,\\operatorname*'
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from img2latex.metrics import score


def read(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs=2, help="prediction files (JSONL) for the same images")
    ap.add_argument("--tokens", required=True, help="comma-separated: split the images by whether their reference holds one")
    args = ap.parse_args()
    runs = [read(f) for f in args.files]
    if [p["image"] for p in runs[0]] != [p["image"] for p in runs[1]]:
        raise SystemExit("the two files do not hold the same images in the same order")
    tokens = set(args.tokens.split(","))
    holds = [bool(tokens.intersection(p["reference"].split())) for p in runs[0]]
    print(f"`python bench/compare_predictions.py {' '.join(args.files)} --tokens '{args.tokens}'`\n")
    print("| images | count | file | BLEU-4 | edit distance | exact match | outputs with one |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, wanted in (("with one", True), ("without", False)):
        for path, run in zip(args.files, runs):
            picked = [p for p, h in zip(run, holds) if h == wanted]
            s = score([p["reference"] for p in picked], [p["latex"] or "" for p in picked])
            used = sum(bool(tokens.intersection((p["latex"] or "").split())) for p in picked)
            print(f"| {label} | {len(picked)} | `{path}` | {s.bleu:.4f} | {s.edit_distance:.4f} | {s.exact_match:.1%} | {used} |")


if __name__ == "__main__":
    main()
