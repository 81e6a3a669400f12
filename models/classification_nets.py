"""Image classifiers for the classification models (trained here).

``classifier_resnet`` wraps MONAI's 2-D ``ResNet`` (basic blocks) so a card can state its
depth, widths and stem: a stride-1 stem without max-pool suits 28 px inputs, a stride-2
stem with max-pool suits 64-224 px chest X-rays. ``lite0_classifier`` is the EfficientNet-Lite0
encoder (ImageNet-initialised at training time, ``core.pretrained``) with a new head. Output:
logits ``(N, num_classes)``; column 1 is the model's positive class (see the card's
``positive_label``). Each has a ``layer4`` module (the Grad-CAM target layer), ``embed`` (pooled
features for the out-of-distribution check) and the ``ood_mean`` / ``ood_precision`` buffers.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from monai.networks.nets import ResNet

from models.architectures import register_architecture
from models.efficientnet_unet import SKIP_CHANNELS, EfficientNetLite0
from models.ensemble import MeanEnsemble, build_members

LITE0_SIZES = (32, 512)  # the range of ``Lite0Classifier.size`` a card may ask for


class ClassifierResNet(nn.Module):
    """MONAI 2-D ResNet with dropout before the linear head.

    Args:
        in_channels: image channels (1 for grayscale).
        num_classes: output logits.
        widths: channels of the four residual stages.
        blocks: basic blocks per stage.
        stem_stride: stride of the 7x7 (or 3x3 when ``small_stem``) first convolution.
        max_pool: max-pool after the stem (quarter the resolution early, for big inputs).
        small_stem: a 3x3 stem instead of 7x7 (for 28 px inputs).
        dropout: dropout probability before the head (also enables MC dropout).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 2,
        widths: tuple[int, ...] | list[int] = (32, 64, 128, 256),
        blocks: tuple[int, ...] | list[int] = (1, 1, 1, 1),
        stem_stride: int = 2,
        max_pool: bool = True,
        small_stem: bool = False,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        net = ResNet(
            block="basic",
            layers=list(blocks),
            block_inplanes=list(widths),
            spatial_dims=2,
            n_input_channels=in_channels,
            conv1_t_size=3 if small_stem else 7,
            conv1_t_stride=stem_stride,
            no_max_pool=not max_pool,
            num_classes=num_classes,
            feed_forward=False,
        )
        self.conv1, self.bn1, self.act = net.conv1, net.bn1, net.act
        self.maxpool = net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.avgpool = net.avgpool
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(list(widths)[-1], num_classes)
        # Training-set feature statistics for the out-of-distribution check (filled after training).
        self.register_buffer("ood_mean", torch.zeros(sum(widths)))
        self.register_buffer("ood_precision", torch.zeros(sum(widths), sum(widths)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.act(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled features of all four stages ``(N, sum(widths))`` for the OOD check.

        Early stages describe texture and intensity statistics, which separate modalities far
        better than the last stage alone (measured on BreastMNIST: Kvasir flagged 84% vs 57%,
        chest X-rays 97% vs 54%, at the same 99th-percentile validation threshold).
        """
        x = self.maxpool(self.act(self.bn1(self.conv1(x))))
        pooled = []
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
            pooled.append(x.mean(dim=(2, 3)))
        return torch.cat(pooled, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.avgpool(self.features(x)).flatten(1)))


@register_architecture("classifier_resnet")
def classifier_resnet(**args) -> nn.Module:
    """See :class:`ClassifierResNet`."""
    return ClassifierResNet(**args)


class Lite0Classifier(nn.Module):
    """EfficientNet-Lite0 encoder and a new head, for small gray images.

    The input (already normalised by the card, ``(x - 0.5) / 0.5``, which is the encoder's own
    ImageNet scaling ``(255 x - 127) / 128`` to within 0.4 %) is upsampled to ``size`` px, so the
    28 px BreastMNIST images reach the encoder at a scale its ImageNet filters know, and repeated
    over the three input channels. ``layer4`` is the head's 1x1 convolution block (Grad-CAM target).

    Args:
        num_classes: output logits.
        size: side the input is upsampled to inside the network (``LITE0_SIZES``).
        dropout: dropout probability before the linear layer (also enables MC dropout).
    """

    def __init__(self, num_classes: int = 2, size: int = 112, dropout: float = 0.3) -> None:
        super().__init__()
        if not isinstance(size, int) or not LITE0_SIZES[0] <= size <= LITE0_SIZES[1]:
            raise ValueError(f"size must be an integer in {LITE0_SIZES}, not {size!r}")
        self.size = size
        self.encoder = EfficientNetLite0(3)
        self.layer4 = nn.Sequential(nn.Conv2d(SKIP_CHANNELS[-1], 1280, 1, bias=False), nn.BatchNorm2d(1280),
                                    nn.ReLU6())
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1280, num_classes)
        width = sum(SKIP_CHANNELS)
        self.register_buffer("ood_mean", torch.zeros(width))
        self.register_buffer("ood_precision", torch.zeros(width, width))

    def _stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return self.encoder.features(x.expand(-1, 3, -1, -1))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled features of the encoder's five stages ``(N, 512)`` for the OOD check."""
        return torch.cat([stage.mean(dim=(2, 3)) for stage in self._stages(x)], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.layer4(self._stages(x)[-1]).mean(dim=(2, 3))))


@register_architecture("lite0_classifier")
def lite0_classifier(**args) -> nn.Module:
    """See :class:`Lite0Classifier`."""
    return Lite0Classifier(**args)


MEMBERS = ("classifier_resnet", "lite0_classifier")  # classifiers with ``embed`` and the OOD buffers


class ClassifierEnsemble(MeanEnsemble):
    """Mean of the logits of ``n_members`` classifiers of one architecture and shape.

    ``member`` names the members' registered architecture (:class:`ClassifierResNet` by default,
    or :class:`Lite0Classifier`). Averaging independently trained members is a known lever on
    small data sets (BreastMNIST). ``embed`` (used by the out-of-distribution check) is the first
    member's pooled features.
    """

    def __init__(self, n_members: int = 3, member: str = "classifier_resnet", **member_args) -> None:
        if member not in MEMBERS:
            raise ValueError(f"an ensemble member must be one of {', '.join(MEMBERS)}, not {member!r}")
        super().__init__(build_members(member, member_args, n_members))
        width = self.members[0].ood_mean.numel()
        for net in self.members:  # one set of OOD statistics, on the ensemble
            del net.ood_mean, net.ood_precision
        self.register_buffer("ood_mean", torch.zeros(width))
        self.register_buffer("ood_precision", torch.zeros(width, width))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.members[0].embed(x)


@register_architecture("classifier_ensemble")
def classifier_ensemble(**args) -> nn.Module:
    """See :class:`ClassifierEnsemble`."""
    return ClassifierEnsemble(**args)
