"""Segmentation inference: latency per image at 256² and 512², batch-8 throughput, GPU vs CPU.

For each registered segmentation model with weights, timed alternately in one process:
``predict_proba`` on one 256² and one 512² image (preprocessing, network, resize back), and
the network on a prepared batch of 8 against 8 single calls. The ratio claimed is the batch-8
throughput gain over one-at-a-time; latencies are reported as medians for context. When CUDA is
available the same single-image call on the GPU is timed too (ratio CPU / GPU).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from bench.runner import benchmark, time_alternating


def _models() -> list[str]:
    from core.registry import list_models

    return [s.name for s in list_models("segmentation") if s.weights and s.weights.exists()]


def _image(side: int, channels: int) -> np.ndarray:
    shape = (side, side, 3) if channels == 3 else (side, side)
    return (np.random.default_rng(0).random(shape) * 255).astype(np.float32)


def measure(name: str, repeats: int = 5) -> dict[str, Any]:
    from core.cache import get_model
    from core.registry import get_spec
    from core.segmentation.inference import logits_at_model_size, predict_proba
    from core.segmentation.preprocess import prepare

    spec = get_spec(name)
    pre = spec.preprocessing
    channels = int(pre.get("channels", 1))
    model = get_model(name, "cpu")
    img256, img512 = _image(256, channels), _image(512, channels)
    batch = np.stack([prepare(_image(512, channels), pre)] * 8)
    medians = time_alternating(
        {
            "cpu_256": lambda: predict_proba(model, img256, pre),
            "cpu_512": lambda: predict_proba(model, img512, pre),
            "single_x8": lambda: [logits_at_model_size(model, batch[i : i + 1]) for i in range(8)],
            "batch_8": lambda: logits_at_model_size(model, batch),
        },
        repeats=repeats,
    )
    out: dict[str, Any] = {
        "ratio": medians["single_x8"] / medians["batch_8"],
        "ratio_meaning": "8 single forward passes / one batch-8 pass (throughput gain of batching)",
        "cpu_threads": torch.get_num_threads(),
        "cpu_median_s_256": medians["cpu_256"],
        "cpu_median_s_512": medians["cpu_512"],
        "batch8_images_per_s": 8 / medians["batch_8"],
        "single_images_per_s": 8 / medians["single_x8"],
    }
    if torch.cuda.is_available():
        gpu_model = get_model(name, "cuda")

        def gpu_call() -> None:
            predict_proba(gpu_model, img512, pre)
            torch.cuda.synchronize()

        gpu = time_alternating({"cpu_512": lambda: predict_proba(model, img512, pre), "gpu_512": gpu_call}, repeats)
        out["gpu_median_s_512"] = gpu["gpu_512"]
        out["gpu_speedup_512"] = gpu["cpu_512"] / gpu["gpu_512"]
    return out


def _register(name: str) -> None:
    benchmark(f"segmentation_{name}")(lambda: measure(name))


for _name in ("lungs-cxr", "opacity-cxr", "polyp-endoscopy"):
    _register(_name)
