"""Processed images out: PNG (windowed), NIfTI (volume + affine), derived DICOM, zip.

Derived DICOM (PS3.3 "derived image"): one file per frame, new Series and SOP Instance UIDs,
ImageType DERIVED\\SECONDARY, DerivationDescription and SourceImageSequence pointing at the
source instance; float pixels stored as 16-bit integers with RescaleSlope/Intercept so the
modality values survive. Sources that are not single-frame grey DICOM become Secondary
Capture images that keep the source's patient/study attributes.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import zipfile
from collections.abc import Iterable

import nibabel as nib
import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from core.errors import InputError
from core.imaging.display import window_to_uint8
from core.imaging.medimage import MedImage

# Attributes copied from the source into a Secondary Capture (patient, study, equipment).
SC_COPY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge", "StudyInstanceUID",
           "StudyDate", "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName", "StudyDescription",
           "Modality", "FrameOfReferenceUID", "PatientIdentityRemoved", "DeidentificationMethod")
# Attributes that no longer describe the pixels after processing.
DROP = ("PixelData", "WindowCenter", "WindowWidth", "WindowCenterWidthExplanation", "VOILUTSequence",
        "ModalityLUTSequence", "RedPaletteColorLookupTableDescriptor", "GreenPaletteColorLookupTableDescriptor",
        "BluePaletteColorLookupTableDescriptor", "RedPaletteColorLookupTableData", "GreenPaletteColorLookupTableData",
        "BluePaletteColorLookupTableData", "SmallestImagePixelValue", "LargestImagePixelValue", "PlanarConfiguration",
        "LossyImageCompression", "LossyImageCompressionRatio", "LossyImageCompressionMethod", "NumberOfFrames",
        "PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence", "FrameIncrementPointer",
        "IconImageSequence", "RescaleType", "PixelPaddingValue")
GEOMETRY = ("ImagePositionPatient", "ImageOrientationPatient", "SliceLocation")


def to_png(image: MedImage, frame: int = 0, window: tuple[float, float] | None = None) -> bytes:
    """One frame windowed to 8 bits (grey or RGB) as PNG bytes."""
    pixels = window_to_uint8(image.frame(frame), window or image.window)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def default_affine(image: MedImage) -> np.ndarray:
    """(col, row, frame) -> RAS mm when the source had no geometry: LPS-like axes, so a
    reload shows the image the same way round."""
    row, col = image.spacing or (1.0, 1.0)
    return np.diag([-col, -row, image.slice_spacing or 1.0, 1.0])


def to_nifti(image: MedImage) -> bytes:
    """The whole image as .nii.gz bytes: (cols, rows, frames[, 3]) float32 with the affine.

    RGB images become 4-D volumes whose last axis is the colour channel.
    """
    data = np.ascontiguousarray(np.moveaxis(image.pixels, (0, 1, 2), (2, 1, 0)))
    affine = image.affine if image.affine is not None else default_affine(image)
    nifti = nib.Nifti1Image(data, affine)
    nifti.header.set_xyzt_units("mm")
    if image.window:  # the display window travels as cal_min/cal_max
        nifti.header["cal_min"] = image.window[0] - image.window[1] / 2.0
        nifti.header["cal_max"] = image.window[0] + image.window[1] / 2.0
    nifti.header["descrip"] = (image.metadata.get("DerivationDescription") or "MedLens")[:79].encode("ascii", "replace")
    return _gzip_nifti(nifti)


def _gzip_nifti(nifti: nib.Nifti1Image) -> bytes:
    import gzip

    return gzip.compress(nifti.to_bytes(), compresslevel=6)


def _encode(frame: np.ndarray) -> tuple[np.ndarray, float, float, int]:
    """Float pixels as (stored ints, slope, intercept, pixel representation)."""
    lo, hi = float(np.min(frame)), float(np.max(frame))
    if np.all(np.mod(frame, 1) == 0) and lo >= -32768 and hi <= 32767:
        return frame.astype(np.int16), 1.0, 0.0, 1
    if np.all(np.mod(frame, 1) == 0) and lo >= 0 and hi <= 65535:
        return frame.astype(np.uint16), 1.0, 0.0, 0
    slope = (hi - lo) / 65535.0 if hi > lo else 1.0
    stored = np.round((frame - lo) / slope).astype(np.uint16)
    return stored, slope, lo, 0


def _base_dataset(image: MedImage, index: int) -> tuple[Dataset, bool]:
    """Starting dataset for frame ``index`` and whether it keeps the source's SOP class."""
    sources = image.datasets
    source = sources[index] if len(sources) == image.n_frames else (sources[0] if sources else None)
    single = source is not None and int(source.get("NumberOfFrames", 1) or 1) == 1 and not image.is_rgb
    if single:
        ds = copy.deepcopy(source)
        for keyword in DROP:
            if keyword in ds:
                delattr(ds, keyword)
        ds.remove_private_tags()
        return ds, True
    ds = Dataset()
    if source is not None:
        for keyword in SC_COPY:
            if keyword in source:
                setattr(ds, keyword, copy.deepcopy(source.data_element(keyword).value))
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.ConversionType = "WSD"
    return ds, False


