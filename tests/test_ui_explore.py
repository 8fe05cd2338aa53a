"""The Explore pages' Streamlit-free helpers: formatting, tables, plotly figures.

Expected values are written out by hand (or taken from the paper's formula), never recomputed
with the function under test.
"""
import csv
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import zoo
from ui import explore as ux
from zoo import efficientnet as eff

ROOT = Path(__file__).resolve().parent.parent


def test_ops_convention_cites_both_resnet50_layouts():
    line = ux.ops_convention(4_089_184_256, 3_858_000_000)
    assert "1 MAC (multiply-accumulate) = 2 FLOPs" in line
    assert "3.86 GMACs" in line and "4.09 GMACs" in line and "ResNet-RS" in line


# --- tables -----------------------------------------------------------------------------------

RECORDS = [
    {"name": "conv1", "stage": "stem", "block": "stem", "block_type": "stem", "op": "Conv2d", "kind": "conv",
     "kernel": (7, 7), "stride": (2, 2), "groups": 1, "in_shape": (1, 3, 224, 224), "out_shape": (1, 64, 112, 112),
     "params": 9408, "macs": 118_013_952, "flops": 236_027_904, "act_bytes": 3_211_264, "mem_access": 1_465_216},
    {"name": "layer1.0.conv2", "stage": "layer1", "block": "layer1.0", "block_type": "Bottleneck", "op": "Conv2d",
     "kind": "conv", "kernel": (3, 3), "stride": (1, 1), "groups": 1, "in_shape": (1, 64, 56, 56),
     "out_shape": (1, 64, 56, 56), "params": 36864, "macs": 115_605_504, "flops": 231_211_008,
     "act_bytes": 802_816, "mem_access": 438_272},
    {"name": "layer1.0.relu", "stage": "layer1", "block": "layer1.0", "block_type": "Bottleneck", "op": "ReLU",
     "kind": "act", "kernel": None, "stride": None, "groups": None, "in_shape": (1, 64, 56, 56),
     "out_shape": (1, 64, 56, 56), "params": 0, "macs": 0, "flops": 0, "act_bytes": 802_816, "mem_access": 401_408},
]


def test_layers_frame_and_filters():
    df = ux.layers_frame(RECORDS)
    assert list(df["in_shape"]) == ["1×3×224×224", "1×64×56×56", "1×64×56×56"]
    assert list(df["kernel"]) == ["7×7", "3×3", "—"]
    assert list(df["groups"]) == ["1", "1", "—"]
    assert list(df["share"]) == [50.52, 49.48, 0.0]
    assert int(df["params"].sum()) == 9408 + 36864
    assert list(ux.filter_layers(df, ["conv"])["name"]) == ["conv1", "layer1.0.conv2"]
    assert list(ux.filter_layers(df, [], "bottleneck")["name"]) == ["layer1.0.conv2", "layer1.0.relu"]
    assert list(ux.filter_layers(df, ["act"], "layer1")["name"]) == ["layer1.0.relu"]
    assert ux.filter_layers(df, [], "nothing like this").empty


def test_summary_carries_what_the_engine_did_not_count():
    from test_analysis_attention import Unknown
    s = ux.summarize(zoo.analyze(Unknown(), 16))
    assert s["uncounted"] == {"linalg_multi_dot": 1} and s["uncounted_macs"] == 8 * 8 + 8 * 4
    assert ux.summarize(zoo.analyze("resnet18"))["uncounted"] == {}


GROUPS_A = [{"group": "stem", "params": 100, "macs": 300, "layers": 2},
            {"group": "layer1", "params": 300, "macs": 100, "layers": 5}]
GROUPS_B = [{"group": "stem", "params": 100, "macs": 500, "layers": 2},
            {"group": "features.1", "params": 50, "macs": 50, "layers": 3}]


def test_groups_frame_shares():
    df = ux.groups_frame(GROUPS_A, "FLOPs")
    assert list(df["params %"]) == [25.0, 75.0]
    assert list(df["FLOPs"]) == [600, 200]          # FLOPs = 2 × MACs
    assert list(df["FLOPs %"]) == [75.0, 25.0]


