"""One zip with every export of one image or a whole labeling session.

Layout (``<image>`` is a file-system-safe image name, unique within the zip)::

    manifest.json                      what is inside, labels/colours, sizes, skipped parts and why
    annotations.coco.json              COCO (RLE) for all images, categories = labels
    <image>/masks/<label>.png          0/255 PNG per label (per frame: <label>_frame<i>.png)
    <image>/labelmap.nii.gz            NIfTI label map (0 = background, i = labels[i-1]; later
                                       labels win where they overlap), the source's affine
    <image>/seg_<label>.dcm            DICOM SEG per label, referencing the source DICOM images
                                       (only for DICOM sources)

PNG, NIfTI and DICOM SEG come from ``core.export.png`` / ``nifti`` / ``dicom_seg``.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from core.errors import InputError, MedLensError
from core.export.coco import build_coco
from core.export.dicom_seg import seg_bytes
from core.export.nifti import mask_nifti_image
from core.export.png import mask_png_bytes


@dataclass
class ExportItem:
    """One image and its masks ``{label: (frames, H, W) bool}``."""

    name: str
    image: Any  # core.imaging.MedImage
    masks: dict[str, np.ndarray]
    status: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def safe_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "image"
    return stem[:80]


def unique_names(names: Sequence[str]) -> list[str]:
    """``safe_name`` of each name, made unique (``x``, ``x_2``, ...) ignoring case, so that zip
    members never share a name (two images called ``scan.dcm``, labels ``lung left`` and
    ``lung_left``) and nothing overwrites anything on unzip, even on a case-insensitive disk."""
    used: set[str] = set()
    out = []
    for name in names:
        stem = safe_name(name)
        base, k = stem, 2
        while base.casefold() in used:
            base, k = f"{stem}_{k}", k + 1
        used.add(base.casefold())
        out.append(base)
    return out


def label_map(masks: dict[str, np.ndarray], labels: Sequence[str], shape: tuple[int, int, int]) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    for i, label in enumerate(labels):
        if label in masks:
            out[np.asarray(masks[label], bool).reshape(shape)] = i + 1
    return out


def label_map_nifti_bytes(masks: dict[str, np.ndarray], labels: Sequence[str], image: Any) -> bytes:
    """``.nii.gz`` of the label map in the image's voxel grid (geometry from ``mask_nifti_image``)."""
    import nibabel as nib

    frames, h, w = np.shape(image.pixels)[:3]
    lm = label_map(masks, labels, (frames, h, w))
    ref = mask_nifti_image(lm > 0, affine=getattr(image, "affine", None), spacing=image.spacing,
                           slice_spacing=getattr(image, "slice_spacing", None))
    nii = nib.Nifti1Image(lm.transpose(2, 1, 0), ref.affine)
    nii.header.set_intent("label", name="MedLens labels")
    nii.header["descrip"] = (" ".join(f"{i + 1}={label}" for i, label in enumerate(labels)))[:79].encode()
    raw = io.BytesIO()
    nii.to_file_map(nii.make_file_map({"image": raw, "header": raw}))
    return gzip.compress(raw.getvalue())


def _frames(mask: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    return np.asarray(mask, bool).reshape(shape)


def build_bundle(items: Sequence[ExportItem], labels: Sequence[str], colours: Sequence[str] | None = None,
                 session: dict[str, Any] | None = None, deidentify: bool = False) -> bytes:
    """The zip (bytes) described in the module docstring. ``deidentify``: DICOM SEGs get the
    PS3.15 Basic Profile and images are named ``image001``... instead of by their file names."""
    if not items:
        raise InputError("nothing to export: no images")
    buffer = io.BytesIO()
    manifest: dict[str, Any] = {
        "format": "medlens-export/1",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(),
        "labels": [{"value": i + 1, "name": label, "colour": (colours or [None] * len(labels))[i]}
                   for i, label in enumerate(labels)],
        "session": session or {},
        "coco": "annotations.coco.json",
        "images": [],
    }
    coco_items = []
    folders = ([f"image{index + 1:03d}" for index in range(len(items))] if deidentify
               else unique_names([item.name for item in items]))
    label_files = dict(zip(labels, unique_names(labels)))
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for item, base in zip(items, folders):
            frames, h, w = (int(s) for s in np.shape(item.image.pixels)[:3])
            masks = {label: _frames(item.masks[label], (frames, h, w)) for label in labels if label in item.masks}
            entry: dict[str, Any] = {
                "name": base if deidentify else item.name, "folder": base, "shape": [frames, h, w],
                "spacing_mm": list(item.image.spacing) if item.image.spacing else None,
                "modality": getattr(item.image, "modality", ""), "status": item.status,
                "labels": {}, "files": [], "skipped": [], **item.extra,
            }
            for label, mask in masks.items():
                entry["labels"][label] = {"pixels": int(mask.sum()),
                                          "frames_with_mask": [int(f) for f in np.flatnonzero(mask.any(axis=(1, 2)))]}
                for f in range(frames):
                    path = f"{base}/masks/{label_files[label]}{'' if frames == 1 else f'_frame{f}'}.png"
                    zf.writestr(path, mask_png_bytes(mask[f]))
                    entry["files"].append(path)
            path = f"{base}/labelmap.nii.gz"
            zf.writestr(path, label_map_nifti_bytes(masks, labels, item.image))
            entry["files"].append(path)
            sources = list(getattr(item.image, "datasets", None) or [])
            for label, mask in masks.items():
                if not sources:
                    entry["skipped"].append({"file": f"seg_{label}.dcm", "reason": "not a DICOM source"})
                    break
                if not mask.any():
                    entry["skipped"].append({"file": f"seg_{label}.dcm", "reason": "empty mask"})
                    continue
                try:
                    data = seg_bytes(mask, list(sources), label=label, deidentify=deidentify)
                except (MedLensError, ValueError, TypeError, AttributeError) as exc:
                    entry["skipped"].append({"file": f"seg_{label}.dcm", "reason": str(exc).splitlines()[0][:200]})
                    continue
                path = f"{base}/seg_{label_files[label]}.dcm"
                zf.writestr(path, data)
                entry["files"].append(path)
            manifest["images"].append(entry)
            coco_items.append((base if deidentify else item.name, masks))
        zf.writestr("annotations.coco.json", json.dumps(build_coco(coco_items, labels, "rle")))
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
        members = [n.casefold() for n in zf.namelist()]
    if len(set(members)) != len(members):  # a bug, never the user's input: refuse rather than ship it
        raise RuntimeError("export zip would hold duplicate member names")
    return buffer.getvalue()


def session_items(store: Any, session_id: int, user: str | None = None, admin: bool = False) -> Iterable[ExportItem]:
    """``ExportItem``s of every image of a labeling session that ``user`` sees (all without a user)."""
    for record, image, masks in store.iter_session(session_id, user, admin):
        yield ExportItem(record.name, image, masks, record.status,
                         {"annotator": record.annotator, "uncertainty": record.uncertainty})
