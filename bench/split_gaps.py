"""Where the model stops at wide blank gaps, and which split settings read such images best.

First, the first `--limit` val images read whole (greedy, `split=False`): how often a reading
is under 80% of its label's length, by the widest blank gap of the image in glyph heights.
Then, for each `--gaps` value of `pieces.SPLIT_GAP`, the images it splits are read as
`LatexOCR` reads them, with both readings kept (the whole's and the pieces' joined), and each
`--margins` value of `pieces.MARGIN` picks one by their scores, as `pieces.prefer_pieces`
does; scored over all the images (those not split read whole), picked on the first half
(`tune`) and checked on the second (`check`). "pieces taken" counts the images where the joined
reading wins, also where it is the same text as the whole's.

    python bench/split_gaps.py --gaps 2,2.5,3.5 --margins 0,0.02,0.05,0.1
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from halves import HEADER, cells

from img2latex import LatexOCR, image, pieces
from img2latex.data import read_labels
from img2latex.metrics import score

SHORT = 0.8  # a reading under this share of its label's tokens has dropped part of the formula
BUCKETS = (0, 1, 2, 3, 4, math.inf)  # widest gap, glyph heights
SPACES = {"\\,", "\\:", "\\;", "\\!", "~", "\\", "\\quad", "\\qquad", "\\hspace", "\\hfill"}  # a control space `\ ` splits to `\`


def widest_gap(gray: np.ndarray) -> float:
    ink = image.crop_to_ink(gray, 0)
    return max((width for *_, width in image.blank_gaps(ink, 0.0)), default=0.0) if ink is not None else 0.0


def short_table(labels: list[str], readings: list[str], widest: list[float]) -> str:
    lines = ["| widest gap (glyph heights) | images | readings under 80% of the label's length | BLEU-4 |",
             "| --- | --- | --- | --- |"]
    for low, high in zip(BUCKETS, BUCKETS[1:]):
        rows = [i for i, w in enumerate(widest) if low <= w < high]
        if rows:
            short = np.mean([len(readings[i].split()) < SHORT * len(labels[i].split()) for i in rows])
            bleu = score([labels[i] for i in rows], [readings[i] for i in rows]).bleu
            lines.append(f"| {low}-{high} | {len(rows)} | {short:.1%} | {bleu:.4f} |")
    return "\n".join(lines)


def spacing_widths(labels: list[str], widest: list[float]) -> str:
    """The median widest gap of the images whose label's only spacing command is one `\\quad`,
    or one `\\qquad`: how wide each is in glyph heights (`pieces.QUAD`)."""
    found = []
    for command in ("\\quad", "\\qquad"):
        widths = [w for label, w in zip(labels, widest)
                  if sum(t in SPACES for t in label.split()) == label.split().count(command) == 1]
        if widths:
            found.append(f"`{command}` {np.median(widths):.2f} ({len(widths)} images)")
    return "Median widest gap of the images with one spacing command in their label: " + ", ".join(found)


def both_readings(ocr: LatexOCR, paths: list[Path]) -> list[tuple[tuple[str, float], tuple[str, float]]]:
    """(whole, joined) readings with their scores, the pieces taken whatever the scores."""
    pieces.MARGIN = math.inf
    found = []
    for p in ocr.predict_batch(paths):
        joined = (p.latex, p.score)
        found.append((p.alternatives[0] if p.alternatives else joined, joined))  # no alternative: the same text
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--weights", help="weights directory (default: the shipped model)")
    ap.add_argument("--limit", type=int, help="first N images (default: all)")
    ap.add_argument("--gaps", default="2,2.5,3.5", help="comma-separated values of SPLIT_GAP, glyph heights")
    ap.add_argument("--margins", default="0,0.02,0.05,0.1", help="comma-separated values of MARGIN")
    args = ap.parse_args()
    items = read_labels(args.data)[: args.limit]
    paths = [Path(args.data) / "images" / name for name, _ in items]
    labels = [formula for _, formula in items]
    started = time.perf_counter()
    whole = [p.latex for p in LatexOCR(args.weights, split=False).predict_batch(paths, errors="keep")]
    widest = [widest_gap(image.load_gray(path)) for path in paths]
    print(f"`python bench/split_gaps.py {' '.join(sys.argv[1:])}`: {args.data}, {len(items)} images, greedy, "
          f"the shipped read scales and autoscale\n\n{short_table(labels, whole, widest)}\n\n"
          f"{spacing_widths(labels, widest)}\n")
    print(f"| SPLIT_GAP | MARGIN | images split | pieces taken | {HEADER} |\n" + "| --- " * 10 + "|")
    print(f"| no split | | 0 | 0 | {cells(labels, whole)} |")
    ocr = LatexOCR(args.weights)
    for gap in (float(g) for g in args.gaps.split(",")):
        split = [i for i, w in enumerate(widest) if w >= gap]
        pieces.SPLIT_GAP = gap
        pairs = dict(zip(split, both_readings(ocr, [paths[i] for i in split])))
        for margin in (float(m) for m in args.margins.split(",")):
            pieces.MARGIN = margin
            taken = {i for i, (w, j) in pairs.items() if pieces.prefer_pieces(w[1], j[1])}
            readings = [pairs[i][1][0] if i in taken else pairs[i][0][0] if i in pairs else whole[i]
                        for i in range(len(items))]
            print(f"| {gap:g} | {margin:g} | {len(split)} | {len(taken)} | {cells(labels, readings)} |", flush=True)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
