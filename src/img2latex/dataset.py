"""Training data for PyTorch: datasets of `labels.tsv` + `images/` directories, augmentation,
size-bucketed batch sampling and collation (the torch-free parts are in `data`)."""

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
from .data import pad_batch, read_labels, size_batches
from .image import load_gray, prepare
from .pack import PackedImage, is_packed, read_index
from .style import restyle
from .tokenizer import Vocab


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
        if rng.random() < cfg.lowres_p:
            image = _lowres(image, rng.uniform(*cfg.lowres), rng.choice(_SHRINK_FILTERS))
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


_SHRINK_FILTERS = (Image.Resampling.BOX, Image.Resampling.BILINEAR, Image.Resampling.LANCZOS)


def _lowres(image: Image.Image, factor: float, shrink: Image.Resampling) -> Image.Image:
    """The image at `factor` of its resolution, enlarged back to its size the way
    autoscale (`image.prepare_views`) enlarges a small screenshot: the detail lost is what the model must read through."""
    small = image.resize((max(4, round(image.width * factor)), max(4, round(image.height * factor))), shrink)
    return small.resize(image.size, Image.Resampling.LANCZOS)


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("L")


class FormulaDataset(Dataset):
    """Images and token ids from one or more rendered (or im2latex) dataset directories,
    plain (`labels.tsv` + `images/`) or packed into shards (`img2latex pack`)."""

    def __init__(self, directories: list[str | Path], vocab: Vocab, cfg: DataConfig, augment: bool = False,
                 limit: int | None = None, repeat: list[int] | None = None, seed: int = 0, style: str = "",
                 exclude: frozenset[str] = frozenset()):
        """Labels longer than `max_label_tokens` and images over the size limits are left out;
        `limit` caps the items kept from each directory.

        `repeat[k]` lists directory k's items that many times (oversampling a source);
        `style` respells the labels (style.py), "" keeps them as written;
        labels in `exclude` (as `token_key` writes them) are left out and counted in `excluded`.
        """
        self.vocab, self.cfg, self.seed, self.epoch, self.excluded = vocab, cfg, seed, 0, 0
        self.augment = cfg.augment if augment and cfg.augment.enabled else None
        self.items: list[tuple[Path | PackedImage, list[int]]] = []
        self.sizes: list[tuple[int, int]] = []
        for k, directory in enumerate(directories):
            kept = []
            for source, size, formula in _listing(Path(directory)):
                if limit is not None and len(kept) == limit:
                    break
                if exclude and token_key(formula) in exclude:
                    self.excluded += 1
                    continue
                ids = vocab.encode(restyle(formula, style) if style else formula)
                if len(ids) - 2 <= cfg.max_label_tokens and size[0] <= cfg.max_height and size[1] <= cfg.max_width:
                    kept.append(((source, ids), size))
            for _ in range(repeat[k] if repeat and k < len(repeat) else 1):
                self.items += [item for item, _ in kept]
                self.sizes += [size for _, size in kept]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        source, ids = self.items[index]
        gray = load_gray(source.read() if isinstance(source, PackedImage) else source)
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


def formulas(directory: str | Path, style: str = "") -> Iterator[str]:
    """The labels of a plain or a packed directory, respelled in `style` unless it is ""."""
    directory = Path(directory)
    for *_, formula in read_index(directory) if is_packed(directory) else read_labels(directory):
        yield restyle(formula, style) if style else formula


def token_key(formula: str) -> str:
    """A formula's tokens joined by single spaces: labels equal up to spacing share a key."""
    return " ".join(formula.split())


def _listing(directory: Path) -> Iterator[tuple[Path | PackedImage, tuple[int, int], str]]:
    """(image, (height, width), formula) of a plain or a packed (`img2latex pack`) directory."""
    if is_packed(directory):
        yield from read_index(directory)
        return
    for name, formula in read_labels(directory):
        path = directory / "images" / name
        with Image.open(path) as im:  # reads the header only
            yield path, (im.height, im.width), formula


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
        rng = random.Random(self.seed * 1_000_003 + self.epoch) if self.shuffle else None
        return size_batches(self.sizes, self.batch_size, self.max_pixels, rng)

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self.batches())


def pad_images(images: list[torch.Tensor]) -> torch.Tensor:
    """Stack (1, H, W) images into (B, 1, Hmax, Wmax), padding with blank paper (zeros)."""
    return torch.from_numpy(pad_batch([im.numpy() for im in images]))


def collate(batch: list[tuple[torch.Tensor, torch.Tensor]], pad_id: int = Vocab.pad_id) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = zip(*batch)
    tokens = torch.nn.utils.rnn.pad_sequence(list(labels), batch_first=True, padding_value=pad_id)
    return pad_images(list(images)), tokens
