"""Reading user images safely and turning them into what the model sees.

The model sees a grayscale crop of the ink with a small white margin, ink as high values
and the background as zero, so padding a batch with zeros adds blank paper.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, UnidentifiedImageError
from scipy import ndimage

from .data import pad_batch

MAX_PIXELS = 40_000_000  # more than a screenshot of any formula; refuses decompression bombs
INK_THRESHOLD = 200  # darker than this (0-255, after making the background white) is ink
# Glyph height (see `glyph_height`) of im2latex-100k images, the scale the training renders are
# calibrated to; measured by `python bench/calibrate_render.py`.
REFERENCE_GLYPH_HEIGHT = 7.6
# Estimated ratios to the reading height inside this band are left alone (the estimate is rough);
# outside it, readings resized toward the reading height compete. The upper edge is below the
# training's scale jitter (1.25) because the reading height is already enlarged by the read
# scale; 1.15 was measured in results/scale-robustness-band-0.8-1.15*.md (docs/TRAINING.md, Scale).
SCALE_BAND = (0.8, 1.15)
# Outside the band, the image is also read resized by each of these multiples of autoscale's
# factor and the best-scored reading wins: the estimate is rough (it brings 0.6x images back to
# between 0.72 and 1.16 of their size, 10th to 90th percentile), and three tries around it read
# zoomed images better than one (`python bench/autoscale_tries.py`, docs/TRAINING.md "Scale").
AUTOSCALE_TRIES = (0.8, 1.0, 1.2)
PADDING = 4  # blank paper around the ink crop of a model input, in pixels

ImageInput = str | Path | bytes | Image.Image | np.ndarray


class ImageTooLarge(ValueError):
    """Over `MAX_PIXELS`, or a decompression bomb (the web API answers 413)."""


def crop_to_ink(gray: np.ndarray, padding: int, threshold: int = INK_THRESHOLD) -> np.ndarray | None:
    """Crop a white-background grayscale image to its ink plus `padding`; None if blank."""
    rows = np.flatnonzero((gray < threshold).any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero((gray < threshold).any(axis=0))
    ink = gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return np.pad(ink, padding, constant_values=255)


def _open(source: str | Path | bytes) -> Image.Image:
    if isinstance(source, bytes):
        stream, name = io.BytesIO(source), "the uploaded data"
        if not source:
            raise ValueError("the image data is empty")
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"{path}: no such file")
        if path.stat().st_size == 0:
            raise ValueError(f"{path}: the file is empty")
        stream, name = path, str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(stream)
            if image.width * image.height > MAX_PIXELS:
                raise ImageTooLarge(f"{name}: the image is too large ({image.width}x{image.height} pixels, "
                                    f"at most {MAX_PIXELS // 1_000_000} million)")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(f"{name}: too large (a decompression bomb)") from None
    except UnidentifiedImageError:
        raise ValueError(f"{name}: not an image (or an unsupported format)") from None
    except OSError as e:
        raise ValueError(f"{name}: the image is damaged ({e})") from None
    return image


def to_gray(image: Image.Image) -> np.ndarray:
    """Grayscale, transparent areas on white, dark-mode images turned to dark-on-light."""
    if image.width == 0 or image.height == 0:
        raise ValueError("the image has no pixels")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    gray = np.asarray(image.convert("L"), dtype=np.uint8)
    if np.median(gray) < 128:  # light ink on a dark background
        gray = 255 - gray
    return gray


def load_gray(source: ImageInput) -> np.ndarray:
    """Any supported input as a uint8 grayscale array; ValueError with a clear message if not."""
    if isinstance(source, np.ndarray):
        array = source
        if array.ndim == 3 and array.shape[2] in (3, 4):
            return to_gray(Image.fromarray(array.astype(np.uint8)))
        if array.ndim != 2 or array.size == 0:
            raise ValueError(f"expected an HxW or HxWx3/4 image array, got shape {array.shape}")
        return to_gray(Image.fromarray(array.astype(np.uint8)))
    if isinstance(source, Image.Image):
        return to_gray(source)
    if isinstance(source, (str, Path, bytes)):
        return to_gray(_open(source))
    raise ValueError(f"unsupported image input of type {type(source).__name__}")


def glyph_height(gray: np.ndarray) -> float:
    """Typical height in pixels of the separate ink shapes (glyphs); 0.0 if there are none.

    The interquartile mean of the connected components' heights, thresholded halfway between
    the paper and the ink, so it measures the font size whatever the layout and stroke weight.
    """
    ink = gray[gray < 250]
    if ink.size == 0:
        return 0.0
    threshold = (255 + np.percentile(ink, 5)) / 2
    labels, _ = ndimage.label(gray < threshold, structure=np.ones((3, 3)))
    heights = sorted(s[0].stop - s[0].start for s in ndimage.find_objects(labels))
    heights = [h for h in heights if h >= 2]  # specks and rules say nothing of the font size
    if not heights:
        return 0.0
    quarter = len(heights) // 4
    return float(np.mean(heights[quarter : max(quarter + 1, len(heights) - quarter)]))


def rescale(gray: np.ndarray, factor: float) -> np.ndarray:
    size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
    return np.asarray(Image.fromarray(gray).resize(size, Image.Resampling.LANCZOS))


def autoscale_factor(gray: np.ndarray, reference: float = REFERENCE_GLYPH_HEIGHT, rounds: int = 3,
                     tolerance: float = 0.05, height: float | None = None) -> float | None:
    """The factor that brings glyphs far from the training size (a zoomed screenshot) to it.

    None where the estimated ratio to `reference` falls inside SCALE_BAND or there is no ink
    to measure; otherwise the inverse ratio, which later rounds measure again at the new size,
    where the estimate's bias differs, and correct until the ratio is within `tolerance` of 1.
    `height`: `glyph_height(gray)` where the caller has measured it already.
    """
    ratio = (glyph_height(gray) if height is None else height) / reference
    if ratio == 0.0 or SCALE_BAND[0] <= ratio <= SCALE_BAND[1]:
        return None
    factor = 1.0
    for _ in range(rounds):
        factor /= ratio
        ratio = glyph_height(rescale(gray, factor)) / reference
        if ratio == 0.0 or abs(ratio - 1.0) <= tolerance:
            break
    return factor


def prepare(gray: np.ndarray, padding: int = PADDING, max_height: int = 256, max_width: int = 1024,
            crop: bool = True) -> np.ndarray:
    """Crop to the ink, shrink what exceeds the model's size limits, scale to [0, 1] ink.

    Raises ValueError for a blank image (there is no formula to read) unless `crop` is off.
    """
    if not crop:
        return _fit(gray, max_height, max_width)
    return prepare_views(gray, padding, max_height, max_width)[0][0]


class Inputs(NamedTuple):
    """What the model reads of one image: the whole image's views (S, H, W) and, where wide
    blank gaps split it, each piece's views and the gaps' widths in glyph heights, left to right."""

    views: list[np.ndarray]
    pieces: list[list[np.ndarray]]
    gaps: list[float]


def prepare_views(gray: np.ndarray, padding: int = PADDING, max_height: int = 256, max_width: int = 1024,
                  autoscale: bool = False, read_scales: Sequence[float] = (1.0,)) -> list[np.ndarray]:
    """The whole image's views (`prepare_inputs`), for callers that do not split."""
    return prepare_inputs(gray, None, padding, max_height, max_width, autoscale, read_scales).views


