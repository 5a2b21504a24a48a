"""Accuracy on val images zoomed in and out, with and without autoscale.

Users' screenshots are rarely at the training scale. This scores the first N val images
resized by each factor, reading them as they are and with `autoscale` (the default).

    python bench/scale_robustness.py --n 300 --scales 0.6,1.0,1.5,2.5
    python bench/scale_robustness.py --n 300 --band 0.7,1.43   # autoscale with another band
"""

from __future__ import annotations

import argparse

from img2latex import LatexOCR, image
from img2latex.evaluate import evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--weights", help="weights directory (default: the shipped model)")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--scales", default="0.6,1.0,1.5,2.5")
    ap.add_argument("--band", help="autoscale's SCALE_BAND, low,high (default: the shipped one)")
    args = ap.parse_args()
    if args.band:
        image.SCALE_BAND = tuple(float(b) for b in args.band.split(","))
    readers = {"as is": LatexOCR(args.weights, autoscale=False), "autoscale": LatexOCR(args.weights)}
    print(f"first {args.n} images of {args.data}, greedy, autoscale band {image.SCALE_BAND}\n")
    print("| scale | reading | BLEU-4 | edit distance | exact match |\n| --- | --- | --- | --- | --- |")
    for scale in (float(s) for s in args.scales.split(",")):
        for name, ocr in readers.items():
            r = evaluate(ocr, args.data, limit=args.n, scale=scale)
            print(f"| {scale:g}x | {name} | {r['bleu']:.4f} | {r['edit_distance']:.4f} | {r['exact_match']:.1%} |", flush=True)


if __name__ == "__main__":
    main()
