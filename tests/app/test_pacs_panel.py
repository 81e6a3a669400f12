"""Upload page under AppTest with a live Orthanc: "Open from PACS" (search, pick, open) and
"Send to PACS" of the derived DICOM; nothing of it shows when no server is configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.pacs import search_series, server_for_url
from tests.orthanc import LocalOrthanc
from tests.pacs_server import running_orthanc

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "upload_preprocess.py")
CR_STUDY = "1.2.392.200036.9125.0.199302241758.16"


@pytest.fixture(scope="module")
def orthanc(shared_data: Path):
    yield from running_orthanc(shared_data)


@pytest.fixture
def no_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLENS_SECRETS", str(tmp_path / "none.toml"))
    monkeypatch.delenv("MEDLENS_DICOMWEB_URL", raising=False)


def test_no_pacs_tab_without_a_server(no_secrets: None) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Upload", "Examples"]


def test_open_from_pacs_then_send_derived(orthanc: LocalOrthanc, no_secrets: None,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLENS_DICOMWEB_URL", orthanc.dicomweb_url)
    monkeypatch.setenv("MEDLENS_DICOMWEB_NAME", "Test Orthanc")
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert "Open from PACS" in [t.label for t in at.tabs]
    at.text_input(key="up.pacs.modality").set_value("CR")
    at.button[[b.label for b in at.button].index("Search")].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.radio(key="up.pacs.study").value == CR_STUDY
    at.button(key="up.pacs.open").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    image = at.session_state["up.image"]
    assert image.modality == "CR" and image.shape == (1, 440, 440)
    before = len(search_series(server_for_url(orthanc.dicomweb_url), CR_STUDY))
    at.button(key="up.send_derived").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Sent 1 object(s) to Test Orthanc" in s.value for s in at.success)
    after = search_series(server_for_url(orthanc.dicomweb_url), CR_STUDY)
    assert len(after) == before + 1 and any(s.description == "MedLens derived" for s in after)
