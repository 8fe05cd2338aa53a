"""The design lab in real Chromium: the stage table edited with the keyboard, the URL round trip, the
JSON file downloaded and uploaded again, and screenshots at projector and laptop sizes.

Screenshots go to tests/artifacts/design_*.png (ignored by git); someone looks at them.
"""
import re

import pytest

from conftest import screenshot, wait_for_app
from zoo import design, fmt
from ui import design as ud

# elements whose content overflows their box: cut-off metric values, buttons, tabs
OVERFLOW = """() => [...document.querySelectorAll("[data-testid='stMetricValue'] *, [data-testid='stMetricValue'], button, [role='tab']")]
  .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 2).map(e => (e.innerText || '').trim().slice(0, 40)).filter(t => t)"""


def open_design(page, url: str, macs: float, timeout: float = 120_000):
    page.goto(url)
    wait_for_app(page, timeout=timeout)
    shows(page, "MACs", fmt.fmt_ops(macs), timeout)


def shows(page, label: str, value: str, timeout: float = 60_000):
    page.locator('[data-testid="stMetric"]').filter(has_text=label).filter(
        has=page.get_by_text(value, exact=True)).first.wait_for(timeout=timeout)


def edit_cell(page, row: int, column: int, text: str):
    """Type into the stage table's cell (row, column counted from 0; column 0 is "stage") with the
    keyboard, as a student does: focus the grid, move with the arrows, type, Enter."""
    wait_for_app(page)
    page.wait_for_timeout(1000)                  # the grid draws after the script has finished
    # the first row's "stage" cell (read-only), clicked on the grid's canvas (scrolled into view)
    scroller = page.locator('[data-testid="stDataFrame"] .dvn-scroller').first
    scroller.click(position={"x": 54, "y": 51})
    page.keyboard.press("Escape")                # drop a selection left by an earlier edit
    scroller.click(position={"x": 54, "y": 51})
    page.wait_for_timeout(300)
    for key in ["ArrowRight"] * column + ["ArrowDown"] * row:
        page.keyboard.press(key)
    page.keyboard.type(text[0])                  # opens the cell's editor with this character selected
    page.wait_for_timeout(150)
    page.keyboard.press("End")
    page.keyboard.type(text[1:])
    page.wait_for_timeout(200)
    page.keyboard.press("Enter")


def resnet152_like() -> dict:
    s = design.templates()["resnet152"]
    s["stages"][2]["block"] = "mbconv"           # an edit, so this is not just the template
    s["stages"][2].update(kernel=5, expand=4, se=0.25, groups=None, shortcut=None, activation="silu")
    return s


@pytest.mark.parametrize("w, h, query", [(1024, 768, ""), (1400, 1000, ""), (1024, 768, "&present=1"),
                                         (1400, 1000, "&present=1")])
def test_design_lab_fits_and_screenshots(page, app_url, w, h, query):
    spec = resnet152_like()
    page.set_viewport_size({"width": w, "height": h})
    open_design(page, f"{app_url}/design?d={ud.encode(spec)}{query}", design.analyze(spec).total_macs)
    page.wait_for_timeout(1500)
    assert not page.locator('[data-testid="stException"]').count()
    assert page.evaluate(OVERFLOW) == []
    page.get_by_text(re.compile(r"against resnet152")).first.wait_for()
    tall = page.evaluate("() => Math.max(...[...document.querySelectorAll('section, main')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": w, "height": min(tall + 40, 6000)})
    page.wait_for_timeout(1000)
    screenshot(page, f"design_{w}x{h}{'_present' if query else ''}")


@pytest.mark.parametrize("view", ["Block+diagram", "Stages", "Against+the+zoo", "Share+and+export"])
def test_each_tab_in_chromium(page, app_url, view):
    a = design.analyze(design.templates()["efficientnet_b0"])
    page.set_viewport_size({"width": 1024, "height": 768})
    open_design(page, f"{app_url}/design?d=efficientnet_b0&view={view}", a.total_macs)
    if view == "Stages":
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    if view == "Against+the+zoo":          # Vega-Lite, drawn with some size
        page.wait_for_function("""() => [...document.querySelectorAll('.vega-embed svg, .vega-embed canvas')]
            .some(e => { const b = e.getBoundingClientRect(); return b.width > 300 && b.height > 300; })""",
                               timeout=60_000)
    if view == "Block+diagram":
        page.locator('[data-testid="stGraphVizChart"] svg').first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    assert not page.locator('[data-testid="stException"]').count()
    assert page.evaluate(OVERFLOW) == []
    tall = page.evaluate("() => Math.max(...[...document.querySelectorAll('section, main')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": 1024, "height": min(tall + 40, 6000)})
    page.wait_for_timeout(1000)
    screenshot(page, f"design_tab_{view.replace('+', '_').lower()}")


def test_a_keyboard_edit_reanalyses_and_the_url_reopens_it(page, app_url):
    open_design(page, f"{app_url}/design?d=resnet18", design.analyze(design.templates()["resnet18"]).total_macs)
    expected = design.templates()["resnet18"]
    expected["stages"][2]["repeats"] = 5
    a = design.analyze(expected)
    edit_cell(page, 2, 3, "5")                       # stage 3, column "repeats"
    shows(page, "MACs", fmt.fmt_ops(a.total_macs))
    shows(page, "Parameters", fmt.fmt_params(a.total_params))
    page.wait_for_url(re.compile(r"d=1\."), timeout=30_000)
    token = re.search(r"[?&]d=([^&]+)", page.url).group(1)
    assert ud.decode(token)["stages"][2]["repeats"] == 5
    fresh = page.context.new_page()
    open_design(fresh, page.url, a.total_macs)
    fresh.close()


def test_a_bad_edit_is_named_in_the_page(page, app_url):
    open_design(page, f"{app_url}/design?d=resnet50", design.analyze(design.templates()["resnet50"]).total_macs)
    edit_cell(page, 1, 8, "3")                       # stage 2, column "groups": 3 does not divide 128
    page.get_by_text(re.compile(r"stage 2 \(bottleneck\): 'groups' 3 must divide")).first.wait_for(timeout=30_000)
    shows(page, "MACs", fmt.fmt_ops(design.analyze(design.templates()["resnet50"]).total_macs))
    assert not page.locator('[data-testid="stException"]').count()


def test_json_download_then_upload_round_trip(page, app_url, tmp_path):
    spec = design.templates()["mobilenet_v2"]
    spec.update(name="wide v2", width_mult=1.4)
    a = design.analyze(spec)
    open_design(page, f"{app_url}/design?d={ud.encode(spec)}&view=Share+and+export", a.total_macs)
    with page.expect_download(timeout=30_000) as dl:
        page.get_by_role("button", name="Download as JSON").click()
    path = tmp_path / "design.json"
    dl.value.save_as(path)
    assert dl.value.suggested_filename == "wide_v2.json"
    assert ud.from_json(path.read_bytes()) == design.validate(spec)
    other = page.context.new_page()
    open_design(other, f"{app_url}/design?d=resnet18&view=Share+and+export",
                design.analyze(design.templates()["resnet18"]).total_macs)
    other.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    shows(other, "MACs", fmt.fmt_ops(a.total_macs))
    other.get_by_text("Opened").first.wait_for(timeout=30_000)
    other.close()
