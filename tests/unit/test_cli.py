"""Command line: help lists commands, JSON last line, exit 2 with one line on bad input."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=300,
    )


def test_help_lists_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "models" in result.stdout


def test_help_of_every_command_and_task_renders() -> None:
    from core.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        assert sub.format_help(), name
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                for task, task_parser in action.choices.items():
                    assert task_parser.format_help(), f"{name} {task}"
                assert sub.format_help()


def test_models_prints_registry_json(tiny_model: str) -> None:
    result = run_cli("models", env={"MEDLENS_MODEL_DIRS": os.environ["MEDLENS_MODEL_DIRS"]})
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    names = [m["name"] for m in payload["models"]]
    assert "tiny-test" in names
    assert payload["n"] == len(names)


def test_unknown_command_exits_2_with_one_line() -> None:
    result = run_cli("frobnicate")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_every_command_module_imports() -> None:
    from core.cli import command_modules

    broken: dict[str, str] = {}
    modules = command_modules(broken)
    assert not broken, broken
    for name, module in modules.items():
        assert isinstance(module.HELP, str) and module.HELP, name
        assert callable(module.add_arguments) and callable(module.run), name
