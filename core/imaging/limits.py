"""Size limits checked before anything is allocated: pixels, voxels, archive entries and bytes.

One server process serves every user, so a file that *declares* a huge image (a 59-byte
.nii.gz of 10^10 voxels, a TIFF of 50000² tiles, a zip entry that lies about its size) must
be refused from its header, before a reader allocates what the header claims. Every reader
in ``core.imaging`` calls the checks here; the defaults fit real work (a 1,000-slice 512² CT
series) and each can be raised by an environment variable, read at the time of the check:

========================  =========================================================  ===========
variable                  what it bounds                                              default
========================  =========================================================  ===========
MEDLENS_MAX_PIXELS        rows x columns of one frame or slice                        1e8
MEDLENS_MAX_VOXELS        all values of one image: frames x rows x columns x samples  3e8
MEDLENS_MAX_FRAMES        frames, slices or pages of one image                        20000
MEDLENS_MAX_ZIP_BYTES     bytes one zip, gzip or deflate stream may expand to         1 GiB
MEDLENS_MAX_ZIP_ENTRIES   files in one zip                                            10000
========================  =========================================================  ===========

Bytes are counted while streaming; declared sizes (zip directories, gzip trailers) are never
trusted. A refusal is an ``InputError`` naming the limit and how to raise it.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from dataclasses import dataclass
from typing import Callable, Iterator

from core.errors import InputError

CHUNK = 1 << 20  # bytes inflated per step: memory stays bounded whatever the stream claims


@dataclass(frozen=True)
class Limit:
    """One configurable bound: its environment variable, default and what it counts."""

    env: str
    default: int
    unit: str

    def value(self) -> int:
        """The bound in force now (the environment variable wins over the default)."""
        raw = os.environ.get(self.env, "").strip()
        if not raw:
            return self.default
        try:
            number = int(float(raw.replace("_", "")))
        except (ValueError, OverflowError):
            raise InputError(f"{self.env}={raw[:20]!r} is not a number; set it to e.g. {self.default:.0e}") from None
        if number <= 0:
            raise InputError(f"{self.env} must be positive; unset it for the default {self.default:.0e}")
        return number

    def refuse(self, label: str, what: str, found: float) -> InputError:
        """The refusal: what was found, the limit, and how to raise it."""
        return InputError(f"{label}: {what} ({found:.3g} {self.unit} > {self.env}={self.value():.3g}); "
                          f"raise {self.env} to load it")

    def check(self, found: float, label: str, what: str) -> None:
        if found > self.value():
            raise self.refuse(label, what, found)


MAX_PIXELS = Limit("MEDLENS_MAX_PIXELS", 100_000_000, "pixels")
MAX_VOXELS = Limit("MEDLENS_MAX_VOXELS", 300_000_000, "values")
MAX_FRAMES = Limit("MEDLENS_MAX_FRAMES", 20_000, "frames")
MAX_ZIP_BYTES = Limit("MEDLENS_MAX_ZIP_BYTES", 2**30, "bytes")
MAX_ZIP_ENTRIES = Limit("MEDLENS_MAX_ZIP_ENTRIES", 10_000, "files")
ALL = (MAX_PIXELS, MAX_VOXELS, MAX_FRAMES, MAX_ZIP_BYTES, MAX_ZIP_ENTRIES)


def defaults() -> dict[str, int]:
    """``{variable: value in force}`` for the README, the CLI and the tests."""
    return {limit.env: limit.value() for limit in ALL}


def check_image(label: str, frames: int, rows: int, cols: int, samples: int = 1) -> None:
    """Refuse an image whose declared geometry is invalid or over the pixel/voxel limits."""
    for name, value in (("frames", frames), ("rows", rows), ("columns", cols), ("samples", samples)):
        if value < 1:
            raise InputError(f"{label}: the image declares {value} {name}: nothing to show")
    MAX_PIXELS.check(rows * cols, label, f"image is {cols}x{rows} pixels")
    MAX_FRAMES.check(frames, label, f"image has {frames} frames")
    total = frames * rows * cols * samples
    detail = f"{frames} frame(s) of {cols}x{rows}" + (f"x{samples}" if samples > 1 else "")
    MAX_VOXELS.check(total, label, f"image holds {detail}")


# ----- streams ------------------------------------------------------------------------------

class Budget:
    """Bytes still allowed to come out of decompression, shared by every member of one archive."""

    def __init__(self, label: str, limit: int | None = None) -> None:
        self.label = label
        self.left = MAX_ZIP_BYTES.value() if limit is None else limit
        self.limit = self.left
        self.used = 0

    def take(self, n: int, what: str = "the archive") -> None:
        self.used += n
        self.left -= n
        if self.left < 0:
            raise InputError(f"{self.label}: {what} expands to more than {MAX_ZIP_BYTES.env}={self.limit:.3g} "
                             f"bytes; raise {MAX_ZIP_BYTES.env} to load it")


def _inflate(decompressor: "zlib._Decompress", data: bytes, budget: Budget, what: str) -> Iterator[bytes]:
    """Output of ``decompressor`` on ``data`` in chunks, each counted against ``budget``."""
    pending = data
    while True:
        out = decompressor.decompress(pending, CHUNK)
        if out:
            budget.take(len(out), what)
            yield out
        pending = decompressor.unconsumed_tail
        if decompressor.eof or (not pending and not out):
            break


def gunzip(data: bytes, label: str, budget: Budget | None = None, max_out: int | None = None) -> bytes:
    """A gzip stream inflated with a byte count (the size in its trailer is not believed);
    with ``max_out`` inflation stops once that many bytes are out (the rest is not needed)."""
    budget = budget or Budget(label)
    parts: list[bytes] = []
    got = 0
    if not data:
        raise InputError(f"{label}: the gzip stream is empty")
    try:
        rest = data
        while rest:  # concatenated gzip members are legal
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            for part in _inflate(decompressor, rest, budget, "the gzip stream"):
                parts.append(part)
                got += len(part)
                if max_out is not None and got >= max_out:
                    return b"".join(parts)
            if not decompressor.eof:
                raise InputError(f"{label}: the gzip stream is cut short")
            rest = decompressor.unused_data
            if rest and not rest.startswith(b"\x1f\x8b"):
                break  # trailing garbage after the last member: ignored, like gzip(1)
    except zlib.error:
        raise InputError(f"{label}: the gzip stream is broken (corrupt compressed data)") from None
    return b"".join(parts)


def gunzip_head(data: bytes, n: int) -> bytes:
    """At most the first ``n`` inflated bytes of a gzip stream (b"" when it is broken)."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, n)
    except zlib.error:
        return b""


