"""Command line: `img2latex predict|evaluate|train|render|variants|pack|plot|export|serve`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api import LatexOCR

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def _expand(paths: list[str]) -> list[str]:
    """Files as given; a directory stands for the images in it, sorted by name."""
    out = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out += sorted(str(f) for f in path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            out.append(p)
    return out


def _scales(text: str) -> list[float]:
    """`1,1.1,1.2` -> [1.0, 1.1, 1.2]; argparse reports a bad value as a usage error."""
    try:
        scales = [float(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not comma-separated numbers: {text!r}") from None
    if not all(s > 0 for s in scales):
        raise argparse.ArgumentTypeError(f"read scales must be above 0, not {text!r}")
    return scales


def _model_flags(p: argparse.ArgumentParser) -> None:
    """The options of `LatexOCR` that predict, evaluate and serve share."""
    from .config import BACKENDS
    from .style import DEFAULT_STYLE, STYLES

    p.add_argument("--weights", help="weights directory (default: the shipped model)")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="auto: onnxruntime where the weights have exported graphs, else PyTorch")
    p.add_argument("--no-autoscale", dest="autoscale", action="store_false",
                   help="read images at their size, without resizing zoomed ones to the training scale")
    p.add_argument("--no-split", dest="split", action="store_false",
                   help="read every image whole, not also piece by piece where wide blank gaps split it")
    p.add_argument("--read-scales", type=_scales, metavar="S[,S...]",
                   help="factors to read every image enlarged by, e.g. 1.1 (fast) or 1,1.1,1.2 (each read, the readings "
                        "averaged); default: the weights' own")
    p.add_argument("--threads", type=int, help="CPU threads (default: one per core; onnxruntime runs the decoder step on one)")
    p.add_argument("--workers", type=int,
                   help="batches read at once, a thread each (default: one per core on onnxruntime, one on PyTorch; "
                        "the readings do not change)")
    p.add_argument("--style", choices=STYLES, default=DEFAULT_STYLE,
                   help="spelling of look-alike commands: im2latex ({ \\cal A }, as im2latex-100k) or modern (\\mathcal { A })")
    p.add_argument("--no-grammar", dest="grammar", action="store_false",
                   help="let the model close braces, environments and \\left/\\right as it likes and write any number of "
                        "spacing commands in a row (default: they nest, and at most two spaces come in a row)")
    p.add_argument("--loop-beam", type=int, default=5, metavar="N",
                   help="read again by beam search of width N the images whose greedy reading is caught in a loop "
                        "(1: keep it)")


def _beam_flags(p: argparse.ArgumentParser) -> None:
    """How predict and evaluate search: the beam, and whether render and compare picks from it."""
    p.add_argument("--beam", type=int, default=1, help="beam width (1: greedy)")
    p.add_argument("--rerank", action="store_true",
                   help="typeset the beam's readings with pdflatex and take the one most like the image (needs --beam 2 or more)")


def _selection_flags(p: argparse.ArgumentParser) -> None:
    """The options that pick formulas from a corpus TSV (see `_formulas`)."""
    which = p.add_mutually_exclusive_group()
    which.add_argument("--sources", help="comma-separated: only formulas from these sources (first TSV column)")
    which.add_argument("--exclude-sources", help="comma-separated: only formulas from other sources")
    p.add_argument("--match", help="only formulas where this regular expression matches (Python syntax)")


def _ocr(args: argparse.Namespace) -> LatexOCR:
    from .api import LatexOCR

    return LatexOCR(args.weights, beam=args.beam, autoscale=args.autoscale, backend=args.backend, threads=args.threads,
                    style=args.style, grammar=args.grammar, rerank=args.rerank, read_scales=args.read_scales,
                    split=args.split, workers=args.workers, loop_beam=args.loop_beam)


def cmd_predict(args: argparse.Namespace) -> int:
    images = _expand(args.images)
    ocr = _ocr(args)
    failed = 0
    for start in range(0, len(images), 256):  # print as we go on large folders
        chunk = images[start : start + 256]
        for image, p in zip(chunk, ocr.predict_batch(chunk, errors="keep")):
            failed += p.error is not None
            if args.format == "jsonl":
                record = {"image": image, "latex": p.latex, "score": p.score} if p.error is None else {"image": image, "error": p.error}
                print(json.dumps(record, ensure_ascii=False), flush=True)
            elif p.error is not None:
                print(f"img2latex: {p.error}" if image in p.error else f"img2latex: {image}: {p.error}", file=sys.stderr)
            else:
                print(p.latex if len(images) == 1 else f"{image}\t{p.latex}", flush=True)
    return 1 if failed else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, to_markdown, write_report

    result = evaluate(_ocr(args), args.data, beam=args.beam, limit=args.limit,
                      save_predictions=args.save_predictions, scale=args.scale, progress=True)
    print(to_markdown(result))
    json_path, md_path = write_report(result, args.out)
    print(f"written: {json_path} {md_path}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from .plot import plot_curve

    print(f"written: {plot_curve(args.metrics, args.out, args.title)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .config import load_config
    from .train import train

    cfg = load_config(args.config)
    for key in ("out_dir", "max_steps", "max_minutes", "device"):
        if getattr(args, key) is not None:
            setattr(cfg.train, key, getattr(args, key))
    best = train(cfg, resume=args.resume)
    print(f"best model: {best}")
    return 0


def _ints(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise SystemExit(f"img2latex: expected comma-separated integers, got {text!r}") from None


def _formulas(args: argparse.Namespace) -> list[str]:
    """The formulas of `--formulas` that `--sources`, `--exclude-sources` and `--match` select."""
    from .render import read_formulas

    listed = args.sources or args.exclude_sources
    return read_formulas(args.formulas, set(listed.split(",")) if listed else None,
                         exclude=bool(args.exclude_sources), match=args.match)


def cmd_render(args: argparse.Namespace) -> int:
    from .render import render_dataset

    formulas = _formulas(args)
    ok, bad = render_dataset(formulas, args.out, dpis=_ints(args.dpi),
                             fonts=args.fonts.split(","), halving=args.halving, operatorname=args.operatorname,
                             size=args.size, workers=args.workers)
    print(f"rendered {ok}, skipped {bad} (reasons in {Path(args.out) / 'failed.tsv'})")
    return 0


def cmd_variants(args: argparse.Namespace) -> int:
    from .variants import variants

    copies = variants(_formulas(args), args.copies, p=args.p, seed=args.seed, spaces=args.spaces)
    Path(args.out).write_text("".join(f + "\n" for f in copies), encoding="utf-8")
    print(f"wrote {len(copies)} formulas to {args.out}")
    return 0


def cmd_pack(args: argparse.Namespace) -> int:
    from .pack import pack

    if not (Path(args.data) / "labels.tsv").is_file():
        raise SystemExit(f"img2latex: {args.data} has no labels.tsv")
    images, shards = pack(args.data, args.out, shard_mb=args.shard_mb)
    print(f"packed {images} images into {shards} shards in {args.out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .config import PACKAGED
    from .export import export_onnx

    out = Path(args.onnx)
    if args.checkpoint or args.average:
        from .weights import average_weights, load_checkpoint, save_weights

        _refuse_other_files(out)  # before loading: saving replaces the whole directory
        save_weights(*(load_checkpoint(args.checkpoint) if args.checkpoint else average_weights(args.average)), out)
        print(f"written: {out / 'model.safetensors'}")
    weights = args.weights or (out if (out / "model.safetensors").exists() else PACKAGED)
    for path in export_onnx(weights, out, quantize=args.int8):
        print(f"written: {path}")
    return 0


def _refuse_other_files(out: Path) -> None:
    """Weights may only be saved into a new directory or a weights directory, since saving
    replaces the whole directory."""
    ours = {"model.safetensors", "config.yaml", "vocab.json"}
    others = [p.name for p in out.iterdir() if p.name not in ours and p.suffix != ".onnx"] if out.is_dir() else []
    if others:
        raise ValueError(f"{out} holds other files ({', '.join(others[:3])}): choose a new directory")


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    serve(_ocr(args), host=args.host, port=args.port)
    return 0


def parser() -> argparse.ArgumentParser:
    from .render import DEFAULT_DPI, DEFAULT_SIZE, FONTS, HALVINGS, OPERATORNAMES, SIZES

    ap = argparse.ArgumentParser(prog="img2latex", description="Images of formulas to LaTeX.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="print the LaTeX of images (files or folders)")
    p.add_argument("images", nargs="+")
    _beam_flags(p)
    p.add_argument("--format", choices=["text", "jsonl"], default="text")
    _model_flags(p)
    p.set_defaults(run=cmd_predict)

    p = sub.add_parser("evaluate", help="score a model on a labels.tsv + images/ dataset")
    p.add_argument("--data", required=True)
    _beam_flags(p)
    p.add_argument("--limit", type=int, help="first N images only")
    p.add_argument("--out", default="results/eval", help="report path prefix (.json and .md)")
    p.add_argument("--save-predictions", help="JSONL file of every prediction")
    p.add_argument("--scale", type=float, default=1.0, help="resize every image by this factor first")
    _model_flags(p)
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser("train", help="train a model from a YAML config")
    p.add_argument("--config", required=True)
    p.add_argument("--resume", action="store_true", help="continue from out_dir/last.pt")
    p.add_argument("--out-dir", dest="out_dir")
    p.add_argument("--max-steps", dest="max_steps", type=int)
    p.add_argument("--max-minutes", dest="max_minutes", type=float,
                   help="stop after this long, resumable (e.g. a lent machine's time a call)")
    p.add_argument("--device")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("render", help="render formulas to a labels.tsv + images/ dataset")
    p.add_argument("--formulas", required=True, help="one formula a line, or TSV with the formula last")
    p.add_argument("--out", required=True)
    p.add_argument("--dpi", default=str(DEFAULT_DPI), help="resolution, or comma-separated ones to mix")
    p.add_argument("--fonts", default="cm", help=f"comma-separated math fonts to mix: {', '.join(FONTS)}")
    p.add_argument("--halving", choices=list(HALVINGS), default="min",
                   help="min: bold strokes like im2latex-100k; box: lighter anti-aliased strokes; "
                        "lanczos: bold strokes ringed with faint gray, im2markup's own halving")
    p.add_argument("--operatorname", choices=list(OPERATORNAMES), default="upright",
                   help="italic: \\operatorname (\\sin, \\lim, ...) as im2latex-100k's images show it, in math italic")
    p.add_argument("--size", type=int, choices=SIZES, default=DEFAULT_SIZE,
                   help="the document's point size: 10 with --dpi 100 has im2latex-100k's glyph widths as well as heights")
    p.add_argument("--workers", type=int, default=2)
    _selection_flags(p)
    p.set_defaults(run=cmd_render)

    p = sub.add_parser("variants", help="write copies of formulas with their symbols replaced, for rendering as training data")
    p.add_argument("--formulas", required=True, help="one formula a line, or TSV with the formula last")
    p.add_argument("--out", required=True, help="the copies, normalized, one a line")
    p.add_argument("--copies", type=int, default=3, help="copies of each formula (fewer where they coincide)")
    p.add_argument("--p", type=float, default=0.5, help="chance that each distinct letter, digit or Greek letter is replaced")
    p.add_argument("--spaces", type=float, default=0.0,
                   help="spacing commands added to each copy on average, drawn from the formulas' own mix of them")
    p.add_argument("--seed", type=int, default=0)
    _selection_flags(p)
    p.set_defaults(run=cmd_variants)

    p = sub.add_parser("pack", help="pack a labels.tsv + images/ dataset into a few shard files for training")
    p.add_argument("--data", required=True, help="the dataset directory")
    p.add_argument("--out", required=True, help="the packed directory (train on it as on the original)")
    p.add_argument("--shard-mb", dest="shard_mb", type=float, default=60.0, help="largest shard size in MiB")
    p.set_defaults(run=cmd_pack)

    p = sub.add_parser("plot", help="draw a training run's loss and val BLEU curve as a PNG")
    p.add_argument("metrics", help="the run's metrics.jsonl")
    p.add_argument("--out", default="docs/curve.png")
    p.add_argument("--title", default="")
    p.set_defaults(run=cmd_plot)

    p = sub.add_parser("export", help="export a model to ONNX graphs for onnxruntime (the fast CPU backend)")
    p.add_argument("--onnx", required=True, help="output directory (it becomes a complete weights directory)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--weights", help="weights directory (default: the --onnx directory's own, else the shipped model)")
    source.add_argument("--checkpoint", help="a training run's last.pt: its (EMA) weights are saved to the --onnx directory too")
    source.add_argument("--average", nargs="+", metavar="DIR",
                        help="weights directories of one vocabulary, of one architecture or of a run and what it grew "
                             "from: their mean is saved to the --onnx directory too")
    p.add_argument("--int8", action="store_true", help="also write dynamically quantized int8 graphs")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("serve", help="the local web app and HTTP API (FastAPI under uvicorn)")
    p.add_argument("--host", default="127.0.0.1", help="127.0.0.1: this machine only")
    p.add_argument("--port", type=int, default=8000)
    _model_flags(p)
    p.set_defaults(run=cmd_serve, beam=1, rerank=False)  # the beam width is chosen per request
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, ImportError) as e:
        print(f"img2latex: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
