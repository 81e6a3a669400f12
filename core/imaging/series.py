"""Folders, zips and multi-file uploads: group DICOM files into series, sort, stack.

A series is the DICOM files sharing a SeriesInstanceUID (and image size); each NIfTI or
raster file is a series of its own (id ``file:<name>``). Files that cannot be used are
listed in ``skipped`` with their one-line reason and never stop the others.
"""

from __future__ import annotations

import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from core.errors import InputError
from core.imaging import dicom as dcm
from core.imaging import dicom_header as header
from core.imaging import guard, limits
from core.imaging import sniff
from core.imaging.medimage import MedImage
from core.imaging.sources import Entry

# Threads help where decoding releases the GIL (JPEG 2000 / JPEG-LS / JPEG codecs) and cores
# are free; on a 2-core box they only add overhead, so parallel decode starts at 4 cores.
DECODE_WORKERS = min(8, os.cpu_count() or 1) if (os.cpu_count() or 1) >= 4 else 1


@dataclass
class Skipped:
    file: str
    reason: str


@dataclass
class SeriesInfo:
    """What the user picks from: one row per series in a folder/zip/upload."""

    series_uid: str
    kind: str
    modality: str
    n_files: int
    shape: list[int]
    description: str = ""
    files: list[str] = field(default_factory=list)

    def label(self, with_description: bool = True) -> str:
        desc = f" {self.description}" if self.description and with_description else ""
        return f"{self.modality}{desc}: {self.n_files} file(s), shape {'x'.join(map(str, self.shape))} [{self.series_uid}]"


@dataclass
class SeriesListing:
    series: list[SeriesInfo]
    skipped: list[Skipped]

    def to_dict(self) -> dict[str, Any]:
        return {"series": [asdict(s) for s in self.series], "skipped": [asdict(s) for s in self.skipped]}


@dataclass
class _Item:
    entry: Entry
    kind: str
    ds: Dataset | None = None
    geo: header.Geometry | None = None


def scan(entries: list[Entry], headers_only: bool) -> tuple[list[_Item], list[Skipped]]:
    """Sniff every entry and parse DICOM files (headers only when listing); collect refusals."""
    items: list[_Item] = []
    skipped: list[Skipped] = []

    def parse(entry: Entry) -> _Item | Skipped:
        try:
            head = entry.head(1024)
            kind = sniff.sniff(head)
            if kind in (sniff.DICOM, sniff.DICOM_RAW):
                # from a path pydicom keeps no reference to the whole file (a BytesIO would be kept)
                source = entry.path if entry.data is None and entry.path else entry.read()
                ds = dcm.read_dataset(source, entry.name, stop_before_pixels=headers_only)
                _check_header(ds, entry.name)
                geo = header.geometry(ds, entry.name) if ("Rows" in ds or "Columns" in ds) else None
                return _Item(entry, "dicom", ds, geo)
            if kind in (sniff.NIFTI, sniff.NIFTI_GZ, *sniff.RASTER_KINDS):
                return _Item(entry, kind)
            if kind == sniff.ZIP:
                return Skipped(entry.name, "a zip inside a zip: unpack it first")
            if entry.name.upper().endswith("DICOMDIR"):
                return Skipped(entry.name, "DICOMDIR index (not an image)")
            return Skipped(entry.name, f"not a DICOM, NIfTI or image file: {sniff.describe_unknown(head)}")
        except InputError as exc:
            return Skipped(entry.name, _strip_label(str(guard.clean(exc)), entry.name))
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the rest
            return Skipped(entry.name, guard.reason(exc))

    workers = 1 if len(entries) < 4 else DECODE_WORKERS
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(parse, entries):
            (skipped if isinstance(result, Skipped) else items).append(result)
    return items, skipped


def text(ds: Dataset, keyword: str) -> str:
    """An element as stripped text; '' when absent or unreadable (never raises)."""
    try:
        return str(ds.get(keyword, "") or "").strip()
    except Exception:  # noqa: BLE001
        return ""


