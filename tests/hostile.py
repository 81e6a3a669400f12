"""Hostile inputs built in memory, and a child process that loads them under a memory limit.

Used by ``tests/unit/test_fuzz_readers.py`` (fixed seed, a few hundred cases) and by the longer
developer fuzzer ``bench/fuzz_readers.py``. Nothing here is committed data: every bomb is made
from a few bytes (a deflate stream of zeros is one 1 KiB block repeated), every mutant from the
shared files.
"""

from __future__ import annotations

import io
import json
import os
import queue
import struct
import subprocess
import sys
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
GIB = 2**30
AS_LIMIT = 3 * GIB  # the address-space limit every hostile load runs under


# ----- compressed zeros, cheaply --------------------------------------------------------------

def _zero_blocks(n: int, level: int = 9) -> bytes:
    """Raw deflate blocks (not final) that inflate to ``n`` zero bytes; built from one 1 MiB block."""
    mib = 1 << 20
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    one = c.compress(bytes(mib)) + c.flush(zlib.Z_FULL_FLUSH)
    parts = [one] * (n // mib)
    if n % mib:
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        parts.append(c.compress(bytes(n % mib)) + c.flush(zlib.Z_FULL_FLUSH))
    return b"".join(parts)


def _raw_blocks(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)


FINAL_BLOCK = b"\x03\x00"  # an empty final deflate block


def _crc_zeros(n: int, crc: int = 0) -> int:
    mib = bytes(1 << 20)
    for _ in range(n // len(mib)):
        crc = zlib.crc32(mib, crc)
    return zlib.crc32(bytes(n % len(mib)), crc)


def gzip_of(prefix: bytes, zeros: int) -> bytes:
    """A gzip stream of ``prefix`` followed by ``zeros`` zero bytes (valid CRC and size)."""
    body = _raw_blocks(prefix) + _zero_blocks(zeros) + FINAL_BLOCK
    crc = _crc_zeros(zeros, zlib.crc32(prefix))
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + body + struct.pack("<II", crc, (len(prefix) + zeros) & 0xFFFFFFFF)


# ----- bombs -----------------------------------------------------------------------------------

def nifti_header(shape: tuple[int, ...], datatype: int = 2, bitpix: int = 8, vox_offset: float = 352.0) -> bytes:
    """A NIfTI-1 header (348 bytes + 4 extension bytes) declaring ``shape``."""
    hdr = bytearray(352)
    struct.pack_into("<i", hdr, 0, 348)
    dims = [len(shape)] + list(shape) + [1] * (7 - len(shape))
    struct.pack_into("<8h", hdr, 40, *dims)
    struct.pack_into("<hh", hdr, 70, datatype, bitpix)
    struct.pack_into("<8f", hdr, 76, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    struct.pack_into("<f", hdr, 108, vox_offset)
    struct.pack_into("<f", hdr, 112, 1.0)  # scl_slope
    hdr[344:348] = b"n+1\x00"
    return bytes(hdr)


def nifti_gz_bomb() -> bytes:
    """A ~60-byte .nii.gz whose header declares 10^10 voxels (1000 x 1000 x 1000 x 10)."""
    import gzip

    return gzip.compress(nifti_header((1000, 1000, 1000, 10)), 9, mtime=0)


def nifti_gz_zeros(shape: tuple[int, ...], zeros: int) -> bytes:
    """A .nii.gz with an honest-looking header and ``zeros`` bytes of zero voxels (a gzip bomb)."""
    return gzip_of(nifti_header(shape), zeros)


def gzip_bomb(zeros: int = 2 * GIB) -> bytes:
    """A gzip of zeros that is not a NIfTI (2 MiB in, ``zeros`` bytes out)."""
    return gzip_of(b"", zeros)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 20_000) -> bytes:
    """A side x side 8-bit grey PNG of zeros (about 400 KB for 20000²)."""
    n = side * (side + 1)  # one filter byte per row
    adler = ((n % 65521) << 16) | 1  # adler32 of n zero bytes
    idat = b"\x78\xda" + _zero_blocks(n) + FINAL_BLOCK + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def tiff_tiled_bomb(side: int = 50_000, tile: int = 256) -> bytes:
    """A tiled, deflated TIFF declaring side x side 8-bit pixels; every tile is the same few bytes."""
    tile_data = zlib.compress(bytes(tile * tile), 9)
    n_tiles = (-(-side // tile)) ** 2
    entries = [(256, 4, 1, side), (257, 4, 1, side), (258, 3, 1, 8), (259, 3, 1, 8), (262, 3, 1, 1),
               (277, 3, 1, 1), (322, 3, 1, tile), (323, 3, 1, tile)]
    ifd_offset = 8
    ifd_size = 2 + 12 * (len(entries) + 2) + 4
    offsets_at = ifd_offset + ifd_size
    counts_at = offsets_at + 4 * n_tiles
    data_at = counts_at + 4 * n_tiles
    entries += [(324, 4, n_tiles, offsets_at), (325, 4, n_tiles, counts_at)]
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_offset))
    out += struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        if kind == 3 and count == 1:
            out += struct.pack("<HHIHH", tag, kind, count, value, 0)
        else:
            out += struct.pack("<HHII", tag, kind, count, value)
    out += struct.pack("<I", 0)
    out += struct.pack(f"<{n_tiles}I", *([data_at] * n_tiles))
    out += struct.pack(f"<{n_tiles}I", *([len(tile_data)] * n_tiles))
    out += tile_data
    return bytes(out)


def tiff_many_pages(n: int = 30_000) -> bytes:
    """A TIFF chaining ``n`` IFDs of 1x1 pixel that all share one byte of data (about 100 n bytes)."""
    entries = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8), (278, 3, 1, 1), (279, 4, 1, 1)]
    ifd_size = 2 + 12 * len(entries) + 4
    out = bytearray(b"II*\x00" + struct.pack("<I", 9) + b"\x00")  # the shared pixel at offset 8
    for i in range(n):
        out += struct.pack("<H", len(entries))
        for tag, kind, count, value in entries:
            out += struct.pack("<HHIHH", tag, kind, count, value, 0) if kind == 3 else struct.pack("<HHII", tag, kind, count, value)
        out += struct.pack("<I", 9 + (i + 1) * ifd_size if i + 1 < n else 0)
    return bytes(out)


