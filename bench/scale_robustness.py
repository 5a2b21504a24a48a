"""Accuracy on val images zoomed in and out, with and without autoscale.

Users' screenshots are rarely at the training scale. This scores the first N val images
resized by each factor, reading them as they are and with `autoscale` (the default).

    python bench/scale_robustness.py --n 300 --scales 0.6,1.0,1.5,2.5
    python bench/scale_robustness.py --n 300 --band 0.7,1.43   # autoscale with another band
"""

from __future__ import annotations

import argparse

from img2latex import LatexOCR, image
from img2latex.data import read_labels
from img2latex.evaluate import evaluate


def resized_share(ocr: LatexOCR, data: str, n: int, scale: float) -> float:
    """The share of the readable images that `ocr` also reads resized (a second decoding each)."""
    views = []
    for name, _ in read_labels(data)[:n]:
        gray = image.load_gray(f"{data}/images/{name}")
        try:
            views.append(len(ocr.load(image.rescale(gray, scale) if scale != 1 else gray)))
        except ValueError:  # a blank image: nothing to read
            continue
    return sum(v > 1 for v in views) / len(views)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--weights", help="weights directory (default: the shipped model)")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--scales", default="0.6,1.0,1.5,2.5")
    ap.add_argument("--read-scales", help="comma-separated factors to read at (default: the weights' own), e.g. 1,1.1,1.2")
    ap.add_argument("--band", help="autoscale's SCALE_BAND, low,high (default: the shipped one)")
    args = ap.parse_args()
    if args.band:
        image.SCALE_BAND = tuple(float(b) for b in args.band.split(","))
    read_scales = [float(s) for s in args.read_scales.split(",")] if args.read_scales else None
    readers = {"as is": LatexOCR(args.weights, autoscale=False, read_scales=read_scales),
               "autoscale": LatexOCR(args.weights, read_scales=read_scales)}
    print(f"first {args.n} images of {args.data}, greedy, read scales "
          f"{'+'.join(f'{s:g}' for s in readers['autoscale'].read_scales)}, autoscale band {image.SCALE_BAND}, "
          f"tries {image.AUTOSCALE_TRIES}, {'split at wide gaps' if readers['autoscale'].split else 'read whole'}\n")
    print("| scale | reading | BLEU-4 | edit distance | exact match | read resized too |\n| --- | --- | --- | --- | --- | --- |")
    for scale in (float(s) for s in args.scales.split(",")):
        for name, ocr in readers.items():
            r = evaluate(ocr, args.data, limit=args.n, scale=scale)
            share = f"{resized_share(ocr, args.data, args.n, scale):.0%}" if ocr.autoscale else ""
            print(f"| {scale:g}x | {name} | {r['bleu']:.4f} | {r['edit_distance']:.4f} | {r['exact_match']:.1%} | {share} |",
                  flush=True)


if __name__ == "__main__":
    main()
