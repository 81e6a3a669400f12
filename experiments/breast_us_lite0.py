"""Trial for #18: is the ImageNet EfficientNet-Lite0 encoder better than breast-us on BreastMNIST?

``python experiments/breast_us_lite0.py [SIZE=112] [EPOCHS=20] [SEED=0]``: the encoder initialised from the
PyPI wheel (``core.segmentation.pretrained``), a new head, the 28-px images upsampled to SIZE, flips and
small affine changes, AdamW one-cycle, class-weighted cross-entropy; prints validation AUC / accuracy
(threshold 0.5, flip TTA) after every epoch. Not a shipped recipe: it lost, see below.

Measured 2026-11-30 (one CPU thread, beside a CI run; 321 s): after 20 epochs validation AUC .9165 (.91646),
accuracy .795 (78 images), against breast-us's .917 / .897 on the same images, so breast-us stays.
"""
import sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from sklearn.metrics import roc_auc_score, accuracy_score
import models  # noqa
from models.efficientnet_unet import EfficientNetLite0
from core.paths import shared_data_dir
from core.segmentation import pretrained
SIZE = int(sys.argv[1]) if len(sys.argv) > 1 else 112
EPOCHS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 0
torch.set_num_threads(1); torch.manual_seed(SEED); rng = np.random.default_rng(SEED)
d = np.load(shared_data_dir() / "medmnist" / "breastmnist_28.npz")
xt, yt = d["train_images"].astype(np.float32) / 255, d["train_labels"].ravel()
xv, yv = d["val_images"].astype(np.float32) / 255, d["val_labels"].ravel()
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = EfficientNetLite0(3)
        self.head = nn.Sequential(nn.Conv2d(320, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(1280, 2))
    def forward(self, x):
        x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False).expand(-1, 3, -1, -1)
        x = (x - 127 / 255) / (128 / 255)
        return self.head(self.encoder.features(x)[-1])
net = Net(); prov = pretrained.init_encoder(net)
opt = torch.optim.AdamW([{"params": net.encoder.parameters(), "lr": 3e-4}, {"params": net.head.parameters(), "lr": 1e-3}], weight_decay=1e-4)
steps_per_epoch = len(xt) // 32
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[3e-4, 1e-3], total_steps=EPOCHS * steps_per_epoch, pct_start=0.1)
w = torch.tensor(len(yt) / (2 * np.bincount(yt)), dtype=torch.float32)
def aug(x):
    x = torch.from_numpy(x)[:, None]
    if True:
        flip = torch.rand(len(x)) < 0.5; x[flip] = x[flip].flip(-1)
        theta = torch.zeros(len(x), 2, 3); ang = (torch.rand(len(x)) - .5) * 0.35; sc = 1 + (torch.rand(len(x)) - .5) * 0.2
        theta[:, 0, 0] = torch.cos(ang) * sc; theta[:, 0, 1] = -torch.sin(ang) * sc; theta[:, 1, 0] = torch.sin(ang) * sc; theta[:, 1, 1] = torch.cos(ang) * sc
        theta[:, :, 2] = (torch.rand(len(x), 2) - .5) * 0.15
        x = F.grid_sample(x, F.affine_grid(theta, x.shape, align_corners=False), padding_mode="border", align_corners=False)
        x = x * (1 + (torch.rand(len(x), 1, 1, 1) - .5) * 0.2)
    return x
def evaluate(tta=True):
    net.eval()
    with torch.no_grad():
        x = torch.from_numpy(xv)[:, None]
        p = F.softmax(net(x), 1)
        if tta: p = (p + F.softmax(net(x.flip(-1)), 1)) / 2
    p = p[:, 1].numpy()
    return roc_auc_score(yv, p), accuracy_score(yv, p > 0.5)
best = (0, 0, 0)
t0 = time.time()
for epoch in range(EPOCHS):
    net.train(); order = rng.permutation(len(xt))
    for i in range(steps_per_epoch):
        idx = order[i * 32:(i + 1) * 32]
        loss = F.cross_entropy(net(aug(xt[idx])), torch.from_numpy(yt[idx]).long(), weight=w)
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    auc, acc = evaluate()
    best = max(best, (auc, acc, epoch + 1))
    print(f"epoch {epoch + 1} loss {loss.item():.3f} val AUC {auc:.4f} ACC {acc:.4f} ({time.time() - t0:.0f} s)", flush=True)
print("last", evaluate(), "best", best)
