"""Masks as DICOM Segmentation objects (highdicom) that reference their source images.

Real files often lack patient/study attributes that highdicom copies into the SEG (type 2:
present, may be empty). They are filled with empty values on a *copy* of each source, never on
the caller's datasets. A SEG reads back with ``core.masks.io`` (the one mask reader).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import highdicom as hd
import numpy as np

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from core.errors import InputError
from core.export.derived import patient_orientation
from core.export.dicom_values import valid_copy, valid_uid
from core.imaging.deid import Deidentifier

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
    """A copy of ``ds`` with valid values (``valid_copy``) and the type-2 patient/study
    attributes highdicom copies into the SEG present; InputError when it cannot be referenced."""
    ds = valid_copy(ds)
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        if not ds.get(keyword):
            raise InputError(f"the source image has no valid {keyword}, so a DICOM SEG cannot reference it; "
                             "export the mask as PNG or NIfTI instead")
    if not valid_uid(ds.get("SOPClassUID")):
        raise InputError("the source image has no valid SOPClassUID, so a DICOM SEG cannot reference it; "
                         "export the mask as PNG or NIfTI instead")
    for keyword in TYPE2_PATIENT_STUDY:
        if keyword not in ds:
            setattr(ds, keyword, "")
    spacing = ds.get("PixelSpacing")
    if spacing is not None and "ImageOrientationPatient" not in ds and (
            "SliceThickness" not in ds or not all(float(v) > 0 for v in spacing)):
        # a projection image: highdicom would build an invalid Pixel Measures Sequence from it
        del ds.PixelSpacing
    return ds


def _complete_seg(seg: hd.seg.Segmentation, source: Dataset) -> None:
    """Type-2C attributes highdicom leaves out: PatientOrientation when there is no plane
    orientation (projection images such as CR/DX), from the source or empty (unknown)."""
    has_plane = "SharedFunctionalGroupsSequence" in seg and any(
        "PlaneOrientationSequence" in item for item in seg.SharedFunctionalGroupsSequence)
    if not has_plane and "PatientOrientation" not in seg:
        orientation = patient_orientation(source)
        seg.PatientOrientation = list(orientation) if orientation else ""


ALGORITHM_TYPES = ("AUTOMATIC", "SEMIAUTOMATIC", "MANUAL")


def _property(label: str):
    return PROPERTIES.get(label.lower(), DEFAULT_PROPERTY)


def build_seg(
    mask: np.ndarray,
    sources: Sequence[Dataset],
    label: str = "structure",
    algorithm: str = "MedLens",
    algorithm_version: str = "1",
    algorithm_type: str = "AUTOMATIC",
) -> hd.seg.Segmentation:
    """A binary SEG of ``mask`` ``(frames, H, W)`` or ``(H, W)`` over ``sources``.

    ``algorithm_type`` (AUTOMATIC, SEMIAUTOMATIC after manual edits of a model's mask, MANUAL)
    is the SegmentAlgorithmType; the algorithm identification (``algorithm``) is kept unless MANUAL.

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
    kind = algorithm_type.upper()
    if kind not in ALGORITHM_TYPES:
        raise InputError(f"algorithm type {algorithm_type!r} is not one of {', '.join(ALGORITHM_TYPES)}")
    description = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label=label,
        segmented_property_category=category,
        segmented_property_type=prop_type,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues[kind],
        algorithm_identification=None if kind == "MANUAL" else hd.AlgorithmIdentificationSequence(
            name=algorithm, version=algorithm_version, family=codes.cid7162.ArtificialIntelligence
        ),
    )
    if "FrameOfReferenceUID" not in sources[0] and (len(sources) > 1 or int(sources[0].get("NumberOfFrames", 1) or 1) > 1):
        raise InputError("the source images have no Frame of Reference, which a DICOM SEG over several frames "
                         "needs; export the mask as NIfTI instead")
    pixel_array = array if len(sources) > 1 or int(getattr(sources[0], "NumberOfFrames", 1) or 1) > 1 else array[0]
    try:
        seg = hd.seg.Segmentation(
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
    except (ValueError, TypeError, AttributeError) as exc:  # highdicom refuses sources it cannot reference
        raise InputError(f"a DICOM SEG cannot be built over this image ({str(exc).splitlines()[0][:160]}); "
                         "export the mask as PNG or NIfTI instead") from None
    _complete_seg(seg, sources[0])
    return seg


def _final(seg: Dataset, deidentify: bool) -> Dataset:
    return Deidentifier()(seg) if deidentify else seg


def seg_bytes(mask: np.ndarray, sources: Sequence[Dataset], deidentify: bool = False, **kwargs) -> bytes:
    """DICOM SEG file content (for downloads); ``deidentify``: PS3.15 Basic Profile applied."""
    buffer = io.BytesIO()
    _final(build_seg(mask, sources, **kwargs), deidentify).save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def write_seg(mask: np.ndarray, sources: Sequence[Dataset], path: str | Path, deidentify: bool = False,
              **kwargs) -> Path:
    """Write a DICOM SEG of ``mask`` over ``sources`` to ``path``."""
    path = Path(path)
    _final(build_seg(mask, sources, **kwargs), deidentify).save_as(path, enforce_file_format=True)
    return path
