"""Val scores of render and compare (rerank.py) at several weights, chosen on one half, checked on the other.

Reads the first `--limit` val images with the beam once, typesets every reading once, then
ranks the readings by score minus WEIGHT x (pixel difference + SIZE_WEIGHT x size difference)
for each pair of weights. The weights are picked on the first half of the images (`tune`);
the second half (`check`) shows whether the gain holds on images they were not picked on.

    python bench/rerank_weights.py --limit 1000 --beam 5
    python bench/rerank_weights.py --limit 1000 --beam 5 --size 12 --dpi 85   # as the training data is typeset
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from halves import HEADER, cells, halves
from rapidfuzz.distance import Levenshtein

from img2latex import LatexOCR
from img2latex.data import read_labels
from img2latex.render import IM2LATEX_STYLE, SIZES, Style
from img2latex.rerank import SIZE_WEIGHT, WEIGHT, distances, order, paper, renderings
from img2latex.tokenizer import tokenize


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--weights", help="weights directory (default: the shipped model)")
    ap.add_argument("--limit", type=int, default=1000, help="first N images")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--weights-grid", dest="grid", default="0.5,1,2,4,8", help="values of WEIGHT to try")
    ap.add_argument("--size-weights", dest="size_grid", default="0,0.15,0.5", help="values of SIZE_WEIGHT to try")
    ap.add_argument("--size", type=int, default=IM2LATEX_STYLE.size, choices=SIZES, help="point size to typeset at")
    ap.add_argument("--dpi", type=int, default=IM2LATEX_STYLE.dpi, help="resolution to typeset at")
    args = ap.parse_args()
    ocr = LatexOCR(args.weights)
    items = read_labels(args.data)[: args.limit]
    paths = [Path(args.data) / "images" / name for name, _ in items]
    predictions, read = ocr.read_batch(paths, args.beam, errors="keep")
    unreadable = len(items) - len(read)  # blank images: nothing to rerank
    items, predictions = [items[k] for k in sorted(read)], [predictions[k] for k in sorted(read)]
    readings = [[(p.latex, p.score), *p.alternatives] for p in predictions]
    texts = [[latex for latex, _ in rs] for rs in readings]
    images = [paper(read[k]) for k in sorted(read)]  # what the API lays the readings over
    rendered = renderings(texts, os.cpu_count() or 1, Style(dpi=args.dpi, size=args.size))
    half = halves(len(items))
    references = [formula for _, formula in items]

    def row(label: str, chosen: list[str]) -> str:
        return f"| {label} | {cells(references, chosen)} |"

    print(f"`python bench/rerank_weights.py {' '.join(sys.argv[1:])}`: {args.data}, shipped "
          f"WEIGHT {WEIGHT}, SIZE_WEIGHT {SIZE_WEIGHT}, typeset at {args.size}pt and {args.dpi} dpi; "
          f"{len(half['tune'])} images to tune, "
          f"{len(half['check'])} to check ({unreadable} unreadable left out)\n")
    print(f"| WEIGHT, SIZE_WEIGHT | {HEADER} |\n" + "| --- " * 7 + "|")
    print(row("beam, not reranked", [p.latex for p in predictions]), flush=True)
    print(row("the reading nearest the label (what a perfect choice would reach)",
              [min(ts, key=lambda t, r=tokenize(ref): Levenshtein.distance(r, tokenize(t)))
               for ts, ref in zip(texts, references)]), flush=True)
    for size_weight in (float(w) for w in args.size_grid.split(",")):
        found = distances(images, texts, rendered, size_weight)
        for weight in (float(w) for w in args.grid.split(",")):
            chosen = [rs[order([s for _, s in rs], ds, weight)[0]][0] for rs, ds in zip(readings, found)]
            print(row(f"{weight:g}, {size_weight:g}", chosen), flush=True)


if __name__ == "__main__":
    main()
