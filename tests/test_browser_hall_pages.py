"""The pages a whole hall opens first draw Vega-Lite and Markdown tables, and never load plotly.js
or st.table's scripts (issue 16).

A cold browser spends about a second of main-thread time on Streamlit's 4.7 MB plotly.js chunk
(benchmarks/bench_hall.py); its Vega chunk is 0.8 MB. Each page here is opened in a fresh browser
context, as a student's browser, and its loaded scripts are read from the Resource Timing API.
Screenshots: tests/artifacts/hall_page_*.png.
"""
import pytest

from conftest import screenshot, wait_for_app

HALL_PAGES = {"timeline": "/", "pareto": "/pareto", "conv_cost": "/conv_cost"}

DRAWN = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
    .filter(e => e.querySelector('canvas, svg') && e.getBoundingClientRect().height > 150).length"""
SCRIPTS = "() => performance.getEntriesByType('resource').map(r => r.name).filter(n => n.endsWith('.js'))"


@pytest.mark.parametrize("name", list(HALL_PAGES))
def test_hall_page_draws_vega_and_loads_no_plotly(browser, app_url, name):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    try:
        page.goto(app_url + HALL_PAGES[name])
        wait_for_app(page, timeout=120_000)
        page.wait_for_function(f"() => ({DRAWN})() > 0", timeout=60_000)
        wait_for_app(page, timeout=60_000)
        scripts = page.evaluate(SCRIPTS)
        assert any("VegaLite" in s for s in scripts), scripts          # the chart came from Vega's chunk
        assert not [s for s in scripts if "Plotly" in s]                # and plotly.js was never fetched
        # nor st.table's 0.85 MB (its Arrow formatting, moment.js, numbro): tables are Markdown
        assert not [s for s in scripts if "/Table." in s or "arrowFormatUtils" in s or "moment." in s], scripts
        assert not page.locator(".js-plotly-plot").count()
        assert not page.locator('[data-testid="stException"]').count()
        screenshot(page, f"hall_page_{name}")
    finally:
        ctx.close()
