"""The variety options of GAN training: colour DiffAugment, minibatch-std discriminator, mode-seeking term."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from core.synthesis.training import GanConfig, GanTrainer, diff_augment, mode_seeking_penalty
from models.gan_nets import ProjectionDiscriminator, minibatch_std
from tests.unit.test_synthesis_training import TINY, tiny_data


def test_colour_augment_changes_brightness_and_keeps_gradient():
    x = torch.zeros(64, 1, 16, 16, requires_grad=True)
    plain = diff_augment(x, torch.Generator().manual_seed(0), cutout=0.0625)
    coloured = diff_augment(x, torch.Generator().manual_seed(0), cutout=0.0625, colour=True)
    assert plain.abs().max() == 0  # translation + cutout of a black image stay black
    means = coloured.detach().mean(dim=(1, 2, 3))
    assert means.min() < -0.2 and means.max() > 0.2  # brightness shifts spread over [-0.5, 0.5]
    coloured.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_minibatch_std_is_zero_for_identical_images_and_positive_otherwise():
    same = torch.ones(8, 3, 4, 4)
    assert torch.allclose(minibatch_std(same, 4), torch.full((8, 1, 4, 4), 1e-4), atol=1e-5)
    varied = torch.randn(8, 3, 4, 4)
    out = minibatch_std(varied, 4)
    assert out.shape == (8, 1, 4, 4) and (out > 0.3).all()
    # images i and i + 2 form a group when the group is 4 of 8: changing image 0 changes 0, 2, 4, 6 only
    changed = varied.clone()
    changed[0] += 5
    diff = (minibatch_std(changed, 4) - out).abs().amax(dim=(1, 2, 3))
    assert (diff[[0, 2, 4, 6]] > 0).all() and (diff[[1, 3, 5, 7]] == 0).all()
    assert minibatch_std(varied[:3], 4).shape == (3, 1, 4, 4)  # not a multiple: one group


def test_discriminator_with_minibatch_std_scores_each_image():
    d = ProjectionDiscriminator(2, [8, 16], mbstd_group=4)
    out = d(torch.randn(8, 1, 16, 16), torch.tensor([0, 1] * 4))
    assert out.shape == (8,) and torch.isfinite(out).all()


def test_mode_seeking_penalty_is_large_for_collapsed_samples():
    z = torch.randn(8, 8)
    collapsed = torch.zeros(8, 1, 4, 4, requires_grad=True)
    varied = torch.randn(8, 1, 4, 4)
    assert mode_seeking_penalty(collapsed, z) > 1000 * mode_seeking_penalty(varied, z)
    assert mode_seeking_penalty(torch.zeros(1, 1, 4, 4), z[:1]) == 0


def test_training_with_all_variety_options_runs_and_resumes(tmp_path):
    config = dataclasses.replace(TINY, diffaug_colour=True, mode_seeking=1.0,
                                 d_args={**TINY.d_args, "mbstd_group": 4})
    a = GanTrainer(config, *tiny_data())
    for _ in range(2):
        assert all(np.isfinite(v) for v in a.step().values())
    a.save(tmp_path / "ckpt.safetensors")
    a.step()
    b = GanTrainer(config, *tiny_data())
    b.load(tmp_path / "ckpt.safetensors")
    b.step()
    for (k, va), vb in zip(a.G.state_dict().items(), b.G.state_dict().values()):
        assert torch.allclose(va, vb, atol=1e-6), k


def test_recipe_without_the_options_keeps_them_off():
    recipe = {"g_args": TINY.g_args, "d_args": TINY.d_args, "labels": ["a", "b"], "batch_size": 8, "lr_g": 2e-4,
              "lr_d": 2e-4, "betas": [0.5, 0.999], "ema_decay": 0.998, "diffaug": True}
    config = GanConfig.from_recipe(recipe)
    assert not config.diffaug_colour and config.mode_seeking == 0.0
    config = GanConfig.from_recipe({**recipe, "diffaug_colour": True, "mode_seeking": 0.5})
    assert config.diffaug_colour and config.mode_seeking == 0.5


def test_overrides_change_only_the_variety_options_and_repeat_as_flags():
    from core.synthesis.data import RECIPES
    from core.synthesis.training import override_flags, with_overrides

    base = RECIPES["breast-cgan"]
    out = with_overrides(base, {"diffaug_colour": False, "mode_seeking": 0.5, "mbstd_group": 4})
    assert out["d_args"]["mbstd_group"] == 4 and "mbstd_group" not in base["d_args"]
    assert out["mode_seeking"] == 0.5 and out["diffaug_colour"] is False
    assert with_overrides(base, {"mode_seeking": None}) == base
    assert override_flags({"diffaug_colour": True, "mode_seeking": 1.0, "mbstd_group": None}) == \
        " --diffaug-colour on --mode-seeking 1"
    assert override_flags({}) == ""
    with pytest.raises(ValueError):
        with_overrides(base, {"lr_d": 1.0})


def test_cli_refuses_out_of_range_options(capsys):
    from core.cli import main

    assert main(["train", "gan", "--model", "breast-cgan", "--mode-seeking", "-1"]) != 0
    err = capsys.readouterr().err
    assert "--mode-seeking" in err and "Traceback" not in err
