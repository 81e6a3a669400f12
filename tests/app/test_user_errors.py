"""``core.ui.errors.user_errors``: a user error becomes one st.error line; bugs still raise."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page() -> None:
    import streamlit as st

    from core.errors import InputError
    from core.ui.errors import user_errors

    with user_errors() as outcome:
        raise InputError("not a DICOM file\nsecond line with detail")
    st.write(f"failed={outcome.failed}")
    with user_errors(ValueError) as other:
        raise ValueError("bad value")
    st.write(f"other={other.failed}")
    with user_errors() as fine:
        st.write("inside")
    st.write(f"fine={fine.failed}")
    if st.session_state.get("bug"):
        with user_errors():
            raise RuntimeError("a bug")


def test_user_error_is_shown_in_one_line_and_swallowed() -> None:
    at = AppTest.from_function(_page).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["not a DICOM file", "bad value"]
    texts = [m.value for m in at.markdown]
    assert "failed=True" in texts and "other=True" in texts and "fine=False" in texts and "inside" in texts


def test_other_errors_are_not_hidden() -> None:
    at = AppTest.from_function(_page)
    at.session_state["bug"] = True
    at.run()
    assert at.exception  # the page shows Streamlit's error box (details redacted by the config), not an st.error line
    assert not [e for e in at.error if "a bug" in e.value]
