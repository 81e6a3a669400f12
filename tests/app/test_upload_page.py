"""Upload & preprocessing page under AppTest: real files through the uploader, presets,
pipeline editing, crop, exports, working image, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.ui.state import WORKING_IMAGE

REPO = Path(__file__).resolve().parents[2]
PAGE = str(REPO / "pages" / "upload_preprocess.py")


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def _upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key="up.files").set_value([(name, data, "application/octet-stream") for name, data in files])
    return at.run()


def test_renders_with_an_invitation() -> None:
    at = _page()
    assert at.title[0].value == "Upload & preprocessing"
    assert any("Upload a file" in i.value for i in at.info)


def test_upload_dicom_preset_operation_crop_and_working_image(shared_data: Path) -> None:
    at = _page()
    path = shared_data / "dicom" / "ct" / "CT_small.dcm"
    at = _upload(at, [(path.name, path.read_bytes())])
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("CT_small.dcm" in m.value and "CT" in m.value for m in at.markdown)
    at.selectbox(key="up.view.preset").select("CT lung").run()
    assert (at.slider(key="up.view.center").value, at.slider(key="up.view.width").value) == (-600.0, 1500.0)
    at.selectbox(key="up.pipeline.new_op").select("median")
    at.button(key="up.pipeline.add").click().run()
    at.button(key="up.window_step").click().run()
    for name, value in (("top", 10), ("left", 20), ("height", 50), ("width", 60)):
        at.number_input(key=f"up.crop.{name}").set_value(value)
    at.button(key="up.crop.add").click().run()
    assert not at.exception, at.exception
    steps = at.session_state["up.pipeline"].to_dict()["steps"]
    assert [s["op"] for s in steps] == ["median", "window", "crop"]
    assert steps[1]["params"]["center"] == -600.0
    assert steps[2]["params"] == {"top": 10, "left": 20, "height": 50, "width": 60}
    at.button(key="up.use").click().run()
    assert not at.exception, at.exception
    working = at.session_state[WORKING_IMAGE]
    assert working.shape == (1, 50, 60) and working.window == (0.5, 1.0)
    assert any("Working image set" in s.value for s in at.success)


def test_series_upload_in_any_order_and_mixed_series_pick(shared_data: Path) -> None:
    at = _page()
    ct = sorted((shared_data / "dicom" / "series" / "ct_chest_3slice_dcmqi").glob("*.dcm"))
    mr = sorted((shared_data / "dicom" / "series" / "mr_brain_memprage_6slice_bbmri").glob("*.dcm"))
    at = _upload(at, [(p.name, p.read_bytes()) for p in reversed(ct)] + [(p.name, p.read_bytes()) for p in mr])
    assert not at.exception
    radio = at.radio(key="up.series")
    assert len(radio.options) == 2
    listing = at.session_state["up.listing"][2]
    ct_uid = next(s.series_uid for s in listing.series if s.modality == "CT")
    at.radio(key="up.series").set_value(ct_uid).run()
    assert not at.exception
    image = at.session_state["up.image"]
    assert image.shape == (3, 512, 512)
    assert at.slider(key="up.view.slice").value == 2  # the middle slice, numbered from 1


@pytest.mark.parametrize("name, data, words", [
    ("notes.dcm", b"just some text, not DICOM\n", "text file"),
    ("empty.png", b"", "empty"),
])
def test_bad_upload_shows_a_one_line_error(name: str, data: bytes, words: str) -> None:
    at = _upload(_page(), [(name, data)])
    assert not at.exception, at.exception
    assert at.error and words in at.error[0].value and "Traceback" not in at.error[0].value


def test_malformed_dicom_is_refused_with_its_reason(shared_data: Path) -> None:
    path = shared_data / "dicom" / "malformed" / "truncated_60pct_ct_slice.dcm"
    at = _upload(_page(), [(path.name, path.read_bytes())])
    assert not at.exception
    assert "truncated" in at.error[0].value


def test_example_metadata_and_deid_download() -> None:
    at = _page()
    at.selectbox(key="up.example").select("CT slice (HU)")
    at.button(key="up.load_example").click().run()
    assert not at.exception, at.exception
    at.text_input(key="up.meta.query").input("Patient").run()
    assert not at.exception
    frames = [df.value for df in at.dataframe]
    meta = next(f for f in frames if "identifying" in f.columns)
    assert meta["identifying"].any() and meta["field"].str.contains("Patient").all()
    assert any("de-identified" in b.label for b in at.get("download_button"))


def test_bad_pipeline_step_shows_error_not_traceback(shared_data: Path) -> None:
    path = shared_data / "dicom" / "ct" / "CT_small.dcm"
    at = _upload(_page(), [(path.name, path.read_bytes())])
    at.session_state["up.pipeline"].add("crop", top=500, left=500, height=10, width=10)
    at.run()
    assert not at.exception
    assert any("outside" in e.value for e in at.error)


def test_batch_mode_zips_results_with_a_report(shared_data: Path) -> None:
    at = _page()
    at.selectbox(key="up.example").select("CT slice (HU)")
    at.button(key="up.load_example").click().run()
    at.selectbox(key="up.pipeline.new_op").select("gaussian")
    at.button(key="up.pipeline.add").click().run()
    files = [shared_data / "dicom" / "mr" / "MR_small.dcm", shared_data / "dicom" / "nifti" / "anatomical.nii"]
    uploads = [(p.name, p.read_bytes(), "application/octet-stream") for p in files] + [("bad.txt", b"hello", "text/plain")]
    at.file_uploader(key="up.batch.files").set_value(uploads)
    at.run()
    at.radio(key="up.batch.fmt").set_value("nifti")
    at.button(key="up.batch.run").click().run()
    assert not at.exception, at.exception
    archive, report = at.session_state["up.batch.result"]["result"]
    assert [r["status"] for r in report] == ["ok", "ok", "skipped"]
    assert any("2 of 3" in w.value for w in at.warning)
    import io
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert sorted(names) == ["MR_small.nii.gz", "anatomical.nii.gz", "pipeline.json"]


def test_dicom_export_offers_deidentify_on_by_default(shared_data: Path) -> None:
    """Issue #20.1: the derived-DICOM export of the 3-slice CT (PatientName JANCT000) offers
    "De-identify", on because the source names a patient, and says what is kept."""
    folder = shared_data / "dicom" / "series" / "ct_chest_3slice_dcmqi"
    at = _upload(_page(), [(p.name, p.read_bytes()) for p in sorted(folder.glob("*"))])
    assert not at.exception, at.exception
    box = at.checkbox(key="up.dl_deid")
    assert box.value is True and box.label == "De-identify"
    assert any("De-identified" in c.value for c in at.caption)
    box.uncheck().run()
    assert any("Keeps the source's identifiers" in c.value for c in at.caption)


def test_batch_dicom_export_offers_deidentify(shared_data: Path) -> None:
    at = _page()
    at.selectbox(key="up.example").select("CT slice (HU)")
    at.button(key="up.load_example").click().run()
    at.radio(key="up.batch.fmt").set_value("dicom").run()
    assert at.checkbox(key="up.batch.deid").value is True


def _mixed_zip(shared_data: Path) -> bytes:
    """3 good CT slices, a text file and a truncated slice of another scan, zipped."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((shared_data / "dicom" / "series" / "ct_chest_3slice_dcmqi").glob("*.dcm")):
            archive.writestr(path.name, path.read_bytes())
        archive.writestr("notes.txt", b"these are notes, not an image\n")
        archive.write(shared_data / "dicom" / "malformed" / "truncated_60pct_ct_slice.dcm", "truncated.dcm")
    return buffer.getvalue()


