"""The lecture in real Chromium at a projector's 1024×768: run start to finish with the keyboard
only, every step's main figure visible without scrolling, ?step=N reopening step N, and the
handout opening offline with every step. Screenshots: tests/artifacts/lecture_step_*.png."""
import re

from conftest import screenshot, wait_for_app

from ui import lecture as lec

N = len(lec.STEPS)
CHARTS = ".js-plotly-plot, .vega-embed"      # a plotly figure or a Vega-Lite chart (issue 16)


def settle(page):
    page.wait_for_timeout(600)
    wait_for_app(page, timeout=120_000)
    page.wait_for_timeout(900)
    wait_for_app(page, timeout=120_000)


def progress(page) -> str:
    return page.locator("[data-testid='stMain']").get_by_text(re.compile(rf"^\d+ / {N}$")).first.inner_text()


def test_keyboard_only_from_first_to_last_step(browser, app_url):
    ctx = browser.new_context(viewport={"width": 1024, "height": 768})
    page = ctx.new_page()
    try:
        page.goto(app_url + "/lecture")
        wait_for_app(page, timeout=120_000)
        page.locator("h1").first.wait_for(timeout=120_000)
        settle(page)
        assert progress(page) == f"1 / {N}"
        assert page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)") >= 20
        for n in range(1, N + 1):
            assert progress(page) == f"{n} / {N}"
            assert page.locator("h1").first.inner_text() == lec.STEPS[n - 1].title
            assert not page.locator('[data-testid="stException"]').count()
            main = page.locator(f"{CHARTS}, [data-testid='stTable'], [data-testid='stMarkdownContainer'] table, "
                                "[class*='st-key-measure_'] button").first
            main.wait_for(timeout=60_000)
            box = main.bounding_box()
            assert box["y"] < 768 - 150, f"step {n}: the slide's main figure starts below the first screen"
            if page.locator(CHARTS).count():
                plot = page.locator(CHARTS).first.bounding_box()
                assert plot["y"] + plot["height"] <= 768, f"step {n}: the main figure does not fit 1024×768"
            screenshot(page, f"lecture_step_{n:02d}")
            assert f"step={n}" in page.url
            if n < N:
                page.mouse.click(1000, 760)                                 # focus on the page, off any widget
                page.keyboard.press("ArrowRight")
                page.wait_for_url(re.compile(rf"step={n + 1}\b"), timeout=60_000)
                settle(page)
        page.keyboard.press("ArrowLeft")
        page.wait_for_url(re.compile(rf"step={N - 1}\b"), timeout=60_000)
        settle(page)
        assert progress(page) == f"{N - 1} / {N}"
    finally:
        ctx.close()


def test_a_step_link_reopens_that_step_with_its_choice(browser, app_url):
    ctx = browser.new_context(viewport={"width": 1024, "height": 768})
    page = ctx.new_page()
    try:
        n = lec.step_index("compound") + 1
        page.goto(app_url + f"/lecture?step={n}&compound_phi=5")
        wait_for_app(page, timeout=120_000)
        page.locator("h1").first.wait_for(timeout=120_000)
        settle(page)
        assert progress(page) == f"{n} / {N}" and page.locator("h1").first.inner_text() == "Compound scaling"
        assert "451 px" in page.locator("[data-testid='stMain']").inner_text()
        assert "compound_phi=5" in page.url
    finally:
        ctx.close()


def test_handout_opens_offline_with_every_step(browser, app_url, tmp_path):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    try:
        page.goto(app_url + "/lecture?step=1")
        wait_for_app(page, timeout=120_000)
        page.locator("h1").first.wait_for(timeout=120_000)
        settle(page)
        with page.expect_download(timeout=120_000) as dl:
            page.get_by_text("Download the lecture as one HTML file").click()
        path = tmp_path / "lecture.html"
        dl.value.save_as(path)
    finally:
        ctx.close()
    offline = browser.new_context(viewport={"width": 1400, "height": 1000}, offline=True)
    doc = offline.new_page()
    try:
        doc.goto(path.as_uri())
        sections = doc.locator("section").count()
        assert sections == N
        figures = [f for i in range(N) for f in lec.build(i).figures]
        vega = sum(isinstance(f, dict) for f in figures)
        plotly = len(figures) - vega
        assert vega >= 3 and plotly >= 3          # the timeline, conv-cost and results steps are Vega-Lite
        # Every figure drawn, offline: plotly's and Vega's libraries are inlined in the file.
        doc.wait_for_function(f"""() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= {plotly}
            && [...document.querySelectorAll('.vega-chart')].filter(
                   c => c.querySelector('canvas, svg') && c.getBoundingClientRect().height > 100).length >= {vega}""",
                              timeout=60_000)
        text = doc.locator("body").inner_text()
        for s in lec.STEPS:
            assert s.title in text
        assert "Seed paper (Zhao)" in text
        doc.set_viewport_size({"width": 1400, "height": 3000})
        screenshot(doc, "lecture_handout")
    finally:
        offline.close()
