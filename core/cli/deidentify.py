"""``python -m core deidentify IN... --out DIR``: PS3.15 Basic Profile copies of DICOM files.

Inputs are files, folders and zips (read by ``core.imaging.sources``); every DICOM file among
them is de-identified with one ``Deidentifier``, so UIDs and pseudonyms are consistent across
the whole call, and written as ``DIR/seriesNNN/instanceNNNN.dcm``. Files that are not DICOM, or
cannot be read, are listed in ``skipped`` (name and reason) and nothing is written for them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.export.deidentified import deidentified_files
from core.imaging import sniff
from core.imaging.deid import DeidOptions, Deidentifier
from core.imaging.dicom import read_dataset
from core.imaging.sources import Entry, to_entries, zip_entries

HELP = "PS3.15 Basic Profile de-identification of DICOM files, folders and zips -> DIR/seriesNNN/instanceNNNN.dcm"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="IN", help="DICOM files, folders or .zip files")
    parser.add_argument("--out", required=True, help="output folder (created; existing files of the same name are replaced)")
    parser.add_argument("--keep-dates-shifted", action="store_true",
                        help="Retain Longitudinal Temporal Information with Modified Dates: shift dates by a secret "
                             "per-study offset (62-730 days) instead of removing them")
    parser.add_argument("--keep-patient-characteristics", action="store_true",
                        help="Retain Patient Characteristics: keep age, sex, size, weight")
    parser.add_argument("--clean-descriptors", action="store_true",
                        help="Clean Descriptors: keep descriptions with identifying words blanked out")
    parser.add_argument("--salt", help="secret that fixes the mapping (same salt -> same UIDs and pseudonyms); "
                                       "random when omitted")


def _entries(inputs: list[str]) -> list[Entry]:
    out: list[Entry] = []
    for item in inputs:
        path = Path(item)
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        entries, _ = to_entries(path)
        for entry in entries:
            if sniff.sniff(entry.head(8)) == sniff.ZIP:
                out.extend(zip_entries(entry.read(), entry.name))
            else:
                out.append(entry)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    options = DeidOptions(keep_dates_shifted=args.keep_dates_shifted,
                          keep_patient_characteristics=args.keep_patient_characteristics,
                          clean_descriptors=args.clean_descriptors)
    datasets, skipped = [], []
    for entry in _entries(args.inputs):
        head = entry.head(1024)
        if sniff.sniff(head) not in (sniff.DICOM, sniff.DICOM_RAW):
            skipped.append({"file": entry.name, "reason": "not a DICOM file"})
            continue
        try:
            datasets.append((entry.name, read_dataset(entry.read(), name=entry.name)))
        except InputError as exc:
            skipped.append({"file": entry.name, "reason": str(exc)})
    if not datasets:
        raise InputError("no DICOM file to de-identify among the inputs")
    out = Path(args.out)
    written = 0
    files, unwritable = deidentified_files(datasets, Deidentifier(args.salt, options))
    skipped.extend(unwritable)
    for name, data in files:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written += 1
    return {"n": written, "out": str(out), "skipped": skipped}
