"""One model reading each image at several scales at once: a scale ensemble.

Averaging the model's readings of an image at nearby scales scored above reading it at any
one of them (`bench/read_scale.py`). `ScaleEnsemble` is a `decoding.StepModel` whose images are
(B, S, H, W), one channel per read scale (`image.prepare_views`): each channel is encoded on
its own, every decoding step runs once per channel, and the next token is chosen by the mean
of the channels' log-probabilities, so greedy and beam search (decoding.py) run unchanged on it.
It costs a reading per scale. Measured in docs/INFERENCE.md, "Reading at several scales".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .decoding import StepModel, log_softmax
from .image import PADDING


@dataclass
class EnsembleCache:
    """The model's cache for each channel, reordered together."""

    caches: list[Any]

    def reorder(self, rows: np.ndarray, images: np.ndarray | None = None) -> "EnsembleCache":
        return EnsembleCache([cache.reorder(rows, images) for cache in self.caches])


class ScaleEnsemble:
    def __init__(self, model: StepModel):
        self.model, self.cfg = model, model.cfg

    def start(self, images: np.ndarray) -> EnsembleCache:
        return EnsembleCache([self.model.start(trim(images[:, [c]])) for c in range(images.shape[1])])

    def step(self, cache: EnsembleCache, tokens: np.ndarray) -> np.ndarray:
        return np.mean([log_softmax(self.model.step(c, tokens)) for c in cache.caches], axis=0)


def trim(batch: np.ndarray, margin: int = PADDING) -> np.ndarray:
    """`batch` without the blank paper beyond every image's ink and `margin`: a smaller scale's
    channel comes padded to the largest one's size, which would cost encoding and attention."""
    rows, cols = np.nonzero(batch.any(axis=(0, 1, 3)))[0], np.nonzero(batch.any(axis=(0, 1, 2)))[0]
    if rows.size == 0:
        return batch
    return batch[..., : rows[-1] + 1 + margin, : cols[-1] + 1 + margin]
