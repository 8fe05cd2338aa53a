"""The Explore pages in AppTest: pick models, move sliders, and check the numbers on screen.

Every count shown must equal what ``zoo.analyze`` computes for the same view (the metrics carry
the exact integer in their help text); every accuracy must equal the published figure in
assets/published.csv, read here directly.
"""
import csv
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import zoo
from conftest import exact, metric, tables

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "pages"


def run(page: str, **query) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=180)
    for k, v in query.items():
        at.query_params[k] = str(v)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(m) -> float:
    from zoo.fmt import parse_si
    return parse_si(m.value)


def assert_totals(at: AppTest, a, unit: str = "MACs"):
    """Parameters and MACs/FLOPs on screen equal the analysis (exactly, and to 3 digits as shown)."""
    factor = 2 if unit == "FLOPs" else 1
    p, c = metric(at, "Parameters"), metric(at, unit)
    assert exact(p) == a.total_params
    assert exact(c) == factor * a.total_macs
    assert shown(p) == pytest.approx(a.total_params, rel=5e-3)
    assert shown(c) == pytest.approx(factor * a.total_macs, rel=5e-3)
    assert c.value.endswith(unit)


def published(model: str, variant: str) -> dict:
    with open(ROOT / "assets" / "published.csv", newline="") as f:
        return next(r for r in csv.DictReader(f) if (r["model"], r["variant"]) == (model, variant))


def frame(at: AppTest, *columns: str):
    """The first dataframe or table on the page having all ``columns`` (tables hold the
    formatted text a reader sees: parse counts with ``number``)."""
    for d in list(at.dataframe) + tables(at):
        if all(c in d.value.columns for c in columns):
            return d.value
    raise AssertionError(f"no dataframe or table with columns {columns}")


def number(text) -> float:
    """A count as a table shows it ("924,844,032", "4.09 GMACs") read back; "—" is None."""
    from zoo.fmt import parse_si
    return None if text == "—" else parse_si(str(text))


def static_table(at: AppTest, *columns: str):
    """The first st.table on the page having all ``columns``."""
    for t in tables(at):
        if all(c in t.value.columns for c in columns):
            return t.value
    raise AssertionError(f"no table with columns {columns}")


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def vega_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def vega_layer(spec: dict, name: str) -> list[dict]:
    """The values of the layer called ``name`` (``ui.explore.pareto_figure`` names its layers)."""
    return next(part["data"]["values"] for part in spec["layer"] if part.get("name") == name)


# --- explorer ---------------------------------------------------------------------------------

def test_explorer_from_url_shows_zoo_analyze_totals_and_the_convention():
    at = run("explorer.py", model="resnet50")
    assert at.selectbox(key="family").value == "ResNet"          # family derived from the model
    assert at.slider(key="res").value == 224
    assert_totals(at, zoo.analyze("resnet50"))
    paper = zoo.analyze("resnet50_paper").total_macs
    captions = " ".join(c.value for c in at.caption)
    assert f"{paper / 1e9:.2f} GMACs" in captions and "4.09 GMACs" in captions and "2 FLOPs" in captions


def test_explorer_select_b7_and_move_the_resolution_slider():
    at = run("explorer.py")
    at.selectbox(key="family").set_value("EfficientNet").run()
    at.selectbox(key="model").set_value("efficientnet_b7").run()
    assert not at.exception and at.slider(key="res").value == 600
    assert_totals(at, zoo.analyze("efficientnet_b7"))
    at.slider(key="res").set_value(300).run()
    assert not at.exception
    assert_totals(at, zoo.analyze("efficientnet_b7", 300))


def test_explorer_resnet_rs_420_and_flops_toggle():
    at = run("explorer.py", model="resnetrs420", unit="FLOPs")
    assert at.selectbox(key="family").value == "ResNet-RS" and at.slider(key="res").value == 320
    assert_totals(at, zoo.analyze("resnetrs420"), unit="FLOPs")