def test_compare_totals_and_stages():
    a = {"total_params": 1_000_000, "total_macs": 2_000_000_000, "total_act_bytes": 10, "total_mem_access": 10}
    b = {"total_params": 3_000_000, "total_macs": 1_000_000_000, "total_act_bytes": 10, "total_mem_access": 20}
    t = ux.compare_totals(a, b, "MACs").set_index("quantity")
    assert t.loc["parameters", "B − A"] == "+2.00 M" and t.loc["parameters", "B / A"] == "3.00×"
    assert t.loc["MACs", "B − A"] == "−1.00 GMACs" and t.loc["MACs", "B / A"] == "0.50×"
    assert t.loc["activation memory", "A"] == "10.0 B"


def test_compare_groups_aligns_rows_marks_absent_ones_and_totals():
    df = ux.compare_groups(GROUPS_A, GROUPS_B, "MACs", "stage").set_index("stage")
    assert list(df.index) == ["stem", "layer1", "features.1", "total"]
    assert df.loc["stem", "Δ MACs (B − A)"] == 200
    assert pd.isna(df.loc["layer1", "params B"]) and pd.isna(df.loc["features.1", "params A"])
    assert df.loc["total", "params A"] == 400 and df.loc["total", "MACs B"] == 550
    assert df.loc["total", "Δ MACs (B − A)"] == 150
    flops = ux.compare_groups(GROUPS_A, GROUPS_B, "FLOPs", "stage").set_index("stage")
    assert flops.loc["stem", "FLOPs B"] == 1000                    # FLOPs = 2 × MACs


def test_feature_levels_align_models_of_different_input_sizes():
    assert ux.feature_level(224, 56) == 4 and ux.feature_level(299, 73) == 4 and ux.feature_level(299, 147) == 2
    assert ux.feature_level(224, 7) == 32 and ux.feature_level(299, 8) == 32
    rows = ux.by_feature_map(RECORDS + [{"name": "fc", "out_shape": (1, 1000), "params": 2049000, "macs": 2048000}], 224)
    assert [r["group"] for r in rows] == ["1/2", "1/4", "pooled and head"]
    assert rows[0]["macs"] == 118_013_952 and rows[0]["side"] == "112 px"
    assert rows[1]["macs"] == 115_605_504 and rows[1]["layers"] == 2 and rows[1]["side"] == "56 px"
    assert rows[2]["params"] == 2049000 and rows[2]["side"] == "—"


# --- figures ----------------------------------------------------------------------------------

def test_pareto_front_by_hand():
    #        cost: 1   2   3   3   4   5
    xs = [1, 2, 3, 3, 4, 5]
    ys = [70, 69, 75, 74, 75, 80]
    # 69 is beaten by (1, 70); (3, 74) by (3, 75); (4, 75) is no better than (3, 75)
    assert ux.pareto_front(xs, ys) == [0, 2, 5]
    assert ux.pareto_front([], []) == []


POINTS = [
    {"name": "a", "family": "F1", "params": 1e6, "top1": 70.0, "source": "s"},
    {"name": "b", "family": "F1", "params": 4e6, "top1": 69.0, "source": "s"},
    {"name": "c", "family": "F2", "params": 2e6, "top1": 75.0, "source": "s"},
    {"name": "d", "family": "F2", "params": None, "top1": 90.0, "source": "s"},
]


def layer(spec: dict, name: str) -> dict:
    return next(part for part in spec["layer"] if part.get("name") == name)


