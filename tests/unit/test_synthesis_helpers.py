"""Builders for the synthesis tests (no tests here): a tiny random generator registered from a temp card folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def write_tiny_generator(folder: Path, name: str = "tiny-cgan", size: int = 16, labels=("normal", "pneumonia")) -> Path:
    """A random-init ``cond_generator`` (16 px, 2 classes) with card + safetensors weights."""
    import torch
    from safetensors.torch import save_file

    from models.gan_nets import CondGenerator
    from core.synthesis.training import standing_stats

    torch.manual_seed(0)
    args = {"img_size": size, "n_classes": len(labels), "z_dim": 16, "channels": [16, 8, 8], "embed_dim": 4}
    model = CondGenerator(**args)
    standing_stats(model, batches=2, batch_size=8)
    model_dir = folder / name
    model_dir.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(model_dir / "model.safetensors"))
    card = {
        "name": name, "task": "generation", "description": "random tiny generator for tests",
        "architecture": {"name": "cond_generator", "args": args}, "weights": "model.safetensors",
        "preprocessing": {"size": [size, size], "channels": 1, "z_dim": 16}, "labels": list(labels),
        "data": {"source": "none", "reference": "reference.npz"}, "metrics": {"status": "test fixture"},
        "command": "tests/unit/test_synthesis_helpers.py:write_tiny_generator",
    }
    (model_dir / "card.json").write_text(json.dumps(card))
    rng = np.random.default_rng(0)
    np.savez_compressed(model_dir / "reference.npz", train_images=rng.integers(0, 256, (20, size, size), dtype=np.uint8),
                        train_labels=(np.arange(20) % len(labels)).astype(np.uint8).reshape(-1, 1))
    return model_dir
