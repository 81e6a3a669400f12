"""Every model registered from ``models/`` (any task) has a tester in ``tests/models``."""

from __future__ import annotations

from core.registry import MODELS_DIR, list_models
from tests.models.testers import all_testers


def test_every_registered_model_has_a_tester() -> None:
    committed = {s.name for s in list_models() if s.folder is not None and s.folder.parent == MODELS_DIR}
    tested = [c.model_name for c in all_testers()]
    assert len(tested) == len(set(tested)), f"a model is tested twice: {tested}"
    assert committed - set(tested) == set(), "models without a tester"
    assert set(tested) - committed == set(), "testers for models that are not registered"