def test_explorer_width_multiplier_knob():
    at = run("explorer.py", model="mobilenet_v2")
    at.slider(key="width").set_value(0.5).run()
    assert not at.exception
    assert_totals(at, zoo.analyze("mobilenet_v2", 224, width_mult=0.5))


def test_explorer_phi_knob_sets_the_compound_resolution():
    at = run("explorer.py", model="efficientnet", phi=2.0)
    assert at.slider(key="res").value == 296                  # round(224 · 1.15²) = round(296.24)
    assert_totals(at, zoo.analyze("efficientnet", 296, phi=2.0))


def test_explorer_bad_resolution_is_a_message_not_a_crash():
    at = run("explorer.py", model="inception_v3", res=32)
    assert any("Cannot analyse" in e.value for e in at.error)


def test_explorer_bad_url_value_is_reported():
    at = run("explorer.py", model="resnet18", res=5000)
    assert any("res=5000" in w.value for w in at.warning)
    assert at.slider(key="res").value == 224


def test_explorer_layer_table_filters_and_downloads():
    a = zoo.analyze("resnet50")
    at = run("explorer.py", model="resnet50", view="Layers")
    df = frame(at, "name", "params")
    assert len(df) == len(a.layers) and int(df["params"].sum()) == sum(layer.params for layer in a.layers)
    at.multiselect(key="kinds").set_value(["pointwise"]).run()
    df = frame(at, "name", "params")
    assert len(df) == sum(layer.kind == "pointwise" for layer in a.layers)
    assert int(df["macs"].sum()) == sum(layer.macs for layer in a.layers if layer.kind == "pointwise")
    at.text_input(key="q").set_value("layer3.").run()
    df = frame(at, "name", "params")
    assert len(df) == sum(layer.kind == "pointwise" and "layer3." in layer.name for layer in a.layers)
    assert at.get("download_button"), "no CSV download"


def test_explorer_macro_diagram_shows_the_stages_and_their_shares():
    a = zoo.analyze("resnet50")
    at = run("explorer.py", model="resnet50")
    body = at.get("html")[0].proto.body
    for stage in ("stem", "layer1", "layer2", "layer3", "layer4", "head"):
        assert f"<b>{stage}</b>" in body
    layer3 = next(r for r in a.by_stage() if r["group"] == "layer3")
    assert f"({100 * layer3['macs'] / a.total_macs:.1f} % of MACs)" in body       # 35.8 % of the MACs
    assert "input 3×224×224" in body and "output 1000" in body
    at.toggle(key="dot").set_value(True).run()                                    # the DOT drawing
    dot = at.get("graphviz_chart")[0].proto.spec
    assert dot.startswith("digraph") and "layer4" in dot


def test_explorer_block_diagram_tab():
    at = run("explorer.py", model="mobilenet_v2", view="Block diagram", block="features.2")
    assert at.selectbox(key="block").value == "features.2"                     # from the URL
    assert "features.2 (InvertedResidual)" in at.get("graphviz_chart")[0].proto.spec
    at = run("explorer.py", model="resnet50", view="Block diagram")
    assert at.selectbox(key="block").value == "layer1.0"
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "layer1.0" in dot and "Bottleneck" in dot
    at.selectbox(key="block").set_value("layer3.0").run()
    assert "layer3.0" in at.get("graphviz_chart")[0].proto.spec