def dicom_bytes(ds: Any, deflate_zeros: int | None = None) -> bytes:
    """``ds`` written as a DICOM file; with ``deflate_zeros`` the file is Deflated Explicit VR
    and its PixelData is that many zero bytes, streamed (never held in memory)."""
    from pydicom.filewriter import dcmwrite, write_file_meta_info
    from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian

    if deflate_zeros is None:
        out = io.BytesIO()
        dcmwrite(out, ds, enforce_file_format=False)
        return out.getvalue()
    body_ds = ds.copy()
    if "PixelData" in body_ds:
        del body_ds.PixelData
    body_ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    plain = io.BytesIO()
    dcmwrite(plain, body_ds, enforce_file_format=True)
    whole = plain.getvalue()
    from core.imaging.dicom_header import meta_end

    start, _ = meta_end(whole)
    body = whole[start:] + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, deflate_zeros)
    body_ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    meta = io.BytesIO()
    meta.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(meta, body_ds.file_meta, enforce_standard=True)
    return meta.getvalue() + _raw_blocks(body) + _zero_blocks(deflate_zeros) + FINAL_BLOCK


def shared_ct_small() -> Any:
    import pydicom

    from core.paths import shared_data_dir

    return pydicom.dcmread(shared_data_dir() / "dicom" / "ct" / "CT_small.dcm")


def dicom_deflate_bomb(side: int = 24_000) -> bytes:
    """A Deflated Explicit VR DICOM declaring side x side 8-bit pixels, all zeros (about 600 KB)."""
    ds = shared_ct_small()
    ds.Rows = ds.Columns = side
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    return dicom_bytes(ds, deflate_zeros=side * side)


