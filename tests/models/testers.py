"""Every concrete model tester, found by importing the model test modules."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from tests.models.base import BaseModelTester


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub] + _subclasses(sub)
    return out


def all_testers() -> list[type[BaseModelTester]]:
    """Tester classes that name a model, one per model, from ``tests/models/test_*.py``."""
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("test_"):
            importlib.import_module(f"tests.models.{info.name}")
    return sorted({c for c in _subclasses(BaseModelTester) if c.model_name}, key=lambda c: c.model_name)
