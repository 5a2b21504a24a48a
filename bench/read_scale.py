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

from img2latex import LatexOCR
from img2latex.data import read_labels
from img2latex.metrics import score


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
    halves = {"tune": range(len(items) // 2), "check": range(len(items) // 2, len(items))}
    print(f"`python bench/read_scale.py {' '.join(sys.argv[1:])}`: {args.data}, beam {args.beam}, "
          f"the weights' read scales {'+'.join(f'{s:g}' for s in ocr.read_scales)}; {len(halves['tune'])} images to tune, "
          f"{len(halves['check'])} to check\n")
    print("| read scale | tune BLEU-4 | tune edit distance | tune exact match | check BLEU-4 "
          "| check edit distance | check exact match | images/s |\n" + "| --- " * 8 + "|")
    for entry in args.scales.split(","):
        ocr.read_scales = sorted(float(s) for s in entry.split("+"))
        started = time.perf_counter()
        latex = [p.latex for p in ocr.predict_batch(paths, args.beam, errors="keep")]
        speed = len(paths) / (time.perf_counter() - started)
        cells = [score([items[i][1] for i in half], [latex[i] for i in half]) for half in halves.values()]
        print(f"| {entry} | " + " | ".join(f"{s.bleu:.4f} | {s.edit_distance:.4f} | {s.exact_match:.2%}"
                                                   for s in cells) + f" | {speed:.1f} |", flush=True)


if __name__ == "__main__":
    main()
