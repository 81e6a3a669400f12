"""Test-time-augmentation views (MONAI random transforms): reproducible, mild, flips only when allowed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from core.classification import uncertainty
from core.registry import get_spec


def _images(n: int = 3, size: int = 28) -> torch.Tensor:
    rng = np.random.default_rng(0)
    x = np.zeros((n, 1, size, size), np.float32)
    x[:, :, : size // 2, : size // 3] = 0.9  # an asymmetric bright block: flips and shifts show
    return torch.from_numpy(np.clip(x + rng.normal(0, 0.02, x.shape).astype(np.float32), 0, 1))


def _without_flips():
    spec = get_spec("breast-us")
    return replace(spec, card=replace(spec.card, preprocessing=replace(spec.preprocessing, hflip_invariant=False)))


def test_views_are_seeded_and_mild() -> None:
    spec = _without_flips()  # a mirror image is "the same image" but far in pixels
    x = _images()
    first, again = uncertainty.tta_views(x, spec), uncertainty.tta_views(x, spec)
    assert len(first) == spec.card.uncertainty.views
    assert torch.equal(first[0], x)  # view 0 is the image itself
    for a, b in zip(first, again):
        assert torch.equal(a, b)  # same seed, same views: the shown interval is reproducible
    changed = [float((v - x).abs().mean()) for v in first[1:]]
    assert all(0 < c < 0.15 for c in changed), changed  # each view differs, none beyond "the same image"
    assert all(float(v.min()) >= 0 and float(v.max()) <= 1 for v in first)


def test_flips_only_when_the_card_allows_them() -> None:
    spec, no_flip = get_spec("breast-us"), _without_flips()
    x = _images(n=8)
    for current, allowed in ((no_flip, False), (spec, True)):
        views = torch.cat(uncertainty.tta_views(x, current)[1:])
        left, right = views[..., : x.shape[-1] // 2].mean(), views[..., x.shape[-1] // 2 :].mean()
        per_view_left_brighter = (views[..., :10].mean(dim=(1, 2, 3)) > views[..., -10:].mean(dim=(1, 2, 3)))
        if allowed:
            assert not bool(per_view_left_brighter.all()), "some views should be mirrored"
        else:
            assert bool(per_view_left_brighter.all()) and left > right
