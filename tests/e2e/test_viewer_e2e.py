"""The viewer on the 1955x1841 chest X-ray: zoom to 400%, brush, erase, undo, redo, a stroke
repeated after an undo, a model run, reload. After each step the mask Python stored
(``data-mask-sha``), the mask on the screen (``data-screen-sha``), the downloaded PNG / NIfTI /
DICOM SEG and the mask computed here (from the test's own strokes; for the model run, the same
model run here on the same pixels) are all equal."""

from __future__ import annotations

import gzip
import io

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from core.paths import shared_data_dir
from tests.e2e.conftest import ARTIFACTS, wait_until_idle
from tests.e2e.server import download
from tests.e2e.viewer_driver import ViewerDriver, reference_stroke, viewer_app

CR = "dicom/xray/RG1_J2KI.dcm"
HW = (1955, 1841)  # rows, columns ("1955x1841" in the data README is rows x columns)
BRUSH = 12  # diameter in image pixels: radius 6


@pytest.fixture(scope="module")
def cr_url(tmp_path_factory):
    path = shared_data_dir() / CR
    if not path.exists():
        pytest.skip(f"{CR} not in the shared data")
    with viewer_app(path, tmp_path_factory.mktemp("viewer") / "streamlit.log", brush=BRUSH) as url:
        yield url


def _exports_equal(page, expected: np.ndarray) -> None:
    png = np.asarray(Image.open(io.BytesIO(download(page, "PNG", exact=True)))) > 0
    assert png.shape == HW and np.array_equal(png, expected), "PNG differs from the screen"
    nifti = nib.Nifti1Image.from_bytes(gzip.decompress(download(page, "NIfTI", exact=True)))
    volume = np.asarray(nifti.dataobj).transpose(2, 1, 0) > 0  # (frames, H, W)
    assert np.array_equal(volume[0], expected), "NIfTI differs from the screen"
    import highdicom as hd
    import pydicom

    seg = hd.seg.Segmentation.from_dataset(pydicom.dcmread(io.BytesIO(download(page, "DICOM SEG", exact=True))))
    source = pydicom.dcmread(shared_data_dir() / CR, stop_before_pixels=True)
    pixels = np.asarray(seg.get_pixels_by_source_instance([source.SOPInstanceUID], skip_overlap_checks=True))
    assert np.array_equal(pixels[0, ..., 0] > 0, expected), "DICOM SEG differs from the screen"


def _check(viewer: ViewerDriver, page, expected: np.ndarray, exports: bool = True) -> None:
    viewer.expect_mask(expected)
    if exports:
        _exports_equal(page, expected)


def test_edits_at_400_percent_equal_exports_and_survive_reload(page, cr_url):
    page.goto(cr_url)
    viewer = ViewerDriver(page)
    viewer.wait_rendered()
    assert viewer.attr("data-slices") == "1"
    viewer.focus()
    for _ in range(5):  # fit (~31%) -> 50 -> 100 -> 200 -> 300 -> 400%
        viewer.key("+")
    viewer.wait("el.dataset.zoom === '4'")
    ox, oy = (round(v) for v in viewer.canvas_origin())
    radius = BRUSH / 2
    expected = np.zeros(HW, bool)

    stroke = viewer.drag([(ox + 500, oy + 200), (ox + 560, oy + 230), (ox + 640, oy + 240), (ox + 700, oy + 320)])
    expected |= reference_stroke(stroke, radius, HW)
    after_brush = expected.copy()
    _check(viewer, page, expected)
    page.screenshot(path=str(ARTIFACTS / "viewer-cr-400-brush.png"))

    viewer.key("e")
    erase = viewer.drag([(ox + 540, oy + 180), (ox + 600, oy + 260)])
    expected &= ~reference_stroke(erase, radius, HW)
    after_erase = expected.copy()
    assert after_erase.sum() < after_brush.sum()
    _check(viewer, page, expected)

    viewer.key("Control+z")
    _check(viewer, page, after_brush)
    viewer.key("Control+Shift+z")
    _check(viewer, page, after_erase)

    viewer.key("b")
    repeat_points = [(ox + 300, oy + 400), (ox + 380, oy + 420)]
    repeat = viewer.drag(repeat_points)
    with_repeat = after_erase | reference_stroke(repeat, radius, HW)
    _check(viewer, page, with_repeat, exports=False)
    viewer.key("Control+z")
    _check(viewer, page, after_erase, exports=False)
    assert viewer.drag(repeat_points) == repeat  # the same stroke again: a new edit, kept
    _check(viewer, page, with_repeat)
    assert viewer.attr("data-edits-failed") == "0"

    from core.imaging import load
    from core.segmentation import service

    model_mask = service.segment("lungs-cxr", load(str(shared_data_dir() / CR)).frame(0)).mask
    assert model_mask.any() and not np.array_equal(model_mask, with_repeat)
    wait_until_idle(page)
    page.get_by_role("button", name="Run model (lungs-cxr)").click()  # replaces "lung" on this frame
    _check(viewer, page, model_mask)
    viewer.wait("el.dataset.overlaySha === el.dataset.maskSha")  # and it is painted

    page.reload()
    viewer.wait_rendered()
    _check(viewer, page, model_mask)

    # W/L drag, then R: back to the image's own window/level, fitted; the mask is untouched
    viewer.focus()
    viewer.key("w")
    own_window = viewer.attr("data-wl")
    viewer.drag([(ox + 400, oy + 300), (ox + 520, oy + 380)])
    viewer.wait(f"el.dataset.wl !== '{own_window}'")
    viewer.key("r")
    viewer.wait(f"el.dataset.wl === '{own_window}' && Number(el.dataset.zoom) < 1")
    viewer.expect_mask(model_mask)
