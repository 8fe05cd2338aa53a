"""Streamlit-free helpers of the measured views: counted cost against time measured on this machine.

Two views use them. The explorer's "Measured here" tab sets, per layer kind, the share of a
network's MACs, of its memory access and of its measured time side by side, and lists the layers
whose share of the time most exceeds their share of the MACs (``zoo.latency.profile``). The
Pareto page ranks models by MACs and by measured latency and draws how the ranks move. This is
ShuffleNet v2's point (Ma et al. 2018, arXiv 1807.11164, §1: FLOPs are an indirect metric) made
on the user's own machine.

Plain functions of plain data (``zoo.latency`` results, dicts) returning tables, ``go.Figure``s and
Vega-Lite specs (the ranking chart) and layers (the latency bars on the Pareto chart); tested in
tests/test_ui_measure.py. Numbers go through ``zoo.fmt``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from ui import theme
from zoo import fmt
from zoo.latency import NOISE, Profile, Timing, differs, fmt_ms, speed_ratio

SHARES = (("macs_share", "MACs"), ("mem_share", "memory access"), ("time_share", "measured time"))
SHARE_COLORS = {"MACs": theme.PALETTE[0], "memory access": theme.PALETTE[1], "measured time": theme.PALETTE[3]}

# Far fewer MACs, not nearly as much faster (on a CPU at batch 1): the pairs the Pareto page spells out.
PAIRS = (("efficientnet_b0", "resnet50"), ("mobilenet_v2", "resnet18"), ("efficientnet_b3", "resnet50"))


# --- the explorer's "Measured here" tab -----------------------------------------------------------

def share_figure(groups: Sequence[dict], title: str) -> go.Figure:
    """Per layer-kind group, three bars: its share of the MACs, of the memory access, of the time."""
    fig = go.Figure()
    names = [g["group"] for g in groups]
    for key, label in SHARES:
        vals = [100 * g[key] for g in groups]
        fig.add_bar(name=label, y=names, x=vals, orientation="h", marker_color=SHARE_COLORS[label],
                    text=[fmt.percent(v, 0) if v >= 0.5 else "" for v in vals], textposition="outside",
                    cliponaxis=False,
                    hovertemplate="%{y}: %{x:.1f} % of the " + label + "<extra></extra>")
    fig.update_layout(barmode="group", height=max(320, 70 * len(groups) + 120), title=title,
                      xaxis_title="share of the network's total (%)", yaxis=dict(autorange="reversed"),
                      legend=dict(title_text="share of", x=0.94, xanchor="right", y=0.02, yanchor="bottom",
                                  bgcolor="rgba(255,255,255,0.85)"),
                      margin=dict(l=10, r=40, t=60, b=10),
                      bargap=0.25)
    return fig


def group_frame(groups: Sequence[dict]) -> pd.DataFrame:
    """The figure's numbers as a table: layers, MACs, memory access and time, each with its share."""
    return pd.DataFrame([{"layer kind": g["group"], "layers": fmt.count(g["layers"]),
                          "MACs": f"{fmt.fmt_ops(g['macs'])} ({fmt.percent(100 * g['macs_share'], 0)})",
                          "memory access (elements)": f"{fmt.si(g['mem_access']).rstrip()} "
                                                      f"({fmt.percent(100 * g['mem_share'], 0)})",
                          "time": f"{fmt_ms(g['ms'])} ({fmt.percent(100 * g['time_share'], 0)})"} for g in groups])


def excess_frame(rows: Sequence[dict]) -> pd.DataFrame:
    """The layers of ``Profile.excess()``: name, kind, shares, time with its spread, counts."""
    return pd.DataFrame([{"layer": r["name"], "kind": r["group"],
                          "share of MACs": fmt.percent(100 * r["macs_share"]),
                          "share of time": fmt.percent(100 * r["time_share"]),
                          "time (IQR)": f"{fmt_ms(r['median_ms'])} ({fmt.si(r['q1_ms']).rstrip()}–"
                                        f"{fmt.si(r['q3_ms']).rstrip()})",
                          "memory access (elements)": fmt.si(r["mem_access"]).rstrip()} for r in rows])


