"""Does adding GAN samples help a classifier? (``python -m core train augmentation-study``)

For each fraction of the training labels (stratified subset, one per seed) and each arm a
small classifier is trained at the generator's resolution for the same number of steps and
scored on the real validation split (AUC, accuracy at 0.5):

- ``real``: the real subset only, no augmentation;
- ``classic``: the real subset with classic augmentation (``core.classification.augment``:
  rotation, scale, translation, gamma/contrast/brightness, noise);
- ``gan``: the real subset plus ``synth_ratio`` x as many GAN samples (same class proportions,
  drawn with the run's seed), no other augmentation;
- ``gan+classic``: both (optional arm).

Every arm uses a class-balanced loss, so a gain cannot come from rebalancing alone. Caveat
stated in the result: the generator was trained on all training labels, so below 100 % the
GAN arm indirectly uses labels the real arm does not have; this measures an upper bound of
the benefit for label-scarce training, not a fair semi-supervised comparison.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from core.classification.augment import AugmentParams, augment
from core.classification.metrics import auc
from core.trainloop import write_card
from models.classification_nets import ClassifierResNet

ARMS = ("real", "classic", "gan", "gan+classic")
DEFAULT_ARMS = ("real", "classic", "gan")
CLASSIC = {"rotate_deg": 10, "scale": 0.1, "aspect": 0.1, "translate": 0.06, "hflip": False,
           "gamma": 0.3, "contrast": 0.2, "brightness": 0.06, "noise": 0.02}
STUDY_NET = {"in_channels": 1, "num_classes": 2, "widths": [16, 32, 64, 128], "blocks": [1, 1, 1, 1],
             "stem_stride": 2, "max_pool": True, "small_stem": False, "dropout": 0.2}


def stratified_subset(labels: np.ndarray, fraction: float, seed: int, minimum: int = 4) -> np.ndarray:
    """Indices of ``fraction`` of each class (at least ``minimum`` per class), chosen with ``seed``."""
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = min(len(idx), max(minimum, int(round(fraction * len(idx)))))
        picked.append(rng.choice(idx, size=k, replace=False))
    return np.sort(np.concatenate(picked))


def train_and_score(x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, seed: int, steps: int,
                    batch_size: int, classic: bool, net_args: dict[str, Any] | None = None, lr: float = 2e-3) -> dict[str, float]:
    """Train the study classifier on [0, 1] images ``x`` for ``steps``; AUC and accuracy on validation."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = ClassifierResNet(**(net_args or STUDY_NET))
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    counts = np.bincount(y, minlength=2).astype(np.float64)
    weight = torch.tensor(len(y) / (2.0 * np.maximum(counts, 1)), dtype=torch.float32)
    xt, yt = torch.from_numpy(np.ascontiguousarray(x, np.float32))[:, None], torch.from_numpy(y).long()
    params = AugmentParams(**CLASSIC)
    for step in range(steps):
        for group in optimiser.param_groups:  # cosine decay
            group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * step / max(1, steps)))
        idx = torch.randint(0, len(yt), (min(batch_size, len(yt)),), generator=gen)
        xb = xt[idx]
        if classic:
            xb = augment(xb, params, gen)
        loss = F.cross_entropy(model((xb - 0.5) / 0.25), yt[idx], weight=weight)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    model.eval()
    probs = []
    with torch.no_grad():
        for start in range(0, len(x_val), 256):
            xb = torch.from_numpy(np.ascontiguousarray(x_val[start : start + 256], np.float32))[:, None]
            probs.append(torch.softmax(model((xb - 0.5) / 0.25), 1)[:, 1].numpy())
    p = np.concatenate(probs)
    return {"auc": float(auc(y_val, p)), "acc": float(((p >= 0.5).astype(int) == y_val).mean())}


