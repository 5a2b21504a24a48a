"""Reading user images safely and turning them into what the model sees.

The model sees a grayscale crop of the ink with a small white margin, ink as high values
and the background as zero, so padding a batch with zeros adds blank paper.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # more than a screenshot of any formula; refuses decompression bombs
INK_THRESHOLD = 200  # darker than this (0-255, after making the background white) is ink

ImageInput = str | Path | bytes | Image.Image | np.ndarray


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
                raise ValueError(f"{name}: the image is too large ({image.width}x{image.height} pixels)")
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        kind = "too large" if "pixels" in str(e) else "not an image (or an unsupported format)"
        raise ValueError(f"{name}: {kind}") from None
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


def prepare(gray: np.ndarray, padding: int = 4, max_height: int = 256, max_width: int = 1024,
            crop: bool = True) -> np.ndarray:
    """Crop to the ink, shrink what exceeds the model's size limits, scale to [0, 1] ink.

    Raises ValueError for a blank image (there is no formula to read) unless `crop` is off.
    """
    cropped = crop_to_ink(gray, padding) if crop else gray
    if cropped is None:
        raise ValueError("the image is blank: no formula found")
    h, w = cropped.shape
    scale = min(1.0, max_height / h, max_width / w)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        cropped = np.asarray(Image.fromarray(cropped).resize(size, Image.Resampling.LANCZOS))
    return (255.0 - cropped.astype(np.float32)) / 255.0
