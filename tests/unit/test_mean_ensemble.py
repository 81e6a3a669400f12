"""``mean_ensemble``: the mean of its members' logits, bounded, never nested."""

from __future__ import annotations

import pytest
import torch

import models  # noqa: F401  (registers the architectures)
from models.architectures import build_architecture

UNET = {"name": "monai_unet", "args": {"channels": [4, 8, 16], "strides": [2, 2], "num_res_units": 1}}


def test_output_is_the_mean_of_the_members_outputs() -> None:
    torch.manual_seed(0)
    ensemble = build_architecture("mean_ensemble", member=UNET, n=3).eval()
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        each = [member(x) for member in ensemble.members]
        assert not torch.allclose(each[0], each[1])  # members are distinct networks
        assert torch.allclose(ensemble(x), (each[0] + each[1] + each[2]) / 3, atol=1e-6)


def test_weights_are_one_state_dict_keyed_by_member() -> None:
    ensemble = build_architecture("mean_ensemble", member=UNET, n=2)
    single = build_architecture(UNET["name"], **UNET["args"])
    keys = set(ensemble.state_dict())
    assert keys == {f"members.{i}.{k}" for i in range(2) for k in single.state_dict()}


@pytest.mark.parametrize("member, n", [
    ({"name": "mean_ensemble", "args": {"member": UNET, "n": 2}}, 2),  # nested
    ({"name": "classifier_ensemble", "args": {"n_members": 2}}, 2),  # nested, through another ensemble
    ({"name": "no_such_net"}, 2),
    (UNET, 0),
    (UNET, 10_000),
    (UNET, "3"),
])
def test_a_hostile_card_cannot_ask_for_an_unbounded_or_nested_ensemble(member, n) -> None:
    with pytest.raises(ValueError):
        build_architecture("mean_ensemble", member=member, n=n)
