"""DICOM ECG waveforms in, single heartbeats out: what the heartbeat models can take.

The heartbeat models (ECG200, ECG5000) classify ONE segmented beat resampled to a fixed length,
not a recording. A DICOM ECG (12-lead, seconds long) is read with pydicom's waveform support
(``Dataset.waveform_array``); ``segment_beats`` finds the R peaks of one lead
(``scipy.signal.find_peaks`` on a band-passed signal) and cuts one beat per R peak, from a third
of the interval before it to two thirds of the interval after it, resampled to the model's length.

``example_path`` is the real 12-lead ECG that pydicom ships in its test files
(``waveform_ecg.dcm``, MIT licence): loaded from the installed package, never copied here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.errors import InvalidDicomError
from scipy.signal import butter, find_peaks, sosfiltfilt

from core.errors import InputError

EXAMPLE_FILE = "waveform_ecg.dcm"
PREFERRED_LEAD = "Lead II"  # the lead rhythm strips use: upright R waves in most people


@dataclass
class Waveform:
    """The channels of one waveform group: ``leads`` maps a lead name to its samples (in the
    channel's units after pydicom applies sensitivity and baseline), ``fs`` in Hz."""

    leads: dict[str, np.ndarray]
    fs: float
    units: str = ""

    @property
    def seconds(self) -> float:
        first = next(iter(self.leads.values()))
        return len(first) / self.fs

    def describe(self) -> str:
        """One line without identifiers: leads, rate, duration."""
        return f"{len(self.leads)} lead(s), {self.fs:g} Hz, {self.seconds:.1f} s"

    def default_lead(self) -> str:
        return PREFERRED_LEAD if PREFERRED_LEAD in self.leads else next(iter(self.leads))


def example_path() -> Path:
    """pydicom's bundled 12-lead ECG (``InputError`` when this pydicom does not ship it)."""
    try:
        path = get_testdata_file(EXAMPLE_FILE, download=False)
    except (TypeError, ValueError, OSError):
        path = None
    if not path:
        raise InputError(f"this pydicom does not ship its example ECG ({EXAMPLE_FILE})")
    return Path(path)


def is_dicom(data: bytes) -> bool:
    """True when ``data`` starts like a DICOM Part 10 file (preamble + "DICM")."""
    return len(data) > 132 and data[128:132] == b"DICM"


def _channel_name(channel: object, index: int) -> str:
    try:
        return str(channel.ChannelSourceSequence[0].CodeMeaning) or f"channel {index + 1}"  # type: ignore[attr-defined]
    except (AttributeError, IndexError):
        return f"channel {index + 1}"


def read_waveform(data: bytes, name: str = "file") -> Waveform:
    """The first waveform group of a DICOM file; ``InputError`` for anything else."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError):
        raise InputError(f"{name}: not a DICOM file") from None
    if "WaveformSequence" not in ds or not len(ds.WaveformSequence):
        raise InputError(f"{name}: a DICOM file with no waveform (modality {ds.get('Modality', '?')})")
    group = ds.WaveformSequence[0]
    try:
        samples = np.asarray(ds.waveform_array(0), dtype=np.float64)
        fs = float(group.SamplingFrequency)
    except (AttributeError, ValueError, KeyError, NotImplementedError) as exc:
        raise InputError(f"{name}: the waveform cannot be decoded ({type(exc).__name__})") from None
    if samples.ndim != 2 or samples.shape[0] < 2 or not fs > 0:
        raise InputError(f"{name}: the waveform is empty or has no sampling frequency")
    channels = list(group.get("ChannelDefinitionSequence", []))
    names = [_channel_name(channels[i], i) if i < len(channels) else f"channel {i + 1}" for i in range(samples.shape[1])]
    units = ""
    if channels and "ChannelSensitivityUnitsSequence" in channels[0]:
        units = str(channels[0].ChannelSensitivityUnitsSequence[0].get("CodeValue", ""))
    return Waveform({n: samples[:, i] for i, n in enumerate(names)}, fs, units)


def _band_pass(signal: np.ndarray, fs: float) -> np.ndarray:
    """5-15 Hz band (where QRS energy is), zero phase: removes baseline wander and T waves."""
    high = min(15.0, 0.45 * fs)
    sos = butter(2, [5.0, high], btype="bandpass", fs=fs, output="sos")
    return sosfiltfilt(sos, signal)


def r_peaks(signal: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of the R peaks: peaks of the band-passed |signal| at least 0.3 s apart
    (200 beats/min at most) and above a third of the strong peaks' height, then moved to the
    largest raw deflection within 50 ms."""
    signal = np.asarray(signal, dtype=np.float64)
    energy = np.abs(_band_pass(signal, fs))
    height = np.percentile(energy, 99) / 3
    found, _ = find_peaks(energy, height=height, distance=max(1, int(0.3 * fs)))
    centred = signal - np.median(signal)
    polarity = 1.0 if np.abs(centred.max()) >= np.abs(centred.min()) else -1.0
    radius = max(1, int(0.05 * fs))
    out = []
    for p in found:
        lo, hi = max(0, p - radius), min(len(signal), p + radius + 1)
        out.append(lo + int(np.argmax(polarity * centred[lo:hi])))
    return np.unique(np.asarray(out, dtype=int))


def segment_beats(signal: np.ndarray, fs: float, length: int) -> tuple[np.ndarray, np.ndarray]:
    """``(beats (k, length) float32, their R-peak indices)``: one beat per R peak that has a
    neighbour on both sides, from R - RR_before/3 to R + 2*RR_after/3, resampled to ``length``."""
    signal = np.asarray(signal, dtype=np.float64)
    peaks = r_peaks(signal, fs)
    beats, kept = [], []
    for i in range(1, len(peaks) - 1):
        start = int(peaks[i] - (peaks[i] - peaks[i - 1]) / 3)
        stop = int(peaks[i] + 2 * (peaks[i + 1] - peaks[i]) / 3)
        piece = signal[start:stop]
        if len(piece) < 8:
            continue
        beats.append(np.interp(np.linspace(0, len(piece) - 1, length), np.arange(len(piece)), piece))
        kept.append(int(peaks[i]))
    if not beats:
        raise InputError("no complete heartbeat found: the recording needs at least three R peaks")
    return np.asarray(beats, dtype=np.float32), np.asarray(kept, dtype=int)
