"""ui/measure.py without Streamlit: the Measured-here tab's tables and figure, the counted-vs-measured
ranking and its sentences. Inputs are hand-made profiles and timings; expected values are worked
out by hand in the test."""
import json

import pytest

from ui import explore as ux
from ui import measure as um
from zoo import latency as L

M = L.Machine("Test CPU", 1, 2, 0.5, "2.13.0")


def tm(times, label="t"):
    return L.Timing(label=label, times_ms=tuple(times), number=1, machine=M)


def toy_profile() -> L.Profile:
    """A pointwise layer with 90 % of the MACs and a depthwise one with 10 %, taking 2 and 2 ms."""
    layers = (L.LayerTime(0, "pw", "pointwise", "Conv2d", 900, 300, 10, (2.0,) * 5),
              L.LayerTime(1, "dw", "depthwise", "Conv2d", 100, 600, 1, (2.0,) * 5),
              L.LayerTime(2, "bn", "norm", "BatchNorm2d", 0, 100, 2, (1.0,) * 5))
    return L.Profile(name="toy", resolution=32, layers=layers, whole=tm([5.0] * 5), runs=5, unassigned_ms=0.0,
                     seconds=1.0)


def test_profile_groups_shares_and_the_lesson_sentence():
    p = toy_profile()
    groups = {g["group"]: g for g in p.by_group()}
    assert groups["depthwise"]["macs_share"] == pytest.approx(0.1)
    assert groups["depthwise"]["time_share"] == pytest.approx(0.4)        # 2 of 5 ms
    assert groups["depthwise"]["mem_share"] == pytest.approx(0.6)
    assert p.sum_ratio == pytest.approx(1.0)
    assert um.lesson_sentence(p) == ("Depthwise layers hold 10.0 % of the MACs and take 40.0 % of the time: "
                                     "4.0× what counting MACs predicts.")
    assert [r["name"] for r in p.excess(2)] == ["dw", "bn"]               # +30 points, +20 points
    assert "3 layers' medians add up to 5.00 ms, 100 % of the whole" in um.sum_sentence(p)
    assert "account for 100 % of it" in um.sum_sentence(p) and "busy" not in um.sum_sentence(p)
    busy = L.Profile(name="toy", resolution=32, layers=p.layers, whole=tm([8.0] * 5), runs=5, unassigned_ms=0.0,
                     seconds=1.0)
    assert busy.run_ratio == pytest.approx(5 / 8) and "busy" not in um.sum_sentence(busy)
    spiky = tuple(L.LayerTime(i, l.name, l.kind, l.op, l.macs, l.mem_access, l.params,
                              tuple(t + (6.0 if r == i else 0.0) for r, t in enumerate(l.times_ms)))
                  for i, l in enumerate(p.layers))   # run i: layer i hit by a 6 ms time slice
    loaded = L.Profile(name="toy", resolution=32, layers=spiky, whole=tm([11.0] * 5), runs=5, unassigned_ms=0.0,
                       seconds=1.0)
    assert loaded.sum_ratio == pytest.approx(5 / 11) and loaded.run_ratio == pytest.approx(1.0)
    assert "The machine was busy" in um.sum_sentence(loaded)


def test_share_figure_and_tables():
    p = toy_profile()
    fig = um.share_figure(p.by_group(), "toy")
    assert [t.name for t in fig.data] == ["MACs", "memory access", "measured time"]
    time_bar = fig.data[2]
    assert list(time_bar.y) == ["pointwise 1×1", "depthwise", "normalisation"]
    assert list(time_bar.x) == pytest.approx([40.0, 40.0, 20.0])
    g = um.group_frame(p.by_group())
    assert list(g["time"]) == ["2.00 ms (40 %)", "2.00 ms (40 %)", "1.00 ms (20 %)"]
    assert list(g["MACs"])[:2] == ["900 MACs (90 %)", "100 MACs (10 %)"] and g["memory access (elements)"][1] == "600 (60 %)"
    e = um.excess_frame(p.excess(3))
    assert list(e["layer"]) == ["dw", "bn", "pw"] and e["share of time"][0] == "40.0 %"
    assert e["time (IQR)"][0] == "2.00 ms (2.00–2.00)"
    csv = um.profile_csv(p)
    assert csv.splitlines()[0].startswith("index,name,kind,group,macs,mem_access,median_ms") and len(csv.splitlines()) == 4


POINTS = [{"name": "big", "family": "A", "macs": 4_000_000_000},
          {"name": "small", "family": "B", "macs": 400_000_000},
          {"name": "mid", "family": "B", "macs": 1_800_000_000},
          {"name": "untimed", "family": "C", "macs": 1}]


