"""``python -m core pacs search|fetch|send``: DICOMweb against a PACS (QIDO-RS, WADO-RS, STOW-RS).

``--url`` is the DICOMweb root (e.g. ``http://127.0.0.1:8042/dicom-web``; default
``MEDLENS_DICOMWEB_URL``). Credentials come from the environment only, never the command line
(``MEDLENS_DICOMWEB_USER`` + ``MEDLENS_DICOMWEB_PASSWORD``, or ``MEDLENS_DICOMWEB_TOKEN``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.pacs.config import ENV_URL, PacsServer, server_for_url
from core.pacs.fetch import fetch
from core.pacs.search import search_studies
from core.pacs.send import read_dicom, send

HELP = "DICOMweb: search studies, fetch a study/series to a folder, send DICOM files (SEG, derived) to a PACS"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    search = actions.add_parser("search", help="QIDO-RS study search -> {studies: [...]}")
    fetch_p = actions.add_parser("fetch", help="WADO-RS: a study, series or instance, as stored, into DIR -> {n, out}")
    send_p = actions.add_parser("send", help="STOW-RS: DICOM files or folders -> {sent, failed}")
    for sub in (search, fetch_p, send_p):
        sub.add_argument("--url", default=os.environ.get(ENV_URL), help=f"DICOMweb root URL (default ${ENV_URL})")
    search.add_argument("--patient-id")
    search.add_argument("--patient-name", help="fuzzy; * wildcards allowed")
    search.add_argument("--modality", help="e.g. CR, CT, MR")
    search.add_argument("--date-from", help="YYYYMMDD or YYYY-MM-DD")
    search.add_argument("--date-to", help="YYYYMMDD or YYYY-MM-DD")
    search.add_argument("--accession")
    search.add_argument("--description", help="study description")
    search.add_argument("--limit", type=int, default=100)
    fetch_p.add_argument("--study", required=True, help="StudyInstanceUID")
    fetch_p.add_argument("--series", help="SeriesInstanceUID (default: every series of the study)")
    fetch_p.add_argument("--instance", help="SOPInstanceUID: only this instance (needs --series)")
    fetch_p.add_argument("--out", required=True, help="output folder (created)")
    send_p.add_argument("files", nargs="+", metavar="FILE", help="DICOM files or folders of them")


def _server(args: argparse.Namespace) -> PacsServer:
    if not args.url:
        raise InputError(f"give --url or set {ENV_URL}")
    env = os.environ
    return server_for_url(args.url, username=env.get("MEDLENS_DICOMWEB_USER") or None,
                          password=env.get("MEDLENS_DICOMWEB_PASSWORD") or None,
                          token=env.get("MEDLENS_DICOMWEB_TOKEN") or None)


def _search(server: PacsServer, args: argparse.Namespace) -> dict[str, Any]:
    hits = search_studies(server, limit=max(1, min(args.limit, 10_000)), patient_id=args.patient_id,
                          patient_name=args.patient_name, modality=args.modality, date_from=args.date_from,
                          date_to=args.date_to, accession=args.accession, description=args.description)
    return {"studies": [{"study_uid": h.study_uid, "patient_id": h.patient_id, "date": h.date,
                         "modalities": h.modalities, "n_series": h.n_series, "description": h.description,
                         "accession": h.accession} for h in hits]}


def _fetch(server: PacsServer, args: argparse.Namespace) -> dict[str, Any]:
    fetched = fetch(server, args.study, args.series, instance_uid=args.instance)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in fetched.entries:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return {"n": fetched.n, "out": str(out), "bytes": fetched.n_bytes, "series": fetched.series_uids}


def _files(items: list[str]) -> list[Path]:
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            paths.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            paths.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    if not paths:
        raise InputError("no files to send")
    return paths


def _send(server: PacsServer, args: argparse.Namespace) -> dict[str, Any]:
    datasets, unreadable = [], []
    for path in _files(args.files):
        try:
            datasets.append(read_dicom(path, path.name))
        except InputError as exc:
            unreadable.append({"file": str(path), "reason": str(exc)})
    result = send(server, datasets) if datasets else None
    failed = unreadable + (result.failed if result else [])
    return {"sent": result.sent if result else 0, "failed": failed}


def run(args: argparse.Namespace) -> dict[str, Any]:
    server = _server(args)
    return {"search": _search, "fetch": _fetch, "send": _send}[args.action](server, args)
