"""Val scores with the decoding grammar's cap on spacing commands in a row, at several caps.

Where the model loses its place in a wide image it can write `\\;` until the length limit;
the grammar allows at most `grammar.MAX_SPACES` spacing commands in a row. This reads the
same images with each cap (0: none, the nesting rules only) to show what the cap buys.

    python bench/spacing_cap.py --caps 0,2,3,4,8
"""

from __future__ import annotations

import argparse

from img2latex import LatexOCR
from img2latex.evaluate import evaluate
from img2latex.grammar import MAX_SPACES, Grammar


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--weights", help="weights directory (default: the shipped model)")
    ap.add_argument("--limit", type=int, help="first N images only")
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument("--caps", default="0,2,3,4,8")
    ap.add_argument("--threads", type=int, help="CPU threads (default: one per core)")
    args = ap.parse_args()
    ocr = LatexOCR(args.weights, threads=args.threads)
    print(f"`python bench/spacing_cap.py --caps {args.caps}{f' --limit {args.limit}' if args.limit else ''}"
          f"{f' --beam {args.beam}' if args.beam > 1 else ''}`: {args.data}, beam {args.beam}, "
          f"shipped cap {MAX_SPACES}\n")
    print("| spacing commands in a row | BLEU-4 | edit distance | exact match | images/s |\n| --- | --- | --- | --- | --- |")
    for cap in (int(c) for c in args.caps.split(",")):
        ocr.grammar = Grammar(ocr.vocab, max_spaces=cap or None)
        r = evaluate(ocr, args.data, beam=args.beam, limit=args.limit)
        print(f"| {cap or 'any number'} | {r['bleu']:.4f} | {r['edit_distance']:.4f} | {r['exact_match']:.2%} | "
              f"{r['images_per_second']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
