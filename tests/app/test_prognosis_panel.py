"""AppTest of the three prognosis panels: render, main path, bad input shows st.error."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

TIMEOUT = 120


def _survival_app() -> None:
    from core.ui.prognosis.panel import render_survival

    render_survival()


def _stroke_app() -> None:
    from core.ui.prognosis.panel import render_stroke

    render_stroke()


def _sequence_app() -> None:
    from core.ui.prognosis.panel import render_sequence

    render_sequence()


def _run(function) -> AppTest:
    at = AppTest.from_function(function, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _press(at: AppTest) -> AppTest:
    """Press the panel's run button (Predict survival / Estimate risk)."""
    button = next(b for b in at.button if b.key in ("surv_predict", "stroke_predict"))
    return button.click().run()


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_survival_form_predicts_curve_and_group() -> None:
    at = _run(_survival_app)
    at.number_input(key="surv_pnodes").set_value(20.0)
    _press(at)
    assert not at.exception and not at.error
    assert _metric(at, "Risk group") == "high"
    assert "%" in _metric(at, "5-year survival")
    assert len(at.get("plotly_chart")) >= 2


def test_survival_batch_csv_scores_and_bad_csv_names_field() -> None:
    at = _run(_survival_app)
    good = (b"age,menostat,tsize,tgrade,pnodes,progrec,estrec,horTh\n"
            b"50,Pre,20,II,1,100,100,yes\n70,Post,60,III,25,2,3,no\n")
    at.file_uploader(key="surv_batch_csv").set_value(("p.csv", good, "text/csv")).run()
    assert not at.error and not at.exception
    table = at.dataframe[-1].value
    assert len(table) == 2 and table["log_risk"].iloc[1] > table["log_risk"].iloc[0]
    bad = good.replace(b"70,Post", b"170,Post")
    at.file_uploader(key="surv_batch_csv").set_value(("p.csv", bad, "text/csv")).run()
    assert at.error and "'age'" in at.error[0].value and "row 2" in at.error[0].value


def test_stroke_form_gives_risk_with_interval() -> None:
    at = _run(_stroke_app)
    at.number_input(key="stroke_age").set_value(80.0)
    at.selectbox(key="stroke_hypertension").set_value("1")
    _press(at)
    assert not at.exception and not at.error
    high = float(_metric(at, "Stroke risk").rstrip("%"))
    at.number_input(key="stroke_age").set_value(20.0)
    at.selectbox(key="stroke_hypertension").set_value("0")
    _press(at)
    low = float(_metric(at, "Stroke risk").rstrip("%"))
    assert high > 5 * low
    assert "–" in _metric(at, "95 % interval")


def test_stroke_batch_bad_value_shows_error(shared_data) -> None:
    at = _run(_stroke_app)
    lines = (shared_data / "clinical" / "stroke" / "stroke_train.csv").read_text().splitlines()[:6]
    at.file_uploader(key="stroke_batch_csv").set_value(("s.csv", "\n".join(lines).encode(), "text/csv")).run()
    assert not at.error and len(at.dataframe[-1].value) == 5
    bad = "\n".join(lines).replace("Male", "Robot", 1).encode()
    at.file_uploader(key="stroke_batch_csv").set_value(("s.csv", bad, "text/csv")).run()
    assert at.error and "'gender'" in at.error[0].value


def test_sequence_demo_and_upload() -> None:
    at = _run(_sequence_app)
    at.radio(key="seq_source").set_value("Synthetic demo beat (generated, not real data)").run()
    assert not at.exception and not at.error
    assert any("Synthetic demo" in i.value for i in at.info)
    assert _metric(at, "Prediction") in ("myocardial infarction", "normal")


def test_sequence_upload_real_file_and_wrong_length(shared_data: Path) -> None:
    at = _run(_sequence_app)
    data = (shared_data / "clinical" / "ecg200" / "ECG200_TRAIN.ts").read_bytes()
    at.file_uploader(key="seq_file").set_value(("ECG200_TRAIN.ts", data, "text/plain")).run()
    assert not at.exception and not at.error
    assert _metric(at, "Prediction") in ("myocardial infarction", "normal")
    short = b"label," + b",".join(b"t%d" % i for i in range(40)) + b"\n1," + b",".join([b"0.5"] * 40) + b"\n"
    at.file_uploader(key="seq_file").set_value(("short.csv", short, "text/csv")).run()
    assert at.error and "sequence length" in at.error[0].value


