"""Trial for #18: is the ImageNet EfficientNet-Lite0 encoder better than breast-us on BreastMNIST?

``python experiments/breast_us_lite0.py [SIZE=112] [EPOCHS=20] [SEED=0]``: the encoder initialised from
the PyPI wheel (``core.pretrained``) with a new head, the 28-px images upsampled to SIZE
inside the network, breast-us's own augmentation (``core.classification.augment`` with the recipe's
ranges), AdamW one-cycle, class-weighted cross-entropy. Prints validation AUC / accuracy with flip
TTA (threshold 0.5) and the AUC without it after every epoch. The shipped model from this trial is
the recipe ``breast-us-lite0`` (``core.classification.data``), trained and calibrated by the
classification pipeline; its card compares it with ``breast-us`` on the same validation images.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.classification.augment import AugmentParams, augment  # noqa: E402
from core.classification.data import RECIPES  # noqa: E402
from core.paths import shared_data_dir  # noqa: E402
from core import pretrained  # noqa: E402
from models.efficientnet_unet import EfficientNetLite0  # noqa: E402


class Lite0Classifier(nn.Module):
    """The Lite0 encoder (gray input repeated to RGB, the encoder's own scaling) and a new head."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.encoder = EfficientNetLite0(3)
        self.head = nn.Sequential(nn.Conv2d(320, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(1280, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False).expand(-1, 3, -1, -1)
        return self.head(self.encoder.features((x - 127 / 255) / (128 / 255))[-1])


def main(size: int = 112, epochs: int = 20, seed: int = 0, batch: int = 32) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng, generator = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    data = np.load(shared_data_dir() / "medmnist" / "breastmnist_28.npz")
    x_train = torch.from_numpy(data["train_images"].astype(np.float32) / 255)[:, None]
    y_train = torch.from_numpy(data["train_labels"].ravel().astype(np.int64))
    x_val = torch.from_numpy(data["val_images"].astype(np.float32) / 255)[:, None]
    y_val = data["val_labels"].ravel()
    params = AugmentParams(**RECIPES["breast-us"]["augment"])

    net = Lite0Classifier(size)
    pretrained.init_encoder(net)
    steps = len(y_train) // batch
    optimiser = torch.optim.AdamW([{"params": net.encoder.parameters()}, {"params": net.head.parameters()}],
                                  weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=[3e-4, 1e-3], total_steps=epochs * steps,
                                                   pct_start=0.1)
    weight = len(y_train) / (2 * torch.bincount(y_train).float())
    started = time.time()
    for epoch in range(1, epochs + 1):
        net.train()
        order = rng.permutation(len(y_train))
        for step in range(steps):
            idx = torch.from_numpy(order[step * batch:(step + 1) * batch])
            loss = F.cross_entropy(net(augment(x_train[idx], params, generator)), y_train[idx], weight=weight)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        net.eval()
        with torch.no_grad():
            plain = F.softmax(net(x_val), 1)[:, 1].numpy()
            p = (plain + F.softmax(net(x_val.flip(-1)), 1)[:, 1].numpy()) / 2
        print(f"epoch {epoch} val AUC {roc_auc_score(y_val, p):.4f} ACC {accuracy_score(y_val, p > 0.5):.4f} "
              f"(without flip: AUC {roc_auc_score(y_val, plain):.4f}) ({time.time() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
