"""Datasets of `labels.tsv` + `images/`, size-bucketed batches, padding and augmentation."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image, ImageFilter
from torch.utils.data import Dataset, Sampler

from .config import AugmentConfig, DataConfig
from .image import load_gray, prepare
from .tokenizer import Vocab


def read_labels(directory: str | Path) -> list[tuple[str, str]]:
    """(image file name, formula) pairs of a dataset directory's `labels.tsv`."""
    pairs = []
    for line in (Path(directory) / "labels.tsv").read_text(encoding="utf-8").splitlines():
        name, sep, formula = line.partition("\t")
        if sep and formula.strip():
            pairs.append((name, formula.strip()))
    return pairs


class Augment:
    """Random, label-preserving distortions of a white-background grayscale image."""

    def __init__(self, cfg: AugmentConfig, rng: random.Random | None = None):
        self.cfg = cfg
        self.rng = rng or random.Random()

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        cfg, rng = self.cfg, self.rng
        image = Image.fromarray(gray)
        s = rng.uniform(*cfg.scale)
        if abs(s - 1) > 1e-3:
            size = (max(8, round(image.width * s)), max(8, round(image.height * s)))
            image = image.resize(size, Image.Resampling.BILINEAR)
        image = _geometry(image, rng.uniform(-cfg.rotate_deg, cfg.rotate_deg), rng.uniform(-cfg.shear, cfg.shear))
        if rng.random() < cfg.stroke_p:  # MinFilter darkens = thicker ink on white paper
            image = image.filter(ImageFilter.MinFilter(3) if rng.random() < 0.5 else ImageFilter.MaxFilter(3))
        if rng.random() < cfg.blur_p:
            image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
        if rng.random() < cfg.jpeg_p:
            image = _jpeg(image, rng.randint(30, 90))
        out = np.asarray(image, dtype=np.float32)
        if rng.random() < cfg.darken_p:
            out = 255.0 * (out / 255.0) ** rng.uniform(*cfg.darken_gamma)
        if rng.random() < cfg.noise_p:
            out = out + np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 12), out.shape)
        if cfg.pad_max:
            pads = [rng.randint(0, cfg.pad_max) for _ in range(4)]
            out = np.pad(out, ((pads[0], pads[1]), (pads[2], pads[3])), constant_values=255)
        return np.clip(out, 0, 255).astype(np.uint8)


def _geometry(image: Image.Image, degrees: float, shear: float) -> Image.Image:
    """Rotate and slant on white paper, growing the canvas so no ink is cut off."""
    if abs(shear) > 1e-3:
        extra = abs(shear) * image.height
        offset = -extra if shear > 0 else 0.0  # x_in = x_out + shear * y + offset
        image = image.transform((round(image.width + extra), image.height), Image.Transform.AFFINE,
                                (1, shear, offset, 0, 1, 0), Image.Resampling.BILINEAR, fillcolor=255)
    if abs(degrees) > 1e-2:
        image = image.rotate(degrees, Image.Resampling.BILINEAR, expand=True, fillcolor=255)
    return image


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("L")


class FormulaDataset(Dataset):
    """Images and token ids from one or more rendered (or im2latex) dataset directories."""

    def __init__(self, directories: list[str | Path], vocab: Vocab, cfg: DataConfig, augment: bool = False,
                 limit: int | None = None, repeat: list[int] | None = None, seed: int = 0):
        """Labels longer than `max_label_tokens` and images over the size limits are left out;
        `limit` caps the items kept from each directory.

        `repeat[k]` lists directory k's items that many times (oversampling a source).
        """
        self.vocab, self.cfg, self.seed, self.epoch = vocab, cfg, seed, 0
        self.augment = cfg.augment if augment and cfg.augment.enabled else None
        self.items: list[tuple[Path, list[int]]] = []
        self.sizes: list[tuple[int, int]] = []
        for k, directory in enumerate(directories):
            kept = []
            for name, formula in read_labels(directory):
                if limit is not None and len(kept) == limit:
                    break
                ids = vocab.encode(formula)
                path = Path(directory) / "images" / name
                size = _image_size(path)
                if len(ids) - 2 <= cfg.max_label_tokens and size[0] <= cfg.max_height and size[1] <= cfg.max_width:
                    kept.append(((path, ids), size))
            for _ in range(repeat[k] if repeat and k < len(repeat) else 1):
                self.items += [item for item, _ in kept]
                self.sizes += [size for _, size in kept]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        path, ids = self.items[index]
        gray = load_gray(path)
        image = None
        if self.augment is not None:  # seeded by (seed, epoch, index): resuming replays it exactly
            image = self._prepare(Augment(self.augment, random.Random(hash((self.seed, self.epoch, index))))(gray))
        if image is None:  # not augmenting, or thinning erased faint strokes: the clean image
            image = self._prepare(gray)
        if image is None:  # no ink at all (a few val images): the page as it is
            image = self._prepare(gray, crop=False)
        return torch.from_numpy(image)[None], torch.tensor(ids, dtype=torch.long)

    def _prepare(self, gray: np.ndarray, crop: bool = True) -> np.ndarray | None:
        """The model input, or None where cropping finds no ink."""
        try:
            return prepare(gray, max_height=self.cfg.max_height, max_width=self.cfg.max_width, crop=crop)
        except ValueError:
            return None


def _image_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:  # reads the header only
        return im.height, im.width


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of images of similar size, so padding stays small; reshuffled each epoch.

    `set_epoch` makes the order a function of (seed, epoch), which resuming relies on.
    """

    def __init__(self, sizes: list[tuple[int, int]], batch_size: int, max_pixels: int, seed: int = 0,
                 shuffle: bool = True):
        self.sizes, self.batch_size, self.max_pixels = sizes, batch_size, max_pixels
        self.seed, self.shuffle, self.epoch = seed, shuffle, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        rng = random.Random(self.seed * 1_000_003 + self.epoch)
        order = list(range(len(self.sizes)))
        if self.shuffle:
            rng.shuffle(order)  # ties in size are broken at random
        order.sort(key=lambda i: (self.sizes[i][0], self.sizes[i][1] // 32))
        batches, batch, max_h, max_w = [], [], 0, 0
        for i in order:
            h, w = self.sizes[i]
            nh, nw = max(max_h, h), max(max_w, w)
            if batch and (len(batch) == self.batch_size or nh * nw * (len(batch) + 1) > self.max_pixels):
                batches.append(batch)
                batch, nh, nw = [], h, w
            batch.append(i)
            max_h, max_w = nh, nw
        if batch:
            batches.append(batch)
        if self.shuffle:
            rng.shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self.batches())


def pad_images(images: list[torch.Tensor]) -> torch.Tensor:
    """Stack (1, H, W) images into (B, 1, Hmax, Wmax), padding with blank paper (zeros)."""
    h = max(im.shape[-2] for im in images)
    w = max(im.shape[-1] for im in images)
    batch = torch.zeros(len(images), 1, h, w)
    for k, im in enumerate(images):
        batch[k, :, : im.shape[-2], : im.shape[-1]] = im
    return batch


def collate(batch: list[tuple[torch.Tensor, torch.Tensor]], pad_id: int = Vocab.pad_id) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = zip(*batch)
    tokens = torch.nn.utils.rnn.pad_sequence(list(labels), batch_first=True, padding_value=pad_id)
    return pad_images(list(images)), tokens