def test_rank_rows_ranks_both_ways():
    timings = {"big": tm([60] * 5), "small": tm([20] * 5), "mid": tm([15] * 5)}
    rows = um.rank_rows(POINTS, timings)
    assert [(r["name"], r["rank_macs"], r["rank_time"]) for r in rows] == [
        ("small", 1, 2), ("mid", 2, 1), ("big", 3, 3)]
    spec = um.slope_figure(rows)
    json.dumps(spec)                                                # plain JSON: no numpy values
    assert "data" not in spec and "datasets" not in spec
    line = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    widths = {v["name"]: v["width"] for v in line["data"]["values"]}
    assert widths["small"] > widths["big"] and widths["mid"] > widths["big"]   # moved: thick
    assert line["encoding"]["strokeWidth"]["field"] == "width" and line["encoding"]["detail"] == {"field": "name"}
    # each model joins its rank by MACs (left, x = 0) to its rank by latency (right, x = 1)
    ends = sorted((v["side"], v["rank"], v["label"]) for v in line["data"]["values"] if v["name"] == "small")
    assert ends == [(0, 1, "small · 400 MMACs"), (1, 2, "20.0 ms")]
    texts = [layer for layer in spec["layer"] if layer["mark"]["type"] == "text"]
    assert [(t["mark"]["align"], t["transform"]) for t in texts] == [
        ("right", [{"filter": "datum.side == 0"}]), ("left", [{"filter": "datum.side == 1"}])]
    tips = {t["title"]: t["field"] for t in line["encoding"]["tooltip"]}
    small = next(v for v in line["data"]["values"] if v["name"] == "small")
    assert (small[tips["rank by MACs"]], small[tips["rank by latency"]]) == (1, 2)
    assert small[tips["measured"]].startswith("20.0 ms (")
    assert line["encoding"]["y"]["scale"]["reverse"] and spec["title"] == (
        "Rank by MACs (1 = fewest) and by latency here (1 = fastest)")
    assert "by FLOPs" in um.slope_figure(rows, "FLOPs")["layer"][0]["encoding"]["x"]["axis"]["labelExpr"]


def test_pair_sentences():
    big = {"name": "resnet50", "macs": 4_000_000_000, "timing": tm([60, 60.5, 61, 61.5, 62])}
    small = {"name": "efficientnet_b0", "macs": 400_000_000, "timing": tm([15, 15.2, 15.4, 15.6, 15.8])}
    s = um.pair_sentence(small, big)
    assert "**10.0× fewer MACs**" in s and "**only 4.0× faster**" in s
    assert "(400 MMACs vs 4.00 GMACs)" in s and "(15.4 ms vs 61.0 ms)" in s
    same = {**small, "timing": tm([59.5, 60.5, 61.2, 61.6, 63])}
    assert L.NOISE in um.pair_sentence(same, big)
    slower = {**small, "timing": tm([80, 80, 80, 80, 80])}
    assert "**1.3× slower**" in um.pair_sentence(slower, big)
    quick = {**small, "timing": tm([4, 4, 4, 4, 4])}
    assert "runs 15.2× faster here (4.00 ms vs 61.0 ms): more than its MACs alone predict" in um.pair_sentence(quick, big)
    assert "FLOPs" in um.pair_sentence(small, big, "FLOPs") and "(800 MFLOPs vs 8.00 GFLOPs)" in um.pair_sentence(small, big, "FLOPs")


def test_latency_error_bars_and_table():
    timings = {"a": tm([9, 10, 11, 12, 13], "a"), "b": tm([1, 2, 3, 4, 5], "b")}
    pts = [{"name": "a", "family": "F", "latency_ms": 11.0, "top1": 70.0},
           {"name": "b", "family": "F", "latency_ms": 3.0, "top1": 60.0},
           {"name": "c", "family": "G", "latency_ms": 7.0, "top1": 65.0}]     # not timed: no bar
    base = ux.pareto_figure(pts, "latency_ms", "latency")
    spec = um.add_latency_error_bars(base, timings)
    bars = spec["layer"][0]                                     # under the points
    assert bars["name"] == "latency IQR" and bars["mark"]["type"] == "rule"
    # the quartiles of 9..13 are 10 and 12, of 1..5 are 2 and 4
    assert bars["data"]["values"] == [{"x": 10.0, "x2": 12.0, "y": 70.0, "family": "F"},
                                      {"x": 2.0, "x2": 4.0, "y": 60.0, "family": "F"}]
    assert "latency IQR" not in [p.get("name") for p in base["layer"]]     # the shared spec is untouched
    # a noisy timing: quartiles 3 and 40 ms, far beyond the points' own range (up to 11 × 10^0.15 ms)
    noisy = um.add_latency_error_bars(base, {"b": tm([1, 3, 3, 40, 50], "b")})
    lo, hi = next(p for p in noisy["layer"] if p.get("name") == "points")["encoding"]["x"]["scale"]["domain"]
    assert lo < 3.0 and hi > 40.0                               # every bar inside the plot
    assert um.add_latency_error_bars(base, {}) == base
    df = um.timings_frame(timings)
    assert list(df["model"]) == ["b", "a"] and df["IQR"][0] == "2.00–4.00 ms" and df["min–max"][1] == "9.00–13.0 ms"
    assert df["images/s"][0] == "333.3"
