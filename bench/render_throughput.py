"""Rendering throughput: formulas per second through `render_dataset` (pdflatex + crop).

    python bench/render_throughput.py --n 2000 --workers 2
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time

from img2latex.render import read_formulas, render_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--formulas", default="../shared/data/formulas/formulas.tsv")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    formulas = random.Random(args.seed).sample(read_formulas(args.formulas), args.n)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        ok, bad = render_dataset(formulas, out, workers=args.workers, progress=False)
        seconds = time.perf_counter() - started
    print(f"{args.n} formulas in {seconds:.1f} s with {args.workers} workers: {args.n / seconds:.1f} formulas/s "
          f"({ok} rendered, {bad} skipped)")


if __name__ == "__main__":
    main()
