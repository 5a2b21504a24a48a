"""Encoder pre-training: reconstruct the formula image from the encoder's memory.

An auto-encoder objective for the first `train.pretrain_steps` steps: a light head of
transposed convolutions maps the (H/8 x W/8) memory back to the image, and the encoder
learns what strokes and layout look like before the decoder starts asking it for tokens.
The head is dropped afterwards; it never ships.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..config import ModelConfig


class Reconstructor(nn.Module):
    """(B, h*w, d_model) memory -> (B, 1, 8h, 8w) ink logits, three 2x upsamplings."""

    def __init__(self, cfg: ModelConfig, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(cfg.d_model, width, 4, 2, 1), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width // 2, 1, 4, 2, 1),
        )

    def forward(self, memory: torch.Tensor, height: int, width: int) -> torch.Tensor:
        b, _, d = memory.shape
        h, w = -(-height // 8), -(-width // 8)  # the encoder's ceil(x / 8) feature map
        return self.net(memory.transpose(1, 2).reshape(b, d, h, w))


def reconstruction_loss(logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the ink; the images are padded with blank paper to the logits' size."""
    target = F.pad(images, (0, logits.shape[-1] - images.shape[-1], 0, logits.shape[-2] - images.shape[-2]))
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())


class Pretrainer(nn.Module):
    """The model's encoder with the reconstruction head; calling it gives the pre-training loss."""

    def __init__(self, encoder: nn.Module, cfg: ModelConfig):
        super().__init__()
        self.encoder, self.head = encoder, Reconstructor(cfg)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return reconstruction_loss(self.head(self.encoder(images), *images.shape[-2:]), images)
