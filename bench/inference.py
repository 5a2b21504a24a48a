"""CPU inference: latency, throughput, start-up, peak memory and BLEU per backend and decoding.

For each backend (PyTorch, onnxruntime, onnxruntime with int8 weights) and decoding mode
(greedy, beam 5) on the first val images:
- latency: `LatexOCR.predict` on one image at a time, model already loaded (median, p95), in
  a fresh process;
- batch: `img2latex predict FOLDER --format jsonl` on a folder of `--n-batch` images, a
  fresh process timed from start to exit, so loading is included; its BLEU-4 is scored;
- start-up: `img2latex predict one.png`, from process start to exit;
- peak RSS: the larger of the two processes' maximum resident memory.
`latex-ocr-junia` (an installable alternative that ships its weights on PyPI) is timed on the
first `--n-other` images when it is installed, its model loaded once, with its default beam of 3.

    python bench/inference.py --n-latency 100 --n-batch 500 --n-other 10 --out results/inference.md
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from img2latex import LatexOCR
from img2latex.data import read_labels
from img2latex.export import export_onnx
from img2latex.metrics import score
from img2latex.normalize import NormalizeError, normalize
from img2latex.tokenizer import tokenize
from img2latex.weights import PACKAGED

MODES = {"greedy": 1, "beam 5": 5}


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def latency(read: Callable[[Path], str], paths: list[Path]) -> tuple[float, float]:
    """Median and p95 seconds of `read` per image, after one warm-up read."""
    read(paths[0])
    times = []
    for path in paths:
        started = time.perf_counter()
        read(path)
        times.append(time.perf_counter() - started)
    return percentiles(times)


def peak_rss_mb(pid: int) -> float:
    """A process's high-water mark of resident memory (VmHWM), 0.0 once it is gone.

    Not `ru_maxrss`: a child forked from this (large) benchmark process would report the
    parent's size from before its exec."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in lines if line.startswith("VmHWM:")), 0.0)


def run(module: str, args: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB, sampled every 10 ms) and stdout of `python -m MODULE ARGS`."""
    started, peak = time.perf_counter(), 0.0
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, "-m", module, *args], stdout=out, stderr=subprocess.DEVNULL)
        while proc.poll() is None:
            peak = max(peak, peak_rss_mb(proc.pid))
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode()
    if proc.returncode not in ok:
        raise RuntimeError(f"python -m {module} {' '.join(args)} exited with {proc.returncode}")
    return seconds, peak, text


def api_latency(backend: str, weights: Path, beam: int, paths: list[Path]) -> tuple[float, float]:
    return latency(LatexOCR(weights, backend=backend, beam=beam), paths)


def measure(backend: str, weights: Path, beam: int, paths: list[Path], folder: Path, refs: list[str]) -> dict:
    # A fresh process for each: what an earlier backend leaves behind (PyTorch's thread pool,
    # memory) slowed the next one's latency by a third in this one.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        median, p95 = pool.apply(api_latency, (backend, weights, beam, paths))
    flags = ["--weights", str(weights), "--backend", backend, "--beam", str(beam)]
    start_s, start_rss, _ = run("img2latex", ["predict", str(paths[0]), *flags])
    # Exit status 1: some files were unreadable (a few val images are blank pages); they count as read wrong.
    batch_s, batch_rss, text = run("img2latex", ["predict", str(folder), "--format", "jsonl", *flags], ok=(0, 1))
    latex = [json.loads(line).get("latex", "") for line in text.splitlines()]
    if len(latex) != len(refs):
        raise RuntimeError(f"{len(latex)} lines for {len(refs)} images")
    return {"median": median, "p95": p95, "batch": len(refs) / batch_s, "startup": start_s,
            "rss": max(start_rss, batch_rss), "bleu": score(refs, latex).bleu}


def canonical(latex: str) -> str:
    """Raw LaTeX in im2latex's token form, to compare like for like; as tokens if it does not parse."""
    try:
        return normalize(latex)
    except NormalizeError:
        return " ".join(tokenize(latex))


