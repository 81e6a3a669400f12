"""``python -m core labeling import-legacy [--owner NAME]``: bring an earlier version's labeling
store (``<data dir>/labeling/labeling.sqlite``) into the database (``MEDLENS_DB_URL`` or SQLite)."""

from __future__ import annotations

import argparse

from core.labeling import LabelingStore
from core.labeling.legacy import import_legacy

HELP = "labeling store: import-legacy (sessions of an earlier version into the database)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    legacy = actions.add_parser("import-legacy", help="copy the old labeling.sqlite's sessions into the database")
    legacy.add_argument("--path", default=None, help="the old file (default <data dir>/labeling/labeling.sqlite)")
    legacy.add_argument("--owner", default="local", help="the user who will own the imported sessions")


def run(args: argparse.Namespace) -> dict:
    return {"imported": import_legacy(LabelingStore(), args.path, owner=args.owner)}
