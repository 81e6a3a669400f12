"""DICOM header values read defensively, the pixel geometry checked before decoding, and
Deflated Explicit VR files inflated with a byte count.

A hostile header can hold anything: Rows as several values, NumberOfFrames negative or 10^9,
BitsAllocated 0, a DS where a number list is expected, an element whose VR cannot be parsed.
The helpers here turn each of those into an ``InputError`` naming the element (never its
value), and ``check_geometry`` refuses a declared size over the limits, or pixel data shorter
than the size declares, before any decoder allocates the image.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from core.errors import InputError
from core.imaging import limits

TAGS = {
    "Rows": "(0028,0010)", "Columns": "(0028,0011)", "NumberOfFrames": "(0028,0008)",
    "SamplesPerPixel": "(0028,0002)", "BitsAllocated": "(0028,0100)", "BitsStored": "(0028,0101)",
    "PixelRepresentation": "(0028,0103)", "PlanarConfiguration": "(0028,0006)",
}
BITS_ALLOCATED = {1, 8, 16, 32, 64}
DEFLATED = "1.2.840.10008.1.2.1.99"
PIXEL_TAGS = {0x7FE00010, 0x7FE00009, 0x7FE00008}
DEFLATE_HEAD = 256 * 1024  # inflated bytes in which the header (up to the pixel data) is looked for


def _name(keyword: str) -> str:
    return f"{keyword} {TAGS.get(keyword, '')}".strip()


def value(ds: Dataset, keyword: str, label: str) -> Any:
    """``ds.get(keyword)``; an element that cannot be parsed is an ``InputError`` naming it."""
    try:
        return ds.get(keyword)
    except Exception:  # noqa: BLE001 - bad VR, bad length, undecodable bytes...
        raise InputError(f"{label}: the element {_name(keyword)} cannot be read (malformed)") from None


def header_int(ds: Dataset, keyword: str, label: str, default: int | None = None) -> int | None:
    """A single whole number (US/IS); several values, text or bytes are refused."""
    raw = value(ds, keyword, label)
    if raw is None or (isinstance(raw, (str, bytes)) and not raw.strip()):
        return default
    if isinstance(raw, (MultiValue, list, tuple)):
        if len(raw) == 0:
            return default
        raise InputError(f"{label}: {_name(keyword)} holds several values where one number is expected")
    if isinstance(raw, (bytes, bytearray)):
        raise InputError(f"{label}: {_name(keyword)} is not a number (wrong value representation)")
    try:
        number = float(raw)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{label}: {_name(keyword)} is not a number") from None
    if number != number or abs(number) > 2**62 or number != int(number):
        raise InputError(f"{label}: {_name(keyword)} is not a whole number")
    return int(number)


def numbers(raw: Any, n: int) -> list[float] | None:
    """``n`` finite floats from a multi-valued element (DS/FD), else None (never raises)."""
    if raw is None or isinstance(raw, (str, bytes, bytearray)):
        return None
    if not isinstance(raw, (MultiValue, list, tuple)):
        return None
    if len(raw) != n:
        return None
    try:
        out = [float(v) for v in raw]
    except (TypeError, ValueError, OverflowError):
        return None
    return out if all(abs(v) < 1e12 for v in out) else None  # also drops nan/inf


@dataclass(frozen=True)
class Geometry:
    """The declared layout of the pixel data, validated."""

    frames: int
    rows: int
    cols: int
    samples: int  # samples stored per pixel
    out_samples: int  # per pixel after decoding (3 for PALETTE COLOR)
    bits: int
    photometric: str

    @property
    def stored_bytes(self) -> int:
        """Bytes of native (uncompressed) pixel data the header declares."""
        values = self.frames * self.rows * self.cols * self.samples
        if self.photometric == "YBR_FULL_422":
            values = values // 3 * 2
        return (values * self.bits + 7) // 8


def geometry(ds: Dataset, label: str) -> Geometry:
    """Frames, rows, columns, samples and bits of ``ds``, each checked to be sane."""
    rows = header_int(ds, "Rows", label)
    cols = header_int(ds, "Columns", label)
    if rows is None or cols is None:
        missing = "Rows (0028,0010)" if rows is None else "Columns (0028,0011)"
        raise InputError(f"{label}: the required element {missing} is missing, so the pixels cannot be laid out")
    frames = header_int(ds, "NumberOfFrames", label, 1) or 1  # 0 / empty means one frame (as pydicom reads it)
    if frames < 0:
        raise InputError(f"{label}: NumberOfFrames (0028,0008) is negative")
    samples = header_int(ds, "SamplesPerPixel", label, 1)
    if samples not in (1, 3):
        raise InputError(f"{label}: SamplesPerPixel (0028,0002) must be 1 or 3")
    bits = header_int(ds, "BitsAllocated", label)
    if bits not in BITS_ALLOCATED:
        raise InputError(f"{label}: BitsAllocated (0028,0100) must be 1, 8, 16, 32 or 64")
    stored = header_int(ds, "BitsStored", label, bits)
    if stored is None or not 1 <= stored <= bits:
        raise InputError(f"{label}: BitsStored (0028,0101) must be between 1 and BitsAllocated")
    if header_int(ds, "PixelRepresentation", label, 0) not in (0, 1):
        raise InputError(f"{label}: PixelRepresentation (0028,0103) must be 0 or 1")
    photometric = str(value(ds, "PhotometricInterpretation", label) or "MONOCHROME2").strip().upper()
    out_samples = samples
    if photometric == "PALETTE COLOR":
        if samples != 1:
            raise InputError(f"{label}: a PALETTE COLOR image must have SamplesPerPixel 1")
        if not any(k in ds for k in ("RedPaletteColorLookupTableData", "SegmentedRedPaletteColorLookupTableData")):
            raise InputError(f"{label}: a PALETTE COLOR image without its colour lookup table: cannot show its colours")
        out_samples = 3
    limits.check_image(label, frames, rows, cols, out_samples)
    return Geometry(frames, rows, cols, samples, out_samples, bits, photometric)


def check_pixel_length(ds: Dataset, geo: Geometry, label: str, native: bool) -> None:
    """Native pixel data must hold at least what the header declares (no decoder guesses)."""
    if not native or "PixelData" not in ds:
        return
    try:
        element = ds["PixelData"]
        data = element.value
    except Exception:  # noqa: BLE001
        raise InputError(f"{label}: the element PixelData (7FE0,0010) cannot be read (malformed)") from None
    if element.is_undefined_length:
        raise InputError(f"{label}: the pixel data is encapsulated although the transfer syntax is uncompressed")
    have = len(data) if data is not None else 0
    if have < geo.stored_bytes:
        raise InputError(f"{label}: the pixel data is truncated ({have} of {geo.stored_bytes} bytes): the file was cut short")


# ----- Deflated Explicit VR Little Endian ---------------------------------------------------

_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}


def meta_end(data: bytes) -> tuple[int, str]:
    """(offset where the dataset starts, Transfer Syntax UID) from the file meta (group 0002,
    explicit VR little endian); (0, "") when there is no meta."""
    pos = 132 if data[128:132] == b"DICM" else 0
    syntax = ""
    while pos + 8 <= len(data):
        group, element = struct.unpack_from("<HH", data, pos)
        if group != 0x0002:
            break
        vr = data[pos + 4:pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > len(data):
                break
            (length,) = struct.unpack_from("<I", data, pos + 8)
            start = pos + 12
        elif re.fullmatch(rb"[A-Z]{2}", vr):
            (length,) = struct.unpack_from("<H", data, pos + 6)
            start = pos + 8
        else:
            break  # implicit VR meta (not standard): leave it to pydicom
        if length == 0xFFFFFFFF or start + length > len(data):
            break
        if element == 0x0010:
            syntax = data[start:start + length].rstrip(b"\x00 ").decode("ascii", "replace")
        pos = start + length
    return pos, syntax


def _stop_at_pixels(tag: Any, vr: Any, length: int) -> bool:
    return int(tag) in PIXEL_TAGS


def read_deflated(data: bytes, label: str, stop_before_pixels: bool = False) -> Dataset | None:
    """A Deflated Explicit VR file parsed with bounded inflation; None when ``data`` is not one.

    The header is inflated first (at most ``DEFLATE_HEAD`` bytes) and its geometry checked, so a
    few-kilobyte file declaring 24000² pixels is refused before the rest is inflated; the rest
    is counted against ``MEDLENS_MAX_ZIP_BYTES`` while it is inflated.
    """
    from pydicom import dcmread
    from pydicom.dataset import FileDataset
    from pydicom.filebase import DicomBytesIO
    from pydicom.filereader import read_dataset

    start, syntax = meta_end(data)
    if syntax != DEFLATED:
        return None
    meta = dcmread(DicomBytesIO(data[:start]), force=True).file_meta
    body = data[start:]

    def parse(inflated: bytes, stop: bool) -> Dataset:
        fp = DicomBytesIO(inflated)
        fp.is_little_endian, fp.is_implicit_VR = True, False
        return read_dataset(fp, is_implicit_VR=False, is_little_endian=True, stop_when=_stop_at_pixels if stop else None)

    head = limits.inflate_raw(body, label, head=DEFLATE_HEAD)
    pixel_tag = head.find(b"\xe0\x7f\x10\x00")  # may also match inside a value: then the header reads oddly
    header = None
    if pixel_tag > 0:
        try:
            header = parse(head[:pixel_tag], stop=True)
        except Exception:  # noqa: BLE001 - a header we cannot read here is read (and refused) below
            header = None
        if header is not None and "Rows" in header and "Columns" in header:
            geometry(header, label)
        else:
            header = None
    if stop_before_pixels and header is not None:
        dataset = header
    else:
        inflated = limits.inflate_raw(body, label)
        dataset = parse(inflated, stop_before_pixels)
        del inflated
    ds = FileDataset(label, dataset, preamble=data[:128] if start >= 132 else None, file_meta=meta,
                     is_implicit_VR=False, is_little_endian=True)
    ds.set_original_encoding(False, True, dataset._character_set)
    return ds


# ----- compressed codestreams: their own declared size, before a decoder allocates it ---------

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}  # F7: JPEG-LS
_SCAN_BYTES = 1 << 20


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(rows, columns) from the SOF segment of a JPEG / JPEG-LS stream; None when absent."""
    pos = 2
    end = min(len(data), _SCAN_BYTES)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if marker in _SOF:
            if pos + 9 > len(data):
                return None
            rows, cols = struct.unpack_from(">HH", data, pos + 5)
            return rows, cols
        pos += 2 + length
    return None


