"""Every view is a link: set a state as a user would, read the address bar, open it in a fresh
session, and see the same view (real Chromium; bound widgets write the URL in the browser only).

The "view" compared is what a reader sees of the page's state: slider positions, select boxes,
text and number inputs, radio buttons and toggles, the lit segmented buttons, the open tab, and
every metric value.
"""
import re

import pytest

from conftest import wait_for_app

SIGNATURE = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  const out = [];
  main.querySelectorAll("[role=slider]").forEach(e => out.push("slider " + e.getAttribute("aria-valuenow")));
  main.querySelectorAll("input[role=combobox]").forEach(e => out.push("select " + e.value));
  main.querySelectorAll("input[type=text]:not([role=combobox]), input[type=number]").forEach(e => out.push("input " + e.value));
  main.querySelectorAll("input[type=checkbox], input[type=radio]").forEach(e => out.push("check " + e.checked));
  main.querySelectorAll("[data-testid$=Active]").forEach(e => out.push("lit " + e.innerText.trim()));
  main.querySelectorAll("[role=tab][aria-selected=true]").forEach(e => out.push("tab " + e.innerText.trim()));
  main.querySelectorAll("[data-testid=stMetricValue]").forEach(e => out.push("metric " + e.innerText.trim()));
  return out;
}"""


def settle(page):
    page.wait_for_timeout(700)
    wait_for_app(page, timeout=120_000)
    page.wait_for_timeout(700)
    wait_for_app(page, timeout=120_000)


def open_fresh(browser, url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(url)
    wait_for_app(page, timeout=120_000)
    page.locator("[data-testid='stMain'] h1").first.wait_for(timeout=120_000)
    settle(page)
    return ctx, page


def choose(page, label: str, option: str):
    """Pick ``option`` in the select box labelled ``label``, by typing it as a user can."""
    box = page.locator("[data-testid=stSelectbox]").filter(has_text=label).first.get_by_role("combobox")
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).click()


def number(page, label: str, value: int):
    field = page.locator("[data-testid=stNumberInput]").filter(has_text=label).first.locator("input")
    field.fill(str(value))
    field.press("Enter")


def slider_keys(page, label: str, key: str, times: int = 1):
    """Focus the slider labelled ``label`` and press ``key`` ``times`` times, as a keyboard user does.

    The slider's handle must then show another value. A page that re-ran while loading can replace
    the handle just after it took the focus, and the presses go nowhere; a user sees that and tabs
    back to it, so the presses are repeated once on the new handle before the step fails."""
    slider = page.locator("[data-testid=stSlider]").filter(has_text=label).first
    handle, shown = slider.get_by_role("slider"), slider.locator("[data-testid=stSliderThumbValue]").first
    start = shown.inner_text()
    for _ in range(2):
        handle.focus()
        for _ in range(times):
            page.keyboard.press(key)
            page.wait_for_timeout(150)
        for _ in range(25):
            if shown.inner_text() != start:
                return
            page.wait_for_timeout(200)
    raise AssertionError(f"the {label!r} slider did not move with {key} (still {start})")


def click_text(page, text: str):
    page.locator("[data-testid='stMain']").get_by_text(text, exact=True).first.click()


STATES = {
    "explorer: another model, keyboard on the resolution": (
        "/explorer?model=resnet50",
        lambda p: (choose(p, "Model", "resnet101"), settle(p), slider_keys(p, "Input resolution", "ArrowRight", 3))),
    "explorer: FLOPs, width knob, layer table filtered": (
        "/explorer?model=mobilenet_v2",
        lambda p: (click_text(p, "FLOPs"), settle(p), slider_keys(p, "width multiplier", "ArrowLeft", 2), settle(p),
                   click_text(p, "Layers"), settle(p),
                   p.get_by_placeholder("e.g. layer3, MBConv").fill("features.3"),
                   p.get_by_placeholder("e.g. layer3, MBConv").press("Enter"))),
    "explorer: compare with another model at its own resolution": (
        "/explorer?model=inception_v3",
        lambda p: (click_text(p, "Compare"), settle(p), choose(p, "Compare with", "resnet18"), settle(p),
                   number(p, "B's resolution", 256))),
    "scaling: a preset": ("/scaling", lambda p: click_text(p, "B4")),
    "scaling: a preset, then the keyboard on φ": (
        "/scaling?preset=B2", lambda p: slider_keys(p, "compound coefficient", "ArrowRight", 2)),
    "scaling: FLOPs on the official-vs-formula tab": (
        "/scaling", lambda p: (click_text(p, "FLOPs"), settle(p), click_text(p, "Official B0–B7 vs formula"))),
    "pareto: parameters axis with seed Table 6": (
        "/pareto", lambda p: (click_text(p, "parameters"), settle(p), click_text(p, "Seed Table 6 as printed"))),
    "pareto: weights' accuracies in FLOPs": (
        "/pareto", lambda p: (click_text(p, "weights (torchvision / timm)"), settle(p), click_text(p, "FLOPs"))),
    "pareto: linear cost axis": ("/pareto", lambda p: click_text(p, "Log cost axis")),
    "conv_cost: a 56×56 map": ("/conv_cost", lambda p: (number(p, "H", 56), settle(p), number(p, "W", 56))),
    "conv_cost: grouped case": ("/conv_cost", lambda p: (number(p, "C_in", 128), settle(p), number(p, "groups", 4))),
    "conv_cost: back to Table 3": ("/conv_cost?h=14&w=14&cout=64", lambda p: click_text(p, "Table 3")),
    "inception: another module": ("/inception", lambda p: choose(p, "GoogLeNet module", "inception4c")),
    "inception: factorizing 5×5 on a 35×35 grid": (
        "/inception", lambda p: (choose(p, "n (kernel)", "5"), settle(p), number(p, "grid side", 35))),
    "inception: Inception-ResNet-v1's B block": (
        "/inception", lambda p: (choose(p, "network", "inception_resnet_v1"), settle(p),
                                 choose(p, "block", "InceptionResNetB"))),
    "residual: gradient resolution": ("/residual", lambda p: choose(p, "resolution", "224")),
}


@pytest.mark.parametrize("name", list(STATES))
def test_a_view_reopens_from_its_url(browser, app_url, name):
    start, act = STATES[name]
    ctx, page = open_fresh(browser, app_url + start)
    try:
        before = page.evaluate(SIGNATURE)
        act(page)
        settle(page)
        url, view = page.url, page.evaluate(SIGNATURE)
        assert view != before, "the interaction changed nothing"
    finally:
        ctx.close()
    ctx, fresh = open_fresh(browser, url)
    try:
        assert fresh.evaluate(SIGNATURE) == view, f"{url} does not reopen the view"
    finally:
        ctx.close()


def test_home_entry_link_carries_the_model(browser, app_url):
    ctx, page = open_fresh(browser, app_url + "/")
    try:
        page.locator('a[href*="model=efficientnet_b0"]').first.click()
        page.wait_for_url(re.compile(r"/explorer\?.*model=efficientnet_b0"), timeout=60_000)
        settle(page)
        url, view = page.url, page.evaluate(SIGNATURE)
        assert "select efficientnet_b0" in view
    finally:
        ctx.close()
    ctx, fresh = open_fresh(browser, url)
    try:
        assert fresh.evaluate(SIGNATURE) == view
    finally:
        ctx.close()


@pytest.mark.parametrize("path", ["/", "/resnet_rs", "/explorer?model=squeezenet1_1"])
def test_presentation_switch_is_in_the_url(browser, app_url, path):
    ctx, page = open_fresh(browser, app_url + path)
    try:
        page.locator("[data-testid=stSidebar]").get_by_text("Presentation mode").click()
        settle(page)
        assert "present=1" in page.url
        url, view = page.url, page.evaluate(SIGNATURE)
    finally:
        ctx.close()
    ctx, fresh = open_fresh(browser, url)
    try:
        assert fresh.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)") >= 20
        assert fresh.evaluate(SIGNATURE) == view
    finally:
        ctx.close()


def test_unknown_model_names_close_matches(browser, app_url):
    ctx, page = open_fresh(browser, app_url + "/explorer?model=resnet5")
    try:
        text = page.locator("[data-testid=stAlert]").first.inner_text()
        assert "resnet5" in text and "resnet50" in text
        assert "select alexnet" in page.evaluate(SIGNATURE)           # the default opens
    finally:
        ctx.close()
