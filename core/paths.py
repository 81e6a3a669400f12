"""Where MedLens finds the shared data sets and keeps user data (labeling sessions, user models),
and how it keeps that data private.

The data folder holds patient data at rest (the labeling store keeps the source DICOM with its
identifiers), so it is created 0700 and every file the app writes there 0600:
``ensure_private_dir`` for folders, ``private_file`` before a file is opened by another library
(SQLite), ``write_private`` for files written whole.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

DEFAULT_DATA_DIR = Path.home() / ".medlens"
DIR_MODE = 0o700
FILE_MODE = 0o600

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """The shared training/evaluation data: ``MEDLENS_SHARED_DATA`` or ``../shared/data`` beside the repo."""
    return Path(os.environ.get("MEDLENS_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


def data_dir() -> Path:
    """``MEDLENS_DATA_DIR`` or ``~/.medlens``; not created until something is written."""
    return Path(os.environ.get("MEDLENS_DATA_DIR") or DEFAULT_DATA_DIR)


def in_data_dir(path: str | Path) -> bool:
    """Whether ``path`` is the data folder or inside it (user data: kept private)."""
    root = data_dir().absolute()
    path = Path(path).absolute()
    return path == root or root in path.parents


def ensure_private_dir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) readable by the owner only (0700); returns it.

    Folders created here are 0700. An existing folder is tightened to 0700 only when it is the
    data folder or inside it (a folder of the user's elsewhere keeps its mode).
    """
    path = Path(path)
    missing = [p for p in [path, *path.parents] if not p.exists()]
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    for folder in missing:  # mkdir's mode is reduced by the umask, and parents get the default
        os.chmod(folder, DIR_MODE)
    for folder in [path, *path.parents]:
        if folder.exists() and in_data_dir(folder) and (folder.stat().st_mode & 0o777) != DIR_MODE:
            os.chmod(folder, DIR_MODE)
    return path


def private_file(path: str | Path) -> Path:
    """Make sure ``path`` exists with mode 0600 (created empty when missing) in a private folder; returns it.

    For files another library opens (SQLite gives its ``-wal`` and ``-shm`` files the database's mode).
    """
    path = Path(path)
    ensure_private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
    os.chmod(path, FILE_MODE)
    return path


def write_private(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, then rename) with mode 0600; returns it."""
    path = Path(path)
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
