"""Training of the class-conditional GANs (``python -m core train gan``) and of user GANs.

Recipe and data (``core.synthesis.data``) -> ``GanTrainer`` (hinge loss, spectral-norm
projection discriminator, TTUR Adam, differentiable augmentation of real and fake images
for small data sets (Zhao et al. 2020), class-balanced real batches, an EMA of the generator)
-> ``export_generator`` (EMA weights with "standing" batch-norm statistics recomputed over
many random batches, so eval-mode sampling is deterministic and independent of the batch)
-> ``write_gan_card``. ``run_loop`` is the one loop shared by the command line and the page's
background jobs: bounded by steps and wall time, checkpointing as it goes, cancellable.

Images are ``(N, H, W)`` float32 in [0, 1]; the networks see ``2x - 1``. Labels are the data
set's own coding (PneumoniaMNIST 0 = normal / 1 = pneumonia; BreastMNIST 0 = malignant /
1 = normal/benign), so an exported npz drops into the shared files' layout.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from core.cache import device_of, load_model, resolve_device
from core.paths import ensure_private_dir, write_private
from core.registry import list_models, parse_card
from core.synthesis import quality
from core.synthesis.data import RECIPES, load_gan_data
from core.synthesis.generate import sample_model
from core.trainloop import hardware, save_model, training_device, write_card
from models.gan_nets import CondGenerator, ProjectionDiscriminator

@dataclass
class GanConfig:
    """Everything a GAN training run needs besides the data.

    Args:
        g_args / d_args: arguments of ``cond_generator`` / ``proj_discriminator``.
        labels: class names, index = label value.
        batch_size: images per step (real and fake each).
        lr_g / lr_d / betas: Adam settings (the committed recipes use setting C of Miyato et al. 2018 for
            one discriminator step per generator step: lr 2e-4, betas 0.5 / 0.999).
        ema_decay: decay of the generator's exponential moving average (the exported weights).
        diffaug: random translation + cutout on every image the discriminator sees.
        diffaug_colour: also a random brightness and contrast change (DiffAugment's "color" for one channel).
        mode_seeking: weight of the mode-seeking term (Mao et al. 2019): the generator is penalised by
            ``1 / (|G(z1) - G(z2)| / |z1 - z2|)`` for pairs of latents with the same class, so different
            latents give different images (0 = off).
        seed: seeds the networks, the sampling of batches and the augmentation.
    """

    g_args: dict[str, Any]
    d_args: dict[str, Any]
    labels: list[str]
    batch_size: int = 32
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    ema_decay: float = 0.998
    diffaug: bool = True
    diffaug_colour: bool = False
    mode_seeking: float = 0.0
    seed: int = 0

    @classmethod
    def from_recipe(cls, recipe: dict[str, Any], seed: int = 0) -> "GanConfig":
        keys = ("g_args", "d_args", "labels", "batch_size", "lr_g", "lr_d", "betas", "ema_decay", "diffaug")
        optional = {k: recipe[k] for k in ("diffaug_colour", "mode_seeking") if k in recipe}
        return cls(**{k: recipe[k] for k in keys}, **optional, seed=seed)


def diff_augment(x: torch.Tensor, generator: torch.Generator, shift: float = 0.125, cutout: float = 0.25,
                 colour: bool = False) -> torch.Tensor:
    """Differentiable translation (+-``shift`` of the side, zero padding) and one cutout square;
    with ``colour`` first a brightness shift in [-0.5, 0.5] and a contrast factor in [0.5, 1.5]
    (images in [-1, 1]), as DiffAugment's "color" policy does for one channel."""
    b, _, h, w = x.shape
    if colour:
        brightness = torch.rand(b, 1, 1, 1, generator=generator).to(x.device, x.dtype) - 0.5
        contrast = torch.rand(b, 1, 1, 1, generator=generator).to(x.device, x.dtype) + 0.5
        x = x + brightness
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * contrast + mean
    max_dy, max_dx = max(1, int(h * shift)), max(1, int(w * shift))
    dy = torch.randint(-max_dy, max_dy + 1, (b,), generator=generator).float()
    dx = torch.randint(-max_dx, max_dx + 1, (b,), generator=generator).float()
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2], theta[:, 1, 2] = -2 * dx / w, -2 * dy / h
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    ch, cw = max(1, int(h * cutout)), max(1, int(w * cutout))
    cy = torch.randint(0, h - ch + 1, (b,), generator=generator)
    cx = torch.randint(0, w - cw + 1, (b,), generator=generator)
    rows, cols = torch.arange(h)[None, :], torch.arange(w)[None, :]
    inside = ((rows >= cy[:, None]) & (rows < cy[:, None] + ch))[:, :, None] & (
        (cols >= cx[:, None]) & (cols < cx[:, None] + cw))[:, None, :]
    return x * (~inside).to(x.device, x.dtype)[:, None]


