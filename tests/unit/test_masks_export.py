"""Exports round-trip (zip bundle, DICOM SEG, NIfTI affine) and masks import (PNG, NIfTI, SEG);
``python -m core segment ... --out OUT.dcm`` on a chest CR."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
import pytest
from PIL import Image

from core.errors import InputError
from core.export.bundle import ExportItem, build_bundle, label_map_nifti_bytes
from core.export.coco import decode_annotation
from core.export.dicom_seg import seg_bytes
from core.export.nifti import mask_nifti_bytes
from core.export.png import mask_png_bytes
from core.imaging import MedImage, load
from core.masks.io import read_masks

REPO = Path(__file__).resolve().parents[2]
CT_SERIES = REPO / "examples" / "ct_chest_3slice_series.zip"
CXR = REPO / "examples" / "chest_cr_mono1_j2k.dcm"


@pytest.fixture(scope="module")
def ct():
    if not CT_SERIES.exists():
        pytest.skip("example CT series missing")
    return load(CT_SERIES)


def _masks(shape):
    lung = np.zeros(shape, bool)
    lung[:, 10:40, 10:30] = True
    opacity = np.zeros(shape, bool)
    opacity[-1, 20:25, 15:20] = True
    return {"lung": lung, "opacity": opacity}


def test_bundle_holds_every_format_and_they_round_trip(ct):
    masks = _masks(ct.pixels.shape[:3])
    data = build_bundle([ExportItem("ct series", ct, masks, "done")], ["lung", "opacity"], ["#00ff00", "#ff0000"],
                        {"name": "test"})
    zf = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(zf.read("manifest.json"))
    entry = manifest["images"][0]
    folder = entry["folder"]
    assert manifest["labels"][1] == {"value": 2, "name": "opacity", "colour": "#ff0000"}
    assert entry["labels"]["lung"]["pixels"] == int(masks["lung"].sum()) and entry["skipped"] == []
    frames = ct.pixels.shape[0]
    png = np.asarray(Image.open(io.BytesIO(zf.read(f"{folder}/masks/lung_frame{frames - 1}.png"))))
    assert np.array_equal(png > 0, masks["lung"][-1]) and set(np.unique(png)) == {0, 255}
    nii = nib.Nifti1Image.from_bytes(__import__("gzip").decompress(zf.read(f"{folder}/labelmap.nii.gz")))
    labelmap = np.asarray(nii.dataobj).transpose(2, 1, 0)
    assert np.array_equal(labelmap == 1, masks["lung"] & ~masks["opacity"]) and (labelmap == 2).sum() == 25
    assert ct.affine is not None and np.allclose(nii.affine, ct.affine)  # the source's affine is kept
    for label in ("lung", "opacity"):
        seg = hd.seg.Segmentation.from_dataset(pydicom.dcmread(io.BytesIO(zf.read(f"{folder}/seg_{label}.dcm"))))
        pixels = seg.get_pixels_by_source_instance([ds.SOPInstanceUID for ds in ct.datasets],
                                                   skip_overlap_checks=True)[..., 0] > 0
        assert np.array_equal(pixels, masks[label])
        referenced = {item.ReferencedSOPInstanceUID for series in seg.ReferencedSeriesSequence
                      for item in series.ReferencedInstanceSequence}
        assert referenced == {ds.SOPInstanceUID for ds in ct.datasets}
    coco = json.loads(zf.read("annotations.coco.json"))
    assert len(coco["images"]) == frames
    ann = next(a for a in coco["annotations"] if a["category_id"] == 2)
    assert np.array_equal(decode_annotation(ann, *masks["lung"].shape[1:]), masks["opacity"][-1])


def test_bundle_of_a_raster_image_skips_seg_with_a_reason():
    image = MedImage(pixels=np.zeros((1, 20, 30), np.float32), name="x.png")
    data = build_bundle([ExportItem("x.png", image, _masks((1, 20, 30)))], ["lung", "opacity"])
    entry = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))["images"][0]
    assert entry["skipped"][0]["reason"] == "not a DICOM source"
    nii = nib.Nifti1Image.from_bytes(__import__("gzip").decompress(label_map_nifti_bytes(_masks((1, 20, 30)), ["lung"], image)))
    assert np.allclose(np.diag(nii.affine), [1, 1, 1, 1])
    with pytest.raises(InputError):
        build_bundle([], ["lung"])


def test_import_png_binary_and_label_map():
    image = MedImage(pixels=np.zeros((1, 20, 30), np.float32))
    mask = np.zeros((20, 30), bool)
    mask[2:8, 3:9] = True
    out = read_masks(mask_png_bytes(mask), "m.png", ["lung", "opacity"], image, "opacity")
    assert list(out) == ["opacity"] and np.array_equal(out["opacity"][0], mask)
    lm = np.zeros((20, 30), np.uint8)
    lm[0:5] = 1
    lm[10:12] = 2
    buf = io.BytesIO()
    Image.fromarray(lm).save(buf, format="PNG")
    out = read_masks(buf.getvalue(), "labels.png", ["lung", "opacity"], image)
    assert out["lung"][0].sum() == 150 and out["opacity"][0].sum() == 60
    with pytest.raises(InputError):
        read_masks(mask_png_bytes(np.zeros((5, 5), bool)), "small.png", ["lung"], image)
    with pytest.raises(InputError):
        read_masks(b"not an image", "x.png", ["lung"], image)


def test_import_nifti_written_by_the_exporter():
    image = MedImage(pixels=np.zeros((3, 20, 30), np.float32))
    volume = _masks((3, 20, 30))["lung"]
    out = read_masks(mask_nifti_bytes(volume), "m.nii.gz", ["lung"], image)
    assert np.array_equal(out["lung"], volume)


def test_import_dicom_seg_by_segment_name(ct):
    masks = _masks(ct.pixels.shape[:3])
    data = seg_bytes(masks["opacity"], list(ct.datasets), label="opacity")
    out = read_masks(data, "seg.dcm", ["lung", "opacity"], ct)
    assert list(out) == ["opacity"] and np.array_equal(out["opacity"], masks["opacity"])


def test_segment_command_writes_a_dicom_seg_of_the_lungs(tmp_path):
    from core.registry import get_spec, reload

    reload()
    try:
        spec = get_spec("lungs-cxr")
    except KeyError:
        pytest.skip("lungs-cxr is not registered")
    if not (spec.weights and spec.weights.exists()) or not CXR.exists():
        pytest.skip("lungs-cxr weights or the chest CR example are missing")
    out = tmp_path / "lungs.dcm"
    proc = subprocess.run([sys.executable, "-m", "core", "segment", str(CXR), "--model", "lungs-cxr", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    source = pydicom.dcmread(CXR)
    seg = hd.seg.segread(str(out))
    referenced = [item.ReferencedSOPInstanceUID for series in seg.ReferencedSeriesSequence
                  for item in series.ReferencedInstanceSequence]
    assert referenced == [source.SOPInstanceUID]
    mask = np.asarray(seg.get_pixels_by_source_instance([source.SOPInstanceUID], skip_overlap_checks=True))[0, ..., 0] > 0
    assert mask.shape == (source.Rows, source.Columns)
    share = mask.mean()
    assert 0.10 < share < 0.60, f"lungs cover {share:.1%} of a chest radiograph"
    left, right = mask[:, : mask.shape[1] // 2].sum(), mask[:, mask.shape[1] // 2:].sum()
    assert min(left, right) > 0.3 * max(left, right), "both lungs should be found"


def test_bundle_never_repeats_a_member_name() -> None:
    """Images sharing a name (also by case) and labels that sanitise alike get distinct members."""
    labels = ["lung left", "lung_left", "Lung_Left"]
    items = []
    for i, name in enumerate(["scan.png", "scan.png", "SCAN.png", "scan.png_2", "scan.png"]):
        image = MedImage(pixels=np.full((1, 8, 8), i, np.float32), name=name)
        masks = {label: np.zeros((1, 8, 8), bool) for label in labels}
        masks["lung left"][0, i, i] = True
        items.append(ExportItem(name, image, masks, "done"))
    data = build_bundle(items, labels)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        assert len({n.casefold() for n in names}) == len(names)
        folders = [entry["folder"] for entry in manifest["images"]]
        assert len({f.casefold() for f in folders}) == 5
        for i, entry in enumerate(manifest["images"]):  # each folder holds its own image's mask
            png = next(f for f in entry["files"] if f.endswith("/masks/lung_left.png"))
            assert np.asarray(Image.open(io.BytesIO(zf.read(png))))[i, i] > 0
