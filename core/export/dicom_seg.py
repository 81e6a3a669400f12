"""Masks as DICOM Segmentation objects (highdicom) that reference their source images.

Real files often lack patient/study attributes that highdicom copies into the SEG (type 2:
present, may be empty). They are filled with empty values on a *copy* of each source, never on
the caller's datasets. A SEG on a single projection image (CR/DX) reads back with
``Segmentation.get_pixels_by_source_instance``; see ``read_seg_mask``.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Sequence

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from core.errors import InputError

TYPE2_PATIENT_STUDY = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
)

# label -> (segmented property category, segmented property type)
PROPERTIES = {
    "lung": (codes.SCT.Organ, codes.SCT.Lung),
    "opacity": (codes.SCT.MorphologicallyAbnormalStructure, codes.SCT.Lesion),
    "polyp": (codes.SCT.MorphologicallyAbnormalStructure, codes.SCT.PolypOfColon),
}
DEFAULT_PROPERTY = (codes.SCT.Tissue, codes.SCT.Tissue)


def complete_source(ds: Dataset) -> Dataset:
    """A copy of ``ds`` with the type-2 patient/study attributes highdicom needs present."""
    ds = copy.deepcopy(ds)
    for keyword in TYPE2_PATIENT_STUDY:
        if keyword not in ds:
            setattr(ds, keyword, "")
    for keyword in ("StudyDate", "ContentDate", "AcquisitionDate", "SeriesDate"):  # old "1995.07.20" style
        value = str(ds.get(keyword, "") or "")
        if value and not (len(value) == 8 and value.isdigit()):
            digits = value.replace(".", "")
            setattr(ds, keyword, digits if len(digits) == 8 and digits.isdigit() else "")
    if "SpecificCharacterSet" in ds and not str(ds.SpecificCharacterSet or "").strip():
        del ds.SpecificCharacterSet  # an empty value is not a valid character set for highdicom
    spacing = ds.get("PixelSpacing")
    if spacing is not None and "ImageOrientationPatient" not in ds and (
            "SliceThickness" not in ds or not all(float(v) > 0 for v in spacing)):
        # a projection image: highdicom would build an invalid Pixel Measures Sequence from it
        del ds.PixelSpacing
    return ds


def _property(label: str):
    return PROPERTIES.get(label.lower(), DEFAULT_PROPERTY)


def build_seg(
    mask: np.ndarray,
    sources: Sequence[Dataset],
    label: str = "structure",
    algorithm: str = "MedLens",
    algorithm_version: str = "1",
) -> hd.seg.Segmentation:
    """A binary SEG of ``mask`` ``(frames, H, W)`` or ``(H, W)`` over ``sources``.

    ``sources`` are the images the mask was drawn on: one dataset per frame for a series, or
    one (multi-frame or single) dataset whose frames match the mask's.
    """
    if not sources:
        raise InputError("a DICOM SEG needs the source DICOM image(s); write .png or .nii.gz for other inputs")
    array = np.asarray(mask)
    if array.ndim == 2:
        array = array[None]
    array = (array > 0).astype(np.uint8)
    sources = [complete_source(ds) for ds in sources]
    rows, cols = int(sources[0].Rows), int(sources[0].Columns)
    if array.shape[1:] != (rows, cols):
        raise InputError(f"mask {array.shape[1:]} does not match the source image size {(rows, cols)}")
    if len(sources) > 1 and array.shape[0] != len(sources):
        raise InputError(f"mask has {array.shape[0]} frames but there are {len(sources)} source images")
    category, prop_type = _property(label)
    description = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label=label,
        segmented_property_category=category,
        segmented_property_type=prop_type,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=hd.AlgorithmIdentificationSequence(
            name=algorithm, version=algorithm_version, family=codes.cid7162.ArtificialIntelligence
        ),
    )
    pixel_array = array if len(sources) > 1 or int(getattr(sources[0], "NumberOfFrames", 1) or 1) > 1 else array[0]
    return hd.seg.Segmentation(
        source_images=sources,
        pixel_array=pixel_array,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[description],
        series_instance_uid=hd.UID(),
        series_number=900,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="MedLens",
        manufacturer_model_name=algorithm,
        software_versions=algorithm_version,
        device_serial_number="0",
        omit_empty_frames=False,
    )


def seg_bytes(mask: np.ndarray, sources: Sequence[Dataset], **kwargs) -> bytes:
    """DICOM SEG file content (for downloads)."""
    buffer = io.BytesIO()
    build_seg(mask, sources, **kwargs).save_as(buffer)
    return buffer.getvalue()


def write_seg(mask: np.ndarray, sources: Sequence[Dataset], path: str | Path, **kwargs) -> Path:
    """Write a DICOM SEG of ``mask`` over ``sources`` to ``path``."""
    path = Path(path)
    build_seg(mask, sources, **kwargs).save_as(path)
    return path


def read_seg_mask(path_or_seg, source: Dataset) -> np.ndarray:
    """Read back the mask a SEG holds for one source instance, ``(frames, H, W)`` bool."""
    seg = path_or_seg if isinstance(path_or_seg, hd.seg.Segmentation) else hd.seg.segread(str(path_or_seg))
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=[source.SOPInstanceUID], combine_segments=True, skip_overlap_checks=True
    )
    return np.asarray(pixels) > 0
