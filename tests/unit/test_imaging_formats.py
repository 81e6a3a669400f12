"""Readers on files the tests build: NIfTI orientation, 16-bit PNG, TIFF, DICOM window/spacing rules."""

from __future__ import annotations

import io

import nibabel as nib
import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from core.imaging import MedImage, load, window_to_uint8
from core.imaging.display import auto_window


def _nifti_bytes(data: np.ndarray, affine: np.ndarray) -> bytes:
    return nib.Nifti1Image(data, affine).to_bytes()


def _marker_volume() -> np.ndarray:
    """8x6x4 RAS volume, zero except a marker at the right (x high), anterior (y high), superior (z high) corner."""
    data = np.zeros((8, 6, 4), dtype=np.int16)
    data[7, 5, 3] = 100
    return data


@pytest.mark.parametrize("flip_axes", [(), (0,), (1,), (0, 1), (2,)])
def test_nifti_displays_the_same_whatever_the_stored_orientation(flip_axes: tuple[int, ...]) -> None:
    data = _marker_volume()
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    for axis in flip_axes:  # store the same anatomy with that axis reversed
        data = np.flip(data, axis=axis)
        flip = np.eye(4)
        flip[axis, axis] = -1
        flip[axis, 3] = data.shape[axis] - 1
        affine = affine @ flip
    image = load(_nifti_bytes(data, affine), name="vol.nii")
    assert image.shape == (4, 6, 8)  # frames = z (inferior to superior), rows = y, cols = x
    frame, row, col = np.unravel_index(np.argmax(image.pixels), image.shape)
    # radiological display: patient right on the left (col 0), anterior at the top (row 0), superior last
    assert (frame, row, col) == (3, 0, 0)
    assert image.spacing == (3.0, 2.0) and image.slice_spacing == 4.0
    assert "".join(nib.aff2axcodes(affine)) == image.metadata["StoredOrientation"]


def test_nifti_affine_maps_display_indices_to_patient_space() -> None:
    affine = np.array([[-2.0, 0, 0, 10], [0, 3.0, 0, -20], [0, 0, 4.0, 5], [0, 0, 0, 1]])
    data = np.arange(8 * 6 * 4, dtype=np.int16).reshape(8, 6, 4)
    image = load(_nifti_bytes(data, affine), name="vol.nii")
    inverse = np.linalg.inv(affine)
    for frame, row, col in [(0, 0, 0), (3, 5, 7), (1, 2, 3)]:
        ras = image.affine @ np.array([col, row, frame, 1.0])
        i, j, k = np.round(inverse @ ras)[:3].astype(int)
        assert data[i, j, k] == image.pixels[frame, row, col]


def test_nifti_4d_frames_are_time_then_slice() -> None:
    data = np.zeros((4, 5, 3, 2), dtype=np.float32)
    data[..., 1] = 7
    image = load(_nifti_bytes(data, np.eye(4)), name="vol.nii")
    assert image.shape == (6, 5, 4)
    assert image.pixels[:3].max() == 0 and image.pixels[3:].min() == 7
    assert image.metadata["TimePoints"] == 2


def test_16bit_png_keeps_its_values() -> None:
    values = np.linspace(0, 60000, 64 * 48).reshape(48, 64).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, format="PNG")
    image = load(buffer.getvalue(), name="scan.png")
    assert image.shape == (1, 48, 64)
    np.testing.assert_array_equal(image.frame(0), values.astype(np.float32))
    assert image.metadata["BitDepth"] == 16
    assert image.window[1] > 255  # not an 8-bit window


def test_grey_rgb_png_becomes_grey_and_colour_stays_colour() -> None:
    grey = np.random.default_rng(0).integers(0, 255, (20, 30), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(buffer, format="PNG")
    assert load(buffer.getvalue(), name="a.png").shape == (1, 20, 30)
    colour = np.random.default_rng(1).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(colour).save(buffer, format="JPEG", quality=95)
    image = load(buffer.getvalue(), name="b.jpg")
    assert image.shape == (1, 20, 30, 3) and image.is_rgb


def test_multipage_16bit_tiff_is_frames() -> None:
    import tifffile

    stack = np.random.default_rng(0).integers(0, 4000, (3, 16, 12), dtype=np.uint16)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, stack, photometric="minisblack")
    image = load(buffer.getvalue(), name="stack.tif")
    assert image.shape == (3, 16, 12)
    np.testing.assert_array_equal(image.pixels, stack.astype(np.float32))


def _dicom(**attrs) -> bytes:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, generate_uid()
    ds.Modality = "CT"
    ds.Rows, ds.Columns = 4, 5
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    for key, value in attrs.items():
        setattr(ds, key, value)
    ds.PixelData = np.arange(20, dtype=np.uint16).reshape(4, 5).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_first_window_value_is_the_default_when_several() -> None:
    image = load(_dicom(WindowCenter=[40, 300], WindowWidth=[400, 1500]), name="x.dcm")
    assert image.window == (40.0, 400.0)


def test_voi_lut_gives_a_window_when_center_width_are_missing() -> None:
    item = Dataset()
    item.LUTDescriptor = [100, 10, 16]
    item.LUTData = np.arange(100, dtype=np.uint16).tobytes()
    image = load(_dicom(VOILUTSequence=Sequence([item]), RescaleSlope=2, RescaleIntercept=-5), name="x.dcm")
    lo, hi = 10 * 2 - 5, 110 * 2 - 5
    assert image.window == pytest.approx(((lo + hi) / 2, hi - lo))


def test_imager_pixel_spacing_for_projection_xray() -> None:
    image = load(_dicom(Modality="DX", ImagerPixelSpacing=[0.14, 0.15]), name="x.dcm")
    assert image.spacing == (0.14, 0.15)
    assert load(_dicom(PixelSpacing=[0.5, 0.6], ImagerPixelSpacing=[0.14, 0.15]), name="y.dcm").spacing == (0.5, 0.6)


def test_window_to_uint8_maps_the_window_edges() -> None:
    values = np.array([[-1000.0, -160.0, 40.0, 240.0, 1000.0]])
    out = window_to_uint8(values, (40.0, 400.0))
    assert out.tolist() == [[0, 0, 128, 255, 255]]


def test_auto_window_spans_percentiles() -> None:
    values = np.arange(1000, dtype=np.float32)
    center, width = auto_window(values, 1, 99)
    assert center == pytest.approx(499.5, abs=1) and width == pytest.approx(980, abs=2)


def test_medimage_contract() -> None:
    image = MedImage(pixels=np.zeros((5, 6)), spacing=(1.0, 2.0), modality="OT")
    assert image.shape == (1, 5, 6) and image.n_frames == 1 and not image.is_rgb
    assert image.frame(10).shape == (5, 6)
    assert image.pixels.dtype == np.float32
    with pytest.raises(ValueError):
        MedImage(pixels=np.zeros((2, 3, 4, 5)))
