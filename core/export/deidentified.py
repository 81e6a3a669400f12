"""De-identified DICOM files out: names without identifiers, one call = one consistent mapping.

Files are named by series and instance number (``series003/instance0007.dcm``), never by the
source file name (which often holds the patient's name). Numbers missing from a file are
replaced by its order of appearance; a clash gets a suffix (``instance0007_2.dcm``).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydicom.dataset import Dataset
from pydicom.uid import UID

from core.errors import InputError
from core.export.archive import zip_bytes
from core.export.derived import dataset_bytes
from core.imaging.deid import DeidOptions, Deidentifier

KEPT_NOTE = ("Kept: pixels, modality, geometry (spacing, orientation, position), acquisition parameters, "
             "series/instance numbers{extra}. Replaced or removed: names, IDs, dates{dates}, institution, "
             "physicians, operators, devices, free-text descriptions and comments, UIDs (consistently), "
             "private tags, curves and overlays (PS3.15 Basic Profile, Table E.1-1). Burned-in text in the "
             "pixels is not checked.")


def kept_note(options: DeidOptions) -> str:
    """One paragraph for the user: what a de-identified file keeps."""
    extra = []
    if options.keep_patient_characteristics:
        extra.append("patient age, sex, size and weight")
    if options.clean_descriptors:
        extra.append("descriptions with identifying words blanked")
    if options.keep_dates_shifted:
        extra.append("dates shifted by a secret per-study offset (intervals kept), times")
    return KEPT_NOTE.format(extra=(", " + ", ".join(extra)) if extra else "",
                            dates="" if options.keep_dates_shifted else " and times")


def _number(ds: Dataset, keyword: str) -> int | None:
    try:
        value = int(str(ds.get(keyword, "") or "").strip())
    except ValueError:
        return None
    return value if 0 <= value < 10**8 else None


def file_names(datasets: Iterable[Dataset]) -> list[str]:
    """``seriesNNN/instanceNNNN.dcm`` for each (already de-identified) dataset, unique; two
    series with the same number get ``seriesNNN`` and ``seriesNNN_2``."""
    folders: dict[str, str] = {}
    counts: dict[str, int] = {}
    used: set[str] = set()
    names = []
    for ds in datasets:
        uid = str(ds.get("SeriesInstanceUID", "") or "")
        if uid not in folders:
            number = _number(ds, "SeriesNumber")
            base = f"series{number if number is not None else len(folders) + 1:03d}"
            folder, k = base, 1
            while folder in folders.values():
                k += 1
                folder = f"{base}_{k}"
            folders[uid] = folder
        counts[uid] = counts.get(uid, 0) + 1
        instance = _number(ds, "InstanceNumber")
        base = f"{folders[uid]}/instance{instance if instance is not None else counts[uid]:04d}"
        name, k = f"{base}.dcm", 1
        while name in used:
            k += 1
            name = f"{base}_{k}.dcm"
        used.add(name)
        names.append(name)
    return names


def _pixel_data_problem(ds: Dataset) -> str | None:
    """Why the native pixel data cannot be written as valid DICOM (truncated), or None."""
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if "PixelData" not in ds or syntax is None or UID(syntax).is_compressed:
        return None
    try:
        frames = int(str(ds.get("NumberOfFrames", 1) or 1))
        expected = int(ds.Rows) * int(ds.Columns) * frames * int(ds.get("SamplesPerPixel", 1) or 1) * int(ds.BitsAllocated)
    except (AttributeError, TypeError, ValueError):
        return None
    have = len(ds.PixelData or b"")
    return f"the pixel data is truncated ({have} of {(expected + 7) // 8} bytes)" if have * 8 < expected else None


def deidentified_files(datasets: Iterable[tuple[str, Dataset]], deidentifier: Deidentifier
                       ) -> tuple[list[tuple[str, bytes]], list[dict[str, str]]]:
    """(files, skipped): (name, bytes) of a de-identified copy of every (label, dataset), and
    ``{"file", "reason"}`` for those that cannot be written as valid DICOM."""
    clean, skipped = [], []
    for label, ds in datasets:
        problem = _pixel_data_problem(ds)
        if problem:
            skipped.append({"file": label, "reason": problem})
            continue
        try:
            out = deidentifier(ds)
        except Exception as exc:  # noqa: BLE001 - a malformed element must not stop the batch
            skipped.append({"file": label, "reason": f"cannot be de-identified ({type(exc).__name__})"})
            continue
        try:
            clean.append((out, dataset_bytes(out)))
        except (ValueError, AttributeError, TypeError, OverflowError, KeyError) as exc:
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            skipped.append({"file": label, "reason": f"cannot be written as DICOM ({reason})"})
    names = file_names([ds for ds, _ in clean])
    return [(name, data) for name, (_, data) in zip(names, clean)], skipped


def deidentified_download(datasets: list[Dataset], options: DeidOptions | None = None,
                          salt: str | None = None) -> tuple[bytes, str]:
    """(bytes, file name): one .dcm, or a zip of ``seriesNNN/instanceNNNN.dcm`` for several."""
    files, skipped = deidentified_files(((f"file {i + 1}", ds) for i, ds in enumerate(datasets)),
                                        Deidentifier(salt, options))
    if not files:
        raise InputError(skipped[0]["reason"] if skipped else "no DICOM file to de-identify")
    if len(files) == 1:
        return files[0][1], files[0][0].replace("/", "_")
    return zip_bytes(files), "deidentified.zip"
