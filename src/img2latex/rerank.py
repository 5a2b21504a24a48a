"""Render and compare: of the beam's readings, prefer the one whose typeset image looks like the input.

The model ranks its beam by mean token log-probability, and its runners-up often differ from
the winner by one look-alike symbol (`\\psi` / `\\vartheta`, `F` / `P`) or a dropped token.
Those differences show once each reading is typeset with pdflatex in im2latex-100k's geometry
(render.IM2LATEX_STYLE) and laid over the image the model read: the reading's score goes down by `WEIGHT`
times its `image_distance`. Readings that do not compile go last. Readings that differ only
in what does not print (braces, `~` against `\\ `) render alike and keep the model's order.
`python bench/rerank_weights.py` measured the two weights on val images (docs/INFERENCE.md,
Render and compare).
"""

from __future__ import annotations

import math
import shutil

import numpy as np
from PIL import Image, ImageFilter

from .image import crop_to_ink
from .render import IM2LATEX_STYLE, Style, render_all

WEIGHT = 2.0  # log-probability per unit of image distance
SIZE_WEIGHT = 0.15  # image distance per unit of log size ratio
BLUR = 1.0  # Gaussian radius in pixels: one-pixel offsets between two renderers cost little


def check_tools() -> None:
    """ValueError unless pdflatex and pdftoppm, which typeset the readings, are installed."""
    missing = [tool for tool in ("pdflatex", "pdftoppm") if shutil.which(tool) is None]
    if missing:
        raise ValueError(f"reranking typesets the readings with pdflatex and pdftoppm; not installed: "
                         f"{', '.join(missing)} (the README's setup command installs them)")


def paper(model_input: np.ndarray) -> np.ndarray:
    """A model input (ink as high values in [0, 1]) back as dark ink on white paper, uint8."""
    return np.round(255 * (1 - model_input)).astype(np.uint8)


def aligned(image: np.ndarray, rendering: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The image's ink crop, the rendering's resized onto it, and how far their heights and widths
    are apart (the sum of the log ratios); None where either is blank."""
    a, b = crop_to_ink(image, 0), crop_to_ink(rendering, 0)
    if a is None or b is None:
        return None
    size = abs(math.log(b.shape[0] / a.shape[0])) + abs(math.log(b.shape[1] / a.shape[1]))
    resized = Image.fromarray(b).resize((a.shape[1], a.shape[0]), Image.Resampling.BILINEAR)
    return a, np.asarray(resized), size


def blurred(gray: np.ndarray, radius: float = BLUR) -> np.ndarray:
    """Gaussian-blurred, as float32: so that one-pixel offsets between two renderers cost little."""
    return np.asarray(Image.fromarray(gray).filter(ImageFilter.GaussianBlur(radius)), dtype=np.float32)


def image_distance(image: np.ndarray, rendering: np.ndarray, size_weight: float = SIZE_WEIGHT) -> float:
    """How unlike two white-background grayscale formula images are; 0.0 for the same pixels.

    The mean absolute difference (0-1) of the blurred ink crops, the rendering resized to the
    image's crop, plus `size_weight` times how far their sizes are apart (`aligned`), which is
    where a missing or extra token shows.
    """
    crops = aligned(image, rendering)
    if crops is None:
        return math.inf
    a, b, size = crops
    return float(np.abs(blurred(a) - blurred(b)).mean() / 255.0) + size_weight * size


def renderings(readings: list[list[str]], workers: int = 2,
               style: Style = IM2LATEX_STYLE) -> dict[str, np.ndarray | None]:
    """Each distinct reading typeset (in im2latex-100k's geometry); None where it does not compile."""
    unique = sorted({r for rs in readings for r in rs})
    return dict(zip(unique, (r.image for r in render_all(unique, style, workers))))


def distances(images: list[np.ndarray], readings: list[list[str]], rendered: dict[str, np.ndarray | None],
              size_weight: float = SIZE_WEIGHT) -> list[list[float]]:
    """`image_distance` of each image's readings from their `renderings` (inf where none)."""
    return [[math.inf if rendered[r] is None else image_distance(image, rendered[r], size_weight) for r in rs]
            for image, rs in zip(images, readings)]


def order(scores: list[float], image_distances: list[float], weight: float = WEIGHT) -> list[int]:
    """Indices of the readings, best first by score minus `weight` times distance."""
    def key(i: int) -> tuple[bool, float]:
        d = image_distances[i]
        return (True, -scores[i]) if math.isinf(d) else (False, weight * d - scores[i])

    return sorted(range(len(scores)), key=key)
