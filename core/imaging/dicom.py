"""DICOM files to ``MedImage``: decoding, modality units, polarity, colour, window, spacing.

Every failure becomes an ``InputError`` with a one-line reason a clinician can act on.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from core.errors import InputError
from core.imaging.medimage import MedImage
from core.imaging.metadata import dicom_metadata

# SOP classes that carry no displayable picture, with the reason shown to the user.
NON_IMAGE_MODALITIES = {
    "SR": "a structured report (text), not an image",
    "ECG": "an ECG waveform, not an image",
    "HD": "a hemodynamic waveform, not an image",
    "AU": "an audio waveform, not an image",
    "RTPLAN": "a radiotherapy plan, not an image",
    "RTSTRUCT": "a radiotherapy structure set (contours), not an image",
    "KO": "a key object selection (a list of references), not an image",
    "PR": "a presentation state, not an image",
    "SEG": "a DICOM segmentation (a mask over another series), not an image: open its source series instead",
    "REG": "a spatial registration, not an image",
    "DOC": "an encapsulated document, not an image",
}

UNCOMPRESSED = {ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, UID("1.2.840.10008.1.2.1.99")}


def read_dataset(source: bytes | str | Path, name: str = "", stop_before_pixels: bool = False) -> Dataset:
    """Parse a DICOM file (with or without preamble/meta); InputError with a one-line reason."""
    label = name or (Path(source).name if isinstance(source, (str, Path)) else "file")
    fp: Any = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else str(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(fp, force=True, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError as exc:
        raise InputError(f"{label}: not a valid DICOM file ({exc})") from None
    except (EOFError, OSError, ValueError, KeyError, TypeError, NotImplementedError) as exc:
        raise InputError(f"{label}: the DICOM file is truncated or malformed ({type(exc).__name__}: {_short(exc)})") from None
    if not any(tag.group != 0x0002 for tag in ds.keys()):  # keys(): no element is parsed
        raise InputError(f"{label}: the file ends early: only the DICOM file meta could be read, no dataset")
    _ensure_transfer_syntax(ds)
    return ds


def _short(exc: BaseException, limit: int = 120) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ensure_transfer_syntax(ds: Dataset) -> None:
    """Files without meta (or meta without (0002,0010)): infer the syntax from how the body was read."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        ds.file_meta = meta = FileMetaDataset()
    if "TransferSyntaxUID" not in meta:
        ds._medlens_meta_without_syntax = len(meta) > 0  # type: ignore[attr-defined]
        if "PixelData" in ds and ds["PixelData"].is_undefined_length:
            return  # encapsulated pixel data whose syntax we cannot guess: decode will say so
        if ds.original_encoding[0]:
            meta.TransferSyntaxUID = ImplicitVRLittleEndian
        elif ds.original_encoding[1]:
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
        else:
            meta.TransferSyntaxUID = ExplicitVRBigEndian
        meta.MediaStorageSOPClassUID = ds.get("SOPClassUID", "")
        ds.file_meta = meta
        ds._medlens_inferred_syntax = True  # type: ignore[attr-defined]


def transfer_syntax(ds: Dataset) -> UID | None:
    meta = getattr(ds, "file_meta", None)
    return meta.get("TransferSyntaxUID") if meta is not None else None


def transfer_syntax_name(ds: Dataset) -> str:
    ts = transfer_syntax(ds)
    if ts is None:
        return "unknown (no Transfer Syntax UID)"
    return ts.name if ts.is_valid and ts.name != ts else str(ts)


