"""Process-wide state of the viewer test app: the image, its masks and the viewer's sync, kept
across reruns and page reloads (a module is imported once per server process), so that a reload
shows what Python stored, as the labeling store does on the real page."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_docs: dict[str, dict[str, Any]] = {}


def document(path: str, labels: list[str]) -> dict[str, Any]:
    """``{"image", "masks", "sync"}`` for ``path``, created on first use."""
    from core.imaging import load
    from core.masks import MaskSet
    from core.masks.sync import ViewerSync

    with _lock:
        doc = _docs.get(path)
        if doc is None:
            image = load(path)
            masks = MaskSet(labels, image.pixels.shape[:3])
            doc = _docs[path] = {"image": image, "masks": masks, "sync": ViewerSync(masks, labels, masks.shape)}
        return doc
