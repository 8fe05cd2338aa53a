"""ui/lessons.py without Streamlit: the seed's numbers, engine cross-checks, cited data, figures.

Expected values are the seed paper's printed figures (as listed in the project's reference notes)
or hand arithmetic written out in the test, never recomputed by the code under test.
"""
import json
import math

import pytest
import torch
import torch.nn as nn

import zoo
from ui import lessons as L
from zoo import latency


# --- convolution cost lab ------------------------------------------------------------------------

def test_table3_reproduced_exactly():
    layers = L.conv_layers(**L.TABLE3)
    assert [(r["case"], r["macs"]) for r in layers] == [
        ("regular", 86_400), ("depthwise-separable", 675), ("depthwise-separable", 9_600)]
    cases = {c["case"]: c for c in L.conv_cases(layers)}
    assert cases["depthwise-separable"]["macs"] == 10_275
    assert round(cases["depthwise-separable"]["vs_regular"], 1) == 8.4
    assert cases["regular"]["params"] == 128 * 3 * 3 * 3
    assert cases["depthwise-separable"]["params"] == 3 * 3 * 3 + 3 * 128
    # memory access: input read + output written + weights
    assert cases["regular"]["mem_access"] == 7 * 7 * 3 + 5 * 5 * 128 + 3456


def test_seed_table3_csv_matches_reference_figures():
    seed = {r["quantity"]: r["value"] for r in L.read_csv("seed_table3_conv_cost.csv")}
    assert (seed["depthwise multiplications"], seed["pointwise multiplications"],
            seed["depthwise-separable multiplications"], seed["regular multiplications"], seed["ratio"]) == (
        "675", "9600", "10275", "86400", "8.4")


