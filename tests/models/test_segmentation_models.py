"""Shared model checks over every segmentation model, plus quality and command-line checks
on a few validation images of ../shared/data/seg (skipped when the data is missing)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from core import cache
from core.registry import ModelSpec
from core.segmentation.inference import predict_proba
from core.segmentation.service import evaluate, segment
from core.segmentation.metrics import dice_iou
from tests.models.base import BaseModelTester

N_CHECK = 3  # validation images per model for the quality check (keeps the suite fast)


class SegmentationModelTester(BaseModelTester):
    """Segmentation: one logit map of the input's spatial size; any size through inference."""

    min_val_dice: float = 0.5

    def check_output(self, spec: ModelSpec, inputs: torch.Tensor, output: torch.Tensor) -> None:
        assert output.shape == (inputs.shape[0], 1, *inputs.shape[-2:])
        probs = torch.sigmoid(output)
        assert torch.isfinite(probs).all() and probs.min() >= 0 and probs.max() <= 1

    @pytest.mark.parametrize("shape", [(97, 131), (512, 384), (300, 200, 3)])
    def test_any_size_and_channels_through_inference(self, spec: ModelSpec, shape) -> None:
        image = np.random.default_rng(1).random(shape).astype(np.float32) * 255
        prob = predict_proba(cache.get_model(spec.name, "cpu"), image, spec.preprocessing)
        assert prob.shape == shape[:2]
        assert prob.min() >= 0 and prob.max() <= 1

    def _val_cases(self, spec: ModelSpec, shared_data: Path):
        source = spec.card.data["sources"][0]
        folder = shared_data / "seg" / source["dataset"]
        stems = spec.card.split[source["dataset"]]["val"][:N_CHECK]
        return folder, source["masks"], stems

    def test_quality_on_validation_images(self, spec: ModelSpec, shared_data: Path) -> None:
        from core.segmentation.data import load_cases

        folder, masks, stems = self._val_cases(spec, shared_data)
        scores = [dice_iou(segment(spec.name, img).mask, truth)[0] for _, img, truth in load_cases(folder, masks, stems)]
        assert np.mean(scores) >= self.min_val_dice, scores

    @pytest.mark.slow
    def test_evaluate_command_matches_library(self, spec: ModelSpec, shared_data: Path, tmp_path: Path, capsys) -> None:
        from core.cli import main

        folder, masks, stems = self._val_cases(spec, shared_data)
        (tmp_path / "images").mkdir()
        (tmp_path / "masks").mkdir()
        for stem in stems[:2]:
            shutil.copy(folder / "images" / f"{stem}.png", tmp_path / "images")
            shutil.copy(folder / masks / f"{stem}.png", tmp_path / "masks")
        code = main(["evaluate", "segmentation", "--model", spec.name,
                     "--images", str(tmp_path / "images"), "--masks", str(tmp_path / "masks")])
        assert code == 0
        printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert set(printed) == {"model", "dice", "iou", "n"}
        library = evaluate(spec.name, tmp_path / "images", tmp_path / "masks")
        assert printed["n"] == 2
        assert printed["dice"] == pytest.approx(library["dice"]) and printed["iou"] == pytest.approx(library["iou"])

    @pytest.mark.slow
    def test_evaluate_command_prints_the_card_figures(self, spec: ModelSpec, shared_data: Path, tmp_path: Path,
                                                      capsys) -> None:
        """``evaluate segmentation`` on the card's whole validation split of its first data set prints the
        card's Dice/IoU (to the card's 4 decimals)."""
        from core.cli import main

        source = spec.card.data["sources"][0]
        folder = shared_data / "seg" / source["dataset"]
        for kind, sub in (("images", "images"), ("masks", source["masks"])):
            (tmp_path / kind).mkdir()
            for stem in spec.card.split[source["dataset"]]["val"]:
                shutil.copy(folder / sub / f"{stem}.png", tmp_path / kind)
        assert main(["evaluate", "segmentation", "--model", spec.name,
                     "--images", str(tmp_path / "images"), "--masks", str(tmp_path / "masks")]) == 0
        printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        metrics = spec.card.metrics
        assert printed["n"] == metrics[f"val_n_{source['dataset']}"]
        card_rounding = 5e-5 + 1e-9  # the card keeps 4 decimals
        assert printed["dice"] == pytest.approx(metrics[f"val_dice_{source['dataset']}"], abs=card_rounding)
        assert printed["iou"] == pytest.approx(metrics[f"val_iou_{source['dataset']}"], abs=card_rounding)


