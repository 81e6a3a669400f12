"""What the prognosis tabs and the prognosis commands call to find their models.

The predictions themselves are ``core.prognosis.predict`` (survival curves, stroke risk, heartbeat
classes, batch scoring); the pages and commands never read the registry themselves.
"""

from __future__ import annotations

from core.registry import ModelSpec, list_models, preferred_order, require_spec

TASKS = ("survival", "risk", "sequence")


def models(task: str) -> list[ModelSpec]:
    """The registered models of one prognosis task (``survival``, ``risk`` or ``sequence``), in picker
    order: a model that supersedes another comes just before it (``registry.preferred_order``)."""
    return preferred_order(list_models(task))


def model(name: str, task: str) -> ModelSpec:
    """The spec of ``name``, which must be a ``task`` model; InputError naming the valid models otherwise."""
    return require_spec(name, task)