def test_explorer_compare_two_models():
    at = run("explorer.py", model="resnet50", view="Compare", vs="resnet18")
    a, b = zoo.analyze("resnet50"), zoo.analyze("resnet18")
    totals = frame(at, "quantity").set_index("quantity")
    from zoo.fmt import parse_si
    assert parse_si(totals.loc["parameters", "A"]) == pytest.approx(a.total_params, rel=5e-3)
    assert parse_si(totals.loc["parameters", "B"]) == pytest.approx(b.total_params, rel=5e-3)
    assert totals.loc["parameters", "B − A"].startswith("−")
    levels = frame(at, "feature map", "MACs A").set_index("feature map")
    at14 = lambda an: sum(l.macs for l in an.layers if len(l.out_shape) == 4 and l.out_shape[2] == 14)  # noqa: E731
    assert number(levels.loc["1/16", "MACs A"]) == at14(a) and number(levels.loc["1/16", "MACs B"]) == at14(b)
    assert number(levels.loc["total", "MACs A"]) == a.total_macs and number(levels.loc["total", "params B"]) == b.total_params
    assert "None" not in levels.to_string()
    kinds = frame(at, "layer kind", "MACs A").set_index("layer kind")
    assert number(kinds.loc["1×1 (pointwise) convolution", "MACs A"]) == sum(l.macs for l in a.layers if l.kind == "pointwise")
    assert number(kinds.loc["total", "MACs B"]) == b.total_macs
    at.selectbox(key="vs").set_value("resnetrs50").run()                # B's resolution follows B
    assert not at.exception and at.number_input(key="vsres").value == 160
    totals = frame(at, "quantity").set_index("quantity")
    assert parse_si(totals.loc["MACs", "B"]) == pytest.approx(zoo.analyze("resnetrs50", 160).total_macs, rel=5e-3)


def test_explorer_model_change_resets_resolution_and_knobs():
    at = run("explorer.py", model="efficientnet", phi=2.0)
    at.selectbox(key="model").set_value("efficientnet_b3").run()
    assert not at.exception and at.slider(key="res").value == 300
    assert_totals(at, zoo.analyze("efficientnet_b3"))
    at.selectbox(key="family").set_value("MobileNet").run()
    assert at.selectbox(key="model").value == "mobilenet_v1" and at.slider(key="res").value == 224
    assert at.slider(key="width").value == 1.0


# --- compound-scaling lab ---------------------------------------------------------------------

def test_scaling_preset_b3_against_the_built_network():
    at = run("scaling.py", preset="B3")
    # the paper's formula at φ = 3 with α = 1.2, β = 1.1, γ = 1.15
    assert metric(at, "depth d = α^φ").value == "1.728×"
    assert metric(at, "width w = β^φ").value == "1.331×"
    assert metric(at, "resolution r = 224·γ^φ").value == "341 px"       # 224 · 1.520875 = 340.7
    assert metric(at, "α·β²·γ²").value == "1.920"
    assert metric(at, "Predicted cost factor (α·β²·γ²)^φ").value == f"{1.92 ** 3:.3g}×"
    a = zoo.analyze("efficientnet", 341, phi=3.0, alpha=1.2, beta=1.1, gamma=1.15)
    assert_totals(at, a)
    b0 = zoo.analyze("efficientnet_b0").total_macs
    assert metric(at, "Actual factor (exact MACs / B0's)").value == f"{a.total_macs / b0:.3g}×"
    official = zoo.analyze("efficientnet_b3")
    text = " ".join(m.value for m in at.markdown)
    assert "**Official B3**" in text and "**Formula at φ = 3**" in text
    params = [m for m in at.metric if m.label == "Parameters"]
    assert [exact(m) for m in params] == [a.total_params, official.total_params, a.total_params]
    assert f"{a.total_macs / official.total_macs:.2f}×" in text          # the one-sentence difference
    captions = " ".join(c.value for c in at.caption)
    assert "81.1 % top-1" in captions and published("EfficientNet", "B3")["top1_paper"] == "81.1"
    rows = frame(at, "layers (B0)")
    assert [int(v) for v in rows["layers (B0)"]] == [1, 2, 2, 3, 3, 4, 1]   # Table 1 of the paper
    assert [int(v) for v in rows["layers"]] == [2, 4, 4, 6, 6, 7, 2]        # ceil(n · 1.728)


