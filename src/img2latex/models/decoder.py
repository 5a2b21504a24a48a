"""Autoregressive pre-norm Transformer decoder with a key/value cache.

Training runs all positions at once with a causal mask. Decoding runs one token a step:
each layer keeps the keys/values of the tokens so far (self-attention) and the image's
keys/values, computed once per image (cross-attention), so a step costs one token's work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..config import ModelConfig
from .layers import Attention, FeedForward


@dataclass
class Cache:
    """Per-layer keys/values: the images' (fixed) and the generated tokens' (growing).

    The image keys/values have a row per image, the token ones a row per decoding row. With
    beam search, rows i*k .. i*k+k-1 are image i's beams and share its image keys/values.
    """

    cross: list[tuple[torch.Tensor, torch.Tensor]]
    self_kv: list[tuple[torch.Tensor, torch.Tensor] | None]
    length: int = 0

    def reorder(self, rows: np.ndarray | torch.Tensor, images: np.ndarray | torch.Tensor | None = None) -> "Cache":
        """Keep the decoding rows in `rows` and the images in `images` (None: all of them, as
        when beams only move within their image, which saves copying the largest part)."""
        device = self.cross[0][0].device
        pick = lambda kv, index: (kv[0].index_select(0, index), kv[1].index_select(0, index))  # noqa: E731
        cross = self.cross
        if images is not None:
            index = torch.as_tensor(images, device=device)
            cross = [pick(kv, index) for kv in self.cross]
        index = torch.as_tensor(rows, device=device)
        return Cache(cross, [kv and pick(kv, index) for kv in self.self_kv], self.length)


class DecoderLayer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm1, self.self_attn = nn.LayerNorm(cfg.d_model), Attention(cfg)
        self.norm2, self.cross_attn = nn.LayerNorm(cfg.d_model), Attention(cfg)
        self.norm3, self.ff = nn.LayerNorm(cfg.d_model), FeedForward(cfg)

    def forward(
        self, x: torch.Tensor, cross: tuple[torch.Tensor, torch.Tensor],
        past: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Returns the output and this call's self-attention keys/values (past included)."""
        h = self.norm1(x)
        k, v = self.self_attn.project_kv(h)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        # With a cache the new tokens come last and may see every cached one: no mask needed
        # for a single new token; a fresh multi-token call needs the causal mask.
        x = x + self.self_attn.attend(h, k, v, causal=past is None and x.shape[1] > 1)
        x = x + self.cross_attn.attend(self.norm2(x), *cross, shared=True)
        return x + self.ff(self.norm3(x)), (k, v)


class Decoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.max_tokens, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.decoder_layers))
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.head.weight = self.embed.weight  # tied input/output embeddings

    def start(self, memory: torch.Tensor) -> Cache:
        """A cache holding the image's cross-attention keys/values for every layer."""
        return Cache([layer.cross_attn.project_kv(memory) for layer in self.layers], [None] * len(self.layers))

    def forward(self, tokens: torch.Tensor, memory: torch.Tensor | None = None, cache: Cache | None = None) -> torch.Tensor:
        """Logits (B, T, V) for `tokens` (B, T).

        Without a cache (training) `memory` is required and all positions run at once.
        With one, `tokens` continue the cached sequence and the cache is updated in place.
        """
        if cache is None:
            assert memory is not None, "memory or a cache is required"
            cache = self.start(memory)
        t = tokens.shape[1]
        positions = torch.arange(cache.length, cache.length + t, device=tokens.device)
        x = self.drop(self.embed(tokens) + self.pos(positions))
        for k, layer in enumerate(self.layers):
            x, cache.self_kv[k] = layer(x, cache.cross[k], cache.self_kv[k])
        cache.length += t
        return self.head(self.norm(x))
