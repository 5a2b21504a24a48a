"""How dark are our strokes next to im2latex-100k's? Dark-pixel (< 128) count, val ÷ ours.

Renders the first N val formulas with each of `render`'s halvings (box filter; 2x2
min-pooling, which keeps strokes bold) and compares the number of dark pixels with the val
image of the same formula. The val formulas are only
measured against, never trained on.

    python bench/stroke_darkness.py --n 60
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from img2latex.data import read_labels
from img2latex.image import crop_to_ink, load_gray
from img2latex.render import HALVINGS, Style, render_chunk


def dark_pixels(gray: np.ndarray) -> int:
    return int((crop_to_ink(gray, padding=0) < 128).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--n", type=int, default=60)
    args = ap.parse_args()
    items = read_labels(args.data)[: args.n]
    for halving in HALVINGS:
        rendered = render_chunk([(i, f) for i, (_, f) in enumerate(items)], Style(halving=halving))
        ratios = [dark_pixels(load_gray(Path(args.data) / "images" / name)) / max(1, dark_pixels(r.image))
                  for (name, _), r in zip(items, rendered) if r.image is not None]
        print(f"halving {halving}: median dark-pixel ratio val/ours = {np.median(ratios):.2f} ({len(ratios)} formulas)")


if __name__ == "__main__":
    main()
