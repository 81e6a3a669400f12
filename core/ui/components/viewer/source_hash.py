"""SHA-256 of the viewer component's source files and of its built bundle (stdlib only).

``python3 source_hash.py`` prints the two lines written to ``frontend/dist/SOURCE_SHA256`` by
``build.sh``; ``tests/unit/test_viewer_bundle.py`` recomputes them and fails when the committed
bundle was not rebuilt from the committed source (or was edited by hand).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

FRONTEND = Path(__file__).resolve().parent / "frontend"
SOURCE_FILES = ("package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "index.html")
BUNDLE_FILES = ("index.html", "viewer.js")


def _digest(root: Path, names: list[str]) -> str:
    total = hashlib.sha256()
    for name in sorted(names):
        data = (root / name).read_bytes()
        total.update(f"{name}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return total.hexdigest()


def source_sha(frontend: Path = FRONTEND) -> str:
    """Hash over the build inputs: the config files and everything under ``src/``."""
    names = [n for n in SOURCE_FILES if (frontend / n).exists()]
    names += sorted(p.relative_to(frontend).as_posix() for p in (frontend / "src").rglob("*") if p.is_file())
    return _digest(frontend, names)


def bundle_sha(frontend: Path = FRONTEND) -> str:
    """Hash over the built files that Streamlit serves."""
    return _digest(frontend / "dist", list(BUNDLE_FILES))


def record(frontend: Path = FRONTEND) -> str:
    """The text of ``dist/SOURCE_SHA256``."""
    return f"source {source_sha(frontend)}\nbundle {bundle_sha(frontend)}\n"


if __name__ == "__main__":
    sys.stdout.write(record())
