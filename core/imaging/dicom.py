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
from pydicom.uid import (UID, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian)

from core.errors import InputError
from core.imaging import dicom_header as header
from core.imaging.medimage import MedImage
from core.imaging.metadata import dicom_metadata
from core.imaging.display import auto_window

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
    """Parse a DICOM file (with or without preamble/meta); InputError with a one-line reason.

    Deflated files are inflated with a byte count (``core.imaging.limits``); the parser's own
    error text is never shown (it can hold raw header bytes or a patient's name).
    """
    label = name or (Path(source).name if isinstance(source, (str, Path)) else "file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = None
            if isinstance(source, (bytes, bytearray, memoryview)):
                ds = header.read_deflated(bytes(source), label, stop_before_pixels)
            elif _deflated_on_disk(Path(source)):
                ds = header.read_deflated(Path(source).read_bytes(), label, stop_before_pixels)
            if ds is None:
                fp: Any = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else str(source)
                ds = pydicom.dcmread(fp, force=True, stop_before_pixels=stop_before_pixels)
    except InputError:
        raise
    except InvalidDicomError:
        raise InputError(f"{label}: not a valid DICOM file") from None
    except MemoryError:
        raise InputError(f"{label}: the DICOM file is too large to read in memory") from None
    except Exception as exc:  # noqa: BLE001 - struct.error, zlib.error, BytesLengthException, ...
        raise InputError(f"{label}: the DICOM file is truncated or malformed ({type(exc).__name__})") from None
    if not any(tag.group != 0x0002 for tag in ds.keys()):  # keys(): no element is parsed
        raise InputError(f"{label}: the file ends early: only the DICOM file meta could be read, no dataset")
    _ensure_transfer_syntax(ds)
    return ds


def _deflated_on_disk(path: Path) -> bool:
    """Whether a (large) file on disk declares the Deflated transfer syntax in its meta."""
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    return header.meta_end(head)[1] == header.DEFLATED


def _short(exc: BaseException, limit: int = 120) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ensure_transfer_syntax(ds: Dataset) -> None:
    """Files without meta (or meta without (0002,0010)): infer the syntax from how the body was read."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        ds.file_meta = meta = FileMetaDataset()
    if "TransferSyntaxUID" in meta and not str(meta.get("TransferSyntaxUID") or "").strip():
        del meta.TransferSyntaxUID  # present but empty: inferred below like a missing one
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
    if ts in UNCOMPRESSED or ts == DeflatedExplicitVRLittleEndian:
        return f"{label}: pixel data cannot be read ({type(exc).__name__}: it does not match the image header)"
    bits = header.header_int(ds, "BitsStored", label)
    if ts == UID("1.2.840.10008.1.2.4.51") and bits and bits > 8:
        name = f"JPEG Extended {bits}-bit"
    if len(name) > 80:
        name = "this transfer syntax"
    return f"{label}: {name}: no installed decoder can read this file (corrupt stream or unsupported encoding)"


def check_pixels(ds: Dataset, label: str) -> header.Geometry:
    """Everything checked before decoding: a picture is there, its declared size is sane and
    within the limits, and uncompressed pixel data is as long as declared."""
    check_displayable(ds, label)
    geo = header.geometry(ds, label)
    ts = transfer_syntax(ds)
    header.check_pixel_length(ds, geo, label, native=ts in UNCOMPRESSED or ts == DeflatedExplicitVRLittleEndian)
    header.check_codestreams(ds, geo, label, str(ts or ""), transfer_syntax_name(ds)[:80])
    return geo


def decode_float(ds: Dataset, label: str, out: np.ndarray | None = None) -> np.ndarray:
    """Stored values as float32 ``(frames, H, W[, 3])``, decoded one frame at a time into
    ``out`` (allocated when None) so no second full-size copy is ever held; RGB for
    YBR/palette. Modality units are applied by ``to_modality``."""
    geo = check_pixels(ds, label)
    shape = (geo.frames, geo.rows, geo.cols) + ((3,) if geo.out_samples == 3 else ())
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape:
        raise InputError(f"{label}: the image size differs from the rest of the series")
    lut = None
    if geo.photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut as lut
    count = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # the decoder, not ds.pixel_array: no second cached copy inside the dataset
            for count, (frame, _) in enumerate(get_decoder(transfer_syntax(ds)).iter_array(ds, as_rgb=True), 1):
                if count > geo.frames:
                    break
                if lut is not None:
                    frame = lut(frame, ds)
                    if frame.dtype.itemsize > 1:  # 16-bit LUT entries: keep the top 8 bits for display
                        frame = frame >> 8
                out[count - 1] = frame.reshape(shape[1:])
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{label}: the image is too large to decode in memory") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise RuntimeError/ValueError/NotImplementedError...
        text = str(exc)
        if "less than expected" in text:
            sizes = re.search(r"\((\d+) vs (\d+) bytes\)", text)
            detail = f" ({sizes[1]} of {sizes[2]} bytes)" if sizes else ""
            raise InputError(f"{label}: the pixel data is truncated{detail}: the file was cut short") from None
        raise InputError(_decoder_message(ds, label, exc)) from None
    if count < geo.frames:
        raise InputError(f"{label}: the pixel data holds {count} of the {geo.frames} frames the header declares")
    return out


def decode(ds: Dataset, label: str) -> np.ndarray:
    """Decoded pixel array ``(frames, H, W[, 3])`` (float32 stored values; RGB for YBR/palette)."""
    return decode_float(ds, label)


def _int(ds: Dataset, keyword: str, default: int) -> int:
    """A whole-number element, or ``default`` when it is absent or unusable (never raises)."""
    try:
        return header.header_int(ds, keyword, "", default) or default
    except InputError:
        return default


def _first(value: Any) -> float | None:
    """First value of a possibly multi-valued numeric element."""
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        value = value[0] if len(value) else None
    try:
        number = float(value) if value is not None else None
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number is not None and np.isfinite(number) and abs(number) < 1e30 else None


def _functional(ds: Dataset, sequence: str, keyword: str, frame: int = 0) -> Any:
    """A value from the enhanced multi-frame functional groups (shared first, then per-frame);
    None when absent or malformed."""
    for group_kw in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        try:
            groups = ds.get(group_kw)
            if not groups:
                continue
            item = groups[0] if group_kw.startswith("Shared") else groups[min(frame, len(groups) - 1)]
            seq = item.get(sequence)
            if seq and keyword in seq[0]:
                return seq[0].get(keyword)
        except Exception:  # noqa: BLE001 - a malformed group is as good as none
            continue
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
        pair = header.numbers(value, 2)
        if pair is not None and pair[0] > 0 and pair[1] > 0:
            return pair[0], pair[1]
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
            if not (0 < entries <= 65536 and abs(first) < 2**32):
                return None
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
        try:
            per_frame = ds.get("PerFrameFunctionalGroupsSequence")
            per_frame_count = len(per_frame) if per_frame else 0
        except Exception:  # noqa: BLE001 - malformed groups: one rescale for every frame
            per_frame_count = 0
        if per_frame_count and "RescaleSlope" not in ds and pixels.shape[0] == per_frame_count:
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
    bits = min(64, max(1, _int(ds, "BitsStored", _int(ds, "BitsAllocated", 16))))
    signed = _int(ds, "PixelRepresentation", 0) == 1
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
        "BitsStored": _int(ds, "BitsStored", 0),
    }


def orientation(ds: Dataset) -> np.ndarray | None:
    iop = ds.get("ImageOrientationPatient") or _functional(ds, "PlaneOrientationSequence", "ImageOrientationPatient")
    values = header.numbers(iop, 6)
    return None if values is None else np.asarray(values, dtype=float)


def position(ds: Dataset, frame: int = 0) -> np.ndarray | None:
    ipp = ds.get("ImagePositionPatient") or _functional(ds, "PlanePositionSequence", "ImagePositionPatient", frame)
    values = header.numbers(ipp, 3)
    return None if values is None else np.asarray(values, dtype=float)


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
    frames = _int(ds, "NumberOfFrames", 1)
    if frames > 1:
        last = position(ds, frames - 1)
        if last is not None and not np.allclose(last, pos):
            return affine_from(iop, pos, spacing, (last - pos) / (frames - 1))
    return affine_from(iop, pos, spacing, normal * step)


def fallback_window(pixels: np.ndarray, modality: str, ds: Dataset | None = None) -> tuple[float, float]:
    """Window when the file has none: full range for RGB, soft tissue for CT, percentiles otherwise."""

    if pixels.ndim == 4:
        bits = min(16, max(1, _int(ds, "BitsStored", 8))) if ds is not None else 8
        if str(ds.get("PhotometricInterpretation", "")).upper() == "PALETTE COLOR" if ds is not None else False:
            bits = 8
        top = float(2**bits - 1)
        return top / 2.0, top
    if modality == "CT" and float(pixels.min()) < -500:  # calibrated HU: soft-tissue window
        return 40.0, 400.0
    return auto_window(pixels)
