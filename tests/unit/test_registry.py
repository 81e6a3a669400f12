"""Registry: cards become specs; bad cards give clear errors; unknown names list valid ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import registry
from core.errors import ModelError


def _write_card(folder: Path, card: dict | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "card.json"
    path.write_text(card if isinstance(card, str) else json.dumps(card))
    return path


def test_tiny_model_is_registered(tiny_model: str) -> None:
    spec = registry.get_spec(tiny_model)
    assert spec.task == "test"
    assert spec.architecture == "tiny_cnn"
    assert spec.weights is not None and spec.weights.exists()
    assert tiny_model in [s.name for s in registry.list_models("test")]
    assert tiny_model not in [s.name for s in registry.list_models("segmentation")]


def test_unknown_model_lists_valid_names(tiny_model: str) -> None:
    with pytest.raises(KeyError, match="tiny-test"):
        registry.get_spec("no-such-model")


@pytest.mark.parametrize(
    "card, message",
    [
        ("{not json", "cannot be read"),
        ("[1, 2]", "JSON object"),
        ({"task": "test", "architecture": {"name": "tiny_cnn"}}, "lacks name"),
        ({"name": "x", "task": "test"}, "architecture.name"),
    ],
)
def test_bad_card_gives_clear_error(tmp_path: Path, card, message: str) -> None:
    path = _write_card(tmp_path / "bad", card)
    with pytest.raises(ModelError, match=message):
        registry.parse_card(path)


def test_bad_card_is_skipped_and_reported(tmp_path: Path, use_cards) -> None:
    _write_card(tmp_path / "broken", "{oops")
    use_cards(tmp_path)
    assert any("broken" in e for e in registry.card_errors())


def test_every_committed_card_is_valid() -> None:
    for card in sorted(registry.MODELS_DIR.glob("*/card.json")):
        spec = registry.parse_card(card)
        assert spec.name == card.parent.name, f"{card}: folder and name differ"


def test_require_spec_checks_name_and_task(tiny_model: str) -> None:
    from core.errors import InputError

    assert registry.require_spec(tiny_model, "test").name == tiny_model
    with pytest.raises(InputError, match="is a test model, not a segmentation model"):
        registry.require_spec(tiny_model, "segmentation")
    with pytest.raises(InputError, match="unknown model 'nope'"):
        registry.require_spec("nope", "test")


TEST_PRE = {"preprocessing": {"size": [8, 8], "channels": 1}}


def test_a_superseding_model_comes_just_before_the_one_it_replaces(tmp_path: Path) -> None:
    def spec(name: str, supersedes: list[str] | None = None) -> registry.ModelSpec:
        card = {"name": name, "task": "test", "architecture": {"name": "tiny_cnn"}, **TEST_PRE}
        if supersedes is not None:
            card["supersedes"] = supersedes
        return registry.parse_card(_write_card(tmp_path / name, card))

    specs = [spec("b-old"), spec("a-first"), spec("z-new", ["b-old"]), spec("c-last"), spec("y", ["absent"])]
    assert [s.name for s in registry.preferred_order(specs)] == ["a-first", "z-new", "b-old", "c-last", "y"]
    assert registry.parse_card(tmp_path / "z-new" / "card.json").card.supersedes == ("b-old",)
    with pytest.raises(ModelError, match="supersedes"):
        registry.parse_card(_write_card(tmp_path / "bad", {"name": "bad", "task": "test", **TEST_PRE,
                                                           "architecture": {"name": "tiny_cnn"}, "supersedes": "b-old"}))
