"""Lecture-ready in real Chromium: every page at a projector's 1024×768, a laptop's 1400×1000 and in
presentation mode: nothing cut off, no note to ourselves on screen, type large enough for a hall.

"Cut off" is measured the way a reader sees it: an element whose content is wider than its box
(``scrollWidth > clientWidth``) among metric values and labels, buttons, tabs, page links, the
value shown in a select box, tables (``st.table`` and Markdown) and their cells. Screenshots of every page and size go
to tests/artifacts/lecture_*.png (ignored by git) for a person to look at.
"""
import re

import pytest

from conftest import screenshot, wait_for_app

PAGES = ["/", "/explorer", "/design", "/scaling", "/pareto", "/conv_cost", "/shufflenet_guidelines", "/residual",
         "/inception", "/resnet_rs", "/classify", "/live"]
VIEWS = [((1024, 768), False), ((1400, 1000), False), ((1024, 768), True)]

OVERFLOW = """() => [...document.querySelectorAll([
    "[data-testid='stMain'] [data-testid='stMetricValue']", "[data-testid='stMain'] [data-testid='stMetricValue'] *",
    "[data-testid='stMain'] [data-testid='stMetricLabel'] *", "[data-testid='stMain'] button",
    "[data-testid='stMain'] [role='tab']", "[data-testid='stMain'] [data-testid='stPageLink'] a",
    "[data-testid='stMain'] input[role=combobox]", "[data-testid='stMain'] [data-testid='stTable']",
    "[data-testid='stMain'] [data-testid='stTable'] > div", "[data-testid='stMain'] [data-testid='stTable'] td",
    "[data-testid='stMain'] [data-testid='stTable'] th",
    "[data-testid='stMain'] [data-testid='stMarkdownContainer']:has(> table)",
    "[data-testid='stMain'] [data-testid='stMarkdownContainer'] td",
    "[data-testid='stMain'] [data-testid='stMarkdownContainer'] th"].join(", "))]
  .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 2)
  .map(e => (e.getAttribute('data-testid') || e.tagName) + ': ' + (e.innerText || e.value || '').trim().slice(0, 50))"""

# Notes to ourselves that must never reach a projector (the lecture-ready issue's list).
DEVELOPER = re.compile(r"UNVERIFIED|NOT VERIFIED|COMPUTED:|not read|\w\.(csv|py)\b|\bzoo/|zoo\.analyze|TODO|FIXME|"
                       r"Traceback|\bNone\b|\bnan\b")


def view_id(v):
    (w, h), present = v
    return f"{w}x{h}" + ("-present" if present else "")


def open_view(browser, url: str, size):
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    page.goto(url)
    wait_for_app(page, timeout=120_000)
    page.locator("[data-testid='stMain'] h1").first.wait_for(timeout=120_000)
    page.wait_for_timeout(2000)                      # plotly and graphviz draw after the script ends
    wait_for_app(page, timeout=120_000)
    return ctx, page


@pytest.mark.parametrize("view", VIEWS, ids=view_id)
@pytest.mark.parametrize("path", PAGES)
def test_nothing_cut_off_no_developer_notes(browser, app_url, path, view):
    size, present = view
    url = app_url + path + ("?present=1" if present else "")
    ctx, page = open_view(browser, url, size)
    try:
        assert not page.locator('[data-testid="stException"]').count(), \
            page.locator('[data-testid="stException"]').first.inner_text()
        cut = page.evaluate(OVERFLOW)
        main = page.locator("[data-testid='stMain']").inner_text()
        notes = sorted({m.group(0) for m in DEVELOPER.finditer(main)})
        name = f"lecture_{path.strip('/') or 'home'}_{view_id(view)}"
        tall = page.evaluate("() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], main')]"
                             ".map(e => e.scrollHeight))")
        page.set_viewport_size({"width": size[0], "height": min(max(size[1], tall + 40), 8000)})
        page.wait_for_timeout(800)
        screenshot(page, name)
        assert not cut, f"cut off on {path} at {view_id(view)}: {cut[:8]}"
        assert not notes, f"developer notes on {path}: {notes}"
        if present:
            sizes = page.evaluate("""() => {
                const px = s => parseFloat(getComputedStyle(s).fontSize);
                const body = [...document.querySelectorAll("[data-testid='stMain'] [data-testid='stMarkdownContainer'] p")]
                  .filter(e => e.offsetParent && !e.closest("[data-testid='stCaptionContainer']") && e.innerText.trim());
                const metrics = [...document.querySelectorAll("[data-testid='stMetricValue']")].filter(e => e.offsetParent);
                const sidebar = document.querySelector("[data-testid='stSidebar']");
                return {body: body.map(px), metric: metrics.map(px),
                        sidebar: sidebar ? sidebar.getBoundingClientRect().right : 0};
            }""")
            assert sizes["body"] and min(sizes["body"]) >= 20, sizes["body"][:5]
            assert all(s >= 44 for s in sizes["metric"]), sizes["metric"]
            assert sizes["sidebar"] <= 1, "the sidebar is not collapsed in presentation mode"
            assert "present=1" in page.url                       # a copied link opens the same way
    finally:
        ctx.close()


def test_presentation_mode_survives_a_page_switch(browser, app_url):
    ctx, page = open_view(browser, app_url + "/explorer?model=resnet50&present=1", (1400, 1000))
    try:
        page.locator("[data-testid='stExpandSidebarButton']").click()     # the lecturer opens the sidebar
        page.locator("[data-testid='stSidebarNav']").get_by_text("Compound scaling lab").click()
        page.wait_for_url(re.compile(r"/scaling"), timeout=60_000)
        wait_for_app(page, timeout=120_000)
        page.locator("[data-testid='stMain'] h1").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        assert "present=1" in page.url
        size = page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
        assert size >= 20
    finally:
        ctx.close()
