"""A lecture hall behind a real load balancer: two Streamlit replicas behind Debian's nginx.

deploy/hall.py starts K = 2 replicas of the dashboard and nginx (deploy/nginx.conf) on loopback;
Chromium opens sessions through nginx only. Checked, as a student's browser sees it:

* both replicas serve sessions (nginx's ``X-Atlas-Replica`` response header names the replica
  that answered, and the replica is one of the two processes started);
* a session's requests all stay on its replica: its page, its websocket (``/_stcore/stream``,
  upgraded through the proxy, status 101) and the images it shows (``/media/…``, which only the
  replica holding the session has), read from nginx's access log by the session's cookie;
* the websocket works through the proxy: a widget changed in the page reruns the script and the
  new result is shown (a convolution's MACs, a new photo's top-1).

Marked slow (three Streamlit processes and a browser), and run in CI like every other test.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import require_chromium, wait_for_app
from deploy import hall as H

pytestmark = pytest.mark.slow

VIEW = {"width": 1400, "height": 1000}


def require_nginx():
    if shutil.which("nginx") is None and not os.path.exists(H.NGINX):
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: .ci/run must install Debian's nginx")
        pytest.skip("nginx not installed (apt-get install nginx)")


@pytest.fixture(scope="module")
def hall():
    require_chromium()
    require_nginx()
    # no background warm-up: the test needs two pages, not every model's analysis twice
    with H.Hall(replicas=2, env={"CNN_ATLAS_WARM_UP": "0"}) as h:
        yield h


def metric(page, label: str):
    return page.locator('[data-testid="stMetric"]').filter(has_text=label).first


def top1(page):
    """The classify page's top-1 heading (a heading, not a metric: a long class name wraps)."""
    return page.locator("[data-testid='stMain'] h3").filter(has_text=re.compile(r"· [\d.]+\s%$")).first


def cookie(ctx) -> str:
    (value,) = [c["value"] for c in ctx.cookies() if c["name"] == "atlas_replica"]
    return H.log_session(value)


