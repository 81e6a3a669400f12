"""core.export: PNG and NIfTI masks round-trip; DICOM SEG reads back and references its source."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from core.export.nifti import mask_nifti_bytes, write_mask_nifti
from core.export.png import mask_png_bytes, write_mask_png


def _mask(shape=(40, 60)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[10:30, 5:25] = True
    return mask


def test_png_round_trip(tmp_path: Path) -> None:
    path = write_mask_png(_mask(), tmp_path / "m.png")
    back = np.asarray(Image.open(path))
    assert back.dtype == np.uint8 and set(np.unique(back)) == {0, 255}
    assert np.array_equal(back > 0, _mask())
    assert mask_png_bytes(_mask())[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_refuses_volumes() -> None:
    with pytest.raises(InputError):
        mask_png_bytes(np.zeros((3, 10, 10)))


def test_nifti_round_trip_with_spacing(tmp_path: Path) -> None:
    stack = np.stack([_mask(), ~_mask()])
    path = write_mask_nifti(stack, tmp_path / "m.nii.gz", spacing=(0.5, 0.7), slice_spacing=2.0)
    image = nib.load(str(path))
    assert image.shape == (60, 40, 2)
    assert np.allclose(image.header.get_zooms(), (0.7, 0.5, 2.0))
    assert np.array_equal(np.asarray(image.dataobj).transpose(2, 1, 0) > 0, stack)
    assert mask_nifti_bytes(_mask())[:2] == b"\x1f\x8b"


def test_nifti_keeps_the_image_affine(tmp_path: Path) -> None:
    affine = np.array([[-0.8, 0, 0, 10], [0, -0.8, 0, 20], [0, 0, 3, -5], [0, 0, 0, 1]], float)
    image = nib.load(str(write_mask_nifti(_mask(), tmp_path / "a.nii.gz", affine=affine)))
    assert np.allclose(image.affine, affine)


def test_dicom_seg_references_a_chest_cr(shared_data: Path, tmp_path: Path) -> None:
    import highdicom as hd
    import pydicom

    from core.export.dicom_seg import write_seg
    from core.masks.io import read_seg_over

    ds = pydicom.dcmread(shared_data / "dicom" / "xray" / "gdcm-CR-MONO1-10-chest.dcm")
    assert "PatientID" not in ds  # the pitfall: type-2 attribute missing in the real file
    mask = np.zeros((ds.Rows, ds.Columns), bool)
    mask[100:300, 60:200] = True
    path = write_seg(mask, [ds], tmp_path / "seg.dcm", label="lung")
    assert "PatientID" not in ds, "the caller's dataset must not be modified"
    seg = hd.seg.segread(str(path))
    assert seg.StudyInstanceUID == ds.StudyInstanceUID
    assert ds.SOPInstanceUID in [uids[2] for uids in seg.get_source_image_uids()]
    assert seg.get_segment_description(1).SegmentLabel == "lung"
    assert np.array_equal(read_seg_over(path.read_bytes(), [ds])["lung"][0], mask)


def test_dicom_seg_needs_a_source() -> None:
    from core.export.dicom_seg import build_seg

    with pytest.raises(InputError):
        build_seg(_mask(), [])


def test_dicom_seg_size_mismatch_is_an_input_error(shared_data: Path) -> None:
    import pydicom

    from core.export.dicom_seg import build_seg

    ds = pydicom.dcmread(shared_data / "dicom" / "xray" / "gdcm-CR-MONO1-10-chest.dcm")
    with pytest.raises(InputError):
        build_seg(_mask(), [ds])