def test_scaling_preset_follows_the_sliders():
    at = run("scaling.py", preset="B1")
    assert at.get("button_group")[0].value == "B1" and at.slider(key="phi").value == 1.0
    at.slider(key="phi").set_value(2.0).run()                  # φ = 2 with the paper's α, β, γ is B2
    assert not at.exception and at.get("button_group")[0].value == "B2"
    assert_totals(at, zoo.analyze("efficientnet", 296, phi=2.0, alpha=1.2, beta=1.1, gamma=1.15))
    at.slider(key="phi").set_value(2.3).run()                  # off the presets: none is lit
    assert not at.exception and at.get("button_group")[0].value is None
    at.slider(key="phi").set_value(3.0).run()
    at.slider(key="beta").set_value(1.12).run()                # other coefficients: not a preset either
    assert at.get("button_group")[0].value is None
    at.get("button_group")[0].set_value("B5").run()            # a preset sets all four sliders
    assert at.slider(key="phi").value == 5.0 and at.slider(key="beta").value == pytest.approx(1.1)


def test_scaling_bad_preset_in_url_is_reported():
    at = run("scaling.py", preset="B9")
    assert any("preset=B9" in w.value for w in at.warning)


@pytest.mark.parametrize("key, value, needle", [
    ("alpha", 0.0, "α = 0"),
    ("phi", 16.0, "px input, above"),
])
def test_scaling_absurd_inputs_get_a_message(key, value, needle):
    at = run("scaling.py")
    at.slider(key=key).set_value(value).run()
    assert not at.exception
    assert any(needle in e.value for e in at.error), [e.value for e in at.error]


def test_scaling_negative_coefficient_in_url_is_refused():
    at = run("scaling.py", alpha=-1)
    assert any("alpha=-1" in w.value for w in at.warning)
    assert at.slider(key="alpha").value == pytest.approx(1.2)


def test_scaling_large_phi_warns_about_memory():
    at = run("scaling.py", phi=11.0)
    texts = [w.value for w in at.warning] + [c.value for c in at.caption]
    assert any("meta device" in t for t in texts)
    a = zoo.analyze("efficientnet", int(224 * 1.15 ** 11 + 0.5), phi=11.0, alpha=1.2, beta=1.1, gamma=1.15)
    assert_totals(at, a)


def test_scaling_official_vs_formula_tab():
    at = run("scaling.py", view="Official B0–B7 vs formula")
    table = frame(at, "depth (official)").set_index("model")
    assert table.loc["B7", "depth (official)"] == 3.1
    assert table.loc["B7", "depth α^φ"] == pytest.approx(1.2 ** 7, abs=1e-3)
    costs = frame(at, "official MACs").set_index("model")
    from zoo.fmt import parse_si
    assert parse_si(costs.loc["B7", "official MACs"]) == pytest.approx(
        zoo.analyze("efficientnet_b7").total_macs, rel=5e-3)
    assert float(costs.loc["B4", "top-1 % (paper)"]) == float(published("EfficientNet", "B4")["top1_paper"])


def test_scaling_one_dimension_curves_are_computed():
    at = run("scaling.py", view="One dimension at a time")
    curves = {d["name"]: d for d in plotly_specs(at)[0]["data"]}
    assert set(curves) == {"width only", "depth only", "resolution only"}
    w = curves["width only"]
    i = w["x"].index(1.8)
    assert w["y"][i] == zoo.analyze("efficientnet", 224, width_mult=1.8, depth_mult=1.0).total_macs
    r = curves["resolution only"]
    assert r["y"][-1] == zoo.analyze("efficientnet", 600, width_mult=1.0, depth_mult=1.0).total_macs


