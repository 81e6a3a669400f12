"""Prognosis panels for the "Classification & prognosis" page: survival, stroke risk, heartbeats.

Each ``render_*`` draws one tab: a form (fields, units and ranges from the model's card),
the prediction with its uncertainty, what drives it, and batch scoring of a CSV. All work
is done by ``core.prognosis.predict``; errors the user can fix are shown with ``st.error``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.prognosis import predict, service, waveform
from core.prognosis.examples import synthetic_beat
from core.prognosis.levels import level_label
from core.prognosis.tabular import Encoder, Field
from core.ui import freshness
from core.ui.errors import user_errors

GROUP_COLOURS = ["#2ca02c", "#ff7f0e", "#d62728"]
STATE = "medlens.prognosis."


def _pick_model(task: str, key: str) -> Any | None:
    specs = service.models(task)
    if not specs:
        st.warning(f"No {task} model is registered (train one with `python -m core train {task}`).")
        return None
    names = [s.name for s in specs]
    name = st.selectbox("Model", names, key=f"{key}_model") if len(names) > 1 else names[0]
    spec = next(s for s in specs if s.name == name)
    st.caption(spec.card.description)
    return spec


def _field_input(f: Field, key: str, stats: dict[str, Any] | None = None, default: Any = None) -> Any:
    label = f"{f.label or f.name}" + (f" ({f.unit})" if f.unit else "")
    if f.kind == "categorical":
        levels = list(f.levels)
        index = levels.index(str(default)) if default is not None and str(default) in levels else 0
        return st.selectbox(label, levels, index=index, format_func=lambda v: level_label(v, levels),
                            key=f"{key}_{f.name}")
    help_text = f"accepted {f.min:g}–{f.max:g}"
    if stats:
        help_text = f"cohort range {stats['min']:g}–{stats['max']:g}, median {stats['median']:g}; " + help_text
    if f.optional:
        help_text += "; leave empty if unknown"
    value = default if default is not None else (None if f.optional else f.min)
    # no min/max on the widget: an out-of-range entry reaches the check (named in red, run blocked)
    # instead of being silently dropped by the browser while an earlier result stays on screen
    return st.number_input(label, value=None if value is None else float(value), step=float(f.step),
                           help=help_text, key=f"{key}_{f.name}")


def _form_columns(fields: tuple[Field, ...], key: str, stats: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    columns = st.columns(2)
    for i, f in enumerate(fields):
        with columns[i % 2]:
            values[f.name] = _field_input(f, key, stats.get(f.name) if f.kind == "numeric" else None,
                                          defaults.get(f.name))
    return values


def _checked(name: str, values: dict[str, Any]) -> bool:
    """Check the form as it stands; show what is wrong (one line) and return False to block the run."""
    with user_errors() as outcome:
        predict.check_form(name, values)
    return not outcome.failed


def _field_labels(spec: Any) -> dict[str, str]:
    return {f.name: f.label or f.name for f in Encoder.from_json(spec.preprocessing.encoder).schema.fields}


def _labelled(values: dict[str, float], labels: dict[str, str]) -> dict[str, float]:
    return {labels.get(k, k): v for k, v in values.items()}


def _bars(values: dict[str, float], title: str, xaxis: str) -> go.Figure:
    items = sorted(values.items(), key=lambda kv: abs(kv[1]))
    fig = go.Figure(go.Bar(
        x=[v for _, v in items], y=[k for k, _ in items], orientation="h",
        marker_color=["#d62728" if v > 0 else "#1f77b4" for _, v in items],
    ))
    fig.update_layout(title=title, xaxis_title=xaxis, height=60 + 28 * len(items),
                      margin=dict(l=10, r=10, t=40, b=40))
    return fig


def _batch(label: str, key: str, score: Any, filename: str, expected: list[str]) -> None:
    st.markdown(f"**{label}**")
    st.caption("Columns: " + ", ".join(expected))
    upload = st.file_uploader("CSV file", type=["csv"], key=f"{key}_csv")
    if upload is None:
        return
    with user_errors() as outcome:
        table = score(upload.getvalue())
    if outcome.failed:
        return
    st.dataframe(table, width="stretch", hide_index=True)
    st.download_button("Download scored CSV", table.to_csv(index=False).encode(), file_name=filename,
                       mime="text/csv", key=f"{key}_download")


# ---------------------------------------------------------------- survival

def render_survival() -> None:
    """Patient form -> survival curve with band, median, 1/3/5-year survival, risk group, drivers."""
    st.subheader("Survival after breast cancer (GBSG2)")
    spec = _pick_model("survival", "surv")
    if spec is None:
        return
    encoder = Encoder.from_json(spec.preprocessing.encoder)
    stats = dict(spec.preprocessing.field_stats)
    with st.container(border=True):
        values = _form_columns(encoder.schema.fields, "surv", stats, dict(spec.preprocessing.reference))
        valid = _checked(spec.name, values)
        pressed = st.button("Predict survival", type="primary", key="surv_predict", disabled=not valid)
    inputs = {"model": spec.name, **values}
    if pressed:
        freshness.forget(STATE + "survival")
        with user_errors():
            result = predict.survival_patient(spec.name, values)
            freshness.keep(STATE + "survival", inputs, {**result, "labels": _field_labels(spec)})
    result = freshness.fresh(STATE + "survival", inputs)
    if result:
        _show_survival(result)
    with st.expander("Cross-validated performance (DeepSurv vs Cox vs random survival forest)"):
        _survival_metrics(spec)
    names = encoder.schema.names
    _batch("Batch scoring", "surv_batch", lambda b: predict.survival_batch(spec.name, b),
           "survival_predictions.csv", names)


def _show_survival(result: dict[str, Any]) -> None:
    pred = result["prediction"]
    years = lambda d: f"{d / 365.25:.1f} y" if d is not None else "not reached"  # noqa: E731
    top = st.columns(2)
    top[0].metric("Median survival", years(pred.median_days) if pred.median_days else "not reached",
                  help="time where the predicted recurrence-free survival falls to 50 % (within follow-up)")
    top[1].metric("Risk group", result["group_name"], help="tertile of the cohort's predicted risk")
    cols = st.columns(max(3, len(pred.at_years)))
    for col, (year, (mean, lo, hi)) in zip(cols, pred.at_years.items()):
        col.metric(f"{year}-year survival", f"{mean:.0%}", help=f"ensemble 10–90 % band {lo:.0%}–{hi:.0%}")
        col.caption(f"band {lo:.0%}–{hi:.0%}")
    t_years = pred.times_days / 365.25
    fig = go.Figure()
    for g, name in enumerate(result["cohort"]["groups"]):
        km = result["cohort"]["km"][str(g)]
        fig.add_trace(go.Scatter(x=np.asarray(km["t"]) / 365.25, y=km["s"], mode="lines", line_shape="hv",
                                 line=dict(color=GROUP_COLOURS[g], dash="dot", width=1.5),
                                 name=f"cohort KM: {name} risk (n={km['n']})"))
    fig.add_trace(go.Scatter(x=np.concatenate([t_years, t_years[::-1]]),
                             y=np.concatenate([pred.upper, pred.lower[::-1]]), fill="toself",
                             fillcolor="rgba(31,119,180,0.2)", line=dict(width=0), hoverinfo="skip",
                             name="ensemble 10–90 % band"))
    fig.add_trace(go.Scatter(x=t_years, y=pred.survival, mode="lines", line=dict(color="#1f77b4", width=3),
                             name="this patient"))
    fig.update_layout(title="Predicted recurrence-free survival vs the cohort's risk groups",
                      xaxis_title="years since surgery", yaxis_title="survival probability",
                      yaxis_range=[0, 1.02], height=430, margin=dict(l=10, r=10, t=50, b=40),
                      legend=dict(orientation="h", y=-0.2))
    st.plotly_chart(fig, width="stretch", key="surv_curve")
    if max(abs(v) for v in pred.attributions.values()) < 1e-6:
        st.info("Every field equals the cohort's typical patient, so no input moves this prediction away "
                "from it. Change a field to see what drives the risk.")
    else:
        st.plotly_chart(_bars(_labelled(pred.attributions, result["labels"]), "What drives this prediction",
                              "change in log hazard vs a typical patient (+ = higher risk)"),
                        width="stretch", key="surv_attr")
    st.caption("Each bar: the change in predicted log-risk when only that field is set back to the cohort's "
               "median / most common value. Curves are an ensemble of 10 networks; the band is their spread.")


def _survival_metrics(spec: Any) -> None:
    metrics = spec.card.metrics
    rows = []
    for key, report in metrics.items():
        if not isinstance(report, dict) or "deepsurv" not in report:
            continue
        for model in ("deepsurv", "cox", "rsf"):
            if model in report:
                m = report[model]
                rows.append({"data": report["dataset"], "model": model, "Harrell C": m["harrell_c"],
                             "Uno C": m["uno_c"], "IBS": m["ibs"],
                             "folds x seeds": f"{report['cv']} x {len(report['seeds'])}"})
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(spec.card.sections.get("metric_notes", ""))


# ---------------------------------------------------------------- stroke

def render_stroke() -> None:
    """Form -> stroke risk with its interval and contributing factors; batch CSV."""
    st.subheader("Stroke risk")
    spec = _pick_model("risk", "stroke")
    if spec is None:
        return
    encoder = Encoder.from_json(spec.preprocessing.encoder)
    defaults = {"gender": "Female", "age": 60.0, "hypertension": "0", "heart_disease": "0", "ever_married": "Yes",
                "work_type": "Private", "Residence_type": "Urban", "avg_glucose_level": 100.0, "bmi": 28.0,
                "smoking_status": "never smoked"}
    with st.container(border=True):
        values = _form_columns(encoder.schema.fields, "stroke", {}, defaults)
        valid = _checked(spec.name, values)
        pressed = st.button("Estimate risk", type="primary", key="stroke_predict", disabled=not valid)
    inputs = {"model": spec.name, **values}
    if pressed:
        freshness.forget(STATE + "stroke")
        with user_errors():
            freshness.keep(STATE + "stroke", inputs, predict.stroke_patient(spec.name, values))
    result = freshness.fresh(STATE + "stroke", inputs)
    if result:
        cols = st.columns(3)
        cols[0].metric("Stroke risk", f"{result['risk']:.1%}")
        cols[1].metric("95 % interval", f"{result['lower']:.1%} – {result['upper']:.1%}",
                       help="percentiles of 200 bootstrap refits of the model")
        cols[2].metric("Base rate in training data", f"{result['prevalence']:.1%}")
        st.plotly_chart(_bars(_labelled(result["contributions"], _field_labels(spec)), "Contributing factors",
                              "log-odds vs the average training patient (+ = raises risk)"),
                        width="stretch", key="stroke_attr")
    with st.expander("Model comparison and calibration"):
        _stroke_metrics(spec)
    _batch("Batch scoring", "stroke_batch", lambda b: predict.stroke_rows(spec.name, b),
           "stroke_risk.csv", encoder.schema.names)


def _stroke_metrics(spec: Any) -> None:
    metrics = spec.card.metrics
    cv_key = next((k for k in metrics if k.startswith("cv") and k.endswith("_auc") and k != "cv5_auc"), None)
    selection = metrics.get("selection", {})
    rows = []
    for name, m in metrics.get(cv_key, {}).items() if cv_key else []:
        diff = selection.get("differences", {}).get(name, {})
        rows.append({"model": name, "CV AUC": m["mean"], "95% CI": f"{m['ci95'][0]:.3f}–{m['ci95'][1]:.3f}",
                     "minus best": diff.get("minus_best"), "within noise": diff.get("within_noise"),
                     "calibration slope": selection.get("oof_calibration_slope", {}).get(name)})
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        st.caption(f"Repeated stratified CV ({cv_key.removeprefix('cv').removesuffix('_auc')} folds x repeats). "
                   f"Best: {selection.get('best')}; shipped: {metrics.get('shipped')} — {selection.get('rule', '')}.")
    cal = metrics.get("calibration_oof", {}).get("reliability_repeat0")
    if cal:
        brier = metrics["calibration_oof"]["per_repeat_mean"]["brier"]
        top = max(max(cal["predicted"]), max(cal["observed"])) * 1.1
        fig = go.Figure([
            go.Scatter(x=[0, top], y=[0, top], mode="lines", line=dict(dash="dash", color="grey"), name="perfect"),
            go.Scatter(x=cal["predicted"], y=cal["observed"], mode="lines+markers", name="shipped (out-of-fold)",
                       text=[f"n={n}" for n in cal["n"]]),
        ])
        fig.update_layout(title=f"Reliability (out-of-fold, Brier {brier})",
                          xaxis_title="mean predicted risk", yaxis_title="observed stroke rate", height=360,
                          margin=dict(l=10, r=10, t=50, b=40))
        st.plotly_chart(fig, width="stretch", key="stroke_reliability")


# ---------------------------------------------------------------- sequences

SYNTHETIC = "Synthetic demo beat (generated, not real data)"
REAL_ECG = "Real ECG recording (12-lead DICOM example shipped with pydicom)"
UPLOAD = "Upload a file"


def render_sequence() -> None:
    """A heartbeat file (CSV row, UCR .ts/.txt), a DICOM ECG (segmented into beats), pydicom's real
    example ECG, or a synthetic demo beat -> classes + saliency; whole-file evaluation as a table."""
    st.subheader("Heartbeat classification")
    spec = _pick_model("sequence", "seq")
    if spec is None:
        return
    length = int(spec.preprocessing.length)
    source = st.radio("Input", [UPLOAD, REAL_ECG, SYNTHETIC], horizontal=True, key="seq_source")
    series, truth = None, None
    if source == UPLOAD:
        upload = st.file_uploader(f"Sequence file: UCR .ts / .txt, CSV rows of {length} values (optional 'label' "
                                  "column), or a DICOM ECG waveform (.dcm)", type=["ts", "txt", "csv", "dcm"],
                                  key="seq_file")
        if upload is None:
            return
        data = upload.getvalue()
        if waveform.is_dicom(data):
            series = _waveform_beats(spec, data, upload.name)
        else:
            series, truth = _sequence_file(spec, data, upload.name)
    elif source == REAL_ECG:
        with user_errors() as outcome:
            data = waveform.example_path().read_bytes()
        if outcome.failed:
            return
        st.caption("A real 10-second 12-lead resting ECG from pydicom's test files (`waveform_ecg.dcm`, MIT "
                   "licence), loaded from the installed pydicom package.")
        series = _waveform_beats(spec, data, waveform.EXAMPLE_FILE)
    else:
        variant = st.selectbox("Demo shape", ["A: upright T wave", "B: inverted T wave, raised ST segment"],
                               key="seq_demo")
        series = synthetic_beat(length, variant.startswith("B"))
        st.info("Synthetic demo: a generated waveform, not a recording. Pick the real ECG or upload a file "
                "to classify real beats.")
    if series is None:
        return
    _classify_beat(spec, series, truth)


def _sequence_file(spec: Any, data: bytes, name: str) -> tuple[np.ndarray | None, str | None]:
    """A file of beats: pick a row; with labels, offer the whole-file evaluation."""
    with user_errors() as outcome:
        x, labels = predict.load_sequences(spec.name, data, name)
    if outcome.failed:
        return None, None
    row, truth = 0, None
    if len(x) > 1:
        row = int(st.number_input(f"Row (1–{len(x)})", 1, len(x), 1, key="seq_row")) - 1
    if labels is not None:
        codes = list(spec.preprocessing.label_codes)
        code = str(labels[row])
        truth = spec.labels[codes.index(code)] if code in codes else code
    if labels is not None and len(x) > 1:
        _evaluate_file(spec, data, name)
    return x[row], truth


def _evaluate_file(spec: Any, data: bytes, name: str) -> None:
    """The button and the evaluation table (accuracy, macro-F1, n, data, split); a warning when
    the file is the model's own training data."""
    inputs = {"model": spec.name, "file": data}
    key = STATE + "sequence_eval"
    if st.button("Evaluate the whole file", key="seq_eval"):
        freshness.forget(key)
        with user_errors():
            with st.spinner("Classifying every series…"):
                freshness.keep(key, inputs, predict.sequence_report(spec.name, data, name))
    report = freshness.fresh(key, inputs, notice=False)
    if not report:
        return
    table = pd.DataFrame([{"data": report["data"], "split": report["split"], "n": report["n"],
                           "accuracy": report["acc"], "macro F1": report["macro_f1"]}])
    st.dataframe(table, hide_index=True, width="stretch")
    overlap = report["in_training_data"]
    if overlap:
        share = "all" if overlap == report["n"] else f"{overlap} of {report['n']}"
        st.warning(f"{share} series of this file are the model's own training data: these figures show how well "
                   "it fits what it learnt from, not how it does on new beats. The card's cross-validated "
                   "figures below are the honest estimate.")
    elif overlap is None:
        st.caption("Whether this file overlaps the model's training data cannot be checked here "
                   "(the training file is not on this machine).")


