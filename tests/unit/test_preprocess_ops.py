"""Known-answer tests for the preprocessing operations on phantoms built here."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from core.errors import InputError
from core.preprocess import CT_PRESETS, OPS, get_op
from core.preprocess.denoise import estimate_noise


def _phantom(size: int = 128) -> np.ndarray:
    """Piecewise-constant disc and square on a background: 0 / 100 / 200."""
    yy, xx = np.mgrid[:size, :size]
    image = np.zeros((size, size), dtype=np.float32)
    image[(yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 4) ** 2] = 100
    image[size // 8:size // 4, size // 8:size // 4] = 200
    return image


def _noisy(sigma: float = 20.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    clean = _phantom()
    return clean, clean + np.random.default_rng(seed).normal(0, sigma, clean.shape).astype(np.float32)


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


@pytest.mark.parametrize("op, params", [
    ("gaussian", {"sigma": 1.5}),
    ("median", {"size": 5}),
    ("nl_means", {"strength": 1.0}),
    ("total_variation", {"weight": 0.1}),
])
def test_denoising_lowers_noise_on_a_noisy_phantom(op: str, params: dict) -> None:
    clean, noisy = _noisy()
    out = get_op(op)(noisy, **params)
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert _rmse(out, clean) < 0.6 * _rmse(noisy, clean)
    assert estimate_noise(out) < 0.5 * estimate_noise(noisy)


def test_noise_estimate_is_close_to_the_true_sigma() -> None:
    flat = np.random.default_rng(1).normal(50, 10, (256, 256)).astype(np.float32)
    assert estimate_noise(flat) == pytest.approx(10, rel=0.1)


def _local_contrast(image: np.ndarray) -> float:
    """Mean local standard deviation (7x7) on the [0, 1]-scaled image."""
    unit = (image - image.min()) / (image.max() - image.min())
    mean = ndimage.uniform_filter(unit, 7)
    return float(np.mean(np.sqrt(np.maximum(ndimage.uniform_filter(unit**2, 7) - mean**2, 0))))


def test_clahe_raises_local_contrast() -> None:
    yy, xx = np.mgrid[:128, :128]
    texture = 5 * np.sin(xx / 3.0) * np.sin(yy / 3.0)
    low_contrast = (1000 + 400 * (xx / 127.0) + texture).astype(np.float32)  # faint texture on a strong ramp
    out = get_op("clahe")(low_contrast, clip_limit=0.03)
    assert _local_contrast(out) > 1.5 * _local_contrast(low_contrast)
    assert out.min() >= low_contrast.min() - 1e-3 and out.max() <= low_contrast.max() + 1e-3


def test_histogram_equalisation_flattens_the_histogram() -> None:
    skewed = np.random.default_rng(0).exponential(1.0, (128, 128)).astype(np.float32)
    out = get_op("histogram_equalisation")(skewed)
    counts, _ = np.histogram(out, bins=8)
    assert counts.max() / counts.min() < 1.5


def test_unsharp_mask_steepens_edges() -> None:
    blurred = ndimage.gaussian_filter(_phantom(), 2)
    out = get_op("unsharp_mask")(blurred, radius=2, amount=1.5)
    assert np.abs(np.diff(out, axis=1)).max() > 1.2 * np.abs(np.diff(blurred, axis=1)).max()


def test_gamma_and_rescale_known_answers() -> None:
    ramp = np.linspace(0, 100, 101, dtype=np.float32).reshape(1, -1)
    out = get_op("gamma")(ramp, gamma=2.0)
    assert out[0, 50] == pytest.approx(25.0, abs=1e-3) and out[0, 0] == 0 and out[0, -1] == pytest.approx(100)
    scaled = get_op("rescale_intensity")(ramp, low_pct=10, high_pct=90)
    assert scaled[0, 10] == pytest.approx(0) and scaled[0, 90] == pytest.approx(1) and scaled[0, 50] == pytest.approx(0.5)


@pytest.mark.parametrize("preset", list(CT_PRESETS))
def test_window_presets_map_the_window_edges(preset: str) -> None:
    center, width = CT_PRESETS[preset]
    values = np.array([[center - width / 2 - 10, center - width / 2, center, center + width / 2, center + width]], dtype=np.float32)
    out = get_op("window")(values, preset=preset)
    np.testing.assert_allclose(out, [[0, 0, 0.5, 1, 1]], atol=1e-6)


def test_window_dicom_default_and_auto_come_from_the_context() -> None:
    values = np.array([[0.0, 50.0, 100.0]], dtype=np.float32)
    op = get_op("window")
    np.testing.assert_allclose(op(values, {"default_window": (50.0, 100.0)}, preset="dicom default"), [[0, 0.5, 1]])
    np.testing.assert_allclose(op(values, {"auto_window": (50.0, 50.0)}, preset="auto (percentiles)"), [[0, 0.5, 1]])
    with pytest.raises(InputError, match="no default window"):
        op(values, {"default_window": None}, preset="dicom default")


def test_lung_window_in_hu_matches_hand_computation() -> None:
    hu = np.array([[-1350.0, -1000.0, -600.0, 150.0]], dtype=np.float32)
    out = get_op("window")(hu, preset="CT lung")
    np.testing.assert_allclose(out, [[0.0, 350 / 1500, 750 / 1500, 1.0]], atol=1e-6)


def test_crop_bounds_are_exact_and_clipped() -> None:
    image = np.arange(100 * 80, dtype=np.float32).reshape(100, 80)
    out = get_op("crop")(image, top=10, left=20, height=30, width=40)
    assert out.shape == (30, 40)
    assert out[0, 0] == image[10, 20] and out[-1, -1] == image[39, 59]
    assert get_op("crop")(image, top=90, left=70, height=50, width=50).shape == (10, 10)
    assert get_op("crop")(image, top=5).shape == (95, 80)
    with pytest.raises(InputError, match="outside"):
        get_op("crop")(image, top=200)


def test_resize_and_resample_sizes() -> None:
    image = _phantom(128)
    assert get_op("resize")(image, height=64, width=32).shape == (64, 32)
    out = get_op("resample")(image, {"spacing": (0.5, 0.25)}, spacing_mm=1.0)
    assert out.shape == (64, 32)
    with pytest.raises(InputError, match="no pixel spacing"):
        get_op("resample")(image, {"spacing": None}, spacing_mm=1.0)
    constant = np.full((10, 10), 7.0, dtype=np.float32)
    np.testing.assert_allclose(get_op("resize")(constant, height=23, width=17), 7.0)


def test_rotate_and_flip_are_exact() -> None:
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(get_op("rotate90")(image, k=1), np.rot90(image))
    np.testing.assert_array_equal(get_op("flip")(image, axis="horizontal"), image[:, ::-1])
    np.testing.assert_array_equal(get_op("flip")(image, axis="vertical"), image[::-1])
    square = _phantom(64)
    np.testing.assert_allclose(get_op("rotate")(square, angle=0.0), square, atol=1e-4)


def test_normalisation_known_answers() -> None:
    values = np.random.default_rng(0).normal(30, 5, (50, 50)).astype(np.float32)
    z = get_op("zscore")(values)
    assert abs(z.mean()) < 1e-4 and z.std() == pytest.approx(1, abs=1e-4)
    mm = get_op("minmax")(values, out_min=-1, out_max=1)
    assert mm.min() == pytest.approx(-1) and mm.max() == pytest.approx(1)
    assert np.all(get_op("zscore")(np.ones((4, 4), dtype=np.float32)) == 0)


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_accepts_rgb_and_grey_and_keeps_dtype(name: str) -> None:
    ctx = {"spacing": (1.0, 1.0), "default_window": (0.5, 1.0), "auto_window": (0.5, 1.0)}
    rgb = np.random.default_rng(0).random((24, 20, 3)).astype(np.float32)
    grey = rgb[..., 0]
    out_rgb, out_grey = OPS[name](rgb, ctx), OPS[name](grey, ctx)
    assert out_rgb.ndim == 3 and out_rgb.shape[-1] == 3 and out_rgb.dtype == np.float32
    assert out_grey.ndim == 2 and out_grey.dtype == np.float32
    assert np.isfinite(out_rgb).all() and np.isfinite(out_grey).all()


def test_bad_parameters_are_input_errors() -> None:
    with pytest.raises(InputError, match="sigma must be >= 0"):
        get_op("gaussian")(np.zeros((4, 4)), sigma=-1)
    with pytest.raises(InputError, match="unknown parameter"):
        get_op("gaussian")(np.zeros((4, 4)), radius=1)
    with pytest.raises(InputError, match="must be one of"):
        get_op("flip")(np.zeros((4, 4)), axis="diagonal")
    with pytest.raises(InputError, match="unknown operation 'blur'.*gaussian"):
        get_op("blur")


def test_box_from_corners_reads_the_viewers_crop_box_and_refuses_junk() -> None:
    from core.preprocess.geometry import box_from_corners

    assert box_from_corners([32, 30, 96, 80], (100, 120)) == {"top": 30, "left": 32, "height": 50, "width": 64}
    assert box_from_corners([96, 80, 32, 30], (100, 120)) == {"top": 30, "left": 32, "height": 50, "width": 64}
    assert box_from_corners([-5, -5, 500, 500], (100, 120)) == {"top": 0, "left": 0, "height": 100, "width": 120}
    for junk in (None, "1,2,3,4", [1, 2, 3], [1, 2, 3, True], [0, 0, float("nan"), 5], [5, 5, 5, 9], [200, 0, 300, 9]):
        assert box_from_corners(junk, (100, 120)) is None, junk
