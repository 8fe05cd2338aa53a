"""AppTest of each Lessons page: it renders, shows its lesson, survives bad input, runs its button."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import tables

PAGES = Path(__file__).resolve().parent.parent / "pages"


def page(name: str) -> AppTest:
    return AppTest.from_file(str(PAGES / name), default_timeout=120)


def number(text) -> float:
    """A count as a table shows it ("924,844,032") read back."""
    from zoo.fmt import parse_si
    return parse_si(str(text))


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.success] + [e.value for e in at.error] + [e.value for e in at.warning]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("name", ["conv_cost.py", "shufflenet_guidelines.py", "residual.py", "inception.py",
                                  "resnet_rs.py"])
def test_page_renders(name):
    at = page(name).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title and "MACs" in texts(at)


def test_conv_cost_reproduces_table3_and_verifies():
    at = page("conv_cost.py").run()
    ok = [s.value for s in at.success]
    assert any("Reproduced exactly" in s and "10,275" in s and "86,400" in s for s in ok), ok
    assert any("analysis engine" in s for s in ok)
    assert any("Pointwise layers hold more MACs" in s for s in ok)
    assert not at.error


def test_conv_cost_bad_groups_is_a_message_not_a_crash():
    at = page("conv_cost.py").run()
    at.number_input(key="groups").set_value(2).run()   # 2 does not divide C_in = 3
    assert not at.exception
    assert any("groups = 2 must divide" in e.value for e in at.error)
    # the session goes on: a valid value brings the lesson back
    at.number_input(key="cin").set_value(4).run()
    assert not at.exception and not at.error
    assert any("grouped (g = 2)" in str(df.value) for df in tables(at))


def test_conv_cost_reads_the_url():
    at = page("conv_cost.py")
    at.query_params.update({"cin": "32", "cout": "64", "h": "14", "w": "14"})
    at.run()
    assert not at.exception
    assert not any("Reproduced exactly" in s.value for s in at.success)  # not Table 3 any more
    first = tables(at)[0].value
    assert number(first.loc[0, "MACs"]) == 12 * 12 * 64 * 32 * 9
    assert first.loc[0, "MACs"] == "2,654,208"                   # exact, with separators


def test_conv_cost_large_counts_are_shown_whole():
    """The lecture-ready report: 56×56, 128 → 256, padding 1, groups 4 read "24844032" and "02760448"."""
    at = page("conv_cost.py")
    at.query_params.update({"h": "56", "w": "56", "cin": "128", "cout": "256", "pad": "1", "groups": "4"})
    at.run()
    assert not at.exception and not at.error
    cells = " ".join(str(v) for t in tables(at) for v in t.value.to_numpy().ravel())
    assert "924,844,032" in cells and "102,760,448" in cells          # 56·56·256·128·9 and 56·56·128·256
    assert "924844032" not in cells


def vega_specs(at: AppTest) -> list[dict]:
    """The Vega-Lite specs a page drew, asserting their data travelled inside the spec, not as Arrow
    (which would make the browser load Streamlit's Arrow chunk as well)."""
    charts = at.get("vega_lite_chart")
    assert all(not c.proto.data.data and not c.proto.datasets for c in charts)
    return [json.loads(c.proto.spec) for c in charts]


def test_conv_cost_draws_vega_lite_and_no_plotly():
    at = page("conv_cost.py").run()
    assert not at.exception
    assert not at.get("plotly_chart")                                  # no plotly.js for this page
    cases, filters, split = vega_specs(at)
    labels = {(v["case"], v["quantity"]): v["label"] for v in cases["layer"][1]["data"]["values"]}
    # Table 3: 10,275 / 86,400 MACs, 411 / 3,456 parameters, 3,908 / 6,803 memory access
    assert labels == {("regular", "MACs"): "1.00×", ("regular", "parameters"): "1.00×",
                      ("regular", "memory access"): "1.00×", ("depthwise-separable", "MACs"): "0.12×",
                      ("depthwise-separable", "parameters"): "0.12×", ("depthwise-separable", "memory access"): "0.57×"}
    assert cases["config"]["axis"]["labelFontSize"] >= 14                # styled for the hall
    assert [v["title"]["text"][0] for v in filters["hconcat"]] == ["regular 3×3", "depthwise 3×3", "pointwise 1×1"]
    bars = split["layer"][0]
    assert bars["encoding"]["y"]["sort"] == ["mobilenet_v1", "mobilenet_v2", "shufflenet_v2_x1_0", "efficientnet_b0"]
    assert bars["encoding"]["x"]["title"] == "% of the network's MACs"
    for model in bars["encoding"]["y"]["sort"]:                         # every network's shares add up to 100 %
        assert abs(max(v["end"] for v in bars["data"]["values"] if v["model"] == model) - 100) < 1e-6


def test_conv_cost_grouped_filters_and_presentation_sizes():
    at = page("conv_cost.py")
    at.query_params.update({"h": "56", "w": "56", "cin": "64", "cout": "128", "pad": "1", "groups": "4", "present": "1"})
    at.run()
    assert not at.exception and not at.get("plotly_chart")
    _, filters, _ = vega_specs(at)
    assert filters["hconcat"][3]["title"] == {"text": ["grouped 3×3", "g = 4"], "subtitle": ["128 filters", "of 3×3×16"]}
    assert filters["config"]["axis"]["labelFontSize"] >= 18 and filters["config"]["title"]["fontSize"] >= 22


def test_shufflenet_shows_every_papers_table_before_measuring():
    tabs = {"G1": "G1 · channel ratio", "G2": "G2 · groups", "G3": "G3 · fragmentation", "G4": "G4 · element-wise"}
    for g, first_gpu in (("G1", 1480.0), ("G2", 2451.0), ("G3", 2446.0), ("G4", 2427.0)):
        at = page("shufflenet_guidelines.py")
        at.query_params["g"] = tabs[g]
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        paper = next(t.value for t in tables(at) if "GPU ×1" in t.value.columns)
        assert float(paper["GPU ×1"][0]) == first_gpu and {"ARM ×1", "ARM ×2"} <= set(paper.columns)
        assert any(f"Ma et al. 2018, Table {g[1]}" in m.value for m in at.markdown)


def test_shufflenet_g2_measures_with_spread_memory_access_and_paper_columns():
    at = page("shufflenet_guidelines.py")
    at.query_params["g"] = "G2 · groups"
    at.run()
    at.selectbox(key="size").set_value(28)
    at.selectbox(key="budget").set_value(2.0)
    at.button(key="run_G2").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(t.value for t in tables(at) if "time here (IQR)" in t.value.columns)
    cols = list(table.columns)
    assert cols.index("memory access (elements)") + 1 == cols.index("time here (IQR)")
    assert {"paper GPU", "paper ARM"} <= set(cols)
    assert list(table["configuration"][:4]) == ["×1 · g = 1", "×1 · g = 2", "×1 · g = 4", "×1 · g = 8"]
    assert all("ms (" in t for t in table["time here (IQR)"])
    assert not any(v.startswith("saves -") or " -" in v for v in table["vs base, here"])
    assert any("Time: median of 5 repeats" in c.value for c in at.caption)
    result = [m.value for m in at.markdown if m.value.startswith("**Result:**")]
    assert result and "g = 8" in result[0] and "the paper:" in result[0]
    assert any("Measured at" in c.value and "1 torch thread" in c.value and "1-min load" in c.value
               for c in at.caption)
    verdicts = [e.value for e in at.warning] + [e.value for e in at.info] + [e.value for e in at.success]
    assert any("agrees with the paper" in v or "disagrees" in v or "within noise on this machine" in v
               for v in verdicts)
    # cached for the session: the same settings show the result and offer a re-run
    assert at.button(key="run_G2").label == "Measure again"
    at.button(key="run_G2").click().run()
    assert not at.exception and any("time here (IQR)" in t.value.columns for t in tables(at))


def test_residual_gradient_norms_small():
    at = page("residual.py").run()
    at.multiselect(key="pairs").set_value(["plain-34 vs ResNet-34"])
    at.selectbox(key="gres").set_value(64)
    at.button(key="run_grads").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(df.value for df in at.dataframe if "largest / smallest" in df.value.columns)
    assert list(table["network"]) == ["plain-34", "ResNet-34"]
    assert list(table["weight layers"]) == [34, 34]


def test_residual_table1():
    at = page("residual.py").run()
    df = tables(at)[0].value
    assert [float(v) for v in df["top-1 error % (seed)"]] == [27.94, 27.88, 28.54, 25.03]   # seed Table 1
    assert list(df["parameters (counted)"][[0, 2]]) == ["11,515,688", "21,623,848"]  # published.csv's plain-18/34


def test_inception_branch_table_and_table2():
    at = page("inception.py").run()
    branches = tables(at)[0].value
    assert list(branches["branch"]) == ["branch1", "branch2", "branch3", "branch4"]
    t2 = tables(at)[-1].value
    assert [float(v) for v in t2["top-5 error % (seed)"]] == [5.6, 5.5, 5.0, 4.9]      # seed Table 2
    assert "UNVERIFIED" not in t2.to_string() and "published.csv" not in t2.to_string()


def test_resnet_rs_waterfall_from_the_seed_and_counts_macs():
    at = page("resnet_rs.py").run()
    wf = tables(at)[0].value
    assert len(wf) == 11 and list(wf["top-1 %"])[2] == "78.8 †"           # seed Figure 6, as printed
    models = next(df.value for df in tables(at) if "GMACs (counted)" in df.value.columns)
    rs420 = models[models["model"] == "ResNet-RS-420"].iloc[0]
    assert float(rs420["GMACs (counted)"]) == 63.94   # published.csv: 63.942 GMACs at 320
    assert float(rs420["GFLOPs = 2 × GMACs"]) == pytest.approx(2 * 63.94, abs=0.011)
    assert any("equal the reference" in s.value for s in at.success)


@pytest.mark.parametrize("name, qp", [
    ("conv_cost.py", {"k": "abc", "groups": "999999"}),
    ("conv_cost.py", {"h": "2", "k": "5"}),
    ("shufflenet_guidelines.py", {"size": "99", "threads": "x", "budget": "-3", "g": "G9"}),
    ("inception.py", {"module": "nope", "n": "4", "irblock": "zzz"}),
])
def test_bad_url_values_do_not_crash(name, qp):
    at = page(name)
    at.query_params.update(qp)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if qp.get("k") == "5":
        assert any("does not fit" in e.value for e in at.error)
    if qp.get("k") == "abc":
        assert any("k=abc" in w.value for w in at.warning)


def test_the_server_warm_up_builds_the_filters_spec_a_session_then_shares():
    """ui.state's warm-up job for the convolution lab's filters builds the styled Vega-Lite spec that
    the page's ``page.shared_chart`` then finds in the cache (the same object, not rebuilt)."""
    from ui import lessons, page as ui_page, state

    jobs = [(fn, args) for fn, args in state.warm_up_jobs() if fn is ui_page.warm_chart]
    assert [args[0] for _, args in jobs] == [lessons.filters_figure]
    fn, args = jobs[0]
    fn(*args)
    key = ui_page._builder_key(lessons.filters_figure)
    spec = ui_page._shared_figure(key, tuple(args[1:]), False, lessons.filters_figure)
    assert spec is ui_page._shared_figure(key, tuple(args[1:]), False, lessons.filters_figure)
    assert isinstance(spec, dict) and len(spec["hconcat"]) == 3 and spec["config"]["axis"]["labelFontSize"] >= 14
    assert args[1:] == (3, 128, 3, 1)                                  # the seed's Table 3: 3 → 128 channels, 3×3
