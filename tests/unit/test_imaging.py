"""Readers on real files: transfer syntaxes, HU, polarity, colour, series order, folders, zips."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from core.errors import InputError
from core.imaging import list_series, load
from core.imaging.sniff import DICOM, DICOM_RAW, NIFTI_GZ, ZIP, sniff


@pytest.fixture(scope="module")
def dicom_dir(shared_data: Path) -> Path:
    return shared_data / "dicom"


def test_transfer_syntax_matrix_decodes_to_identical_arrays(dicom_dir: Path) -> None:
    files = sorted((dicom_dir / "compressed" / "ts_matrix_same_mr_image").glob("*.dcm"))
    assert len(files) == 8
    syntaxes = {pydicom.dcmread(f, stop_before_pixels=True).file_meta.TransferSyntaxUID for f in files}
    assert len(syntaxes) >= 6  # explicit, implicit, RLE, JPEG lossless (x2), JPEG-LS, JPEG 2000
    reference = load(files[0]).pixels
    for f in files[1:]:
        np.testing.assert_array_equal(load(f).pixels, reference, err_msg=f.name)


def test_nema_ct_compressions_agree_with_each_other(dicom_dir: Path) -> None:
    lossless = [load(dicom_dir / "compressed" / n).pixels for n in ("CT1_JLSL.dcm", "CT1_JPLL.dcm", "CT1_RLE.dcm")]
    np.testing.assert_array_equal(lossless[0], lossless[1])
    np.testing.assert_array_equal(lossless[0], lossless[2])
    near = load(dicom_dir / "compressed" / "CT1_JLSN.dcm").pixels
    assert np.abs(near - lossless[0]).max() <= 10  # near-lossless: bounded error


def test_ct_is_in_hounsfield_units_with_air_near_minus_1000(dicom_dir: Path) -> None:
    image = load(dicom_dir / "series" / "ct_chest_3slice_dcmqi")
    values = image.pixels[image.pixels > -2000]  # outside the scan field is padding (-3024)
    counts, edges = np.histogram(values, bins=np.arange(-1200, 200, 20))
    mode = edges[np.argmax(counts)]
    assert -1100 <= mode <= -900
    assert image.window == (40.0, 400.0)


def test_monochrome1_is_flipped_to_bright_bone(dicom_dir: Path) -> None:
    path = dicom_dir / "xray" / "gdcm-CR-MONO1-10-chest.dcm"
    image = load(path)
    f = image.frame(0)
    h, w = f.shape
    spine = f[int(0.3 * h):int(0.7 * h), int(0.45 * w):int(0.55 * w)].mean()
    lung = f[int(0.3 * h):int(0.6 * h), int(0.2 * w):int(0.3 * w)].mean()
    assert spine > lung * 1.3  # bright mediastinum/spine, dark lungs after the flip
    raw = pydicom.dcmread(path).pixel_array.astype(np.float32)
    bits = int(pydicom.dcmread(path).BitsStored)
    np.testing.assert_array_equal(f, (2**bits - 1) - raw)
    assert "MONOCHROME1" in image.metadata["Polarity"]


def test_ybr_jpeg_cine_becomes_rgb_frames(dicom_dir: Path) -> None:
    image = load(dicom_dir / "multiframe" / "examples_ybr_color.dcm")
    assert image.shape == (30, 240, 320, 3) and image.is_rgb
    reference = pydicom.dcmread(dicom_dir / "multiframe" / "examples_ybr_color.dcm").pixel_array  # pydicom converts to RGB
    np.testing.assert_array_equal(image.pixels, reference.astype(np.float32))


def test_palette_color_goes_through_the_lut() -> None:
    image = load(get_testdata_file("examples_palette.dcm"))
    assert image.is_rgb and image.pixels.max() <= 255
    assert len(np.unique(image.pixels.reshape(-1, 3), axis=0)) > 10


def test_jpeg_extended_12bit_without_decoder_is_refused_in_one_line() -> None:
    with pytest.raises(InputError, match=r"JPEG Extended 12-bit: no installed decoder can read this file"):
        load(get_testdata_file("JPEG-lossy.dcm"))


@pytest.mark.parametrize("name", ["rtplan.dcm", "rtstruct.dcm"])
def test_other_non_image_objects_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="not an image"):
        load(get_testdata_file(name))


def test_big_endian_and_no_meta_files_load(dicom_dir: Path) -> None:
    assert load(get_testdata_file("ExplVR_BigEnd.dcm")).shape == (1, 60, 80, 3)
    no_meta = load(dicom_dir / "malformed" / "no_preamble_no_meta_CT_small.dcm")
    np.testing.assert_array_equal(no_meta.pixels, load(dicom_dir / "ct" / "CT_small.dcm").pixels)
    assert "inferred" in no_meta.metadata["TransferSyntax"]


def test_rescale_slope_intercept_is_applied(dicom_dir: Path) -> None:
    path = dicom_dir / "ct" / "CT_small.dcm"
    ds = pydicom.dcmread(path)
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(load(path).frame(0), expected)


def test_enhanced_multiframe_spacing_from_functional_groups(dicom_dir: Path) -> None:
    image = load(dicom_dir / "multiframe" / "eCT_Supplemental.dcm")
    assert image.shape == (2, 512, 512)
    assert image.spacing is not None and image.spacing[0] > 0
    assert image.pixels.min() >= -1100  # rescaled to HU via the functional groups


def test_series_is_sorted_by_position_not_file_name(dicom_dir: Path) -> None:
    folder = dicom_dir / "series" / "mr_prostate_adc_20slice_qin"
    image = load(folder)
    assert image.shape == (20, 256, 256)
    numbers = [int(ds.InstanceNumber) for ds in image.datasets]
    assert numbers == sorted(numbers)
    iop = np.array(image.datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    distances = [float(np.dot(normal, np.array(ds.ImagePositionPatient, dtype=float))) for ds in image.datasets]
    assert all(b > a for a, b in zip(distances, distances[1:]))
    assert image.slice_spacing == pytest.approx(np.median(np.diff(distances)), rel=1e-3)
    # frame k holds the pixels of the k-th file in that order
    raw = pydicom.dcmread(folder / "000004.dcm")
    k = numbers.index(int(raw.InstanceNumber))
    np.testing.assert_array_equal(image.frame(k), raw.pixel_array * float(raw.get("RescaleSlope", 1)) + float(raw.get("RescaleIntercept", 0)))


def test_series_affine_maps_frames_along_positions(dicom_dir: Path) -> None:
    image = load(dicom_dir / "series" / "ct_chest_3slice_dcmqi")
    for k, ds in enumerate(image.datasets):
        lps = np.array(ds.ImagePositionPatient, dtype=float)
        ras = image.affine @ np.array([0, 0, k, 1.0])
        np.testing.assert_allclose(ras[:3], lps * [-1, -1, 1], atol=1e-3)


def test_mixed_folder_lists_its_series_and_load_asks_to_pick(dicom_dir: Path) -> None:
    listing = list_series(dicom_dir / "series")
    assert sorted(s.n_files for s in listing.series) == [3, 6, 20]
    with pytest.raises(InputError, match="3 series found"):
        load(dicom_dir / "series")
    chosen = next(s for s in listing.series if s.n_files == 6)
    assert load(dicom_dir / "series", series_uid=chosen.series_uid).shape == (6, 256, 256)


def test_folder_with_bad_files_reports_them_and_loads_the_rest(dicom_dir: Path, tmp_path: Path) -> None:
    for f in (dicom_dir / "series" / "ct_chest_3slice_dcmqi").glob("*.dcm"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "cut.dcm").write_bytes((dicom_dir / "malformed" / "MR_truncated.dcm").read_bytes()[:200])
    image = load(tmp_path)
    assert image.shape == (3, 512, 512)
    skipped = {s["file"]: s["reason"] for s in image.metadata["_skipped"]}
    assert "notes.txt" in skipped and "text file" in skipped["notes.txt"]
    assert "cut.dcm" in skipped


def test_zip_of_a_series_and_multi_file_upload(dicom_dir: Path) -> None:
    files = sorted((dicom_dir / "series" / "ct_chest_3slice_dcmqi").glob("*.dcm"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for f in files:
            archive.write(f, f"study/{f.name}")
    assert sniff(buffer.getvalue()[:8]) == ZIP
    assert load(buffer.getvalue(), name="study.zip").shape == (3, 512, 512)
    uploads = [(f.name, f.read_bytes()) for f in reversed(files)]
    image = load(uploads)
    assert image.shape == (3, 512, 512)
    assert [int(ds.InstanceNumber) for ds in image.datasets] == [3, 2, 1]  # positions, not upload order


def test_bytes_are_sniffed_not_named(dicom_dir: Path) -> None:
    data = (dicom_dir / "ct" / "CT_small.dcm").read_bytes()
    assert sniff(data[:1024]) == DICOM
    assert load(data, name="scan.png").modality == "CT"
    assert sniff((dicom_dir / "malformed" / "no_preamble_no_meta_CT_small.dcm").read_bytes()[:1024]) == DICOM_RAW
    assert sniff((dicom_dir / "nifti" / "example4d.nii.gz").read_bytes()[:1024]) == NIFTI_GZ


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"hello, this is a text file\n", "text file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "cannot be decoded"),
    (b"PK\x03\x04garbage", "zip file cannot be read"),
    (bytes(range(256)) * 4, "not DICOM, NIfTI"),
])
def test_bad_inputs_give_one_line_reasons(data: bytes, words: str) -> None:
    with pytest.raises(InputError) as info:
        load(data, name="upload.bin")
    assert words in str(info.value) and "\n" not in str(info.value)


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load(tmp_path / "nope.dcm")


def _pydicom_test_files() -> list[str]:
    from pathlib import Path as _Path

    import pydicom.data

    folder = _Path(pydicom.data.__file__).parent / "test_files"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", _pydicom_test_files())
def test_unseen_kinds_load_or_are_refused_in_one_line(name: str) -> None:
    """pydicom's own test files (RT, SR, palette, odd syntaxes, DICOMDIR, JSON...) stand in
    for DICOM kinds the shared set lacks: never an unexpected exception."""
    import pydicom.data

    path = Path(pydicom.data.__file__).parent / "test_files" / name
    try:
        image = load(path)
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    assert image.pixels.ndim in (3, 4) and np.isfinite(image.pixels).all() and image.window is not None


def test_side_by_side_keeps_both_pictures_exactly() -> None:
    from core.imaging.display import side_by_side

    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    colour = np.full((5, 2, 3), 200, np.uint8)
    out = side_by_side(grey, colour, gap=3)
    assert out.shape == (5, 4 + 3 + 2, 3) and out.dtype == np.uint8
    assert np.array_equal(out[:3, :4], np.repeat(grey[..., None], 3, axis=-1))
    assert np.array_equal(out[:, 7:], colour)
    assert (out[3:, :4] == 14).all() and (out[:, 4:7] == 14).all()  # padding and gap