def test_mixed_zip_counts_good_slices_and_lists_each_bad_file_once(shared_data: Path) -> None:
    """Issue 20 item 4: "(3 slices)", not "(4 files)"; each skipped file named once; 1-based slices."""
    at = _upload(_page(), [("mixed.zip", _mixed_zip(shared_data))])
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["up.image"].shape == (3, 512, 512)
    page_text = " ".join(m.value for m in at.markdown) + " ".join(e.label for e in at.expander)
    assert "3 slices" in page_text and "4 files" not in page_text, page_text
    skipped = [name for frame in at.dataframe if "file" in frame.value.columns for name in frame.value["file"]]
    assert sorted(skipped) == ["notes.txt", "truncated.dcm"], skipped
    assert any("2 file(s) skipped" in e.label for e in at.expander)
    slider = at.slider(key="up.view.slice")
    assert (slider.min, slider.max, slider.value) == (1, 3, 2) and "of 3" in slider.label
    slider.set_value(3).run()
    assert not at.exception and at.session_state["up.view.frame"] == 2  # slice 3 is index 2


def test_batch_result_hidden_when_files_or_format_change(shared_data: Path) -> None:
    """Issue 20 item 2: the batch report is not shown beside a changed format, file list or pipeline."""
    at = _page()
    at.selectbox(key="up.example").select("CT slice (HU)")
    at.button(key="up.load_example").click().run()
    path = shared_data / "dicom" / "mr" / "MR_small.dcm"
    at.file_uploader(key="up.batch.files").set_value([(path.name, path.read_bytes(), "application/octet-stream")])
    at.run()
    at.button(key="up.batch.run").click().run()
    assert any(b.key == "up.batch.download" for b in at.get("download_button"))
    at.radio(key="up.batch.fmt").set_value("nifti").run()
    assert not at.exception, at.exception
    assert not any(b.key == "up.batch.download" for b in at.get("download_button"))
    assert any("Inputs changed — run again" in w.value for w in at.warning)


