"""Sample quality in the feature space of OUR classifier, and a memorisation check.

No ImageNet Inception weights can be downloaded here, so the "FID" is a Fréchet distance
between Gaussians fitted to the pooled last-stage features of the project's own trained
classifier (``pneumonia-cxr`` / ``breast-us``, via ``core.cache.get_model``). Its absolute
value is not comparable with published FIDs; the real-vs-real value (training images vs
validation images) is reported beside it for scale. Precision/recall follow Kynkäänniemi et
al. 2019 (k-NN balls, k = 3) in the same space. Class consistency is the share of samples the
classifier assigns to the requested class (its calibrated probability and card threshold).
Memorisation: RMS pixel distance of each sample to its nearest training image; a sample
closer than the 1st percentile of the real validation images' nearest-training distances is
flagged as a near-copy.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from core.cache import device_of, get_model
from core.classification.inference import calibrated_probs, classification_spec, dataset_label, normalise, threshold_of
from core.errors import InputError
from core.paths import data_dir, shared_data_dir
from core.registry import ModelSpec
from core.synthesis.data import RECIPES, load_gan_data

NEAR_COPY_QUANTILE = 0.01


# ----- distances in a feature space ---------------------------------------------------------

def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``a`` and ``b`` (rows = samples)."""
    from scipy import linalg

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise InputError("the Fréchet distance needs at least two samples per set")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():  # singular products (few samples) are handled below
        warnings.simplefilter("ignore")
        covmean, _ = linalg.sqrtm(cov_a @ cov_b, disp=False)
    if not np.isfinite(covmean).all():  # near-singular product: regularise as in the FID reference code
        eps = np.eye(len(cov_a)) * 1e-6
        covmean = linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    covmean = np.real(covmean)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def _kth_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    d = torch.cdist(x, x)
    return d.kthvalue(min(k + 1, len(x)), dim=1).values  # +1: the point itself is at distance 0


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls."""
    r, f = torch.as_tensor(np.asarray(real), dtype=torch.float64), torch.as_tensor(np.asarray(fake), dtype=torch.float64)
    if len(r) <= k or len(f) <= k:
        raise InputError(f"precision/recall needs more than k={k} samples per set")
    r_rad, f_rad = _kth_radius(r, k), _kth_radius(f, k)
    d = torch.cdist(f, r)  # fake x real
    precision = (d <= r_rad[None, :]).any(1).double().mean()
    recall = (d.T <= f_rad[None, :]).any(1).double().mean()
    return {"precision": round(float(precision), 4), "recall": round(float(recall), 4), "k": k}


# ----- the classifier as a feature extractor ------------------------------------------------

def classifier_outputs(classifier: str, images: np.ndarray, batch_size: int = 128,
                       device: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pooled features ``(N, F)`` and calibrated P(positive) ``(N,)`` of ``images``.

    ``images``: ``(N, H, W)`` uint8 or [0, 1] floats, squashed to the classifier's input size
    and normalised by its card, exactly like the classification code does.
    """
    spec = classification_spec(classifier)
    model = get_model(classifier, device)
    dev = device_of(model)
    size = spec.preprocessing.size
    x01 = as01(images)
    feats, probs = [], []
    with torch.no_grad():
        for start in range(0, len(x01), batch_size):
            xb = torch.from_numpy(x01[start : start + batch_size])[:, None]
            if tuple(xb.shape[-2:]) != size:
                xb = torch.nn.functional.interpolate(xb, size=size, mode="bilinear", antialias=True, align_corners=False)
            xb = normalise(xb.clamp(0, 1), spec.preprocessing).to(dev)
            feats.append(model.embed(xb).double().cpu().numpy())
            probs.append(calibrated_probs(model(xb), spec))
    return np.concatenate(feats), np.concatenate(probs)


def predicted_dataset_labels(classifier: str, probs: np.ndarray) -> np.ndarray:
    """Calibrated probabilities -> the classifier's decision in the data set's label coding."""
    spec = classification_spec(classifier)
    threshold = threshold_of(spec)
    return np.array([dataset_label(spec, bool(p >= threshold)) for p in probs], dtype=int)


