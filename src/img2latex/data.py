"""The dataset layout (`labels.tsv` + `images/`) and batches of similar-sized images.

Shared by training (`dataset`) and inference (`api`). No torch here: reading images on the
CPU with onnxruntime then never imports it, which keeps start-up short.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np


def read_labels(directory: str | Path) -> list[tuple[str, str]]:
    """(image file name, formula) pairs of a dataset directory's `labels.tsv`."""
    pairs = []
    for line in (Path(directory) / "labels.tsv").read_text(encoding="utf-8").splitlines():
        name, sep, formula = line.partition("\t")
        if sep and formula.strip():
            pairs.append((name, formula.strip()))
    return pairs


def size_batches(sizes: list[tuple[int, int]], batch_size: int, max_pixels: int,
                 rng: random.Random | None = None) -> list[list[int]]:
    """Indices of (height, width) `sizes` grouped into batches of similar size, so padding
    stays small: at most `batch_size` images and `max_pixels` padded pixels a batch.

    With `rng`, ties in size are broken at random and the batches come in random order.
    """
    order = list(range(len(sizes)))
    if rng:
        rng.shuffle(order)
    order.sort(key=lambda i: (sizes[i][0], sizes[i][1] // 32))
    batches, batch, max_h, max_w = [], [], 0, 0
    for i in order:
        h, w = sizes[i]
        nh, nw = max(max_h, h), max(max_w, w)
        if batch and (len(batch) == batch_size or nh * nw * (len(batch) + 1) > max_pixels):
            batches.append(batch)
            batch, nh, nw = [], h, w
        batch.append(i)
        max_h, max_w = nh, nw
    if batch:
        batches.append(batch)
    if rng:
        rng.shuffle(batches)
    return batches


def pad_batch(images: list[np.ndarray]) -> np.ndarray:
    """Stack (C, H, W) float images into (B, C, Hmax, Wmax), padding with blank paper (zeros)."""
    h = max(im.shape[-2] for im in images)
    w = max(im.shape[-1] for im in images)
    batch = np.zeros((len(images), images[0].shape[0], h, w), dtype=np.float32)
    for k, im in enumerate(images):
        batch[k, :, : im.shape[-2], : im.shape[-1]] = im
    return batch