def test_pareto_figure_is_a_vega_lite_spec_with_the_frontier_and_a_log_axis():
    spec = ux.pareto_figure(POINTS, "params", "parameters")
    assert "data" not in spec and "datasets" not in spec          # values inside the layers: no Arrow
    assert json.loads(json.dumps(spec, allow_nan=False)) == spec    # plain JSON
    assert spec["$schema"].endswith("/v6.json") and spec["height"] == 600
    # the frontier under the points (the top mark gets the pointer: the points' tooltips must win)
    assert [part["name"] for part in spec["layer"]] == ["frontier", "points", "labels"]
    # only the points have a tooltip (Streamlit gives every other mark one of raw fields otherwise)
    assert [part["name"] for part in spec["layer"] if part["encoding"].get("tooltip") is not None] == ["points"]
    assert all("tooltip" in part["encoding"] for part in spec["layer"])
    points = layer(spec, "points")
    assert [(r["name"], r["x"], r["y"]) for r in points["data"]["values"]] == [
        ("a", 1e6, 70.0), ("b", 4e6, 69.0), ("c", 2e6, 75.0)]      # d has no x
    front = layer(spec, "frontier")
    # b is dominated by a (cheaper and more accurate); the frontier steps up from a to c
    assert [(r["x"], r["y"]) for r in front["data"]["values"]] == [(1e6, 70.0), (2e6, 75.0)]
    assert front["mark"]["interpolate"] == "step-after" and front["mark"]["strokeDash"]
    x = points["encoding"]["x"]
    assert x["scale"]["type"] == "log"
    lo, hi = x["scale"]["domain"]
    assert lo == pytest.approx(1e6 / 10 ** 0.65) and hi == pytest.approx(4e6 * 10 ** 0.15)   # room for a's name
    assert x["axis"]["values"] == [1e6, 2e6, 5e6] and x["axis"]["title"] == "parameters (log scale)"
    for value, text in ((1000000, "1 M"), (2000000, "2 M"), (5000000, "5 M")):
        assert f"datum.value == {value} ? '{text}'" in x["axis"]["labelExpr"]
    # the colour-blind-safe palette's first two colours, circle then square, by sorted family; the
    # frontier joins the one legend in black
    assert points["encoding"]["color"]["scale"] == {"domain": ["F1", "F2", "Pareto frontier"],
                                                    "range": ["#0072B2", "#E69F00", "#000000"]}
    shapes = points["encoding"]["shape"]["scale"]
    assert shapes["domain"] == ["F1", "F2", "Pareto frontier"] and shapes["range"][:2] == ["circle", "square"]
    assert {r["family"] for r in front["data"]["values"]} == {"Pareto frontier"}
    lin = ux.pareto_figure(POINTS, "params", "parameters", log_x=False, frontier=False)
    assert [part["name"] for part in lin["layer"]] == ["points", "labels"]
    scale = layer(lin, "points")["encoding"]["x"]["scale"]
    assert scale["type"] == "linear" and scale["domain"] == pytest.approx([1e6 - 0.18 * 3e6, 4e6 + 0.05 * 3e6])
    # the room left of zero has no tick labels: no model has a negative cost
    assert layer(lin, "points")["encoding"]["x"]["axis"]["labelExpr"].startswith("datum.value < 0 ? '' :")


def test_pareto_figure_tooltips_say_what_the_hover_said():
    pts = [dict(POINTS[0], x_label="1.00 M parameters", top1=70.04)]
    spec = ux.pareto_figure(pts, "params", "parameters")
    row, = layer(spec, "points")["data"]["values"]
    tips = {t["title"]: row[t["field"]] for t in layer(spec, "points")["encoding"]["tooltip"]}
    assert tips == {"model": "a", "top-1": "70.0 %", "parameters": "1.00 M parameters", "source": "s"}


def test_tick_labels():
    assert [ux.tick_label(v) for v in (1e6, 5e7, 2e9, 0.5, 20, 1000)] == ["1 M", "50 M", "2 G", "0.5", "20", "1 k"]


def test_overlays_leave_the_cached_spec_as_it_was():
    spec = ux.pareto_figure(POINTS, "params", "parameters")
    before = json.dumps(spec, sort_keys=True)
    seed = ux.add_seed_table6(spec, [{"params_m": "2", "top1": "75.4", "row": "ShuffleNet v2"}])
    assert json.dumps(spec, sort_keys=True) == before
    cross = layer(seed, "seed")
    assert cross["data"]["values"][0]["x"] == 2e6 and cross["data"]["values"][0]["y"] == 75.4
    assert layer(seed, "seed labels")["data"]["values"][0]["row"] == "ShuffleNet v2"
    # one legend: the seed's crosses join the families, in black
    color = layer(seed, "points")["encoding"]["color"]["scale"]
    shape = layer(seed, "points")["encoding"]["shape"]["scale"]
    assert color["domain"] == ["F1", "F2", "Pareto frontier", "seed Table 6 (as printed)"]
    assert color["range"][-1] == "#000000"
    assert len(shape["range"]) == 4 and shape["range"][-1].startswith("M-1,-0.6")    # the x, drawn as a path


