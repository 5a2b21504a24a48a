"""Saving and loading a trained model: `model.safetensors` + `config.yaml` + `vocab.json`.

This directory format is what ships inside the package (`img2latex/weights/`) and what
training exports as its best model. Tensors are stored in fp16 to halve the size and
loaded back as fp32; the tied output projection is not stored twice.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .config import PACKAGED, Config, from_dict, load_config, save_config
from .models import Img2Latex
from .tokenizer import Vocab

TIED = "decoder.head.weight"


def save_weights(model: Img2Latex, config: Config, vocab: Vocab, directory: str | Path) -> None:
    """Write the three files atomically: readers see the old or the new model, never a mix."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory.parent))
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model.state_dict().items()
             if k != TIED and v.is_floating_point()}
    state.update({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if not v.is_floating_point()})
    save_file(state, str(tmp / "model.safetensors"))
    save_config(config, tmp / "config.yaml")
    vocab.save(tmp / "vocab.json")
    old = directory.with_name(directory.name + ".old")
    if directory.exists():
        os.replace(directory, old)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)


def load_weights(directory: str | Path = PACKAGED, device: str | torch.device = "cpu") -> tuple[Img2Latex, Config, Vocab]:
    """The model (in eval mode), its config and vocabulary from a weights directory."""
    directory = Path(directory)
    if not (directory / "model.safetensors").is_file():
        raise FileNotFoundError(f"no model.safetensors in {directory}")
    config = load_config(directory / "config.yaml")
    vocab = Vocab.load(directory / "vocab.json")
    model = Img2Latex(config.model)
    state = load_file(str(directory / "model.safetensors"))
    reference = model.state_dict()
    state = {k: v.to(reference[k].dtype) for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if set(missing) - {TIED} or unexpected:
        raise ValueError(f"weights do not match the config: missing {missing}, unexpected {unexpected}")
    return model.to(device).eval(), config, vocab


def load_checkpoint(path: str | Path) -> tuple[Img2Latex, Config, Vocab]:
    """The model a training checkpoint (`last.pt`) holds, as its evaluations scored it: the EMA
    of the weights where the run keeps one. For shipping a step other than the run's `best/`."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    config, vocab = from_dict(checkpoint["config"]), Vocab(checkpoint["vocab"])
    model = Img2Latex(config.model)
    model.load_state_dict(checkpoint["ema"]["shadow"] if "ema" in checkpoint else checkpoint["model"])
    return model.eval(), config, vocab


def average_weights(directories: list[str | Path]) -> tuple[Img2Latex, Config, Vocab]:
    """The element-wise mean of several weights directories of one architecture and vocabulary
    (such as two late steps of one run's line): near each other in weight space, their mean
    often reads better than either, at one model's cost. Config and integer buffers are the
    first directory's."""
    loaded = [load_weights(d) for d in directories]
    model, config, vocab = loaded[0]
    for directory, (_, other_config, other_vocab) in zip(directories[1:], loaded[1:]):
        if other_config.model != config.model or other_vocab.itos != vocab.itos:
            raise ValueError(f"{directory} has another architecture or vocabulary than {directories[0]}: cannot average")
    states = [m.state_dict() for m, _, _ in loaded]
    model.load_state_dict({k: torch.stack([s[k] for s in states]).mean(0) if v.is_floating_point() else v
                           for k, v in states[0].items()})
    return model, config, vocab
