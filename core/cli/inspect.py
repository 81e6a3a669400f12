"""``python -m core inspect FILE|DIR|ZIP``: what MedLens sees in an input."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.imaging import list_series, load
from core.imaging.sniff import ZIP, sniff

HELP = "metadata, shape, spacing, modality and window of a file; the series of a folder or zip"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a DICOM/NIfTI/PNG/JPEG/TIFF file, a folder, or a .zip")
    parser.add_argument("--series", help="with a folder or zip: inspect this series (its UID) in full")
    parser.add_argument("--tags", action="store_true", help="include every displayable metadata field")


def run(args: argparse.Namespace) -> dict[str, Any]:
    path = Path(args.path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    container = path.is_dir()
    if path.is_file():
        with path.open("rb") as fh:
            container = sniff(fh.read(8)) == ZIP
    if container and not args.series:
        return list_series(path).to_dict()
    image = load(path, series_uid=args.series)
    out = image.summary()
    out["skipped"] = image.metadata.get("_skipped", [])
    if args.tags:
        out["metadata"] = {k: v for k, v in image.metadata.items() if not k.startswith("_")}
    return out
