"""serve.py's middleware: Streamlit's front end answered from memory, gzipped (issue 16).

Unit tests drive ``ui.static_assets.StaticAssets`` as a plain ASGI app over a folder made here, with
a stand-in for Streamlit behind it; the server tests fetch from ``streamlit run serve.py`` (the
``app_url`` server, as the README starts it) and compare with the files of the installed Streamlit.
"""
import asyncio
import gzip
import hashlib
import re
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from streamlit import file_util

from ui.static_assets import CACHE_CONTROL, StaticAssets, load_asset

JS = b"export const answer = 42;\n" * 400          # compressible text, as Streamlit's bundles are


def scope(path, method="GET", headers=(), kind="http"):
    return {"type": kind, "method": method, "path": path, "headers": [(k.lower(), v) for k, v in headers]}


class Behind:
    """What stands behind the middleware (Streamlit): records each request it is handed."""

    def __init__(self):
        self.seen = []

    async def __call__(self, scope, receive, send):
        self.seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"from streamlit"})


def run(coro):
    """``asyncio.run`` on a thread of its own: the browser tests' Playwright keeps an event loop
    running on the main thread for the whole session."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def call(mw, sc):
    """One request through ``mw``: (status, headers as a dict, body)."""
    out = []

    async def send(message):
        out.append(message)

    async def receive():
        return {"type": "http.request"}

    run(mw(sc, receive, send))
    start, body = out[0], b"".join(m.get("body", b"") for m in out[1:])
    return start["status"], dict(start["headers"]), body


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "static"
    (root / "js").mkdir(parents=True)
    (root / "js" / "index.AbC123.js").write_bytes(JS)
    (root / "media").mkdir()
    (root / "media" / "font.woff2").write_bytes(bytes(range(256)) * 8)
    (root / "css").mkdir()
    (root / "css" / "index.css").write_bytes(b"body { margin: 0 }\n" * 50)
    (tmp_path / "secret.txt").write_bytes(b"outside the static folder")
    behind = Behind()
    return StaticAssets(behind, root), behind


def test_serves_the_file_gzipped_to_a_browser_that_accepts_it(site):
    mw, behind = site
    status, h, body = call(mw, scope("/static/js/index.AbC123.js", headers=[(b"accept-encoding", b"gzip, deflate, br")]))
    assert status == 200 and not behind.seen
    assert h[b"content-encoding"] == b"gzip" and gzip.decompress(body) == JS
    assert len(body) < len(JS) / 10 and int(h[b"content-length"]) == len(body)
    assert h[b"content-type"].startswith((b"application/javascript", b"text/javascript"))   # by Python's mimetypes
    assert h[b"cache-control"] == CACHE_CONTROL == b"public, immutable, max-age=31536000"
    assert h[b"vary"] == b"Accept-Encoding"


def test_serves_plain_bytes_without_gzip_and_head_without_body(site):
    mw, _ = site
    status, h, body = call(mw, scope("/static/js/index.AbC123.js"))
    assert status == 200 and body == JS and b"content-encoding" not in h
    status, h, body = call(mw, scope("/static/js/index.AbC123.js", "HEAD", [(b"accept-encoding", b"gzip")]))
    assert status == 200 and body == b"" and int(h[b"content-length"]) < len(JS)


def test_fonts_are_sent_as_they_are_and_css_as_utf8_text(site):
    mw, _ = site
    _, h, body = call(mw, scope("/static/media/font.woff2", headers=[(b"accept-encoding", b"gzip")]))
    assert body == bytes(range(256)) * 8 and b"content-encoding" not in h    # woff2 is compressed already
    _, h, _ = call(mw, scope("/static/css/index.css"))
    assert h[b"content-type"] == b"text/css; charset=utf-8"


@pytest.mark.parametrize("request_scope", [
    scope("/index.html"), scope("/pareto"),                                   # pages: Streamlit's (no-cache)
    scope("/static/js/missing.js"),                                           # unknown: Streamlit's 404 / fallback
    scope("/static/js/index.AbC123.js", "POST"),
    scope("/static/js/index.AbC123.js", headers=[(b"range", b"bytes=0-9")]),
    scope("/static/js/index.AbC123.js", headers=[(b"if-none-match", b'"x"')]),
    scope("/static/../secret.txt"), scope("/static/js/../../secret.txt"),     # never outside the folder
    scope("/static//etc/passwd"), scope("/static/js/%2e%2e/x"),
    scope("/_stcore/stream", kind="websocket"),
])
def test_everything_else_goes_on_to_streamlit(site, request_scope):
    mw, behind = site
    status, _, body = call(mw, request_scope)
    assert (status, body) == (299, b"from streamlit")
    assert behind.seen == [request_scope["path"]]


def test_a_symlink_out_of_the_folder_is_not_followed(site, tmp_path):
    mw, behind = site
    (mw.root / "js" / "link.js").symlink_to(tmp_path / "secret.txt")
    assert call(mw, scope("/static/js/link.js"))[2] == b"from streamlit"


def test_a_file_is_read_once_and_concurrent_first_requests_share_the_read(site, monkeypatch):
    mw, _ = site
    reads = []
    real = mw._load
    monkeypatch.setattr(mw, "_load", lambda name: reads.append(name) or real(name))

    async def many():
        return await asyncio.gather(*(mw.asset("js/index.AbC123.js") for _ in range(8)))

    assets = run(many())
    assert all(a is assets[0] for a in assets) and reads == ["js/index.AbC123.js"]
    call(mw, scope("/static/js/index.AbC123.js"))
    assert reads == ["js/index.AbC123.js"]
    run(mw.asset("js/missing.js"))
    run(mw.asset("js/missing.js"))
    assert reads.count("js/missing.js") == 2 and "js/missing.js" not in mw._assets   # a miss is not kept


def test_a_file_that_cannot_be_read_goes_on_to_streamlit(site, monkeypatch):
    mw, behind = site

    def unreadable(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("ui.static_assets.load_asset", unreadable)
    status, _, body = call(mw, scope("/static/js/index.AbC123.js"))
    assert (status, body) == (299, b"from streamlit") and behind.seen == ["/static/js/index.AbC123.js"]


def test_a_prefix_under_a_base_url_path(tmp_path):
    (tmp_path / "a.js").write_bytes(JS)
    behind = Behind()
    mw = StaticAssets(behind, tmp_path, prefix="/atlas/static")
    assert call(mw, scope("/atlas/static/a.js"))[2] == JS
    assert call(mw, scope("/static/a.js"))[2] == b"from streamlit"


def test_load_asset_keeps_incompressible_text_plain(tmp_path):
    noise = tmp_path / "noise.js"
    noise.write_bytes(hashlib.sha512(b"0").digest() * 1)        # 64 random-looking bytes: gzip is larger
    assert load_asset(noise).gz is None and load_asset(noise).body == noise.read_bytes()


# --- the server the README starts ------------------------------------------------------------------

STATIC = Path(file_util.get_static_dir())


def fetch(url, gzip_ok=True):
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()


def bundle_names():
    """The script files Streamlit's index.html names (its entry bundle and preloads)."""
    html = (STATIC / "index.html").read_text()
    return sorted(set(re.findall(r'/?(static/js/[\w.\-]+\.js)', html)))


def test_serve_py_sends_streamlits_own_files_gzipped_and_unchanged(app_url):
    names = bundle_names()
    assert len(names) > 5, names
    for name in names:
        status, h, body = fetch(f"{app_url}/{name}")
        original = (STATIC / name).read_bytes()
        zipped = h.get("content-encoding") == "gzip"
        assert status == 200 and (gzip.decompress(body) if zipped else body) == original, name
        assert zipped or len(original) < 1000, (name, h)      # only a file of a few bytes goes plain
        assert h["cache-control"] == CACHE_CONTROL.decode()
    largest = max(names, key=lambda n: (STATIC / n).stat().st_size)
    status, h, body = fetch(f"{app_url}/{largest}", gzip_ok=False)
    assert body == (STATIC / largest).read_bytes() and "content-encoding" not in h


def test_serve_py_leaves_pages_and_health_to_streamlit(app_url):
    status, h, body = fetch(f"{app_url}/pareto")
    if h.get("content-encoding") == "gzip":                   # Streamlit's own gzip, for its pages
        body = gzip.decompress(body)
    assert status == 200 and h["cache-control"] == "no-cache" and b'<div id="root">' in body
    assert fetch(f"{app_url}/_stcore/health")[2] == b"ok"