def test_scaling_compound_points_are_b0_to_b7_at_their_computed_cost():
    at = run("scaling.py", view="One dimension at a time")
    spec = vega_specs(at)[0]
    points = {r["name"]: r for r in vega_layer(spec, "points")}
    assert set(points) == {f"efficientnet_b{k}" for k in range(8)}
    b3 = points["efficientnet_b3"]
    assert b3["x"] == zoo.analyze("efficientnet_b3").total_macs and b3["label"] == "B3"
    assert b3["y"] == zoo.info("efficientnet_b3").figures["top1_paper"].value
    assert [r["label"] for r in vega_layer(spec, "labels")] == [f"B{k}" for k in range(8)]   # all named
    assert "frontier" not in [part.get("name") for part in spec["layer"]]


# --- Pareto -----------------------------------------------------------------------------------

def test_pareto_points_are_zoo_costs_and_published_accuracies():
    at = run("pareto.py")
    assert not at.get("plotly_chart")                   # the page a hall opens first loads no plotly.js
    spec = vega_specs(at)[0]
    points = {r["name"]: r for r in vega_layer(spec, "points")}
    assert next(p for p in spec["layer"] if p.get("name") == "points")["encoding"]["x"]["scale"]["type"] == "log"
    front = vega_layer(spec, "frontier")
    assert front and all(b["x"] > a["x"] and b["y"] > a["y"] for a, b in zip(front, front[1:]))
    resnet = points["resnet50"]
    assert resnet["family"] == "ResNet" and resnet["x"] == zoo.analyze("resnet50").total_macs
    top1 = float(published("ResNet-50", "torchvision (v1.5: stride on 3x3)")["top1_paper"])
    assert resnet["y"] == top1 and resnet["top1"] == f"{top1:.1f} %"
    assert "4.09 GMACs" in resnet["cost"] and resnet["source"]
    # the cheapest point is on the frontier and named on the chart
    cheapest = min(points.values(), key=lambda r: r["x"])
    assert cheapest["name"] in {r["name"] for r in vega_layer(spec, "labels")}
    assert (front[0]["x"], front[0]["y"]) == (cheapest["x"], cheapest["y"])


def test_pareto_parameters_axis_with_seed_table_6():
    at = run("pareto.py", x="parameters", seed6="true")
    spec = vega_specs(at)[0]
    seed = {r["row"]: r for r in vega_layer(spec, "seed")}
    assert (seed["ShuffleNet v2"]["x"], seed["ShuffleNet v2"]["y"]) == (2e6, 75.4)     # as the seed prints it
    assert "ShuffleNet v2" in {r["row"] for r in vega_layer(spec, "seed labels")}
    goo = next(r for r in vega_layer(spec, "points") if r["name"] == "googlenet")
    a = zoo.analyze("googlenet")
    assert goo["x"] == a.total_params - a.unused_params              # aux heads excluded
    warning = " ".join(w.value for w in at.warning)
    assert "75.4 %" in warning and "7.39 M" in warning


def test_pareto_latency_measures_with_spread_plots_and_ranks():
    at = run("pareto.py")
    at.multiselect(key="lat_models").set_value(["squeezenet1_1", "mobilenet_v2"])
    at.selectbox(key="lat_threads").set_value(1)
    at.selectbox(key="lat_budget").set_value(5.0)
    at.button(key="lat_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    df = static_table(at, "latency (median)", "IQR")
    assert sorted(df["model"]) == ["mobilenet_v2", "squeezenet1_1"] and all(df["repeats"] >= 5)
    assert any("1 torch thread" in c.value and "1-min load" in c.value for c in at.caption)
    # the ranking view: a slope chart and the sentence for the pair it knows
    ranking = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")
               if "by latency here (1 = fastest)" in json.loads(c.proto.spec).get("title", "")]
    assert ranking and {v["name"] for v in ranking[0]["layer"][0]["data"]["values"]} == {"mobilenet_v2", "squeezenet1_1"}
    pair = [m.value for m in at.markdown if "fewer MACs" in m.value]
    assert pair and ("faster" in pair[0] or "slower" in pair[0] or "within noise on this machine" in pair[0])
    # the latency axis: points at the medians, with IQR bars
    at.get("button_group")[1].set_value("latency (this CPU)").run()
    spec = vega_specs(at)[0]
    sq = next(r for r in vega_layer(spec, "points") if r["name"] == "squeezenet1_1")
    row = df[df["model"] == "squeezenet1_1"].iloc[0]
    median = float(row["latency (median)"].split()[0])
    q1, q3 = (float(v.split()[0]) for v in row["IQR"].split("–"))
    assert sq["x"] == pytest.approx(median, rel=0.01)
    bar, = [b for b in vega_layer(spec, "latency IQR") if b["y"] == sq["y"]]
    assert (bar["x"], bar["x2"]) == (pytest.approx(q1, rel=0.01), pytest.approx(q3, rel=0.01))
    assert len(vega_layer(spec, "latency IQR")) == 2                 # the two timed models, no others
    # cached for the session: the button now offers a re-run and the result stays
    assert at.button(key="lat_run").label == "Measure again"


