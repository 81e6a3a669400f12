"""Class-conditional GAN networks: a DCGAN-style generator and a projection discriminator.

``cond_generator`` (the only part a card loads) maps a latent ``z`` and a class index to a
one-channel image in ``[-1, 1]`` (tanh): class embedding concatenated to ``z``, a linear layer
to a small feature map, then upsample + 3x3 conv stages with class-conditional batch norm
(Miyato & Koyama 2018). ``proj_discriminator`` is the matching critic: spectrally normalised
convolutions (Miyato et al. 2018), global sum pooling, a linear real/fake score plus the
projection term ``<embed(y), h>``; it is trained with the hinge loss and only lives in
training checkpoints.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

from models.architectures import register_architecture


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm without its own affine part; gain and bias are looked up per class."""

    def __init__(self, channels: int, n_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(n_classes, channels)
        self.bias = nn.Embedding(n_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]


class UpBlock(nn.Module):
    """Nearest 2x upsampling, 3x3 conv, class-conditional BN, ReLU."""

    def __init__(self, c_in: int, c_out: int, n_classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.norm = ConditionalBatchNorm2d(c_out, n_classes)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return F.relu(self.norm(self.conv(x), y))


class CondGenerator(nn.Module):
    """Conditional DCGAN generator.

    Args:
        img_size: output side in pixels; ``img_size / 2**(len(channels) - 1)`` is the side of
            the first feature map (28 -> 7 with three stages, 64 -> 4 with five).
        n_classes: number of conditioning classes (label index = data set label).
        z_dim: latent size; ``z ~ N(0, I)`` (truncated for the truncation trick).
        channels: feature channels from the smallest map to the largest.
        embed_dim: size of the class embedding concatenated to ``z``.
        out_channels: image channels (1 for grayscale).
    Output: ``(N, out_channels, img_size, img_size)`` in ``[-1, 1]``.
    """

    def __init__(self, img_size: int = 64, n_classes: int = 2, z_dim: int = 128,
                 channels: tuple[int, ...] | list[int] = (256, 128, 64, 32, 16), embed_dim: int = 32,
                 out_channels: int = 1) -> None:
        super().__init__()
        channels = list(channels)
        start = img_size // 2 ** (len(channels) - 1)
        if start * 2 ** (len(channels) - 1) != img_size or start < 2:
            raise ValueError(f"img_size {img_size} is not {start} * 2**{len(channels) - 1}")
        self.img_size, self.n_classes, self.z_dim, self.start = img_size, n_classes, z_dim, start
        self.embed = nn.Embedding(n_classes, embed_dim)
        self.fc = nn.Linear(z_dim + embed_dim, channels[0] * start * start)
        self.norm0 = ConditionalBatchNorm2d(channels[0], n_classes)
        self.blocks = nn.ModuleList(UpBlock(a, b, n_classes) for a, b in zip(channels[:-1], channels[1:]))
        self.to_image = nn.Conv2d(channels[-1], out_channels, 3, padding=1)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        y = y.long().to(z.device)
        h = self.fc(torch.cat([z, self.embed(y)], 1)).view(z.shape[0], -1, self.start, self.start)
        h = F.relu(self.norm0(h, y))
        for block in self.blocks:
            h = block(h, y)
        return torch.tanh(self.to_image(h))


class DownBlock(nn.Module):
    """Spectrally normalised 3x3 conv, then 4x4 stride-2 conv, LeakyReLU(0.1) after each."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = spectral_norm(nn.Conv2d(c_in, c_out, 3, padding=1))
        self.conv2 = spectral_norm(nn.Conv2d(c_out, c_out, 4, stride=2, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.conv2(F.leaky_relu(self.conv1(x), 0.1)), 0.1)


class ProjectionDiscriminator(nn.Module):
    """SN-CNN critic with a class projection (Miyato & Koyama 2018).

    Args:
        n_classes: conditioning classes.
        channels: output channels of each downsampling block (largest map first).
        in_channels: image channels.
    Output: one unbounded score per image ``(N,)`` (hinge loss).
    """

    def __init__(self, n_classes: int = 2, channels: tuple[int, ...] | list[int] = (16, 32, 64, 128, 256),
                 in_channels: int = 1, mbstd_group: int = 0) -> None:
        super().__init__()
        channels = list(channels)
        self.mbstd_group = int(mbstd_group)
        self.blocks = nn.Sequential(*[DownBlock(a, b) for a, b in zip([in_channels] + channels[:-1], channels)])
        # minibatch standard deviation (Karras et al. 2018): one extra feature map before a last 3x3 conv
        self.mbstd_conv = (spectral_norm(nn.Conv2d(channels[-1] + 1, channels[-1], 3, padding=1))
                           if self.mbstd_group else None)
        self.linear = spectral_norm(nn.Linear(channels[-1], 1))
        self.embed = spectral_norm(nn.Embedding(n_classes, channels[-1]))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.blocks(x)
        if self.mbstd_conv is not None:
            h = F.leaky_relu(self.mbstd_conv(torch.cat([h, minibatch_std(h, self.mbstd_group)], 1)), 0.1)
        h = h.sum(dim=(2, 3))
        return self.linear(h).squeeze(1) + (self.embed(y.long()) * h).sum(1)


def minibatch_std(h: torch.Tensor, group: int) -> torch.Tensor:
    """One ``(N, 1, H, W)`` map: the mean feature standard deviation within groups of ``group`` images.

    A discriminator that sees it can tell a batch of near-identical fakes from a varied real
    batch, so the generator is pushed towards variety (StyleGAN's layer; the batch size must be a
    multiple of ``group``, else the whole batch is one group).
    """
    n, c, height, width = h.shape
    g = group if group > 0 and n % group == 0 else n
    std = (h.view(g, n // g, c, height, width).var(0, unbiased=False) + 1e-8).sqrt()  # (N/g, C, H, W)
    return std.mean(dim=(1, 2, 3)).repeat(g)[:, None, None, None].expand(n, 1, height, width)


@register_architecture("cond_generator")
def cond_generator(**args) -> nn.Module:
    """See :class:`CondGenerator`."""
    return CondGenerator(**args)


@register_architecture("proj_discriminator")
def proj_discriminator(**args) -> nn.Module:
    """See :class:`ProjectionDiscriminator`."""
    return ProjectionDiscriminator(**args)
