"""Every file in ../shared/data/dicom against the README's table: it loads with the shape the
table gives, or it is refused with a clear one-line reason."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from core.imaging import load

README_ROW = re.compile(r"^\| (?P<file>[^|]+?) \| (?P<bytes>[^|]*) \| (?P<modality>[^|]*) \| (?P<shape>[^|]*) \|"
                        r" (?P<ts>[^|]*) \| (?P<photometric>[^|]*) \| (?P<bits>[^|]*) \| (?P<decodes>[^|]*) \|")

# Files the table marks as not decodable (or without pixels), with the words our refusal must use.
REFUSALS = {
    "malformed/JPEG2000-embedded-sequence-delimiter.dcm": "JPEG 2000 Image Compression: no installed decoder",
    "malformed/MR_truncated.dcm": "pixel data is truncated",
    "malformed/dwv-test_no-number-rows.dcm": "Rows (0028,0010) is missing",
    "malformed/emri_small_jpeg_2k_lossless_too_short.dcm": "ends early",
    "malformed/meta_missing_tsyntax.dcm": "BitsAllocated (0028,0100) are missing",
    "malformed/not_dicom_text.dcm": "text file",
    "malformed/truncated_60pct_ct_slice.dcm": "pixel data is truncated",
    "nonimage/test-SR.dcm": "structured report",
    "nonimage/waveform_ecg.dcm": "waveform",
    # decodable, but a SEG is a mask over another series: refused as an image on purpose
    "nonimage/liver_seg_for_ct_chest_3slice.dcm": "segmentation",
}


def parse_shape(text: str) -> tuple[int, ...]:
    """'240x320x30fx3ch' -> (30, 240, 320, 3); '512x512' -> (1, 512, 512)."""
    parts = text.strip().split("x")
    rows, cols = int(parts[0]), int(parts[1])
    frames = next((int(p[:-1]) for p in parts[2:] if p.endswith("f")), 1)
    channels = next((int(p[:-2]) for p in parts[2:] if p.endswith("ch")), 1)
    return (frames, rows, cols) + ((channels,) if channels > 1 else ())


def readme_table(root: Path) -> dict[str, dict[str, str]]:
    """file (relative to the dicom folder) -> row; folder rows expand to their files."""
    table: dict[str, dict[str, str]] = {}
    for line in (root / "README.md").read_text().splitlines():
        match = README_ROW.match(line)
        if not match or match["file"] in ("file", "---"):
            continue
        row = {k: v.strip() for k, v in match.groupdict().items()}
        name = row["file"]
        if "/ (" in name:  # "series/x/ (3 files)" or "compressed/ts_matrix.../ (8 files: ...)"
            folder = name.split("/ (")[0]
            for path in sorted((root / folder).glob("*.dcm")):
                table[str(path.relative_to(root))] = row
        else:
            table[name] = row
    return table


def _dicom_root() -> Path:
    from tests.conftest import SHARED_DATA

    return SHARED_DATA / "dicom"


def _files() -> list[str]:
    root = _dicom_root()
    if not root.is_dir():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.dcm"))


@pytest.fixture(scope="module")
def table(shared_data: Path) -> dict[str, dict[str, str]]:
    return readme_table(shared_data / "dicom")


def test_readme_covers_every_dicom_file(shared_data: Path, table) -> None:
    files = {str(p.relative_to(shared_data / "dicom")) for p in (shared_data / "dicom").rglob("*.dcm")}
    assert files, "no DICOM files found"
    assert files <= set(table), f"files missing from the README table: {sorted(files - set(table))}"


@pytest.mark.parametrize("name", _files() or ["<no shared data>"])
def test_shared_file_loads_or_is_refused_clearly(shared_data: Path, table, name: str) -> None:
    if name == "<no shared data>":
        pytest.skip("shared data not found")
    row = table[name]
    path = shared_data / "dicom" / name
    expect_refusal = name in REFUSALS or row["decodes"].startswith(("NO", "n/a"))
    if expect_refusal:
        with pytest.raises(InputError) as info:
            load(path)
        message = str(info.value)
        assert "\n" not in message and "Traceback" not in message
        assert message.startswith(path.name + ":"), message
        assert REFUSALS[name] in message, message
        return
    image = load(path)
    assert image.shape == parse_shape(row["shape"]), (image.shape, row["shape"])
    assert image.kind == "dicom"
    assert image.pixels.dtype == np.float32
    assert np.isfinite(image.pixels).all()
    assert image.window is not None and image.window[1] > 0
    assert image.modality == row["modality"].upper() or row["modality"].startswith("(")
    assert image.datasets and image.metadata["TransferSyntax"]


@pytest.mark.parametrize("name", ["nifti/anatomical.nii", "nifti/example4d.nii.gz", "nifti/standard.nii.gz",
                                  "nifti/dcm_qa_ts_1_siemens_trio.nii"])
def test_shared_nifti_loads_with_spacing(shared_data: Path, name: str) -> None:
    import nibabel as nib

    path = shared_data / "dicom" / name
    image = load(path)
    stored = nib.load(str(path))
    x, y, z = nib.as_closest_canonical(stored).shape[:3]
    t = stored.shape[3] if stored.ndim > 3 else 1
    assert image.shape == (z * t, y, x)
    zooms = nib.as_closest_canonical(stored).header.get_zooms()
    assert image.spacing == pytest.approx((zooms[1], zooms[0]))
    assert image.slice_spacing == pytest.approx(zooms[2])
    assert image.kind == "nifti" and image.affine is not None
