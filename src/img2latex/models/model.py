"""The image-to-LaTeX model: encoder + decoder, and the parameter count."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import nn

from ..config import ModelConfig
from .decoder import Cache, Decoder
from .encoder import Encoder


class Img2Latex(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.apply(_init_weights)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits: predicts tokens[:, 1:] from tokens[:, :-1]."""
        return self.decoder(tokens, self.encoder(images))

    def start(self, images: torch.Tensor) -> Cache:
        """Encode the images once; the cache holds each decoder layer's view of them."""
        return self.decoder.start(self.encoder(images))

    def step(self, cache: Cache, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (B, V) of the token after `tokens` (B, 1); the cache grows by one."""
        return self.decoder(tokens, cache=cache)[:, -1]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def with_layers(model: Img2Latex, encoder: int = 0, decoder: int = 0, blocks: Sequence[int] = (),
                donor: Img2Latex | None = None) -> Img2Latex:
    """A copy of a trained `model` with `encoder` Transformer layers appended to its encoder,
    `decoder` layers appended to its decoder and `blocks[s]` residual blocks appended to its
    CNN's stage s.

    Each new layer's output projections, and each new block's last batch-norm scale, start at
    zero, so it passes its input through and the copy predicts exactly what `model` did:
    fine-tuning grows capacity without first undoing what was learned (the residual-branch zero
    init of ReZero, Fixup and Goyal et al.'s ResNets). The rest of the new layers and blocks is
    freshly initialized, or taken from `donor`, a model of the grown shape (for averaging with
    it: the mean then fades the donor's new parts in at half their output, not half noise).
    """
    old = model.cfg
    added = list(blocks) or [0] * len(old.blocks)
    if len(added) != len(old.blocks) or any(k and not n for n, k in zip(old.blocks, added)):
        raise ValueError(f"cannot grow CNN stages {old.blocks} by {added}: one count a stage, "
                         "and a stage grows only past a block it has")
    cfg = dataclasses.replace(old, encoder_layers=old.encoder_layers + encoder,
                              decoder_layers=old.decoder_layers + decoder,
                              blocks=[n + k for n, k in zip(old.blocks, added)])
    grown = Img2Latex(cfg)
    moved = _block_indices(old.blocks, cfg.blocks)
    state = {_renamed(key, moved): value for key, value in model.state_dict().items()}
    missing, unexpected = grown.load_state_dict(state, strict=False)
    new = tuple(f"encoder.layers.{i}." for i in range(old.encoder_layers, cfg.encoder_layers))
    new += tuple(f"decoder.layers.{i}." for i in range(old.decoder_layers, cfg.decoder_layers))
    new_blocks = sorted(set(range(sum(cfg.blocks))) - set(moved.values()))
    new += tuple(f"encoder.cnn.{i}." for i in new_blocks)
    if unexpected or not all(key.startswith(new) for key in missing):
        raise ValueError(f"cannot grow this model: missing {missing}, unexpected {unexpected}")
    if donor is not None:
        if donor.cfg != cfg:
            raise ValueError(f"the donor's shape is not the grown one: {donor.cfg} against {cfg}")
        grown.load_state_dict({k: v for k, v in donor.state_dict().items() if k in missing}, strict=False)
    outputs = [linear for layer in grown.encoder.layers[old.encoder_layers:] for linear in (layer.attn.out, layer.ff[2])]
    outputs += [linear for layer in grown.decoder.layers[old.decoder_layers:]
                for linear in (layer.self_attn.out, layer.cross_attn.out, layer.ff[2])]
    outputs += [grown.encoder.cnn[i].bn2 for i in new_blocks]
    for module in outputs:
        nn.init.zeros_(module.weight)
        nn.init.zeros_(module.bias)
    return grown.to(next(model.parameters()).device).train(model.training)


def _block_indices(old: list[int], new: list[int]) -> dict[int, int]:
    """Where each of the old CNN's blocks sits in the grown one's `encoder.cnn`: a stage's new
    blocks come after its old ones, which moves every later stage's blocks along."""
    moved, start_old, start_new = {}, 0, 0
    for n_old, n_new in zip(old, new):
        moved.update((start_old + b, start_new + b) for b in range(n_old))
        start_old, start_new = start_old + n_old, start_new + n_new
    return moved


def _renamed(key: str, moved: dict[int, int]) -> str:
    """`encoder.cnn.I.rest` with I its place in the grown CNN; any other key as it is."""
    parts = key.split(".", 3)
    if parts[:2] != ["encoder", "cnn"]:
        return key
    return ".".join(["encoder", "cnn", str(moved[int(parts[2])]), parts[3]])


def _init_weights(module: nn.Module) -> None:
    """Small initial weights (GPT-2's 0.02): with tied embeddings, unit-variance ones would
    make the first logits huge."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