def junia_row(paths: list[Path], refs: list[str]) -> dict | None:
    """latex-ocr-junia's own model and decoding, loaded once (its `predict_image` reloads it per
    call), reading one image at a time (it has no batch mode): latency, images/s and BLEU-4 from
    the same pass; start-up and peak RSS from its command line on one image. None where it is not
    installed or asked for no images (`--n-other 0`)."""
    if not paths:
        return None
    try:
        import torch
        from latex_ocr_junia import predict as junia
    except ImportError:
        return None
    config = junia.load_model_config(junia.ASSETS_DIR / "model_config.json")
    tokenizer = junia.LatexTokenizer.load(junia.ASSETS_DIR / "tokenizer.json")
    model = junia.build_model(config)
    junia.load_checkpoint(model, junia.ASSETS_DIR / "best.pt", device=torch.device("cpu"))
    model.eval()
    latex, times = [], []
    for path in paths:
        started = time.perf_counter()
        image = junia.load_and_preprocess_image(path.resolve(), image_height=config.image_height,
                                                image_width=config.image_width, channels=1).unsqueeze(0)
        with torch.no_grad():
            ids = model.generate(images=image, bos_token_id=tokenizer.bos_id, eos_token_id=tokenizer.eos_id,
                                 max_length=config.max_length, beam_size=3, length_penalty=0.6, no_repeat_ngram_size=0)
        latex.append(canonical(tokenizer.decode(ids[0].numpy())))
        times.append(time.perf_counter() - started)
    median, p95 = percentiles(times)
    start_s, rss, _ = run("latex_ocr_junia.predict", [str(paths[0])])
    return {"median": median, "p95": p95, "batch": len(times) / sum(times), "startup": start_s, "rss": rss,
            "bleu": score(refs, latex).bleu}


def table(rows: list[tuple[str, str, dict]]) -> str:
    lines = ["| backend | decoding | latency median (s) | latency p95 (s) | batch (images/s) | start-up (s) | peak RSS (MB) | BLEU-4 |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for backend, mode, r in rows:
        lines.append(f"| {backend} | {mode} | {r['median']:.3f} | {r['p95']:.3f} | {r['batch']:.3g} | {r['startup']:.2f} "
                     f"| {r['rss']:.0f} | {r['bleu']:.4f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--n-latency", type=int, default=100, help="images read one at a time")
    ap.add_argument("--n-batch", type=int, default=500, help="images in the batch folder (BLEU is scored on them)")
    ap.add_argument("--n-other", type=int, default=10, help="images latex-ocr-junia reads (one at a time; it is slow)")
    ap.add_argument("--backends", default="torch,onnx,onnx-int8")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--out", help="also write the table to this Markdown file (e.g. results/inference.md)")
    args = ap.parse_args()
    items = read_labels(args.data)[: max(args.n_latency, args.n_batch, args.n_other)]
    paths = [Path(args.data) / "images" / name for name, _ in items]
    refs = [formula for _, formula in items[: args.n_batch]]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "batch"
        folder.mkdir()
        for k, path in enumerate(paths[: args.n_batch]):
            (folder / f"{k:06d}{path.suffix}").symlink_to(path.resolve())  # sorted like `refs`
        int8 = Path(tmp) / "int8"
        export_onnx(PACKAGED, int8, quantize=True)
        for backend in args.backends.split(","):
            weights = int8 if backend == "onnx-int8" else PACKAGED
            for mode in args.modes.split(","):
                rows.append((backend, mode, measure(backend, weights, MODES[mode], paths[: args.n_latency], folder, refs)))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    junia = junia_row(paths[: args.n_other], [formula for _, formula in items[: args.n_other]])
    if junia is not None:
        rows.append((f"latex-ocr-junia {version('latex-ocr-junia')}", "beam 3", junia))
    header = (f"{os.cpu_count()} CPU cores; first {args.n_latency} (latency) and {args.n_batch} (batch, BLEU) "
              f"images of `{args.data}`; latex-ocr-junia, where installed, on the first {args.n_other} for all columns; "
              f"`python bench/inference.py --n-latency {args.n_latency} --n-batch {args.n_batch} --n-other {args.n_other}`")
    report = header + "\n\n" + table(rows) + "\n"
    print("\n" + report)
    if args.out:
        Path(args.out).write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
