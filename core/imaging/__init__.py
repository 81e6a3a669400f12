"""Pixels in and out: ``MedImage`` and the DICOM / NIfTI / raster readers.

``load(source, name=None, series_uid=None)`` accepts bytes (+ name), a path, a folder, a
.zip or a list of uploads, and sniffs the content (not the extension). For a folder, zip or
multi-file upload, ``list_series(source)`` lists the series found and the files skipped (with
reasons); ``load(source, series_uid=...)`` loads one of them. ``load`` without a series id raises
an ``InputError`` listing the series when there are several. Files skipped while loading are
reported in ``image.metadata["_skipped"]``.
"""

from core.imaging.display import auto_window, frame_to_uint8, window_to_uint8
from core.imaging.loader import list_series, load, load_many
from core.imaging.medimage import MedImage
from core.imaging.series import SeriesInfo, SeriesListing, Skipped

__all__ = [
    "MedImage",
    "SeriesInfo",
    "SeriesListing",
    "Skipped",
    "auto_window",
    "frame_to_uint8",
    "list_series",
    "load",
    "load_many",
    "window_to_uint8",
]
