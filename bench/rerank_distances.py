"""Other ways to measure how unlike a reading's rendering is to the image, for render and compare.

rerank.py's `image_distance` is the mean difference of the two ink crops blurred by one pixel.
This reads the first `--limit` val images with the beam once, typesets every reading once, and
for each other measure (blur radii, a high percentile of the difference instead of its mean,
the chamfer distance between the two inks, the column ink profiles) picks the weight and the
size weight on the first half of the images (`tune`) and shows them on the second (`check`).

    python bench/rerank_distances.py --limit 2000 --beam 5
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from collections.abc import Callable

import numpy as np
from beam_readings import BeamReadings, add_arguments, read_and_render
from halves import HEADER, cells, halves
from rapidfuzz.distance import Levenshtein
from scipy import ndimage

from img2latex.metrics import score
from img2latex.render import IM2LATEX_STYLE
from img2latex.rerank import BLUR, SIZE_WEIGHT, WEIGHT, aligned, blurred, order
from img2latex.tokenizer import tokenize

Measure = Callable[[np.ndarray, np.ndarray], float]  # ink crops of the image and the resized rendering -> 0..


def blur_mean(radius: float) -> Measure:
    return lambda a, b: float(np.abs(blurred(a, radius) - blurred(b, radius)).mean() / 255)


def blur_percentile(q: float) -> Measure:
    """Where one glyph differs, the difference is high in one place; the mean spreads it thin."""
    return lambda a, b: float(np.percentile(np.abs(blurred(a) - blurred(b)), q) / 255)


def chamfer(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance from each ink pixel to the other image's nearest ink, in crop heights."""
    ink_a, ink_b = a < 128, b < 128
    if not (ink_a.any() and ink_b.any()):
        return 1.0
    to_a, to_b = ndimage.distance_transform_edt(~ink_a), ndimage.distance_transform_edt(~ink_b)
    return float((to_b[ink_a].mean() + to_a[ink_b].mean()) / 2 / a.shape[0])


def column_profile(a: np.ndarray, b: np.ndarray) -> float:
    """How differently the ink is spread along the line (total variation of the column sums)."""
    sums = [ndimage.gaussian_filter1d((255 - x.astype(np.float32)).sum(0), 2) for x in (a, b)]
    return float(np.abs(sums[0] / (sums[0].sum() + 1) - sums[1] / (sums[1].sum() + 1)).sum())


SHIPPED = f"mean of the difference blurred by {BLUR:g} px (shipped)"  # rerank.image_distance's
MEASURES: dict[str, Measure] = {
    SHIPPED: blur_mean(BLUR),
    **{f"mean of the difference blurred by {r:g} px": blur_mean(r) for r in (0.5, 2, 3)},
    "95th percentile of the blurred difference": blur_percentile(95),
    "99th percentile of the blurred difference": blur_percentile(99),
    "chamfer distance between the inks": chamfer,
    "column ink profiles": column_profile,
}


def visible_misses(found: BeamReadings, nearest: list[str], picks: list[str]) -> tuple[int, int]:
    """How many images have a reading nearer their label than the pick, and how many of those
    typeset it to other pixels than the pick (a difference a measure of likeness could see)."""
    def apart(text: str, reference: str) -> int:
        return Levenshtein.distance(tokenize(reference), tokenize(text))

    missed = [(best, pick) for best, pick, ref in zip(nearest, picks, found.references)
              if apart(best, ref) < apart(pick, ref)]
    alike = sum(found.rendered[a] is not None and found.rendered[b] is not None
                and np.array_equal(found.rendered[a], found.rendered[b]) for a, b in missed)
    return len(missed), len(missed) - alike


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap, limit=2000)
    ap.add_argument("--weights-grid", dest="grid", default="0.25,0.5,1,2,4,8,16,32", help="weights to try")
    ap.add_argument("--size-weights", dest="size_grid", default="0,0.15,0.3,0.6", help="size weights to try")
    args = ap.parse_args()
    found = read_and_render(args.data, args.weights, args.limit, args.beam, IM2LATEX_STYLE)
    refs, readings, nearest = found.references, found.readings, found.nearest_label()
    tune, check = halves(len(refs)).values()
    crops = [[None if found.rendered[t] is None else aligned(image, found.rendered[t]) for t, _ in rs]
             for image, rs in zip(found.images, readings)]

    def chosen(values: list[list[float]], weight: float, size_weight: float) -> list[str]:
        apart = [[math.inf if c is None else v + size_weight * c[2] for c, v in zip(cs, vs)]
                 for cs, vs in zip(crops, values)]
        return [rs[order([s for _, s in rs], ds, weight)[0]][0] for rs, ds in zip(readings, apart)]

    print(f"`python bench/rerank_distances.py {' '.join(sys.argv[1:])}`: {args.data}, typeset at "
          f"{IM2LATEX_STYLE.size}pt and {IM2LATEX_STYLE.dpi} dpi; weights picked on the {len(tune)} images to tune, "
          f"shown on the {len(check)} to check ({found.unreadable} unreadable left out)\n")
    print(f"| measure | weight, size weight | {HEADER} |\n" + "| --- " * 8 + "|")
    print(f"| beam, not reranked | | {cells(refs, [ts[0] for ts in found.texts])} |")
    print(f"| the reading nearest the label | | {cells(refs, nearest)} |", flush=True)
    grid = list(itertools.product([float(w) for w in args.grid.split(",")],
                                  [float(w) for w in args.size_grid.split(",")]))
    for name, measure in MEASURES.items():
        values = [[0.0 if c is None else measure(c[0], c[1]) for c in cs] for cs in crops]
        if name == SHIPPED:
            shipped = chosen(values, WEIGHT, SIZE_WEIGHT)
            print(f"| {name} | {WEIGHT:g}, {SIZE_WEIGHT:g} | {cells(refs, shipped)} |")
        picks = {w: chosen(values, *w) for w in grid}
        best = max(grid, key=lambda w: score([refs[i] for i in tune], [picks[w][i] for i in tune]).bleu)
        print(f"| {name} | {best[0]:g}, {best[1]:g} | {cells(refs, picks[best])} |", flush=True)
    missed, visible = visible_misses(found, nearest, shipped)
    print(f"\n{missed} images have a reading nearer their label than the shipped measure's pick; "
          f"{visible} of them typeset it to other pixels than the pick.")


if __name__ == "__main__":
    main()