def _strip_label(message: str, label: str) -> str:
    prefix = f"{label}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _check_header(ds: Dataset, label: str) -> None:
    modality = text(ds, "Modality").upper()
    if modality in dcm.NON_IMAGE_MODALITIES:
        raise InputError(f"{label}: {modality} object: {dcm.NON_IMAGE_MODALITIES[modality]}")
    sop = text(ds, "SOPClassUID")
    if sop == "1.2.840.10008.1.3.10":
        raise InputError(f"{label}: DICOMDIR index (not an image)")
    if "WaveformSequence" in ds:
        raise InputError(f"{label}: a waveform object, not an image")


def _series_key(item: _Item) -> str:
    if item.kind != "dicom":
        return f"file:{item.entry.name}"
    return text(item.ds, "SeriesInstanceUID")[:128] or f"file:{item.entry.name}"


def group(items: list[_Item]) -> dict[str, list[_Item]]:
    groups: dict[str, list[_Item]] = defaultdict(list)
    for item in items:
        groups[_series_key(item)].append(item)
    return dict(groups)


def _size(item: _Item) -> tuple[int, int, int, int]:
    """(frames, rows, columns, samples) from the validated header; zeros when it has none."""
    geo = item.geo
    if geo is None:
        return 0, 0, 0, 1
    return geo.frames, geo.rows, geo.cols, geo.out_samples


def split_by_size(members: list[_Item]) -> tuple[list[_Item], list[Skipped]]:
    """Keep the files with the most common image size; the others are skipped with a reason."""
    sizes = [(_size(m)[1:]) for m in members]
    common = max(set(sizes), key=sizes.count)
    keep = [m for m, s in zip(members, sizes) if s == common]
    dropped = [Skipped(m.entry.name, f"image size {s[0]}x{s[1]} differs from the series' {common[0]}x{common[1]}")
               for m, s in zip(members, sizes) if s != common]
    return keep, dropped


def sort_slices(members: list[_Item]) -> tuple[list[_Item], float | None, str]:
    """Order along the slice normal by ImagePositionPatient, else InstanceNumber, else name."""
    if len(members) == 1:
        return members, None, "single file"
    iop = dcm.orientation(members[0].ds)
    positions = [dcm.position(m.ds) for m in members]
    if iop is not None and all(p is not None for p in positions):
        normal = np.cross(iop[:3], iop[3:])
        distances = np.array([float(np.dot(normal, p)) for p in positions])
        order = np.argsort(distances, kind="stable")
        ordered = [members[i] for i in order]
        gaps = np.diff(distances[order])
        gaps = gaps[np.abs(gaps) > 1e-4]
        spacing = float(np.median(np.abs(gaps))) if gaps.size else None
        return ordered, spacing, "ImagePositionPatient along the slice normal"
    numbers = [dcm._int(m.ds, "InstanceNumber", -(2**62)) for m in members]
    if all(n != -(2**62) for n in numbers):
        order = np.argsort(numbers, kind="stable")
        return [members[i] for i in order], None, "InstanceNumber"
    return sorted(members, key=lambda m: m.entry.name), None, "file name (no position or instance number)"


def describe(uid: str, members: list[_Item]) -> SeriesInfo:
    first = members[0]
    names = [m.entry.name for m in members]
    if first.kind != "dicom":
        return SeriesInfo(series_uid=uid, kind="nifti" if first.kind.startswith("nifti") else "raster",
                          modality="NIFTI" if first.kind.startswith("nifti") else "OT",
                          n_files=1, shape=[], description=first.entry.name, files=names)
    ds = first.ds
    frames = sum(_size(m)[0] for m in members)
    _, rows, cols, samples = _size(first)
    shape = [frames, rows, cols] + ([3] if samples == 3 else [])
    description = (text(ds, "SeriesDescription") or text(ds, "StudyDescription"))[:120]
    return SeriesInfo(series_uid=uid, kind="dicom", modality=text(ds, "Modality")[:16] or "OT",
                      n_files=len(members), shape=shape, description=description, files=names)


def read_pixels(members: list[_Item], workers: int = 1) -> tuple[list[_Item], list[Skipped]]:
    """Each member read in full and checked (displayable, geometry within the limits, pixel
    data as long as declared) before anything is decoded; refusals become ``Skipped``."""

    def full(item: _Item) -> _Item | Skipped:
        entry = item.entry
        try:
            source = entry.path if entry.data is None and entry.path else entry.read()
            ds = dcm.read_dataset(source, entry.name)
            return _Item(entry, "dicom", ds, dcm.check_pixels(ds, entry.name))
        except InputError as exc:
            return Skipped(entry.name, _strip_label(str(guard.clean(exc)), entry.name))
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the rest
            return Skipped(entry.name, guard.reason(exc))

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(full, members))
    return [r for r in results if isinstance(r, _Item)], [r for r in results if isinstance(r, Skipped)]


