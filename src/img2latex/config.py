"""Typed configuration: YAML files under `configs/` load into these dataclasses.

Every knob lives in exactly one field here; a YAML key that names no field is an error,
so a typo cannot silently leave a default in place. A file may start from another with
`base: other.yaml` (a path relative to it) and give only what it changes: a run's config then
reads as its difference from the run it continues.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import yaml

BACKENDS = ("auto", "torch", "onnx", "onnx-int8")  # what runs a model for `LatexOCR` (api.py)
PACKAGED = Path(__file__).parent / "weights"  # the shipped model (weights.py writes this format)


@dataclass
class ModelConfig:
    vocab_size: int = 0  # set from the vocabulary when training starts
    channels: list[int] = field(default_factory=lambda: [32, 64, 128, 256])  # CNN stages
    blocks: list[int] = field(default_factory=lambda: [1, 1, 2, 2])  # residual blocks a stage
    d_model: int = 256
    heads: int = 4
    encoder_layers: int = 0  # Transformer layers over the CNN features
    decoder_layers: int = 3
    ff_mult: int = 4
    dropout: float = 0.1
    max_tokens: int = 256  # longest output, <bos> and <eos> included


@dataclass
class AugmentConfig:
    """Random distortions applied to training images only (never at evaluation)."""

    enabled: bool = False
    scale: tuple[float, float] = (0.85, 1.15)
    blur_p: float = 0.2
    noise_p: float = 0.2
    stroke_p: float = 0.2  # thicken or thin the strokes
    darken_p: float = 0.0  # darken anti-aliased strokes (gamma), as in im2latex-100k's bold images
    darken_gamma: tuple[float, float] = (1.5, 3.5)
    pad_max: int = 6  # extra white margin, pixels
    rotate_deg: float = 0.0  # rotate by up to this many degrees either way
    shear: float = 0.0  # slant by up to this fraction of the height either way (italic-like)
    jpeg_p: float = 0.0  # re-encode as a JPEG of quality 30-90 (screenshots pasted through chat apps)
    lowres_p: float = 0.0  # shrink by a `lowres` factor and enlarge back: a small screenshot as autoscale sees it
    lowres: tuple[float, float] = (0.5, 0.8)


@dataclass
class DataConfig:
    train: list[str] = field(default_factory=lambda: ["data/train"])  # rendered dirs
    train_repeat: list[int] = field(default_factory=list)  # times each dir is seen an epoch (default 1)
    val: str = "../shared/data/im2latex100k/val"
    val_subset: int = 256  # images scored during training (the full set: `img2latex evaluate`)
    label_style: str = ""  # spell training labels in this style (style.py: im2latex, modern); "": as written
    max_label_tokens: int = 150
    max_height: int = 256
    max_width: int = 1024
    batch_size: int = 32
    max_batch_pixels: int = 400_000  # caps batches of large images
    num_workers: int = 1
    # Reading (api.py, not training) reads every image enlarged by each of these factors, and
    # autoscale resizes to their mean times im2latex-100k's glyph height: a model need not read
    # best at the size its renders were calibrated to (`python bench/read_scale.py` measures
    # where it does). More than one: a scale ensemble (ensemble.py), a reading per factor.
    read_scales: list[float] = field(default_factory=lambda: [1.0])
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class TrainConfig:
    out_dir: str = "runs/base"
    device: str = "auto"  # auto | cpu | cuda
    seed: int = 0
    lr: float = 5e-4
    weight_decay: float = 0.01
    warmup_steps: int = 500
    max_steps: int = 20_000
    max_minutes: float = 0.0  # wall clock for this invocation: stop, save last.pt, and let --resume go on; 0: none
    # With max_minutes, on a machine whose speed nobody has timed: once the warm-up and a sixth of
    # the minutes have run, max_steps becomes, at each log interval, the step the minutes left reach
    # at the last sixth's rate, so the cosine decays fully as time runs out (kept in last.pt: a
    # resumed invocation keeps it)
    fit_max_steps: bool = False
    grad_clip: float = 1.0
    accumulate: int = 1
    label_smoothing: float = 0.0
    ema_decay: float = 0.0  # exponential moving average of the weights, evaluated and exported; 0: off
    init_from: str = ""  # weights directory to fine-tune from (its architecture and vocabulary)
    add_encoder_layers: int = 0  # with init_from: Transformer layers appended to its encoder, starting as the identity
    add_decoder_layers: int = 0  # with init_from: layers appended to its decoder, likewise
    # with init_from: residual blocks appended to each CNN stage (a count a stage), likewise
    add_cnn_blocks: list[int] = field(default_factory=list)
    pretrain_steps: int = 0  # first steps train the encoder to reconstruct the image (models/pretrain.py)
    bf16: bool = True  # autocast on CUDA and on CPUs with native bf16 (train.bf16_native)
    compile: bool = False
    eval_every: int = 500
    save_every: int = 200
    patience: int = 10  # evaluations without a better val BLEU before stopping
    threads: int = 0  # CPU threads for torch; 0 leaves torch's default


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def _build(cls: type, values: dict[str, Any]) -> Any:
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    kwargs = {}
    for key, value in values.items():
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            value = _build(kind, value or {})
        elif getattr(kind, "__origin__", None) is tuple:
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def from_dict(values: dict[str, Any], cls: type = Config) -> Any:
    return _build(cls, values)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """Plain dicts and lists, as YAML and JSON can hold them."""
    return _plain(dataclasses.asdict(config))


def _merge(under: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over`'s values in place of `under`'s; sections merge key by key, lists are replaced whole."""
    merged = dict(under)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = _merge(merged[key], value)
        merged[key] = value
    return merged


def _read_values(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A YAML config's values with its `base:` file's (and that file's base's, ...) beneath them."""
    path = Path(path).resolve()
    if path in _chain:
        raise ValueError(f"config base loop: {' -> '.join(p.name for p in (*_chain, path))}")
    values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    base = values.pop("base", None)
    if base is None:
        return values
    if not isinstance(base, str):
        raise ValueError(f"{path.name}: base must name a YAML file, got {base!r}")
    return _merge(_read_values(path.parent / base, (*_chain, path)), values)


def load_config(path: str | Path, cls: type = Config) -> Any:
    return from_dict(_read_values(path), cls)


def save_config(config: Any, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(to_dict(config), sort_keys=False), encoding="utf-8")
