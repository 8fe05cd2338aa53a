"""Classify pages in real Chromium with a fake camera that films a sample photo.

Chromium's ``--use-file-for-fake-video-capture`` plays a .y4m file as the webcam; the file is made
here from assets/samples/coffee.png (640 × 480, a few frames). Through the snapshot
(``st.camera_input``) and the live WebRTC stream the page must show the right top-1, "espresso".
The live test also reads the processed frames per second the page shows; browser and server share
the machine's cores, so the bound is an environment setting (``CNN_ATLAS_MIN_LIVE_FPS``, default
15, the issue's figure) and the measured figure is written to tests/artifacts/live_fps.json.
Screenshots land in tests/artifacts/.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_chromium, screenshot, wait_for_app

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "assets" / "samples" / "coffee.png"
MIN_LIVE_FPS = float(os.environ.get("CNN_ATLAS_MIN_LIVE_FPS", "15"))



def write_y4m(photo: Path, path: Path, frames: int = 10, size=(640, 480), fps: int = 30) -> Path:
    """A YUV4MPEG2 clip of a still photo: text header, then I420 planes (Y, then U and V at half size)."""
    w, h = size
    img = Image.open(photo).convert("RGB")
    s = max(w / img.width, h / img.height)
    img = img.resize((round(img.width * s), round(img.height * s)), Image.BICUBIC)
    left, top = (img.width - w) // 2, (img.height - h) // 2
    ycc = np.asarray(img.crop((left, top, left + w, top + h)).convert("YCbCr"), dtype=np.float32)
    y = ycc[..., 0]
    # 4:2:0: average each 2 × 2 block of the chroma planes
    u = ycc[..., 1].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    v = ycc[..., 2].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    planes = b"".join(np.clip(p + 0.5, 0, 255).astype(np.uint8).tobytes() for p in (y, u, v))
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + planes)
    return path


@pytest.fixture(scope="module")
def playwright():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def camera_browser(playwright, tmp_path_factory):
    """Chromium whose webcam plays the coffee photo, camera permission granted without a prompt."""
    y4m = write_y4m(SAMPLE, tmp_path_factory.mktemp("camera") / "coffee.y4m")
    args = CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                            f"--use-file-for-fake-video-capture={y4m}"]
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
    yield b
    b.close()


@pytest.fixture(scope="module")
def server(app_url):
    """The session's dashboard server (tests/conftest.py), not a second one."""
    return app_url


def open_page(page, server: str, title: str) -> None:
    """Open the dashboard and follow the router's link, as a visitor does."""
    page.goto(server)
    wait_for_app(page, 180_000)
    page.get_by_role("link", name=re.compile(title)).click()
    wait_for_app(page, 180_000)


def new_page(browser, **kw):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, **kw)
    return ctx, ctx.new_page()


def test_write_y4m_layout(tmp_path):
    path = write_y4m(SAMPLE, tmp_path / "x.y4m", frames=2)
    data = path.read_bytes()
    header, rest = data.split(b"\n", 1)
    assert header.startswith(b"YUV4MPEG2 W640 H480 F30:1")
    frame = 640 * 480 * 3 // 2
    assert len(rest) == 2 * (len(b"FRAME\n") + frame)
    assert rest.startswith(b"FRAME\n") and rest[6 + frame:].startswith(b"FRAME\n")


def test_snapshot_shows_espresso(camera_browser, server):
    ctx, page = new_page(camera_browser, permissions=["camera"])
    try:
        open_page(page, server, "Classify an image")
        page.get_by_text("Webcam snapshot", exact=True).click()
        button = page.get_by_role("button", name=re.compile("Take Photo", re.I))
        button.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # let the fake camera deliver frames to the preview
        button.click()
        heading = page.locator("h3").filter(has_text=" · ").first
        heading.wait_for(timeout=120_000)
        wait_for_app(page, 120_000)
        screenshot(page, "classify_snapshot")
        assert "espresso" in heading.inner_text()
        top5 = page.locator(".atlas-top5").first            # the labelled bars, drawn by the page's CSS
        assert top5.locator(".atlas-top5-name").all_inner_texts()[0] == "espresso"
        bar = top5.locator(".atlas-top5-fill").first.bounding_box()
        track = top5.locator(".atlas-top5-track").first.bounding_box()
        assert bar["height"] > 0 and 0.9 * track["width"] < bar["width"] <= track["width"] + 0.5, (bar, track)
    finally:
        ctx.close()