def test_pareto_ranking_needs_two_measured_models():
    at = run("pareto.py")
    assert any("Measure at least two models" in i.value for i in at.info)


def test_explorer_measured_here_tab_times_every_analysed_layer():
    at = run("explorer.py", model="mobilenet_v2", res="96", view="Measured here")
    at.selectbox(key="mthreads").set_value(1)
    at.button(key="profile_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    kinds = static_table(at, "layer kind", "MACs", "memory access (elements)", "time")
    assert "depthwise" in list(kinds["layer kind"]) and "pointwise 1×1" in list(kinds["layer kind"])
    top = static_table(at, "layer", "share of time")
    names = {layer.name for layer in zoo.analyze("mobilenet_v2", 96).layers}
    assert len(top) == 10 and set(top["layer"]) <= names
    assert any("add up to" in c.value and "% of the whole forward pass" in c.value for c in at.caption)
    assert any("of the MACs and take" in m.value for m in at.markdown)
    shares = [s for s in plotly_specs(at) if "counted against measured" in json.dumps(s["layout"].get("title", ""))]
    assert shares and [d["name"] for d in shares[0]["data"]] == ["MACs", "memory access", "measured time"]


def test_explorer_measured_here_refuses_heavy_models():
    at = run("explorer.py", model="vgg16", view="Measured here")
    assert any("only analysed on the meta device" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "profile_run"]


# --- home -------------------------------------------------------------------------------------

def test_home_timeline_entries_and_links():
    at = run("home.py")
    with open(ROOT / "assets" / "timeline.csv", newline="", encoding="utf-8") as f:
        entries = list(csv.DictReader(f))
    assert not at.get("plotly_chart")                       # the page a hall opens first loads no plotly.js
    chart = at.get("vega_lite_chart")[0]
    spec = json.loads(chart.proto.spec)
    assert "datasets" not in spec and not chart.proto.data.data    # no Arrow data: the values sit in the layers
    markers = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "point")
    models = [v["model"] for v in markers["data"]["values"]]
    assert sorted(models) == sorted(e["model"] for e in entries)
    assert list(chart.proto.selection_mode) == ["pick"]       # a click on a marker reruns with its model
    r50_point = next(v for v in markers["data"]["values"] if v["model"] == "resnet50")
    assert r50_point["label"] == "ResNet-50" and r50_point["params"] == "25.6 M"   # He et al. 2016, Table 1
    text = " ".join(m.value for m in at.markdown)
    r50 = published("ResNet-50", "torchvision (v1.5: stride on 3x3)")
    a = zoo.analyze("resnet50")
    assert f"**2015 · ResNet-50**" in text and f"{float(r50['top1_paper']):.1f} % top-1" in text
    assert f"{a.total_params / 1e6:.1f} M parameters" in text
    goo = zoo.analyze("googlenet")
    assert f"{(goo.total_params - goo.unused_params) / 1e6:.2f} M parameters" in text   # 6.62 M
    assert "/explorer?model=resnet50" in text