def test_spaced_labels_keep_the_ends_and_skip_crowded_points():
    pts = [(1e8, 60, "a"), (1.1e8, 60.5, "b"), (1e9, 70, "c"), (1.2e9, 70.4, "d"), (1e10, 80, "e")]
    assert ux.spaced_labels(pts) == ["a", "c", "e"]
    assert ux.spaced_labels(pts, dx=0.01) == ["a", "b", "c", "d", "e"]
    assert ux.spaced_labels([(1e9, 70, "only")]) == ["only"]


def test_pareto_figure_names_the_frontier_points():
    spec = ux.pareto_figure(POINTS, "params", "parameters")
    labels = layer(spec, "labels")
    assert [r["label"] for r in labels["data"]["values"]] == ["a", "c"]      # b is dominated
    assert labels["mark"]["align"] == "right" and labels["mark"]["baseline"] == "bottom"   # to the upper left
    named = ux.pareto_figure([dict(p, label=p["name"].upper()) for p in POINTS], "params", "parameters",
                             labels=["b"])
    assert [r["label"] for r in layer(named, "labels")["data"]["values"]] == ["B"]
    assert layer(ux.pareto_figure(POINTS, "params", "parameters", labels=[]), "labels")["data"]["values"] == []


def test_family_colours_are_stable_across_charts():
    assert ux.family_colors(["B", "A"]) == ux.family_colors(["A", "B", "A"])


def test_cost_share_figure_percentages():
    fig = ux.cost_share_figure(GROUPS_A, "MACs")
    assert [t.name for t in fig.data] == ["parameters", "MACs"]
    assert list(fig.data[0].x) == [25.0, 75.0] and list(fig.data[1].x) == [75.0, 25.0]
    assert list(fig.data[0].y) == ["stem", "layer1"] and fig.data[0].orientation == "h"


def test_scaling_curves_figure_uses_the_unit():
    fig = ux.scaling_curves_figure({"width": [(1.0, 100), (2.0, 400)]}, "FLOPs")
    assert list(fig.data[0].y) == [200, 800] and fig.layout.yaxis.type == "log"
    assert "FLOPs" in fig.layout.yaxis.title.text


# --- timeline ---------------------------------------------------------------------------------

