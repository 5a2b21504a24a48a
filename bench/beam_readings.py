"""The first val images read with the beam once and every reading typeset once, for the bench
scripts that rank the readings by how they look (render and compare, rerank.py). Imported by
scripts run as `python bench/NAME.py` (bench/ is then on the path)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Levenshtein

from img2latex import LatexOCR
from img2latex.data import read_labels
from img2latex.render import Style
from img2latex.rerank import paper, renderings
from img2latex.tokenizer import tokenize


@dataclass
class BeamReadings:
    references: list[str]
    readings: list[list[tuple[str, float]]]  # each image's beam, best score first
    images: list[np.ndarray]  # what the API lays the readings over (paper: dark ink on white)
    rendered: dict[str, np.ndarray | None]  # each distinct reading typeset; None where it does not compile
    unreadable: int  # blank images: nothing to rank

    @property
    def texts(self) -> list[list[str]]:
        return [[latex for latex, _ in rs] for rs in self.readings]

    def nearest_label(self) -> list[str]:
        """Each image's reading nearest its label: what a perfect choice among them would reach."""
        return [min(ts, key=lambda t, r=tokenize(ref): Levenshtein.distance(r, tokenize(t)))
                for ts, ref in zip(self.texts, self.references)]


def add_arguments(ap: argparse.ArgumentParser, limit: int) -> None:
    """The flags of `read_and_render`: which images, which model, how wide a beam."""
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--weights", help="weights directory (default: the shipped model)")
    ap.add_argument("--limit", type=int, default=limit, help="first N images")
    ap.add_argument("--beam", type=int, default=5)


def read_and_render(data: str, weights: str | None, limit: int, beam: int, style: Style) -> BeamReadings:
    ocr = LatexOCR(weights)
    items = read_labels(data)[:limit]
    paths = [Path(data) / "images" / name for name, _ in items]
    predictions, read = ocr.read_batch(paths, beam, errors="keep")
    kept = sorted(read)
    readings = [[(p.latex, p.score), *p.alternatives] for p in (predictions[k] for k in kept)]
    rendered = renderings([[latex for latex, _ in rs] for rs in readings], os.cpu_count() or 1, style)
    return BeamReadings([items[k][1] for k in kept], readings, [paper(read[k]) for k in kept], rendered,
                        len(items) - len(kept))
