"""Which misreadings come from how im2latex-100k's images look rather than from what the model knows.

Reads the first N val images, then this renderer's images of their labels (render.IM2LATEX_STYLE
unless told otherwise: the same glyph geometry) and reads those. A symbol misread on its val
image but read right on the rendering points at a difference between the two renderers' pixels,
which training data rendered otherwise could close; one misread on both points at the model.
Prints the scores on both and the substitutions (label token -> token read) commonest on the
val images, with their count on the renderings of the same labels.

    python bench/look_gap.py --n 1000
    python bench/look_gap.py --n 1000 --halving lanczos   # im2markup's halving: the misreadings come back
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from error_analysis import edits

from img2latex import LatexOCR
from img2latex.data import read_labels
from img2latex.metrics import score
from img2latex.render import HALVINGS, IM2LATEX_STYLE, SIZES, Style, render_all


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--weights", help="weights directory (default: the shipped model)")
    ap.add_argument("--n", type=int, default=1000, help="first N images")
    ap.add_argument("--dpi", type=int, default=IM2LATEX_STYLE.dpi)
    ap.add_argument("--size", type=int, default=IM2LATEX_STYLE.size, choices=SIZES)
    ap.add_argument("--halving", default=IM2LATEX_STYLE.halving, choices=list(HALVINGS),
                    help="how the renderings are halved (render.py); lanczos: im2markup's way")
    ap.add_argument("--top", type=int, default=12, help="substitutions to list")
    args = ap.parse_args()
    ocr = LatexOCR(args.weights)
    items = read_labels(args.data)[: args.n]
    style = Style(dpi=args.dpi, size=args.size, halving=args.halving)
    rendered = render_all([formula for _, formula in items], style, os.cpu_count() or 1)
    kept = [(name, formula, r.image) for (name, formula), r in zip(items, rendered) if r.image is not None]
    read = {label: [p.latex for p in ocr.predict_batch(images, errors="keep")] for label, images in (
        ("val images", [Path(args.data) / "images" / name for name, _, _ in kept]),
        (f"renderings ({args.size}pt, {args.dpi} dpi, {args.halving} halving)", [image for _, _, image in kept]))}
    references = [formula for _, formula, _ in kept]
    print(f"`python bench/look_gap.py {' '.join(sys.argv[1:])}`: the first {len(items)} images of {args.data}, "
          f"{len(kept)} of whose labels render (greedy, the reader's defaults)\n")
    print("| read from | BLEU-4 | edit distance | exact match |\n| --- | --- | --- | --- |")
    for label, predictions in read.items():
        s = score(references, predictions)
        print(f"| {label} | {s.bleu:.4f} | {s.edit_distance:.4f} | {s.exact_match:.2%} |")
    val, ours = (edits([(r.split(), p.split()) for r, p in zip(references, predictions)])["replace"]
                 for predictions in read.values())
    print(f"\n| label -> read | on val images | on renderings |\n| --- | --- | --- |")
    for pair, count in val.most_common(args.top):
        print(f"| `{pair[0]}` -> `{pair[1]}` | {count} | {ours[pair]} |")


if __name__ == "__main__":
    main()
