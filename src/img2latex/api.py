"""Python API: `LatexOCR()("formula.png")` returns the formula's LaTeX.

```python
from img2latex import LatexOCR
ocr = LatexOCR()                      # the weights shipped in the package, on the CPU
ocr("f.png")                          # a path, bytes, a PIL image or a numpy array
ocr.predict_batch(["a.png", "b.png"], beam=5)
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from .data import pad_images
from .decoding import Hypothesis, beam_search, greedy
from .image import ImageInput, load_gray, prepare_views
from .weights import PACKAGED, load_weights


@dataclass
class Prediction:
    """A formula read from one image; `error` is set instead when the input was unusable."""

    latex: str = ""
    score: float = float("nan")  # mean token log-probability, in (-inf, 0]
    alternatives: list[tuple[str, float]] = field(default_factory=list)  # other beams, best first
    error: str | None = None


class LatexOCR:
    def __init__(self, weights: str | Path | None = None, device: str = "cpu", beam: int = 1, batch_size: int = 16,
                 threads: int | None = None, autoscale: bool = True):
        """`autoscale` resizes images whose glyphs are far from the training size (zoomed screenshots)."""
        if threads:
            torch.set_num_threads(threads)
        self.model, self.config, self.vocab = load_weights(weights or PACKAGED, device)
        self.device, self.beam, self.batch_size = torch.device(device), beam, batch_size
        self.autoscale = autoscale

    def __call__(self, image: ImageInput, beam: int | None = None) -> str:
        return self.predict(image, beam).latex

    def predict(self, image: ImageInput, beam: int | None = None) -> Prediction:
        """Read one image; ValueError with a clear message if it is not a usable image."""
        return self.predict_batch([image], beam)[0]

    def load(self, image: ImageInput) -> list[torch.Tensor]:
        """The (1, H, W) model inputs for an image: as it is and, where autoscale resizes it,
        also resized; the reading with the better score wins. ValueError if unusable."""
        data = self.config.data
        views = prepare_views(load_gray(image), max_height=data.max_height, max_width=data.max_width,
                              autoscale=self.autoscale)
        return [torch.from_numpy(view)[None] for view in views]

    def predict_batch(self, images: list[ImageInput], beam: int | None = None, errors: str = "raise") -> list[Prediction]:
        """Read many images, batched by size; results in input order.

        errors="raise" raises ValueError at the first unusable image; errors="keep" returns a
        Prediction with `error` set for it and reads the others.
        """
        inputs: list[tuple[int, torch.Tensor]] = []  # (image index, model input)
        results = [Prediction() for _ in images]
        for k, image in enumerate(images):
            try:
                inputs += [(k, view) for view in self.load(image)]
            except ValueError as e:
                if errors == "raise":
                    raise
                results[k].error = str(e)
        inputs.sort(key=lambda item: item[1].shape[1:])
        for start in range(0, len(inputs), self.batch_size):
            chunk = inputs[start : start + self.batch_size]
            batch = pad_images([view for _, view in chunk]).to(self.device)
            for (k, _), hyps in zip(chunk, self.decode(batch, beam or self.beam)):
                if results[k].score >= hyps[0].score:  # NaN (no reading yet) compares False
                    continue  # the other view of this image read better
                best, *rest = [(self.vocab.decode(h.ids), h.score) for h in hyps]
                results[k] = Prediction(best[0], best[1], rest)
        return results

    def decode(self, batch: torch.Tensor, beam: int) -> list[list[Hypothesis]]:
        if beam <= 1:
            return [[h] for h in greedy(self.model, batch)]
        return beam_search(self.model, batch, beam=beam)
