"""Every page of the router renders without an exception in AppTest."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py"))


def test_router_lists_every_page_file():
    src = (ROOT / "app.py").read_text()
    for name in PAGES:
        assert f'"pages/{name}"' in src, f"pages/{name} is not in the router"


@pytest.mark.parametrize("page", [p for p in PAGES if p != "live.py"])
def test_page_renders_without_exception(page):
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
