"""In-memory zip archives for downloads and batch results."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable


def zip_bytes(files: Iterable[tuple[str, bytes]]) -> bytes:
    """A deflated zip of (name, bytes) members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()
