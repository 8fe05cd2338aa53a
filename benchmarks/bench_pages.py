"""How fast the Explore pages answer, measured in real Chromium against a running server.

    python benchmarks/bench_pages.py [--repeats 3] [--no-wait-warm]

1. Starts ``streamlit run serve.py`` (the README's command) on a free loopback port and waits until the background warm-up
   (ui.state.warm_up: every model analysed once on the meta device) reports "All N analyses
   ready." in the sidebar: "once the server is warm".
2. First render: each page opened in a new session, timed from navigation until its main
   content is on screen, twice: in a fresh browser context (cold HTTP cache: every script bundle
   downloaded and compiled) and in a new tab of a browser that has shown the app before.
   Target: under 2 s.
4. The floor: a three-element Streamlit page measured the same way, to tell the app's own cost
   from the browser's and the machine's.
3. Interactions in one session, timed from the click or key press until the new numbers are on
   screen: explorer model changes (EfficientNet-B7 ⇄ ResNet-RS-420), the resolution slider on
   both (a resolution not analysed before: a cache miss), the unit toggle, the scaling lab's
   presets and φ slider. Target: under 0.5 s.

The expected on-screen texts are computed here with zoo.analyze, so a timing only counts once
the right number is shown. Times include the browser's rendering. Needs Debian's Chromium.
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import zoo  # noqa: E402
from zoo import fmt  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BASELINE_APP = """
import streamlit as st
st.title("Baseline")
u = st.segmented_control("Count", ["MACs", "FLOPs"], default="MACs", key="unit", required=True)
m = st.selectbox("Model", ["model_a", "model_b"], key="model")
st.metric("Shown", f"value in {u}")
st.metric("Chosen", f"chose {m}")
"""


def start_server(port: int, app: Path = ROOT / "serve.py") -> subprocess.Popen:
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless=true",
           f"--server.port={port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
           "--server.fileWatcherType=none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not start")


def wait_warm(page, url: str, timeout: float = 600) -> float:
    t0 = time.perf_counter()
    page.goto(url)
    while time.perf_counter() - t0 < timeout:
        # the sidebar says "Preparing analyses … k/N" or "All analyses ready; …" once the run lands
        page.get_by_text(re.compile("analyses")).first.wait_for(timeout=60_000)
        if page.get_by_text("analyses ready").count():
            return time.perf_counter() - t0
        page.wait_for_timeout(1000)
        page.reload()
    raise RuntimeError("warm-up did not finish")


def timed(action, expect, timeout: float = 60_000) -> float:
    """Seconds from ``action()`` until ``expect`` (a locator) is visible."""
    t0 = time.perf_counter()
    action()
    try:
        expect.first.wait_for(state="visible", timeout=timeout)
    except Exception:
        print(f"  (timed out waiting for {expect})", file=sys.stderr)
        raise
    dt = time.perf_counter() - t0
    time.sleep(0.3)   # let the rest of the rerun land before the next action
    return dt


def metric_text(page, label: str, value: str):
    return page.locator('[data-testid="stMetric"]').filter(has_text=label).filter(
        has=page.get_by_text(value, exact=True))


def choose(page, label: str, option: str):
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.click()
    page.get_by_role("option", name=option, exact=True).first.click()


def segment(page, text: str):
    """A segmented-control button by its text."""
    return page.locator('[data-testid="stButtonGroup"]').get_by_text(text, exact=True).first


def first_renders(browser, base: str, repeats: int) -> dict[str, list[float]]:
    targets = {
        "home (timeline)": ("/", lambda p: p.locator(".js-plotly-plot")),
        "explorer (resnet50)": ("/explorer?model=resnet50",
                                lambda p: metric_text(p, "MACs", fmt.fmt_ops(zoo.analyze("resnet50").total_macs))),
        "explorer (efficientnet_b7)": ("/explorer?model=efficientnet_b7",
                                       lambda p: metric_text(p, "MACs", fmt.fmt_ops(zoo.analyze("efficientnet_b7").total_macs))),
        "explorer (resnetrs420)": ("/explorer?model=resnetrs420",
                                   lambda p: metric_text(p, "MACs", fmt.fmt_ops(zoo.analyze("resnetrs420").total_macs))),
        "scaling lab": ("/scaling", lambda p: p.get_by_text("The scaled stage table")),
        "pareto": ("/pareto", lambda p: p.locator(".vega-embed svg, .vega-embed canvas")),   # Vega-Lite
    }
    out: dict[str, list[float]] = {}
    # cold: a fresh browser context each time (empty HTTP cache: every script bundle downloaded)
    for name, (path, expect) in targets.items():
        for _ in range(repeats):
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = ctx.new_page()
            out.setdefault(f"{name}, cold browser", []).append(timed(lambda: page.goto(base + path), expect(page)))
            ctx.close()
    # warm: a new tab (a new Streamlit session) in a browser that has loaded the app before
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    first = ctx.new_page()
    first.goto(base + "/pareto")
    first.locator(".vega-embed svg, .vega-embed canvas").first.wait_for(timeout=60_000)
    for name, (path, expect) in targets.items():
        for _ in range(repeats):
            page = ctx.new_page()
            out.setdefault(f"{name}, new tab", []).append(timed(lambda: page.goto(base + path), expect(page)))
            page.close()
    ctx.close()
    return out


def interactions(browser, base: str, repeats: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(base + "/explorer?model=efficientnet_b7")
    b7, rs = zoo.analyze("efficientnet_b7"), zoo.analyze("resnetrs420")
    metric_text(page, "MACs", fmt.fmt_ops(b7.total_macs)).first.wait_for(timeout=60_000)
    b6 = zoo.analyze("efficientnet_b6")
    for _ in range(repeats):
        out.setdefault("explorer: model → efficientnet_b6 (one selectbox)", []).append(timed(
            lambda: choose(page, "Model", "efficientnet_b6"), metric_text(page, "MACs", fmt.fmt_ops(b6.total_macs))))
        out.setdefault("explorer: model → efficientnet_b7 (one selectbox)", []).append(timed(
            lambda: choose(page, "Model", "efficientnet_b7"), metric_text(page, "MACs", fmt.fmt_ops(b7.total_macs))))
    rs50, b0 = zoo.analyze("resnetrs50"), zoo.analyze("efficientnet_b0")
    for _ in range(repeats):
        # a family change shows that family's first model; then the model selectbox picks the big one
        out.setdefault("explorer: family → ResNet-RS (resnetrs50 shown)", []).append(timed(
            lambda: choose(page, "Family", "ResNet-RS"), metric_text(page, "MACs", fmt.fmt_ops(rs50.total_macs))))
        out.setdefault("explorer: model → resnetrs420", []).append(timed(
            lambda: choose(page, "Model", "resnetrs420"), metric_text(page, "MACs", fmt.fmt_ops(rs.total_macs))))
        out.setdefault("explorer: family → EfficientNet (efficientnet_b0 shown)", []).append(timed(
            lambda: choose(page, "Family", "EfficientNet"), metric_text(page, "MACs", fmt.fmt_ops(b0.total_macs))))
        out.setdefault("explorer: model → efficientnet_b7 (from b0)", []).append(timed(
            lambda: choose(page, "Model", "efficientnet_b7"), metric_text(page, "MACs", fmt.fmt_ops(b7.total_macs))))
        out.setdefault("explorer: MACs → FLOPs toggle (b7)", []).append(timed(
            lambda: segment(page, "FLOPs").click(),
            metric_text(page, "FLOPs", fmt.fmt_ops(b7.total_macs, "FLOPs"))))
        segment(page, "MACs").click()
        metric_text(page, "MACs", fmt.fmt_ops(b7.total_macs)).first.wait_for()
    # resolution slider: each press is a resolution never analysed before (a cache miss)
    for model, res in (("efficientnet_b7", 600), ("resnetrs420", 320)):
        page.goto(base + f"/explorer?model={model}")
        metric_text(page, "Parameters", fmt.fmt_params(zoo.analyze(model).total_params)).first.wait_for(timeout=60_000)
        for k in range(1, repeats + 1):
            expect = fmt.fmt_ops(zoo.analyze(model, res + k).total_macs)
            slider = page.get_by_role("slider").first
            out.setdefault(f"explorer: resolution slider +1 px ({model}, uncached)", []).append(timed(
                lambda: (slider.focus(), slider.press("ArrowRight")), metric_text(page, "MACs", expect)))
    # scaling lab: presets (warmed) and the φ slider (φ + 0.1: uncached)
    page.goto(base + "/scaling")
    page.get_by_text("The scaled stage table").first.wait_for(timeout=60_000)
    for _ in range(repeats):
        for preset in ("B7", "B0"):
            out.setdefault(f"scaling: preset {preset}", []).append(timed(
                lambda: segment(page, preset).click(),
                page.get_by_text(f"Official {preset}")))
    phi_slider = page.get_by_role("slider").nth(3)          # α, β, γ, φ; the last preset set φ = 0
    for k in range(1, repeats + 1):
        phi = round(0.1 * k, 1)
        r = int(224 * 1.15 ** phi + 0.5)
        macs = zoo.analyze("efficientnet", r, phi=phi, alpha=1.2, beta=1.1, gamma=1.15).total_macs
        out.setdefault("scaling: φ slider +0.1 (uncached)", []).append(timed(
            lambda: (phi_slider.focus(), phi_slider.press("ArrowRight")),
            metric_text(page, "MACs", fmt.fmt_ops(macs))))
    ctx.close()
    return out


def baseline(browser, repeats: int) -> dict[str, list[float]]:
    """The floor on this machine: a three-element Streamlit page, first render and one toggle."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        app = Path(d) / "baseline.py"
        app.write_text(BASELINE_APP)
        port = free_port()
        proc = start_server(port, app)
        out: dict[str, list[float]] = {}
        try:
            for _ in range(repeats):
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = ctx.new_page()
                out.setdefault("baseline: first render (title, toggle, selectbox, 2 metrics), cold browser", []).append(timed(
                    lambda: page.goto(f"http://127.0.0.1:{port}/"), page.get_by_text("value in MACs")))
                out.setdefault("baseline: toggle MACs → FLOPs", []).append(timed(
                    lambda: segment(page, "FLOPs").click(), page.get_by_text("value in FLOPs")))
                out.setdefault("baseline: selectbox → model_b", []).append(timed(
                    lambda: choose(page, "Model", "model_b"), page.get_by_text("chose model_b")))
                ctx.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return out


