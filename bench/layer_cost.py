"""What another Transformer layer costs in reading time, before training one.

Grows the shipped weights by `--decoder` decoder and `--encoder` encoder layers whose output
projections start at zero (`models.with_layers`, as `train.add_decoder_layers` does), so the
grown model reads exactly as the shipped one: the same tokens, the same number of steps, only
the layers' work added. Exports it to a temporary directory, reads the first N val images with
each model in turn, `--rounds` times (timings drift over a run; alternating shares the drift),
checks the readings are the same and prints each run's images/s.

    python bench/layer_cost.py --decoder 1 --n 300 --rounds 3
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from img2latex import LatexOCR
from img2latex.data import read_labels
from img2latex.export import export_onnx
from img2latex.models.model import with_layers
from img2latex.weights import PACKAGED, load_weights, save_weights


def grown(directory: Path, encoder: int, decoder: int) -> None:
    """The shipped weights with the new layers, and their graphs, in `directory`."""
    model, config, vocab = load_weights(PACKAGED)
    model = with_layers(model, encoder=encoder, decoder=decoder).eval()
    save_weights(model, dataclasses.replace(config, model=model.cfg), vocab, directory)
    export_onnx(directory, directory)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--n", type=int, default=300, help="first N images")
    ap.add_argument("--encoder", type=int, default=0, help="encoder layers to add")
    ap.add_argument("--decoder", type=int, default=1, help="decoder layers to add")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--beam", type=int, default=1)
    args = ap.parse_args()
    paths = [Path(args.data) / "images" / name for name, _ in read_labels(args.data)[: args.n]]
    with tempfile.TemporaryDirectory() as tmp:
        grown(Path(tmp), args.encoder, args.decoder)
        models = {"shipped": LatexOCR(PACKAGED), f"+{args.encoder} encoder, +{args.decoder} decoder": LatexOCR(tmp)}
        speeds: dict[str, list[float]] = {name: [] for name in models}
        readings: dict[str, list[str]] = {}
        for _ in range(args.rounds):
            for name, ocr in models.items():
                started = time.perf_counter()
                readings[name] = [p.latex for p in ocr.predict_batch(paths, args.beam, errors="keep")]
                speeds[name].append(len(paths) / (time.perf_counter() - started))
    first, second = readings.values()
    same = sum(a == b for a, b in zip(first, second))
    print(f"`python bench/layer_cost.py --encoder {args.encoder} --decoder {args.decoder} --n {len(paths)} "
          f"--rounds {args.rounds} --beam {args.beam}`: the same reading for {same} / {len(paths)} images\n")
    print("| model | images/s, each round | mean |\n| --- | --- | --- |")
    for name, runs in speeds.items():
        print(f"| {name} | {', '.join(f'{s:.2f}' for s in runs)} | {sum(runs) / len(runs):.2f} |")
    base, more = (sum(runs) / len(runs) for runs in speeds.values())
    print(f"\nThe grown model reads {1 - more / base:.1%} fewer images a second.")


if __name__ == "__main__":
    main()
