"""Find the render resolution at which our images match im2latex-100k's scale.

Renders the first N val formulas at a reference resolution and point size and compares the
height and the width of their ink with the ink of the val images (same formula, so the same
glyphs). Heights fix the resolution; widths then tell the point size, as 10pt sets sub- and
superscripts wider for the letter size than 12pt does. The val formulas are used only to
measure the scale, never to train.

    python bench/calibrate_render.py --data ../shared/data/im2latex100k/val --n 300 --size 10 --dpi 100
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from img2latex.data import read_labels
from img2latex.image import crop_to_ink, load_gray
from img2latex.render import DEFAULT_SIZE, SIZES, Style, render_chunk


def ink_size(gray: np.ndarray) -> tuple[int, int]:
    """Height and width of the ink; (0, 0) for none."""
    cropped = crop_to_ink(gray, padding=0)
    return (0, 0) if cropped is None else cropped.shape


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--dpi", type=int, default=100, help="reference resolution to measure at")
    ap.add_argument("--size", type=int, default=DEFAULT_SIZE, choices=SIZES, help="the document's point size")
    args = ap.parse_args()
    items = read_labels(Path(args.data))[: args.n]
    rendered = render_chunk([(i, f) for i, (_, f) in enumerate(items)], Style(dpi=args.dpi, size=args.size))
    ratios = []  # (height, width) val / ours
    for (name, _), r in zip(items, rendered):
        if r.image is None:
            continue
        mine, theirs = ink_size(r.image), ink_size(load_gray(Path(args.data) / "images" / name))
        if min(mine) > 4 and min(theirs) > 4:
            ratios.append((theirs[0] / mine[0], theirs[1] / mine[1]))
    height, width = np.median(ratios, axis=0)
    aspect = float(np.median([w / h for h, w in ratios]))
    print(f"formulas compared: {len(ratios)}; val / ours at {args.size}pt and {args.dpi} dpi, median: "
          f"height {height:.3f}, width {width:.3f}, width / height {aspect:.3f}")
    print(f"matching resolution: {args.dpi * height:.0f} dpi")


if __name__ == "__main__":
    main()
