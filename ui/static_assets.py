"""Streamlit's own front end (its JavaScript, CSS and fonts) served from memory, gzipped once.

Every student's browser arrives with a cold cache and fetches 100–145 files of Streamlit's front end
(4–5 MB) before the page can draw. Streamlit's server sends each of them from disk through its full
middleware stack, with a worker-thread hop for the stat, the open and every 64 KB read: measured
here, 1.2–1.4 ms of server CPU per file, about 0.15 CPU-s per session and most of what a new session
cost the server (benchmarks/bench_hall.py). This ASGI middleware answers those requests itself:

* only ``GET``/``HEAD`` under ``prefix`` (``/static/``, Streamlit's hashed, immutable bundle names)
  for a plain file inside ``directory``; anything else (the page HTML, the websocket, media, uploads,
  components, a ``Range`` or conditional request, a name it does not know) goes on to Streamlit
  unchanged;
* a file is read once, on its first request, in a worker thread; text (JavaScript, CSS, SVG, JSON)
  is gzipped then too, and sent gzipped to a browser that accepts it: a lecture hall's Wi-Fi
  carries a quarter of the bytes;
* the headers are Streamlit's for these files (``Cache-Control: public, immutable, max-age=1 year``),
  plus ``Vary: Accept-Encoding``.

Only files a browser asked for are held, once per process and shared by every session: measured
over all 13 of the atlas's pages in Chromium, 167 files, 11.3 MB raw, 4.1 MB as sent. It imports no Streamlit: ``serve.py`` mounts it
with ``st.App``'s public ``middleware`` argument.
"""
from __future__ import annotations

import asyncio
import gzip
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

CACHE_CONTROL = b"public, immutable, max-age=31536000"   # Streamlit's own for its hashed assets
# Content types worth gzipping; fonts (woff2) and images are compressed already.
_TEXT = ("text/", "application/javascript", "application/json", "image/svg+xml")
_NAME = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")


@dataclass(frozen=True)
class Asset:
    body: bytes
    gz: bytes | None        # gzipped body, when that is smaller
    content_type: str


def load_asset(path: Path) -> Asset:
    """A file's bytes, content type and (for text) its gzipped bytes."""
    body = path.read_bytes()
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    gz = None
    if ctype.startswith(_TEXT):
        packed = gzip.compress(body, compresslevel=6, mtime=0)
        gz = packed if len(packed) < len(body) else None
    if ctype.startswith("text/"):
        ctype += "; charset=utf-8"
    return Asset(body, gz, ctype)


class StaticAssets:
    """ASGI middleware: files under ``prefix`` answered from ``directory``, held in memory."""

    def __init__(self, app, directory: str | Path, prefix: str = "/static/"):
        self.app = app
        self.root = Path(directory).resolve()
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self._assets: dict[str, Asset] = {}    # only files found: a miss is not remembered
        self._loading: dict[str, asyncio.Future] = {}

    def resolve(self, name: str) -> Path | None:
        """The file ``name`` names inside the directory, or None (not a plain name, outside, absent)."""
        if not _NAME.fullmatch(name) or any(part in (".", "..") for part in name.split("/")):
            return None
        path = (self.root / name).resolve()
        return path if self.root in path.parents and path.is_file() else None

    def _load(self, name: str) -> Asset | None:
        """The Asset, or None when there is no such file or it cannot be read (Streamlit answers)."""
        try:
            path = self.resolve(name)
            return load_asset(path) if path else None
        except OSError:
            return None

    async def asset(self, name: str) -> Asset | None:
        """The file's Asset, read on its first request; concurrent first requests share one read."""
        if name in self._assets:
            return self._assets[name]
        task = self._loading.get(name)
        if task is None:
            task = self._loading[name] = asyncio.ensure_future(asyncio.to_thread(self._load, name))
        try:
            found = await task
        finally:
            self._loading.pop(name, None)
        if found is not None:
            self._assets[name] = found
        return found

    def _ours(self, scope) -> str | None:
        """The asset name this request asks for, when this middleware should answer it."""
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return None
        path = scope["path"]
        if not path.startswith(self.prefix):
            return None
        for key, _ in scope["headers"]:
            if key in (b"range", b"if-none-match", b"if-modified-since", b"if-range"):
                return None
        return path[len(self.prefix):]

    async def __call__(self, scope, receive, send):
        name = self._ours(scope)
        found = await self.asset(name) if name is not None else None
        if found is None:
            await self.app(scope, receive, send)
            return
        accepts = b"".join(v for k, v in scope["headers"] if k == b"accept-encoding")
        zipped = found.gz is not None and b"gzip" in accepts
        body = found.gz if zipped else found.body
        headers = [(b"content-type", found.content_type.encode()),
                   (b"content-length", str(len(body)).encode()),
                   (b"cache-control", CACHE_CONTROL), (b"vary", b"Accept-Encoding")]
        if zipped:
            headers.append((b"content-encoding", b"gzip"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
