"""WADO-RS: fetch a series (or one instance) in its stored transfer syntax, bounded like an upload.

The instances come back as DICOM files (bytes) and go through ``core.imaging.load``, the same
path and limits as an uploaded series. Bytes are counted while the multipart stream arrives and
the fetch is refused past ``MEDLENS_MAX_FETCH_MB`` (default 1024, the upload limit of
``.streamlit/config.toml``) or ``MEDLENS_MAX_FETCH_INSTANCES`` (default 10000, as for zip entries).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Callable

import pydicom
from pydicom.dataset import Dataset

from core.errors import InputError
from core.imaging import MedImage, load
from core.pacs.client import ByteBudget, make_client, pacs_errors
from core.pacs.config import PacsServer
from core.pacs.search import check_uid, search_instances, search_series

STORED_SYNTAX = (("application/dicom", "*"),)  # transfer-syntax=*: as stored, no re-encoding
DEFAULT_MAX_MB = 1024
DEFAULT_MAX_INSTANCES = 10_000

Progress = Callable[[int, int, int], None]  # (instances done, instances expected, bytes so far)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(float(raw))
    except ValueError:
        raise InputError(f"{name}={raw[:20]!r} is not a number") from None
    if value <= 0:
        raise InputError(f"{name} must be positive")
    return value


def max_fetch_bytes() -> int:
    """The byte budget of one fetch (``MEDLENS_MAX_FETCH_MB``)."""
    return _env_int("MEDLENS_MAX_FETCH_MB", DEFAULT_MAX_MB) * 2**20


def max_fetch_instances() -> int:
    """The most instances one fetch may bring (``MEDLENS_MAX_FETCH_INSTANCES``)."""
    return _env_int("MEDLENS_MAX_FETCH_INSTANCES", DEFAULT_MAX_INSTANCES)


@dataclass
class Fetched:
    """The files of one fetch: ``(name, bytes)`` entries (what ``core.imaging.load`` takes)."""

    study_uid: str
    series_uids: list[str]
    entries: list[tuple[str, bytes]]
    n_bytes: int

    @property
    def n(self) -> int:
        return len(self.entries)


def to_file_bytes(ds: Dataset) -> bytes:
    """A dataset received over DICOMweb as a DICOM file (Part 10), pixels untouched."""
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _number(value: object) -> str:
    """Digits only: the server's values never reach a file name as given (no ``../``)."""
    digits = "".join(c for c in str(value or "") if c.isdigit())[:9]
    return digits or "x"


def _name(ds: Dataset, index: int) -> str:
    """``seriesN/instanceNNNN_IIII.dcm`` from the series and instance numbers (digits only)."""
    return f"series{_number(ds.get('SeriesNumber'))}/instance{_number(ds.get('InstanceNumber')):0>4}_{index:04d}.dcm"


def fetch(server: PacsServer, study_uid: str, series_uid: str | None = None, instance_uid: str | None = None,
          progress: Progress | None = None) -> Fetched:
    """The instances of one series (or of every series of the study, or one instance), as DICOM files.

    Raises ``InputError`` past the byte or instance limits, on HTTP errors, and when nothing comes back.
    """
    study_uid = check_uid(study_uid, "the study UID")
    series_uids = [check_uid(series_uid, "the series UID")] if series_uid else \
        [s.series_uid for s in search_series(server, study_uid)]
    if instance_uid and not series_uid:
        raise InputError("fetching one instance needs its series UID too")
    if not series_uids:
        raise InputError(f"PACS {server.name}: the study holds no series (or is not on this server)")
    plan: list[tuple[str, list[str]]] = []
    for uid in series_uids:
        plan.append((uid, [check_uid(instance_uid, "the instance UID")] if instance_uid
                     else search_instances(server, study_uid, uid)))
    expected = sum(len(instances) for _, instances in plan)
    if expected > max_fetch_instances():
        raise InputError(f"PACS {server.name}: {expected} instances is more than the fetch limit "
                         f"(MEDLENS_MAX_FETCH_INSTANCES={max_fetch_instances()})")
    if expected == 0:
        raise InputError(f"PACS {server.name}: no instances found for that study/series")
    entries: list[tuple[str, bytes]] = []
    budget = ByteBudget(max_fetch_bytes(), f"PACS {server.name}",
                        on_bytes=(lambda total: progress(len(entries), expected, total)) if progress else None)
    client = make_client(server, budget)
    with pacs_errors(server, "fetch"):
        for uid, instances in plan:
            if instance_uid:
                datasets = [client.retrieve_instance(study_uid, uid, instance_uid, media_types=STORED_SYNTAX)]
            else:
                datasets = client.iter_series(study_uid, uid, media_types=STORED_SYNTAX)
            for ds in datasets:
                entries.append((_name(ds, len(entries)), to_file_bytes(ds)))
                if progress:
                    progress(len(entries), expected, budget.total)
    if not entries:
        raise InputError(f"PACS {server.name}: the server returned no instances")
    return Fetched(study_uid=study_uid, series_uids=series_uids, entries=entries, n_bytes=budget.total)


def fetch_image(server: PacsServer, study_uid: str, series_uid: str, progress: Progress | None = None) -> MedImage:
    """One series as a ``MedImage``, through ``core.imaging.load`` (the upload path and its limits)."""
    fetched = fetch(server, study_uid, series_uid, progress=progress)
    entries = fetched.entries
    if len(entries) == 1:
        return load(entries[0][1], name=_display_name(entries[0][1], series_uid))
    return load(entries, name=f"PACS series {series_uid[-12:]}", series_uid=series_uid)


def _display_name(data: bytes, series_uid: str) -> str:
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    what = str(ds.get("SeriesDescription", "") or ds.get("Modality", "") or "image")
    return f"PACS {what} {series_uid[-12:]}.dcm"
