"""Two prediction files compared on the formulas that use a token and on the rest.

Where did a change help? `img2latex evaluate --save-predictions FILE` writes one JSON line
per image (reference and prediction); this scores two such files, for the same images, on
the images whose reference holds one of `--tokens` and on the others; with `--bootstrap N`, how
sure the difference is: N paired resamplings of the images give a 95% interval for NEW's BLEU-4
and edit distance less OLD's, the corpus metrics `img2latex evaluate` reports.

    python bench/compare_predictions.py OLD.jsonl NEW.jsonl --tokens '\\operatorname,\\operatorname*'
    python bench/compare_predictions.py OLD.jsonl NEW.jsonl --bootstrap 1000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from img2latex.metrics import bleu_counts, bleu_from_counts, edit_counts, score
from img2latex.tokenizer import tokenize


def read(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def image_counts(reference: str, prediction: str) -> list[int]:
    """What corpus BLEU-4 and edit distance sum over one image (`metrics.bleu_counts`, then
    `metrics.edit_counts`)."""
    ref, hyp = tokenize(reference), tokenize(prediction)
    return [*bleu_counts(ref, hyp), *edit_counts(ref, hyp)]


def corpus_scores(sums: np.ndarray) -> tuple[float, float]:
    """BLEU-4 and edit distance from summed `image_counts`, as `img2latex evaluate` reports them."""
    return bleu_from_counts(sums[:10].tolist()), sums[10] / sums[11] if sums[11] else 0.0


def bootstrap(runs: list[list[dict]], resamples: int) -> None:
    """Paired bootstrap over images of NEW less OLD, and how many images each reads closer."""
    counts = [np.array([image_counts(p["reference"], p["latex"] or "") for p in run], dtype=np.int64) for run in runs]
    images = len(runs[0])
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(resamples):
        weights = np.bincount(rng.integers(0, images, images), minlength=images)
        old, new = (corpus_scores(weights @ c) for c in counts)
        diffs.append((new[0] - old[0], new[1] - old[1]))
    low, high = np.percentile(np.array(diffs), [2.5, 97.5], axis=0)
    point = np.subtract(corpus_scores(counts[1].sum(0)), corpus_scores(counts[0].sum(0)))
    per_image = [c[:, 10] / np.maximum(c[:, 11], 1) for c in counts]
    print(f"| NEW less OLD | difference | 95% interval ({resamples} paired resamplings of {images} images) |")
    print("| --- | --- | --- |")
    for i, name in enumerate(("BLEU-4", "edit distance")):
        print(f"| {name} | {point[i]:+.4f} | {low[i]:+.4f} to {high[i]:+.4f} |")
    closer, further = (per_image[1] < per_image[0]).sum(), (per_image[1] > per_image[0]).sum()
    print(f"\nNEW reads {closer} images closer to their reference than OLD, {further} further, the rest alike.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs=2, help="prediction files (JSONL) for the same images")
    ap.add_argument("--tokens", help="comma-separated: split the images by whether their reference holds one")
    ap.add_argument("--bootstrap", type=int, default=0, metavar="N", help="N paired resamplings: intervals for the differences")
    args = ap.parse_args()
    if not args.tokens and not args.bootstrap:
        ap.error("give --tokens, --bootstrap or both")
    runs = [read(f) for f in args.files]
    if [p["image"] for p in runs[0]] != [p["image"] for p in runs[1]]:
        raise SystemExit("the two files do not hold the same images in the same order")
    if args.bootstrap:
        print(f"`python bench/compare_predictions.py {' '.join(args.files)} --bootstrap {args.bootstrap}`\n")
        bootstrap(runs, args.bootstrap)
    if args.tokens:
        split_by_tokens(args.files, runs, args.tokens)


def split_by_tokens(files: list[str], runs: list[list[dict]], spec: str) -> None:
    """Both files scored on the images whose reference holds one of the tokens and on the rest."""
    tokens = set(spec.split(","))
    holds = [bool(tokens.intersection(p["reference"].split())) for p in runs[0]]
    print(f"`python bench/compare_predictions.py {' '.join(files)} --tokens '{spec}'`\n")
    print("| images | count | file | BLEU-4 | edit distance | exact match | outputs with one |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, wanted in (("with one", True), ("without", False)):
        for path, run in zip(files, runs):
            picked = [p for p, h in zip(run, holds) if h == wanted]
            s = score([p["reference"] for p in picked], [p["latex"] or "" for p in picked])
            used = sum(bool(tokens.intersection((p["latex"] or "").split())) for p in picked)
            print(f"| {label} | {len(picked)} | `{path}` | {s.bleu:.4f} | {s.edit_distance:.4f} | {s.exact_match:.1%} | {used} |")


if __name__ == "__main__":
    main()
