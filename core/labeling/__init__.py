"""Labeling: sessions and their images in a store, the live editing workspace, the image codec.

- ``store``: ``LabelingStore`` (``core.db``: SQLite or PostgreSQL), ``Session``, ``Position`` (where
  each user is), ``ImageRecord``, ``get_store``.
- ``workspace``: ``Workspace`` (one image opened for editing), ``add_uploads``, ``import_masks``.
- ``codec``: ``encode_image`` / ``decode_image`` (a ``MedImage`` as bytes for the store).
"""

from core.labeling.codec import decode_image, encode_image, image_shape
from core.labeling.store import (STATUSES, ImageRecord, LabelingStore, Position, Session, default_path, get_store,
                                 mean_entropy)
from core.labeling.workspace import Workspace, add_uploads, import_masks

__all__ = [
    "STATUSES",
    "ImageRecord",
    "LabelingStore",
    "Position",
    "Session",
    "Workspace",
    "add_uploads",
    "decode_image",
    "default_path",
    "encode_image",
    "get_store",
    "image_shape",
    "import_masks",
    "mean_entropy",
]