def dicom_huge_geometry(rows: int = 65535, cols: int = 65535, frames: int | None = None, uid_suffix: str = "1") -> bytes:
    """CT_small with a huge declared geometry and its small original pixel data."""
    ds = shared_ct_small()
    ds.Rows, ds.Columns = rows, cols
    if frames is not None:
        ds.NumberOfFrames = frames
    ds.SOPInstanceUID = ds.SOPInstanceUID + "." + uid_suffix
    return dicom_bytes(ds)


def dicom_codestream_bomb(kind: str = "j2k", side: int = 60_000) -> bytes:
    """A shared compressed DICOM whose JPEG 2000 (SIZ) or JPEG (SOF) stream declares side² pixels
    while the DICOM header keeps its own small size: decoders allocate what the stream says."""
    from core.paths import shared_data_dir

    folder = shared_data_dir() / "dicom" / "compressed"
    if kind == "j2k":
        data = (folder / "CT1_J2KI.dcm").read_bytes()
        at = data.find(b"\xff\x4f\xff\x51")
        return data[: at + 8] + struct.pack(">II", side, side) + data[at + 16:]
    data = (folder / "leadtools-8BitsJpegLossyGrayScale.dcm").read_bytes()
    at = data.find(b"\xff\xc0")
    return data[: at + 5] + struct.pack(">HH", side, side) + data[at + 9:]


def zip_of(files: Iterable[tuple[str, bytes]]) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return out.getvalue()


def zip_lying(real: int = GIB, entries: int = 4, declared: int = 1024, names: list[str] | None = None) -> bytes:
    """A zip whose entries declare ``declared`` bytes each but inflate to ``real`` bytes in all
    (local headers and central directory both lie; the CRC is that of the real data)."""
    per = real // entries
    payload = _zero_blocks(per) + FINAL_BLOCK
    crc = _crc_zeros(per)
    out = bytearray()
    central = bytearray()
    for i in range(entries):
        name = (names[i] if names else f"scan{i:02d}.dcm").encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(payload), declared, len(name), 0)
        out += name + payload
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(payload),
                               declared, len(name), 0, 0, 0, 0, 0, offset) + name
    start = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, entries, entries, len(central), start, 0)
    return bytes(out)


def zip_honest_bomb(per: int = 300 * 2**20, entries: int = 5, names: list[str] | None = None) -> bytes:
    """A zip of ``entries`` members that start like DICOM files and go on with zeros, ``per``
    bytes each, sizes declared truthfully: only the byte budget stops it."""
    prefix = b"\x00" * 128 + b"DICM"
    payload = _raw_blocks(prefix) + _zero_blocks(per - len(prefix)) + FINAL_BLOCK
    crc = _crc_zeros(per - len(prefix), zlib.crc32(prefix))
    out, central = bytearray(), bytearray()
    for i in range(entries):
        name = (names[i] if names else f"z{i}.dcm").encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(payload), per, len(name), 0) + name + payload
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(payload), per,
                               len(name), 0, 0, 0, 0, 0, offset) + name
    start = len(out)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, entries, entries, len(central), start, 0)
    return bytes(out)


def zip_many_entries(n: int = 20_000) -> bytes:
    return zip_of((f"f{i}.txt", b"") for i in range(n))