def stack_dicom(members: list[_Item], label: str, workers: int | None = None) -> tuple[MedImage, list[Skipped]]:
    """Decode the sorted files of one series (in parallel) into one preallocated volume.

    Members may come from a headers-only scan: each is read in full and checked first; the
    volume is allocated only once the checked sizes fit ``MEDLENS_MAX_VOXELS``, and every file
    is decoded straight into its slot (no per-file full-size copy).
    """
    workers = DECODE_WORKERS if workers is None else workers
    members, skipped = read_pixels(members, workers)
    if not members:
        first = skipped[0] if skipped else Skipped("?", "no file")
        raise InputError(f"{label}: no file of the series could be decoded ({first.file}: {first.reason})")
    members, dropped = split_by_size(members)
    members, spacing, order_by = sort_slices(members)
    skipped += dropped
    if len(members) == 1:
        image = dcm.image_from_dataset(members[0].ds, members[0].entry.name)
        image.metadata["SliceOrder"] = order_by
        return image, skipped
    first = members[0].ds
    counts = [_size(m)[0] for m in members]
    _, rows, cols, samples = _size(members[0])
    limits.check_image(label, sum(counts), rows, cols, samples)
    shape = (sum(counts), rows, cols) + ((3,) if samples == 3 else ())
    volume = np.empty(shape, dtype=np.float32)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    notes: dict[str, Any] = {}

    def decode_into(i: int) -> Skipped | None:
        item = members[i]
        try:
            target = volume[offsets[i]:offsets[i + 1]]
            dcm.decode_float(item.ds, item.entry.name, out=target)
            _, note = dcm.to_modality(target, item.ds)  # in place: target is float32
            notes.update(note)
            return None
        except InputError as exc:
            return Skipped(item.entry.name, _strip_label(str(guard.clean(exc)), item.entry.name))
        except Exception as exc:  # noqa: BLE001
            return Skipped(item.entry.name, f"cannot be decoded ({guard.reason(exc)})")

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        failures = list(pool.map(decode_into, range(len(members))))
    good = [i for i, f in enumerate(failures) if f is None]
    skipped += [f for f in failures if f is not None]
    if not good:
        raise InputError(f"{label}: no file of the series could be decoded ({skipped[0].file}: {skipped[0].reason})")
    if len(good) < len(members):  # move the decoded slices together in place (no second volume)
        end = 0
        for i in good:
            n = offsets[i + 1] - offsets[i]
            volume[end:end + n] = volume[offsets[i]:offsets[i + 1]]
            end += n
        volume = volume[:end]
        members = [members[i] for i in good]
    flip = notes.pop("_flip", None)
    slope, intercept = dcm.rescale(first)
    window = dcm.default_window(first, slope, intercept)
    if window and flip is not None:
        window = (flip - window[0], window[1])
    window = window or dcm.fallback_window(volume, str(first.get("Modality", "OT") or "OT").upper(), first)
    metadata = dcm.dicom_metadata(first)
    metadata.update(dcm._summary_fields(first))
    metadata.update(notes)
    metadata.update({"SeriesFiles": len(members), "SliceOrder": order_by})
    affine = None
    iop, pos, pix = dcm.orientation(first), dcm.position(first), dcm.pixel_spacing(first)
    last = dcm.position(members[-1].ds)
    if iop is not None and pos is not None and pix is not None and last is not None and volume.shape[0] > 1 and len(members) == volume.shape[0]:
        affine = dcm.affine_from(iop, pos, pix, (last - pos) / (len(members) - 1))
    image = MedImage(
        pixels=volume,
        spacing=pix,
        slice_spacing=spacing or dcm.slice_spacing(first),
        modality=str(first.get("Modality", "OT") or "OT").upper(),
        window=window,
        metadata=metadata,
        name=label,
        kind="dicom",
        datasets=[m.ds for m in members],
        affine=affine,
    )
    return image, skipped
