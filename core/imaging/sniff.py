"""Content sniffing: what a byte string is, from its first bytes (never from its name)."""

from __future__ import annotations

import struct
import zlib

DICOM = "dicom"
DICOM_RAW = "dicom-raw"  # no preamble / no "DICM" (bare dataset or meta without preamble)
NIFTI = "nifti"
NIFTI_GZ = "nifti-gz"
PNG = "png"
JPEG = "jpeg"
TIFF = "tiff"
BMP = "bmp"
ZIP = "zip"
GZIP = "gzip"
UNKNOWN = "unknown"

RASTER_KINDS = {PNG, JPEG, TIFF, BMP}


def _looks_like_nifti_header(head: bytes) -> bool:
    if len(head) < 348:
        return False
    magic = head[344:348]
    if magic in (b"n+1\x00", b"ni1\x00"):
        return True
    return head[:4] in (struct.pack("<i", 540), struct.pack(">i", 540)) and head[4:12] == b"n+2\x00\r\n\x1a\n"


def _looks_like_bare_dicom(head: bytes) -> bool:
    """A dataset without preamble: starts with a group 0002/0008 (or 0018...) tag and a plausible VR/length."""
    if len(head) < 8:
        return False
    vr = head[4:6]
    explicit = vr.isalpha() and vr.isupper()
    for endian in "<>":
        group, element = struct.unpack(endian + "HH", head[:4])
        if group not in (0x0002, 0x0008, 0x0010, 0x0018, 0x0020, 0x0028) or element > 0x1000:
            continue
        if explicit:
            return True
        (length,) = struct.unpack(endian + "I", head[4:8])  # implicit VR: a sane element length
        if endian == "<" and length < 1 << 16:
            return True
    return False


def sniff(head: bytes) -> str:
    """Kind of a file from its first bytes (pass at least 512 bytes when you can)."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return DICOM
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return TIFF
    if head.startswith(b"BM") and len(head) > 14:
        return BMP
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return ZIP
    if head.startswith(b"\x1f\x8b"):
        try:
            inner = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 540)
        except zlib.error:
            inner = b""
        return NIFTI_GZ if _looks_like_nifti_header(inner) else GZIP
    if _looks_like_nifti_header(head):
        return NIFTI
    if _looks_like_bare_dicom(head):
        return DICOM_RAW
    return UNKNOWN


def describe_unknown(head: bytes) -> str:
    """A short human guess of what a non-image file is, for the refusal message."""
    sample = head[:512]
    if not sample:
        return "the file is empty"
    try:
        text = sample.decode("utf-8")
        if all(ch.isprintable() or ch in "\r\n\t" for ch in text):
            return "it looks like a text file"
    except UnicodeDecodeError:
        pass
    if sample.startswith(b"%PDF"):
        return "it is a PDF"
    return "the content is not DICOM, NIfTI, PNG, JPEG, TIFF or a zip"