def sum_sentence(p: Profile) -> str:
    """How the per-layer times add up against the whole forward pass timed without hooks."""
    text = (f"The {fmt.count(len(p.layers))} layers' medians add up to {fmt_ms(p.layer_sum_ms)}, "
            f"{fmt.percent(100 * p.sum_ratio, 0)} of the whole forward pass timed without hooks "
            f"({p.whole.text()}); within each instrumented pass the layers account for "
            f"{fmt.percent(100 * p.run_ratio, 0)} of it. Each layer's time is the median of {p.runs} passes.")
    if p.sum_ratio < 0.75 <= p.run_ratio:
        text += (" The machine was busy: time taken by other programs lands in every whole pass but on a "
                 "different layer each time, so it drops out of the layers' medians.")
    return text


def lesson_sentence(p: Profile) -> str:
    """The layer kind whose share of the time most exceeds its share of the MACs, in one sentence."""
    groups = [g for g in p.by_group() if g["macs"] > 0]
    if not groups:
        return ""
    g = max(groups, key=lambda g: g["time_share"] - g["macs_share"])
    if g["time_share"] <= g["macs_share"]:
        return "Here every kind of layer takes about the share of the time its MACs predict."
    return (f"{g['group'].capitalize()} layers hold {fmt.percent(100 * g['macs_share'])} of the MACs and take "
            f"{fmt.percent(100 * g['time_share'])} of the time: "
            f"{g['time_share'] / g['macs_share']:.1f}× what counting MACs predicts.")


# --- the Pareto page's counted-vs-measured ranking -------------------------------------------------

def rank_rows(points: Sequence[dict], timings: Mapping[str, Timing]) -> list[dict]:
    """Models with both a MAC count and a timing, ranked both ways (1 = fewest MACs / fastest).

    ``points``: dicts with ``name``, ``family``, ``macs`` (and ``resolution``); ``timings``: by name.
    Ties keep the order of ``points``.
    """
    rows = [{**p, "timing": timings[p["name"]], "median_ms": timings[p["name"]].median_ms}
            for p in points if p["name"] in timings]
    for rank, r in enumerate(sorted(rows, key=lambda r: r["macs"]), start=1):
        r["rank_macs"] = rank
    for rank, r in enumerate(sorted(rows, key=lambda r: r["median_ms"]), start=1):
        r["rank_time"] = rank
    return sorted(rows, key=lambda r: r["rank_macs"])


def slope_figure(rows: Sequence[dict], unit: str = "MACs") -> dict:
    """A slope chart as a Vega-Lite spec: each model's rank by MACs (left) joined to its rank by
    measured latency (right).

    Lines that cross are models the MAC count puts in the wrong order on this machine; a model
    whose rank moves is drawn thick, one that keeps its rank thin. Left labels: name and count;
    right labels: the measured median. The values live in the layer (no top-level data).
    """
    values = []
    for r in rows:
        t = r["timing"]
        moved = r["rank_macs"] != r["rank_time"]
        for side, rank, text in ((0, r["rank_macs"], f"{r['name']} · {fmt.fmt_ops(r['macs'], unit)}"),
                                 (1, r["rank_time"], fmt_ms(t.median_ms))):
            values.append({"name": r["name"], "family": r["family"], "side": side, "rank": int(rank),
                           "label": text, "width": 5.0 if moved else 1.5, "rank_macs": int(r["rank_macs"]),
                           "rank_time": int(r["rank_time"]), "timing": t.text()})
    n = len(rows)
    color, shape = theme.vega_family_scales(r["family"] for r in rows)
    x = {"field": "side", "type": "quantitative", "title": None,
         "scale": {"domain": [-1.35, 1.55], "nice": False, "zero": False},
         "axis": {"orient": "top", "values": [0, 1], "grid": False, "domain": False, "ticks": False,
                  "labelExpr": f"datum.value == 0 ? 'by {unit}' : 'by latency here'"}}
    y = {"field": "rank", "type": "quantitative", "axis": None,
         "scale": {"domain": [0.5, n + 0.5], "reverse": True, "nice": False, "zero": False}}
    tooltip = [{"field": "name", "title": "model"}, {"field": "rank_macs", "title": f"rank by {unit}"},
               {"field": "rank_time", "title": "rank by latency"}, {"field": "timing", "title": "measured"}]
    colour = {"field": "family", "type": "nominal", "scale": color, "title": "family"}

    def layer(mark: dict, **encoding) -> dict:
        return {"data": {"values": values}, "mark": mark,
                "encoding": {"x": x, "y": y, "tooltip": tooltip, **encoding}}

    return {"$schema": theme.VEGA_SCHEMA,
            "title": f"Rank by {unit} (1 = fewest) and by latency here (1 = fastest)",
            "height": max(340, 50 * n + 190), "padding": {"top": 10, "left": 5, "right": 5, "bottom": 5},
            "layer": [
                layer({"type": "line"}, detail={"field": "name"}, color=colour,
                      strokeWidth={"field": "width", "type": "quantitative", "scale": None, "legend": None}),
                layer({"type": "point", "filled": True, "size": 150}, color=colour,
                      shape={**colour, "scale": shape}),
                {**layer({"type": "text", "align": "right", "dx": -12}, text={"field": "label"}),
                 "transform": [{"filter": "datum.side == 0"}]},
                {**layer({"type": "text", "align": "left", "dx": 12}, text={"field": "label"}),
                 "transform": [{"filter": "datum.side == 1"}]},
            ]}