def prepare_inputs(gray: np.ndarray, min_gap: float | None = None, padding: int = PADDING, max_height: int = 256,
                   max_width: int = 1024, autoscale: bool = False, read_scales: Sequence[float] = (1.0,)) -> Inputs:
    """The model inputs for `gray`; the ink is cropped and its glyph height measured once for all.

    The whole image's views: one as `prepare` makes it and, with `autoscale` where the glyphs
    are far from the training size, one more resized by each of `AUTOSCALE_TRIES` times
    autoscale's factor; each has a channel per read scale, resampled once. Channel i is enlarged
    by `read_scales[i]` (`DataConfig.read_scales`: where a model reads best); autoscale's factor
    brings the glyphs to the mean read scale times the reference height, the channels keeping
    their ratios to each other.

    Where blank gaps at least `min_gap` glyph heights wide split the ink (`blank_gaps`; None:
    never), each piece's views too, cropped to its rows and resized as the whole is (a piece has
    too few glyphs for autoscale's estimate of its own).
    """
    ink = _ink(gray)
    height = glyph_height(ink) if autoscale or min_gap is not None else None  # measured only where needed
    bases = _bases(ink, height, autoscale, read_scales)
    views = _views(ink, bases, read_scales, padding, max_height, max_width)
    gaps = [] if min_gap is None else blank_gaps(ink, min_gap, height)
    if not gaps:
        return Inputs(views, [], [])
    edges = [0, *(column for start, stop, _ in gaps for column in (start, stop)), ink.shape[1]]
    pieces = [_ink(ink[:, start:stop]) for start, stop in zip(edges[::2], edges[1::2])]  # cropped to their rows
    return Inputs(views, [_views(piece, bases, read_scales, padding, max_height, max_width) for piece in pieces],
                  [w for *_, w in gaps])


