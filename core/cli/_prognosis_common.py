"""Helpers shared by the prognosis commands (private: not a command itself)."""

from __future__ import annotations

from typing import Any

import torch

from core.errors import InputError
from core.prognosis.service import model


def spec_of(name: str, task: str) -> Any:
    """The model's spec, or an InputError naming the valid models (``core.prognosis.service.model``)."""
    return model(name, task)


def one_thread(threads: int) -> None:
    """Training here is small: keep to ``threads`` CPU threads (others share the machine)."""
    torch.set_num_threads(max(1, threads))


def parse_seeds(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise InputError(f"--cv-seeds must be comma-separated integers (got {text!r})") from None