def inflate_raw(data: bytes, label: str, budget: Budget | None = None, head: int | None = None) -> bytes:
    """A raw deflate stream (DICOM Deflated Explicit VR) inflated with a byte count; ``head``
    stops after that many bytes."""
    budget = budget or Budget(label)
    decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
    parts: list[bytes] = []
    got = 0
    try:
        for part in _inflate(decompressor, data, budget, "the deflated DICOM dataset"):
            parts.append(part)
            got += len(part)
            if head is not None and got >= head:
                break
    except zlib.error:
        raise InputError(f"{label}: the deflated DICOM dataset is corrupt (bad compressed data)") from None
    return b"".join(parts)


# ----- zip archives -------------------------------------------------------------------------

SAFE_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}


def open_zip(data: bytes, label: str) -> zipfile.ZipFile:
    """A ``ZipFile`` over bytes, refused when it has more entries than allowed."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise InputError(f"{label}: the zip file cannot be read (not a zip, or its directory is damaged)") from None
    MAX_ZIP_ENTRIES.check(len(infos), label, f"the zip holds {len(infos)} entries")
    return archive


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, budget: Budget,
                wanted: Callable[[bytes], bool] | None = None) -> bytes:
    """One member's bytes, inflated in chunks and counted (its declared size is not believed).

    ``wanted(first_chunk)`` False stops after the first chunk: a member that is no image is
    never inflated in full (its first bytes are enough to say what it is).
    """
    if info.compress_type not in SAFE_COMPRESSION:
        raise InputError(f"{label}: {info.filename[:80]} uses a compression MedLens does not open "
                         f"(method {info.compress_type}); re-zip it with deflate")
    if info.flag_bits & 0x1:
        raise InputError(f"{label}: {info.filename[:80]} is encrypted")
    parts: list[bytes] = []
    try:
        with archive.open(info) as member:
            while True:
                chunk = member.read(CHUNK)
                if not chunk:
                    break
                budget.take(len(chunk), "the zip")
                parts.append(chunk)
                if wanted is not None and len(parts) == 1 and not wanted(chunk):
                    break
    except InputError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError, RuntimeError, NotImplementedError):
        raise InputError(f"{label}: {info.filename[:80]} in the zip is damaged (bad data or sizes that do not match)") from None
    return b"".join(parts)


def zip_members(data: bytes, label: str, keep=lambda info: True) -> Iterator[tuple[zipfile.ZipInfo, bytes]]:
    """``(info, bytes)`` of the files ``keep`` accepts, all counted against one budget."""
    archive = open_zip(data, label)
    budget = Budget(label)
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not keep(info):
                continue
            yield info, read_member(archive, info, label, budget)