class TestLungsCxr(SegmentationModelTester):
    model_name = "lungs-cxr"
    min_val_dice = 0.85

    def test_segment_cr_to_dicom_seg(self, shared_data: Path, tmp_path: Path) -> None:
        """A MONOCHROME1 chest CR -> SEG that highdicom reads back, referencing the source,
        covering a plausible lung area."""
        import highdicom as hd
        import pydicom

        from core.cli import main
        from core.masks.io import read_seg_over

        source = shared_data / "dicom" / "xray" / "gdcm-CR-MONO1-10-chest.dcm"
        out = tmp_path / "lungs.dcm"
        assert main(["segment", str(source), "--model", "lungs-cxr", "--out", str(out)]) == 0
        ds = pydicom.dcmread(source)
        seg = hd.seg.segread(str(out))
        assert ds.SOPInstanceUID in [uids[2] for uids in seg.get_source_image_uids()]
        mask = next(iter(read_seg_over(out.read_bytes(), [ds]).values()))[0]
        assert mask.shape == (ds.Rows, ds.Columns)
        assert 0.15 < mask.mean() < 0.6
        halves = mask[:, : mask.shape[1] // 2].sum(), mask[:, mask.shape[1] // 2 :].sum()
        assert min(halves) > 0.3 * max(halves), "both lungs should be found"


    @pytest.mark.parametrize("suffix", [".png", ".nii.gz"])
    def test_segment_command_writes_masks(self, shared_data: Path, tmp_path: Path, suffix: str, capsys) -> None:
        from core.cli import main
        from core.imaging import load

        source = shared_data / "seg" / "v7_covid_lung" / "images"
        image = sorted(source.glob("*.png"))[0]
        out = tmp_path / f"mask{suffix}"
        assert main(["segment", str(image), "--model", "lungs-cxr", "--out", str(out)]) == 0
        printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        mask = load(str(out)).frame(0) > 0
        assert mask.shape == load(str(image)).frame(0).shape[:2] == tuple(printed["shape"])
        assert 0.1 < mask.mean() < 0.7

    def test_segment_command_bad_input_exits_2(self, shared_data: Path, tmp_path: Path, capsys) -> None:
        from core.cli import main

        image = sorted((shared_data / "seg" / "v7_covid_lung" / "images").glob("*.png"))[0]
        assert main(["segment", str(image), "--model", "lungs-cxr", "--out", str(tmp_path / "x.dcm")]) == 2
        assert main(["segment", str(image), "--model", "lungs-cxr", "--out", str(tmp_path / "x.jpg")]) == 2
        assert main(["segment", str(image), "--model", "no-such-model", "--out", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 3 and all(line.startswith("error:") for line in err)


class TestOpacityCxr(SegmentationModelTester):
    model_name = "opacity-cxr"
    min_val_dice = 0.2

    def _val_cases(self, spec, shared_data):  # cases with some opacity
        folder, masks, stems = super()._val_cases(spec, shared_data)
        from core.segmentation.data import read_png

        with_opacity = [s for s in spec.card.split["covid_cxr_seg"]["val"]
                        if (read_png(folder / masks / f"{s}.png") > 127).any()]
        return folder, masks, with_opacity[:N_CHECK]


class TestOpacityCxrLite0(TestOpacityCxr):
    model_name = "opacity-cxr-lite0"


class TestOpacityCxrEnsemble(TestOpacityCxr):
    model_name = "opacity-cxr-ensemble"

    def test_is_the_mean_of_its_members(self, spec: ModelSpec) -> None:
        """The committed ensemble's logits are the mean of its members'; the first member is opacity-cxr's
        weights as stored (float16)."""
        ensemble = cache.get_model(spec.name, "cpu")
        x = torch.rand(1, 1, 256, 256, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            each = torch.stack([member(x) for member in ensemble.members])
            assert torch.allclose(ensemble(x), each.mean(0), atol=1e-5)
        single = cache.get_model("opacity-cxr", "cpu").state_dict()
        for key, value in ensemble.members[0].state_dict().items():
            expected = single[key].half().float() if single[key].is_floating_point() else single[key]
            assert torch.equal(value, expected), key


class TestPolypEndoscopy(SegmentationModelTester):
    model_name = "polyp-endoscopy"
    min_val_dice = 0.6


class TestPolypEndoscopyLite0(TestPolypEndoscopy):
    model_name = "polyp-endoscopy-lite0"
    min_val_dice = 0.85