def pair_sentence(small: dict, big: dict, unit: str = "MACs") -> str:
    """``"efficientnet_b0 has 10.5× fewer MACs than resnet50 (…) but runs only 3.7× faster here (…)."``

    ``small``/``big``: rank rows (``name``, ``macs``, ``timing``). A speed difference inside the
    spread is said to be within noise; a slower "small" model is said to be slower.
    """
    k = big["macs"] / small["macs"]
    a, b = small["timing"], big["timing"]
    counts = f"({fmt.fmt_ops(small['macs'], unit)} vs {fmt.fmt_ops(big['macs'], unit)})"
    times = f"({fmt_ms(a.median_ms)} vs {fmt_ms(b.median_ms)})"
    head = f"**{small['name']}** has **{k:.1f}× fewer {unit}** than **{big['name']}** {counts}"
    if not differs(a, b):
        return f"{head}, yet the two run {NOISE} {times}."
    m = speed_ratio(b, a)
    if m < 1:
        return f"{head}, yet runs **{1 / m:.1f}× slower** here {times}."
    if m < k:
        return f"{head} but runs **only {m:.1f}× faster** here {times}."
    return f"{head} and runs {m:.1f}× faster here {times}: more than its {unit} alone predict."


def add_latency_error_bars(spec: dict, timings: Mapping[str, Timing]) -> dict:
    """Horizontal IQR bars (first to third quartile, in the family's colour) under every point of a
    latency-axis ``ui.explore.pareto_figure`` naming a timed model. A new spec; ``spec`` is left as
    it is."""
    from ui import explore as ux

    points = ux.layer_named(spec, "points")
    rows = [{"x": float(timings[r["name"]].q1_ms), "x2": float(timings[r["name"]].q3_ms), "y": r["y"], "family": r["family"]}
            for r in (points["data"]["values"] if points else ()) if r["name"] in timings]
    if not rows:
        return spec
    out = ux.with_layer(spec, {
        "name": "latency IQR", "data": {"values": rows},
        "mark": {"type": "rule", "strokeWidth": 2},
        "encoding": {"x": {"field": "x", "type": "quantitative"}, "x2": {"field": "x2"},
                     "y": {"field": "y", "type": "quantitative"},
                     "color": {"field": "family", "type": "nominal"}},
    }, below=True)
    scale = ux.layer_named(out, "points")["encoding"]["x"]["scale"]
    if scale.get("type") == "log" and scale.get("domain"):      # every bar inside the plot
        lo, hi = scale["domain"]
        scale["domain"] = [min(lo, min(r["x"] for r in rows) / 1.1), max(hi, max(r["x2"] for r in rows) * 1.1)]
    return out


def timings_frame(timings: Mapping[str, Timing]) -> pd.DataFrame:
    """The measured models, fastest first: median, IQR, min–max, repeats, images/s."""
    rows = sorted(timings.values(), key=lambda t: t.median_ms)
    return pd.DataFrame([{"model": t.label, "latency (median)": fmt_ms(t.median_ms),
                          "IQR": f"{fmt.si(t.q1_ms).rstrip()}–{fmt_ms(t.q3_ms)}",
                          "min–max": f"{fmt.si(t.min_ms).rstrip()}–{fmt_ms(t.max_ms)}",
                          "repeats": t.repeats, "images/s": f"{t.per_second:.1f}"} for t in rows])


def profile_csv(p: Profile) -> str:
    """Every layer of a profile as CSV: name, kind, MACs, memory access, time median/IQR/min/max, shares."""
    cols = ["index", "name", "kind", "group", "macs", "mem_access", "median_ms", "q1_ms", "q3_ms", "min_ms", "max_ms",
            "macs_share", "mem_share", "time_share"]
    return pd.DataFrame(p.records())[cols].to_csv(index=False)