def run_study(sampler: Callable[[int, int, int], np.ndarray], train: tuple[np.ndarray, np.ndarray],
              val: tuple[np.ndarray, np.ndarray], fractions: list[float], seeds: list[int],
              arms: tuple[str, ...] = DEFAULT_ARMS, steps: int = 400, batch_size: int = 64, synth_ratio: float = 1.0,
              net_args: dict[str, Any] | None = None, log: Callable[[dict], None] = print) -> dict[str, Any]:
    """The study's table: one row per (fraction, arm) with mean and sd over ``seeds``.

    ``sampler(label, n, seed)`` returns ``(n, H, W)`` uint8 synthetic images of ``label`` at the
    training images' size. ``train``/``val``: ``(N, H, W)`` [0, 1] images and 0/1 labels.
    """
    unknown = set(arms) - set(ARMS)
    if unknown:
        raise ValueError(f"unknown arms {sorted(unknown)}; valid: {', '.join(ARMS)}")
    x_train, y_train = train
    x_val, y_val = val
    rows = []
    t0 = time.time()
    for fraction in fractions:
        per_arm: dict[str, list[dict[str, float]]] = {arm: [] for arm in arms}
        sizes: dict[str, tuple[int, int]] = {}
        for seed in seeds:
            subset = stratified_subset(y_train, fraction, seed)
            xs, ys = x_train[subset], y_train[subset]
            synth_x = synth_y = None
            if any(a.startswith("gan") for a in arms):
                parts, labels = [], []
                for c in (0, 1):
                    k = int(round(synth_ratio * (ys == c).sum()))
                    if k:
                        parts.append(sampler(c, k, 7919 * seed + 104729 * c + int(fraction * 1000)).astype(np.float32) / 255.0)
                        labels.append(np.full(k, c))
                synth_x, synth_y = np.concatenate(parts), np.concatenate(labels)
            for arm in arms:
                if arm.startswith("gan"):
                    x_arm, y_arm = np.concatenate([xs, synth_x]), np.concatenate([ys, synth_y])
                else:
                    x_arm, y_arm = xs, ys
                score = train_and_score(x_arm, y_arm, x_val, y_val, seed, steps, batch_size,
                                        classic=arm.endswith("classic"), net_args=net_args)
                per_arm[arm].append(score)
                sizes[arm] = (len(ys), len(y_arm) - len(ys))
                log({"fraction": fraction, "seed": seed, "arm": arm, **{k: round(v, 4) for k, v in score.items()},
                     "seconds": round(time.time() - t0, 1)})
        for arm in arms:
            aucs = np.array([s["auc"] for s in per_arm[arm]])
            accs = np.array([s["acc"] for s in per_arm[arm]])
            rows.append({"fraction": fraction, "arm": arm, "n_real": sizes[arm][0], "n_synthetic": sizes[arm][1],
                         "auc_mean": round(float(aucs.mean()), 4), "auc_sd": round(float(aucs.std(ddof=1)) if len(aucs) > 1 else 0.0, 4),
                         "acc_mean": round(float(accs.mean()), 4), "acc_sd": round(float(accs.std(ddof=1)) if len(accs) > 1 else 0.0, 4),
                         "auc": [round(float(a), 4) for a in aucs], "acc": [round(float(a), 4) for a in accs]})
    return {
        "rows": rows,
        "settings": {"fractions": list(fractions), "seeds": list(seeds), "arms": list(arms), "steps": steps,
                     "batch_size": batch_size, "synth_ratio": synth_ratio, "classifier": net_args or STUDY_NET,
                     "classic_augmentation": CLASSIC, "loss": "class-balanced cross-entropy, AdamW, cosine lr",
                     "n_val": int(len(y_val)), "metric_split": "real validation images (by patient)"},
        "caveat": ("the generator was trained on all training labels; below 100 % the GAN arm indirectly uses labels "
                   "the real arm lacks, so this is an upper bound of the benefit"),
        "anchor": "Frid-Adar et al. 2018 (liver lesions, CT): sensitivity/specificity 78.6/88.4 % -> 85.7/92.4 % with GAN samples",
        "seconds": round(time.time() - t0, 1),
    }


def effects(result: dict[str, Any], baseline: str = "real") -> list[dict[str, Any]]:
    """Each arm's AUC/ACC change against ``baseline`` at the same label fraction, and whether the
    AUC change exceeds the noise (the two arms' seed sds combined)."""
    rows = result["rows"]
    base = {r["fraction"]: r for r in rows if r["arm"] == baseline}
    out = []
    for r in rows:
        b = base.get(r["fraction"])
        if r["arm"] == baseline or b is None:
            continue
        noise = float(np.hypot(r["auc_sd"], b["auc_sd"]))
        gain = r["auc_mean"] - b["auc_mean"]
        out.append({"fraction": r["fraction"], "arm": r["arm"], "auc_gain": round(gain, 4),
                    "acc_gain": round(r["acc_mean"] - b["acc_mean"], 4), "auc_noise": round(noise, 4),
                    "verdict": "within noise" if abs(gain) <= noise else ("gain" if gain > 0 else "loss")})
    return out


def table_markdown(result: dict[str, Any]) -> str:
    """The rows as a Markdown table: fraction x arm, AUC and ACC mean +- sd."""
    lines = ["| labels | arm | n real | n synthetic | AUC (mean ± sd) | ACC (mean ± sd) |", "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['fraction']:.0%} | {r['arm']} | {r['n_real']} | {r['n_synthetic']} | "
                     f"{r['auc_mean']:.3f} ± {r['auc_sd']:.3f} | {r['acc_mean']:.3f} ± {r['acc_sd']:.3f} |")
    return "\n".join(lines)


def write_to_card(card_path: Path, result: dict[str, Any], command: str) -> None:
    """Put the study (table, settings, command) into the generator's card."""
    card = json.loads(card_path.read_text())
    card["augmentation_study"] = {**result, "command": command, "table_markdown": table_markdown(result),
                                  "effects_vs_real": effects(result)}
    write_card(card_path.parent, card)
