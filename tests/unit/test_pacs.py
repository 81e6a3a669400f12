"""DICOMweb against a real Orthanc: search, fetch (same pixels as the files), send back a SEG and
derived images that Orthanc files under the source study; limits, auth and refusals."""

from __future__ import annotations

import io
import json
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest

from core.cli import main as cli_main
from core.errors import InputError
from core.export.derived import to_dicom_datasets
from core.export.dicom_seg import seg_bytes
from core.imaging import load
from core.pacs import fetch, fetch_image, search_series, search_studies, send, send_bytes, series_thumbnail
from core.pacs.config import PacsServer, configured_servers, server_for_url
from core.pacs.client import make_client
from tests.orthanc import LocalOrthanc
from core.pacs.search import search_instances
from core.segmentation.service import segment
from tests.pacs_server import CR_CHEST, CT_J2K, CT_SERIES, running_orthanc

CR_STUDY = "1.2.392.200036.9125.0.199302241758.16"
CT_STUDY = "1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1"
J2K_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040826185059.5457"


@pytest.fixture(scope="module")
def orthanc(shared_data: Path):
    yield from running_orthanc(shared_data)


@pytest.fixture(scope="module")
def pacs(orthanc: LocalOrthanc) -> PacsServer:
    return server_for_url(orthanc.dicomweb_url)


def _series(pacs: PacsServer, study: str, modality: str) -> str:
    return next(s.series_uid for s in search_series(pacs, study) if s.modality == modality)


# --- search ------------------------------------------------------------------------------------
def test_search_finds_every_loaded_study(pacs: PacsServer) -> None:
    hits = {h.study_uid: h for h in search_studies(pacs)}
    assert set(hits) == {CR_STUDY, CT_STUDY, J2K_STUDY}
    assert hits[CT_STUDY].patient_id == "99000" and hits[CT_STUDY].n_series == 1 and hits[CT_STUDY].modalities == ["CT"]
    assert hits[CR_STUDY].accession == "FUJI95714"


@pytest.mark.parametrize("criteria, expected", [
    ({"modality": "CR"}, {CR_STUDY}),
    ({"modality": "ct"}, {CT_STUDY, J2K_STUDY}),
    ({"patient_id": "99000"}, {CT_STUDY}),
    ({"patient_id": "nobody"}, set()),
    ({"accession": "FUJI95714"}, {CR_STUDY}),
    ({"date_from": "2004-01-01", "date_to": "2004-12-31"}, {J2K_STUDY}),
    ({"date_from": "20030417", "date_to": "20030417"}, {CT_STUDY}),
    ({"patient_name": "CompressedSamples*"}, {J2K_STUDY}),
])
def test_search_criteria(pacs: PacsServer, criteria: dict, expected: set) -> None:
    assert {h.study_uid for h in search_studies(pacs, **criteria)} == expected


def test_search_refuses_bad_dates_and_uids(pacs: PacsServer) -> None:
    with pytest.raises(InputError, match="YYYYMMDD"):
        search_studies(pacs, date_from="last week")
    with pytest.raises(InputError, match="DICOM UID"):
        search_series(pacs, "1.2.3/../../system")


# --- fetch --------------------------------------------------------------------------------------
@pytest.mark.parametrize("study, modality, source", [
    (CR_STUDY, "CR", CR_CHEST), (CT_STUDY, "CT", CT_SERIES), (J2K_STUDY, "CT", CT_J2K)])
def test_fetch_gives_the_same_pixels_as_the_files(pacs: PacsServer, shared_data: Path, study: str, modality: str,
                                                 source: str) -> None:
    fetched = fetch_image(pacs, study, _series(pacs, study, modality))
    direct = load(shared_data / source)
    assert fetched.shape == direct.shape and fetched.modality == direct.modality
    np.testing.assert_array_equal(fetched.pixels, direct.pixels)
    assert fetched.spacing == direct.spacing


def test_fetch_keeps_the_stored_transfer_syntax(pacs: PacsServer, shared_data: Path) -> None:
    fetched = fetch(pacs, J2K_STUDY)
    stored = pydicom.dcmread(shared_data / CT_J2K)
    received = pydicom.dcmread(io.BytesIO(fetched.entries[0][1]))
    assert received.file_meta.TransferSyntaxUID == stored.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.91"
    assert received.PixelData == stored.PixelData  # the same compressed bytes: not re-encoded


def test_fetch_reports_progress_and_bytes(pacs: PacsServer) -> None:
    seen: list[tuple[int, int, int]] = []
    fetched = fetch(pacs, CT_STUDY, progress=lambda *p: seen.append(p))
    assert fetched.n == 3 and seen[-1][:2] == (3, 3) and seen[-1][2] == fetched.n_bytes > 1_000_000


