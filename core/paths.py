"""Where MedLens finds the shared data sets and keeps user data (labeling sessions, user models)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = Path.home() / ".medlens"


REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """The shared training/evaluation data: ``MEDLENS_SHARED_DATA`` or ``../shared/data`` beside the repo."""
    return Path(os.environ.get("MEDLENS_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


def data_dir() -> Path:
    """``MEDLENS_DATA_DIR`` or ``~/.medlens``; not created until something is written."""
    return Path(os.environ.get("MEDLENS_DATA_DIR") or DEFAULT_DATA_DIR)
