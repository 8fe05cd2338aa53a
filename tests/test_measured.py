"""The Pareto page's "Measured here": ui.measured's overlay and table (plain functions), and the
page's section through AppTest on a folder built from the sample photos (tests/test_evaluate.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import measured as um

from conftest import tables

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "pareto.py")

POINTS = [{"name": "efficientnet_lite0", "family": "EfficientNet-Lite", "top1": 74.846, "macs": 385e6,
           "params": 4652008, "source": "timm"},
          {"name": "resnet50", "family": "ResNet", "top1": 80.858, "macs": 4.09e9, "params": 25557032, "source": "tv"}]
RESULT = {"model": "efficientnet_lite0", "images": 6, "correct1": 4, "correct5": 5,
          "top1_interval": [0.3, 0.9], "weights": "efficientnet-lite0-57934424.pth", "date": "2026-12-01 10:00"}


def test_measured_points_pair_the_published_and_the_measured_top1():
    ms = um.measured_points(POINTS, {"efficientnet_lite0": RESULT, "nowhere": RESULT}, "macs")
    assert len(ms) == 1
    m = ms[0]
    assert (m["x"], m["published"], m["images"]) == (385e6, 74.846, 6)
    assert m["measured"] == pytest.approx(400 / 6) and (m["low"], m["high"]) == pytest.approx((30.0, 90.0))
    assert um.label(m) == "measured here (6 images)"
    big = dict(RESULT, images=50000, correct1=37000)
    assert um.label(um.measured_points(POINTS, {"efficientnet_lite0": big}, "macs")[0]) == "measured here (50,000 images)"


def values(spec: dict, name: str) -> list[dict]:
    return next(part["data"]["values"] for part in spec["layer"] if part.get("name") == name)


def test_overlay_draws_a_line_between_the_two_points_each_labelled():
    from ui import explore as ux

    base = ux.pareto_figure(POINTS, "macs", "MACs")
    before = json.dumps(base, sort_keys=True)
    spec = um.add_measured(base, POINTS, {"efficientnet_lite0": RESULT}, "macs")
    assert json.dumps(base, sort_keys=True) == before               # a new spec: the shared one is untouched
    line, = values(spec, "published to measured")
    assert (line["x"], line["y"]) == (385e6, 74.846) and line["y2"] == pytest.approx(400 / 6)
    mark, = values(spec, "measured")
    assert mark["y"] == pytest.approx(400 / 6) and mark["label"] == "measured here (6 images)"
    # the tooltip: 4 of 6 images = 66.7 %, Wilson interval 30–90 %, the published 74.8 %
    assert (mark["measured"], mark["interval"], mark["published"]) == ("66.7 %", "30.0–90.0 %", "74.8 %")
    assert mark["images"] == "6" and mark["weights"] == RESULT["weights"]
    # measured below published: its label below it; "published" beside the published point
    assert values(spec, "measured labels below") == [{"x": 385e6, "y": pytest.approx(400 / 6),
                                                      "text": "measured here (6 images)"}]
    assert "measured labels above" not in [p.get("name") for p in spec["layer"]]
    assert values(spec, "published labels") == [{"x": 385e6, "y": 74.846, "text": "published"}]
    above = um.add_measured(base, POINTS, {"efficientnet_lite0": dict(RESULT, correct1=6)}, "macs")   # 100 %
    assert values(above, "measured labels above")[0]["text"] == "measured here (6 images)"
    # one legend entry, in black, beside the families
    color = next(p for p in spec["layer"] if p.get("name") == "points")["encoding"]["color"]["scale"]
    assert color["domain"][-1] == "top-1 measured here" and color["range"][-1] == "#000000"
    assert um.add_measured(base, POINTS, {}, "macs") == base
    # no x on this axis (latency not measured): nothing drawn for that model
    assert um.add_measured(base, POINTS, {"efficientnet_lite0": RESULT}, "latency_ms") == base


def test_result_rows():
    rows = um.result_rows([RESULT, dict(RESULT, model="resnet50", date="2026-12-02 09:00", stopped=True)],
                          {"efficientnet_lite0": 74.846})
    assert [r["model"] for r in rows] == ["resnet50", "efficientnet_lite0"]      # newest first
    assert rows[0]["folder"].endswith("(stopped)")
    assert rows[1]["top-1 here (%)"] == "66.7" and rows[1]["95 % interval"] == "30.0–90.0"
    assert rows[1]["published (%)"] == "74.8" and rows[0]["published (%)"] == "—"
    big = um.result_rows([dict(RESULT, images=50000, correct1=37000, images_per_s=41.25)], {})[0]
    assert big["images"] == "50,000" and big["top-1 here (%)"] == "74.0" and big["images/s"] == "41.2"


@pytest.fixture
def results(tmp_path, monkeypatch):
    path = tmp_path / "evaluations.json"
    monkeypatch.setenv("CNN_ATLAS_RESULTS", str(path))
    return path


def chart_layers(at: AppTest) -> list[str]:
    return [part.get("name") for part in json.loads(at.get("vega_lite_chart")[0].proto.spec)["layer"]]


def chart_values(at: AppTest, name: str) -> list[dict]:
    return values(json.loads(at.get("vega_lite_chart")[0].proto.spec), name)


def test_pareto_page_evaluates_a_folder_and_draws_the_result(results, tmp_path):
    from test_evaluate import sample_folder

    folder = sample_folder(tmp_path / "val")
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception
    assert "points" in chart_layers(at) and "measured" not in chart_layers(at)
    assert at.button(key="eval_go").disabled                            # no folder yet
    at.text_input(key="eval_folder").set_value(str(folder)).run()
    at.button(key="eval_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    job = at.session_state["eval_job"]          # the pass runs in a thread of its own
    job["thread"].join(timeout=240)
    at.run()                                    # what the page's fragment shows when it polls next
    assert not at.exception and not at.error, [e.value for e in at.error]
    msg = " ".join(s.value for s in at.success)
    assert "top-1 66.67 % (4 of 6 images" in msg and "1 unreadable image" in msg and "broken.jpg" in msg
    saved, = json.loads(results.read_text())
    assert saved["model"] == "efficientnet_lite0" and saved["images"] == 6 and not saved["stopped"]
    mark, = chart_values(at, "measured")
    assert mark["label"] == "measured here (6 images)" and mark["y"] == pytest.approx(400 / 6)
    table = next(t.value for t in tables(at) if "top-1 here (%)" in t.value.columns)
    # the page plots the paper's figure by default: 75.1 % in the TF Lite README (assets/published.csv)
    row = table.loc["efficientnet_lite0"]
    assert (row["images"], row["top-1 here (%)"], row["published (%)"]) == ("6", "66.7", "75.1")


def test_pareto_page_says_why_a_folder_cannot_be_evaluated(results, tmp_path):
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.text_input(key="eval_folder").set_value(str(tmp_path / "nowhere")).run()
    at.button(key="eval_go").click().run()
    assert not at.exception
    assert any("Cannot evaluate efficientnet_lite0" in e.value and "is not a folder" in e.value for e in at.error)
    assert not results.exists()
