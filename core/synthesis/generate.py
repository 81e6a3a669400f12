"""Sample a registered class-conditional generator: seed, label, truncation -> 8-bit images.

Deterministic: the latents come from a seeded ``torch.Generator`` by inverse-CDF sampling
(``z = ndtri(u)``), and the generator runs in eval mode with fixed batch-norm statistics, so
the same (model, label, n, seed, truncation) always gives the same images, whatever the
device batch size, and the first k of n samples equal the k samples of a smaller request.
Truncation ``t`` draws every latent component from N(0, 1) truncated to [-t, t]: smaller
``t`` trades variety for typicality (the "truncation trick").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from core.cache import device_of, get_model
from core.errors import InputError
from core.registry import ModelSpec, list_models, require_spec

MAX_SAMPLES = 2048
DEFAULT_GENERATOR = "pneumonia-cgan"  # preselected on the page: the 64 px generator with the augmentation study
ALL = "all"


@dataclass
class Samples:
    """Generated images ``(N, H, W)`` uint8 with their label values and names."""

    images: np.ndarray
    labels: np.ndarray
    label_names: list[str]
    model: str
    seed: int
    truncation: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)

    def names(self) -> list[str]:
        return [self.label_names[int(v)] for v in self.labels]


def generators() -> list[ModelSpec]:
    """Registered generation models (task ``generation``)."""
    return list_models("generation")


def generator_spec(name: str) -> ModelSpec:
    """The spec of generator ``name``; InputError when unknown or not a generator."""
    return require_spec(name, "generation")


def resolve_label(spec: ModelSpec, label: str | int | None) -> int | None:
    """A label given as name or index -> index; ``None``/``"all"`` -> None (all classes in turn)."""
    if label is None or (isinstance(label, str) and label.strip().lower() in ("", ALL)):
        return None
    names = list(spec.labels)
    text = str(label).strip()
    lowered = [n.lower() for n in names]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    try:
        index = int(text)
    except ValueError:
        index = -1
    if 0 <= index < len(names):
        return index
    raise InputError(f"unknown label {label!r} for {spec.name}; valid: {', '.join(names)} (or 0-{len(names) - 1}, or all)")


def latents(n: int, z_dim: int, seed: int, truncation: float | None = None) -> torch.Tensor:
    """``(n, z_dim)`` standard-normal latents from ``seed``, truncated to [-t, t] when ``truncation``."""
    gen = torch.Generator().manual_seed(int(seed))
    u = torch.rand(n, z_dim, generator=gen, dtype=torch.float64)
    if truncation is not None and truncation > 0:
        low = torch.special.ndtr(torch.tensor(-float(truncation), dtype=torch.float64))
        u = low + u * (1 - 2 * low)
    u = u.clamp(1e-12, 1 - 1e-12)
    return torch.special.ndtri(u).float()


def check_request(n: int, seed: int, truncation: float | None) -> None:
    if not isinstance(n, (int, np.integer)) or n < 1 or n > MAX_SAMPLES:
        raise InputError(f"number of samples must be 1-{MAX_SAMPLES}, got {n}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed}")
    if truncation is not None and not (0 < float(truncation) <= 10):
        raise InputError(f"truncation must be in (0, 10] standard deviations (or off), got {truncation}")


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Generator output in [-1, 1] ``(N, 1, H, W)`` -> ``(N, H, W)`` uint8."""
    return ((x[:, 0].detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()


def sample(name: str, label: str | int | None = None, n: int = 16, seed: int = 0, truncation: float | None = None,
           device: str | None = None, batch_size: int = 256) -> Samples:
    """``n`` images of class ``label`` (None/"all": classes in turn) from generator ``name``."""
    check_request(n, seed, truncation)
    spec = generator_spec(name)
    return sample_model(get_model(name, device), spec, label, n, seed, truncation, batch_size)


def sample_model(model: torch.nn.Module, spec: ModelSpec, label: str | int | None = None, n: int = 16, seed: int = 0,
                 truncation: float | None = None, batch_size: int = 256) -> Samples:
    """``sample`` for a generator already loaded (training code measuring the model it just wrote)."""
    check_request(n, seed, truncation)
    index = resolve_label(spec, label)
    n_classes = len(spec.labels) or int(spec.arch_args.get("n_classes", 1))
    labels = np.full(n, index, dtype=np.int64) if index is not None else np.arange(n, dtype=np.int64) % n_classes
    z = latents(n, int(getattr(model, "z_dim", spec.preprocessing.z_dim or 128)), seed, truncation)
    dev = device_of(model)
    chunks = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            zb = z[start : start + batch_size].to(dev)
            yb = torch.from_numpy(labels[start : start + batch_size]).to(dev)
            chunks.append(to_uint8(model(zb, yb)))
    names = list(spec.labels) or [str(i) for i in range(n_classes)]
    return Samples(np.concatenate(chunks), labels, names, spec.name, int(seed), truncation)


def grid(images: np.ndarray, columns: int = 8, pad: int = 2, value: int = 255) -> np.ndarray:
    """Tile ``(N, H, W)`` uint8 images into one image with ``pad`` pixels between tiles."""
    images = np.asarray(images)
    n, h, w = images.shape
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad), value, dtype=np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = image
    return out
