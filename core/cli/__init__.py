"""The ``python -m core`` command line: discovery and dispatch.

Each module in this package is one command. It defines ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> dict``; the dict is printed as the last line
of stdout, as JSON. Modules named ``evaluate_<task>`` and ``train_<task>`` become
``python -m core evaluate <task>`` and ``python -m core train <task>`` (underscores in
the task become hyphens). Adding a command
is adding a module: nothing else needs editing.

Errors: ``InputError``/``ModelError`` (and argument errors) exit 2 with one line on
stderr; anything unexpected exits 1 with one line (``MEDLENS_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
import traceback
from types import ModuleType
from typing import Any, Sequence

from core.errors import MedLensError

GROUPS = {
    "evaluate": "measure a model on data laid out like ../shared/data",
    "train": "reproduce a model's committed weights",
}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {self.prog}: {message}\n")
        sys.exit(2)


def command_modules(broken: dict[str, str] | None = None) -> dict[str, ModuleType]:
    """Command modules in this package, by module name.

    A module that fails to import is left out (one broken command must not take the
    others down) and its error is put in ``broken`` (the tests require it to stay empty).
    """
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        try:
            found[info.name] = importlib.import_module(f"{__name__}.{info.name}")
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            if broken is not None:
                broken[info.name] = f"{type(exc).__name__}: {exc}"
    return found


def _escape(text: str) -> str:
    """argparse formats help strings with %: a literal % must be doubled."""
    return text.replace("%", "%%")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="MedLens command line; the last stdout line is JSON.")
    broken: dict[str, str] = {}
    modules = command_modules(broken)
    for name, error in broken.items():
        sys.stderr.write(f"warning: command module {name} could not be loaded ({error})\n")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    groups: dict[str, Any] = {}
    for name, module in sorted(modules.items()):
        verb, _, task = name.partition("_")
        if verb in GROUPS and task:
            if verb not in groups:
                group_parser = commands.add_parser(verb, help=GROUPS[verb], description=GROUPS[verb])
                groups[verb] = group_parser.add_subparsers(dest="task", metavar="TASK", parser_class=_Parser)
                groups[verb].required = True
            task_name = task.replace("_", "-")  # train_augmentation_study -> augmentation-study
            sub = groups[verb].add_parser(task_name, help=_escape(module.HELP), description=_escape(module.HELP))
        else:
            sub = commands.add_parser(name, help=_escape(module.HELP), description=_escape(module.HELP))
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        result = args.handler(args)
    except MedLensError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except Exception as exc:  # last resort: one line, never a traceback unless asked
        if os.environ.get("MEDLENS_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(f"error: internal error ({type(exc).__name__}: {exc})\n")
        return 1
    print(json.dumps(result, default=str))
    return 0
