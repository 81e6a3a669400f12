"""Segmentation networks (MONAI) registered by name for the model cards.

``monai_unet`` is MONAI's residual U-Net (Kerfoot et al.) with one logit channel per target;
the output has the input's spatial size for any input whose sides are multiples of
``prod(strides)`` (``core.segmentation`` resizes to the card's size, so that always holds).
"""

from __future__ import annotations

from typing import Sequence

import torch.nn as nn
from monai.networks.nets import UNet

from models.architectures import register_architecture


@register_architecture("monai_unet")
def monai_unet(
    in_channels: int = 1,
    out_channels: int = 1,
    channels: Sequence[int] = (16, 32, 64, 128, 256),
    strides: Sequence[int] = (2, 2, 2, 2),
    num_res_units: int = 2,
    norm: str = "batch",
    dropout: float = 0.0,
) -> nn.Module:
    """MONAI 2-D ``UNet`` returning logits ``(N, out_channels, H, W)`` (apply a sigmoid)."""
    return UNet(
        spatial_dims=2,
        in_channels=in_channels,
        out_channels=out_channels,
        channels=tuple(channels),
        strides=tuple(strides),
        num_res_units=num_res_units,
        norm=norm,
        dropout=dropout,
    )