def test_stroke_form_spells_each_option_once() -> None:
    """Issue 20 item 8: no two options of the form differ only by case ("yes"/"Yes")."""
    at = _run(_stroke_app)
    shown = [option for box in at.selectbox for option in box.options]
    by_folded: dict[str, set[str]] = {}
    for option in shown:
        by_folded.setdefault(option.casefold(), set()).add(option)
    assert all(len(spellings) == 1 for spellings in by_folded.values()), by_folded
    assert "Yes" in shown and "No" in shown
    # the one spelling still maps to the model's coding: "Yes" for hypertension is the code "1"
    at.selectbox(key="stroke_hypertension").set_value("1")
    at.selectbox(key="stroke_ever_married").set_value("Yes")
    _press(at)
    assert not at.exception and not at.error


STALE = "Inputs changed — run again"


def test_survival_result_hidden_when_inputs_change_and_invalid_input_blocks_the_run() -> None:
    """Issue 20 item 2: the curve never stays beside inputs it does not belong to."""
    at = _run(_survival_app)
    _press(at)
    assert any(c.key == "surv_curve" for c in at.get("plotly_chart"))
    at.number_input(key="surv_pnodes").set_value(12.0).run()
    assert not any(c.key == "surv_curve" for c in at.get("plotly_chart"))
    assert any(STALE in w.value for w in at.warning)
    at.number_input(key="surv_age").set_value(250.0).run()  # out of the accepted 18-100: flagged, run blocked
    assert at.error and "'age'" in at.error[0].value
    assert at.button(key="surv_predict").disabled
    at.number_input(key="surv_age").set_value(50.0).run()
    assert not at.error and not at.button(key="surv_predict").disabled
    _press(at)
    assert any(c.key == "surv_curve" for c in at.get("plotly_chart")) and not any(STALE in w.value for w in at.warning)


def test_stroke_result_hidden_when_inputs_change() -> None:
    at = _run(_stroke_app)
    _press(at)
    assert any(m.label == "Stroke risk" for m in at.metric)
    at.number_input(key="stroke_age").set_value(81.0).run()
    assert not any(m.label == "Stroke risk" for m in at.metric)
    assert any(STALE in w.value for w in at.warning)
    at.number_input(key="stroke_age").set_value(-3.0).run()
    assert at.error and at.button(key="stroke_predict").disabled


REAL_ECG = "Real ECG recording (12-lead DICOM example shipped with pydicom)"


def _beats_table(at: AppTest):
    return next(df.value for df in at.dataframe if "R peak (s)" in df.value.columns)


def test_sequence_real_dicom_example_is_segmented_into_beats() -> None:
    """Issue 20 item 3: a real example from a package, shown as a waveform, classified beat by beat."""
    at = _run(_sequence_app)
    at.radio(key="seq_source").set_value(REAL_ECG).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("one segmented beat" in i.value for i in at.info)
    assert any(c.key == "seq_waveform" for c in at.get("plotly_chart"))
    table = _beats_table(at)
    assert len(table) == 8 and set(table["prediction"]) <= {"myocardial infarction", "normal"}
    assert _metric(at, "Prediction") in ("myocardial infarction", "normal")
    at.selectbox(key="seq_lead").set_value("Lead V5").run()
    assert not at.exception and len(_beats_table(at)) == 8


def test_sequence_uploader_takes_a_dicom_ecg() -> None:
    from core.prognosis.waveform import example_path

    at = _run(_sequence_app)
    assert ".dcm" in at.file_uploader(key="seq_file").proto.type
    at.file_uploader(key="seq_file").set_value(("ecg.dcm", example_path().read_bytes(), "application/dicom")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(_beats_table(at)) == 8


def test_sequence_evaluation_is_a_table_with_n_split_and_training_warning(shared_data: Path) -> None:
    """Issue 20 item 3: metrics as a table (not raw JSON), with n and split; the training file is named as such."""
    at = _run(_sequence_app)
    data = (shared_data / "clinical" / "ecg200" / "ECG200_TRAIN.ts").read_bytes()
    at.file_uploader(key="seq_file").set_value(("ECG200_TRAIN.ts", data, "text/plain")).run()
    at.button(key="seq_eval").click().run()
    assert not at.exception and not at.error
    assert not at.json
    table = next(df.value for df in at.dataframe if "accuracy" in df.value.columns)
    assert int(table["n"].iloc[0]) == 100 and "training data" in table["split"].iloc[0]
    assert any("model's own training data" in w.value for w in at.warning)


def test_sequence_minirocket_model_with_occlusion_saliency() -> None:
    at = _run(_sequence_app)
    at.selectbox(key="seq_model").set_value("ecg200-minirocket").run()
    at.radio(key="seq_source").set_value("Synthetic demo beat (generated, not real data)").run()
    assert not at.exception and not at.error
    assert _metric(at, "Prediction") in ("myocardial infarction", "normal")
    assert any("Shipped: minirocket" in c.value for c in at.caption)
