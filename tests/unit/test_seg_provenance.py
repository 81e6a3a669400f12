"""A DICOM SEG says SEMIAUTOMATIC (keeping the model's identification) after manual edits of a
model's mask, AUTOMATIC for an untouched model mask, MANUAL for a drawn one (issue #17 item 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.masks.maskset import MaskSet
from core.masks.provenance import seg_options


def _masks() -> MaskSet:
    return MaskSet(["lung", "lesion"], (1, 32, 32))


def test_model_then_brush_is_semiautomatic_and_keeps_the_model_name() -> None:
    masks = _masks()
    found = np.zeros((32, 32), bool)
    found[4:20, 4:20] = True
    masks.set("lung", 0, found, "model lungs-cxr")
    assert seg_options(masks.history, "lung") == {"algorithm": "lungs-cxr", "algorithm_type": "AUTOMATIC"}
    drawn = found.copy()
    drawn[20:24, 4:8] = True
    masks.set("lung", 0, drawn, "brush")
    assert seg_options(masks.history, "lung") == {"algorithm": "lungs-cxr", "algorithm_type": "SEMIAUTOMATIC"}
    masks.undo()  # the manual edit undone: automatic again
    assert seg_options(masks.history, "lung")["algorithm_type"] == "AUTOMATIC"
    assert seg_options(masks.history, "lesion")["algorithm_type"] == "MANUAL"


def test_seg_file_carries_the_algorithm_type(shared_data: Path) -> None:
    import highdicom as hd
    import pydicom

    from core.export.dicom_seg import build_seg

    ds = pydicom.dcmread(shared_data / "dicom" / "xray" / "gdcm-CR-MONO1-10-chest.dcm")
    mask = np.zeros((ds.Rows, ds.Columns), bool)
    mask[100:300, 60:200] = True
    seg = build_seg(mask, [ds], label="lung", algorithm="lungs-cxr", algorithm_type="SEMIAUTOMATIC")
    segment = seg.SegmentSequence[0]
    assert segment.SegmentAlgorithmType == "SEMIAUTOMATIC"
    assert segment.SegmentAlgorithmName == "lungs-cxr"
    manual = build_seg(mask, [ds], label="lung", algorithm_type="MANUAL").SegmentSequence[0]
    assert manual.SegmentAlgorithmType == "MANUAL"
    assert isinstance(seg, hd.seg.Segmentation)