def mode_seeking_penalty(fake: torch.Tensor, z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """MSGAN's term: ``1 / (mean|x1 - x2| / mean|z1 - z2| + eps)`` over the pairs (first half, second half)."""
    half = len(z) // 2
    if half == 0:
        return fake.new_zeros(())
    ratio = (fake[:half] - fake[half:2 * half]).abs().mean() / (z[:half] - z[half:2 * half]).abs().mean()
    return 1.0 / (ratio + eps)


def _flatten_optimizer(prefix: str, optimiser: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    out = {}
    for index, state in optimiser.state_dict()["state"].items():
        for key, value in state.items():
            out[f"{prefix}.{index}.{key}"] = torch.as_tensor(value).contiguous()
    return out


def _restore_optimizer(prefix: str, optimiser: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    state_dict = optimiser.state_dict()
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    state_dict["state"] = state
    optimiser.load_state_dict(state_dict)


class GanTrainer:
    """One conditional GAN being trained: networks, optimisers, EMA, data sampler, history."""

    def __init__(self, config: GanConfig, images01: np.ndarray, labels: np.ndarray, device: str | None = None) -> None:
        if images01.ndim != 3 or len(images01) != len(labels) or len(images01) == 0:
            raise ValueError("images must be (N, H, W) with one label each")
        self.config, self.device = config, training_device(device)
        torch.manual_seed(config.seed)
        self.G = CondGenerator(**config.g_args).to(self.device)
        self.D = ProjectionDiscriminator(**config.d_args).to(self.device)
        self.G_ema = CondGenerator(**config.g_args).to(self.device)
        self.G_ema.load_state_dict(self.G.state_dict())
        self.G_ema.eval()
        betas = tuple(float(b) for b in config.betas)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr_d, betas=betas)
        self.images = torch.from_numpy(np.ascontiguousarray(images01, np.float32))[:, None] * 2 - 1
        self.labels = np.asarray(labels).astype(int).ravel()
        self.by_class = [np.flatnonzero(self.labels == c) for c in range(config.g_args["n_classes"])]
        self.present = [c for c, idx in enumerate(self.by_class) if len(idx)]
        self.rng = np.random.default_rng(config.seed)
        self.torch_gen = torch.Generator().manual_seed(config.seed)
        self.step_count = 0
        self.history: list[dict[str, float]] = []
        self._acc: dict[str, list[float]] = {}

    @property
    def z_dim(self) -> int:
        return int(self.config.g_args.get("z_dim", 128))

    def _real_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Class-balanced real batch: classes drawn uniformly, then an image of that class."""
        classes = self.rng.choice(self.present, size=self.config.batch_size)
        idx = np.array([self.rng.choice(self.by_class[c]) for c in classes])
        return self.images[idx].to(self.device), torch.from_numpy(classes).long().to(self.device)

    def _aug(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.torch_gen, colour=self.config.diffaug_colour) if self.config.diffaug else x

    def step(self) -> dict[str, float]:
        """One discriminator and one generator update; returns this step's losses."""
        self.G.train()
        self.D.train()
        real, y = self._real_batch()
        z = torch.randn(len(y), self.z_dim, generator=self.torch_gen).to(self.device)
        with torch.no_grad():
            fake = self.G(z, y)
        d_real, d_fake = self.D(self._aug(real), y), self.D(self._aug(fake), y)
        loss_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        if self.config.mode_seeking > 0:  # pairs (i, i + B/2) share their class
            half = len(y) // 2
            y = torch.cat([y[:half], y[:half]])
        z = torch.randn(len(y), self.z_dim, generator=self.torch_gen).to(self.device)
        fake = self.G(z, y)
        loss_g = -self.D(self._aug(fake), y).mean()
        if self.config.mode_seeking > 0:
            loss_g = loss_g + self.config.mode_seeking * mode_seeking_penalty(fake, z)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self._update_ema()
        self.step_count += 1
        out = {"loss_d": float(loss_d.detach()), "loss_g": float(loss_g.detach()),
               "d_real": float(d_real.detach().mean()), "d_fake": float(d_fake.detach().mean())}
        for key, value in out.items():
            self._acc.setdefault(key, []).append(value)
        return out

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = min(self.config.ema_decay, (1 + self.step_count) / (10 + self.step_count))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.lerp_(p, 1 - decay)
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    def log_point(self) -> dict[str, float]:
        """Mean losses since the last log point, appended to ``history``."""
        point = {"step": self.step_count, **{k: round(float(np.mean(v)), 4) for k, v in self._acc.items()}}
        self._acc = {}
        self.history.append(point)
        return point

    def export_generator(self, batches: int = 64, batch_size: int = 64) -> dict[str, torch.Tensor]:
        """EMA generator weights with standing BN statistics (averaged over ``batches`` random batches)."""
        g = CondGenerator(**self.config.g_args).to(self.device)
        g.load_state_dict(self.G_ema.state_dict())
        standing_stats(g, batches, batch_size, seed=self.config.seed)
        return {k: v.detach().cpu().contiguous() for k, v in g.state_dict().items()}

    def save(self, path: Path) -> None:
        """Checkpoint (networks, EMA, optimisers, random states, history) for resuming."""
        tensors: dict[str, torch.Tensor] = {}
        for prefix, module in (("G", self.G), ("D", self.D), ("G_ema", self.G_ema)):
            tensors.update({f"{prefix}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()})
        tensors.update(_flatten_optimizer("opt_g", self.opt_g))
        tensors.update(_flatten_optimizer("opt_d", self.opt_d))
        tensors["torch_gen"] = self.torch_gen.get_state()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        save_file(tensors, str(tmp))
        tmp.replace(path)
        meta = {"step": self.step_count, "history": self.history, "rng": self.rng.bit_generator.state,
                "config": asdict(self.config)}
        write_private(path.with_suffix(".json"), json.dumps(meta, default=int))  # beside the user's images: private

    def load(self, path: Path) -> None:
        """Resume from ``save``'s checkpoint."""
        tensors = load_file(str(path))
        for prefix, module in (("G", self.G), ("D", self.D), ("G_ema", self.G_ema)):
            module.load_state_dict({k[len(prefix) + 1:]: v.to(self.device) for k, v in tensors.items()
                                    if k.startswith(prefix + ".")})
        _restore_optimizer("opt_g", self.opt_g, tensors)
        _restore_optimizer("opt_d", self.opt_d, tensors)
        self.torch_gen.set_state(tensors["torch_gen"])
        meta = json.loads(path.with_suffix(".json").read_text())
        self.step_count = int(meta["step"])
        self.history = list(meta["history"])
        self.rng.bit_generator.state = meta["rng"]


@torch.no_grad()
def standing_stats(g: torch.nn.Module, batches: int = 64, batch_size: int = 64, seed: int = 0) -> None:
    """Recompute BN running statistics as a plain average over random latent batches (BigGAN's
    "standing statistics"): eval-mode samples then match what training saw."""
    gen = torch.Generator().manual_seed(seed + 12345)
    norms = [m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    g.train()
    device = device_of(g)
    for _ in range(batches):
        z = torch.randn(batch_size, g.z_dim, generator=gen).to(device)
        y = torch.randint(0, g.n_classes, (batch_size,), generator=gen).to(device)
        g(z, y)
    for m in norms:
        m.momentum = 0.1
    g.eval()


@dataclass
class LoopResult:
    steps: int
    seconds: float
    stopped: str  # "steps", "time" or "cancelled"


def run_loop(trainer: GanTrainer, steps: int, max_seconds: float, checkpoint: Callable[[GanTrainer], None],
             on_log: Callable[[dict], None] = lambda point: None, should_stop: Callable[[], bool] = lambda: False,
             log_every: int = 25, checkpoint_every_s: float = 120.0) -> LoopResult:
    """Train until ``steps`` in total, ``max_seconds`` of wall time, or ``should_stop()``.

    ``checkpoint(trainer)`` runs every ``checkpoint_every_s`` seconds and at the end, so an
    interrupted run keeps its latest generator.
    """
    start = last_ckpt = time.time()
    stopped = "steps"
    while trainer.step_count < steps:
        if should_stop():
            stopped = "cancelled"
            break
        if time.time() - start >= max_seconds:
            stopped = "time"
            break
        trainer.step()
        if trainer.step_count % log_every == 0:
            on_log(trainer.log_point())
        if time.time() - last_ckpt >= checkpoint_every_s:
            checkpoint(trainer)
            last_ckpt = time.time()
    if trainer._acc:
        on_log(trainer.log_point())
    checkpoint(trainer)
    return LoopResult(trainer.step_count, time.time() - start, stopped)


# ----- the committed models ---------------------------------------------------------------

def write_gan_card(out_dir: Path, name: str, recipe: dict[str, Any], data: dict[str, Any], weights: dict[str, torch.Tensor],
               training: dict[str, Any], command: str, metrics: dict[str, Any] | None = None,
               description: str | None = None) -> dict[str, Any]:
    """Write ``model.safetensors`` and ``card.json`` for a generator."""
    labels = list(recipe["labels"])
    size = int(recipe["size"])
    card = {
        "name": name,
        "task": "generation",
        "modality": recipe.get("modality", ""),
        "body_part": recipe.get("body_part", ""),
        "description": description or (
            f"Class-conditional GAN ({', '.join(labels)}) at {size} x {size} px, trained by MedLens from random init: "
            "DCGAN-style generator with class-conditional batch norm; spectral-norm projection discriminator, hinge loss."),
        "architecture": {"name": "cond_generator", "args": recipe["g_args"]},
        "weights": "model.safetensors",
        "preprocessing": {"size": [size, size], "channels": 1, "z_dim": recipe["g_args"].get("z_dim", 128)},
        "notes": {"output": "tanh in [-1, 1]; image = (x + 1) / 2 in [0, 1], x 255 for 8-bit",
                  "latent": "z ~ N(0, I); truncation t draws each z component from N(0, 1) truncated to [-t, t]",
                  "label_mapping": data["data"].get("label_coding", "")},
        "labels": labels,
        "label_mapping": {"label_of_class": list(range(len(labels)))},
        "data": data["data"],
        "split": data["split"],
        "metrics": metrics or {"status": "not measured yet: run `python -m core train gan --model "
                                          f"{name} --measure-only` once the classifier is registered"},
        "discriminator": {"name": "proj_discriminator", "args": recipe["d_args"],
                          "note": "training only; kept in the training checkpoint, not committed"},
        "training": training,
        "command": command,
        "intended_use": ("Research and teaching: data augmentation experiments and illustration. Synthetic images are "
                         "not real patients and must never be used for diagnosis."),
    }
    save_model(out_dir, weights or None, card)
    return card


VARIETY_OPTIONS = ("diffaug_colour", "mode_seeking", "mbstd_group")


def with_overrides(recipe: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``recipe`` with the variety options in ``overrides`` (None = keep the recipe's);
    ``mbstd_group`` goes into the discriminator's arguments."""
    unknown = set(overrides) - set(VARIETY_OPTIONS)
    if unknown:
        raise ValueError(f"unknown recipe overrides {sorted(unknown)}")
    out = {**recipe, "d_args": {**recipe["d_args"]}}
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "mbstd_group":
            out["d_args"]["mbstd_group"] = int(value)
        else:
            out[key] = value
    return out


def override_flags(overrides: dict[str, Any]) -> str:
    """The ``core train gan`` flags that repeat ``overrides`` (empty when none is set)."""
    flags = []
    for key in VARIETY_OPTIONS:
        value = overrides.get(key)
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        flags.append(f"{flag} {'on' if value else 'off'}" if isinstance(value, bool) else f"{flag} {value:g}")
    return "".join(" " + f for f in flags)


def train(name: str, shared: Path, out_dir: Path, workdir: Path, seed: int = 0, steps: int | None = None,
          max_minutes: float | None = None, command: str = "", log: Callable[[dict], None] = print,
          resume: bool = False, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train recipe ``name``; the latest generator and card are (re)written every checkpoint.

    ``overrides`` (see ``with_overrides``) change the recipe's variety options for this run.
    """
    recipe = with_overrides(RECIPES[name], overrides or {})
    total_steps = int(steps or recipe["steps"])
    ensure_private_dir(workdir)  # under the data folder: owner-only
    t0 = time.time()
    data = load_gan_data(recipe, shared, workdir, seed)
    log({"data": data["split"], "load_seconds": round(time.time() - t0, 1)})
    trainer = GanTrainer(GanConfig.from_recipe(recipe, seed), *data["train"])
    ckpt = workdir / "checkpoint.safetensors"
    if resume and ckpt.exists():
        trainer.load(ckpt)
        log({"resumed_at_step": trainer.step_count})
    started = time.time()

    def training_facts(stopped: str = "running") -> dict[str, Any]:
        return {"steps": trainer.step_count, "steps_planned": total_steps, "stopped": stopped,
                "batch_size": recipe["batch_size"], "optimiser": f"Adam betas {recipe['betas']}",
                "lr_g": recipe["lr_g"], "lr_d": recipe["lr_d"], "loss": "hinge", "ema_decay": recipe["ema_decay"],
                "diff_augment": (("brightness + contrast, " if recipe.get("diffaug_colour") else "")
                                 + "translation 1/8 + cutout 1/4 on real and fake") if recipe["diffaug"] else "none",
                "mode_seeking": recipe.get("mode_seeking", 0.0),
                "class_balanced_real_batches": True, "bn_statistics": "standing statistics over 64 x 64 random latents",
                "seed": seed, "init": "random (no pretrained weights)", "max_minutes": max_minutes,
                "wall_time_s_this_run": round(time.time() - started, 1), "hardware": hardware(trainer.device),
                "reproduce_command": f"python -m core train gan --model {name} --steps {trainer.step_count} --seed {seed}"
                                     + override_flags(overrides or {}),
                "loss_history": trainer.history[-400:]}

    def checkpoint(tr: GanTrainer) -> None:
        tr.save(ckpt)
        write_gan_card(out_dir, name, recipe, data, tr.export_generator(batches=16), training_facts(), command)
        log({"checkpoint": tr.step_count, "seconds": round(time.time() - started, 1)})

    result = run_loop(trainer, total_steps, 60.0 * max_minutes if max_minutes else float("inf"), checkpoint,
                      on_log=lambda p: log({**p, "seconds": round(time.time() - started, 1)}))
    card = write_gan_card(out_dir, name, recipe, data, trainer.export_generator(), training_facts(result.stopped), command)
    return card


def measure_card(name: str, shared: Path, out_dir: Path, workdir: Path, seed: int = 0,
                 log: Callable[[dict], None] = print, quality_seed: int = 20261125) -> dict[str, Any]:
    """Measure the generator in ``out_dir`` with its recipe's classifier and put the figures in its card.

    Without the classifier registered, the card says so (``metrics.status``) and nothing is made up.
    """
    recipe = RECIPES[name]
    card_path = out_dir / "card.json"
    card = json.loads(card_path.read_text())
    classifier = recipe["classifier"]
    if classifier not in {s.name for s in list_models("classification")}:
        card["metrics"] = {"status": f"not measured: classifier {classifier!r} is not registered yet; run "
                                     f"`python -m core train gan --model {name} --measure-only` once it is"}
        write_card(out_dir, card)
        log({"metrics": card["metrics"]})
        return card
    t0 = time.time()
    data = load_gan_data(recipe, shared, workdir, seed)
    spec = parse_card(card_path)
    model = load_model(spec, resolve_device("cpu"))

    def sampler(label: int, n: int, sample_seed: int, truncation: float | None = None) -> np.ndarray:
        return sample_model(model, spec, label, n, sample_seed, truncation).images

    figures = quality.measure(sampler, classifier, data["train"], data["val"], seed=quality_seed)
    figures["command"] = f"python -m core train gan --model {name} --measure-only"
    figures["seconds"] = round(time.time() - t0, 1)
    card["metrics"] = figures
    write_card(out_dir, card)
    log({"metrics": figures})
    return card
