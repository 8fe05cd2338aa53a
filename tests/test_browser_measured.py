"""The Pareto page's "Measured here" in Chromium: an evaluation shows its progress bar, Stop ends
it after the current batch with what was measured kept, and the chart draws the measured top-1
beside the published one. A server of its own, so that results go to a temporary file."""
from __future__ import annotations

import json
import re

import pytest
from PIL import Image

from conftest import free_port, screenshot, start_streamlit, wait_for_app

SYNSET = "n07920052"   # espresso


@pytest.fixture(scope="module")
def measured_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("measured")
    results = tmp / "evaluations.json"
    folder = tmp / "val" / SYNSET
    folder.mkdir(parents=True)
    for i in range(600):
        Image.new("RGB", (64, 48), (i % 256, 80, 40)).save(folder / f"{i:04d}.png")
    port = free_port()
    proc = start_streamlit(port, env={"CNN_ATLAS_RESULTS": str(results), "CNN_ATLAS_WARM_UP": "0"})
    yield f"http://127.0.0.1:{port}", tmp / "val", results
    proc.terminate()
    proc.wait(timeout=10)


def test_evaluation_progress_stop_and_the_chart(browser, measured_server):
    url, folder, results = measured_server
    for w, h in ((1024, 768), (1400, 1000)):
        ctx = browser.new_context(viewport={"width": w, "height": h})
        page = ctx.new_page()
        try:
            page.goto(url + "/pareto")
            wait_for_app(page, 240_000)
            page.get_by_text("Measured here").first.wait_for(timeout=240_000)
            if not results.exists():
                page.get_by_label("Folder of labelled images").fill(str(folder))
                page.get_by_label("Folder of labelled images").press("Enter")
                wait_for_app(page, 60_000)
                page.get_by_role("button", name="Evaluate").click()
                bar = page.get_by_text(re.compile(r"efficientnet_lite0: \d[\d,]* of 600 images"))
                bar.first.wait_for(timeout=120_000)
                page.get_by_text(re.compile(r"efficientnet_lite0: ([4-9]\d|\d{3}) of 600 images")).first.wait_for(timeout=120_000)
                page.locator(".st-key-eval_stop button:visible").first.click()   # ours, not the header's Stop
                page.get_by_text(re.compile("stopped after")).first.wait_for(timeout=60_000)
                wait_for_app(page, 60_000)
                saved, = json.loads(results.read_text())
                assert saved["stopped"] and 0 < saved["images"] < 600
            # written by Vega on the chart (its svg), beside the published point
            page.locator(".vega-embed svg text", has_text=re.compile(r"measured here \(\d+ images\)")).first.wait_for(
                timeout=60_000)
            page.wait_for_timeout(1500)
            page.get_by_text("Measured here").first.scroll_into_view_if_needed()
            screenshot(page, f"pareto_measured_{w}x{h}")
        finally:
            ctx.close()
