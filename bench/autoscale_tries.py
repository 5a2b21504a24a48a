"""How far autoscale's estimate misses, and which resized tries around it read zoomed images best.

Autoscale (image.py) estimates an image's glyph size and, outside `SCALE_BAND`, also reads
it resized by each of `AUTOSCALE_TRIES` times its factor, the best-scored reading winning.
First, for the first `--limit` val images zoomed by each factor, where autoscale's factor
would bring them back to relative to their own size (1 is exact; no model needed). Then, for
each entry of `--tries` (factors joined by `+`), greedy scores on those images at each zoom,
the entry picked on the first half (`tune`) and checked on the second (`check`).

    python bench/autoscale_tries.py --limit 600 --zooms 0.6,1 --tries 1,0.9+1+1.1,0.8+1+1.2,0.75+1+1.33
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from halves import HEADER, cells, halves

from img2latex import LatexOCR, image
from img2latex.data import read_labels


def landing(zoomed: list[np.ndarray], zoom: float, mean_scale: float) -> np.ndarray:
    """The size autoscale's resized view reads each of the `zoomed` images at, over its own size
    at 1x (the zoom where the estimate falls inside the band: read as it is)."""
    sizes = []
    for gray in zoomed:
        factor = image.autoscale_factor(gray, image.REFERENCE_GLYPH_HEIGHT * mean_scale)
        sizes.append(zoom * factor / mean_scale if factor else zoom)
    return np.array(sizes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--weights", help="weights directory (default: the shipped model)")
    ap.add_argument("--limit", type=int, default=600, help="first N images")
    ap.add_argument("--zooms", default="0.6,1")
    ap.add_argument("--tries", default="1,0.9+1+1.1,0.8+1+1.2,0.75+1+1.33",
                    help="comma-separated entries of AUTOSCALE_TRIES, factors joined by +")
    args = ap.parse_args()
    ocr = LatexOCR(args.weights)
    items = read_labels(args.data)[: args.limit]
    grays = [image.load_gray(Path(args.data) / "images" / name) for name, _ in items]
    zoomed = {z: [image.rescale(g, z) if z != 1 else g for g in grays]
              for z in (float(z) for z in args.zooms.split(","))}  # resized once, read by every entry
    half = halves(len(items))
    print(f"`python bench/autoscale_tries.py {' '.join(sys.argv[1:])}`: {args.data}, greedy, read scales "
          f"{'+'.join(f'{s:g}' for s in ocr.read_scales)}, band {image.SCALE_BAND}; {len(half['tune'])} images "
          f"to tune, {len(half['check'])} to check\n")
    print("| zoom | resized | where the resized view lands: median | 10th percentile | 90th percentile |\n"
          + "| --- " * 5 + "|")
    for zoom, inputs in zoomed.items():
        sizes = landing(inputs, zoom, float(np.mean(ocr.read_scales)))
        resized = np.mean([s != zoom for s in sizes])
        print(f"| {zoom:g}x | {resized:.0%} | " + " | ".join(f"{q:.3f}" for q in np.percentile(sizes, [50, 10, 90])) + " |")
    print(f"\n| tries | zoom | {HEADER} | images/s |\n" + "| --- " * 9 + "|")
    for entry in args.tries.split(","):
        image.AUTOSCALE_TRIES = tuple(float(t) for t in entry.split("+"))
        for zoom, inputs in zoomed.items():
            started = time.perf_counter()
            latex = [p.latex for p in ocr.predict_batch(inputs, errors="keep")]
            speed = len(inputs) / (time.perf_counter() - started)
            print(f"| {entry} | {zoom:g}x | {cells([f for _, f in items], latex)} | {speed:.1f} |", flush=True)


if __name__ == "__main__":
    main()