def test_grouped_case_by_hand():
    layers = L.conv_layers(56, 56, 64, 128, 3, stride=2, padding=1, groups=4)
    grouped = [r for r in layers if r["case"].startswith("grouped")]
    assert len(grouped) == 1
    assert grouped[0]["macs"] == 28 * 28 * 128 * (64 // 4) * 9
    assert grouped[0]["out_shape"] == (128, 28, 28)


@pytest.mark.parametrize("p", [L.TABLE3, dict(h=56, w=40, c_in=64, c_out=128, k=3, stride=2, padding=1, groups=4),
                               dict(h=9, w=9, c_in=8, c_out=8, k=5, stride=1, padding=2, groups=8)])
def test_engine_agrees_with_the_formulas(p):
    rows = L.verify_with_engine(**p)
    assert len(rows) == (4 if p["groups"] > 1 else 3)
    assert all(r["match"] for r in rows), rows
    assert [r["engine_kind"] for r in rows][:3] == ["conv", "depthwise", "pointwise"]


def test_engine_check_can_fail(monkeypatch):
    """The comparison is real: a formula that disagrees with the traced layer is flagged."""
    real = L.conv_layers

    def wrong(*args, **kwargs):
        rows = real(*args, **kwargs)
        rows[0] = dict(rows[0], macs=rows[0]["macs"] + 1)
        return rows

    monkeypatch.setattr(L, "conv_layers", wrong)
    rows = L.verify_with_engine(**L.TABLE3)
    assert [r["match"] for r in rows] == [False, True, True]


def test_bad_inputs_get_a_sentence():
    assert L.check_conv_inputs(**L.TABLE3) is None
    assert "divide" in L.check_conv_inputs(7, 7, 3, 128, 3, groups=2)
    assert "does not fit" in L.check_conv_inputs(2, 2, 3, 8, 5)
    assert "positive" in L.check_conv_inputs(0, 7, 3, 8, 3)


def test_connectivity_patterns():
    assert L.connectivity(4, 4, 4).tolist() == [[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 3, 0], [0, 0, 0, 4]]
    assert (L.connectivity(3, 5, 1) == 1).all()
    g = L.connectivity(4, 6, 2)
    assert (g[:3, :2] == 1).all() and (g[3:, 2:] == 2).all() and (g[:3, 2:] == 0).all()


def _no_top_level_data(spec: dict) -> None:
    """Values live inside the layers (Streamlit would ship top-level data as Arrow, another chunk),
    as plain JSON: no numpy numbers, no NaN."""
    assert "data" not in spec and "datasets" not in spec
    json.dumps(spec, allow_nan=False)


def _cells(view: dict) -> set[tuple[str, str]]:
    return {(c["filter"], c["channel"]) for c in view["layer"][0]["data"]["values"]}


def test_filters_figure_table3_panels_by_hand():
    """Table 3 (3 → 128 channels, 3×3): regular and pointwise read every input channel, depthwise one each."""
    spec = L.filters_figure(3, 128, 3)
    _no_top_level_data(spec)
    regular, depthwise, pointwise = spec["hconcat"]
    assert [v["title"]["text"] for v in spec["hconcat"]] == [["regular 3×3"], ["depthwise 3×3"], ["pointwise 1×1"]]
    assert regular["title"]["subtitle"] == ["128 filters", "of 3×3×3"]
    assert depthwise["title"]["subtitle"] == ["3 filters", "of 3×3×1"]
    assert pointwise["title"]["subtitle"] == ["128 filters", "of 1×1×3"]
    sampled = ["0", "12", "23", "35", "46", "58", "69", "81", "92", "104", "115", "127"]  # 12 of 0…127, evenly
    x = regular["layer"][0]["encoding"]["x"]
    assert x["scale"]["domain"] == sampled and x["axis"]["title"] == "filters (sampled)"
    assert regular["layer"][0]["encoding"]["y"]["axis"]["title"] == "input channel"
    assert depthwise["layer"][0]["encoding"]["y"]["axis"]["title"] is None
    assert _cells(regular) == _cells(pointwise) == {(f, c) for f in sampled for c in ("0", "1", "2")}
    assert _cells(depthwise) == {("0", "0"), ("1", "1"), ("2", "2")}             # the diagonal only
    assert depthwise["layer"][0]["encoding"]["x"]["axis"]["title"] == "filters"
    # the slice size is written only where three filters leave room: in the depthwise panel
    assert len(regular["layer"]) == 1 and len(depthwise["layer"]) == 2
    assert {c["slice"] for c in depthwise["layer"][1]["data"]["values"]} == {"3×3"}
    assert {c["slice"] for c in pointwise["layer"][0]["data"]["values"]} == {"1×1"}
    assert [v["layer"][0]["encoding"]["color"]["value"] for v in spec["hconcat"]] == ["#4C78A8", "#F58518", "#54A24B"]
    tips = {c["tip"] for c in depthwise["layer"][0]["data"]["values"]}
    assert "filter 2 reads input channel 2" in tips and depthwise["layer"][0]["encoding"]["tooltip"]["field"] == "tip"


def test_filters_figure_grouped_blocks():
    """64 → 128 channels in 4 groups: filter f (32 a group) reads channel c (16 a group) iff f // 32 == c // 16."""
    spec = L.filters_figure(64, 128, 3, groups=4)
    _no_top_level_data(spec)
    assert len(spec["hconcat"]) == 4
    grouped = spec["hconcat"][3]
    assert grouped["title"] == {"text": ["grouped 3×3", "g = 4"], "subtitle": ["128 filters", "of 3×3×16"]}
    enc = grouped["layer"][0]["encoding"]
    filters, channels = enc["x"]["scale"]["domain"], enc["y"]["scale"]["domain"]
    assert len(filters) == len(channels) == 12
    assert _cells(grouped) == {(f, c) for f in filters for c in channels if int(f) // 32 == int(c) // 16}
    assert {c["group"] for c in grouped["layer"][0]["data"]["values"]} == {1, 2, 3, 4}
    assert enc["color"]["scale"] == {"scheme": "viridis", "domain": [1, 4]}
    assert len(grouped["layer"]) == 1                                             # 12 filters: no text in cells


def test_cases_figure_table3_ratios_and_labels():
    """Table 3: separable MACs 10,275 / 86,400, parameters 3·9 + 3·128 = 411 / 3,456, memory access
    (147 + 75 + 27 + 75 + 3,200 + 384 = 3,908) / (147 + 3,200 + 3,456 = 6,803)."""
    spec = L.cases_figure(L.conv_cases(L.conv_layers(**L.TABLE3)))
    _no_top_level_data(spec)
    assert spec["title"] == "Cost of each case, relative to the regular convolution" and spec["height"] == 400
    bars, text = spec["layer"]
    assert bars["data"]["values"] == text["data"]["values"]
    got = {(v["case"], v["quantity"]): (round(v["ratio"], 4), v["label"], v["exact"]) for v in bars["data"]["values"]}
    assert got == {
        ("regular", "MACs"): (1.0, "1.00×", "86,400"),
        ("regular", "parameters"): (1.0, "1.00×", "3,456"),
        ("regular", "memory access"): (1.0, "1.00×", "6,803"),
        ("depthwise-separable", "MACs"): (round(10_275 / 86_400, 4), "0.12×", "10,275"),
        ("depthwise-separable", "parameters"): (round(411 / 3_456, 4), "0.12×", "411"),
        ("depthwise-separable", "memory access"): (round(3_908 / 6_803, 4), "0.57×", "3,908"),
    }
    assert bars["encoding"]["y"]["title"] == "× the regular convolution"
    assert text["encoding"]["text"]["field"] == "label" and text["mark"]["type"] == "text"
    assert bars["encoding"]["color"]["scale"] == {"domain": ["MACs", "parameters", "memory access"],
                                                  "range": ["#636EFA", "#EF553B", "#00CC96"]}
    assert [t["title"] for t in bars["encoding"]["tooltip"]] == ["case", "quantity", "count", "× regular"]


def test_kind_split_shares():
    rows = [{"group": "pointwise", "macs": 75}, {"group": "depthwise", "macs": 3}, {"group": "conv", "macs": 22}]
    s = L.kind_split("toy", rows, 100)
    assert (s["pointwise %"], s["depthwise %"], s["conv %"], s["linear %"]) == (75.0, 3.0, 22.0, 0.0)
    spec = L.kind_split_figure([s])
    _no_top_level_data(spec)
    bars, text = spec["layer"]
    assert bars["encoding"]["color"]["scale"]["domain"] == ["pointwise", "depthwise", "k×k conv (stem)"]
    segs = [(v["kind"], v["start"], v["end"], v["label"]) for v in bars["data"]["values"]]
    assert segs == [("pointwise", 0.0, 75.0, "75.0 %"), ("depthwise", 75.0, 78.0, ""),   # under 4 %: no text
                    ("k×k conv (stem)", 78.0, 100.0, "22.0 %")]
    assert bars["data"]["values"][0]["tip"] == "toy: 75.0 % of MACs in pointwise layers (75 MACs (150 FLOPs))"
    assert bars["encoding"]["x"]["title"] == "% of the network's MACs" and spec["height"] == 360
    assert text["encoding"]["x"]["field"] == "mid" and text["data"]["values"][2]["mid"] == 89.0
    assert "scale('x', datum.end)" in text["encoding"]["opacity"]["condition"]["test"]   # hidden where too narrow


def test_pointwise_dominates_in_mobilenet_v2():
    a = zoo.analyze("mobilenet_v2")
    s = L.kind_split("mobilenet_v2", a.by_kind(), a.total_macs)
    assert s["pointwise"] > 5 * s["depthwise"]


# --- ShuffleNet v2 ------------------------------------------------------------------------------

def paper_value(rows, config, platform, width):
    return next(float(r["value"]) for r in rows if (r["config"], r["platform"], r["width"]) == (config, platform, width))


def test_paper_tables_as_printed():
    """Ma et al. 2018 Tables 1–4 (Table 1 = seed Table 4), a few cells of each, typed from the paper."""
    g1 = L.paper_rows("G1")
    assert [paper_value(g1, c, "GPU", "×1") for c in ("1:1", "1:2", "1:6", "1:12")] == [1480, 1296, 876, 748]
    assert [paper_value(g1, c, "ARM", "×1") for c in ("1:1", "1:2", "1:6", "1:12")] == [76.2, 72.9, 69.1, 57.6]
    assert paper_value(g1, "1:12", "ARM", "×4") == 4.4 and paper_value(g1, "1:1", "GPU", "×4") == 232
    assert all("seed paper (Zhao), Table 4" in r["source"] for r in g1)
    g2 = L.paper_rows("G2")
    assert paper_value(g2, "g = 8", "GPU", "×1") == 634 and paper_value(g2, "g = 8", "ARM", "×1") == 27.8
    assert paper_value(g2, "g = 1", "ARM", "×1") == 40.0
    g3 = L.paper_rows("G3")
    assert paper_value(g3, "4-fragment-series", "GPU", "×1") == 752 and paper_value(g3, "1-fragment", "ARM", "×2") == 10.1
    g4 = L.paper_rows("G4")
    assert paper_value(g4, "neither", "ARM", "×1") == 66.3 and paper_value(g4, "ReLU + shortcut", "GPU", "×4") == 1436
    assert {r["table"] for r in g4} == {"4"} and len(g1) == 24 and len(g2) == 24 and len(g3) == 30 and len(g4) == 24


def test_paper_relative_speed():
    rel = L.paper_relative(L.paper_rows("G1"), "1:1")
    assert rel[("GPU", "×1", "1:12")] == pytest.approx(748 / 1480)
    assert rel[("ARM", "×1", "1:1")] == 1.0
    assert L.speed_words(748 / 1480) == "1.98× slower" and L.speed_words(1.17) == "1.17× faster"


def tm(ms_list):
    m = latency.Machine("Test CPU", 1, 2, 0.5, "2.13.0")
    return latency.Timing(label="t", times_ms=tuple(ms_list), number=1, machine=m)


def g1_rows(t_12):
    """Two G1 rows at ×1 as zoo.experiments.run_cases makes them; 1:12 takes ``t_12`` ms."""
    base, other = tm([10, 10.1, 10.2, 10.3, 10.4]), tm(t_12)
    rows = []
    for cfg, t, c1, c2 in (("1:1", base, 32, 32), ("1:12", other, 9, 108)):
        rows.append({"guideline": "G1", "width": "×1", "config": cfg, "base": "1:1", "c1": c1, "c2": c2,
                     "macs": 64_225_280, "mem_access": 4_034_560 if cfg == "1:1" else 7_357_680, "timing": t,
                     "median_ms": t.median_ms, "q1_ms": t.q1_ms, "q3_ms": t.q3_ms, "repeats": t.repeats,
                     "speed_vs_base": latency.speed_ratio(base, t), "differs": cfg != "1:1" and latency.differs(base, t),
                     "verdict": "" if cfg == "1:1" else latency.compare_words(base, t, "1:1")})
    return rows


def test_guideline_figure_sets_ours_with_spread_beside_the_paper():
    rows = g1_rows([13, 13.1, 13.2, 13.3, 13.4])
    fig = L.guideline_figure(rows, L.paper_rows("G1"), "G1 test")
    traces = {t.name: t for t in fig.data}
    ours = traces["here"]
    assert list(ours.y) == ["1:1", "1:12"] and ours.x[1] == pytest.approx(10.2 / 13.2)
    # the IQR bar of the ratio: base median / q3 … base median / q1
    assert ours.x[1] - ours.error_x.arrayminus[1] == pytest.approx(10.2 / 13.3)
    assert ours.x[1] + ours.error_x.array[1] == pytest.approx(10.2 / 13.1)
    assert traces["paper GPU"].x[1] == pytest.approx(748 / 1480)
    assert traces["paper ARM"].x[1] == pytest.approx(57.6 / 76.2)
    assert fig.layout.yaxis.autorange == "reversed"      # the base row on top


def test_guideline_table_has_memory_access_beside_time_and_the_words():
    df = L.guideline_table(g1_rows([13, 13.1, 13.2, 13.3, 13.4]), L.paper_rows("G1"))
    cols = list(df.columns)
    assert cols.index("memory access (elements)") + 1 == cols.index("time here (IQR)")
    assert list(df["configuration"]) == ["×1 · 1:1", "×1 · 1:12"] and list(df["channels"]) == ["(32, 32)", "(9, 108)"]
    assert list(df["vs base, here"]) == ["base", "1.29× slower"] and list(df["paper GPU"]) == ["base", "1.98× slower"]
    assert df["memory access (elements)"][1] == "7.36 M" and df["time here (IQR)"][1] == "13.2 ms (13.1–13.3)"
    noisy = L.guideline_table(g1_rows([9.9, 10.1, 10.25, 10.35, 10.6]), L.paper_rows("G1"))
    assert noisy["vs base, here"][1] == "within noise"
    assert not any("-" in v for v in df["vs base, here"])  # never a negative saving


def test_guideline_summary_agrees_disagrees_or_says_noise():
    paper = L.paper_rows("G1")
    agree = L.guideline_summary(g1_rows([13, 13.1, 13.2, 13.3, 13.4]), paper, "G1")
    assert agree["agrees"] and not agree["disagrees"] and not agree["noise_widths"]
    assert "1.29× slower" in agree["sentences"][0] and "1.98× slower on its GPU" in agree["sentences"][0]
    against = L.guideline_summary(g1_rows([8, 8.1, 8.2, 8.3, 8.4]), paper, "G1")
    assert against["disagrees"] and against["disagree_widths"] == ["×1"]
    noise = L.guideline_summary(g1_rows([9.9, 10.1, 10.25, 10.35, 10.6]), paper, "G1")
    assert noise["noise_widths"] == ["×1"] and latency.NOISE in noise["sentences"][0]
    assert set(L.REASONS) == set(L.EXTREME) == {"G1", "G2", "G3", "G4"}


def test_mem_access_figure_bound_is_reached_at_one_to_one():
    fig = L.mem_access_figure(28, 28, 28 * 28 * 128 * 128, ratios=(1, 2, 12))
    ys = list(fig.data[0].y)
    bound = 2 * math.sqrt(28 * 28 * 28 * 28 * 128 * 128) + 128 * 128  # 2√(hwB) + B/hw
    assert ys[0] == pytest.approx(bound) and ys[0] < ys[1] < ys[2]


# --- residual -------------------------------------------------------------------------------------

def test_seed_table1_csv():
    rows = {r["model"]: float(r["top1_err"]) for r in L.read_csv("seed_table1_plain_resnet.csv")}
    assert rows == {"plain-18": 27.94, "ResNet-18": 27.88, "plain-34": 28.54, "ResNet-34": 25.03}


def test_grad_figures():
    series = {"plain-8": [{"index": 1, "name": "conv1", "grad_norm": 10.0, "grad_rms": 1.0},
                          {"index": 2, "name": "fc", "grad_norm": 0.1, "grad_rms": 0.01}]}
    assert L.grad_spread(series["plain-8"]) == pytest.approx(100.0)
    fig = L.grad_norm_figure(series)
    assert fig.layout.yaxis.type == "log" and list(fig.data[0].y) == [10.0, 0.1]
    lf = L.loss_figure({"plain-8": [2.0, 1.0], "plain-32": [2.0, 2.0], "ResNet-32": [2.0, 0.5]})
    assert {t.name for t in lf.data if t.showlegend is not False} == {"plain-8", "plain-32", "ResNet-32"}


def test_sample_batch_shape_and_normalisation():
    x, what = L.sample_batch(32, 4)
    assert x.shape == (4, 3, 32, 32) and torch.isfinite(x).all()
    assert "32×32" in what or "noise" in what


# --- Inception ----------------------------------------------------------------------------------

def test_factorization_ratios_by_hand():
    five = {r["design"]: r for r in L.factorization(35, 35, 64, 64, 5)}
    assert five["2 stacked 3×3"]["relative"] == pytest.approx(18 / 25)
    assert five["one 5×5"]["macs"] == 35 * 35 * 64 * 64 * 25
    seven = {r["design"]: r for r in L.factorization(17, 17, 192, 192, 7)}
    assert seven["1×7 then 7×1"]["relative"] == pytest.approx(14 / 49)
    assert seven["3 stacked 3×3"]["relative"] == pytest.approx(27 / 49)
    three = {r["design"]: r for r in L.factorization(8, 8, 16, 16, 3)}
    assert set(three) == {"one 3×3", "1×3 then 3×1"} and three["1×3 then 3×1"]["relative"] == pytest.approx(6 / 9)


def test_inception3a_naive_vs_reduced_by_hand():
    row = ("inception3a", 64, 96, 128, 16, 32, 32)
    naive, reduced = L.inception_module_cost(row, 192, 28)
    hw = 28 * 28
    assert naive["macs"] == hw * 192 * (64 + 128 * 9 + 32 * 25)
    assert reduced["macs"] == hw * (192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32)
    assert (naive["out_channels"], reduced["out_channels"]) == (64 + 128 + 32 + 192, 256)


def test_branch_costs_of_googlenet_inception3a():
    a = zoo.analyze("googlenet")
    rows = {b["branch"]: b for b in L.branch_costs(a.records(), "inception3a")}
    assert list(rows) == ["branch1", "branch2", "branch3", "branch4"]
    assert rows["branch1"]["macs"] == 28 * 28 * 192 * 64
    assert [rows[b]["out_channels"] for b in rows] == [64, 128, 32, 32]
    block = next(r for r in a.by_block() if r["group"] == "inception3a")
    assert sum(b["macs"] for b in rows.values()) == block["macs"]
    assert sum(b["share"] for b in rows.values()) == pytest.approx(1.0)


def test_seed_table2_csv():
    rows = {r["model"]: float(r["top5_err"]) for r in L.read_csv("seed_table2_inception.csv")}
    assert rows == {"Inception-v3": 5.6, "Inception-ResNet-v1": 5.5, "Inception-v4": 5.0, "Inception-ResNet-v2": 4.9}
    published = {(r["model"], r["variant"]) for r in L.read_csv("../published.csv")}
    for r in L.read_csv("seed_table2_inception.csv"):
        assert r["zoo"] in zoo.list_models()
        if r["published_row"]:
            assert tuple(r["published_row"].split("|")) in published


# --- ResNet-RS ------------------------------------------------------------------------------------

def test_waterfall_csv():
    rows = L.read_csv("resnet_rs_waterfall.csv")
    assert float(rows[0]["top1"]) == 79.0 and float(rows[-1]["top1"]) == 83.4
    assert 79.0 + sum(float(r["delta"]) for r in rows[1:]) == pytest.approx(83.4)
    for prev, r in zip(rows, rows[1:]):
        assert float(prev["top1"]) + float(r["delta"]) == pytest.approx(float(r["top1"]))
    # seed paper (Zhao), Figure 6, as printed: every step, its top-1 and the marks † and ‡
    printed = [("ResNet-200", 79.0), ("+ Cosine LR decay", 79.3), ("+ Increase training epochs", 78.8),
               ("+ EMA of weights", 79.1), ("+ Label smoothing", 80.4), ("+ Stochastic depth", 80.6),
               ("+ RandAugment", 81.0), ("+ Dropout on FC", 80.7), ("+ Decrease weight decay", 82.2),
               ("+ Squeeze-and-Excitation", 82.9), ("+ ResNet-D", 83.4)]
    assert [(r["step"], float(r["top1"])) for r in rows] == printed
    assert {r["step"]: r["mark"] for r in rows if r["mark"]} == {"+ Increase training epochs": "†",
                                                                  "+ Dropout on FC": "‡"}
    for r in rows:
        assert r["source"].startswith("seed paper (Zhao), Figure 6")
    fig = L.waterfall_figure(rows)
    texts = list(fig.data[-1].text)
    assert "78.8 † (−0.5)" in texts and "83.4 (+0.5)" in texts
    assert {tr.name for tr in fig.data[:-1]} == {"start", "training", "regularisation", "architecture"}


def _tiny(width: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8 * width, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(8 * width, 8 * width, 3, groups=8 * width, padding=1),
                         nn.Conv2d(8 * width, 16 * width, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(16 * width, 10))


def test_width_scaled_macs_equals_the_built_wider_network():
    base = zoo.analyze(_tiny(1), resolution=16)
    wide = zoo.analyze(_tiny(2), resolution=16)
    assert L.width_scaled_macs(base.records(), 1.0) == base.total_macs
    assert L.width_scaled_macs(base.records(), 2.0) == wide.total_macs


def test_rs_table_rows_from_published():
    rows = L.rs_table_rows(L.read_csv("../published.csv"))
    assert {r["zoo"] for r in rows} <= set(zoo.list_models())
    rs420 = next(r for r in rows if r["depth"] == 420)
    assert (rs420["resolution"], rs420["params"], rs420["top1"]) == (320, 191_891_656, 84.4)


def test_scaling_figure_has_three_dimensions():
    rows = [{"dim": d, "factor": f, "macs": m, "label": d} for d, f, m in
            (("depth", 1, 1e9), ("depth", 2, 2e9), ("width", 2, 4e9), ("resolution", 2, 4e9))]
    fig = L.scaling_figure(rows)
    assert [t.name for t in fig.data] == ["depth", "width", "resolution"]

