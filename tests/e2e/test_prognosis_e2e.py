"""Browser test of each prognosis form on the "Classification & prognosis" page."""

from __future__ import annotations


from tests.e2e.conftest import ARTIFACTS, assert_no_exception, next_frame, wait_until_idle


def _open_tab(page, app_url: str, tab: str) -> None:
    # via the sidebar: a cold deep link can race the page registry and show "Page not found"
    page.goto(app_url)
    wait_until_idle(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Classification & prognosis").click()
    wait_until_idle(page)
    page.get_by_role("tab", name=tab).click()
    wait_until_idle(page)


def _panel(page):
    return page.locator('[data-testid="stTabPanel"]:visible')


def _shot(page, name: str, focus=None) -> None:
    """Screenshot with ``focus`` (a locator) scrolled into view: results sit below the form."""
    if focus is not None:
        focus.scroll_into_view_if_needed()
        next_frame(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"prognosis-{name}.png"), full_page=True)


def test_survival_form(page, app_url: str) -> None:
    _open_tab(page, app_url, "Survival")
    panel = _panel(page)
    nodes = panel.get_by_role("spinbutton", name="Positive lymph nodes (nodes)")
    nodes.fill("15")
    nodes.press("Tab")
    panel.get_by_role("button", name="Predict survival").click()
    wait_until_idle(page)
    page.wait_for_selector("text=Risk group")
    assert_no_exception(page)
    assert panel.locator('[data-testid="stMetric"]').filter(has_text="Risk group").inner_text().strip().endswith("high")
    assert panel.locator(".js-plotly-plot").count() >= 2
    _shot(page, "survival", panel.locator(".js-plotly-plot").first)


def test_stroke_form(page, app_url: str) -> None:
    _open_tab(page, app_url, "Stroke risk")
    panel = _panel(page)
    age = panel.get_by_role("spinbutton", name="Age (years)")
    age.fill("75")
    age.press("Tab")
    panel.get_by_role("button", name="Estimate risk").click()
    wait_until_idle(page)
    page.wait_for_selector("text=95 % interval")
    assert_no_exception(page)
    risk = panel.locator('[data-testid="stMetric"]').filter(has_text="Stroke risk").inner_text()
    assert "%" in risk
    _shot(page, "stroke", panel.locator(".js-plotly-plot").first)


def test_sequence_demo_and_bad_upload(page, app_url: str, tmp_path) -> None:
    _open_tab(page, app_url, "Heartbeat sequence")
    panel = _panel(page)
    panel.get_by_text("Synthetic demo beat (generated, not real data)").click()
    wait_until_idle(page)
    page.wait_for_selector("text=Class probabilities")
    assert_no_exception(page)
    assert "Synthetic demo" in panel.inner_text()
    _shot(page, "sequence-demo", panel.locator(".js-plotly-plot").first)
    panel.get_by_text("Upload a file", exact=True).click()
    wait_until_idle(page)
    short = tmp_path / "short.csv"
    short.write_text(",".join(["0.5"] * 40) + "\n")
    panel.locator('input[type="file"]').set_input_files(str(short))
    wait_until_idle(page)
    error = panel.locator('[data-testid="stAlertContentError"]')
    error.wait_for()
    assert "sequence length" in error.inner_text()
    assert_no_exception(page)
    _shot(page, "sequence-error", error)
