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
from .models import Img2Latex, with_layers
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
    """The element-wise mean of several weights directories of one vocabulary (such as two late
    steps of one run's line): near each other in weight space, their mean often reads better
    than either, at one model's cost. A model that another one grew from in fine-tuning (fewer
    CNN blocks or Transformer layers, all else alike) is first grown to the deepest one's shape,
    its new parts the deepest's own with their outputs at zero: the mean is then the grown run
    with its new parts at half strength (a weight-space step back towards where it started).
    Config and integer buffers are the deepest directory's (the first of the deepest)."""
    loaded = [load_weights(d) for d in directories]
    deepest = max(range(len(loaded)), key=lambda i: loaded[i][0].num_parameters())
    model, config, vocab = loaded[deepest]
    states = []
    for directory, (other, _, other_vocab) in zip(directories, loaded):
        try:
            if other_vocab.itos != vocab.itos:
                raise ValueError("another vocabulary")
            states.append(_grown_to(other, model).state_dict())
        except ValueError as e:
            raise ValueError(f"cannot average {directory} with {directories[deepest]}: {e}") from None
    model.load_state_dict({k: torch.stack([s[k] for s in states]).mean(0) if v.is_floating_point() else v
                           for k, v in model.state_dict().items()})
    return model, config, vocab


def _grown_to(model: Img2Latex, target: Img2Latex) -> Img2Latex:
    """`model` grown by the CNN blocks and Transformer layers it lacks to `target`'s shape, the
    new parts `target`'s (`models.with_layers`); `model` itself when the shapes are alike."""
    have, want = model.cfg, target.cfg
    if have == want:
        return model
    blocks = [w - h for h, w in zip(have.blocks, want.blocks)]
    layers = (want.encoder_layers - have.encoder_layers, want.decoder_layers - have.decoder_layers)
    if len(have.blocks) != len(want.blocks) or min(blocks + list(layers)) < 0:
        raise ValueError(f"neither architecture grows into the other ({have} and {want})")
    return with_layers(model, *layers, blocks, donor=target)