def test_timeline_rows_join_and_spread():
    timeline = [
        {"year": "2014", "model": "vgg16", "label": "VGG-16", "published_model": "VGG-16", "published_variant": "D",
         "event": "e", "event_source": "es", "idea": "i", "idea_source": "is"},
        {"year": "2014", "model": "googlenet", "label": "GoogLeNet", "published_model": "GoogLeNet",
         "published_variant": "v1", "event": "e", "event_source": "es", "idea": "i", "idea_source": "is"},
        {"year": "2016", "model": "irv1", "label": "IR-v1", "published_model": "IR", "published_variant": "v1",
         "event": "e", "event_source": "es", "idea": "i", "idea_source": "is"},
    ]
    published = {
        ("VGG-16", "D"): {"model": "VGG-16", "variant": "D", "top1_paper": "73.0", "top1_torchvision": "71.6",
                          "top1_timm": "", "cite_paper": "Simonyan & Zisserman 2015, Table 3",
                          "cite_torchvision": "torchvision 0.29.1 weights metadata", "cite_timm": ""},
        ("GoogLeNet", "v1"): {"model": "GoogLeNet", "variant": "v1", "top1_paper": "", "top1_torchvision": "69.778",
                              "top1_timm": "", "cite_paper": "",
                              "cite_torchvision": "torchvision 0.29.1 weights metadata", "cite_timm": ""},
        ("IR", "v1"): {"model": "IR", "variant": "v1", "top1_paper": "78.7", "top1_torchvision": "",
                       "top1_timm": "", "cite_paper": "", "cite_torchvision": "", "cite_timm": ""},
    }
    rows = ux.timeline_rows(timeline, published, {"vgg16": 138e6, "googlenet": 6.6e6, "irv1": 21e6},
                            {"vgg16": "VGG", "googlenet": "GoogLeNet", "irv1": "IR"})
    assert [r["top1"] for r in rows] == [73.0, 69.778, None]      # unverified figures are not shown
    assert rows[0]["top1_source"].startswith("Simonyan") and rows[1]["top1_source"].startswith("torchvision")
    assert [r["dx"] for r in rows] == [-0.25, 0.25, 0.0]
    rows[1]["label_position"] = "bottom center"                     # timeline.csv may place a label below
    spec = ux.timeline_figure(rows)
    json.dumps(spec)                                                 # plain JSON: no numpy values
    assert "data" not in spec and "datasets" not in spec             # top-level data would cost an Arrow chunk
    markers = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "point")
    labels = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "text"
                  and layer["encoding"]["text"]["field"] == "label")
    pts = {v["model"]: v for v in markers["data"]["values"]}
    assert sorted(pts) == ["googlenet", "irv1", "vgg16"]
    assert [(pts[m]["x"], pts[m]["y"]) for m in ("vgg16", "googlenet")] == [(2013.75, 73.0), (2014.25, 69.778)]
    # area grows linearly with parameters: differences of area in the ratio of differences of parameters
    a = {m: pts[m]["area"] for m in pts}
    assert (a["vgg16"] - a["irv1"]) / (a["irv1"] - a["googlenet"]) == pytest.approx((138 - 21) / (21 - 6.6), rel=0.01)
    assert markers["encoding"]["size"] == {"field": "area", "type": "quantitative", "scale": None, "legend": None}
    # colour and shape by family, one legend titled "family"
    enc = markers["encoding"]
    assert enc["color"]["field"] == enc["shape"]["field"] == "family"
    assert enc["color"]["scale"]["domain"] == ["GoogLeNet", "IR", "VGG"] and len(set(enc["shape"]["scale"]["range"])) == 3
    assert "legend" not in enc["color"] and spec["config"]["legend"]["symbolSize"] >= 100   # a slide can disable it
    # the model without a published top-1 sits on the baseline strip, 3 points below the lowest top-1
    assert pts["irv1"]["y"] == pytest.approx(69.778 - 3) and pts["irv1"]["top1"] == "not published"
    strip = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert strip and strip[0]["data"]["values"][0]["y"] == pytest.approx(66.778)
    # the label beside each marker: above (text ends above the marker), or below where asked
    lab = {v["model"]: v for v in labels["data"]["values"]}
    assert lab["vgg16"]["label"] == "VGG-16" and lab["vgg16"]["baseline"] == "bottom" and lab["vgg16"]["dy_px"] < 0
    assert lab["googlenet"]["baseline"] == "top" and lab["googlenet"]["dy_px"] > 0
    assert labels["mark"]["dy"] == {"expr": "datum.dy_px"} and labels["mark"]["baseline"] == {"expr": "datum.baseline"}
    # the hover text: name, model, top-1, parameters, idea
    tips = {t["title"]: t["field"] for t in enc["tooltip"]}
    assert {"name", "model", "top-1", "parameters", "idea"} <= set(tips)
    assert [pts["vgg16"][tips[k]] for k in ("name", "model", "top-1", "parameters", "idea")] == [
        "VGG-16", "vgg16", "73.0 %", "138 M", "i"]
    # a click selects the zoo name: the page opens the explorer on it
    assert markers["params"] == [{"name": ux.PICK, "select": {"type": "point", "fields": ["model"], "on": "click"}}]
    # plain years on the x axis, one tick each, 2012 to 2021
    assert enc["x"]["axis"]["values"] == list(range(2012, 2022)) and enc["x"]["axis"]["format"] == "d"
    assert spec["title"].startswith("ImageNet top-1 (published) by year") and spec["height"] == 640


def test_timeline_csv_models_are_registered_with_published_rows():
    from zoo.registry import published_rows

    rows = list(csv.DictReader(open(ROOT / "assets" / "timeline.csv", encoding="utf-8")))
    years = [int(r["year"]) for r in rows]
    assert years == sorted(years) and years[0] == 2012 and years[-1] == 2021
    for r in rows:
        assert r["model"] in zoo.list_models(), r["model"]
        assert (r["published_model"], r["published_variant"]) in published_rows(), r["label"]
        assert r["idea"] and r["idea_source"] and r["event_source"]


