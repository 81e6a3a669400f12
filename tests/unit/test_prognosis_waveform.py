"""DICOM ECG waveforms: read with pydicom's waveform support, find R peaks, cut beats for the models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from core.prognosis import waveform


def test_pydicom_example_reads_as_twelve_leads() -> None:
    ecg = waveform.read_waveform(waveform.example_path().read_bytes(), "waveform_ecg.dcm")
    assert ecg.fs == 1000.0 and len(ecg.leads) == 12 and "Lead II" in ecg.leads
    assert all(len(v) == 10000 for v in ecg.leads.values())
    assert ecg.seconds == pytest.approx(10.0)
    assert "642341" not in ecg.describe() and "Anonymous" not in ecg.describe()  # no identifiers in the summary


def test_beats_are_found_at_the_r_peaks_of_a_built_signal() -> None:
    fs, peaks = 500.0, np.array([400, 800, 1210, 1600, 2000, 2410, 2800])
    t = np.arange(3200)
    signal = 0.05 * np.sin(t / 300)  # baseline wander
    for p in peaks:
        signal += np.exp(-0.5 * ((t - p) / 4.0) ** 2)  # narrow R waves
        signal += 0.2 * np.exp(-0.5 * ((t - p - 120) / 25.0) ** 2)  # broad T waves, lower
    beats, found = waveform.segment_beats(signal, fs, length=96)
    assert found.tolist() == peaks[1:-1].tolist()  # first and last beat lack a full neighbour interval
    assert beats.shape == (len(peaks) - 2, 96) and beats.dtype == np.float32


def test_real_recording_gives_plausible_beats() -> None:
    ecg = waveform.read_waveform(waveform.example_path().read_bytes(), "waveform_ecg.dcm")
    beats, peaks = waveform.segment_beats(ecg.leads["Lead II"], ecg.fs, length=140)
    rate = 60 * len(peaks) / ecg.seconds
    assert 4 <= len(peaks) <= 25 and 30 < rate < 150
    assert np.all(np.diff(peaks) > 0.3 * ecg.fs)


def test_non_waveform_dicom_and_text_are_refused(shared_data: Path) -> None:
    with pytest.raises(InputError, match="no waveform"):
        waveform.read_waveform((shared_data / "dicom" / "ct" / "CT_small.dcm").read_bytes(), "CT_small.dcm")
    with pytest.raises(InputError):
        waveform.read_waveform(b"1,2,3\n", "beats.dcm")
    assert not waveform.is_dicom(b"1,2,3\n") and waveform.is_dicom(waveform.example_path().read_bytes())
