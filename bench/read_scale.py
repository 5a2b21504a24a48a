"""Val scores of one model read at several read scales, chosen on one half, checked on the other.

A model reads best near the glyph size of its training images, which need not be
im2latex-100k's (the renders are calibrated to it, the scale jitter is not centred on it).
Reads the first `--limit` val images at each read scale (`DataConfig.read_scales`: the
factors reading enlarges images by) with autoscale on, as `LatexOCR` does; the scale is picked
on the first half (`tune`) and the second half (`check`) shows whether the gain holds. An
entry of several factors joined by `+` reads each image at all of them, averaged (a scale
ensemble, ensemble.py).

    python bench/read_scale.py --limit 2000 --scales 1,1.05,1.1,1.15,1.2,1.25
    python bench/read_scale.py --limit 1000 --scales 1.1,1+1.1+1.2 --beam 5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from halves import HEADER, cells, halves

from img2latex import LatexOCR
from img2latex.data import read_labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--weights", help="weights directory (default: the shipped model)")
    ap.add_argument("--limit", type=int, default=2000, help="first N images")
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument("--scales", default="1,1.05,1.1,1.15,1.2,1.25",
                    help="read scales to try, comma-separated; 1+1.1+1.2: an ensemble of those")
    args = ap.parse_args()
    ocr = LatexOCR(args.weights)
    items = read_labels(args.data)[: args.limit]
    paths = [Path(args.data) / "images" / name for name, _ in items]
    half = halves(len(items))
    print(f"`python bench/read_scale.py {' '.join(sys.argv[1:])}`: {args.data}, beam {args.beam}, "
          f"the weights' read scales {'+'.join(f'{s:g}' for s in ocr.read_scales)}; {len(half['tune'])} images to tune, "
          f"{len(half['check'])} to check\n")
    print(f"| read scale | {HEADER} | images/s |\n" + "| --- " * 8 + "|")
    for entry in args.scales.split(","):
        ocr.read_scales = sorted(float(s) for s in entry.split("+"))
        started = time.perf_counter()
        latex = [p.latex for p in ocr.predict_batch(paths, args.beam, errors="keep")]
        speed = len(paths) / (time.perf_counter() - started)
        print(f"| {entry} | {cells([f for _, f in items], latex)} | {speed:.1f} |", flush=True)


if __name__ == "__main__":
    main()
