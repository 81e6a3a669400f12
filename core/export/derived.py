"""Processed images as derived DICOM: highdicom Secondary Capture images, one per frame.

Each frame becomes a ``highdicom.sc.SCImage`` (PS3.3 A.8.1) built from the source's patient and
study attributes (repaired by ``dicom_values.valid_copy``, never copied invalid), in a new series:
ImageType DERIVED\\SECONDARY\\OTHER, DerivationDescription, SourceImageSequence pointing at the
source instance. Grey pixels are stored as unsigned 16-bit with RescaleSlope/Intercept
(Modality LUT module) so modality values such as HU survive; colour as 8-bit RGB. The
patient orientation comes from the source's ImageOrientationPatient or PatientOrientation,
and is empty (type 2C) when unknown. ``deidentify=True`` runs the PS3.15 Basic Profile over
the result (one ``Deidentifier`` for the whole series).
"""

from __future__ import annotations

import io

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from core.export.archive import zip_bytes
from core.export.dicom_values import valid_copy, valid_uid
from core.imaging.deid import Deidentifier
from core.imaging.display import window_to_uint8
from core.imaging.medimage import MedImage

MANUFACTURER = "MedLens"
SERIES_NUMBER = 999
_LPS = ("L", "P", "H")  # +x, +y, +z in DICOM patient coordinates
_OPPOSITE = {"L": "R", "P": "A", "H": "F"}


def _encode(frame: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Float pixels as (uint16 stored values, slope, intercept): exact for integers in range."""
    lo, hi = float(np.min(frame)), float(np.max(frame))
    if np.all(np.mod(frame, 1) == 0) and hi - lo <= 65535:
        return (frame - lo).astype(np.uint16), 1.0, lo
    slope = (hi - lo) / 65535.0 if hi > lo else 1.0
    return np.round((frame - lo) / slope).astype(np.uint16), slope, lo


def _direction_letter(vector: np.ndarray) -> str:
    axis = int(np.argmax(np.abs(vector)))
    letter = _LPS[axis]
    return letter if vector[axis] > 0 else _OPPOSITE[letter]


def patient_orientation(source: Dataset | None) -> tuple[str, str] | None:
    """(row direction, column direction) letters, from the source; None when unknown."""
    if source is None:
        return None
    try:
        iop = np.asarray([float(v) for v in source.get("ImageOrientationPatient") or []], dtype=float)
    except (TypeError, ValueError):
        iop = np.zeros(0)
    if iop.shape == (6,) and np.all(np.isfinite(iop)) and np.linalg.norm(iop[:3]) > 0 and np.linalg.norm(iop[3:]) > 0:
        return _direction_letter(iop[:3]), _direction_letter(iop[3:])
    value = source.get("PatientOrientation")
    parts = value if isinstance(value, (MultiValue, list, tuple)) else str(value or "").split("\\")
    values = [str(v).strip().upper() for v in parts if str(v).strip()]
    if len(values) == 2 and all(len(v) == 1 and v in "APRLHF" for v in values):
        return values[0], values[1]
    return None


def _source_for(image: MedImage, index: int) -> Dataset | None:
    sources = image.datasets
    if len(sources) == image.n_frames:
        return sources[index]
    return sources[0] if sources else None


def _reference(source: Dataset | None) -> Dataset:
    """Patient/study attributes for the new object, valid, with a Study UID."""
    ref = valid_copy(source) if source is not None else Dataset()
    if not ref.get("StudyInstanceUID"):
        ref.StudyInstanceUID = hd.UID()
    return ref


def _source_reference(source: Dataset | None) -> Sequence | None:
    if source is None:
        return None
    sop_class, sop_instance = str(source.get("SOPClassUID", "") or ""), str(source.get("SOPInstanceUID", "") or "")
    if not (valid_uid(sop_class) and valid_uid(sop_instance)):
        return None
    item = Dataset()
    item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = sop_class, sop_instance
    return Sequence([item])


def _laterality(sc: Dataset, source: Dataset | None) -> None:
    """Laterality (type 2C) from the source when valid; else empty = unknown, never guessed."""
    get = (lambda k: str(source.get(k, "") or "").strip().upper()) if source is not None else (lambda k: "")
    if get("Laterality") in ("R", "L"):
        sc.Laterality = get("Laterality")
    elif get("ImageLaterality") in ("R", "L", "U", "B"):
        sc.ImageLaterality = get("ImageLaterality")
    else:
        sc.Laterality = ""


def _frame_image(image: MedImage, index: int, series_uid: str, derivation: str) -> Dataset:
    source = _source_for(image, index)
    frame = image.frame(index)
    orientation = patient_orientation(source)
    if image.is_rgb:
        pixels, photometric, bits = window_to_uint8(frame, image.window), "RGB", 8
    else:
        pixels, slope, intercept = _encode(frame)
        photometric, bits = "MONOCHROME2", 16
    sc = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=_reference(source), pixel_array=pixels, photometric_interpretation=photometric,
        bits_allocated=bits, coordinate_system="PATIENT", series_instance_uid=series_uid,
        series_number=SERIES_NUMBER, sop_instance_uid=hd.UID(), instance_number=index + 1,
        manufacturer=MANUFACTURER, patient_orientation=orientation or ("L", "P"),
        pixel_spacing=tuple(round(float(v), 6) for v in image.spacing) if image.spacing else None,
        transfer_syntax_uid="1.2.840.10008.1.2.1",
    )
    if orientation is None:
        sc.PatientOrientation = ""  # type 2C: unknown
    if not image.is_rgb:
        sc.RescaleIntercept, sc.RescaleSlope = f"{intercept:.10g}"[:16], f"{slope:.10g}"[:16]
        sc.RescaleType = "HU" if image.modality == "CT" else "US"
        if image.window:
            sc.WindowCenter, sc.WindowWidth = f"{image.window[0]:.6g}", f"{max(image.window[1], 1e-6):.6g}"
    _laterality(sc, source)
    modality = str(source.get("Modality", "") or "").strip().upper() if source is not None else ""
    if modality.isalnum() and len(modality) <= 16:
        sc.Modality = modality  # the source equipment's modality (SC Equipment module)
    sc.SeriesDescription = "MedLens derived"
    sc.DerivationDescription = derivation
    references = _source_reference(source)
    if references is not None:
        sc.SourceImageSequence = references
    return sc


def to_dicom_datasets(image: MedImage, description: str | None = None, deidentify: bool = False) -> list[Dataset]:
    """One Secondary Capture dataset per frame, sharing a new SeriesInstanceUID."""
    series_uid = hd.UID()
    derivation = (description or image.metadata.get("DerivationDescription") or "MedLens processing")[:1024]
    out = [_frame_image(image, i, series_uid, derivation) for i in range(image.n_frames)]
    if deidentify:
        run = Deidentifier()
        out = [run(ds) for ds in out]
    return out


def dataset_bytes(ds: Dataset) -> bytes:
    """A dataset as DICOM file bytes (preamble, file meta)."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def to_dicom(image: MedImage, description: str | None = None, deidentify: bool = False) -> tuple[bytes, str]:
    """(bytes, extension): one .dcm for a single frame, a .zip of instanceNNNN.dcm for several."""
    datasets = to_dicom_datasets(image, description, deidentify)
    if len(datasets) == 1:
        return dataset_bytes(datasets[0]), ".dcm"
    return zip_bytes((f"instance{int(ds.InstanceNumber):04d}.dcm", dataset_bytes(ds)) for ds in datasets), ".zip"
