"""Fixtures shared by every test: the shared data folder, an isolated user data dir,
and a tiny trained model registered from a temporary card folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.paths import shared_data_dir

SHARED_DATA = shared_data_dir()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the clone (CI has it); tests that need it skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True, scope="session")
def isolated_user_data(tmp_path_factory: pytest.TempPathFactory):
    """Keep labeling sessions and user models of the test run out of ~/.medlens."""
    folder = tmp_path_factory.mktemp("medlens-data")
    previous = os.environ.get("MEDLENS_DATA_DIR")
    os.environ["MEDLENS_DATA_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("MEDLENS_DATA_DIR", None)
    else:
        os.environ["MEDLENS_DATA_DIR"] = previous


def write_tiny_model(folder: Path, name: str = "tiny-test") -> Path:
    """Train a TinyCNN for a few steps to tell bright from dark images; write card + weights."""
    import torch
    from safetensors.torch import save_file

    from models.toy import TinyCNN

    torch.manual_seed(0)
    model = TinyCNN(in_channels=1, num_classes=2)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(30):
        labels = torch.randint(0, 2, (32,))
        images = torch.rand(32, 1, 16, 16) * 0.5 + labels.view(-1, 1, 1, 1) * 0.5
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model_dir = folder / name
    model_dir.mkdir(parents=True, exist_ok=True)
    save_file(model.state_dict(), str(model_dir / "model.safetensors"))
    card = {
        "name": name,
        "task": "test",
        "description": "Tiny CNN for tests: bright (1) vs dark (0) 16x16 images.",
        "architecture": {"name": "tiny_cnn", "args": {"in_channels": 1, "num_classes": 2}},
        "weights": "model.safetensors",
        "preprocessing": {"size": [16, 16], "channels": 1},
        "labels": ["dark", "bright"],
        "data": "synthetic, made by tests/conftest.py",
        "metrics": {"note": "none; test fixture"},
        "command": "tests/conftest.py:write_tiny_model",
    }
    (model_dir / "card.json").write_text(json.dumps(card, indent=2))
    return model_dir


@pytest.fixture
def use_cards(monkeypatch: pytest.MonkeyPatch):
    """``use_cards(folder)`` registers the model cards in ``folder`` for one test
    (``MEDLENS_MODEL_DIRS``); the cache starts and ends empty, the registry is restored after."""
    from core import cache, registry

    def use(folder: Path) -> Path:
        monkeypatch.setenv("MEDLENS_MODEL_DIRS", str(folder))
        registry.reload()
        cache.clear()
        return folder

    yield use
    cache.clear()
    monkeypatch.delenv("MEDLENS_MODEL_DIRS", raising=False)
    registry.reload()


@pytest.fixture
def tiny_model(tmp_path: Path, use_cards) -> str:
    """Registers ``tiny-test`` from a temporary folder; the cache starts and ends empty."""
    use_cards(write_tiny_model(tmp_path / "cards").parent)
    return "tiny-test"


# --- Tests that need a system package (chromium, dicom3tools, postgresql, orthanc) ---------------
# They skip with the reason printed when the package is missing, except in CI (CI=true), where such a
# skip fails the run: a green CI must mean they really ran.
SYSTEM_SKIP_TAG = "[needs system package]"


def skip_for_system(reason: str) -> None:
    """Skip the current test because a system package is missing (fails instead when CI=true)."""
    pytest.skip(f"{SYSTEM_SKIP_TAG} {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and os.environ.get("CI", "").lower() == "true"):
        return
    reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if SYSTEM_SKIP_TAG in reason:
        report.outcome = "failed"
        report.longrepr = f"CI=true but a system package is missing, so this test could not run: {reason}"


# database fixtures (SQLite and a throwaway PostgreSQL): pg_admin_url, pg_url, db_url, db_engine
from tests.db_fixtures import db_engine, db_url, pg_admin_url, pg_url  # noqa: E402,F401
