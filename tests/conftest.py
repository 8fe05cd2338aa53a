import json
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@cache
def state_dict_shapes() -> dict:
    return json.loads((DATA / "state_dict_shapes.json").read_text())


@cache
def golden_logits() -> dict:
    return json.loads((DATA / "golden_logits.json").read_text())


@cache
def reference_models() -> dict:
    return json.loads((ROOT / "assets" / "models.json").read_text())


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


# --- the running dashboard and a real browser, for the flows AppTest cannot drive -------------
import os
import socket
import subprocess
import time
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(port: int, env: dict | None = None, entry: str = "serve.py") -> subprocess.Popen:
    """The dashboard as the README starts it (``streamlit run serve.py``), on loopback."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / entry),
           "--server.headless=true", f"--server.port={port}", "--server.address=127.0.0.1",
           "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not start within 60 s")


@pytest.fixture(scope="session")
def app_url():
    """The dashboard served on loopback for the whole session."""
    port = free_port()
    proc = start_streamlit(port)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def require_chromium():
    """Browser tests need Debian's Chromium; CI installs it, so there its absence is a failure."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    yield pg
    ctx.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_app(page, timeout: float = 30_000):
    """Wait until Streamlit is connected and has finished running the script.

    The app root carries its state (``data-test-connection-state``, ``data-test-script-state``:
    ``initial`` before the first run, then ``running`` / ``notRunning``), the attributes
    Streamlit's own end-to-end tests wait on. The status widget alone is not enough: it is
    absent both after a run and before the first one starts, which on a loaded machine let a
    test read a page whose widgets were not drawn yet.
    """
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-connection-state') === 'CONNECTED'
                && app.getAttribute('data-test-script-state') === 'notRunning'
                && !document.querySelector('[data-testid="stStatusWidget"]');
        }""", timeout=timeout)


# --- AppTest readers shared by the page tests --------------------------------------------------

def metric(at, label: str):
    """The AppTest metric with this label (the test fails naming the labels there are)."""
    found = [m for m in at.metric if m.label == label]
    assert found, f"no metric {label!r} in {[m.label for m in at.metric]}"
    return found[0]


def exact(m) -> int:
    """The exact count a metric states in its help text, e.g. "25,557,032 (zoo.analyze)"."""
    return int(m.proto.help.split()[0].replace(",", ""))


class Shown:
    """A table as the page shows it: ``value`` is a DataFrame of the cells' text."""

    def __init__(self, value):
        self.value = value


def parse_markdown_tables(text: str) -> list:
    """The GitHub-flavoured Markdown tables in ``text`` (header, "---" row, rows), as DataFrames of
    their cells' text ("\\|" read back as "|"). Written here, apart from ui.page, to read what
    the page sent."""
    import re

    import pandas as pd

    def cells(line):
        line = line.strip()[1:]                               # the leading "|"
        if line.endswith("|") and not line.endswith("\\|"):
            line = line[:-1]                                  # the closing "|"
        return [p.strip().replace("\\|", "|") for p in re.split(r"(?<!\\)\|", line)]

    found, lines = [], text.splitlines()
    i = 0
    while i + 1 < len(lines):
        if lines[i].lstrip().startswith("|") and re.fullmatch(r"\s*\|(\s*:?-{3,}:?\s*\|)+\s*", lines[i + 1]):
            head, rows, j = cells(lines[i]), [], i + 2
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                rows.append(cells(lines[j]))
                j += 1
            assert all(len(r) == len(head) for r in rows), (head, rows)
            found.append(pd.DataFrame(rows, columns=head))
            i = j
        else:
            i += 1
    return found


def tables(at) -> list:
    """Every table on an AppTest page in page order: ``ui.page.table``'s Markdown tables and any
    ``st.table``, each with ``.value`` (a DataFrame)."""
    out = []

    def walk(node):
        kind = getattr(node, "type", None)
        if kind == "markdown":
            out.extend(Shown(df) for df in parse_markdown_tables(node.value))
        elif kind == "table":
            out.append(node)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    return out
