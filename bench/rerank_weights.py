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
import sys

from beam_readings import add_arguments, read_and_render
from halves import HEADER, cells, halves

from img2latex.render import IM2LATEX_STYLE, SIZES, Style
from img2latex.rerank import SIZE_WEIGHT, WEIGHT, distances, order


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap, limit=1000)
    ap.add_argument("--weights-grid", dest="grid", default="0.5,1,2,4,8", help="values of WEIGHT to try")
    ap.add_argument("--size-weights", dest="size_grid", default="0,0.15,0.5", help="values of SIZE_WEIGHT to try")
    ap.add_argument("--size", type=int, default=IM2LATEX_STYLE.size, choices=SIZES, help="point size to typeset at")
    ap.add_argument("--dpi", type=int, default=IM2LATEX_STYLE.dpi, help="resolution to typeset at")
    args = ap.parse_args()
    found = read_and_render(args.data, args.weights, args.limit, args.beam, Style(dpi=args.dpi, size=args.size))
    readings, texts, references = found.readings, found.texts, found.references
    half = halves(len(references))

    def row(label: str, chosen: list[str]) -> str:
        return f"| {label} | {cells(references, chosen)} |"

    print(f"`python bench/rerank_weights.py {' '.join(sys.argv[1:])}`: {args.data}, shipped "
          f"WEIGHT {WEIGHT}, SIZE_WEIGHT {SIZE_WEIGHT}, typeset at {args.size}pt and {args.dpi} dpi; "
          f"{len(half['tune'])} images to tune, "
          f"{len(half['check'])} to check ({found.unreadable} unreadable left out)\n")
    print(f"| WEIGHT, SIZE_WEIGHT | {HEADER} |\n" + "| --- " * 7 + "|")
    print(row("beam, not reranked", [ts[0] for ts in texts]), flush=True)
    print(row("the reading nearest the label (what a perfect choice would reach)",
              found.nearest_label()), flush=True)
    for size_weight in (float(w) for w in args.size_grid.split(",")):
        apart = distances(found.images, texts, found.rendered, size_weight)
        for weight in (float(w) for w in args.grid.split(",")):
            chosen = [rs[order([s for _, s in rs], ds, weight)[0]][0] for rs, ds in zip(readings, apart)]
            print(row(f"{weight:g}, {size_weight:g}", chosen), flush=True)


if __name__ == "__main__":
    main()
