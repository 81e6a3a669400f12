"""Widgets of the GAN augmentation page: sampler + gallery, augmentation preview, background
training jobs (progress, loss curves, sample grids, cancel/resume), quality and study tables.

The logic is in ``core.synthesis`` / ``core.training``; this module only lays it out.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.classification.inference import resize01, to_gray01
from core.errors import InputError, MedLensError
from core.export import samples as export
from core.labeling import get_store
from core.synthesis import augment as aug
from core.synthesis import jobs, service
from core.synthesis.generate import ALL, DEFAULT_GENERATOR, Samples
from core.synthesis.study import effects
from core.ui import freshness
from core.ui.errors import user_errors
from core.ui.state import get_working_image

SAMPLES = "gan.samples"
DISTANCES = "gan.distances"
JOB = "gan.job"
REQUEST = "gan.request"  # the fingerprint of the request the samples in SAMPLES answer
MAX_PAGE_SAMPLES = 256


def upscale(image: np.ndarray, min_side: int = 112) -> np.ndarray:
    """Nearest-neighbour upscale so tiny (28 px) images stay crisp in the browser."""
    factor = max(1, int(np.ceil(min_side / max(image.shape[:2]))))
    return np.kron(image, np.ones((factor, factor), dtype=image.dtype)) if factor > 1 else image


def _spec_label(name: str) -> str:
    spec = service.generator(name)
    size = (spec.preprocessing.size or ("?",))[0]
    where = "your model" if service.is_user_model(spec) else "MedLens"
    return f"{name} ({size} px, {', '.join(spec.labels)}; {where})"


def pick_generator(key: str = "gan.model") -> str | None:
    """Selectbox over registered generators; None (with a notice) when there is none."""
    names = [s.name for s in service.generators()]  # includes a generator whose job just finished
    if not names:
        st.warning("No generator is registered yet. Train one with `python -m core train gan --model pneumonia-cgan`, "
                   "or on your own images in the **Train on your images** tab.")
        return None
    default = names.index(DEFAULT_GENERATOR) if DEFAULT_GENERATOR in names else 0
    return st.selectbox("Generator", names, index=default, key=key, format_func=_spec_label)


# ----- sampling -------------------------------------------------------------------------------

def sample_form(model: str) -> tuple[dict[str, Any], bool]:
    """Class, number, seed, truncation: ``(request, pressed)``, pressed when *Generate* was clicked.

    Plain widgets, not a form: the page knows the request on screen at every rerun, so samples of
    an earlier request are hidden ("inputs changed — run again") instead of shown beside it.
    """
    spec = service.generator(model)
    c1, c2, c3, c4 = st.columns([2, 1, 1, 2])
    label = c1.selectbox("Class", [ALL] + list(spec.labels), key="gan.label",
                         format_func=lambda v: "all classes (in turn)" if v == ALL else v)
    n = c2.number_input("Samples", 1, MAX_PAGE_SAMPLES, 16, key="gan.n")
    seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="gan.seed", help="same seed, same images")
    trunc = c4.slider("Truncation (latent sd)", 0.5, 3.0, 3.0, 0.1, key="gan.trunc",
                      help="3.0 = practically off; lower = more typical, less varied samples")
    pressed = st.button("Generate", type="primary", icon=":material/auto_awesome:", key="gan.generate")
    request = {"model": model, "label": label, "n": int(n), "seed": int(seed),
               "truncation": None if trunc >= 3.0 else float(trunc)}
    return request, pressed


def current_samples(request: dict[str, Any]) -> Samples | None:
    """The samples in session state if they were generated for ``request``; else None (with the
    "inputs changed — run again" notice when there are samples of another request)."""
    if st.session_state.get(SAMPLES) is None:
        return None
    return st.session_state[SAMPLES] if freshness.fresh(REQUEST, request) else None


def run_sampling(request: dict[str, Any]) -> None:
    """Sample and measure nearest-real distances; results go to session state."""
    with st.spinner("Sampling…"):
        samples = service.generate(request["model"], request["label"], request["n"], request["seed"],
                                   request["truncation"])
        distances = service.nearest_real(samples)
    st.session_state[SAMPLES] = samples
    st.session_state[DISTANCES] = distances
    freshness.keep(REQUEST, request, True)


def _memorisation(model: str) -> dict[str, Any]:
    return service.generator(model).card.metrics.get("memorisation", {})


def describe_samples(samples: Samples) -> str:
    """"6 samples from pneumonia-cgan (all classes, seed 3)": what the gallery and the downloads hold."""
    classes = sorted(set(samples.names()))
    which = classes[0] if len(classes) == 1 else "all classes"
    trunc = "" if samples.truncation is None else f", truncation {samples.truncation:g}"
    return f"{len(samples)} samples from {samples.model} ({which}, seed {samples.seed}{trunc})"


def gallery(samples: Samples, distances: np.ndarray | None, columns: int = 6) -> None:
    """The samples in a grid, captioned with class and nearest-training distance."""
    mem = _memorisation(samples.model)
    threshold = mem.get("near_copy_threshold")
    st.caption(f"{describe_samples(samples)}. Generating again replaces them; the downloads below hold "
               "exactly these images and captions.")
    flags = export.near_copy_flags(distances, threshold) if distances is not None else None
    if distances is None:
        st.caption("Nearest-real distance unavailable: this generator's training images are not on this machine.")
    else:
        scale = f"; real unseen images median {mem['real_val_median']:.3f}" if "real_val_median" in mem else ""
        flag = f"; **near-copy** below {threshold:.3f}" if threshold is not None else ""
        st.caption(f"Under each sample: its class and its RMS pixel distance (0-1 scale) to the nearest "
                   f"training image{scale}{flag}.")
    n_flag = 0
    for row in range(0, len(samples), columns):
        cols = st.columns(columns)
        for col, i in zip(cols, range(row, min(row + columns, len(samples)))):
            caption = samples.label_names[int(samples.labels[i])]
            if distances is not None:
                near = bool(flags[i])
                n_flag += int(near)
                caption += f" · {distances[i]:.3f}" + (" ⚠ near-copy" if near else "")
            col.image(upscale(samples.images[i]), caption=caption, width="stretch")
    if distances is not None and threshold is not None:
        st.caption(f"{n_flag} of {len(samples)} samples flagged as near-copies of a training image.")


def downloads(samples: Samples, distances: np.ndarray | None) -> None:
    stem = f"{samples.model}_seed{samples.seed}_n{len(samples)}"
    c1, c2 = st.columns(2)
    n = f"{len(samples)} samples"
    threshold = _memorisation(samples.model).get("near_copy_threshold")
    c1.download_button(f"Download these {n}: zip (PNGs + labels.csv)", export.to_zip(samples, distances, threshold),
                       f"{stem}.zip", "application/zip", icon=":material/download:", key="gan.dl_zip",
                       help="every image shown above, with its class, nearest-real distance and near-copy flag")
    c2.download_button(f"Download these {n}: npz (shared medmnist layout)", export.to_npz(samples), f"{stem}.npz",
                       "application/octet-stream", icon=":material/download:", key="gan.dl_npz",
                       help="train_images (N, H, W) uint8 and train_labels (N, 1) uint8, like ../shared/data/medmnist")


def augmentation_preview(samples: Samples | None) -> None:
    """Classic MONAI augmentations of one image, beside the GAN samples."""
    st.subheader("Classic augmentation")
    sources: dict[str, np.ndarray] = {}
    if samples is not None and len(samples):
        sources["first GAN sample"] = samples.images[0].astype(np.float32) / 255
    working = get_working_image()
    if working is not None:
        try:
            sources[f"working image ({working[1]})"] = to_gray01(working[0]).pixels
        except MedLensError:
            pass
    if not sources:
        st.caption("Generate samples (or load an image on the Upload page) to preview classic augmentation.")
        return
    source = st.selectbox("Image", list(sources), key="gan.aug_source")
    kinds = st.multiselect("Augmentations", list(aug.KINDS), default=list(aug.KINDS), key="gan.aug_kinds")
    c1, c2 = st.columns(2)
    strength = c1.slider("Strength", 0.0, 1.0, 0.5, 0.05, key="gan.aug_strength")
    seed = c2.number_input("Seed", 0, 10_000, 0, key="gan.aug_seed")
    image = sources[source]
    if max(image.shape) > 256:
        scale = 256 / max(image.shape)
        image = resize01(image, (max(8, int(image.shape[0] * scale)), max(8, int(image.shape[1] * scale))))
    views = aug.preview(image, kinds, per_kind=2, seed=int(seed), strength=strength)
    cols = st.columns(3)
    cols[0].image(upscale((image * 255).astype(np.uint8)), caption="original", width="stretch")
    for i, (caption, view) in enumerate(views, start=1):
        cols[i % 3].image(upscale((view * 255).round().astype(np.uint8)), caption=caption, width="stretch")


# ----- background training --------------------------------------------------------------------

def loss_figure(history: list[dict[str, float]]) -> go.Figure:
    fig = go.Figure()
    if history:
        steps = [p["step"] for p in history]
        for key, name, colour in (("loss_d", "discriminator (hinge)", "#4c9be8"), ("loss_g", "generator", "#f28e2b")):
            fig.add_trace(go.Scatter(x=steps, y=[p.get(key) for p in history], mode="lines+markers", name=name,
                                     line=dict(color=colour), marker=dict(size=4)))
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), title="Loss", xaxis_title="step",
                      legend=dict(orientation="h", y=-0.3))
    return fig


def start_job_form() -> None:
    """Upload or session -> a new background job (limits shown first)."""
    st.info(f"**Limits:** {jobs.LIMITS.describe()}. Training runs in a separate background process: you and other "
            "users can keep working, and you can leave this page and come back.")
    source = st.radio("Images", ["Zip with one folder per class", "Images of a labeling session"], horizontal=True,
                      key="gan.train_source")
    upload, session_id = None, None
    if source.startswith("Zip"):
        upload = st.file_uploader("Zip of labeled images (one folder per class, e.g. normal/\\*.png and pneumonia/\\*.png)", type=["zip"],
                                  key="gan.train_zip")
    else:
        sessions = get_store().list_sessions()
        if not sessions:
            st.caption("No labeling session yet (create one on the Segmentation page).")
        else:
            chosen = st.selectbox("Session", sessions, format_func=lambda s: f"{s.name} (#{s.id})", key="gan.train_session")
            session_id = chosen.id
            st.caption("Each image is classed by the session label with the largest mask on it ('no mask' if none).")
    c1, c2, c3, c4 = st.columns(4)
    name = c1.text_input("Model name", "my-gan", key="gan.train_name")
    size = c2.selectbox("Size (px)", list(jobs.LIMITS.sizes), key="gan.train_size")
    minutes = c3.slider("Time limit (min)", 1, int(jobs.LIMITS.max_minutes), 5, key="gan.train_minutes")
    steps = c4.number_input("Steps", 10, jobs.LIMITS.max_steps, 1000, 10, key="gan.train_steps")
    if st.button("Start training", type="primary", icon=":material/play_arrow:", key="gan.train_start"):
        with user_errors() as outcome:
            if upload is not None:
                dataset = jobs.read_class_zip(upload.getvalue(), int(size))
            elif session_id is not None:
                dataset = jobs.read_labeling_session(session_id, int(size))
            else:
                raise InputError("choose a zip (or a labeling session) first")
            job_id = jobs.create_job(name, dataset, int(size), float(minutes), int(steps))
            jobs.start(job_id)
        if outcome.failed:
            return
        st.session_state[JOB] = job_id
        if dataset["skipped"]:
            st.warning(f"{len(dataset['skipped'])} file(s) skipped: " + "; ".join(dataset["skipped"][:5]))
        st.success(f"Started job {job_id}: {len(dataset['labels'])} images, classes {', '.join(dataset['classes'])}.")


def job_view(job_id: str) -> None:
    """Progress, losses, sample grids and controls of one job (polls while it runs)."""
    with user_errors() as outcome:
        status = jobs.job_status(job_id)
    if outcome.failed:
        return
    interval = 2.0 if status.active else None

    @st.fragment(run_every=interval)
    def live() -> None:
        with user_errors() as outcome:
            s = jobs.job_status(job_id)
        if outcome.failed:
            return
        minutes = f"{s.seconds / 60:.1f} of {s.max_seconds / 60:.0f} min"
        st.progress(s.progress, text=f"**{s.state}** · step {s.step} / {s.total_steps} · epoch {s.epoch} · {minutes}")
        st.caption(s.message)
        c1, c2 = st.columns([3, 2])
        c1.plotly_chart(loss_figure(s.history), key=f"gan.loss.{job_id}.{s.step}")
        if s.grids:
            pick = c2.select_slider("Sample grid at step", options=list(range(len(s.grids))), value=len(s.grids) - 1,
                                    format_func=lambda i: s.grids[i].stem.split("_")[-1].lstrip("0") or "0",
                                    key=f"gan.grid.{job_id}.{len(s.grids)}")
            c2.image(str(s.grids[pick]), caption=f"EMA generator, fixed latents, one row per class ({', '.join(s.classes)})",
                     width="stretch")
        if s.active and st.button("Cancel", icon=":material/stop:", key=f"gan.cancel.{job_id}"):
            jobs.cancel(job_id)
            st.rerun(scope="fragment")
        if s.state in ("cancelled", "failed") and st.button("Resume", icon=":material/replay:", key=f"gan.resume.{job_id}"):
            with user_errors():
                jobs.resume(job_id)
                st.rerun(scope="app")
        if s.state == "finished":
            st.success(f"Saved as model **{s.name}**. Pick it under **Generator** in the **Sample & download** "
                       "tab (and in **Quality & benefit**); it is marked \"your model\" there.")
            if st.session_state.get(f"gan.reloaded.{job_id}") is None:
                st.session_state[f"gan.reloaded.{job_id}"] = True
                service.rescan()
                if interval:
                    st.rerun(scope="app")
        elif interval and not s.active:
            st.rerun(scope="app")

    live()


def training_panel() -> None:
    start_job_form()
    all_jobs = jobs.list_jobs()
    if not all_jobs:
        return
    ids = [j.id for j in all_jobs]
    current = st.session_state.get(JOB)
    index = ids.index(current) if current in ids else 0
    job_id = st.selectbox("Training job", ids, index=index, key=f"gan.job_pick.{current}",
                          format_func=lambda i: next(f"{j.name} · job {i}" for j in all_jobs if j.id == i))
    st.session_state[JOB] = job_id
    job_view(job_id)


# ----- quality and the augmentation study ------------------------------------------------------

def study_figure(study: dict[str, Any]) -> go.Figure:
    """AUC mean +- sd by label fraction, one line per arm."""
    df = pd.DataFrame(study["rows"])
    fig = go.Figure()
    colours = {"real": "#9aa0a6", "classic": "#4c8bf5", "gan": "#f28b30", "gan+classic": "#34a853"}
    for arm, part in df.groupby("arm", sort=False):
        fig.add_trace(go.Scatter(x=[f"{f:.0%}" for f in part["fraction"]], y=part["auc_mean"], name=arm, mode="lines+markers",
                                 line=dict(color=colours.get(arm)),
                                 error_y=dict(type="data", array=part["auc_sd"], visible=True)))
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="training labels used",
                      xaxis_type="category", yaxis_title="validation AUC (mean ± sd over seeds)", title="Downstream benefit")
    return fig


def quality_panel(model: str) -> None:
    spec = service.generator(model)
    metrics = spec.card.metrics
    st.subheader("Sample quality")
    if "frechet_distance" not in metrics:
        st.info(metrics.get("status", "Not measured for this generator."))
    else:
        pr, pr_rr = metrics["precision_recall"], metrics["precision_recall_real_vs_real"]
        rows = [
            {"figure": "Fréchet distance (our classifier's features)", "samples vs real": metrics["frechet_distance"],
             "real vs real (scale)": metrics["frechet_distance_real_vs_real"]},
            {"figure": "precision (k=3)", "samples vs real": pr["precision"], "real vs real (scale)": pr_rr["precision"]},
            {"figure": "recall (k=3)", "samples vs real": pr["recall"], "real vs real (scale)": pr_rr["recall"]},
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        cons = metrics["class_consistency"]
        per = ", ".join(f"{spec.labels[int(k)]}: {v:.0%}" for k, v in cons["per_label"].items())
        for t, tc in metrics.get("class_consistency_truncated", {}).items():
            per += f"; at truncation {t}: {tc['overall']:.0%} (" + ", ".join(
                f"{spec.labels[int(k)]}: {v:.0%}" for k, v in tc["per_label"].items()) + ")"
        real = metrics.get("classifier_accuracy_on_real_val_at_this_size", {})
        real_txt = ", ".join(f"{spec.labels[int(k)]}: {v:.0%}" for k, v in real.items())
        st.markdown(f"**Class consistency** (classifier agrees with the requested class, {cons['n']} samples, unseen seed): "
                    f"{cons['overall']:.0%} ({per}). Same classifier on real validation images at this size: {real_txt}.")
        mem = metrics["memorisation"]
        st.markdown(f"**Memorisation:** median nearest-training distance {mem['samples_median']:.3f} (real unseen images: "
                    f"{mem['real_val_median']:.3f}); {mem['near_copies']} of {mem['n']} samples below the near-copy "
                    f"threshold {mem['near_copy_threshold']:.3f}.")
        st.caption(metrics.get("feature_space", ""))
    study = spec.card.sections.get("augmentation_study")
    st.subheader("Does it help a classifier?")
    if not study:
        st.info("The augmentation study has not been run for this generator yet: "
                f"`python -m core train augmentation-study --model {model}`.")
        return
    st.plotly_chart(study_figure(study), key="gan.study_chart")
    percent = st.column_config.NumberColumn("labels used", format="percent")
    df = pd.DataFrame(study["rows"])[["fraction", "arm", "n_real", "n_synthetic", "auc_mean", "auc_sd", "acc_mean", "acc_sd"]]
    st.dataframe(df, hide_index=True, width="stretch", column_config={
        "fraction": percent, "n_real": "real images", "n_synthetic": "synthetic images", "auc_mean": "AUC mean",
        "auc_sd": "AUC sd", "acc_mean": "accuracy mean", "acc_sd": "accuracy sd"})
    st.markdown("**Change against real data only** (*within noise*: the AUC change is smaller than the two arms' "
                "seed spread combined):")
    st.dataframe(pd.DataFrame(effects(study)), hide_index=True, width="stretch", column_config={
        "fraction": percent, "auc_gain": "AUC change", "acc_gain": "accuracy change", "auc_noise": "AUC noise"})
    st.caption(f"{study.get('caveat', '')}. Command: `{study.get('command', '')}`. Anchor: {study.get('anchor', '')}.")


def card_expander(model: str) -> None:
    card = service.card_for_display(model)
    with st.expander("Model card"):
        st.code(json.dumps(card, indent=2, default=str)[:20000], language="json")