def test_fetch_refuses_past_the_byte_limit(pacs: PacsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLENS_MAX_FETCH_MB", "1")
    with pytest.raises(InputError, match="MEDLENS_MAX_FETCH_MB"):
        fetch(pacs, CT_STUDY)  # 1.5 MB
    fetch(pacs, J2K_STUDY)  # 14 kB passes


def test_fetch_refuses_past_the_instance_limit(pacs: PacsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLENS_MAX_FETCH_INSTANCES", "2")
    with pytest.raises(InputError, match="MEDLENS_MAX_FETCH_INSTANCES"):
        fetch(pacs, CT_STUDY)


def test_fetch_of_an_unknown_study_is_refused(pacs: PacsServer) -> None:
    with pytest.raises(InputError, match="no series"):
        fetch(pacs, "1.2.3.4.5.6")


def test_thumbnail_is_a_small_png(pacs: PacsServer) -> None:
    data = series_thumbnail(pacs, CR_STUDY, _series(pacs, CR_STUDY, "CR"))
    assert data is not None and data[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image
    assert max(Image.open(io.BytesIO(data)).size) == 128


# --- send back ----------------------------------------------------------------------------------
def test_lung_seg_round_trip(pacs: PacsServer, orthanc: LocalOrthanc) -> None:
    """search -> fetch -> lungs-cxr -> DICOM SEG -> STOW-RS -> listed in the same study -> read back."""
    study = search_studies(pacs, modality="CR")[0].study_uid
    series = _series(pacs, study, "CR")
    image = fetch_image(pacs, study, series)
    mask = segment("lungs-cxr", image.frame(0)).mask
    assert 0.1 < mask.mean() < 0.7
    result = send_bytes(pacs, [("seg.dcm", seg_bytes(mask[None], list(image.datasets), label="lung"))])
    assert result.sent == 1 and result.failed == [] and result.study_uids == [study]
    seg_series = [s for s in search_series(pacs, study) if s.modality == "SEG"]
    assert len(seg_series) >= 1
    orthanc_study = next(s for s in orthanc.rest("/studies?expand") if s["MainDicomTags"]["StudyInstanceUID"] == study)
    assert len(orthanc_study["Series"]) >= 2  # Orthanc's own REST view agrees
    back = fetch(pacs, study, seg_series[-1].series_uid)
    seg = hd.seg.segread(io.BytesIO(back.entries[0][1]))
    source = image.datasets[0]
    assert seg.StudyInstanceUID == study and seg.PatientID == source.get("PatientID", "")
    refs = seg.get_source_image_uids()
    assert (study, series, source.SOPInstanceUID) in [tuple(map(str, r)) for r in refs]
    pixels = np.asarray(seg.get_pixels_by_source_instance([source.SOPInstanceUID], skip_overlap_checks=True))
    np.testing.assert_array_equal(pixels[0, ..., 0] > 0, mask)


def test_derived_series_goes_back_to_its_study(pacs: PacsServer) -> None:
    series = _series(pacs, CT_STUDY, "CT")
    image = fetch_image(pacs, CT_STUDY, series)
    derived = to_dicom_datasets(image.with_pixels(image.pixels + 1.0), description="MedLens test derived")
    result = send(pacs, derived)
    assert result.sent == 3 and result.failed == []
    listed = [s for s in search_series(pacs, CT_STUDY) if s.series_uid == str(derived[0].SeriesInstanceUID)]
    assert len(listed) == 1 and listed[0].n_instances == 3 and listed[0].description == "MedLens derived"
    first = derived[0]
    assert str(first.StudyInstanceUID) == CT_STUDY
    source_uids = {str(ds.SOPInstanceUID) for ds in image.datasets}
    referenced = {str(item.ReferencedSOPInstanceUID) for ds in derived for item in ds.SourceImageSequence}
    assert referenced == source_uids  # each derived slice references its source slice


def test_a_refusal_is_one_line(orthanc: LocalOrthanc, pacs: PacsServer) -> None:
    wrong = server_for_url(orthanc.url + "/not-dicomweb")
    image = fetch_image(pacs, CR_STUDY, _series(pacs, CR_STUDY, "CR"))
    data = seg_bytes(np.ones((1, *image.shape[1:3]), bool), list(image.datasets), label="lung")
    with pytest.raises(InputError, match=r"send refused: HTTP 404.*dicom-web") as caught:
        send_bytes(wrong, [("seg.dcm", data)])
    assert "\n" not in str(caught.value)
    with pytest.raises(InputError, match="not a DICOM file"):
        send_bytes(pacs, [("notes.txt", b"hello")])


def test_unreachable_server() -> None:
    from tests.orthanc import free_port
    with pytest.raises(InputError, match="cannot connect"):
        search_studies(server_for_url(f"http://127.0.0.1:{free_port()}/dicom-web"))


# --- auth and configuration -------------------------------------------------------------------
def test_basic_auth(shared_data: Path) -> None:
    for server in running_orthanc(shared_data, users={"medlens": "s3cret"}):
        good = PacsServer("secured", server.dicomweb_url, username="medlens", password="s3cret")
        assert len(search_studies(good)) == 3
        with pytest.raises(InputError, match="HTTP 401.*username/password"):
            search_studies(PacsServer("secured", server.dicomweb_url, username="medlens", password="wrong"))


def test_bearer_token_header_and_hidden_secrets() -> None:
    server = PacsServer("p", "https://pacs.example/dicom-web", token="tok123")
    client = make_client(server)
    assert client._session.headers["Authorization"] == "Bearer tok123"
    assert "tok123" not in repr(server) and server.auth == "bearer"
    assert "pw" not in repr(PacsServer("p", "http://h/dicom-web", username="u", password="pw"))


def test_servers_from_env_and_secrets(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    assert configured_servers(env={}, secrets=secrets) == []
    secrets.write_text('[dicomweb.orthanc]\nurl = "http://127.0.0.1:8042/dicom-web/"\nusername = "a"\npassword = "b"\n'
                       '[dicomweb.research]\nurl = "https://pacs.example/dicomweb"\ntoken = "t"\n')
    env = {"MEDLENS_DICOMWEB_URL": "http://10.0.0.1/dicom-web", "MEDLENS_DICOMWEB_TOKEN": "x"}
    servers = configured_servers(env=env, secrets=secrets)
    assert [(s.name, s.url, s.auth) for s in servers] == [("PACS", "http://10.0.0.1/dicom-web", "bearer"),
                                                          ("orthanc", "http://127.0.0.1:8042/dicom-web", "basic"),
                                                          ("research", "https://pacs.example/dicomweb", "bearer")]
    secrets.write_text('[dicomweb.bad]\nurl = "file:///etc/passwd"\n')
    with pytest.raises(InputError, match="http:// or https://"):
        configured_servers(env={}, secrets=secrets)
    secrets.write_text("[dicomweb\n")
    with pytest.raises(InputError, match="TOML"):
        configured_servers(env={}, secrets=secrets)


# --- command line -------------------------------------------------------------------------------
def _cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, dict | None, str]:
    code = cli_main(list(argv))
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    return code, json.loads(lines[-1]) if lines and code == 0 else None, err


def test_cli_search_fetch_send(pacs: PacsServer, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, result, _ = _cli(capsys, "pacs", "search", "--url", pacs.url, "--modality", "CT", "--patient-id", "99000")
    assert code == 0 and [s["study_uid"] for s in result["studies"]] == [CT_STUDY]
    assert set(result["studies"][0]) >= {"study_uid", "patient_id", "date", "modalities", "n_series"}
    code, result, _ = _cli(capsys, "pacs", "fetch", "--url", pacs.url, "--study", CT_STUDY,
                           "--series", _series(pacs, CT_STUDY, "CT"), "--out", str(tmp_path / "ct"))
    assert code == 0 and result["n"] == 3 and len(list((tmp_path / "ct").rglob("*.dcm"))) == 3
    np.testing.assert_array_equal(load(tmp_path / "ct").pixels.shape, (3, 512, 512))
    one = search_instances(pacs, CT_STUDY, _series(pacs, CT_STUDY, "CT"))[1]
    code, result, _ = _cli(capsys, "pacs", "fetch", "--url", pacs.url, "--study", CT_STUDY, "--series",
                           _series(pacs, CT_STUDY, "CT"), "--instance", one, "--out", str(tmp_path / "one"))
    assert code == 0 and result["n"] == 1
    assert str(pydicom.dcmread(next((tmp_path / "one").rglob("*.dcm"))).SOPInstanceUID) == one
    (tmp_path / "junk.txt").write_text("not dicom")
    code, result, _ = _cli(capsys, "pacs", "send", str(tmp_path / "ct"), str(tmp_path / "junk.txt"), "--url", pacs.url)
    assert code == 0 and result["sent"] == 3 and len(result["failed"]) == 1 and "junk.txt" in result["failed"][0]["file"]


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDLENS_DICOMWEB_URL", raising=False)
    code, _, err = _cli(capsys, "pacs", "search")
    assert code == 2 and err.strip() == "error: give --url or set MEDLENS_DICOMWEB_URL"
    code, _, err = _cli(capsys, "pacs", "fetch", "--url", "ftp://x", "--study", "1.2", "--out", "x")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_fetched_file_names_are_digits_only() -> None:
    from pydicom.dataset import Dataset

    from core.pacs.fetch import _name
    ds = Dataset()
    ds.SeriesNumber, ds.InstanceNumber = "1", "2"
    assert _name(ds, 0) == "series1/instance0002_0000.dcm"
    hostile = Dataset()
    hostile.add_new(0x00200011, "LO", "../../etc")  # a server is free to lie
    hostile.add_new(0x00200013, "LO", "/root/x")
    assert _name(hostile, 3) == "seriesx/instance000x_0003.dcm"