def check_displayable(ds: Dataset, label: str) -> None:
    """Refuse objects without a picture (SR, waveforms, plans, SEG...) with the reason."""
    modality = str(ds.get("Modality", "") or "").upper()
    sop = ds.get("SOPClassUID")
    sop_name = getattr(sop, "name", "") if sop else ""
    if modality in NON_IMAGE_MODALITIES:
        raise InputError(f"{label}: {modality} object: {NON_IMAGE_MODALITIES[modality]}")
    if "WaveformSequence" in ds:
        raise InputError(f"{label}: a waveform object ({sop_name or 'waveform'}), not an image")
    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        what = f"{sop_name} " if sop_name else ""
        raise InputError(f"{label}: {what}object without pixel data: nothing to display")
    tags = {"Rows": "(0028,0010)", "Columns": "(0028,0011)", "BitsAllocated": "(0028,0100)"}
    missing = [f"{k} {tag}" for k, tag in tags.items() if ds.get(k) in (None, "")]
    if missing:
        what = f"the required element {missing[0]} is" if len(missing) == 1 else f"the required elements {', '.join(missing)} are"
        extra = " (and the file meta has no Transfer Syntax UID)" if getattr(ds, "_medlens_meta_without_syntax", False) else ""
        raise InputError(f"{label}: {what} missing, so the pixels cannot be laid out{extra}")


def _decoder_message(ds: Dataset, label: str, exc: BaseException) -> str:
    ts = transfer_syntax(ds)
    name = transfer_syntax_name(ds)
    if ts is None:
        return f"{label}: the file has no Transfer Syntax UID and its pixel data is encapsulated: cannot tell how to decode it"
    if ts in UNCOMPRESSED:
        return f"{label}: pixel data cannot be read ({_short(exc)})"
    bits = ds.get("BitsStored")
    if ts == UID("1.2.840.10008.1.2.4.51") and bits and int(bits) > 8:
        name = f"JPEG Extended {int(bits)}-bit"
    return f"{label}: {name}: no installed decoder can read this file (corrupt stream or unsupported encoding)"


def decode(ds: Dataset, label: str) -> np.ndarray:
    """Decoded pixel array as stored, ``(frames, H, W[, 3])``; RGB for YBR/palette."""
    check_displayable(ds, label)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # the decoder, not ds.pixel_array: no second cached copy inside the dataset
            arr, _ = get_decoder(transfer_syntax(ds)).as_array(ds, as_rgb=True)
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{label}: the image is too large to decode in memory") from None
    except Exception as exc:  # decoders raise RuntimeError/ValueError/NotImplementedError...
        text = str(exc)
        if "less than expected" in text:
            sizes = re.search(r"\((\d+) vs (\d+) bytes\)", text)
            detail = f" ({sizes[1]} of {sizes[2]} bytes)" if sizes else ""
            raise InputError(f"{label}: the pixel data is truncated{detail}: the file was cut short") from None
        raise InputError(_decoder_message(ds, label, exc)) from None
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        arr = apply_color_lut(arr, ds)
        if arr.dtype.itemsize > 1:  # 16-bit LUT entries: keep the top 8 bits for display
            arr = (arr >> 8).astype(np.uint8)
        samples = 3
    if (frames == 1 and arr.ndim == (3 if samples > 1 else 2)):
        arr = arr[None]
    return arr


def _first(value: Any) -> float | None:
    """First value of a possibly multi-valued numeric element."""
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        value = value[0] if len(value) else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _functional(ds: Dataset, sequence: str, keyword: str, frame: int = 0) -> Any:
    """A value from the enhanced multi-frame functional groups (shared first, then per-frame)."""
    for group_kw in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        groups = ds.get(group_kw)
        if not groups:
            continue
        item = groups[0] if group_kw.startswith("Shared") else groups[min(frame, len(groups) - 1)]
        seq = item.get(sequence)
        if seq and keyword in seq[0]:
            return seq[0].get(keyword)
    return None


def rescale(ds: Dataset, frame: int = 0) -> tuple[float, float]:
    """(slope, intercept) from the top level or the Pixel Value Transformation functional group."""
    slope = _first(ds.get("RescaleSlope"))
    intercept = _first(ds.get("RescaleIntercept"))
    if slope is None and intercept is None:
        slope = _first(_functional(ds, "PixelValueTransformationSequence", "RescaleSlope", frame))
        intercept = _first(_functional(ds, "PixelValueTransformationSequence", "RescaleIntercept", frame))
    return (slope if slope not in (None, 0.0) else 1.0), (intercept or 0.0)


