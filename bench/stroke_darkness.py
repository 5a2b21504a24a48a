"""How do our strokes look next to im2latex-100k's? Dark pixels, black cores and faint rings.

Renders the first N val formulas with each of `render`'s halvings (box filter; 2x2
min-pooling, which keeps strokes bold; Lanczos from a bilevel page, im2markup's way, at each
`--inked` threshold) and compares them with the val image of the same formula: the median
ratio of dark (< 128) pixels, val ÷ ours, and over all the formulas' non-white pixels the share
that is black (0) and the share that is faint (230-254, the rings a Lanczos filter leaves).
The val formulas are only measured against, never trained on.

    python bench/stroke_darkness.py --n 150 --inked 224,240,250
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from img2latex import render
from img2latex.data import read_labels
from img2latex.image import crop_to_ink, load_gray
from img2latex.render import HALVINGS, Style, render_chunk


def dark_pixels(gray: np.ndarray) -> int:
    return int((crop_to_ink(gray, padding=0) < 128).sum())


def shares(images: list[np.ndarray]) -> tuple[float, float]:
    """Of all the images' non-white pixels: the share that is black, the share that is faint."""
    pixels = np.concatenate([image[image < 255] for image in images])
    return float((pixels == 0).mean()), float((pixels >= 230).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--inked", default=str(render.INKED), help="comma-separated thresholds for the lanczos halving")
    args = ap.parse_args()
    items = read_labels(args.data)[: args.n]
    val = {name: load_gray(Path(args.data) / "images" / name) for name, _ in items}
    black, faint = shares(list(val.values()))
    print(f"First {len(items)} formulas of {args.data}\n\n| images | dark pixels, val ÷ ours (median) | black | faint |")
    print(f"| --- | --- | --- | --- |\n| val | 1.00 | {black:.3f} | {faint:.3f} |")
    runs = [(h, None) for h in HALVINGS if h != "lanczos"] + [("lanczos", int(t)) for t in args.inked.split(",")]
    for halving, inked in runs:
        if inked is not None:
            render.INKED = inked  # read by the lanczos halving at each call, in this process's threads
        rendered = render_chunk([(i, f) for i, (_, f) in enumerate(items)], Style(halving=halving))
        kept = [(val[name], r.image) for (name, _), r in zip(items, rendered) if r.image is not None]
        ratio = np.median([dark_pixels(theirs) / max(1, dark_pixels(ours)) for theirs, ours in kept])
        black, faint = shares([ours for _, ours in kept])
        label = halving if inked is None else f"{halving}, inked under {inked}"
        print(f"| {label} ({len(kept)} rendered) | {ratio:.2f} | {black:.3f} | {faint:.3f} |")


if __name__ == "__main__":
    main()
