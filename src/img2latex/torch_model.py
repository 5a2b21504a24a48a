"""A PyTorch `Img2Latex` behind numpy inputs and outputs, as decoding takes them.

`TorchModel` and `onnx_model.OnnxModel` offer the same `cfg`, `start` and `step`
(`decoding.StepModel`), so greedy and beam search run unchanged on either.
"""

from __future__ import annotations

import numpy as np
import torch

from .models import Img2Latex
from .models.decoder import Cache


class TorchModel:
    def __init__(self, model: Img2Latex):
        self.model, self.cfg = model, model.cfg
        self.device = next(model.parameters()).device  # where the inputs go

    @torch.inference_mode()
    def start(self, images: np.ndarray) -> Cache:
        return self.model.start(torch.from_numpy(images).to(self.device))

    @torch.inference_mode()
    def step(self, cache: Cache, tokens: np.ndarray) -> np.ndarray:
        return self.model.step(cache, torch.from_numpy(tokens).to(self.device)).float().cpu().numpy()
