"""A tiny CNN used by the tests and benchmarks to exercise the model machinery."""

from __future__ import annotations

import torch
import torch.nn as nn

from models.architectures import register_architecture


class TinyCNN(nn.Module):
    """Two conv layers and a linear head: image (N, C, H, W) -> class logits (N, K)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, width: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


@register_architecture("tiny_cnn")
def tiny_cnn(in_channels: int = 1, num_classes: int = 2, width: int = 8) -> nn.Module:
    return TinyCNN(in_channels, num_classes, width)