BOMBS: dict[str, tuple[str, Any, str]] = {
    # name: (file name, builder, words the refusal must contain)
    "nifti_gz_1e10_voxels": ("bomb.nii.gz", nifti_gz_bomb, "MEDLENS_MAX_VOXELS"),
    "nifti_gz_zeros_over_voxels": ("zeros.nii.gz", lambda: nifti_gz_zeros((1000, 1000, 1000), 64 * 2**20), "MEDLENS_MAX_VOXELS"),
    "gzip_bomb_2gib": ("bomb.gz", gzip_bomb, "gzip"),
    "tiff_tiled_50000": ("tiles.tif", tiff_tiled_bomb, "MEDLENS_MAX_PIXELS"),
    "tiff_30000_pages": ("pages.tif", tiff_many_pages, "MEDLENS_MAX_FRAMES"),
    "dicom_deflated_24000": ("deflate.dcm", dicom_deflate_bomb, "MEDLENS_MAX_PIXELS"),
    "png_20000": ("big.png", png_bomb, "MEDLENS_MAX_PIXELS"),
    "zip_two_dicoms_65535": ("two.zip", lambda: zip_of([("a.dcm", dicom_huge_geometry(uid_suffix="1")),
                                                        ("b.dcm", dicom_huge_geometry(uid_suffix="2"))]), "MEDLENS_MAX_PIXELS"),
    "dicom_j2k_stream_60000": ("j2k.dcm", lambda: dicom_codestream_bomb("j2k"), "declares 60000x60000"),
    "dicom_jpeg_stream_60000": ("jpeg.dcm", lambda: dicom_codestream_bomb("jpeg"), "declares 60000x60000"),
    "dicom_frames_1e9": ("frames.dcm", lambda: dicom_huge_geometry(512, 512, frames=10**9), "MEDLENS_MAX_FRAMES"),
    "dicom_frames_15000": ("frames15k.dcm", lambda: dicom_huge_geometry(512, 512, frames=15_000), "MEDLENS_MAX_VOXELS"),
    "zip_lying_sizes_1gib": ("lying.zip", zip_lying, "damaged"),
    "zip_honest_1_5gib": ("honest.zip", zip_honest_bomb, "MEDLENS_MAX_ZIP_BYTES"),
    "zip_20000_entries": ("many.zip", zip_many_entries, "MEDLENS_MAX_ZIP_ENTRIES"),
    "zip_zero_junk_1_5gib": ("junk.zip", lambda: zip_lying(real=3 * GIB // 2, entries=5, declared=3 * GIB // 10), "no usable image"),
}


# ----- a child process that loads under an address-space limit --------------------------------

CHILD = r"""
import json, os, resource, sys, time
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.path.insert(0, sys.argv[2])
from core.errors import InputError
import core.imaging as imaging
assert "torch" not in sys.modules


def peak_mb():
    # VmHWM: this process's own peak RSS (ru_maxrss would carry the parent's over fork + exec)
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    case = json.loads(line)
    print(json.dumps({"start": case["id"]}), flush=True)
    t = time.perf_counter()
    out = {"id": case["id"]}
    try:
        if case.get("op") == "list":
            imaging.list_series(case["path"])
        else:
            out["shape"] = list(imaging.load(case["path"]).shape)
        out["status"] = "loaded"
    except InputError as exc:
        out.update(status="refused", message=str(exc))
    except BaseException as exc:
        out.update(status="unexpected", type=type(exc).__name__, message=str(exc)[:300])
    out["seconds"] = round(time.perf_counter() - t, 3)
    out["maxrss_mb"] = peak_mb()
    print(json.dumps(out), flush=True)
"""


@dataclass
class Outcome:
    id: str
    status: str  # loaded | refused | unexpected | timeout | crashed
    message: str = ""
    seconds: float = 0.0
    maxrss_mb: float = 0.0
    extra: dict = field(default_factory=dict)


def _reader(stream: Any, sink: "queue.Queue[Any]") -> None:
    for line in stream:
        sink.put(line)
    sink.put(None)


def run_cases(cases: list[dict[str, str]], timeout_s: float = 30.0, as_limit: int = AS_LIMIT,
              env: dict[str, str] | None = None) -> list[Outcome]:
    """Load each ``{"id", "path"[, "op"]}`` in child processes (many per child) under ``as_limit``;
    a case that runs past ``timeout_s`` or kills its child is recorded and the rest go on."""
    results: list[Outcome] = []
    pending = list(cases)
    while pending:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(as_limit), str(REPO)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env={**os.environ, **(env or {})})
        lines: "queue.Queue[Any]" = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
        assert proc.stdin is not None
        try:
            proc.stdin.write("".join(json.dumps(c) + "\n" for c in pending))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        current: str | None = None
        try:
            first = lines.get(timeout=180)  # a busy CI box can take a while to import numpy/pydicom
            if first is None or "ready" not in json.loads(first):
                raise RuntimeError("the child process did not start")
            while pending:
                line = lines.get(timeout=timeout_s)
                if line is None:  # the child died (killed by the OS, a crash in C code)
                    results.append(Outcome(pending[0]["id"], "crashed", f"exit status {proc.wait()}"))
                    pending.pop(0)
                    break
                msg = json.loads(line)
                if "start" in msg:
                    current = msg["start"]
                    continue
                results.append(Outcome(msg["id"], msg["status"], msg.get("message", ""), msg["seconds"], msg["maxrss_mb"],
                                       {"type": msg.get("type", ""), "shape": msg.get("shape")}))
                pending.pop(0)
        except queue.Empty:
            results.append(Outcome(current or pending[0]["id"], "timeout", f"over {timeout_s:g} s"))
            pending.pop(0)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return results


# ----- mutations of real files -------------------------------------------------------------------

DICOM_TAG_EDITS = ["Rows", "Columns", "NumberOfFrames", "BitsAllocated", "BitsStored", "SamplesPerPixel",
                   "PixelRepresentation", "PhotometricInterpretation", "PlanarConfiguration", "TransferSyntaxUID",
                   "PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient", "RescaleSlope",
                   "WindowCenter", "WindowWidth", "PixelData", "SeriesInstanceUID", "InstanceNumber"]
EDIT_KINDS = ["zero", "negative", "huge", "empty", "wrong_vr", "multi", "garbage"]


def _edit_value(ds: Any, keyword: str, kind: str, rng: np.random.Generator) -> None:
    from pydicom.dataelem import DataElement
    from pydicom.datadict import tag_for_keyword

    holder = ds.file_meta if keyword == "TransferSyntaxUID" else ds
    tag = tag_for_keyword(keyword)
    if kind == "empty":
        holder[tag] = DataElement(tag, holder[tag].VR if tag in holder else "LO", None)
    elif kind == "zero":
        holder[tag] = DataElement(tag, "IS", "0") if keyword != "TransferSyntaxUID" else DataElement(tag, "UI", "0")
    elif kind == "negative":
        holder[tag] = DataElement(tag, "SS", -int(rng.integers(1, 40000)))
    elif kind == "huge":
        holder[tag] = DataElement(tag, "UL", int(rng.choice([65535, 2**31 - 1, 2**32 - 1, 10**9])))
    elif kind == "wrong_vr":
        vr = str(rng.choice(["OB", "DS", "LO", "UN", "SQ", "FD"]))
        value = {"OB": bytes(rng.integers(0, 256, 7, dtype=np.uint8)), "DS": "12.5", "LO": "abc", "FD": 1e300,
                 "UN": bytes(rng.integers(0, 256, 5, dtype=np.uint8)), "SQ": []}[vr]
        holder[tag] = DataElement(tag, vr, value)
    elif kind == "multi":
        holder[tag] = DataElement(tag, "DS", ["1", "2", "3", "4"][: int(rng.integers(2, 5))])
    else:  # garbage text
        holder[tag] = DataElement(tag, "LO", "".join(chr(int(c)) for c in rng.integers(33, 126, 12)))


def mutate_dicom_tags(data: bytes, rng: np.random.Generator) -> bytes:
    """One to three header elements of a DICOM file set to hostile values, written back."""
    import warnings

    import pydicom
    from pydicom.filewriter import dcmwrite

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = io.BytesIO()
        try:
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
            for _ in range(int(rng.integers(1, 4))):
                _edit_value(ds, str(rng.choice(DICOM_TAG_EDITS)), str(rng.choice(EDIT_KINDS)), rng)
            dcmwrite(out, ds, enforce_file_format=False)
        except Exception:  # noqa: BLE001 - pydicom refused the value or to write it: flip bytes instead
            return flip_bytes(data, rng)
    return out.getvalue()


NIFTI_FIELDS = {  # offset, struct format, hostile values
    "dim": (40, "<8h", None), "datatype": (70, "<h", [0, -1, 7, 128, 2304, 32767]), "bitpix": (72, "<h", [0, -8, 3, 999]),
    "pixdim": (76, "<8f", None), "vox_offset": (108, "<f", [0.0, -1.0, 1e12, float("nan"), 351.0, 3e9]),
    "scl_slope": (112, "<f", [0.0, float("nan"), float("inf"), -1e38]), "sizeof_hdr": (0, "<i", [0, 540, -348]),
    "qform_code": (252, "<h", [-5, 99]), "sform_code": (254, "<h", [-5, 99]),
    "srow_x": (280, "<4f", None),
}


def mutate_nifti_header(data: bytes, rng: np.random.Generator) -> bytes:
    """A NIfTI-1 header field set to a hostile value (dims 0, negative, huge; bad types, offsets)."""
    buf = bytearray(data)
    name = str(rng.choice(list(NIFTI_FIELDS)))
    offset, fmt, values = NIFTI_FIELDS[name]
    if name == "dim":
        dims = list(struct.unpack_from(fmt, buf, offset))
        i = int(rng.integers(0, 8))
        dims[i] = int(rng.choice([0, -1, -32768, 32767, 8, 1000]))
        struct.pack_into(fmt, buf, offset, *dims)
    elif name in ("pixdim", "srow_x"):
        n = 8 if name == "pixdim" else 4
        struct.pack_into(fmt, buf, offset, *[float(rng.choice([0.0, -1.0, float("nan"), float("inf"), 1e30])) for _ in range(n)])
    else:
        struct.pack_into(fmt, buf, offset, rng.choice(values).item())
    return bytes(buf)


def flip_bytes(data: bytes, rng: np.random.Generator, head: int = 4096) -> bytes:
    """1-16 random bytes changed, mostly in the first ``head`` bytes (where the headers are)."""
    buf = bytearray(data)
    if not buf:
        return bytes(buf)
    for _ in range(int(rng.integers(1, 17))):
        span = len(buf) if rng.random() < 0.2 else min(head, len(buf))
        buf[int(rng.integers(0, span))] = int(rng.integers(0, 256))
    return bytes(buf)


def truncate(data: bytes, rng: np.random.Generator) -> bytes:
    return data[: int(rng.integers(0, max(1, len(data))))]


def regzip(data: bytes, rng: np.random.Generator, mutate: Any) -> bytes:
    """For a .nii.gz: mutate the inflated content, then gzip it again."""
    import gzip

    return gzip.compress(mutate(gzip.decompress(data), rng), 1, mtime=0)


@dataclass
class Seed:
    """A source file for mutation, with the identifying values a refusal must never echo."""

    name: str
    data: bytes
    kind: str  # dicom | nifti | nifti-gz | raster
    secrets: list[str] = field(default_factory=list)


def dicom_secrets(data: bytes) -> list[str]:
    """Identifying values of a DICOM file (names, IDs, birth date, institution, accession number)."""
    import warnings

    import pydicom

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(io.BytesIO(data), force=True, stop_before_pixels=True)
            values = [str(ds.get(k, "") or "") for k in ("PatientName", "PatientID", "OtherPatientIDs", "PatientBirthDate",
                                                           "InstitutionName", "ReferringPhysicianName", "AccessionNumber")]
        except Exception:  # noqa: BLE001
            return []
    # too short or four-digit IDs ("0010") cannot be told from the tag numbers refusals name
    return [v for v in values if len(v.strip("^ ")) >= 4 and not (v.isdigit() and len(v) <= 4)]


def mutants(seeds: list[Seed], n: int, seed: int = 0) -> Iterable[tuple[str, str, bytes, list[str]]]:
    """``n`` (case id, file suffix, bytes, secrets) mutants of ``seeds``, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        src = seeds[int(rng.integers(0, len(seeds)))]
        choice = rng.random()
        if src.kind == "dicom":
            how = "tags" if choice < 0.5 else ("flip" if choice < 0.85 else "truncate")
            data = {"tags": mutate_dicom_tags, "flip": flip_bytes, "truncate": truncate}[how](src.data, rng)
        elif src.kind == "nifti":
            how = "header" if choice < 0.5 else ("flip" if choice < 0.8 else "truncate")
            data = {"header": mutate_nifti_header, "flip": lambda d, r: flip_bytes(d, r, 352), "truncate": truncate}[how](src.data, rng)
        elif src.kind == "nifti-gz":
            how = "header" if choice < 0.4 else ("flip" if choice < 0.7 else "truncate")
            if how == "header":
                data = regzip(src.data, rng, mutate_nifti_header)
            else:
                data = flip_bytes(src.data, rng, 64) if how == "flip" else truncate(src.data, rng)
        else:
            how = "flip" if choice < 0.7 else "truncate"
            data = flip_bytes(src.data, rng, 256) if how == "flip" else truncate(src.data, rng)
        suffix = {"dicom": ".dcm", "nifti": ".nii", "nifti-gz": ".nii.gz"}.get(src.kind, Path(src.name).suffix)
        yield f"{i:04d}-{how}-{Path(src.name).name}", suffix, data, src.secrets


def default_seeds(shared: Path, small: bool = True) -> list[Seed]:
    """Small shared DICOM, NIfTI and raster files (plus a TIFF and a 16-bit PNG made from them)."""
    import tifffile
    from PIL import Image

    dicom = shared / "dicom"
    names = ["ct/CT_small.dcm", "mr/MR_small.dcm", "compressed/MR_small_RLE.dcm", "compressed/MR_small_jp2klossless.dcm",
             "compressed/MR_small_jpeg_ls_lossless.dcm", "compressed/SC_rgb_jpeg_dcmtk.dcm", "compressed/image_dfl.dcm",
             "compressed/JPGExtended.dcm", "compressed/CT1_J2KI.dcm", "multiframe/emri_small.dcm",
             "malformed/no_preamble_no_meta_CT_small.dcm", "xray/gdcm-CR-MONO1-10-chest.dcm"]
    if not small:
        names += ["multiframe/examples_ybr_color.dcm", "multiframe/eCT_Supplemental.dcm", "ct/693_UNCR.dcm",
                  "mr/MR-SIEMENS-DICOM-WithOverlays.dcm", "compressed/CT1_RLE.dcm", "compressed/CT1_JPLL.dcm"]
    seeds = []
    for name in names:
        path = dicom / name
        if path.is_file():
            data = path.read_bytes()
            seeds.append(Seed(name, data, "dicom", dicom_secrets(data)))
    for name, kind in (("nifti/standard.nii.gz", "nifti-gz"), ("nifti/anatomical.nii", "nifti"), ("nifti/example4d.nii.gz", "nifti-gz")):
        if (dicom / name).is_file():
            seeds.append(Seed(name, (dicom / name).read_bytes(), kind))
    pngs = sorted((shared / "seg" / "kvasir_seg" / "images").glob("*.png"))[:1] + sorted((shared / "seg" / "covid_cxr_seg" / "images").glob("*.png"))[:1]
    for path in pngs:
        with Image.open(path) as img:
            small_img = img.convert("RGB" if img.mode not in ("L", "I;16") else img.mode).resize((96, 80))
            buf = io.BytesIO()
            small_img.save(buf, "PNG")
            seeds.append(Seed(path.name, buf.getvalue(), "raster"))
            arr = np.asarray(small_img)
            jpg = io.BytesIO()
            small_img.convert("RGB").save(jpg, "JPEG")
            seeds.append(Seed(path.stem + ".jpg", jpg.getvalue(), "raster"))
            tif = io.BytesIO()
            tifffile.imwrite(tif, np.stack([arr, arr]), tile=(32, 32) if arr.ndim == 3 else None, compression="zlib")
            seeds.append(Seed(path.stem + ".tif", tif.getvalue(), "raster"))
    grey16 = io.BytesIO()
    Image.fromarray((np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 13)).save(grey16, "PNG")
    seeds.append(Seed("grey16.png", grey16.getvalue(), "raster"))
    return seeds


def check_outcome(outcome: Outcome, secrets: list[str]) -> str | None:
    """Why an outcome breaks the contract (None when it is fine)."""
    if outcome.status == "loaded":
        return None
    if outcome.status != "refused":
        return f"{outcome.status}: {outcome.extra.get('type', '')} {outcome.message[:200]}"
    message = outcome.message
    if "\n" in message or "\r" in message:
        return "refusal spans several lines"
    if len(message) > 300:
        return f"refusal is {len(message)} characters long"
    if any(s in message for s in secrets):
        return "refusal echoes an identifying value"
    if "\\x" in message or "b'" in message:
        return "refusal carries raw bytes"
    return None