def _waveform_beats(spec: Any, data: bytes, name: str) -> np.ndarray | None:
    """A DICOM ECG: plot one lead with its R peaks, cut the beats, classify each; returns the beat
    picked for the detailed view."""
    length = int(spec.preprocessing.length)
    with user_errors() as outcome:
        ecg = waveform.read_waveform(data, name)
    if outcome.failed:
        return None
    leads = list(ecg.leads)
    lead = st.selectbox("Lead", leads, index=leads.index(ecg.default_lead()), key="seq_lead")
    st.info(f"The heartbeat models take **one segmented beat** of {length} samples, not a whole recording. "
            f"This is a {ecg.describe()} recording: MedLens finds the R peaks in {lead} and classifies each beat "
            f"(from a third of the interval before the R peak to two thirds after it, resampled to {length}). "
            f"The model learnt from {spec.card.data.get('file', 'another data set')}, beats prepared "
            "differently: treat these labels as a demonstration, not a reading of this ECG.")
    with user_errors() as outcome:
        beats, peaks = waveform.segment_beats(ecg.leads[lead], ecg.fs, length)
    signal = ecg.leads[lead]
    t = np.arange(len(signal)) / ecg.fs
    fig = go.Figure(go.Scatter(x=t, y=signal, mode="lines", line=dict(color="#444", width=1), name=lead))
    if not outcome.failed:
        edge = np.setdiff1d(waveform.r_peaks(signal, ecg.fs), peaks)  # no full interval on one side
        fig.add_trace(go.Scatter(x=edge / ecg.fs, y=signal[edge], mode="markers", name="R peak, beat incomplete",
                                 marker=dict(color="#888", size=8, symbol="triangle-down")))
        fig.add_trace(go.Scatter(x=peaks / ecg.fs, y=signal[peaks], mode="markers+text", name="R peaks",
                                 text=[str(i) for i in range(1, len(peaks) + 1)], textposition="top center",
                                 marker=dict(color="#d62728", size=8, symbol="triangle-down")))
    fig.update_layout(title=f"{lead} ({ecg.describe()}): numbered R peaks are the beats classified below",
                      xaxis_title="time (s)",
                      yaxis_title=f"amplitude ({ecg.units})" if ecg.units else "amplitude", height=300,
                      margin=dict(l=10, r=10, t=50, b=40), showlegend=False)
    st.plotly_chart(fig, width="stretch", key="seq_waveform")
    if outcome.failed:
        return None
    with user_errors() as outcome:
        rows = predict.sequence_batch(spec.name, beats)
    if outcome.failed:
        return None
    table = pd.DataFrame({"beat": np.arange(1, len(beats) + 1), "R peak (s)": np.round(peaks / ecg.fs, 2),
                          "prediction": [r["label"] for r in rows],
                          **{f"P({label})": [round(r["probs"][label], 3) for r in rows] for label in spec.labels}})
    st.markdown(f"**{len(beats)} beats** found in {lead}:")
    st.dataframe(table, hide_index=True, width="stretch")
    pick = int(st.number_input(f"Beat to explain (1–{len(beats)})", 1, len(beats), 1, key="seq_beat")) - 1
    return beats[pick]