def class_consistency(classifier: str, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Share of images the classifier assigns to their requested label, overall and per label."""
    _, probs = classifier_outputs(classifier, images)
    predicted = predicted_dataset_labels(classifier, probs)
    labels = np.asarray(labels).astype(int)
    per_label = {int(c): round(float((predicted[labels == c] == c).mean()), 4) for c in np.unique(labels)}
    return {"overall": round(float((predicted == labels).mean()), 4), "per_label": per_label, "n": int(len(labels))}


# ----- memorisation -------------------------------------------------------------------------

def as01(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    return np.clip(images.astype(np.float32), 0.0, 1.0)


def nearest_distances(samples: np.ndarray, reference: np.ndarray, chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """RMS pixel distance (images in [0, 1]) of each sample to its nearest reference image, and its index."""
    s, r = as01(samples), as01(reference)
    if s.shape[1:] != r.shape[1:]:
        raise InputError(f"samples {s.shape[1:]} and reference images {r.shape[1:]} differ in size")
    rt = torch.from_numpy(r.reshape(len(r), -1))
    dists, idx = [], []
    for start in range(0, len(s), chunk):
        st = torch.from_numpy(s[start : start + chunk].reshape(-1, rt.shape[1]))
        d = torch.cdist(st, rt)
        best = d.min(1)
        dists.append(best.values.numpy())
        idx.append(best.indices.numpy())
    scale = np.sqrt(rt.shape[1])
    return np.concatenate(dists) / scale, np.concatenate(idx)


def near_copy_threshold(val: np.ndarray, train: np.ndarray, quantile: float = NEAR_COPY_QUANTILE) -> float:
    """The ``quantile`` of real validation images' nearest-training distances: closer is a near-copy."""
    d, _ = nearest_distances(val, train)
    return float(np.quantile(d, quantile))


def memorisation(samples: np.ndarray, train: np.ndarray, val: np.ndarray) -> dict[str, Any]:
    """Nearest-training distances of samples vs. of real unseen images; near-copies flagged."""
    d_fake, _ = nearest_distances(samples, train)
    d_val, _ = nearest_distances(val, train)
    threshold = float(np.quantile(d_val, NEAR_COPY_QUANTILE))
    return {
        "distance": "RMS pixel difference, images in [0, 1], to the nearest training image",
        "samples_median": round(float(np.median(d_fake)), 4),
        "samples_min": round(float(d_fake.min()), 4),
        "real_val_median": round(float(np.median(d_val)), 4),
        "near_copy_threshold": round(threshold, 4),
        "threshold_rule": f"{NEAR_COPY_QUANTILE:.0%} quantile of real validation images' nearest-training distances",
        "near_copies": int((d_fake < threshold).sum()),
        "near_copy_share": round(float((d_fake < threshold).mean()), 4),
        "n": int(len(d_fake)),
    }


# ----- the reference (training) images of a generator ---------------------------------------

def reference_images(spec: ModelSpec) -> tuple[np.ndarray, np.ndarray] | None:
    """Training images ``(N, H, W)`` uint8 and labels of generator ``spec``, or None if unavailable.

    User-trained generators keep theirs in ``reference.npz`` beside the card; the committed ones
    name a file of ``../shared/data`` in ``data.reference`` (read there, never copied).
    """
    local = spec.folder / "reference.npz" if spec.folder else None
    stamp = local.stat().st_mtime if local and local.exists() else 0.0
    return _reference_cached(spec.name, str(spec.card_path), stamp, str(spec.card.data.get("reference", "")),
                             int(spec.preprocessing.size[0]))


@functools.lru_cache(maxsize=4)
def _reference_cached(name: str, card_path: str, stamp: float, reference: str, size: int):
    folder = Path(card_path).parent
    if stamp:
        with np.load(folder / "reference.npz") as data:
            return data["train_images"], data["train_labels"].ravel().astype(int)
    shared = shared_data_dir()
    if reference.startswith("medmnist/"):
        file, _, split = reference.partition(":")
        path = shared / file
        if not path.exists():
            return None
        with np.load(path) as data:
            images, labels = data[f"{split}_images"], data[f"{split}_labels"].ravel().astype(int)
        if images.shape[-1] != size:
            images = resize_uint8(images, size)
        return images, labels
    if reference.startswith("cxr_pneumonia/"):
        if not (shared / "cxr_pneumonia" / "train").is_dir():
            return None
        recipe = {**RECIPES.get(name, RECIPES["pneumonia-cgan"]), "size": size}
        data = load_gan_data(recipe, shared, data_dir() / "training" / name, seed=0)  # the training run's cache
        x, y = data["train"]
        return (np.clip(x, 0, 1) * 255).round().astype(np.uint8), y
    return None


def resize_uint8(images: np.ndarray, size: int) -> np.ndarray:
    """Squash ``(N, H, W)`` uint8 images to ``size`` x ``size`` (bilinear, antialiased)."""
    x = torch.from_numpy(as01(images))[:, None]
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return (x[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()


# ----- the card's figures ------------------------------------------------------------------

def measure(sampler: Callable[..., np.ndarray], classifier: str, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray],
            seed: int = 20261125, n_consistency: int = 500, truncations: tuple[float, ...] = (1.0,)) -> dict[str, Any]:
    """Every quality figure of the card, against real validation images ``val`` (at the GAN's size).

    ``sampler(label, n, seed, truncation=None)`` returns ``(n, H, W)`` uint8 samples of ``label``
    (e.g. wrapping ``core.synthesis.generate.sample``); class consistency is also reported at
    each of ``truncations`` (same latents, truncated). ``seed`` is a seed never used in training or development ("unseen"). The Fréchet distance
    and precision/recall use as many samples as there are validation images, in the same class
    proportions, because both depend on the sample size.
    """
    x_train, y_train = as01(train[0]), np.asarray(train[1]).astype(int)
    x_val, y_val = as01(val[0]), np.asarray(val[1]).astype(int)
    n_val = len(y_val)
    rng = np.random.default_rng(seed)
    # fake set matched to the validation class proportions
    fake_parts, fake_labels = [], []
    for c in np.unique(y_val):
        k = int((y_val == c).sum())
        fake_parts.append(sampler(int(c), k, seed + int(c)))
        fake_labels.append(np.full(k, int(c)))
    fake, fake_y = np.concatenate(fake_parts), np.concatenate(fake_labels)
    # a real "training" set of the same size and class proportions, for the real-vs-real scale
    real_idx = np.concatenate([rng.choice(np.flatnonzero(y_train == c), size=int((y_val == c).sum()),
                                          replace=int((y_val == c).sum()) > int((y_train == c).sum()))
                               for c in np.unique(y_val)])
    f_val, p_val = classifier_outputs(classifier, x_val)
    f_fake, _ = classifier_outputs(classifier, fake)
    f_real, _ = classifier_outputs(classifier, x_train[real_idx])
    # class consistency on a balanced set from a further unseen seed
    cons_images, cons_labels = [], []
    for c in np.unique(y_val):
        cons_images.append(sampler(int(c), n_consistency, seed + 100 + int(c)))
        cons_labels.append(np.full(n_consistency, int(c)))
    consistency = class_consistency(classifier, np.concatenate(cons_images), np.concatenate(cons_labels))
    truncated = {}
    for t in truncations:
        t_images = np.concatenate([sampler(int(c), n_consistency, seed + 100 + int(c), t) for c in np.unique(y_val)])
        truncated[str(t)] = class_consistency(classifier, t_images, np.concatenate(cons_labels))
    real_pred = predicted_dataset_labels(classifier, p_val)
    real_consistency = {int(c): round(float((real_pred[y_val == c] == c).mean()), 4) for c in np.unique(y_val)}
    mem = memorisation(np.concatenate(cons_images), (x_train * 255).round().astype(np.uint8),
                       (x_val * 255).round().astype(np.uint8))
    return {
        "feature_space": f"pooled last-stage features of our classifier {classifier!r} "
                         "(no ImageNet Inception weights can be downloaded here, so this is not a standard FID)",
        "reference": "real validation images at the generator's resolution (never seen by generator or classifier)",
        "frechet_distance": round(frechet_distance(f_fake, f_val), 3),
        "frechet_distance_real_vs_real": round(frechet_distance(f_real, f_val), 3),
        "n_fd": int(n_val),
        "precision_recall": precision_recall(f_val, f_fake),
        "precision_recall_real_vs_real": precision_recall(f_val, f_real),
        "class_consistency": consistency,
        "class_consistency_truncated": truncated,
        "classifier_accuracy_on_real_val_at_this_size": real_consistency,
        "memorisation": mem,
        "seed": seed,
    }