def test_seed_tables_csv_matches_the_seed_figures():
    rows = list(csv.DictReader(open(ROOT / "assets" / "seed_tables.csv", encoding="utf-8")))
    t6 = {r["row"]: (float(r["top1"]), float(r["params_m"])) for r in rows if r["table"] == "6"}
    # seed paper (Zhao), Table 6, as printed (reference README)
    assert t6 == {"ResNet-RS": (84.4, 192), "Inception-ResNet-v2": (80.1, 55.8), "ShuffleNet v2": (75.4, 2),
                  "EfficientNet-B3": (81.1, 12), "EfficientNet-B7": (84.4, 66)}
    t5 = next(r for r in rows if r["table"] == "5")
    assert (float(t5["alpha"]), float(t5["beta"]), float(t5["gamma"])) == (1.2, 1.1, 1.15)
    # seed paper (Zhao), Table 5, as printed: top-1 %, top-5 %, parameters (M)
    printed = {"EfficientNet-B0": (76.3, 93.2, 5.3), "EfficientNet-B1": (78.8, 94.4, 7.8),
               "EfficientNet-B2": (79.8, 94.9, 9.2), "EfficientNet-B3": (81.1, 95.5, 12),
               "EfficientNet-B4": (82.6, 96.3, 19), "EfficientNet-B5": (83.3, 96.7, 30),
               "EfficientNet-B6": (84.0, 96.9, 43)}
    assert {r["row"]: (float(r["top1"]), float(r["top5"]), float(r["params_m"]))
            for r in rows if r["table"] == "5" and r["model"]} == printed
    from zoo.registry import published_rows
    for row, (top1, top5, _) in printed.items():                  # the seed agrees with Tan & Le, Table 2
        prim = published_rows()[("EfficientNet", row.split("-")[1])]
        assert (float(prim["top1_paper"]), float(prim["top5_paper"])) == (top1, top5)
    for r in rows:
        if r["model"]:
            assert r["model"] in zoo.list_models()


# --- compound scaling -------------------------------------------------------------------------

@pytest.mark.parametrize("alpha, beta, gamma, phi, needle", [
    (0.0, 1.1, 1.15, 1.0, "α = 0"),
    (1.2, -1.0, 1.15, 1.0, "β = -1"),
    (1.2, 1.1, 1.15, float("nan"), "φ must be a number"),
    (1.2, 1.1, 1.15, 16.0, "px input, above"),           # 224 · 1.15^16 ≈ 2 096 px
    (1.2, 1.1, 1.15, -14.0, "too small"),                # 224 · 1.15^-14 ≈ 32 px → 31
])
def test_scaling_problems_are_explained(alpha, beta, gamma, phi, needle):
    problems = ux.scaling_problems(alpha, beta, gamma, phi)
    assert problems and any(needle in p for p in problems), problems


def test_scaling_problems_none_for_the_paper_values_and_cost_cap():
    assert ux.scaling_problems(1.2, 1.1, 1.15, 7.0) == []
    assert any("limit" in p for p in ux.scaling_problems(1.2, 1.1, 1.15, 7.0, predicted_macs=3e12))


def test_official_table_against_formula():
    df = ux.formula_vs_official(eff.COMPOUND, eff.compound_coefficients)
    b7 = df.set_index("model").loc["B7"]
    assert b7["depth (official)"] == 3.1 and b7["depth α^φ"] == pytest.approx(1.2 ** 7, abs=1e-3)
    assert b7["width β^φ"] == pytest.approx(1.1 ** 7, abs=1e-3)
    assert b7["resolution 224·γ^φ"] == 596                      # 224 · 1.15^7 = 595.9
    cells = ux.differing_cells(df)
    assert (0, "width β^φ") not in cells and (0, "depth α^φ") not in cells     # B0 is φ = 0 exactly
    assert (7, "depth α^φ") in cells                             # 3.58 against 3.1
    assert (1, "resolution 224·γ^φ") in cells                    # 258 against 240
    assert (7, "resolution 224·γ^φ") not in cells                # 596 against 600: within 2 %


