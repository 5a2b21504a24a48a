"""Attention and feed-forward blocks shared by the encoder and the decoder."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..config import ModelConfig


class Attention(nn.Module):
    """Multi-head attention on `scaled_dot_product_attention`.

    Keys and values are projected separately from queries so a decoder can compute the
    image's keys/values once (`project_kv`) and reuse them at every step.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.heads, self.d = cfg.heads, cfg.d_model
        self.q = nn.Linear(cfg.d_model, cfg.d_model)
        self.kv = nn.Linear(cfg.d_model, 2 * cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.d_model)
        self.dropout = cfg.dropout

    def split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.d // self.heads).transpose(1, 2)

    def project_kv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, S, D) -> keys and values, each (B, heads, S, D/heads)."""
        k, v = self.kv(x).chunk(2, dim=-1)
        return self.split(k), self.split(v)

    def attend(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
               shared: bool = False) -> torch.Tensor:
        """`x` (R, T, D) attends to keys/values (B, heads, S, D/heads).

        `shared`: B may divide R, each key/value row serving R/B consecutive rows of `x` (the
        beams of one image). Their queries then go through one product with the image's keys,
        which are read once instead of once per beam.
        """
        q = self.split(self.q(x))
        rows, heads, t, head = q.shape
        shared = shared and (torch.onnx.is_in_onnx_export() or k.shape[0] != rows)
        if shared:  # (B*G, h, T, d) -> (B, h, G*T, d)
            q = q.view(k.shape[0], -1, heads, t, head).transpose(1, 2).reshape(k.shape[0], heads, -1, head)
        if torch.onnx.is_in_onnx_export():
            y = _exported_attention(q, k, v, causal)
        else:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=causal)
        if shared:
            y = y.view(k.shape[0], heads, -1, t, head).transpose(1, 2).reshape(rows, heads, t, head)
        return self.out(y.transpose(1, 2).reshape(rows, t, self.d))


def _exported_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    """Attention as plain products for ONNX. The exporter's own decomposition scales the keys
    after transposing them, which costs two passes over every cached key at every step;
    scaling the query instead lets onnxruntime fold the transpose into its matrix product."""
    if causal:
        raise ValueError("exported graphs attend one new token at a time: no causal mask")
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    return scores.softmax(-1) @ v


class FeedForward(nn.Sequential):
    def __init__(self, cfg: ModelConfig):
        hidden = cfg.ff_mult * cfg.d_model
        super().__init__(nn.Linear(cfg.d_model, hidden), nn.GELU(), nn.Linear(hidden, cfg.d_model), nn.Dropout(cfg.dropout))


class SelfAttentionBlock(nn.Module):
    """Pre-norm Transformer encoder layer (bidirectional)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(cfg.d_model), Attention(cfg)
        self.norm2, self.ff = nn.LayerNorm(cfg.d_model), FeedForward(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn.attend(h, *self.attn.project_kv(h))
        return x + self.ff(self.norm2(x))
