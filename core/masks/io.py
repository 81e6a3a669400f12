"""Read existing masks (PNG, NIfTI, DICOM SEG) as a starting point for editing.

Every reader returns ``{label: (frames, H, W) bool}`` for the given image:

- **PNG/JPEG** (one frame): a binary image (0 / non-zero, e.g. 0/255) goes to ``default_label``;
  an image of small integers 0..n is a label map: value ``i`` -> ``labels[i - 1]``.
- **NIfTI**: stored ``(W, H, frames)`` like ``core.export.nifti`` writes it; a binary volume
  goes to ``default_label``, a label map as above.
- **DICOM SEG**: each segment goes to the label of the same name (case-insensitive), else to
  the label with its segment number; frames are matched to the image's source instances.
"""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any, Sequence

import numpy as np

from core.errors import InputError
from core.imaging import limits
from core.imaging.nifti import read_header
from core.imaging.dicom import read_dataset
from core.imaging.dicom_header import geometry


def _shape(image: Any) -> tuple[int, int, int]:
    s = np.shape(image.pixels)
    return int(s[0]), int(s[1]), int(s[2])


def _from_label_map(array: np.ndarray, labels: Sequence[str], default_label: str) -> dict[str, np.ndarray]:
    values = np.unique(array)
    values = values[values != 0]
    if len(values) == 0:
        return {default_label: np.zeros(array.shape, bool)}
    if len(values) == 1:  # binary mask, whatever its foreground value (1, 255, ...)
        return {default_label: array != 0}
    if values.max() > len(labels) or np.any(values != np.round(values)):
        raise InputError(f"the mask holds values {values[:6].tolist()}...; a label map needs 1..{len(labels)}")
    return {labels[int(v) - 1]: array == v for v in values}


def _check(masks: dict[str, np.ndarray], shape: tuple[int, int, int]) -> dict[str, np.ndarray]:
    for label, mask in masks.items():
        if mask.shape != shape:
            raise InputError(f"the mask for {label!r} is {mask.shape[1]}x{mask.shape[2]} with {mask.shape[0]} "
                             f"frame(s); the image is {shape[1]}x{shape[2]} with {shape[0]}")
    return masks


def read_png(data: bytes, labels: Sequence[str], image: Any, default_label: str) -> dict[str, np.ndarray]:
    from PIL import Image


    try:
        pil = Image.open(io.BytesIO(data))
        limits.check_image("the mask image", 1, pil.height, pil.width)  # declared size, before decoding
        array = np.asarray(pil.convert("L") if pil.mode not in ("L", "I", "I;16", "P", "1") else pil)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoder text is not echoed
        raise InputError(f"cannot read the mask image ({type(exc).__name__})") from None
    frames, h, w = _shape(image)
    if frames != 1:
        raise InputError("a PNG mask holds one frame; this image has several (use NIfTI or DICOM SEG)")
    return _check({k: v[None] for k, v in _from_label_map(array.astype(np.int64), labels, default_label).items()},
                  (frames, h, w))


def read_nifti(data: bytes, labels: Sequence[str], image: Any, default_label: str) -> dict[str, np.ndarray]:
    import nibabel as nib


    if data[:2] == b"\x1f\x8b":
        hdr = read_header(limits.gunzip_head(data, 540), "the NIfTI mask")  # declared size, before inflating
        data = limits.gunzip(data, "the NIfTI mask", max_out=hdr.offset + hdr.n_bytes)
    else:
        read_header(data[:540], "the NIfTI mask")
    try:
        nii = nib.Nifti1Image.from_bytes(data)
    except Exception as exc:  # noqa: BLE001 - nibabel raises many types for broken headers
        raise InputError(f"cannot read the NIfTI mask ({type(exc).__name__})") from None
    array = np.asarray(nii.dataobj)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise InputError(f"a NIfTI mask must be 2-D or 3-D, got shape {array.shape}")
    array = np.rint(array).astype(np.int64).transpose(2, 1, 0)  # (W, H, frames) -> (frames, H, W)
    return _check(_from_label_map(array, labels, default_label), _shape(image))


def read_dicom_seg(data: bytes, labels: Sequence[str], image: Any, default_label: str) -> dict[str, np.ndarray]:
    import highdicom as hd


    dataset = read_dataset(data, "the DICOM SEG")  # deflate inflated with a byte count
    geometry(dataset, "the DICOM SEG")  # declared frames x rows x columns within the limits
    try:
        seg = hd.seg.Segmentation.from_dataset(dataset, copy=False)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"cannot read the DICOM SEG ({type(exc).__name__})") from None
    frames, h, w = _shape(image)
    sources = list(getattr(image, "datasets", None) or [])
    lower = {label.lower(): label for label in labels}
    out: dict[str, np.ndarray] = {}
    for number in seg.segment_numbers:
        desc = seg.get_segment_description(number)
        label = lower.get(str(desc.segment_label).lower())
        if label is None:
            label = labels[number - 1] if number - 1 < len(labels) else default_label
        try:
            if len(sources) == 1 and frames > 1:
                pixels = seg.get_pixels_by_source_frame(
                    sources[0].SOPInstanceUID, source_frame_numbers=list(range(1, frames + 1)),
                    segment_numbers=[number], skip_overlap_checks=True)
            elif sources:
                pixels = seg.get_pixels_by_source_instance(
                    [ds.SOPInstanceUID for ds in sources], segment_numbers=[number], skip_overlap_checks=True)
            else:
                raise InputError("the image has no DICOM source to match the SEG frames to")
        except (KeyError, ValueError, AttributeError) as exc:
            raise InputError(f"the DICOM SEG does not reference this image ({exc})") from None
        mask = np.asarray(pixels)[..., 0] > 0
        out[label] = out.get(label, np.zeros((frames, h, w), bool)) | mask.reshape(frames, h, w)
    return _check(out, (frames, h, w))


def read_seg_over(data: bytes, sources: Sequence[Any]) -> dict[str, np.ndarray]:
    """A DICOM SEG's masks by segment label over these source datasets, ``(frames, H, W)`` bool,
    without a loaded image (e.g. to check a SEG just written)."""
    import highdicom as hd
    import pydicom

    try:
        seg = hd.seg.Segmentation.from_dataset(pydicom.dcmread(io.BytesIO(data)), copy=False)
        labels = [str(seg.get_segment_description(n).segment_label) for n in seg.segment_numbers]
    except Exception as exc:
        raise InputError(f"cannot read the DICOM SEG: {str(exc)[:160]}") from None
    first = sources[0]
    frames = len(sources) if len(sources) > 1 else int(first.get("NumberOfFrames", 1) or 1)
    image = SimpleNamespace(pixels=np.broadcast_to(np.uint8(0), (frames, int(first.Rows), int(first.Columns))),
                            datasets=list(sources))
    return read_dicom_seg(data, labels, image, labels[0])


def read_masks(data: bytes, name: str, labels: Sequence[str], image: Any, default_label: str | None = None) -> dict[str, np.ndarray]:
    """Sniff ``data`` (content first, then the name) and read it with the matching reader."""
    if not data:
        raise InputError(f"{name}: the file is empty")
    default_label = default_label or labels[0]
    head = data[:348]
    lower = name.lower()
    if head[128:132] == b"DICM" or lower.endswith(".dcm"):
        return read_dicom_seg(data, labels, image, default_label)
    if head[:2] == b"\x1f\x8b" or lower.endswith((".nii", ".nii.gz")) or head[344:348] in (b"n+1\x00", b"ni1\x00"):
        return read_nifti(data, labels, image, default_label)
    return read_png(data, labels, image, default_label)