HELP = "#atlas-camera-help"


def readout_heading(page):
    return page.locator("h3").filter(has_text=" %").first


def test_live_stream_shows_espresso_and_frame_rate(camera_browser, server):
    """A working (fake) camera: the stream runs, the readout repeats the label drawn on the video,
    the camera help stays hidden, and switching the model switches the stream."""
    ctx, page = new_page(camera_browser, permissions=["camera"])
    try:
        open_page(page, server, "Live webcam")
        page.locator(HELP).wait_for(state="attached", timeout=120_000)
        assert page.locator(HELP).count() == 1 and not page.locator(HELP).is_visible()
        frame = page.frame_locator('iframe[title*="streamlit_webrtc"]').first
        frame.get_by_role("button", name="START").click(timeout=60_000)
        heading = readout_heading(page)
        heading.wait_for(timeout=90_000)
        page.wait_for_timeout(8_000)  # settle: the rate is measured over the last 2 s
        readings = []
        for _ in range(5):
            text = page.locator('[data-testid="stMetric"]').filter(has_text="Frames per second").first.inner_text()
            readings.append(float(re.search(r"([\d.]+)\s*$", text.strip()).group(1)))
            page.wait_for_timeout(1000)
        screenshot(page, "live_stream")
        top1 = heading.inner_text()
        assert not page.locator(HELP).is_visible()           # no error, no help
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "live_fps.json").write_text(json.dumps(
            {"readings": readings, "top1": top1, "load": os.getloadavg(), "time": time.time()}))
        assert "espresso" in top1
        assert page.get_by_text(re.compile(r"Top-1 of efficientnet_lite0, as drawn on the video")).count() == 1
        assert max(readings) > 0
        assert float(np.median(readings)) >= MIN_LIVE_FPS, readings
        # switch the running stream to Lite2: the next records (and the video label) come from it
        page.get_by_label("Model").click()
        page.get_by_role("option", name="efficientnet_lite2").click()
        page.get_by_text(re.compile(r"Top-1 of efficientnet_lite2, as drawn on the video")).wait_for(timeout=120_000)
        assert "espresso" in readout_heading(page).inner_text()
        screenshot(page, "live_stream_lite2")
        for w, h in ((1024, 768), (1400, 1000)):     # nothing cut off at projector sizes
            page.set_viewport_size({"width": w, "height": h})
            page.wait_for_timeout(2_500)
            assert page.evaluate(OVERFLOW) == [], (w, h, page.evaluate(OVERFLOW))
            screenshot(page, f"live_stream_{w}x{h}")
        # STOP gives the stream's slot back at once (the server's live capacity may be one stream)
        page.frame_locator('iframe[title*="streamlit_webrtc"]').first.get_by_role("button", name="STOP").click()
        page.get_by_text(re.compile(r"Live now: 0\.")).wait_for(timeout=30_000)
    finally:
        ctx.close()


def test_camera_denied_is_explained_and_the_session_goes_on(playwright, server):
    """No fake-UI flag and prompts denied: getUserMedia is refused; only then does the page show
    what that means, and the same session still classifies on the other page."""
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
        "--use-fake-device-for-media-stream", "--deny-permission-prompts"], headless=True)
    ctx, page = new_page(b)
    try:
        open_page(page, server, "Live webcam")
        page.locator(HELP).wait_for(state="attached", timeout=120_000)
        page.wait_for_timeout(1_000)
        assert not page.locator(HELP).is_visible()            # before the browser reports anything
        frame = page.frame_locator('iframe[title*="streamlit_webrtc"]').first
        frame.get_by_role("button", name="START").click(timeout=60_000)
        frame.get_by_text(re.compile("NotAllowedError")).wait_for(timeout=30_000)
        page.locator(HELP).wait_for(state="visible", timeout=10_000)
        help_text = page.locator(HELP).inner_text()
        assert "The browser blocked the camera" in help_text and "address bar" in help_text
        assert "No camera could be opened" not in help_text   # only the help for this error
        screenshot(page, "live_camera_denied")
        # the same session goes on: the classify page still works
        page.get_by_role("link", name=re.compile("Classify an image")).click()
        wait_for_app(page, 120_000)
        heading = page.locator("h3").filter(has_text=" · ").first
        heading.wait_for(timeout=120_000)
        assert heading.inner_text().strip()
    finally:
        ctx.close()
        b.close()


