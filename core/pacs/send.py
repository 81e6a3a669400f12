"""STOW-RS: send DICOM objects (SEG, derived images) back to the PACS they came from.

Objects keep their study's identifiers (de-identification is for exports that leave the
hospital) and reference their source series, so a PACS viewer files them under the same study.
A server's refusal (an HTTP error, or instances listed in FailedSOPSequence) is reported per
instance, never as a traceback.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from core.errors import InputError
from core.pacs.client import make_client, pacs_errors
from core.pacs.config import PacsServer

FAILURE_REASON = "00081197"
FAILED_SOP_SEQUENCE = "00081198"
REFERENCED_SOP_INSTANCE = "00081155"


@dataclass
class SendResult:
    """What the server stored and what it refused (``{"sop_uid", "reason"}`` per failure)."""

    sent: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    study_uids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed, "study_uids": self.study_uids}


def read_dicom(data: bytes | str | Path, label: str) -> Dataset:
    """A DICOM file to send, or an ``InputError`` naming it."""
    try:
        source = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else str(data)
        ds = pydicom.dcmread(source)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise InputError(f"{label}: not a DICOM file ({type(exc).__name__})") from None
    for keyword in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID"):
        if not str(ds.get(keyword, "") or ""):
            raise InputError(f"{label}: lacks {keyword}; a PACS cannot file it")
    return ds


def _failures(response: Dataset | None) -> list[dict[str, str]]:
    if response is None:
        return []
    failed = []
    for item in response.get("FailedSOPSequence", []) or []:
        failed.append({"sop_uid": str(item.get("ReferencedSOPInstanceUID", "")),
                       "reason": f"failure reason {int(item.get('FailureReason', 0)):#06x}"})
    return failed


def send(server: PacsServer, datasets: Iterable[Dataset]) -> SendResult:
    """STOW-RS every dataset, one request per study; HTTP refusals become failures with the reason."""
    by_study: dict[str, list[Dataset]] = {}
    for ds in datasets:
        by_study.setdefault(str(ds.StudyInstanceUID), []).append(ds)
    if not by_study:
        raise InputError("nothing to send")
    result = SendResult()
    client = make_client(server)
    for study_uid, group in by_study.items():
        try:
            with pacs_errors(server, "send"):
                response = client.store_instances(group, study_instance_uid=study_uid)
        except InputError as exc:
            result.failed += [{"sop_uid": str(ds.SOPInstanceUID), "reason": str(exc)} for ds in group]
            continue
        failed = _failures(response)
        failed_uids = {f["sop_uid"] for f in failed}
        result.failed += failed
        result.sent += sum(1 for ds in group if str(ds.SOPInstanceUID) not in failed_uids)
        result.study_uids.append(study_uid)
    return result


def send_or_refuse(server: PacsServer, datasets: Iterable[Dataset]) -> SendResult:
    """``send``, raising one ``InputError`` when the server stored nothing (for the UI's buttons)."""
    result = send(server, datasets)
    if result.sent == 0 and result.failed:
        raise InputError(result.failed[0]["reason"] if result.failed[0]["reason"].startswith("PACS")
                         else f"PACS {server.name} refused the object ({result.failed[0]['reason']})")
    return result


def send_bytes(server: PacsServer, items: list[tuple[str, bytes]]) -> SendResult:
    """Send DICOM files given as ``(name, bytes)`` (the UI's SEG and derived-image exports)."""
    return send_or_refuse(server, [read_dicom(data, name) for name, data in items])