def test_4d_nifti_gets_a_time_selector_not_flattened_slices(tmp_path: Path) -> None:
    import nibabel as nib
    import numpy as np

    data = np.zeros((8, 6, 4, 3), np.float32)
    for t in range(3):
        data[..., t] = 10 * (t + 1)
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(tmp_path / "dyn.nii"))
    at = _upload(_page(), [("dyn.nii", (tmp_path / "dyn.nii").read_bytes())])
    assert not at.exception, at.exception
    assert at.slider(key="up.time_point").max == 3
    assert any("3 time points × 4 slices" in c.value for c in at.caption)
    at.slider(key="up.time_point").set_value(2).run()
    at.button(key="up.use").click().run()
    assert not at.exception, at.exception
    working = at.session_state[WORKING_IMAGE]
    assert working.n_frames == 4 and float(working.pixels.max()) == 20.0  # time point 2, its 4 slices


def test_cine_playback_shows_one_frame_in_both_panels(shared_data: Path) -> None:
    """While playing, Before and After are one picture made from one frame index (they were two
    pictures drawn at different moments, so playback showed two different frames)."""
    path = shared_data / "dicom" / "multiframe" / "emri_small.dcm"
    at = _upload(_page(), [(path.name, path.read_bytes())])
    at.selectbox(key="up.pipeline.new_op").select("median")
    at.button(key="up.pipeline.add").click().run()
    at.toggle(key="up.view.play").set_value(True).run()
    seen = []
    for _ in range(3):
        assert not at.exception, at.exception
        pictures = [[im.caption for im in element.proto.imgs] for element in at.get("image")]
        assert len(pictures) == 1 and len(pictures[0]) == 1, pictures  # one picture holds both panels
        where = f"{at.session_state['up.view.frame'] + 1} of 10"
        before, after = pictures[0][0].split(" | ")
        assert before == f"Before · {where}" and after.startswith("After · 1 step(s)") and after.endswith(where)
        seen.append(where)
        at.run()  # the timer's rerun: the next frame
    assert len(set(seen)) == 3
    at.toggle(key="up.view.play").set_value(False).run()
    assert len(at.get("image")) == 2  # paused: the two panels side by side again
