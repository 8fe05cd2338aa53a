"""The Explore pages in real Chromium: each page's main content, a screenshot, links and URL state.

Screenshots go to tests/artifacts/explore_*.png (ignored by git); someone looks at them.
"""
import re
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import screenshot, wait_for_app

PAGES = [
    # (path, text that proves the main content rendered, screenshot name)
    ("/", "CNN Atlas: the ImageNet story", "explore_timeline"),
    ("/explorer?model=resnet50", "Deep Residual Learning for Image Recognition", "explore_explorer"),
    ("/explorer?model=efficientnet_b7&view=Layers", "Download these rows as CSV", "explore_explorer_b7_layers"),
    ("/explorer?model=mobilenet_v2&view=Block+diagram&block=features.2", "InvertedResidual",
     "explore_explorer_block"),
    ("/explorer?model=resnet50&view=Compare&vs=efficientnet_b0", "By feature-map size", "explore_explorer_compare"),
    ("/scaling?preset=B3", "Official B3", "explore_scaling"),
    ("/scaling?view=Official+B0%E2%80%93B7+vs+formula", "not** exactly", "explore_scaling_official"),
    ("/pareto", "Seed Table 6 prints", "explore_pareto"),
]


def open_page(page, url: str, text: str, timeout: float = 90_000):
    page.goto(url)
    wait_for_app(page, timeout=timeout)
    page.get_by_text(re.compile(re.escape(text.replace("**", "")))).first.wait_for(timeout=timeout)
    # plotly and graphviz draw after the script finishes
    page.wait_for_timeout(1500)


def vega_drawn(page, timeout=30_000):
    """Wait for a Vega-Lite chart drawn with some size (vega-embed renders an svg or a canvas)."""
    page.wait_for_function("""() => [...document.querySelectorAll('.vega-embed svg, .vega-embed canvas')]
        .some(e => { const b = e.getBoundingClientRect(); return b.width > 300 && b.height > 300; })""",
                           timeout=timeout)


@pytest.mark.parametrize("path, text, name", PAGES, ids=[p[2] for p in PAGES])
def test_page_renders_in_chromium(page, app_url, path, text, name):
    open_page(page, app_url + path, text)
    assert not page.locator('[data-testid="stException"]').count(), page.locator(
        '[data-testid="stException"]').first.inner_text()
    if path == "/":
        page.wait_for_selector(".vega-embed svg [aria-roledescription='point']", timeout=30_000)
        assert not page.locator(".js-plotly-plot").count()        # the home page loads no plotly.js (issue 16)
    if "pareto" in path:
        vega_drawn(page)
    if "Block+diagram" in path:
        page.locator('[data-testid="stGraphVizChart"] svg').first.wait_for(timeout=30_000)
    if "efficientnet_b7" in path:
        page.get_by_text(re.compile(r"(\d+) of \1 layers")).first.wait_for()
    if path == "/explorer?model=resnet50":
        assert page.locator('[data-testid="stMetric"]').count() >= 4
        page.get_by_text("4.09 GMACs").first.wait_for()
        page.get_by_text("% of MACs)").first.wait_for(timeout=30_000)      # the macro diagram
    page.set_viewport_size({"width": 1400, "height": 2400})   # the app scrolls inside: show more of it
    page.wait_for_timeout(1500)
    screenshot(page, name)


def test_timeline_entry_opens_the_explorer_on_that_model(page, app_url):
    open_page(page, app_url + "/", "2015 · ResNet-50")
    link = page.locator('a[href*="model=resnet50"]').first
    assert "Open in explorer" in link.inner_text()
    link.click()
    page.wait_for_url(re.compile(r"/explorer\?.*model=resnet50"), timeout=30_000)
    wait_for_app(page, timeout=60_000)
    page.get_by_text("Deep Residual Learning for Image Recognition").first.wait_for(timeout=60_000)
    screenshot(page, "explore_timeline_to_explorer")


def test_explorer_url_keeps_the_view(page, app_url):
    """Changing the resolution shows up in the address bar; opening that URL restores it."""
    open_page(page, app_url + "/explorer?model=resnet34", "Deep Residual Learning")
    slider = page.get_by_role("slider").first
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    page.wait_for_url(re.compile(r"res=227"), timeout=30_000)
    wait_for_app(page)
    url = page.url
    assert parse_qs(urlparse(url).query)["model"] == ["resnet34"]
    fresh = page.context.new_page()
    open_page(fresh, url, "Deep Residual Learning")
    thumb = fresh.get_by_role("slider").first
    thumb.wait_for()
    assert thumb.get_attribute("aria-valuetext") == "227"
    fresh.close()


