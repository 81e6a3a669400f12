"""The same hostile files are refused on every upload path, not only by ``core.imaging.load``:
the upload page's sources, classification batch, labeling import, GAN class zips, mask
imports and ``python -m core inspect`` (exit 2, one line)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from tests import hostile

# bombs refused from their headers: cheap to build and safe to try in the test process itself
HEADER_BOMBS = {
    "big.png": (hostile.png_bomb, "MEDLENS_MAX_PIXELS"),
    "tiles.tif": (hostile.tiff_tiled_bomb, "MEDLENS_MAX_PIXELS"),
    "deflate.dcm": (hostile.dicom_deflate_bomb, "MEDLENS_MAX_PIXELS"),
    "bomb.nii.gz": (hostile.nifti_gz_bomb, "MEDLENS_MAX_VOXELS"),
    "frames.dcm": (lambda: hostile.dicom_huge_geometry(512, 512, frames=10**9), "MEDLENS_MAX_FRAMES"),
    "frames15k.dcm": (lambda: hostile.dicom_huge_geometry(512, 512, frames=15_000), "MEDLENS_MAX_VOXELS"),
}


@pytest.fixture(scope="module")
def bombs(shared_data: Path) -> dict[str, bytes]:
    return {name: build() for name, (build, _) in HEADER_BOMBS.items()}


def _png(value: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((20, 24), value, np.uint8)).save(out, format="PNG")
    return out.getvalue()


def test_upload_page_sources_refuse_each_bomb(bombs: dict[str, bytes]) -> None:
    """What the upload page calls: ``load(bytes, name)`` for one file, ``list_series`` and
    ``load(entries, series_uid)`` for several files or a zip."""
    from core.imaging import list_series, load

    for name, data in bombs.items():
        with pytest.raises(InputError, match=HEADER_BOMBS[name][1]):
            load(data, name=name)
    uploads = list(bombs.items())
    listing = list_series(uploads)
    reasons = {s.file: s.reason for s in listing.skipped}
    for name in ("deflate.dcm", "frames.dcm"):  # DICOM headers are checked while listing
        assert HEADER_BOMBS[name][1] in reasons[name]
    for info in listing.series:  # the others are listed as files and refused when loaded
        with pytest.raises(InputError, match="MEDLENS_MAX_"):
            load(uploads, series_uid=info.series_uid)
    with pytest.raises(InputError, match="damaged"):
        load(hostile.zip_lying(real=64 * 2**20), name="lying.zip")


def test_classification_batch_refuses_each_bomb(bombs: dict[str, bytes]) -> None:
    from core.classification.batch import expand_sources, read_entry

    archive = hostile.zip_of(bombs.items())
    entries = expand_sources([("upload.zip", archive)] + [(name, data) for name, data in bombs.items()])
    assert len(entries) == 2 * len(bombs)
    for entry in entries:
        with pytest.raises(InputError, match=HEADER_BOMBS[Path(entry.name).name][1]) as info:
            read_entry(entry)
        assert "\n" not in str(info.value) and len(str(info.value)) <= 300
    with pytest.raises(InputError, match="damaged"):
        expand_sources([("lying.zip", hostile.zip_lying(real=64 * 2**20))])


def test_labeling_import_refuses_each_bomb(bombs: dict[str, bytes], tmp_path: Path) -> None:
    from core.labeling import LabelingStore, add_uploads

    store = LabelingStore(tmp_path / "labeling.sqlite")
    session = store.create_session("hostile", ["lesion"])
    ids, problems = add_uploads(store, session.id, list(bombs.items()) + [("ok.png", _png(90))])
    assert len(ids) == 1  # the one good file
    text = " | ".join(problems)
    for name, (_, words) in HEADER_BOMBS.items():
        assert any(name in p and words in p for p in problems), (name, text)
    ids, problems = add_uploads(store, session.id, [("lying.zip", hostile.zip_lying(real=64 * 2**20))])
    assert not ids and "damaged" in problems[0]


def test_gan_class_zip_refuses_each_bomb_and_counts_inflated_bytes(bombs: dict[str, bytes],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from core.synthesis import jobs

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for c, cls in enumerate(("a", "b")):
            for i in range(8):
                archive.writestr(f"data/{cls}/{i}.png", _png(60 + 100 * c + i))
            for name, data in bombs.items():
                archive.writestr(f"data/{cls}/{name.replace('.nii.gz', '.dcm')}", data)
    result = jobs.read_class_zip(buffer.getvalue(), size=32)
    assert result["images"].shape == (16, 32, 32)
    assert len(result["skipped"]) == 2 * len(bombs)
    assert all("MEDLENS_MAX_" in s for s in result["skipped"]), result["skipped"]
    lying = hostile.zip_lying(real=64 * 2**20, entries=2, names=["data/a/0.dcm", "data/b/0.dcm"])
    with pytest.raises(InputError, match="damaged"):
        jobs.read_class_zip(lying, size=32)
    monkeypatch.setenv("MEDLENS_MAX_ZIP_BYTES", str(2**20))
    honest = hostile.zip_honest_bomb(per=4 * 2**20, entries=2, names=["data/a/0.dcm", "data/b/0.dcm"])
    with pytest.raises(InputError, match="MEDLENS_MAX_ZIP_BYTES"):
        jobs.read_class_zip(honest, size=32)


def test_mask_imports_refuse_bombs(bombs: dict[str, bytes]) -> None:
    from core.imaging import MedImage
    from core.masks import io as mask_io

    image = MedImage(pixels=np.zeros((1, 20, 24), np.float32))
    with pytest.raises(InputError, match="MEDLENS_MAX_PIXELS"):
        mask_io.read_png(bombs["big.png"], ["a"], image, "a")
    with pytest.raises(InputError, match="MEDLENS_MAX_VOXELS"):
        mask_io.read_nifti(bombs["bomb.nii.gz"], ["a"], image, "a")
    with pytest.raises(InputError, match="MEDLENS_MAX_PIXELS"):
        mask_io.read_dicom_seg(bombs["deflate.dcm"], ["a"], image, "a")


def test_cli_inspect_exits_2_with_one_line_for_hostile_files(bombs: dict[str, bytes], shared_data: Path,
                                                             tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from core.cli import main

    dfl = (shared_data / "dicom" / "compressed" / "image_dfl.dcm").read_bytes()
    ct = (shared_data / "dicom" / "ct" / "CT_small.dcm").read_bytes()
    bad_vr = ct.replace(b"\x10\x00\x10\x00PN", b"\x10\x00\x10\x00Q7", 1)  # PatientName with an unknown VR
    files = {**bombs, "truncated_dfl.dcm": dfl[: len(dfl) // 2], "flipped_dfl.dcm": dfl[:400] + bytes(40) + dfl[440:]}
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        capsys.readouterr()
        assert main(["inspect", str(path)]) == 2, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and len(err) <= 310, err
        assert "CompressedSamples" not in err and "Traceback" not in err
    (tmp_path / "bad_vr.dcm").write_bytes(bad_vr)  # an unreadable element is shown as such: the image still loads
    assert main(["inspect", str(tmp_path / "bad_vr.dcm"), "--tags"]) == 0
    assert '"PatientName": "<unreadable value>"' in capsys.readouterr().out