def report(title: str, results: dict[str, list[float]], target: float) -> None:
    print(f"\n{title} (target < {target} s)")
    for name, ts in results.items():
        med = statistics.median(ts)
        flag = "ok " if med < target else "SLOW"
        print(f"  {flag} {name:<58} median {med:6.2f} s   runs {', '.join(f'{t:.2f}' for t in ts)}")


@contextmanager
def dashboard(wait_for_warm_up: bool = True):
    """A fresh dashboard server on a free loopback port and a Chromium on it, its warm-up waited
    for unless told not to: yields (browser, base URL); closes both after."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    proc = start_server(port)
    base = f"http://127.0.0.1:{port}"
    print(f"CPU: {os.cpu_count()} logical; load average {os.getloadavg()[0]:.1f}; server {base}")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            if wait_for_warm_up:
                page = browser.new_page()
                print(f"warm-up finished after {wait_warm(page, base + '/'):.1f} s")
                page.close()
            try:
                yield browser, base
            finally:
                browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-wait-warm", action="store_true", help="measure without waiting for the warm-up")
    args = ap.parse_args()
    with dashboard(not args.no_wait_warm) as (browser, base):
        report("First render of each page in a new session", first_renders(browser, base, args.repeats), 2.0)
        report("Interactions", interactions(browser, base, args.repeats), 0.5)
        report("The same machine's floor (not CNN Atlas)", baseline(browser, args.repeats), 0.5)
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
