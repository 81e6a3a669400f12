"""Name -> network factory table, in the style of timm's ``@register_model``."""

from __future__ import annotations

from typing import Any, Callable

import torch.nn as nn

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {}


def register_architecture(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a factory ``f(**args) -> nn.Module`` under ``name`` (names are unique)."""

    def decorator(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in ARCHITECTURES and ARCHITECTURES[name] is not factory:
            raise ValueError(f"architecture {name!r} is registered twice")
        ARCHITECTURES[name] = factory
        return factory

    return decorator


def build_architecture(name: str, **args: Any) -> nn.Module:
    """Build a network with random weights; a KeyError lists the valid names."""
    try:
        factory = ARCHITECTURES[name]
    except KeyError:
        raise KeyError(f"unknown architecture {name!r}; valid: {', '.join(sorted(ARCHITECTURES))}") from None
    return factory(**args)
