"""Classification inference on CPU: latency per image (batch 1) and batch-64 throughput.

For each registered classifier with weights, timed alternately in one process: the library's
``batch_probs`` on one image (preprocessing + network + calibration), the network on a prepared
batch of 64 against 64 single calls, and, for scale, a torchvision ResNet-18 (random init,
3 x 224 x 224, batch 1) on the same CPU in the same loop (timm publishes 8-16 ms for ResNet-18
at 224 px on a desktop CPU). Claimed ratios: batch-64 throughput gain over one-at-a-time, and
ResNet-18 latency / our network's latency.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from bench.runner import benchmark, time_alternating


def measure(name: str, repeats: int = 5) -> dict[str, Any]:
    import torchvision

    from core.cache import get_model
    from core.classification.inference import batch_probs, prepare
    from core.registry import get_spec

    spec = get_spec(name)
    model = get_model(name, "cpu")
    rng = np.random.default_rng(0)
    image = (rng.random((224, 224)) * 255).astype(np.uint8)
    batch64, _ = prepare([(rng.random((224, 224)) * 255).astype(np.uint8) for _ in range(64)], spec)
    resnet18 = torchvision.models.resnet18(weights=None).eval()
    x224 = torch.rand(1, 3, 224, 224)

    def single_x64() -> None:
        with torch.no_grad():
            for i in range(64):
                model(batch64[i : i + 1])

    def batch_64() -> None:
        with torch.no_grad():
            model(batch64)

    def ours_net_1() -> None:
        with torch.no_grad():
            model(batch64[:1])

    def resnet18_1() -> None:
        with torch.no_grad():
            resnet18(x224)

    medians = time_alternating(
        {
            "image_batch1": lambda: batch_probs(name, [image]),
            "net_batch1": ours_net_1,
            "resnet18_224_batch1": resnet18_1,
            "single_x64": single_x64,
            "batch_64": batch_64,
        },
        repeats=repeats,
    )
    return {
        "ratio": medians["single_x64"] / medians["batch_64"],
        "ratio_meaning": "64 single forward passes / one batch-64 pass (throughput gain of batching)",
        "resnet18_ratio": medians["resnet18_224_batch1"] / medians["net_batch1"],
        "resnet18_ratio_meaning": "torchvision ResNet-18 224 px latency / this network's latency (batch 1, same CPU)",
        "input_size": spec.preprocessing.size,
        "cpu_threads": torch.get_num_threads(),
        "median_s_image_batch1": medians["image_batch1"],
        "median_s_net_batch1": medians["net_batch1"],
        "median_s_resnet18_224_batch1": medians["resnet18_224_batch1"],
        "batch64_images_per_s": 64 / medians["batch_64"],
        "single_images_per_s": 64 / medians["single_x64"],
    }


def _register(name: str) -> None:
    benchmark(f"classification_{name}")(lambda: measure(name))


for _name in ("pneumonia-cxr", "breast-us"):
    _register(_name)
