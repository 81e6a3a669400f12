"""Schema validation (messages name the field) and the JSON feature encoder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from core.prognosis.datasets import GBSG2_SCHEMA, STROKE_SCHEMA, load_stroke, load_survival, read_table
from core.prognosis.tabular import Encoder


def _stroke_row(**changes) -> pd.DataFrame:
    row = {"gender": "Male", "age": "67", "hypertension": "0", "heart_disease": "1", "ever_married": "Yes",
           "work_type": "Private", "Residence_type": "Urban", "avg_glucose_level": "228.69", "bmi": "N/A",
           "smoking_status": "formerly smoked"}
    row.update(changes)
    return pd.DataFrame([row])


def test_valid_row_keeps_missing_bmi_as_nan() -> None:
    clean = STROKE_SCHEMA.validate(_stroke_row())
    assert np.isnan(clean.loc[0, "bmi"]) and clean.loc[0, "age"] == 67.0


@pytest.mark.parametrize(("change", "field"), [
    ({"age": "-3"}, "age"), ({"age": "old"}, "age"), ({"gender": "x"}, "gender"),
    ({"avg_glucose_level": ""}, "avg_glucose_level"), ({"hypertension": "2"}, "hypertension"),
    ({"bmi": "1000"}, "bmi"),
])
def test_bad_value_names_the_field(change: dict, field: str) -> None:
    with pytest.raises(InputError, match=f"'{field}'"):
        STROKE_SCHEMA.validate(_stroke_row(**change))


def test_missing_column_is_named() -> None:
    with pytest.raises(InputError, match="smoking_status"):
        STROKE_SCHEMA.validate(_stroke_row().drop(columns=["smoking_status"]))


def test_table_error_gives_the_row() -> None:
    frame = pd.concat([_stroke_row(), _stroke_row(age="200")], ignore_index=True)
    with pytest.raises(InputError, match="row 2"):
        STROKE_SCHEMA.validate(frame)


def test_encoder_round_trips_through_json() -> None:
    data = load_survival("gbsg2")
    clean = GBSG2_SCHEMA.validate(data.frame)
    enc = Encoder(GBSG2_SCHEMA).fit(clean)
    x = enc.transform(clean)
    assert x.shape == (686, len(enc.feature_names)) == (686, 9)
    again = Encoder.from_json(enc.to_json()).transform(clean)
    np.testing.assert_array_equal(x, again)
    numeric = [i for i, n in enumerate(enc.feature_names) if "=" not in n]
    np.testing.assert_allclose(x[:, numeric].mean(axis=0), 0, atol=1e-5)
    assert len(enc.feature_fields()) == x.shape[1]


def test_read_table_rejects_garbage() -> None:
    with pytest.raises(InputError):
        read_table(b"")


def test_stroke_file_loads(shared_data) -> None:
    clean, y = load_stroke(shared_data / "clinical" / "stroke" / "stroke_train.csv")
    assert len(clean) == 4088 and int(y.sum()) == 199 and int(clean["bmi"].isna().sum()) == 160
