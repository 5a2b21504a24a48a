"""Find the render resolution at which our images match im2latex-100k's scale.

Renders the first N val formulas at a reference resolution and compares the height of
their ink with the ink of the val images (same formula, so the same glyphs). The val
formulas are used only to measure the scale, never to train.

    python bench/calibrate_render.py --data ../shared/data/im2latex100k/val --n 300
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from img2latex.data import read_labels
from img2latex.image import crop_to_ink, load_gray
from img2latex.render import Style, render_chunk


def ink_height(gray: np.ndarray) -> int:
    cropped = crop_to_ink(gray, padding=0)
    return 0 if cropped is None else cropped.shape[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--dpi", type=int, default=100, help="reference resolution to measure at")
    args = ap.parse_args()
    items = read_labels(Path(args.data))[: args.n]
    rendered = render_chunk([(i, f) for i, (_, f) in enumerate(items)], Style(dpi=args.dpi))
    ratios = []
    for (name, _), r in zip(items, rendered):
        if r.image is None:
            continue
        mine, theirs = ink_height(r.image), ink_height(load_gray(Path(args.data) / "images" / name))
        if mine > 4 and theirs > 4:
            ratios.append(theirs / mine)
    ratio = float(np.median(ratios))
    print(f"formulas compared: {len(ratios)}  median height ratio val/ours at {args.dpi} dpi: {ratio:.3f}")
    print(f"matching resolution: {args.dpi * ratio:.0f} dpi")


if __name__ == "__main__":
    main()
