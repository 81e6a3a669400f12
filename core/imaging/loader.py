"""``load`` and ``list_series``: one entry point for every kind of input.

Design for folders, zips and multi-file uploads: ``list_series(source)`` returns every
series found (plus the skipped files and why); ``load(source, series_uid=...)`` loads one.
``load(source)`` without ``series_uid`` works when there is exactly one series and raises an
``InputError`` listing the series otherwise. The files skipped while loading are in
``image.metadata["_skipped"]`` (a list of ``{"file", "reason"}``).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.imaging import dicom as dcm
from core.imaging import limits
from core.imaging import series as ser
from core.imaging import sniff
from core.imaging.guard import guarded
from core.imaging.medimage import MedImage
from core.imaging.nifti import image_from_nifti
from core.imaging.raster import image_from_raster
from core.imaging.sources import Entry, to_entries, zip_entries


def _load_file(entry: Entry) -> MedImage:
    """One non-container file, by its content."""
    head = entry.head(1024)
    kind = sniff.sniff(head)
    label = entry.name
    if kind in (sniff.DICOM, sniff.DICOM_RAW):
        source = entry.path if entry.data is None and entry.path else entry.read()
        return dcm.image_from_dataset(dcm.read_dataset(source, label), label)
    if kind == sniff.NIFTI:
        return image_from_nifti(entry.read(), label)
    if kind == sniff.NIFTI_GZ:
        return image_from_nifti(entry.read(), label, gzipped=True)
    if kind in sniff.RASTER_KINDS:
        return image_from_raster(entry.read(), label, kind)
    if kind == sniff.GZIP:
        raise InputError(f"{label}: a gzip file that is not a NIfTI volume")
    raise InputError(f"{label}: cannot open this file: {sniff.describe_unknown(head)}")


def _expand(source: Any, name: str | None) -> tuple[list[Entry], str, bool]:
    """Entries with zips unpacked; the flag says whether the input was a container."""
    entries, label = to_entries(source, name)
    container = len(entries) > 1
    expanded: list[Entry] = []
    budget = limits.Budget(label)  # one byte budget for every zip of this input
    for entry in entries:
        if sniff.sniff(entry.head(8)) == sniff.ZIP:
            expanded.extend(zip_entries(entry.read(), entry.name, budget))
            container = True
        else:
            expanded.append(entry)
    if container and not expanded:
        raise InputError(f"{label}: the archive holds no files")
    return expanded, label, container


def _label(source: Any, name: str | None = None, *_: Any, **__: Any) -> str:
    """How a refusal names the input: the given name, a path's name, or a generic word."""
    if name:
        return str(name)
    if isinstance(source, (str, Path)):
        return Path(source).name or str(source)
    if isinstance(source, (list, tuple)):
        return f"{len(source)} files"
    return str(getattr(source, "name", "") or "upload")


@guarded(_label)
def list_series(source: Any, name: str | None = None) -> ser.SeriesListing:
    """Every series in a file, folder, zip or list of uploads (DICOM headers only: fast)."""
    entries, _, _ = _expand(source, name)
    items, skipped = ser.scan(entries, headers_only=True)
    series = [ser.describe(uid, members) for uid, members in ser.group(items).items()]
    return ser.SeriesListing(series=series, skipped=skipped)


@guarded(_label)
def load(source: Any, name: str | None = None, series_uid: str | None = None) -> MedImage:
    """A ``MedImage`` from bytes (+name), a path, a folder, a .zip, or a list of files.

    Raises ``InputError`` (one line) when nothing usable is found, or when several series
    are present and ``series_uid`` does not pick one of them.
    """
    entries, label, container = _expand(source, name)
    if not container:
        return _load_file(entries[0])
    items, skipped = ser.scan(entries, headers_only=True)  # pixels are read for the chosen series only
    groups = ser.group(items)
    if not groups:
        more = f"; and {len(skipped) - 1} more" if len(skipped) > 1 else ""
        detail = f" ({skipped[0].file}: {skipped[0].reason}{more})" if skipped else ""
        raise InputError(f"{label}: no usable image among {len(entries)} file(s){detail}")
    if series_uid is None:
        if len(groups) > 1:
            # no descriptions here: a refusal never echoes a header value (only UIDs, to pick one)
            listing = [ser.describe(uid, members).label(with_description=False) for uid, members in groups.items()]
            raise InputError(f"{label}: {len(groups)} series found, pick one: " + " | ".join(listing))
        series_uid = next(iter(groups))
    if series_uid not in groups:
        raise InputError(f"{label}: no series {series_uid!r} here (found: {', '.join(groups)})")
    members = groups[series_uid]
    if members[0].kind == "dicom":
        generic = isinstance(source, (list, tuple)) and name is None  # "3 files": name it after the series
        image, more = ser.stack_dicom(members, label)  # refusals name the input, not the series description
        skipped += more
        if (len(groups) > 1 or generic) and image.name == label:  # a single file keeps its own name
            image.name = _series_name(members, image.n_frames)  # counted after decoding: good slices only
    else:
        image = _load_file(members[0].entry)
    image.metadata["_skipped"] = [asdict(s) for s in skipped]
    return image


def _series_name(members: list, n_slices: int) -> str:
    """"CT series (3 slices)": the count is of the slices loaded, not of the files offered."""
    ds = members[0].ds
    desc = ser.text(ds, "SeriesDescription")[:80]
    modality = ser.text(ds, "Modality")[:16]
    return f"{desc or (modality + ' series').strip()} ({n_slices} slice{'s' if n_slices != 1 else ''})"


def load_many(files: list[Any], series_uid: str | None = None) -> MedImage:
    """Several uploaded files (e.g. the slices of one series) as one image."""
    return load(list(files), series_uid=series_uid)