def pixel_spacing(ds: Dataset) -> tuple[float, float] | None:
    """(row, col) spacing in mm: PixelSpacing, ImagerPixelSpacing (projection X-ray), functional groups."""
    for value in (
        ds.get("PixelSpacing"),
        _functional(ds, "PixelMeasuresSequence", "PixelSpacing"),
        ds.get("ImagerPixelSpacing"),
        ds.get("NominalScannedPixelSpacing"),
    ):
        if value is not None and len(value) == 2:
            try:
                row, col = float(value[0]), float(value[1])
            except (TypeError, ValueError):
                continue
            if row > 0 and col > 0:
                return row, col
    return None


def slice_spacing(ds: Dataset) -> float | None:
    for value in (
        ds.get("SpacingBetweenSlices"),
        _functional(ds, "PixelMeasuresSequence", "SpacingBetweenSlices"),
        ds.get("SliceThickness"),
        _functional(ds, "PixelMeasuresSequence", "SliceThickness"),
    ):
        v = _first(value)
        if v and v > 0:
            return v
    return None


def default_window(ds: Dataset, slope: float, intercept: float) -> tuple[float, float] | None:
    """(center, width) from WindowCenter/Width (first value), the VOI LUT, or None."""
    center = _first(ds.get("WindowCenter"))
    width = _first(ds.get("WindowWidth"))
    if center is None or width is None:
        center = _first(_functional(ds, "FrameVOILUTSequence", "WindowCenter"))
        width = _first(_functional(ds, "FrameVOILUTSequence", "WindowWidth"))
    if center is not None and width is not None and width > 0:
        return center, width
    voi = ds.get("VOILUTSequence")
    if voi:
        try:
            descriptor = voi[0].LUTDescriptor
            entries = int(descriptor[0]) or 65536
            first = float(descriptor[1])
            # the LUT maps stored values [first, first + entries) onto the display range
            lo, hi = first * slope + intercept, (first + entries) * slope + intercept
            return (lo + hi) / 2.0, abs(hi - lo)
        except (AttributeError, IndexError, TypeError, ValueError):
            return None
    return None


def to_modality(arr: np.ndarray, ds: Dataset) -> tuple[np.ndarray, dict[str, Any]]:
    """Stored values -> float32 modality units, MONOCHROME1 flipped; returns (pixels, notes)."""
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    notes: dict[str, Any] = {}
    pixels = arr.astype(np.float32, copy=False)  # arr is freshly decoded: in-place work is safe
    if pixels.ndim == 3:  # grey: rescale to modality units (per frame when the groups differ)
        per_frame = ds.get("PerFrameFunctionalGroupsSequence")
        if per_frame and "RescaleSlope" not in ds and pixels.shape[0] == len(per_frame):
            for i in range(pixels.shape[0]):
                slope, intercept = rescale(ds, i)
                if (slope, intercept) != (1.0, 0.0):
                    pixels[i] *= slope
                    pixels[i] += intercept
        else:
            slope, intercept = rescale(ds)
            if slope != 1.0:
                pixels *= slope
            if intercept:
                pixels += intercept
        if photometric == "MONOCHROME1":
            lo, hi = _stored_range(ds)
            pixels *= -1.0
            pixels += lo + hi
            notes["Polarity"] = "MONOCHROME1 inverted to MONOCHROME2 (bright = dense)"
            notes["_flip"] = lo + hi
    return pixels, notes


def _stored_range(ds: Dataset) -> tuple[float, float]:
    """Range of the stored values in modality units (for the MONOCHROME1 flip)."""
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)) or 16)
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    slope, intercept = rescale(ds)
    a, b = lo * slope + intercept, hi * slope + intercept
    return min(a, b), max(a, b)


