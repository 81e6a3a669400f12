"""The "Image classification" tab of the Classification & prognosis page.

Model picker with its card; single image (upload, bundled example or the working image)
-> calibrated probability with its TTA interval, label, confidence flag, OOD warning and an
explanation overlay (Grad-CAM or occlusion, opacity slider); batch (many files or a zip)
-> table + CSV, and with a CSV of true labels: ROC, AUC, confusion matrix, calibration.
All computation is in ``core.classification``; this module only lays out widgets.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import streamlit as st

from core.classification import batch as batch_scoring
from core.classification import explain, metrics, plots, service
from core.examples import list_examples, load_example
from core.imaging import load
from core.ui import freshness
from core.ui.errors import user_errors
from core.ui.state import get_working_image

KEY = "cls."
DISCLAIMER = "Research use only — not for diagnosis."


def _card(spec: Any) -> None:
    """The model card: what it does, its data, measured metrics, intended use."""
    card = spec.card
    st.caption(f"{card.description}  \n**{DISCLAIMER}**")
    with st.expander("Model card", expanded=False):
        metrics = card.metrics.get("at_threshold", {})
        cols = st.columns(4)
        cols[0].metric("Validation AUC", f"{metrics.get('auc', float('nan')):.3f}",
                       help="95% bootstrap interval: {}".format(metrics.get("auc_95ci")))
        cols[1].metric("Validation accuracy", f"{metrics.get('acc', float('nan')):.3f}",
                       help="95% bootstrap interval: {}".format(metrics.get("acc_95ci")))
        cols[2].metric("Threshold", f"{spec.threshold:.3f}")
        cols[3].metric("Temperature", f"{card.temperature:.2f}")
        st.markdown(
            f"**Input:** {card.notes.get('training_resolution', spec.preprocessing.size)}  \n"
            f"**Labels:** {card.notes.get('label_mapping', ', '.join(spec.labels))}  \n"
            f"**Threshold rule:** {card.notes.get('threshold_rule', '')}  \n"
            f"**Low-confidence rule:** {card.notes.get('uncertainty_rule', '')}  \n"
            f"**OOD rule:** {card.notes.get('ood_rule', '')}  \n"
            f"**Intended use:** {card.intended_use or DISCLAIMER}"
        )
        st.json({"data": card.data, "split": card.split, "metrics": card.metrics, "calibration": card.sections.get("calibration"), "ood": card.sections.get("ood"), "training": card.training, "command": card.command},
                expanded=False)


def _example_options() -> dict[str, Any]:
    return {e.name: e for e in list_examples("classification")}


def _pick_image() -> tuple[Any, str] | None:
    """The image to classify and its name, from the chosen source."""
    working = get_working_image()
    sources = ["Upload", "Example"] + (["Working image"] if working else [])
    source = st.radio("Image", sources, horizontal=True, key=KEY + "source",
                      index=2 if working else 0)
    if source == "Working image" and working:
        return working[0], working[1]
    if source == "Example":
        options = _example_options()
        if not options:
            st.info("No bundled example images are available.")
            return None
        choice = st.selectbox("Example", list(options), key=KEY + "example")
        example = options[choice]
        return load_example(example), example.file
    upload = st.file_uploader("Image (DICOM, PNG, JPEG)", key=KEY + "upload")
    if upload is None:
        return None
    return load(upload.getvalue(), upload.name), upload.name


def confidence_wording(prediction: Any, fits: bool = True) -> str:
    """One line on how far to trust a result: out of distribution (or a model not for this image)
    overrides "Confident", which is said only when neither applies."""
    if prediction.ood:
        return (f"**Out-of-distribution: {prediction.ood_reason}.** The result is not meaningful for "
                "this image; ignore the probability and label.")
    if not fits:
        return "**Not meaningful:** this model is not for this image."
    if prediction.low_confidence:
        return f":orange[**Low confidence:** {prediction.confidence_rule}.]"
    return ":green[**Confident:** the TTA interval does not contain the threshold.]"


def _signature(image: Any, name: str, model: str) -> str:
    pixels = np.asarray(getattr(image, "pixels", image))
    sample = np.ascontiguousarray(pixels.ravel()[:: max(1, pixels.size // 1_000_000)])
    return hashlib.sha1(sample.tobytes() + f"{name}|{model}|{pixels.shape}".encode()).hexdigest()


def _single(spec: Any) -> None:
    picked = _pick_image()
    if picked is None:
        st.session_state.pop(KEY + "probe", None)  # no image: the picker marks nothing
        return
    image, name = picked
    if st.session_state.get(KEY + "probe") is not image:
        st.session_state[KEY + "probe"] = image  # the model picker marks and defaults by it
    ok, reason = service.compatibility(spec.name, image)
    if not ok and not st.session_state.get(KEY + "model_chosen"):
        better = service.default_model(image)
        if better and better != spec.name and service.compatibility(better, image)[0]:
            st.session_state[KEY + "pending_model"] = better  # no default that mismatches the image
            st.rerun()
    if not ok:
        st.warning(f"**{spec.name} is not for this image:** {reason}. Its result is not meaningful here.")
    elif reason:
        st.caption(f"Check: {reason}.")
    sig = _signature(image, name, spec.name)
    state = st.session_state.get(KEY + "single")
    if not state or state.get("sig") != sig:
        with st.spinner("Classifying (with test-time augmentation)…"):
            prediction = service.classify(image, spec.name)
            display = service.display_gray(image, spec.name)
        state = {"sig": sig, "prediction": prediction, "display": display, "maps": {}, "name": name}
        st.session_state[KEY + "single"] = state
    prediction = state["prediction"]
    positive = spec.card.positive_label or (spec.labels[1] if spec.labels else "positive")

    left, right = st.columns([1, 1])
    with left:
        st.metric(f"P({positive})", f"{prediction.prob:.3f}",
                  help="temperature-calibrated probability; interval = 5th-95th percentile over test-time augmentations")
        st.markdown(
            f"**Interval (TTA 5–95%):** {prediction.interval[0]:.3f} – {prediction.interval[1]:.3f}  \n"
            f"**Label:** {prediction.label} (data set label {prediction.dataset_label}; threshold {prediction.threshold:.3f})"
        )
        wording = confidence_wording(prediction, ok)
        (st.error if prediction.ood or not ok else st.markdown)(wording)
        frames = getattr(image, "n_frames", 1)
        used = f" · frame {frames // 2 + 1} of {frames} used" if frames > 1 else ""
        st.caption(f"{state['name']}{used} · {DISCLAIMER}")
    with right:
        _explanation(spec, image, state)


@st.fragment
def _explanation(spec: Any, image: Any, state: dict[str, Any]) -> None:
    """Method and opacity rerun only this fragment; maps are computed once per method."""
    method = st.radio("Explanation", list(service.METHODS), horizontal=True, key=KEY + "method")
    opacity = st.slider("Overlay opacity", 0.0, 1.0, 0.45, 0.05, key=KEY + "opacity")
    if method not in state["maps"]:
        with st.spinner(f"Computing {method}…"):
            state["maps"][method] = service.explanation(image, spec.name, method)
    overlay = explain.overlay(state["display"], state["maps"][method], opacity)
    st.image(overlay, caption=f"{method} for '{spec.card.positive_label or 'positive'}' (red = more evidence)",
             width="stretch")


def _batch(spec: Any) -> None:
    files = st.file_uploader("Images or zip files", accept_multiple_files=True, key=KEY + "batch_files")
    truth_file = st.file_uploader("Optional: CSV of true labels (columns file, label; the data set's coding)",
                                  type=["csv"], key=KEY + "truth")
    tta = st.checkbox("Add TTA intervals (16x slower)", key=KEY + "batch_tta")
    inputs = {"model": spec.name, "tta": tta, "files": [(f.name, f.size, getattr(f, "file_id", "")) for f in files or []]}
    if st.button("Score batch", key=KEY + "score", disabled=not files, type="primary"):
        bar = st.progress(0.0, text="Reading and scoring…")
        result = service.score(
            [(f.name, f.getvalue()) for f in files], spec.name, tta=tta,
            progress=lambda i, n: bar.progress(i / n, text=f"{i} / {n} files"),
        )
        bar.empty()
        freshness.keep(KEY + "batch", inputs, result)
    result = freshness.fresh(KEY + "batch", inputs)
    if result is None:
        return
    table = result.frame()
    scored = table["prob"].notna().sum()
    st.markdown(f"**{scored}** of {len(table)} files scored; threshold {result.threshold:.3f}; "
                f"`label` is in the data set's coding.")
    st.dataframe(table, width="stretch", hide_index=True)
    st.download_button("Download CSV", table.to_csv(index=False).encode(), file_name=f"{spec.name}-predictions.csv",
                       mime="text/csv", key=KEY + "download")
    if truth_file is None:
        return
    truth = batch_scoring.join_truth(result, batch_scoring.read_truth_csv(truth_file.getvalue()), spec.name)
    y, p = truth["truth"], truth["prob"]
    summary = metrics.summary(y, p, result.threshold, n_boot=500)
    cols = st.columns(4)
    cols[0].metric("AUC", f"{summary['auc']:.3f}", help=f"95% bootstrap interval {summary['auc_95ci']}")
    cols[1].metric("Accuracy", f"{summary['acc']:.3f}", help=f"95% bootstrap interval {summary['acc_95ci']}")
    cols[2].metric("Sensitivity", f"{summary['sensitivity']:.3f}")
    cols[3].metric("Specificity", f"{summary['specificity']:.3f}")
    labels = list(spec.labels) or ["negative", "positive"]
    a, b, c = st.columns(3)
    a.plotly_chart(plots.roc_figure(y, p, result.threshold), width="stretch", key=KEY + "roc")
    b.plotly_chart(plots.confusion_figure(y, p, result.threshold, labels), width="stretch", key=KEY + "cm")
    c.plotly_chart(plots.calibration_figure(y, p), width="stretch", key=KEY + "cal")


def render() -> None:
    """Entry point called by ``pages/classification_prognosis.py``."""
    specs = service.models()
    if not specs:
        st.info("No classification model is registered yet (models/<name>/card.json).")
        return
    names = [s.name for s in specs]
    if KEY + "pending_model" in st.session_state:
        st.session_state[KEY + "model"] = st.session_state.pop(KEY + "pending_model")
    probe = st.session_state.get(KEY + "probe") or (get_working_image() or (None,))[0]
    default = service.default_model(probe) if probe is not None else names[0]

    def label(n: str) -> str:
        text = f"{n} — {next(s for s in specs if s.name == n).card.positive_label}"
        if probe is not None:
            ok, reason = service.compatibility(n, probe)
            text += "" if ok else f" (not for this image: {reason})"
        return text

    if st.session_state.get(KEY + "model") not in names:
        st.session_state[KEY + "model"] = default
    name = st.selectbox("Model", names, key=KEY + "model", format_func=label,
                        on_change=lambda: st.session_state.__setitem__(KEY + "model_chosen", True))
    spec = next(s for s in specs if s.name == name)
    _card(spec)
    single, many = st.tabs(["Single image", "Batch"])
    with single:
        with user_errors():
            _single(spec)
    with many:
        with user_errors():
            _batch(spec)