def _classify_beat(spec: Any, series: np.ndarray, truth: str | None) -> None:
    with user_errors() as outcome:
        out = predict.sequence_predict(spec.name, series)
    if outcome.failed:
        return
    head = st.columns(2)
    head[0].metric("Prediction", out["label"], help="class with the highest probability")
    if truth:
        head[1].metric("Label in file", truth)
    cols = st.columns([2, 1])
    with cols[0]:
        st.plotly_chart(_saliency_figure(out["series"], out["saliency"], out["label"],
                                         out.get("saliency_method", "gradient")), width="stretch", key="seq_trace")
    with cols[1]:
        probs = out["probs"]
        fig = go.Figure(go.Bar(x=list(probs.values()), y=list(probs.keys()), orientation="h",
                               text=[f"{p:.1%}" for p in probs.values()], textposition="auto"))
        fig.update_layout(title="Class probabilities", xaxis_range=[0, 1], height=120 + 30 * len(probs),
                          margin=dict(l=10, r=10, t=40, b=30))
        st.plotly_chart(fig, width="stretch", key="seq_probs")
    with st.expander("Cross-validated performance of the candidates"):
        metrics = spec.card.metrics
        repeated = {k: v for k, v in metrics.items() if k.startswith("cv") and "x" in k and isinstance(v, dict)}
        rows = ([{"model": name, **{m: v.get(m) for m in ("acc", "acc_ci95", "macro_f1", "repeat_acc")},
                  "within noise of best": metrics.get("selection", {}).get("differences", {}).get(name, {})
                  .get("within_noise")}
                 for table in repeated.values() for name, v in table.items()] if repeated else
                [{"model": k, **{m: v.get(m) for m in ("acc", "acc_sd", "macro_f1", "n", "cv")}}
                 for k, v in metrics.items() if isinstance(v, dict)])
        if repeated:
            st.caption(f"Shipped: {metrics.get('shipped')} (simplest candidate within noise of the best).")
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        st.caption(spec.card.split.get("cv", ""))


def _saliency_figure(series: np.ndarray, sal: np.ndarray, label: str, method: str = "gradient") -> go.Figure:
    steps = np.arange(len(series))
    fig = go.Figure()
    top = sal >= np.quantile(sal, 0.85)
    for start, stop in _runs(top):
        fig.add_vrect(x0=start - 0.5, x1=stop - 0.5, fillcolor="rgba(255,127,14,0.25)", line_width=0)
    fig.add_trace(go.Scatter(x=steps, y=series, mode="lines", line=dict(color="#444", width=1.5), name="beat"))
    fig.add_trace(go.Scatter(x=steps, y=series, mode="markers", name="saliency",
                             marker=dict(color=sal, colorscale="Oranges", size=6, showscale=True,
                                         colorbar=dict(title="saliency", thickness=10))))
    fig.update_layout(title=f"Beat and {method} saliency for '{label}' (shaded: top 15 % of steps)",
                      xaxis_title="time step", yaxis_title="amplitude", height=400, showlegend=False,
                      margin=dict(l=10, r=10, t=50, b=40))
    return fig


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    runs, start = [], None
    for i, on in enumerate(mask):
        if on and start is None:
            start = i
        elif not on and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(mask)))
    return runs