def test_one_dimension_grid_scales_one_thing_at_a_time():
    grid = ux.one_dimension_grid()
    assert all(d == 1.0 and r == 224 for _, _, d, r in grid["width"])
    assert all(w == 1.0 and r == 224 for _, w, _, r in grid["depth"])
    assert all(w == 1.0 and d == 1.0 and f == pytest.approx(r / 224) for f, w, d, r in grid["resolution"])


def test_every_registered_family_gets_its_own_colour_and_symbol_pair():
    from ui import theme
    styles = theme.family_styles(zoo.info(n).family for n in zoo.list_models())
    assert len({(v["color"], v["symbol"]) for v in styles.values()}) == len(styles)
    assert len({v["color"] for v in styles.values()}) <= 10          # a palette a hall can tell apart


def test_published_top1_prefers_the_asked_source_and_returns_its_citation():
    row = {"model": "ResNet-50", "variant": "v1.5", "top1_paper": "77.15", "top1_torchvision": "76.13",
           "top1_timm": "", "cite_paper": "He et al. 2016, Table 3 (10-crop)",
           "cite_torchvision": "torchvision 0.29.1 weights metadata", "cite_timm": ""}
    assert ux.published_top1(row) == (77.15, "He et al. 2016, Table 3 (10-crop)")
    assert ux.published_top1(row, "weights") == (76.13, "torchvision 0.29.1 weights metadata")
    row["cite_paper"] = ""                       # a figure nobody verified is never shown
    assert ux.published_top1(row) == (76.13, "torchvision 0.29.1 weights metadata")
    assert ux.published_top1(None)[0] is None


def test_every_published_figure_shown_has_a_citation_without_developer_notes():
    from zoo.registry import published_rows
    for key, r in published_rows().items():
        for what in ("paper", "torchvision", "timm"):
            value = r["top1_" + what] if what != "paper" else r["top1_paper"]
            cite = r["cite_" + what]
            if cite:
                assert not re.search(r"UNVERIFIED|COMPUTED|not read|\.csv|\.py|NOT VERIFIED", cite), (key, cite)
            if value and what != "paper":
                assert cite, (key, what)


def test_timeline_labels_do_not_sit_on_each_other():
    rows = [{"model": "a", "year": 2019, "dx": -0.25, "top1": 75.2},
            {"model": "b", "year": 2019, "dx": 0.0, "top1": 76.3},
            {"model": "c", "year": 2019, "dx": 0.25, "top1": 84.4}]
    assert ux.label_positions(rows, 55) == {"a": "top center", "b": "bottom center", "c": "top center"}
    rows[0]["label_position"] = "bottom center"                     # the curator's choice wins
    assert ux.label_positions(rows, 55) == {"a": "bottom center", "b": "top center", "c": "top center"}


def test_factor_figure_series():
    fig = ux.factor_figure([(0, 1.0, 1.0), (1, 1.92, 2.57)], current=(1, 1.92, 2.57))
    assert [t.name for t in fig.data] == ["predicted (α·β²·γ²)^φ", "built network (exact MACs / B0's)", "this φ"]
    assert list(fig.data[1].y) == [1.0, 2.57] and fig.layout.yaxis.type == "log"


def test_macro_html_boxes_in_order_with_shares_and_escaping():
    view = {"input": (1, 3, 224, 224), "output": (1, 1000), "nodes": [
        {"title": "stem", "lines": ["7×7/2 conv", "64×56×56"], "share": 0.25},
        {"title": "layer<1>", "lines": ["Bottleneck ×3"], "share": 0.75},
    ]}
    html = ux.macro_html(view, "macs", lambda share: f"#{int(share * 100):06d}")
    assert html.index("input 3×224×224") < html.index("<b>stem</b>") < html.index("layer&lt;1&gt;") \
        < html.index("output 1000")
    assert "(25.0 % of MACs)" in html and "(75.0 % of MACs)" in html
    assert "background:#000025" in html and "background:#000075" in html
    plain = ux.macro_html(view, None, lambda share: "#123456")
    assert "% of" not in plain and "#123456" not in plain and plain.count("background:#ffffff") == 2
