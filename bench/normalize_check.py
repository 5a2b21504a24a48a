"""How faithful is the normalizer? Two measurements, as promised in the docs.

1. Share of im2latex-100k val formulas (already canonical) that normalizing leaves unchanged.
2. For a random sample of corpus formulas whose raw form renders, the share whose
   normalized form renders to exactly the same pixels.

    python bench/normalize_check.py --sample 500 --seed 0
"""

from __future__ import annotations

import argparse
import random

import numpy as np

from img2latex.data import read_labels
from img2latex.normalize import NormalizeError, normalize
from img2latex.render import read_formulas, render_chunk
from img2latex.tokenizer import tokenize


def val_unchanged(val_dir: str) -> tuple[int, int]:
    labels = [f for _, f in read_labels(val_dir)]
    return sum(tokenize(normalize(f)) == tokenize(f) for f in labels), len(labels)


def same_pixels(formulas: list[str], sample: int, seed: int) -> tuple[int, int, list[str]]:
    rng = random.Random(seed)
    pool = rng.sample(formulas, min(len(formulas), 4 * sample))
    raw_images = render_chunk(list(enumerate(pool)))
    usable = [(f, r.image) for f, r in zip(pool, raw_images) if r.image is not None][:sample]
    normalized = []
    for f, _ in usable:
        try:
            normalized.append(normalize(f))
        except NormalizeError:
            normalized.append("")
    norm_images = render_chunk(list(enumerate(normalized)))
    same, differ = 0, []
    for (f, a), r in zip(usable, norm_images):
        if r.image is not None and a.shape == r.image.shape and np.array_equal(a, r.image):
            same += 1
        else:
            differ.append(f)
    return same, len(usable), differ


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--val", default="../shared/data/im2latex100k/val")
    ap.add_argument("--formulas", default="../shared/data/formulas/formulas.tsv")
    ap.add_argument("--sample", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    kept, total = val_unchanged(args.val)
    print(f"val formulas unchanged by normalize: {kept}/{total} = {kept / total:.2%}")
    same, n, differ = same_pixels(read_formulas(args.formulas), args.sample, args.seed)
    print(f"corpus formulas rendering to identical pixels after normalize: {same}/{n} = {same / n:.2%}")
    for f in differ[:10]:
        print("  differs:", f)


if __name__ == "__main__":
    main()