def _j2k_size(data: bytes) -> tuple[int, int] | None:
    """(rows, columns) from the SIZ segment of a JPEG 2000 codestream (bare or in JP2 boxes)."""
    at = data.find(b"\xff\x4f\xff\x51", 0, _SCAN_BYTES)
    if at < 0 or at + 24 > len(data):
        return None
    xsiz, ysiz, xo, yo = struct.unpack_from(">IIII", data, at + 8)
    return max(0, ysiz - yo), max(0, xsiz - xo)


def check_codestreams(ds: Dataset, geo: Geometry, label: str, syntax: str, name: str = "") -> None:
    """Every compressed frame must declare no more rows or columns than the DICOM header (a
    JPEG 2000 stream claiming 60000² makes the decoder allocate that before failing)."""
    j2k = syntax.startswith("1.2.840.10008.1.2.4.9") or syntax.startswith("1.2.840.10008.1.2.4.20")
    jpeg = syntax in {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
                      "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}
    if not (j2k or jpeg) or "PixelData" not in ds:
        return
    from pydicom.encaps import generate_fragments

    try:
        data = ds["PixelData"].value
        fragments = list(generate_fragments(data))
    except Exception:  # noqa: BLE001
        raise InputError(f"{label}: the encapsulated pixel data is malformed (bad item tags or lengths)") from None
    refuse = f"{label}: {name or 'compressed pixel data'}: no installed decoder can read this file"
    for fragment in fragments:
        starts = fragment[:2] == b"\xff\xd8" or fragment[:4] in (b"\xff\x4f\xff\x51", b"\x00\x00\x00\x0c")
        if not starts:
            continue  # a continuation fragment of the frame before
        size = _j2k_size(fragment) if j2k else _jpeg_size(fragment)
        if size is None:
            raise InputError(f"{refuse} (a frame has no readable image size: corrupt stream)")
        rows, cols = size
        if rows > geo.rows or cols > geo.cols or rows == 0 or cols == 0:
            raise InputError(f"{refuse} (a frame declares {cols}x{rows} pixels, the header {geo.cols}x{geo.rows}: "
                             "corrupt or hostile stream)")
