"""PACS round trip for a chest X-ray study against a throwaway local Orthanc (DICOMweb plugin).

``pacs_roundtrip``: QIDO-RS study search + WADO-RS fetch of the CR series (through
``core.imaging.load``) + ``lungs-cxr`` on the image + DICOM SEG + STOW-RS back into the study,
timed stage by stage; also the same work on the local file (read + segment + SEG, no PACS).
Ratio = the share of the round trip spent in DICOMweb (search + fetch + send). The model is warm
(loaded once before timing). Needs Debian's orthanc + orthanc-dicomweb; without them the
benchmark reports why it was skipped.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.runner import benchmark

CR_CHEST = "dicom/xray/gdcm-CR-MONO1-10-chest.dcm"
REPEATS = 7
MODEL = "lungs-cxr"


@benchmark("pacs_roundtrip")
def pacs_roundtrip() -> dict[str, Any]:
    from core.export.dicom_seg import seg_bytes
    from core.imaging import load
    from core.pacs import fetch_image, search_series, search_studies, send_bytes, server_for_url
    from tests.orthanc import LocalOrthanc, missing_reason
    from core.paths import shared_data_dir
    from core.segmentation.service import segment

    reason = missing_reason()
    if reason:
        return {"ratio": None, "skipped": reason}
    path = shared_data_dir() / CR_CHEST
    segment(MODEL, load(path).frame(0))  # warm the model cache
    stages: dict[str, list[float]] = {k: [] for k in ("search", "fetch", "segment", "seg_build", "send", "total", "local")}
    with LocalOrthanc() as orthanc:
        orthanc.upload([path])
        server = server_for_url(orthanc.dicomweb_url)
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            study = search_studies(server, modality="CR")[0].study_uid
            series = next(s.series_uid for s in search_series(server, study) if s.modality == "CR")
            t1 = time.perf_counter()
            image = fetch_image(server, study, series)
            t2 = time.perf_counter()
            mask = segment(MODEL, image.frame(0)).mask
            t3 = time.perf_counter()
            data = seg_bytes(mask[None], list(image.datasets), label="lung")
            t4 = time.perf_counter()
            result = send_bytes(server, [("seg.dcm", data)])
            t5 = time.perf_counter()
            assert result.sent == 1 and not result.failed
            for key, value in zip(("search", "fetch", "segment", "seg_build", "send", "total"),
                                  (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0)):
                stages[key].append(value)
            l0 = time.perf_counter()
            local = load(path)
            seg_bytes(segment(MODEL, local.frame(0)).mask[None], list(local.datasets), label="lung")
            stages["local"].append(time.perf_counter() - l0)
        n_seg = sum(1 for s in search_series(server, study) if s.modality == "SEG")
    medians = {f"{k}_median_ms": round(statistics.median(v) * 1000, 1) for k, v in stages.items()}
    io_s = sum(statistics.median(stages[k]) for k in ("search", "fetch", "send"))
    return {"ratio": io_s / statistics.median(stages["total"]),
            "ratio_meaning": "share of the round trip (search + fetch + lungs-cxr + SEG + send) spent talking to "
                             "the PACS (search + fetch + send medians / total median; lower = the PACS costs less)",
            "local_vs_roundtrip": statistics.median(stages["local"]) / statistics.median(stages["total"]),
            "image": "CR 440x440 (gdcm-CR-MONO1-10-chest.dcm)", "repeats": REPEATS,
            "segs_listed_in_study": n_seg, **medians}
