"""Do the onnxruntime backends read val images as PyTorch does?

Reads the first N val images (all by default) with each backend, greedy, and reports how
many outputs are token for token the same as PyTorch's, and each backend's BLEU-4, edit
distance and speed. The int8 graphs are exported to a temporary directory first.

    python bench/backend_agreement.py --n 8475
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from img2latex import LatexOCR
from img2latex.data import read_labels
from img2latex.export import export_onnx
from img2latex.metrics import score
from img2latex.weights import PACKAGED


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--n", type=int, help="first N images (default: all)")
    ap.add_argument("--backends", default="torch,onnx,onnx-int8", help="the first is the reference")
    args = ap.parse_args()
    items = read_labels(args.data)[: args.n]
    paths = [Path(args.data) / "images" / name for name, _ in items]
    refs = [formula for _, formula in items]
    print(f"first {len(items)} images of `{args.data}`, greedy; "
          f"`python bench/backend_agreement.py --n {len(items)}`\n")
    print("| backend | same output as the first | BLEU-4 | edit distance | images/s |\n| --- | --- | --- | --- | --- |")
    reference: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        export_onnx(PACKAGED, tmp, quantize=True)
        for backend in args.backends.split(","):
            ocr = LatexOCR(tmp if backend == "onnx-int8" else PACKAGED, backend=backend)
            started = time.perf_counter()
            latex = [p.latex for p in ocr.predict_batch(paths, errors="keep")]
            speed = len(paths) / (time.perf_counter() - started)
            reference = reference or latex
            same = sum(a == b for a, b in zip(latex, reference))
            s = score(refs, latex)
            print(f"| {backend} | {same} / {len(latex)} ({same / len(latex):.2%}) | {s.bleu:.4f} | "
                  f"{s.edit_distance:.4f} | {speed:.1f} |", flush=True)


if __name__ == "__main__":
    main()
