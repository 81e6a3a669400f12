"""Thumbnails for the search results: the server renders one instance of a series (WADO-RS /rendered)."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from core.errors import InputError
from core.pacs.client import make_client, pacs_errors
from core.pacs.config import PacsServer
from core.pacs.search import check_uid, search_instances

SIZE = 128


def series_thumbnail(server: PacsServer, study_uid: str, series_uid: str, size: int = SIZE) -> bytes | None:
    """A small JPEG/PNG of the middle instance of a series, or None when the server cannot render it."""
    study_uid = check_uid(study_uid, "the study UID")
    series_uid = check_uid(series_uid, "the series UID")
    try:
        instances = search_instances(server, study_uid, series_uid)
        if not instances:
            return None
        with pacs_errors(server, "thumbnail"):
            rendered = make_client(server).retrieve_instance_rendered(
                study_uid, series_uid, instances[len(instances) // 2], media_types=("image/jpeg",))
        return _shrink(rendered, size)
    except InputError:
        return None


def _shrink(data: bytes, size: int) -> bytes | None:
    """The rendered image scaled to fit ``size`` x ``size``, as PNG (None when it is not an image).

    (dicomweb-client percent-encodes the comma of ``viewport=w,h``, which Orthanc refuses, so the
    server renders at full size and the thumbnail is made here.)"""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((size, size))
            out = io.BytesIO()
            image.convert("L" if image.mode in ("L", "I", "I;16") else "RGB").save(out, format="PNG")
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
