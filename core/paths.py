"""Where MedLens keeps user data (labeling sessions, user-trained models)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = Path.home() / ".medlens"


def data_dir() -> Path:
    """``MEDLENS_DATA_DIR`` or ``~/.medlens``; not created until something is written."""
    return Path(os.environ.get("MEDLENS_DATA_DIR") or DEFAULT_DATA_DIR)
