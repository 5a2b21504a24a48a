"""The exported model (`img2latex export --onnx DIR`) run by `onnxruntime`.

`OnnxModel` offers what decoding needs (`cfg`, `start`, `step`), so greedy and beam search
run unchanged on it: `LatexOCR(weights=DIR, backend="onnx")`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import load_config

if TYPE_CHECKING:
    import onnxruntime as ort

GRAPHS = ("encoder", "decoder")


def kv_names(prefix: str, layers: int) -> list[str]:
    """`prefix_k0, prefix_v0, prefix_k1, ...`: the order the graphs take and give caches in."""
    return [f"{prefix}_{kind}{i}" for i in range(layers) for kind in "kv"]


@dataclass
class OnnxCache:
    """The graphs' caches as numpy arrays, in `kv_names` order."""

    cross: list[np.ndarray]
    past: list[np.ndarray]

    def reorder(self, rows: np.ndarray, images: np.ndarray | None = None) -> "OnnxCache":
        """As `models.decoder.Cache.reorder`."""
        return OnnxCache(self.cross if images is None else [a[images] for a in self.cross], [a[rows] for a in self.past])


class OnnxModel:
    def __init__(self, directory: str | Path, int8: bool = False, threads: int = 0):
        """`threads`: the encoder's (0: onnxruntime's default, one per core)."""
        directory = Path(directory)
        self.cfg = load_config(directory / "config.yaml").model
        suffix = ".int8.onnx" if int8 else ".onnx"
        missing = [name for name in GRAPHS if not (directory / f"{name}{suffix}").exists()]
        if missing:
            raise FileNotFoundError(f"{directory} has no {', '.join(m + suffix for m in missing)}: "
                                    f"run `img2latex export --weights {directory} --onnx {directory}{' --int8' if int8 else ''}`")
        # The decoder step's products are too small to share out: on 2 cores one thread read
        # single images about 30% faster and batches no slower than two.
        self.encoder, self.decoder = (_session(directory / f"{name}{suffix}", threads if name == "encoder" else 1)
                                      for name in GRAPHS)
        layers = self.cfg.decoder_layers
        self.cross_names, self.past_names = kv_names("cross", layers), kv_names("past", layers)

    def start(self, images: np.ndarray) -> OnnxCache:
        cross = self.encoder.run(None, {"images": images})
        b, heads, _, head = cross[0].shape
        empty = np.zeros((b, heads, 0, head), dtype=np.float32)
        return OnnxCache(cross, [empty] * len(self.past_names))

    def step(self, cache: OnnxCache, tokens: np.ndarray) -> np.ndarray:
        feeds = {"tokens": tokens, **dict(zip(self.cross_names, cache.cross)),
                 **dict(zip(self.past_names, cache.past))}
        logits, *cache.past = self.decoder.run(None, feeds)
        return logits


def _session(path: Path, threads: int) -> ort.InferenceSession:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_mem_pattern = False  # shapes change at every step: nothing to plan ahead
    # Spinning worker threads would take the CPU from the Python loop between steps
    # (measured: 2x slower batches on 2 cores).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