def image_from_dataset(ds: Dataset, label: str) -> MedImage:
    """One DICOM file (single or multi-frame) as a ``MedImage``."""
    arr = decode(ds, label)
    pixels, notes = to_modality(arr, ds)
    slope, intercept = rescale(ds)
    window = default_window(ds, slope, intercept)
    flip = notes.pop("_flip", None)
    if window and flip is not None:
        window = (flip - window[0], window[1])
    modality = str(ds.get("Modality", "") or "OT").upper() or "OT"
    window = window or fallback_window(pixels, modality, ds)
    metadata = dicom_metadata(ds)
    metadata.update(_summary_fields(ds))
    metadata.update(notes)
    if getattr(ds, "_medlens_inferred_syntax", False):
        metadata["TransferSyntax"] += " (inferred: the file has no meta header)"
    frames = pixels.shape[0]
    return MedImage(
        pixels=pixels,
        spacing=pixel_spacing(ds),
        slice_spacing=slice_spacing(ds) if frames > 1 else None,
        modality=modality,
        window=window,
        metadata=metadata,
        name=label,
        kind="dicom",
        datasets=[ds],
        affine=single_affine(ds),
    )


def _summary_fields(ds: Dataset) -> dict[str, Any]:
    sop = ds.get("SOPClassUID")
    return {
        "TransferSyntax": transfer_syntax_name(ds),
        "PhotometricInterpretation": str(ds.get("PhotometricInterpretation", "")),
        "SOPClassName": getattr(sop, "name", str(sop or "")),
        "BitsStored": int(ds.get("BitsStored", 0) or 0),
    }


def orientation(ds: Dataset) -> np.ndarray | None:
    iop = ds.get("ImageOrientationPatient") or _functional(ds, "PlaneOrientationSequence", "ImageOrientationPatient")
    if iop is None or len(iop) != 6:
        return None
    try:
        return np.asarray([float(v) for v in iop], dtype=float)
    except (TypeError, ValueError):
        return None


def position(ds: Dataset, frame: int = 0) -> np.ndarray | None:
    ipp = ds.get("ImagePositionPatient") or _functional(ds, "PlanePositionSequence", "ImagePositionPatient", frame)
    if ipp is None or len(ipp) != 3:
        return None
    try:
        return np.asarray([float(v) for v in ipp], dtype=float)
    except (TypeError, ValueError):
        return None


def affine_from(iop: np.ndarray, first: np.ndarray, spacing: tuple[float, float], slice_vec: np.ndarray) -> np.ndarray:
    """4x4 mapping (col, row, frame, 1) -> RAS+ mm from DICOM (LPS) geometry."""
    row_dir, col_dir = iop[:3], iop[3:]
    lps = np.eye(4)
    lps[:3, 0] = row_dir * spacing[1]  # increasing column index moves along the row direction
    lps[:3, 1] = col_dir * spacing[0]
    lps[:3, 2] = slice_vec
    lps[:3, 3] = first
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def single_affine(ds: Dataset) -> np.ndarray | None:
    iop, pos, spacing = orientation(ds), position(ds), pixel_spacing(ds)
    if iop is None or pos is None or spacing is None:
        return None
    normal = np.cross(iop[:3], iop[3:])
    step = slice_spacing(ds) or 1.0
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        last = position(ds, frames - 1)
        if last is not None and not np.allclose(last, pos):
            return affine_from(iop, pos, spacing, (last - pos) / (frames - 1))
    return affine_from(iop, pos, spacing, normal * step)


def fallback_window(pixels: np.ndarray, modality: str, ds: Dataset | None = None) -> tuple[float, float]:
    """Window when the file has none: full range for RGB, soft tissue for CT, percentiles otherwise."""
    from core.imaging.display import auto_window

    if pixels.ndim == 4:
        bits = int(ds.get("BitsStored", 8) or 8) if ds is not None else 8
        if str(ds.get("PhotometricInterpretation", "")).upper() == "PALETTE COLOR" if ds is not None else False:
            bits = 8
        top = float(2**bits - 1)
        return top / 2.0, top
    if modality == "CT" and float(pixels.min()) < -500:  # calibrated HU: soft-tissue window
        return 40.0, 400.0
    return auto_window(pixels)