def to_dicom_datasets(image: MedImage, description: str | None = None) -> list[Dataset]:
    """One derived DICOM dataset per frame, sharing a new SeriesInstanceUID."""
    series_uid = generate_uid()
    now = dt.datetime.now()
    derivation = (description or image.metadata.get("DerivationDescription") or "MedLens processing")[:1024]
    geometry_changed = image.affine is None
    out = []
    for i in range(image.n_frames):
        ds, _ = _base_dataset(image, i)
        source = image.datasets[i] if len(image.datasets) == image.n_frames else (image.datasets[0] if image.datasets else None)
        for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                        "ReferringPhysicianName", "StudyID", "AccessionNumber"):
            if keyword not in ds:
                setattr(ds, keyword, "")
        ds.Modality = str(ds.get("Modality", "") or ("OT" if image.modality == "NIFTI" else image.modality))
        if "StudyInstanceUID" not in ds:
            ds.StudyInstanceUID = generate_uid()
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.SeriesNumber = 999
        ds.InstanceNumber = i + 1
        ds.SeriesDescription = f"MedLens derived: {image.name}"[:64]
        ds.ImageType = ["DERIVED", "SECONDARY"]
        ds.DerivationDescription = derivation
        ds.ContentDate, ds.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
        if source is not None and "SOPInstanceUID" in source:
            ref = Dataset()
            ref.ReferencedSOPClassUID = source.SOPClassUID
            ref.ReferencedSOPInstanceUID = source.SOPInstanceUID
            ds.SourceImageSequence = Sequence([ref])
        if geometry_changed:
            for keyword in GEOMETRY:
                if keyword in ds:
                    delattr(ds, keyword)
        frame = image.frame(i)
        ds.Rows, ds.Columns = int(frame.shape[0]), int(frame.shape[1])
        if image.spacing:
            ds.PixelSpacing = [round(float(image.spacing[0]), 6), round(float(image.spacing[1]), 6)]
            if "ImagerPixelSpacing" in ds:
                del ds.ImagerPixelSpacing
        if image.is_rgb:
            pixels = window_to_uint8(frame, image.window)
            ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
            for keyword in ("RescaleSlope", "RescaleIntercept"):
                if keyword in ds:
                    delattr(ds, keyword)
        else:
            pixels, slope, intercept, representation = _encode(frame)
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, representation
            ds.RescaleSlope, ds.RescaleIntercept = f"{slope:.10g}", f"{intercept:.10g}"
            if image.window:
                ds.WindowCenter, ds.WindowWidth = f"{image.window[0]:.6g}", f"{max(image.window[1], 1e-6):.6g}"
        ds.add_new(0x7FE00010, "OB" if image.is_rgb else "OW", np.ascontiguousarray(pixels).tobytes())
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        ds.preamble = b"\x00" * 128
        out.append(ds)
    return out


def dataset_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def to_dicom(image: MedImage, description: str | None = None) -> tuple[bytes, str]:
    """(bytes, extension): one .dcm for a single frame, a .zip of .dcm files for several."""
    datasets = to_dicom_datasets(image, description)
    if len(datasets) == 1:
        return dataset_bytes(datasets[0]), ".dcm"
    return zip_bytes((f"{i + 1:04d}.dcm", dataset_bytes(ds)) for i, ds in enumerate(datasets)), ".zip"


def zip_bytes(files: Iterable[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()


def export(image: MedImage, fmt: str, frame: int = 0) -> tuple[bytes, str]:
    """(bytes, extension) for ``fmt`` in png / nifti / dicom."""
    fmt = fmt.lower().lstrip(".")
    if fmt == "png":
        return to_png(image, frame), ".png"
    if fmt in ("nifti", "nii", "nii.gz"):
        return to_nifti(image), ".nii.gz"
    if fmt in ("dicom", "dcm"):
        return to_dicom(image)
    raise InputError(f"unknown export format {fmt!r}; use png, nifti or dicom")


def format_from_path(path: str) -> str:
    """Export format from an output file name (.png, .nii/.nii.gz, .dcm, .zip = DICOM files)."""
    lower = path.lower()
    if lower.endswith(".png"):
        return "png"
    if lower.endswith((".nii", ".nii.gz")):
        return "nifti"
    if lower.endswith((".dcm", ".zip")):
        return "dicom"
    raise InputError(f"{path}: the output must end in .png, .nii, .nii.gz, .dcm or .zip")
