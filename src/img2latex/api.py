"""Python API: `LatexOCR()("formula.png")` returns the formula's LaTeX.

```python
from img2latex import LatexOCR
ocr = LatexOCR()                      # the weights shipped in the package, on the CPU
ocr("f.png")                          # a path, bytes, a PIL image or a numpy array
ocr.predict_batch(["a.png", "b.png"], beam=5)
```

The model runs on `onnxruntime` where the weights directory holds the exported graphs (the
shipped one does; `img2latex export --onnx DIR` makes them) and on PyTorch otherwise. Only
the PyTorch backend imports torch, which takes longer than the rest of start-up together.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import pieces
from . import rerank as render_compare
from .config import BACKENDS, PACKAGED, Config, load_config
from .data import pad_batch, size_batches
from .decoding import Hypothesis, StepModel, beam_search, caught_in_loop, greedy, rank, reread_loops
from .ensemble import ScaleEnsemble
from .grammar import Grammar
from .image import ImageInput, Inputs, load_gray, prepare_inputs
from .onnx_model import GRAPHS, OnnxModel
from .style import DEFAULT_STYLE, check_style, restyle
from .tokenizer import Vocab

BATCH_PIXELS = 150_000  # padded pixels a batch may hold: caps the encoder's activations (peak memory)
WHOLE = -1  # the piece index of a model input that shows the whole image


@dataclass
class Prediction:
    """A formula read from one image; `error` is set instead when the input was unusable."""

    latex: str = ""
    score: float = float("nan")  # mean token log-probability, in (-inf, 0]
    # The beam's other readings, best first; where a wide gap split the image (pieces.py), also the
    # one that lost of the whole's reading and the pieces' joined: first if the whole's, else last.
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    error: str | None = None


class LatexOCR:
    def __init__(self, weights: str | Path | None = None, device: str = "cpu", beam: int = 1, batch_size: int = 32,
                 threads: int | None = None, autoscale: bool = True, backend: str = "auto", style: str = DEFAULT_STYLE,
                 grammar: bool = True, rerank: bool = False, read_scales: Sequence[float] | None = None,
                 split: bool = True, workers: int | None = None, loop_beam: int = 5):
        """`autoscale` resizes images whose glyphs are far from the training size (zoomed screenshots).

        `backend`: "torch", "onnx", "onnx-int8" (int8-quantized graphs), or "auto": ONNX on
        the CPU where the graphs and onnxruntime are there, PyTorch otherwise.
        `style`: how look-alike commands are spelled, "im2latex" (`{ \\cal A }`) or "modern"
        (`\\mathcal { A }`); see style.py.
        `grammar`: decode only LaTeX whose braces, environments and `\\left`/`\\right` nest,
        with at most `grammar.MAX_SPACES` spacing commands in a row (see grammar.py); False
        shows what the model writes unaided.
        `rerank`: typeset the beam's readings with pdflatex and prefer the one that looks like
        the image (rerank.py); needs a beam of 2 or more, and pdflatex and pdftoppm. A call to
        `predict_batch` can say otherwise.
        `read_scales`: factors every image is read enlarged by (None: the weights' own,
        `DataConfig.read_scales`); more than one reads it at each and decodes by the mean of
        the readings' log-probabilities (ensemble.py), a reading per factor.
        `split`: where blank gaps at least `pieces.SPLIT_GAP` glyph heights wide split an image
        (`a = b \\qquad c = d`), also read the pieces apart and take their joined reading unless
        the whole image's scores clearly better (pieces.py); False reads every image whole.
        `workers`: how many batches `predict_batch` reads at once, each on a thread of its own;
        the readings do not change. None: on onnxruntime one per CPU core this process may use
        (a decoding step runs on one core, so other batches keep the other cores busy), on
        PyTorch one (it spreads each operation over the cores itself, and side by side read no
        faster there and single images slower).
        `loop_beam`: a greedy reading caught in a loop (`decoding.caught_in_loop`) in every view
        of the image is read again by beam search of this width (1: kept as it is).
        """
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        check_style(style)
        directory = self.weights = Path(weights or PACKAGED)
        if backend == "auto":
            backend = "onnx" if device == "cpu" and _has_onnx(directory) else "torch"
        self.backend, self.beam, self.batch_size, self.autoscale, self.style = backend, beam, batch_size, autoscale, style
        self.rerank, self.split, self.loop_beam = rerank, split, loop_beam
        self.workers = workers if workers is not None else 1 if backend == "torch" else _cores()
        if self.workers < 1:
            raise ValueError(f"workers must be 1 or more, not {workers}")
        if loop_beam < 1:
            raise ValueError(f"loop_beam must be 1 or more (1: loops are kept), not {loop_beam}")
        # Made once: every call reuses its threads.
        self._pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        self.model: StepModel
        if backend == "torch":
            self.model, self.config, self.vocab = _torch_model(directory, device, threads)
        else:
            self.model = OnnxModel(directory, int8=backend == "onnx-int8", threads=threads or 0)
            self.config, self.vocab = load_config(directory / "config.yaml"), Vocab.load(directory / "vocab.json")
        self.grammar = Grammar(self.vocab) if grammar else None
        self.read_scales = sorted(read_scales or self.config.data.read_scales)
        if not self.read_scales or self.read_scales[0] <= 0:
            raise ValueError(f"read scales must be positive numbers, not {read_scales}")

    def __call__(self, image: ImageInput, beam: int | None = None) -> str:
        return self.predict(image, beam).latex

    def predict(self, image: ImageInput, beam: int | None = None) -> Prediction:
        """Read one image; ValueError with a clear message if it is not a usable image."""
        return self.predict_batch([image], beam)[0]

    def load(self, image: ImageInput) -> list[np.ndarray]:
        """The (S, H, W) model inputs for an image, a channel per read scale: as it is and,
        where autoscale resizes it, also resized by each of `image.AUTOSCALE_TRIES`; the
        best-scored reading wins. ValueError if unusable."""
        return self._inputs(load_gray(image), split=False).views

    def _inputs(self, gray: np.ndarray, split: bool) -> Inputs:
        """The whole image's views and, with `split` where wide gaps split it, its pieces' (pieces.py)."""
        data = self.config.data
        return prepare_inputs(gray, pieces.SPLIT_GAP if split else None, max_height=data.max_height,
                              max_width=data.max_width, autoscale=self.autoscale, read_scales=self.read_scales)

    def predict_batch(self, images: list[ImageInput], beam: int | None = None, errors: str = "raise",
                      rerank: bool | None = None) -> list[Prediction]:
        """Read many images, batched by size; results in input order.

        errors="raise" raises ValueError at the first unusable image; errors="keep" returns a
        Prediction with `error` set for it and reads the others.
        """
        beam, rerank = beam or self.beam, self.rerank if rerank is None else rerank
        if rerank:
            if beam < 2:
                raise ValueError("reranking chooses among the beam's readings: use a beam of 2 or more")
            render_compare.check_tools()
        results, read = self.read_batch(images, beam, errors)
        if rerank:
            self._rerank(results, read)
        return results

    def read_batch(self, images: list[ImageInput], beam: int, errors: str = "raise"
                   ) -> tuple[list[Prediction], dict[int, np.ndarray]]:
        """`predict_batch` without reranking, and for each image read, the model input (view)
        its reading came from, by image index: what render and compare lays the readings over
        (the middle read scale's channel)."""
        inputs: list[tuple[int, int, np.ndarray]] = []  # (image index, piece index or WHOLE, model input)
        results = [Prediction() for _ in images]
        gaps: dict[int, list[float]] = {}
        for k, image in enumerate(images):
            try:
                prepared = self._inputs(load_gray(image), self.split)
                inputs += [(k, WHOLE, view) for view in prepared.views]
                inputs += [(k, i, view) for i, views in enumerate(prepared.pieces) for view in views]
                gaps[k] = prepared.gaps
            except ValueError as e:
                if errors == "raise":
                    raise
                results[k].error = str(e)
        # Beam search's `beam` rows per image share the image's keys/values (the bulk of the
        # cache), so it batches as many images as greedy (measured: 35% more images/s than a
        # `beam`-th of them).
        best: dict[tuple[int, int], tuple[list[Hypothesis], np.ndarray]] = {}  # best-scored view's, by (k, piece)
        sizes = [tuple(view.shape[1:]) for *_, view in inputs]
        batches = size_batches(sizes, self.batch_size, BATCH_PIXELS)
        decode = lambda rows: self.decode(pad_batch([inputs[r][2] for r in rows]), beam)  # noqa: E731
        # Side by side on the pool's threads (the runtimes let go of the GIL); a lone batch here.
        readings = map(decode, batches) if self._pool is None or len(batches) < 2 else self._pool.map(decode, batches)
        for rows, batch_readings in zip(batches, readings):
            for r, hyps in zip(rows, batch_readings):
                k, piece, view = inputs[r]
                if (k, piece) not in best or rank(hyps[0]) > rank(best[k, piece][0][0]):  # else another view read better
                    best[k, piece] = hyps, view
        if beam <= 1 and self.loop_beam > 1:
            self._reread_loops(best)
        read: dict[int, np.ndarray] = {}
        for (k, piece), (hyps, view) in best.items():
            if piece == WHOLE:
                first, *rest = [(self._text(h), h.score) for h in hyps]
                results[k], read[k] = Prediction(first[0], first[1], rest), view[len(view) // 2]
        for k, between in gaps.items():
            if between:
                results[k] = self._with_pieces(results[k], [best[k, i][0][0] for i in range(len(between) + 1)], between)
        return results, read

    def _reread_loops(self, best: dict[tuple[int, int], tuple[list[Hypothesis], np.ndarray]]) -> None:
        """Greedy readings still caught in a loop (every view of the image or piece is, as
        `rank` puts the others first) read again from the winning view by beam search of width
        `loop_beam` (decoding.reread_loops). Only these pay for a beam."""
        looped = [key for key, (hyps, _) in best.items() if caught_in_loop(hyps[0])]
        views = [best[key][1] for key in looped]
        for rows in size_batches([tuple(v.shape[1:]) for v in views], self.batch_size, BATCH_PIXELS):
            batch = pad_batch([views[r] for r in rows])
            found = reread_loops(self._model(batch), batch, [best[looped[r]][0][0] for r in rows], self.loop_beam,
                                 grammar=self.grammar)
            for r, hypothesis in zip(rows, found):
                best[looped[r]] = [hypothesis], views[r]

    def _text(self, hypothesis: Hypothesis) -> str:
        return restyle(self.vocab.decode(hypothesis.ids), self.style)

    def _with_pieces(self, whole: Prediction, parts: list[Hypothesis], gaps: list[float]) -> Prediction:
        """The whole image's reading or its pieces' joined one (pieces.py), the other an alternative."""
        joined = pieces.join([self._text(h) for h in parts], gaps)
        score = pieces.joined_score([h.score for h in parts], [len(h.ids) + 1 for h in parts])
        if joined == whole.latex:
            return whole
        if pieces.prefer_pieces(whole.score, score):
            return Prediction(joined, score, [(whole.latex, whole.score), *whole.alternatives])
        return Prediction(whole.latex, whole.score, [*whole.alternatives, (joined, score)])

    def _rerank(self, results: list[Prediction], read: dict[int, np.ndarray]) -> None:
        """Reorder each image's readings by render and compare, against the input it was read from."""
        keys = sorted(read)
        readings = [[(results[k].latex, results[k].score), *results[k].alternatives] for k in keys]
        texts = [[latex for latex, _ in rs] for rs in readings]
        found = render_compare.distances([render_compare.paper(read[k]) for k in keys], texts,
                                         render_compare.renderings(texts, _cores()))
        for k, rs, ds in zip(keys, readings, found):
            best, *rest = [rs[i] for i in render_compare.order([score for _, score in rs], ds)]
            results[k] = Prediction(best[0], best[1], rest)

    def decode(self, batch: np.ndarray, beam: int) -> list[list[Hypothesis]]:
        """Readings of a batch (B, S, H, W) with a channel per read scale."""
        model = self._model(batch)
        if beam <= 1:
            return [[h] for h in greedy(model, batch, grammar=self.grammar)]
        return beam_search(model, batch, beam=beam, grammar=self.grammar)

    def _model(self, batch: np.ndarray) -> StepModel:
        """The model, or a scale ensemble of it where `batch` has a channel per read scale."""
        return self.model if batch.shape[1] == 1 else ScaleEnsemble(self.model)


def _torch_model(directory: Path, device: str, threads: int | None) -> tuple[StepModel, Config, Vocab]:
    import torch

    from .torch_model import TorchModel
    from .weights import load_weights

    if threads:
        torch.set_num_threads(threads)
    model, config, vocab = load_weights(directory, device)
    return TorchModel(model), config, vocab


def _cores() -> int:
    """The CPU cores this process may run on (a container's limit, where it sets one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _has_onnx(directory: Path) -> bool:
    """Exported graphs in `directory` and onnxruntime installed."""
    from importlib.util import find_spec

    return all((directory / f"{g}.onnx").is_file() for g in GRAPHS) and find_spec("onnxruntime") is not None
