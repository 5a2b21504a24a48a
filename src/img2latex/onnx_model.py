"""The exported model (`img2latex export --onnx DIR`) run by `onnxruntime`.

`OnnxModel` offers what decoding needs (`cfg`, `start`, `step`), so greedy and beam search
run unchanged on it: `LatexOCR(weights=DIR, backend="onnx")`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .config import load_config
from .export import GRAPHS, kv_names


@dataclass
class OnnxCache:
    """The graphs' caches as numpy arrays, in `kv_names` order."""

    cross: list[np.ndarray]
    past: list[np.ndarray]

    def reorder(self, index: torch.Tensor) -> "OnnxCache":
        rows = index.cpu().numpy()
        return OnnxCache([a[rows] for a in self.cross], [a[rows] for a in self.past])


class OnnxModel:
    def __init__(self, directory: str | Path, int8: bool = False, threads: int = 0):
        import onnxruntime as ort

        directory = Path(directory)
        self.cfg = load_config(directory / "config.yaml").model
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.enable_mem_pattern = False  # shapes change at every step: nothing to plan ahead
        # Spinning worker threads would take the CPU from the Python loop between steps
        # (measured: 2x slower batches on 2 cores).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        suffix = ".int8.onnx" if int8 else ".onnx"
        missing = [name for name in GRAPHS if not (directory / f"{name}{suffix}").exists()]
        if missing:
            raise FileNotFoundError(f"{directory} has no {', '.join(m + suffix for m in missing)}: "
                                    f"run `img2latex export --weights {directory} --onnx {directory}{' --int8' if int8 else ''}`")
        self.encoder, self.decoder = (ort.InferenceSession(str(directory / f"{name}{suffix}"), options,
                                                           providers=["CPUExecutionProvider"]) for name in GRAPHS)
        layers = self.cfg.decoder_layers
        self.cross_names, self.past_names = kv_names("cross", layers), kv_names("past", layers)

    def start(self, images: torch.Tensor) -> OnnxCache:
        cross = self.encoder.run(None, {"images": images.float().cpu().numpy()})
        b, heads, _, head = cross[0].shape
        empty = np.zeros((b, heads, 0, head), dtype=np.float32)
        return OnnxCache(cross, [empty] * len(self.past_names))

    def step(self, cache: OnnxCache, tokens: torch.Tensor) -> torch.Tensor:
        feeds = {"tokens": tokens.cpu().numpy(), **dict(zip(self.cross_names, cache.cross)),
                 **dict(zip(self.past_names, cache.past))}
        logits, *cache.past = self.decoder.run(None, feeds)
        return torch.from_numpy(logits)