def test_classify_side_by_side_and_layout_at_projector_sizes(camera_browser, server):
    """The three Lites side by side with their Grad-CAMs; at 1024 × 768 and 1400 × 1000 no metric
    value, heading, button or table cell of the classify page is cut off."""
    for w, h in ((1024, 768), (1400, 1000)):
        ctx = camera_browser.new_context(viewport={"width": w, "height": h})
        page = ctx.new_page()
        try:
            open_page(page, server, "Classify an image")
            page.get_by_text("Where did").first.wait_for(timeout=240_000)
            wait_for_app(page, 240_000)
            cams = page.locator('[data-testid="stImageCaption"]').filter(has_text="Grad-CAM for espresso")
            cams.nth(2).wait_for(timeout=120_000)  # cached, the run ends before the browser has drawn it all
            assert cams.count() == 3
            assert page.locator("h4").filter(has_text="espresso").count() == 3
            cut = page.evaluate(OVERFLOW)
            assert cut == [], cut
            screenshot(page, f"classify_side_by_side_{w}x{h}")
        finally:
            ctx.close()


OVERFLOW = """() => [...document.querySelectorAll(
    "[data-testid='stMetricValue'], [data-testid='stMetricValue'] *, button, [role='tab'], h3, h4,"
    + " [data-testid='stMetricLabel'], [data-testid='stWidgetLabel'] *, label p")]
  .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 2)
  .map(e => (e.innerText || '').trim().slice(0, 40)).filter(t => t)"""


@pytest.fixture(scope="module")
def one_stream_server():
    """A second server whose live capacity is lowered to one stream (CNN_ATLAS_LIVE_STREAMS=1)."""
    from conftest import free_port, start_streamlit

    port = free_port()
    proc = start_streamlit(port, env={"CNN_ATLAS_LIVE_STREAMS": "1", "CNN_ATLAS_WARM_UP": "0"})
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


FULL = "Every live stream this server carries is in use (1)"


@pytest.mark.slow
def test_beyond_the_live_capacity_a_second_session_gets_snapshots(camera_browser, one_stream_server):
    """One live stream allowed: the first session streams; a second one opening the page meanwhile
    is told so and gets snapshot mode (no WebRTC stream), which classifies a camera photo; once
    the first tab is closed (no message to the server: its frames just stop), the slot is free
    and the second session goes live on reload."""
    server = one_stream_server
    ctx_a, first = new_page(camera_browser, permissions=["camera"])
    ctx_b, second = new_page(camera_browser, permissions=["camera"])
    try:
        open_page(first, server, "Live webcam")
        first.frame_locator('iframe[title*="streamlit_webrtc"]').first.get_by_role(
            "button", name="START").click(timeout=60_000)
        readout_heading(first).wait_for(timeout=120_000)
        assert first.get_by_text(re.compile("operator set the limit to 1")).count() == 1

        open_page(second, server, "Live webcam")
        second.get_by_text(FULL).wait_for(timeout=60_000)
        assert second.locator('iframe[title*="streamlit_webrtc"]').count() == 0
        second.get_by_text(re.compile(r"Live now: 1\.")).wait_for(timeout=10_000)
        button = second.get_by_role("button", name=re.compile("Take Photo", re.I))
        button.wait_for(timeout=60_000)
        second.wait_for_timeout(1500)      # let the fake camera deliver frames to the preview
        button.click()
        heading = second.locator("h3").filter(has_text=" · ").first
        heading.wait_for(timeout=120_000)
        assert "espresso" in heading.inner_text()
        assert second.locator(".atlas-top5 .atlas-top5-name").first.inner_text() == "espresso"
        assert "espresso" in readout_heading(first).inner_text()        # the first stream goes on
        for w, h in ((1024, 768), (1400, 1000)):
            second.set_viewport_size({"width": w, "height": h})
            second.wait_for_timeout(1_500)
            assert second.evaluate(OVERFLOW) == [], (w, h, second.evaluate(OVERFLOW))
            screenshot(second, f"live_full_snapshot_{w}x{h}")

        ctx_a.close()                      # the stream ends without a word to the server
        second.wait_for_timeout(4_500)     # > the registry's 3 s heartbeat timeout
        second.reload()
        wait_for_app(second, 120_000)
        second.locator('iframe[title*="streamlit_webrtc"]').first.wait_for(timeout=60_000)
        assert second.get_by_text(FULL).count() == 0
    finally:
        ctx_b.close()
        try:
            ctx_a.close()
        except Exception:  # noqa: BLE001 -- already closed above
            pass
