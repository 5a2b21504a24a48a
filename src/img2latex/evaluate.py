"""Scoring a model on a `labels.tsv` + `images/` dataset (e.g. im2latex-100k val).

Reports corpus BLEU-4, normalized edit distance, exact match and token accuracy over
im2latex's tokens, and images per second for the whole read (loading included).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .api import LatexOCR
from .data import read_labels
from .grammar import nests
from .image import load_gray, rescale
from .metrics import score

CHUNK = 512


def evaluate(ocr: LatexOCR, data: str | Path, beam: int = 1, limit: int | None = None,
             save_predictions: str | Path | None = None, scale: float = 1.0, progress: bool = False) -> dict:
    """Metrics of `ocr` on the first `limit` items of `data` (all by default).

    `scale` resizes every image first, as a screenshot at another zoom would be. `progress`:
    a progress bar on stderr, moved a chunk at a time (a full val run takes half an hour or more).
    """
    if save_predictions:  # fail now, not after reading every image
        Path(save_predictions).parent.mkdir(parents=True, exist_ok=True)
        Path(save_predictions).touch()
    items = read_labels(data)[:limit]
    paths = [Path(data) / "images" / name for name, _ in items]
    started = time.perf_counter()
    predictions = []
    with tqdm(total=len(paths), unit="image", disable=not progress) as bar:
        for start in range(0, len(paths), CHUNK):  # bounded memory on large sets
            chunk = paths[start : start + CHUNK]
            if scale != 1.0:
                chunk = [_rescaled(path, scale) for path in chunk]
            predictions += ocr.predict_batch(chunk, beam=beam, errors="keep")
            bar.update(len(chunk))
    seconds = time.perf_counter() - started
    references = [formula for _, formula in items]
    result = {
        "data": str(data), **weights_identity(ocr),
        "beam": beam, "scale": scale, "autoscale": ocr.autoscale, "style": ocr.style,
        "grammar": ocr.grammar is not None, "rerank": ocr.rerank, "read_scales": ocr.read_scales,
        "split": ocr.split, "workers": ocr.workers, "loop_beam": ocr.loop_beam,
        **score(references, [p.latex for p in predictions]).as_dict(),
        "nested": float(np.mean([nests(p.latex) for p in predictions])) if predictions else 0.0,
        "unreadable": sum(p.error is not None for p in predictions),
        "images_per_second": len(items) / seconds if seconds else 0.0,
    }
    if save_predictions:
        with Path(save_predictions).open("w", encoding="utf-8") as f:
            for (name, ref), p in zip(items, predictions):
                f.write(json.dumps({"image": name, "reference": ref, "latex": p.latex, "score": p.score,
                                    "error": p.error}, ensure_ascii=False) + "\n")
    return result


def weights_identity(ocr: LatexOCR) -> dict:
    """Which weights a report is of, so that it can be matched to a commit's shipped files: their
    directory, the backend, and the SHA-256 of `model.safetensors` (None where only graphs are)."""
    tensors = ocr.weights / "model.safetensors"
    digest = hashlib.sha256(tensors.read_bytes()).hexdigest() if tensors.exists() else None
    return {"weights": str(ocr.weights), "backend": ocr.backend, "weights_sha256": digest}


def _rescaled(path: Path, scale: float) -> np.ndarray | Path:
    """The image at `scale`, or its path where it cannot be read (predict reports why)."""
    try:
        return rescale(load_gray(path), scale)
    except ValueError:
        return path


def to_markdown(result: dict) -> str:
    rows = [("BLEU-4", "bleu"), ("edit distance", "edit_distance"), ("exact match", "exact_match"),
            ("token accuracy", "token_accuracy"), ("nested outputs", "nested"), ("images/s", "images_per_second")]
    scale = f", images scaled {result['scale']}x" if result.get("scale", 1.0) != 1.0 else ""
    read = [f"{s:g}x" for s in result.get("read_scales", [1.0])]
    if len(read) > 1:
        scale += f", read at {', '.join(read[:-1])} and {read[-1]}, averaged"
    elif read != ["1x"]:
        scale += f", read enlarged {read[0]}"
    rereads = result["beam"] <= 1 and result.get("loop_beam", 1) > 1  # reports before the option: no
    loops = f", loops read again by beam {result['loop_beam']}" if rereads else ""
    lines = [f"Evaluation on `{result['data']}` ({result['count']} images, beam {result['beam']}{scale}, "
             f"{result['style']} style{'' if result.get('grammar', True) else ', no grammar'}"
             f"{', reranked by rendering' if result.get('rerank') else ''}"
             f"{loops}"
             f"{'' if result.get('split', True) else ', read whole (no split at wide gaps)'})", "",
             "| metric | value |", "| --- | --- |"]
    lines += [f"| {label} | {result[key]:.4f} |" for label, key in rows]
    return "\n".join(lines) + "\n"


def write_report(result: dict, out: str | Path) -> tuple[Path, Path]:
    """`out.json` and `out.md` side by side (`out` may end in either; other dots are its name's)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix in (".json", ".md"):
        out = out.with_suffix("")
    json_path, md_path = out.with_name(out.name + ".json"), out.with_name(out.name + ".md")
    json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(to_markdown(result), encoding="utf-8")
    return json_path, md_path
