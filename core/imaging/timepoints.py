"""4-D images (a NIfTI with a time axis): how many time points, and one time point's volume.

The NIfTI loader keeps a 4-D file's frames ordered (t, z) with ``TimePoints`` and
``SlicesPerVolume`` in the metadata; pages offer a time selector through ``at_time`` instead of
scrolling through every (t, z) frame as if they were slices of one volume.
"""

from __future__ import annotations

from core.errors import InputError
from core.imaging.medimage import MedImage


def time_points(image: MedImage) -> int:
    """The number of time points of ``image`` (1 unless its frames hold several volumes)."""
    count = int(image.metadata.get("TimePoints", 1) or 1)
    per_volume = int(image.metadata.get("SlicesPerVolume", image.n_frames) or image.n_frames)
    return count if count > 1 and count * per_volume == image.n_frames else 1


def at_time(image: MedImage, t: int) -> MedImage:
    """The volume at time point ``t`` (0-based) of a 4-D image; the image itself when it is 3-D.
    The result says which time point it is (``TimePoint``, 1-based, ``of`` ``TimePointsInFile``)."""
    count = time_points(image)
    if count == 1:
        return image
    if not 0 <= int(t) < count:
        raise InputError(f"time point {int(t) + 1} is outside 1..{count}")
    per_volume = image.n_frames // count
    start = int(t) * per_volume
    metadata = {**image.metadata, "TimePoints": 1, "TimePoint": int(t) + 1, "TimePointsInFile": count}
    return image.with_pixels(image.pixels[start:start + per_volume], metadata=metadata,
                             name=f"{image.name} (t={int(t) + 1}/{count})")
