"""The image-to-LaTeX model: encoder + decoder, and the parameter count."""

from __future__ import annotations

import dataclasses

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


def with_layers(model: Img2Latex, encoder: int = 0, decoder: int = 0) -> Img2Latex:
    """A copy of a trained `model` with `encoder` Transformer layers appended to its encoder and
    `decoder` layers appended to its decoder.

    Each new layer's output projections start at zero, so it passes its input through and the
    copy predicts exactly what `model` did: fine-tuning grows capacity without first undoing
    what was learned (the residual-branch zero init of ReZero and Fixup).
    """
    old = model.cfg
    cfg = dataclasses.replace(old, encoder_layers=old.encoder_layers + encoder,
                              decoder_layers=old.decoder_layers + decoder)
    grown = Img2Latex(cfg)
    missing, unexpected = grown.load_state_dict(model.state_dict(), strict=False)
    new = tuple(f"encoder.layers.{i}." for i in range(old.encoder_layers, cfg.encoder_layers))
    new += tuple(f"decoder.layers.{i}." for i in range(old.decoder_layers, cfg.decoder_layers))
    if unexpected or not all(key.startswith(new) for key in missing):
        raise ValueError(f"cannot grow this model: missing {missing}, unexpected {unexpected}")
    outputs = [linear for layer in grown.encoder.layers[old.encoder_layers:] for linear in (layer.attn.out, layer.ff[2])]
    outputs += [linear for layer in grown.decoder.layers[old.decoder_layers:]
                for linear in (layer.self_attn.out, layer.cross_attn.out, layer.ff[2])]
    for linear in outputs:
        nn.init.zeros_(linear.weight)
        nn.init.zeros_(linear.bias)
    return grown.to(next(model.parameters()).device).train(model.training)


def _init_weights(module: nn.Module) -> None:
    """Small initial weights (GPT-2's 0.02): with tied embeddings, unit-variance ones would
    make the first logits huge."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
