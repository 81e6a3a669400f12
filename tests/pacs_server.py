"""A throwaway Orthanc loaded with a few shared DICOM files, for the PACS tests (unit, e2e, bench).

Skips (``skip_for_system``) when Debian's orthanc / orthanc-dicomweb are missing; ``./test.sh``
installs them when it can.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from tests.orthanc import LocalOrthanc, missing_reason
from tests.conftest import skip_for_system

CR_CHEST = "dicom/xray/gdcm-CR-MONO1-10-chest.dcm"
CT_SERIES = "dicom/series/ct_chest_3slice_dcmqi"
CT_J2K = "dicom/compressed/CT1_J2KI.dcm"


def loaded_files(shared: Path) -> list[Path]:
    """The files loaded into the test PACS: a CR chest X-ray, a 3-slice CT series, a JPEG 2000 CT."""
    return [shared / CR_CHEST, *sorted((shared / CT_SERIES).glob("*.dcm")), shared / CT_J2K]


def running_orthanc(shared: Path, users: dict[str, str] | None = None) -> Iterator[LocalOrthanc]:
    """Start, load, yield, stop (a generator for pytest fixtures)."""
    reason = missing_reason()
    if reason:
        skip_for_system(reason)
    server = LocalOrthanc(users=users or {}).start()
    try:
        server.upload(loaded_files(shared))
        yield server
    finally:
        server.stop()
