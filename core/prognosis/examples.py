"""Example inputs for the prognosis models that are generated, not recorded (no patient data)."""

from __future__ import annotations

import numpy as np


def synthetic_beat(length: int, infarction_like: bool = False, seed: int = 0) -> np.ndarray:
    """A made-up heartbeat of ``length`` samples: P, QRS and T waves as Gaussian bumps plus noise.

    ``infarction_like`` inverts the T wave and raises the ST segment (the ECG200 'abnormal' look).
    A demo input for the heartbeat page, not a recording.
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, length)

    def bump(centre: float, width: float, height: float) -> np.ndarray:
        return height * np.exp(-(((t - centre) / width) ** 2))

    beat = bump(0.15, 0.04, 0.25) + bump(0.3, 0.015, -0.3) + bump(0.34, 0.02, 2.0) + bump(0.38, 0.015, -0.5)
    beat += bump(0.65, 0.07, -0.4 if infarction_like else 0.6)
    if infarction_like:
        beat += 0.3 * ((t > 0.4) & (t < 0.6))
    return (beat + rng.normal(0, 0.03, length)).astype(np.float32)