def blank_gaps(ink: np.ndarray, min_gap: float, height: float | None = None) -> list[tuple[int, int, float]]:
    """The runs of blank columns (no pixel darker than `INK_THRESHOLD`) between the ink of an
    ink crop that are at least `min_gap` glyph heights wide: (start, stop, width in glyph heights).
    `height`: `glyph_height(ink)` where the caller has measured it already."""
    height = glyph_height(ink) if height is None else height
    if height == 0.0:
        return []
    blank = np.concatenate([[False], ~(ink < INK_THRESHOLD).any(axis=0), [False]])
    starts, stops = np.flatnonzero(blank[1:] & ~blank[:-1]), np.flatnonzero(~blank[1:] & blank[:-1])
    return [(int(a), int(b), (b - a) / height) for a, b in zip(starts, stops)
            if (b - a) / height >= min_gap and a > 0 and b < ink.shape[1]]


def _ink(gray: np.ndarray) -> np.ndarray:
    ink = crop_to_ink(gray, 0)
    if ink is None:
        raise ValueError("the image is blank: no formula found")
    return ink


def _bases(ink: np.ndarray, height: float | None, autoscale: bool, read_scales: Sequence[float]) -> list[float]:
    """What each view multiplies the read scales by: 1, and with `autoscale` where the glyphs
    (`height` pixels; None: not measured yet) are far from the mean read scale's height, each
    of `AUTOSCALE_TRIES` times its factor."""
    mean = float(np.mean(read_scales))
    if autoscale and (factor := autoscale_factor(ink, REFERENCE_GLYPH_HEIGHT * mean, height=height)):
        return [1.0] + [factor / mean * t for t in AUTOSCALE_TRIES]
    return [1.0]


def _views(ink: np.ndarray, bases: list[float], read_scales: Sequence[float], padding: int, max_height: int,
           max_width: int) -> list[np.ndarray]:
    """A view (S, H, W) per base, channel i resampled by the base times `read_scales[i]`."""
    channels = [[_fit(np.pad(ink if b * s == 1.0 else rescale(ink, b * s), padding, constant_values=255),
                      max_height, max_width)[None] for s in read_scales] for b in bases]
    return [pad_batch(view)[:, 0] for view in channels]  # (S, 1, H, W) -> (S, H, W)


def _fit(image: np.ndarray, max_height: int, max_width: int) -> np.ndarray:
    """Shrink what exceeds the size limits; ink as high values in [0, 1]."""
    h, w = image.shape
    scale = min(1.0, max_height / h, max_width / w)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
    return (255.0 - image.astype(np.float32)) / 255.0
