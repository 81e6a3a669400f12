"""GAN training steps, checkpoint/resume, export, the shared loop, and the augmentation study."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.synthesis.study import effects, run_study, stratified_subset, table_markdown
from core.synthesis.training import GanConfig, GanTrainer, diff_augment, run_loop

TINY = GanConfig(g_args={"img_size": 16, "n_classes": 2, "z_dim": 8, "channels": [16, 8, 8], "embed_dim": 4},
                 d_args={"n_classes": 2, "channels": [8, 16]}, labels=["a", "b"], batch_size=8)


def tiny_data(n: int = 24, size: int = 16):
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 2
    images = rng.random((n, size, size)).astype(np.float32) * 0.3 + labels[:, None, None] * 0.6
    return images, labels


def test_two_steps_give_finite_losses_and_change_weights():
    trainer = GanTrainer(TINY, *tiny_data())
    g0 = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    d0 = {k: v.clone() for k, v in trainer.D.state_dict().items()}
    for _ in range(2):
        losses = trainer.step()
        assert all(np.isfinite(v) for v in losses.values())
    assert any(not torch.equal(g0[k], v) for k, v in trainer.G.state_dict().items())
    assert any(not torch.equal(d0[k], v) for k, v in trainer.D.state_dict().items())
    assert trainer.log_point()["step"] == 2


def test_resume_continues_exactly(tmp_path):
    a = GanTrainer(TINY, *tiny_data())
    a.step(); a.step()
    a.save(tmp_path / "ckpt.safetensors")
    a.step()
    b = GanTrainer(TINY, *tiny_data())
    b.load(tmp_path / "ckpt.safetensors")
    assert b.step_count == 2
    b.step()
    for (k, va), vb in zip(a.G.state_dict().items(), b.G.state_dict().values()):
        assert torch.allclose(va, vb, atol=1e-6), k


def test_exported_generator_is_deterministic_and_batch_independent():
    from models.gan_nets import CondGenerator

    trainer = GanTrainer(TINY, *tiny_data())
    trainer.step()
    g = CondGenerator(**TINY.g_args)
    g.load_state_dict(trainer.export_generator(batches=2, batch_size=8))
    g.eval()
    z, y = torch.randn(4, 8), torch.tensor([0, 1, 0, 1])
    with torch.no_grad():
        full = g(z, y)
        assert torch.allclose(full[1:2], g(z[1:2], y[1:2]), atol=1e-6)
        assert full.min() >= -1 and full.max() <= 1


def test_diff_augment_keeps_shape_and_gradient():
    x = torch.rand(4, 1, 16, 16, requires_grad=True)
    out = diff_augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_loop_stops_on_cancel_and_checkpoints():
    trainer = GanTrainer(TINY, *tiny_data())
    saved = []
    result = run_loop(trainer, steps=100, max_seconds=60, checkpoint=lambda t: saved.append(t.step_count),
                      should_stop=lambda: trainer.step_count >= 2)
    assert result.stopped == "cancelled" and result.steps == 2 and saved == [2]
    result = run_loop(trainer, steps=100, max_seconds=0.0, checkpoint=lambda t: None)
    assert result.stopped == "time"


def test_stratified_subset_keeps_classes():
    labels = np.array([0] * 90 + [1] * 10)
    idx = stratified_subset(labels, 0.1, seed=0)
    assert np.bincount(labels[idx]).tolist() == [9, 4]  # at least 4 per class
    assert not np.array_equal(idx, stratified_subset(labels, 0.1, seed=1))


def test_tiny_augmentation_study_runs():
    x, y = tiny_data(40, 16)
    val = tiny_data(20, 16)
    net = {"in_channels": 1, "num_classes": 2, "widths": [4, 4, 4, 4], "blocks": [1, 1, 1, 1], "stem_stride": 1,
           "max_pool": False, "small_stem": True, "dropout": 0.0}
    calls = []

    def sampler(label, n, seed):
        calls.append((label, n))
        return np.full((n, 16, 16), 200 if label else 40, np.uint8)

    result = run_study(sampler, (x, y), val, fractions=[0.5], seeds=[0, 1], steps=1, batch_size=8,
                       net_args=net, log=lambda e: None)
    assert len(result["rows"]) == 3 and {r["arm"] for r in result["rows"]} == {"real", "classic", "gan"}
    gan_rows = [r for r in result["rows"] if r["arm"] == "gan"]
    assert all(r["n_synthetic"] == r["n_real"] for r in gan_rows)
    assert all(0 <= r["auc_mean"] <= 1 and len(r["auc"]) == 2 for r in result["rows"])
    assert calls and "| 50% | real |" in table_markdown(result)
    with pytest.raises(ValueError):
        run_study(sampler, (x, y), val, [1.0], [0], arms=("mixup",))


def test_effects_compare_each_arm_with_real_at_the_same_fraction():
    rows = [{"fraction": 0.1, "arm": "real", "auc_mean": 0.80, "auc_sd": 0.01, "acc_mean": 0.7, "acc_sd": 0.0},
            {"fraction": 0.1, "arm": "gan", "auc_mean": 0.85, "auc_sd": 0.01, "acc_mean": 0.75, "acc_sd": 0.0},
            {"fraction": 1.0, "arm": "real", "auc_mean": 0.90, "auc_sd": 0.02, "acc_mean": 0.8, "acc_sd": 0.0},
            {"fraction": 1.0, "arm": "gan", "auc_mean": 0.89, "auc_sd": 0.02, "acc_mean": 0.8, "acc_sd": 0.0},
            {"fraction": 1.0, "arm": "classic", "auc_mean": 0.80, "auc_sd": 0.01, "acc_mean": 0.7, "acc_sd": 0.0}]
    out = {(e["fraction"], e["arm"]): e for e in effects({"rows": rows})}
    assert set(out) == {(0.1, "gan"), (1.0, "gan"), (1.0, "classic")}
    assert out[(0.1, "gan")]["auc_gain"] == pytest.approx(0.05) and out[(0.1, "gan")]["verdict"] == "gain"
    assert out[(1.0, "gan")]["verdict"] == "within noise"
    assert out[(1.0, "classic")]["verdict"] == "loss"


def test_cli_rejects_unknown_recipes(capsys):
    from core.cli import main

    assert main(["train", "gan", "--model", "nope"]) == 2
    assert "unknown recipe" in capsys.readouterr().err
    assert main(["train", "augmentation-study", "--model", "nope"]) == 2
