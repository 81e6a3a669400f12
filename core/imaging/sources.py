"""Turn what the user gives (bytes, path, folder, zip, uploads) into named byte entries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.imaging import limits
from core.imaging import sniff

IGNORED_PARTS = {"__MACOSX", ".DS_Store", "Thumbs.db"}


@dataclass
class Entry:
    """One file: its display name and its bytes (read lazily from ``path`` when given)."""

    name: str
    data: bytes | None = None
    path: Path | None = None

    def read(self) -> bytes:
        if self.data is None:
            self.data = Path(self.path).read_bytes()  # type: ignore[arg-type]
        return self.data

    def head(self, n: int = 1024) -> bytes:
        if self.data is not None:
            return self.data[:n]
        with open(self.path, "rb") as fh:  # type: ignore[arg-type]
            return fh.read(n)


def _ignored(name: str) -> bool:
    parts = Path(name).parts
    return any(p in IGNORED_PARTS or p.startswith("._") for p in parts)


def zip_entries(data: bytes, label: str, budget: limits.Budget | None = None) -> list[Entry]:
    """Members of a zip held in memory (no extraction to disk, no path traversal).

    Entries and inflated bytes are counted while reading (``core.imaging.limits``): the sizes
    the zip declares are never believed.
    """
    archive = limits.open_zip(data, label)
    budget = budget or limits.Budget(label)
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir() and not _ignored(i.filename)]
        return [Entry(name=i.filename, data=limits.read_member(archive, i, label, budget, _is_known)) for i in infos]


def _is_known(head: bytes) -> bool:
    """Whether a member's first bytes are of a kind MedLens reads (else only they are kept)."""

    return sniff.sniff(head) not in (sniff.UNKNOWN, sniff.GZIP)


def folder_entries(folder: Path) -> list[Entry]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not _ignored(str(p.relative_to(folder))))
    return [Entry(name=str(p.relative_to(folder)), path=p) for p in files]


def _as_entry(item: Any, index: int) -> Entry:
    if isinstance(item, Entry):
        return item
    if isinstance(item, tuple) and len(item) == 2:
        name, data = item
        if isinstance(data, (str, Path)):
            return Entry(name=str(name), path=Path(data))
        return Entry(name=str(name), data=bytes(data))
    if isinstance(item, (str, Path)):
        return Entry(name=Path(item).name, path=Path(item))
    if hasattr(item, "read"):  # Streamlit UploadedFile and other file objects
        if hasattr(item, "seek"):
            item.seek(0)
        return Entry(name=getattr(item, "name", f"file{index}"), data=item.read())
    raise InputError(f"cannot read an input of type {type(item).__name__}")


def to_entries(source: Any, name: str | None = None) -> tuple[list[Entry], str]:
    """(entries, label) for any supported source; a folder expands to its files."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "upload"
        return [Entry(name=label, data=bytes(source))], label
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            entries = folder_entries(path)
            if not entries:
                raise InputError(f"{path.name}: the folder holds no files")
            return entries, name or path.name
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        return [Entry(name=name or path.name, path=path)], name or path.name
    if isinstance(source, (list, tuple)) and not (isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], str) and isinstance(source[1], (bytes, bytearray))):
        entries = [_as_entry(item, i) for i, item in enumerate(source)]
        if not entries:
            raise InputError("no files were given")
        return entries, name or (entries[0].name if len(entries) == 1 else f"{len(entries)} files")
    entry = _as_entry(source, 0)
    return [entry], name or entry.name