def requests_by_session(hall, sessions: set[str], timeout: float = 15) -> dict[str, list[dict]]:
    """The access-log rows of ``sessions``, once each has its websocket line (written at close)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = defaultdict(list)
        for row in hall.requests():
            rows[row["session"]].append(row)
        closed = {s for s in sessions if any(r["status"] == 101 and r["request"].startswith("GET /_stcore/stream")
                                             for r in rows[s])}
        if closed == sessions or time.monotonic() > deadline:
            return {s: rows[s] for s in sessions}
        time.sleep(0.5)


def test_rendered_config_is_valid_nginx(tmp_path):
    """The template with three replicas passes ``nginx -t``, every replica in its upstream block."""
    require_nginx()
    servers = ["127.0.0.1:8501", "192.168.1.11:8501", "192.168.1.12:8501"]
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(H.render_config("127.0.0.1:8080", servers, tmp_path))
    text = conf.read_text()
    assert "@" not in text.replace("$uid", "")  # every token filled in
    for s in servers:
        assert f"server {s} " in text
    check = subprocess.run([H.NGINX, "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log"), "-t"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_log_session_matches_nginx_cookie_encoding():
    """A cookie nginx 1.22.1 set (Set-Cookie) and the line it logged for it on x86-64."""
    assert H.log_session("fwAAAWsOnPFuagtQAwMEAg==") == "atlas_replica=0100007FF19C0E6B500B6A6E02040303"


def test_both_replicas_serve_and_each_session_stays_on_its_replica(hall, browser):
    replicas = {r.address for r in hall.members}
    assert len(replicas) == 2
    by_replica: dict[str, list] = defaultdict(list)
    contexts = []
    try:
        # New browsers land on either replica (a hash of a random cookie): open up to 16, one at a
        # time, until both replicas hold a session (both missing one: probability 2 · 2^-16).
        for _ in range(16):
            ctx = browser.new_context(viewport=VIEW)
            contexts.append(ctx)
            page = ctx.new_page()
            response = page.goto(hall.url + "/conv_cost")
            replica = response.headers["x-atlas-replica"]
            assert replica in replicas
            # the seed's Table 3 (7×7×3 → 5×5×128, 3×3): 5·5·128·3·3·3 = 86,400 MACs
            metric(page, "Regular k×k").get_by_text("86,400 MACs").wait_for(timeout=90_000)
            by_replica[replica].append((ctx, page))
            if len(by_replica) == 2:
                break
        assert set(by_replica) == replicas, f"all sessions went to {set(by_replica)}"

        # On each replica: change C_out to 256; the websocket carries the change and the rerun's
        # result comes back through nginx: 5·5·256·3·3·3 = 172,800 MACs.
        for ctx, page in (sessions[0] for sessions in by_replica.values()):
            box = page.locator('[data-testid="stNumberInput"]').filter(has_text="C_out").locator("input")
            box.fill("256")
            box.press("Enter")
            metric(page, "Regular k×k").get_by_text("172,800 MACs").wait_for(timeout=60_000)
            wait_for_app(page, 90_000)

        sessions = {cookie(ctx): replica for replica, pairs in by_replica.items() for ctx, _ in pairs}
    finally:
        for ctx in contexts:
            ctx.close()
    rows = requests_by_session(hall, set(sessions))
    for session, replica in sessions.items():
        served_by = {r["replica"] for r in rows[session]}
        assert served_by == {replica}, f"{session}: requests went to {served_by}"
        stream = [r for r in rows[session] if r["request"].startswith("GET /_stcore/stream")]
        assert [r["status"] for r in stream] == [101], f"{session}: websocket {stream}"


def test_classify_session_reruns_and_shows_its_media_through_the_proxy(hall, browser):
    """Images a session shows are in its replica's memory (``/media/…``): they load only if the
    browser's requests stay there. A new sample photo: a rerun, a new top-1, new images."""
    ctx = browser.new_context(viewport=VIEW)
    try:
        page = ctx.new_page()
        replica = page.goto(hall.url + "/classify?source=Sample+photo&sample=coffee").headers["x-atlas-replica"]
        top1(page).filter(has_text="espresso").wait_for(timeout=120_000)
        wait_for_app(page, 120_000)
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Sample").first
        box.click()
        page.get_by_role("option", name="chelsea", exact=True).first.click()
        top1(page).filter(has_text="cat").wait_for(timeout=120_000)   # tiger / Egyptian cat
        wait_for_app(page, 120_000)
        images = page.locator('[data-testid="stImage"] img')
        assert images.count() >= 3   # the photo, what the model saw, the Grad-CAM overlay
        page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stImage"] img')]
                                  .every(i => i.complete && i.naturalWidth > 0)""", timeout=30_000)
        session = cookie(ctx)
    finally:
        ctx.close()
    rows = requests_by_session(hall, {session})[session]
    media = [r for r in rows if r["request"].startswith("GET /media/")]
    assert media and all(r["status"] == 200 for r in media), media
    assert {r["replica"] for r in rows} == {replica}


def test_large_response_to_a_slow_browser_arrives_whole(hall):
    """nginx buffers what a slow browser cannot take yet in its temp directory (under the run
    directory): the largest script bundle, read slowly through the proxy, arrives byte for byte."""
    import streamlit

    bundles = Path(streamlit.__file__).parent / "static" / "static" / "js"
    big = max(bundles.glob("*.js"), key=lambda p: p.stat().st_size)
    assert big.stat().st_size > 1_000_000
    got = bytearray()
    with urllib.request.urlopen(f"{hall.url}/static/js/{big.name}", timeout=60) as r:
        time.sleep(2)                       # the replica has sent everything; nginx holds it
        while chunk := r.read(256 * 1024):
            got += chunk
            time.sleep(0.02)
    assert bytes(got) == big.read_bytes()
