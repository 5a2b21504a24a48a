"""Export a trained model to ONNX for `onnxruntime` (`img2latex export --onnx DIR`).

Two graphs, so that decoding costs one token's work a step, as in PyTorch:
- `encoder.onnx`: images (B, 1, H, W) -> every decoder layer's cross-attention keys and
  values (`cross_k{i}`, `cross_v{i}`, each (B, heads, S, D/heads)), computed once per image;
- `decoder.onnx`: one token per row (R, 1), the cross keys/values and the self-attention
  cache so far (`past_k{i}`, `past_v{i}`, (R, heads, T, D/heads), T may be 0) -> the next
  token's logits (R, V) and the cache with this token appended (`present_k{i}`, `present_v{i}`).
  R may be a multiple of B: rows i*R/B .. (i+1)*R/B-1 (an image's beams) read image i.

`config.yaml` and `vocab.json` are copied beside them, so the directory is a complete model
for `LatexOCR(weights=DIR, backend="onnx")`. With `quantize`, `*.int8.onnx` files hold
dynamically quantized (int8 weights) copies of both graphs. The graphs keep on disk as float16
every weight that float16 holds exactly (`_store_exact_halves`), which keeps the package small.
"""

from __future__ import annotations

import filecmp
import shutil
import warnings
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .models import Img2Latex
from .models.decoder import Cache
from .onnx_model import GRAPHS, kv_names
from .weights import load_weights

OPSET = 17


class EncoderGraph(nn.Module):
    def __init__(self, model: Img2Latex):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(t for kv in self.model.start(images).cross for t in kv)


class DecoderStepGraph(nn.Module):
    def __init__(self, model: Img2Latex):
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor, *caches: torch.Tensor) -> tuple[torch.Tensor, ...]:
        half = len(caches) // 2
        cross, past = _pairs(caches[:half]), _pairs(caches[half:])
        cache = Cache(cross, past, length=past[0][0].shape[2])
        logits = self.model.step(cache, tokens)
        return (logits, *(t for kv in cache.self_kv for t in kv))


def _pairs(flat: tuple[torch.Tensor, ...]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


def export_onnx(weights: str | Path, out: str | Path, quantize: bool = False) -> list[Path]:
    """Write `encoder.onnx`, `decoder.onnx` (and int8 copies) plus config and vocab to `out`."""
    if find_spec("onnx") is None:
        raise ImportError("ONNX export needs the onnx package: pip install -e \".[export]\"")
    out = Path(out)
    _refuse_other_weights(Path(weights), out)
    model, _, _ = load_weights(weights)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    cfg, layers = model.cfg, model.cfg.decoder_layers
    images = torch.rand(2, 1, 48, 160)
    cross = EncoderGraph(model)(images)
    head = cfg.d_model // cfg.heads
    past = tuple(torch.rand(4, cfg.heads, 3, head) for _ in range(2 * layers))  # two rows (beams) an image
    tokens = torch.full((4, 1), 5, dtype=torch.long)
    kv_axes = lambda names, rows, length: {n: {0: rows, 2: length} for n in names}  # noqa: E731
    written = [out / f"{name}.onnx" for name in GRAPHS]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(
            EncoderGraph(model), (images,), str(written[0]), dynamo=False, opset_version=OPSET,
            training=torch.onnx.TrainingMode.PRESERVE,  # the eval model, its batch norms not folded: see below
            input_names=["images"], output_names=kv_names("cross", layers),
            dynamic_axes={"images": {0: "images", 2: "height", 3: "width"}, **kv_axes(kv_names("cross", layers), "images", "memory")},
        )
        torch.onnx.export(
            DecoderStepGraph(model), (tokens, *cross, *past), str(written[1]), dynamo=False, opset_version=OPSET,
            input_names=["tokens", *kv_names("cross", layers), *kv_names("past", layers)],
            output_names=["logits", *kv_names("present", layers)],
            dynamic_axes={"tokens": {0: "rows"}, "logits": {0: "rows"}, **kv_axes(kv_names("cross", layers), "images", "memory"),
                          **kv_axes(kv_names("past", layers), "rows", "past"), **kv_axes(kv_names("present", layers), "rows", "present")},
        )
    if quantize:
        written += [_quantize(path) for path in written[:2]]
    for path in written[:2]:
        _store_exact_halves(path)
    for name in ("config.yaml", "vocab.json"):
        if not (out / name).exists() or not (out / name).samefile(Path(weights) / name):
            shutil.copyfile(Path(weights) / name, out / name)
    return written


def _refuse_other_weights(weights: Path, out: Path) -> None:
    """Graphs written beside other weights would disagree with them, silently."""
    own = out / "model.safetensors"
    if own.exists() and not filecmp.cmp(own, weights / "model.safetensors", shallow=False):
        raise ValueError(f"{out} holds other weights than {weights}: export those with `--weights {out}`, "
                         "or write the graphs to another directory")


def _quantize(path: Path) -> Path:
    """int8 weights for the matrix products, activations quantized on the fly."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = path.with_suffix(".int8.onnx")
    quantize_dynamic(str(path), str(target), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"])
    return target


def _store_exact_halves(path: Path) -> None:
    """Store as float16 each float32 weight that float16 holds exactly, behind a Cast back to
    float32 that onnxruntime folds when it loads the graph: the graph computes as before, on the
    same numbers, from a file about half the size. Every weight comes from the float16
    `model.safetensors`, so all qualify as long as the export leaves the batch norms apart from
    the convolutions (folded, they would be products that float16 rounds); onnxruntime fuses the
    two itself when it loads the graph. The int8 graphs' quantization scales may not qualify."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    casts = []
    for init in model.graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        weights = numpy_helper.to_array(init)
        halves = weights.astype(np.float16)
        if weights.size < 64 or not np.array_equal(halves, weights):  # a scalar saves less than its Cast costs
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(halves, f"{name}.float16"))
        casts.append(helper.make_node("Cast", [f"{name}.float16"], [name], to=TensorProto.FLOAT))
    nodes = casts + list(model.graph.node)  # the casts first: a graph's nodes are in the order they run
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, str(path))