def test_timeline_chart_point_opens_the_explorer(page, app_url):
    """Clicking ResNet-50's marker on the chart switches to the explorer on resnet50; going back stays home.

    Vega draws each marker as an SVG path whose accessible label lists its fields ("…; model:
    resnet50; …"): the test clicks the middle of that path, where the user would."""
    open_page(page, app_url + "/", "CNN Atlas: the ImageNet story")
    marker = page.locator(".vega-embed svg path[aria-roledescription='point'][aria-label*='model: resnet50;']")
    marker.first.wait_for(timeout=60_000)
    assert marker.count() == 1 and "name: ResNet-50;" in marker.first.get_attribute("aria-label")
    label = page.locator(".vega-embed svg text").filter(has_text=re.compile(r"^ResNet-50$"))
    assert label.count() == 1                                          # its name is written beside it
    page.wait_for_timeout(1000)
    box = marker.first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(re.compile(r"/explorer\?.*model=resnet50"), timeout=30_000)
    page.get_by_text("Deep Residual Learning for Image Recognition").first.wait_for(timeout=60_000)
    page.get_by_role("link", name="Timeline").first.click()
    page.get_by_text("2015 · ResNet-50").first.wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    assert "/explorer" not in page.url


def choose(page, label: str, option: str):
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).first.click()


def resolution(page) -> str:
    """The explorer's input-resolution slider value, as the page shows it."""
    box = page.locator("[data-testid=stSlider]").filter(has_text="Input resolution").first
    return box.get_by_role("slider").get_attribute("aria-valuetext")


def test_changing_model_resets_url_bound_resolution_and_knobs(page, app_url):
    """A resolution or φ kept in the URL belongs to the model: a new model starts from its own."""
    open_page(page, app_url + "/explorer?model=resnet34&res=227", "Deep Residual Learning")
    choose(page, "Model", "resnet50")
    page.get_by_text("4.09 GMACs").first.wait_for(timeout=60_000)        # ResNet-50 at its 224 px
    page.wait_for_timeout(1000)
    assert "res=" not in page.url and "model=resnet50" in page.url
    open_page(page, app_url + "/explorer?model=efficientnet&phi=2", "EfficientNet: Rethinking")
    assert resolution(page) == "296"
    choose(page, "Model", "efficientnet_b1")
    page.get_by_text("official coefficients: width ×1.0, depth ×1.1").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    assert "phi=" not in page.url and "res=" not in page.url
    assert resolution(page) == "240"


@pytest.mark.parametrize("path, text", [
    ("/explorer?model=resnetrs420", "63.9 GMACs"),
    ("/conv_cost", "Reproduced exactly"),
    ("/classify", "espresso"),
])
def test_deep_link_as_the_first_request_goes_through_the_router(browser, path, text):
    """A fresh server whose first request is a deep link still runs app.py's st.navigation.

    (Streamlit starts in its legacy pages/ mode; without equal url paths and file stems it answers
    "Page not found", and without ui.state.ensure_router the page would run alone: no wide layout,
    a sidebar of file names.)
    """
    from conftest import free_port, start_streamlit

    port = free_port()
    proc = start_streamlit(port, env={"CNN_ATLAS_WARM_UP": "0"})
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        page.goto(f"http://127.0.0.1:{port}{path}")
        wait_for_app(page, timeout=90_000)
        page.get_by_text(text).first.wait_for(timeout=90_000)
        nav = page.locator('[data-testid="stSidebarNav"]')
        nav.get_by_text("Compound scaling lab").wait_for(timeout=30_000)     # the router's titles
        assert "shufflenet guidelines" not in nav.inner_text()               # not the file names
        assert path.split("?")[0] in page.url
        assert not page.get_by_text("Page not found").count()
        ctx.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_pareto_point_tooltip_names_the_model_and_its_source(page, app_url):
    """Hovering a point of the Vega chart shows what plotly's hover did: model, top-1, cost, source."""
    open_page(page, app_url + "/pareto", "Seed Table 6 prints")
    vega_drawn(page)
    page.wait_for_timeout(1000)
    symbols = page.locator(".vega-embed svg g.mark-symbol.role-mark path")
    assert symbols.count() >= 52                             # the caption says 52 models are plotted
    box = symbols.first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tip = page.locator("#vg-tooltip-element")
    tip.wait_for(state="visible", timeout=10_000)
    text = tip.inner_text()
    assert re.search(r"top-1\s+\d+\.\d %", text) and "model" in text and "source" in text, text
    assert re.search(r"MMACs|GMACs", text), text
