"""Shared fixtures: paths to the shared data and a tiny model config for fast tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from img2latex.config import ModelConfig

ROOT = Path(__file__).resolve().parents[1]
VAL = ROOT.parent / "shared" / "data" / "im2latex100k" / "val"
# A val image the shipped weights read greedily in a loop to the length cap (an array cell,
# `{ 0 } &`, over and over); one name for every test of the loop rule, to change in one place
# when the weights change.
LOOPED_VAL_IMAGE = "1752.png"
HAS_LATEX = shutil.which("pdflatex") is not None and shutil.which("pdftoppm") is not None

needs_latex = pytest.mark.skipif(not HAS_LATEX, reason="pdflatex/pdftoppm not installed (README setup)")
needs_val = pytest.mark.skipif(not (VAL / "labels.tsv").is_file(), reason="../shared/data val set not present")


@pytest.fixture
def tiny_model_config() -> ModelConfig:
    return ModelConfig(vocab_size=40, channels=[8, 8, 16, 16], blocks=[1, 1, 1, 1], d_model=32, heads=2,
                       decoder_layers=2, dropout=0.0, max_tokens=32)
