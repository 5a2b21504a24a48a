"""Image encoder: a small ResNet, 2-D sinusoidal positions, optional Transformer layers.

The CNN reduces the image 8x in each direction; each cell of the feature map becomes one
memory vector for the decoder. Positions are sinusoidal in both axes, so any image size
works without a learned table.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import ModelConfig
from .layers import SelfAttentionBlock


class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN with a residual connection (ResNet-18's block)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


def positions_2d(height: int, width: int, dim: int, device: torch.device) -> torch.Tensor:
    """(height*width, dim) sinusoidal codes: the first half encodes the row, the second the column."""
    quarter = dim // 4
    freq = torch.exp(torch.arange(quarter, device=device) * (-math.log(10_000.0) / quarter))
    ys = torch.arange(height, device=device)[:, None] * freq
    xs = torch.arange(width, device=device)[:, None] * freq
    row = torch.cat([ys.sin(), ys.cos()], dim=1)[:, None, :].expand(height, width, 2 * quarter)
    col = torch.cat([xs.sin(), xs.cos()], dim=1)[None, :, :].expand(height, width, 2 * quarter)
    pos = torch.cat([row, col], dim=2).reshape(height * width, 4 * quarter)
    return nn.functional.pad(pos, (0, dim - 4 * quarter))


class Encoder(nn.Module):
    STRIDES = (1, 2, 2, 1)  # with the stride-2 stem: 8x reduction over four stages

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if len(cfg.channels) != len(self.STRIDES) or len(cfg.blocks) != len(self.STRIDES):
            raise ValueError(f"model.channels and model.blocks need {len(self.STRIDES)} stages each")
        c0 = cfg.channels[0]
        self.stem = nn.Sequential(nn.Conv2d(1, c0, 3, 2, 1, bias=False), nn.BatchNorm2d(c0), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        c_in = c0
        for k, (c, n) in enumerate(zip(cfg.channels, cfg.blocks)):
            for b in range(n):
                layers.append(BasicBlock(c_in, c, self.STRIDES[k] if b == 0 else 1))
                c_in = c
        self.cnn = nn.Sequential(*layers)
        self.proj = nn.Conv2d(c_in, cfg.d_model, 1)
        self.layers = nn.ModuleList(SelfAttentionBlock(cfg) for _ in range(cfg.encoder_layers))
        self.norm = nn.LayerNorm(cfg.d_model)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) images -> (B, H/8 * W/8, d_model) memory."""
        features = self.proj(self.cnn(self.stem(images)))
        b, d, h, w = features.shape
        x = features.flatten(2).transpose(1, 2) + positions_2d(h, w, d, features.device).to(features.dtype)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)
