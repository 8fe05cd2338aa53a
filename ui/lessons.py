"""Streamlit-free helpers of the Lessons pages: cost arithmetic tables, cited data, figures.

Every function here takes plain data and returns plain data, a ``go.Figure`` or a Vega-Lite spec (a
plain dict: the convolution lab's charts, which a lecture hall opens first and which so spare every
browser plotly.js, issue 16), so it is tested without Streamlit (tests/test_ui_lessons.py). Counts
come from ``zoo.costs`` (the seed paper's arithmetic) and ``zoo.analyze`` (the engine, on the meta
device); published figures come from the cited CSV files in ``assets/lessons/`` and
``assets/published.csv``; measured figures come from ``zoo.experiments`` (timed by
``zoo.latency``). Nothing here invents a number.

Conventions: MACs are multiply-accumulates, FLOPs = 2 × MACs, and every count on screen names its
unit. Memory access is ShuffleNet v2's: elements read plus elements written, weights included.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn as nn
from plotly.subplots import make_subplots

from ui import theme
from ui.explore import num  # noqa: F401 - num is part of this module's helpers for pages
from zoo import costs
from zoo.analysis import ops
from zoo.fmt import DASH, count, fmt_ops, macs_and_flops, si
from zoo.latency import NOISE, fmt_ms

ASSETS = Path(__file__).resolve().parent.parent / "assets"
LESSONS = ASSETS / "lessons"

COLORS = {"regular": "#4C78A8", "depthwise": "#F58518", "pointwise": "#54A24B", "grouped": "#B279A2",
          "plain": "#E45756", "residual": "#4C78A8", "shallow": "#72B7B2", "measured": "#4C78A8",
          "paper": "#9D755D", "unverified": "#BAB0AC", "verified": "#54A24B"}
MARGIN = dict(l=10, r=10, t=50, b=10)
# plotly's default colourway, which these charts used before they moved to Vega-Lite
CASE_COLORS = {"MACs": "#636EFA", "parameters": "#EF553B", "memory access": "#00CC96"}


def read_csv(name: str) -> list[dict]:
    """Rows of ``assets/lessons/<name>`` (or of an ``assets/`` file given as ``../file.csv``)."""
    with open(LESSONS / name, newline="") as f:
        return list(csv.DictReader(f))


# --- 1. the convolution cost lab (seed §3.2, Table 3) -----------------------------------------

TABLE3 = dict(h=7, w=7, c_in=3, c_out=128, k=3, stride=1, padding=0, groups=1)
# the convolution lab's inputs, in the order of conv_layers' arguments (a cache key, a row of inputs)
CONV_ARGS = ("h", "w", "c_in", "c_out", "k", "stride", "padding", "groups")


def check_conv_inputs(h: int, w: int, c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0,
                      groups: int = 1) -> str | None:
    """A sentence saying what is wrong with the inputs, or None when they describe a convolution."""
    for label, v in (("H", h), ("W", w), ("C_in", c_in), ("C_out", c_out), ("K", k), ("stride", stride),
                     ("groups", groups)):
        if int(v) != v or v < 1:
            return f"{label} must be a positive whole number (got {v})."
    if padding < 0:
        return f"padding cannot be negative (got {padding})."
    if c_in % groups or c_out % groups:
        return f"groups = {groups} must divide both C_in = {c_in} and C_out = {c_out}."
    try:
        costs.conv_cost(h, w, c_in, c_out, k, stride, padding, groups)
    except ValueError as e:  # the kernel does not fit
        return f"{e}."
    return None


def _layer_row(case: str, layer: str, kind: str, h: int, w: int, c_in: int, c_out: int, k: int, stride: int,
               padding: int, groups: int) -> dict:
    c = costs.conv_cost(h, w, c_in, c_out, k, stride, padding, groups)
    return {"case": case, "layer": layer, "kind": kind, "kernel": f"{k}×{k}", "groups": groups,
            "in_shape": (c_in, h, w), "out_shape": (c_out, c["out_h"], c["out_w"]),
            **{key: c[key] for key in ("macs", "flops", "params", "mem_access")}}


def conv_layers(h: int, w: int, c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0,
                groups: int = 1) -> list[dict]:
    """Each layer of the three ways to map h×w×c_in to c_out channels with a k×k window.

    ``regular``: one k×k convolution. ``depthwise-separable``: a k×k depthwise convolution (one
    filter per input channel) then a 1×1 pointwise one (MobileNets). ``grouped``: one k×k
    convolution in ``groups`` groups (only when groups > 1). Counts from ``zoo.costs``.
    """
    rows = [_layer_row("regular", "k×k conv", "regular", h, w, c_in, c_out, k, stride, padding, 1)]
    dw = _layer_row("depthwise-separable", "depthwise k×k", "depthwise", h, w, c_in, c_in, k, stride, padding, c_in)
    _, oh, ow = dw["out_shape"]
    pw = _layer_row("depthwise-separable", "pointwise 1×1", "pointwise", oh, ow, c_in, c_out, 1, 1, 0, 1)
    rows += [dw, pw]
    if groups > 1:
        rows.append(_layer_row(f"grouped (g = {groups})", f"k×k conv, {groups} groups", "grouped",
                               h, w, c_in, c_out, k, stride, padding, groups))
    return rows


def conv_cases(layers: Sequence[dict]) -> list[dict]:
    """Totals per case, with the MAC ratio against the regular convolution."""
    cases: dict[str, dict] = {}
    for r in layers:
        c = cases.setdefault(r["case"], {"case": r["case"], "macs": 0, "flops": 0, "params": 0, "mem_access": 0})
        for key in ("macs", "flops", "params", "mem_access"):
            c[key] += r[key]
    regular = cases["regular"]["macs"]
    for c in cases.values():
        c["vs_regular"] = regular / c["macs"]
    return list(cases.values())


class _Channels(nn.Module):
    """Turns the engine's (1, 3, H, W) probe into (1, C, H, W) by a view: no MACs, no weights."""

    def __init__(self, c: int):
        super().__init__()
        self.c = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1].expand(-1, self.c, -1, -1)  # (1, 3, H, W) -> (1, C, H, W), a view


def case_models(h: int, w: int, c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0,
                groups: int = 1) -> dict[str, nn.Module]:
    """The real layers of each case (no bias, as in the seed's count), ready for ``zoo.analyze``."""
    with torch.device("meta"):
        models = {
            "regular": nn.Sequential(_Channels(c_in), nn.Conv2d(c_in, c_out, k, stride, padding, bias=False)),
            "depthwise-separable": nn.Sequential(
                _Channels(c_in),
                nn.Conv2d(c_in, c_in, k, stride, padding, groups=c_in, bias=False),
                nn.Conv2d(c_in, c_out, 1, bias=False)),
        }
        if groups > 1:
            models[f"grouped (g = {groups})"] = nn.Sequential(
                _Channels(c_in), nn.Conv2d(c_in, c_out, k, stride, padding, groups=groups, bias=False))
    return models


def verify_with_engine(h: int, w: int, c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0,
                       groups: int = 1) -> list[dict]:
    """Run the real layers through ``zoo.analyze`` and set its counts beside the formulas'.

    One row per convolution: the formula's MACs/params/memory access, the engine's, and whether
    they agree exactly.
    """
    import zoo

    formula = conv_layers(h, w, c_in, c_out, k, stride, padding, groups)
    out = []
    for case, model in case_models(h, w, c_in, c_out, k, stride, padding, groups).items():
        a = zoo.analyze(model, resolution=(h, w))
        convs = [lay for lay in a.layers if lay.kind in ("conv", "pointwise", "depthwise", "grouped")]
        expected = [r for r in formula if r["case"] == case]
        for lay, f in zip(convs, expected):
            engine = {"macs": lay.macs, "params": lay.params, "mem_access": lay.mem_access}
            out.append({"case": case, "layer": f["layer"], "engine_kind": lay.kind,
                        "in_shape": tuple(lay.in_shape), "out_shape": tuple(lay.out_shape),
                        **{f"{key}_formula": f[key] for key in engine},
                        **{f"{key}_engine": v for key, v in engine.items()},
                        "match": all(f[key] == v for key, v in engine.items())})
        if len(convs) != len(expected):
            out.append({"case": case, "layer": "?", "match": False})
    return out


def connectivity(c_in: int, c_out: int, groups: int) -> np.ndarray:
    """(c_out, c_in) 0/1 matrix: which input channels each filter (output channel) reads."""
    m = np.zeros((c_out, c_in), dtype=int)
    gi, go_ = c_in // groups, c_out // groups
    for g in range(groups):
        m[g * go_:(g + 1) * go_, g * gi:(g + 1) * gi] = g + 1
    return m


def shown_channels(n: int, max_show: int) -> list[int]:
    """At most ``max_show`` channel indices spread evenly over 0…n−1 (all of them when n is small).

    Sampling evenly keeps the structure visible: a depthwise diagonal stays a diagonal and the
    blocks of a grouped convolution stay blocks, where cutting at the first channels would not.
    """
    if n <= max_show:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, max_show)})


def filters_figure(c_in: int, c_out: int, k: int, groups: int = 1, max_show: int = 12) -> dict:
    """The filters of each case as a connectivity grid (a Vega-Lite spec): a column per filter, a row
    per input channel, one panel per case side by side.

    A filled cell is one k×k (or 1×1) slice of weights: the regular convolution fills the grid,
    the depthwise one only its diagonal, the pointwise one fills it with 1×1 slices, a grouped one
    fills ``groups`` diagonal blocks (coloured by group). Beyond ``max_show`` channels an even sample
    is drawn, with the true channel numbers on the axes. Each panel carries its own data (no
    top-level data: Streamlit would turn it into Arrow, another chunk for the browser to load).
    """
    panels = [("regular", [f"regular {k}×{k}"], [f"{c_out} filters", f"of {k}×{k}×{c_in}"], connectivity(c_in, c_out, 1), k),
              ("depthwise", [f"depthwise {k}×{k}"], [f"{c_in} filters", f"of {k}×{k}×1"], connectivity(c_in, c_in, c_in), k),
              ("pointwise", ["pointwise 1×1"], [f"{c_out} filters", f"of 1×1×{c_in}"], connectivity(c_in, c_out, 1), 1)]
    if groups > 1:
        panels.append(("grouped", [f"grouped {k}×{k}", f"g = {groups}"], [f"{c_out} filters", f"of {k}×{k}×{c_in // groups}"],
                       connectivity(c_in, c_out, groups), k))
    width = 108 if len(panels) > 3 else 160      # four panels fit a projector's 1024-px page side by side
    views = []
    for i, (kind, title, subtitle, m, kk) in enumerate(panels):
        rows_idx = shown_channels(m.shape[0], max_show)   # filters
        cols_idx = shown_channels(m.shape[1], max_show)   # input channels
        cells = [{"filter": str(f), "channel": str(c), "group": int(m[f, c]), "slice": f"{kk}×{kk}",
                  "tip": f"filter {f} reads input channel {c}"}
                 for f in rows_idx for c in cols_idx if m[f, c]]
        if kind == "grouped":
            shown = sorted({c["group"] for c in cells})
            color = ({"field": "group", "type": "quantitative", "legend": None,
                      "scale": {"scheme": "viridis", "domain": [shown[0], shown[-1]]}}
                     if len(shown) > 1 else {"value": "#440154"})      # viridis' first colour
        else:
            color = {"value": COLORS[kind]}
        sampled = len(rows_idx) < m.shape[0] or len(cols_idx) < m.shape[1]
        x = {"field": "filter", "type": "ordinal", "scale": {"domain": [str(j) for j in rows_idx], "paddingInner": 0.08},
             "axis": {"title": "filters" + (" (sampled)" if sampled else ""), "labelAngle": 0, "labelOverlap": "greedy",
                      "grid": False, "ticks": False, "domain": False}}
        y = {"field": "channel", "type": "ordinal", "scale": {"domain": [str(j) for j in cols_idx], "paddingInner": 0.08},
             "axis": {"title": "input channel" if i == 0 else None, "labelOverlap": "greedy", "grid": False,
                      "ticks": False, "domain": False}}
        layers = [{"data": {"values": cells}, "mark": {"type": "rect"},
                   "encoding": {"x": x, "y": y, "color": color, "tooltip": {"field": "tip", "type": "nominal"}}}]
        if len(rows_idx) <= 4:           # the slice size written in each cell only where cells are wide enough
            ink = ({"condition": {"test": f"datum.group > {(groups + 1) / 2}", "value": "black"}, "value": "white"}
                   if kind == "grouped" else {"value": "black" if kind == "depthwise" else "white"})
            layers.append({"data": {"values": cells}, "mark": {"type": "text"},
                           "encoding": {"x": x, "y": y, "text": {"field": "slice", "type": "nominal"}, "color": ink,
                                        "tooltip": {"field": "tip", "type": "nominal"}}})
        views.append({"title": {"text": title, "subtitle": subtitle}, "width": width, "height": 250,
                      "view": {"fill": "#f4f4f4", "stroke": None}, "layer": layers})
    return {"$schema": theme.VEGA_SCHEMA, "hconcat": views, "spacing": 16}


def cases_figure(cases: Sequence[dict]) -> dict:
    """MACs, parameters and memory access of each case, relative to the regular convolution: grouped
    bars with the ratio written above each (a Vega-Lite spec, its data inside the layers)."""
    reg = next(c for c in cases if c["case"] == "regular")
    quantities = list(CASE_COLORS)
    keys = dict(zip(quantities, ("macs", "params", "mem_access")))
    values = [{"case": c["case"], "quantity": q, "ratio": c[keys[q]] / reg[keys[q]],
               "label": f"{c[keys[q]] / reg[keys[q]]:.2f}×", "exact": count(c[keys[q]])}
              for c in cases for q in quantities]
    top = max(v["ratio"] for v in values)
    enc = {"x": {"field": "case", "type": "nominal", "sort": [c["case"] for c in cases],
                 "axis": {"title": None, "labelAngle": 0}},
           "xOffset": {"field": "quantity", "type": "nominal", "sort": quantities},
           "y": {"field": "ratio", "type": "quantitative", "title": "× the regular convolution",
                 "scale": {"domainMax": top * 1.12}},
           "tooltip": [{"field": "case", "type": "nominal", "title": "case"},
                       {"field": "quantity", "type": "nominal", "title": "quantity"},
                       {"field": "exact", "type": "nominal", "title": "count"},
                       {"field": "ratio", "type": "quantitative", "title": "× regular", "format": ".3f"}]}
    return {"$schema": theme.VEGA_SCHEMA, "title": "Cost of each case, relative to the regular convolution", "height": 400,
            "layer": [{"data": {"values": values}, "mark": {"type": "bar"},
                       "encoding": {**enc, "color": {"field": "quantity", "type": "nominal", "title": None,
                                                     "scale": {"domain": quantities, "range": list(CASE_COLORS.values())}}}},
                      {"data": {"values": values}, "mark": {"type": "text", "baseline": "bottom", "dy": -3},
                       "encoding": {**enc, "text": {"field": "label", "type": "nominal"}}}]}


# inside real networks: how the MACs split between depthwise and pointwise layers
SPLIT_MODELS = ("mobilenet_v1", "mobilenet_v2", "shufflenet_v2_x1_0", "efficientnet_b0")
SPLIT_KINDS = ("pointwise", "depthwise", "conv", "grouped", "linear", "se")


def kind_split(name: str, by_kind: Sequence[dict], total_macs: int) -> dict:
    """Share of a network's MACs in each kind of layer (from ``Analysis.by_kind()``)."""
    macs = {r["group"]: r["macs"] for r in by_kind}
    row = {"model": name, "total_macs": total_macs}
    for kind in SPLIT_KINDS:
        row[kind] = macs.get(kind, 0)
        row[f"{kind} %"] = 100 * macs.get(kind, 0) / total_macs if total_macs else 0.0
    return row


SPLIT_COLORS = {"pointwise": COLORS["pointwise"], "depthwise": COLORS["depthwise"], "conv": COLORS["regular"],
                "grouped": COLORS["grouped"], "linear": "#9D755D", "se": "#BAB0AC"}
SPLIT_NAMES = {"conv": "k×k conv (stem)", "linear": "linear (classifier)", "se": "squeeze-excite"}
SPLIT_INK = {"depthwise": "black", "se": "black"}     # text on the light segments; white on the dark ones
LABEL_PX = 60        # a share is written inside its segment from this width up ("88.8 %" at 18 px fits)
NARROW = f"scale('x', datum.end) - scale('x', datum.start) < {LABEL_PX}"     # a segment's width on screen, in px


def kind_split_figure(rows: Sequence[dict]) -> dict:
    """Each network's MACs split by kind of layer, one stacked horizontal bar per network in the
    order given (a Vega-Lite spec). Segments are laid out here (start, end) so the share written
    inside each (from 4 % up, and where the segment is ``LABEL_PX`` wide on screen) sits at its
    middle; kinds absent from every network are left out."""
    kinds = [k for k in SPLIT_KINDS if any(r[f"{k} %"] for r in rows)]
    values = []
    for r in rows:
        start = 0.0
        for kind in kinds:
            pct = float(r[f"{kind} %"])
            values.append({"model": r["model"], "kind": SPLIT_NAMES.get(kind, kind), "start": start,
                           "end": start + pct, "mid": start + pct / 2, "label": f"{pct:.1f} %" if pct >= 4 else "",
                           "ink": SPLIT_INK.get(kind, "white"),
                           "tip": f"{r['model']}: {pct:.1f} % of MACs in {kind} layers ({macs_and_flops(r[kind])})"})
            start += pct
    names = [SPLIT_NAMES.get(k, k) for k in kinds]
    y = {"field": "model", "type": "nominal", "sort": [r["model"] for r in rows], "title": None}
    tip = {"field": "tip", "type": "nominal"}
    return {"$schema": theme.VEGA_SCHEMA, "title": "Where the multiply-accumulates go (engine, meta device, 224×224)",
            "height": 360,      # 40 px more than the plotly chart had: the legend below takes two rows
            "layer": [{"data": {"values": values}, "mark": {"type": "bar"},
                       "encoding": {"y": y, "x": {"field": "start", "type": "quantitative", "title": "% of the network's MACs",
                                                  "scale": {"domain": [0, 100]}},
                                    "x2": {"field": "end"}, "tooltip": tip,
                                    "color": {"field": "kind", "type": "nominal", "title": None, "legend": {"columns": 3},
                                              "scale": {"domain": names, "range": [SPLIT_COLORS[k] for k in kinds]}}}},
                      {"data": {"values": values}, "mark": {"type": "text"},
                       "encoding": {"y": y, "x": {"field": "mid", "type": "quantitative"}, "tooltip": tip,
                                    "text": {"field": "label", "type": "nominal"},
                                    "color": {"field": "ink", "type": "nominal", "scale": None},
                                    # written only where the segment is wide enough on this screen
                                    "opacity": {"condition": {"test": NARROW, "value": 0}, "value": 1}}}]}


# --- 2. ShuffleNet v2 guidelines (seed §3.2.1, Table 4; Ma et al. 2018 §2, Tables 1–4) -------

PAPER_CSV = "shufflenet_v2_guidelines.csv"
PLATFORMS = {"GPU": "GPU (GTX 1080Ti)", "ARM": "ARM (Snapdragon 810, 1 thread)"}
# The row each guideline's lesson turns on, and the direction the paper found for it.
EXTREME = {"G1": "1:12", "G2": "g = 8", "G3": "4-fragment-parallel", "G4": "neither"}
PAPER_SAYS = {"G1": "slower", "G2": "slower", "G3": "slower", "G4": "faster"}
# Plain reasons a CPU can part from the paper, per guideline (shown only where it does).
REASONS = {
    "G1": ("The guideline counts memory traffic, and on this CPU the convolution kernels (oneDNN) block "
           "their work to keep operands in cache, so the extra traffic of unequal widths costs less than on "
           "the paper's devices; the effect then shows only where a layer becomes very narrow or its maps "
           "stop fitting in cache."),
    "G2": ("A grouped 1×1 convolution runs as g smaller matrix products. How much that costs depends on how "
           "well the CPU kernels handle many small products, which is a property of the library, not of the "
           "MAC count."),
    "G3": ("A CPU running one or two threads works through one kernel at a time: there are no thousands of GPU "
           "lanes to keep busy, so splitting a convolution costs only the few microseconds of each extra call. "
           "The paper's ARM column shows the same: fragmentation hurts far less there than on its GPU."),
    "G4": ("Element-wise operations read and write whole feature maps and do almost no arithmetic. Where those "
           "maps fit this processor's caches they are cheap next to the convolutions, and their share of the "
           "time falls as the unit gets wider."),
}


def paper_rows(guideline: str) -> list[dict]:
    """The paper's rows for one guideline (``assets/lessons/shufflenet_v2_guidelines.csv``)."""
    return [r for r in read_csv(PAPER_CSV) if r["guideline"] == guideline]


def paper_relative(rows: Sequence[dict], base: str) -> dict[tuple[str, str, str], float]:
    """{(platform, width, config): speed / speed of ``base`` at the same platform and width}."""
    speed = {(r["platform"], r["width"], r["config"]): float(r["value"]) for r in rows}
    return {k: v / speed[(k[0], k[1], base)] for k, v in speed.items() if (k[0], k[1], base) in speed}


def speed_words(ratio: float) -> str:
    """A speed ratio against the base (> 1 faster) in words: ``1.32× slower``, ``1.17× faster``."""
    if ratio >= 1:
        return f"{ratio:.2f}× faster"
    return f"{1 / ratio:.2f}× slower"


def _relative_bounds(rows: Sequence[dict]) -> dict[tuple[str, str], tuple[float, float]]:
    """Speed relative to the base for each row's q3 and q1 (the IQR as an interval of the ratio)."""
    base = {r["width"]: r["median_ms"] for r in rows if r["config"] == r["base"]}
    return {(r["width"], r["config"]): (base[r["width"]] / r["q3_ms"], base[r["width"]] / r["q1_ms"]) for r in rows}


def guideline_figure(rows: Sequence[dict], paper: Sequence[dict], title: str) -> go.Figure:
    """Speed relative to each width's base row: here (median, IQR bars) beside the paper's GPU and ARM.

    One panel per width (×1, ×2…), stacked, sharing the speed axis: the configurations run down
    each panel with their names written in full, legible on a narrow screen; 1 = as fast as the
    base, right of it = faster.
    """
    widths = list(dict.fromkeys(r["width"] for r in rows))
    n_cfg = len({r["config"] for r in rows})
    fig = make_subplots(rows=len(widths), cols=1, subplot_titles=[f"width {w}" for w in widths], shared_xaxes=True,
                        vertical_spacing=0.35 / (len(widths) * n_cfg) * 4)
    base = rows[0]["base"]
    prel = paper_relative(paper, base)
    bounds = _relative_bounds(rows)
    styles = {"here": (theme.PALETTE[0], "circle", "solid", "here"),
              "GPU": (theme.PALETTE[6], "square", "dot", "paper GPU"),
              "ARM": (theme.PALETTE[1], "diamond", "dash", "paper ARM")}
    for i, w in enumerate(widths, start=1):
        rs = [r for r in rows if r["width"] == w]
        ys = [r["config"] for r in rs]
        xs = [r["speed_vs_base"] for r in rs]
        lo = [x - bounds[(w, r["config"])][0] for x, r in zip(xs, rs)]
        hi = [bounds[(w, r["config"])][1] - x for x, r in zip(xs, rs)]
        for plat in ("GPU", "ARM"):
            px = [prel.get((plat, w, c)) for c in ys]
            if not any(v is not None for v in px):
                continue
            color, symbol, dash, name = styles[plat]
            fig.add_scatter(x=px, y=ys, mode="lines+markers", name=name, legendgroup=plat, showlegend=i == 1,
                            line=dict(color=color, dash=dash, width=2), marker=dict(symbol=symbol, size=10),
                            hovertemplate="%{y}: %{x:.2f} × the speed of " + base + "<extra>" + PLATFORMS[plat]
                                          + "</extra>", row=i, col=1)
        color, symbol, dash, name = styles["here"]
        fig.add_scatter(x=xs, y=ys, mode="lines+markers", name=name, legendgroup="here", showlegend=i == 1,
                        line=dict(color=color, width=3), marker=dict(symbol=symbol, size=12),
                        error_x=dict(type="data", array=hi, arrayminus=lo, visible=True, thickness=2),
                        customdata=[[r["timing"].text(), r["verdict"] or "the base"] for r in rs],
                        hovertemplate="%{y}: %{x:.2f} × the speed of " + base
                                      + "<br>%{customdata[0]}<br>%{customdata[1]}<extra>this machine</extra>",
                        row=i, col=1)
        fig.add_vline(x=1.0, line_color="#999", line_width=1, row=i, col=1)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title_text=f"× the speed of {base}", row=len(widths), col=1)
    fig.update_layout(height=len(widths) * (40 * n_cfg + 60) + 160, title=title, legend=dict(orientation="h"),
                      margin=dict(l=10, r=10, t=80, b=10))
    return fig


def guideline_table(rows: Sequence[dict], paper: Sequence[dict]) -> "pd.DataFrame":
    """One row per configuration: its counts, its time with spread, and speed against the base
    here and in the paper (GPU, ARM), side by side. "within noise" in a cell is short for
    :data:`zoo.latency.NOISE`, which the page's caption spells out."""
    import pandas as pd

    prel = paper_relative(paper, rows[0]["base"])
    out = []
    for r in rows:
        base_row = r["config"] == r["base"]
        out.append({
            "configuration": f"{r['width']} · {r['config']}", "channels": channels_label(r),
            "MACs": fmt_ops(r["macs"]), "memory access (elements)": si(r["mem_access"]).rstrip(),
            "time here (IQR)": f"{fmt_ms(r['median_ms'])} ({si(r['q1_ms']).rstrip()}–{si(r['q3_ms']).rstrip()})",
            "vs base, here": "base" if base_row else (speed_words(r["speed_vs_base"]) if r["differs"] else
                                                      "within noise"),
            "paper GPU": _paper_cell(prel, "GPU", r, base_row), "paper ARM": _paper_cell(prel, "ARM", r, base_row),
        })
    return pd.DataFrame(out)


def _paper_cell(prel: dict, plat: str, r: dict, base_row: bool) -> str:
    v = prel.get((plat, r["width"], r["config"]))
    if v is None:
        return DASH
    return "base" if base_row else speed_words(v)


def channels_label(r: dict) -> str:
    """The configuration's channel widths as the paper's tables give them."""
    if "c1" in r:
        return f"({r['c1']}, {r['c2']})"
    if "bottleneck" in r:
        return f"c = {r['channels']}, {r['bottleneck']}"
    return f"c = {r['channels']}"


def paper_table(paper: Sequence[dict]) -> "pd.DataFrame":
    """The paper's table as printed: a row per configuration, a column per platform and width
    (GPU in batches/s, ARM in images/s; the page's caption says so)."""
    import pandas as pd

    rows: dict[str, dict] = {}
    for p in paper:
        row = rows.setdefault(p["config"], {"configuration": p["config"]})
        row[f"{p['platform']} {p['width']}"] = p["value"]   # as printed: 1480, 76.2
    return pd.DataFrame(list(rows.values()))


def paper_widths(paper: Sequence[dict]) -> str:
    """``"GPU ×1: (128,128); ARM ×1: (32,32)"``-style note of the widths behind the paper's ×1 columns."""
    parts = []
    for plat in ("GPU", "ARM"):
        cs = [p["paper_c"] for p in paper if p["platform"] == plat and p["paper_c"]]
        if cs:
            parts.append(f"{plat}: {', '.join(dict.fromkeys(cs))}")
    return "; ".join(parts)


def guideline_summary(rows: Sequence[dict], paper: Sequence[dict], guideline: str) -> dict:
    """What this machine found for the guideline's key row at each width, against the paper.

    Returns ``{"sentences", "agrees", "disagrees", "noise", "noise_widths", "disagree_widths"}``:
    ``agrees`` when at some width the key row differs beyond the spread in the paper's direction,
    ``disagrees`` when it differs the other way, ``noise`` when at some width it is within noise
    (and the widths where each happened).
    """
    key = EXTREME[guideline]
    prel = paper_relative(paper, rows[0]["base"])
    sentences, agrees, disagrees, noise = [], False, False, False
    noisy, against = [], []
    for r in (r for r in rows if r["config"] == key):
        same = True
        gpu, arm = prel.get(("GPU", r["width"], key)), prel.get(("ARM", r["width"], key))
        parts = [f"{speed_words(v)} on its {plat}" for plat, v in (("GPU", gpu), ("ARM", arm)) if v is not None]
        paper_part = f"the paper: {', '.join(parts)}" if parts else ""
        if r["differs"]:
            here = speed_words(r["speed_vs_base"])
            same = here.endswith(PAPER_SAYS[guideline])
            agrees |= same
            disagrees |= not same
            text = f"at {r['width']}, {key} runs **{here}** than {r['base']} here"
        else:
            noise = True
            text = f"at {r['width']}, {key} and {r['base']} run **{NOISE}**"
        sentences.append(f"{text} ({paper_part})" if paper_part else text)
        if not r["differs"]:
            noisy.append(r["width"])
        elif not same:
            against.append(r["width"])
    return {"sentences": sentences, "agrees": agrees, "disagrees": disagrees, "noise": noise,
            "noise_widths": noisy, "disagree_widths": against}


def mem_access_figure(h: int, w: int, flops: int, ratios: Sequence[float] = (1, 2, 4, 6, 8, 12, 16)) -> go.Figure:
    """ShuffleNet v2 eq. (1): memory access of a 1×1 conv at fixed cost B, against c2/c1 (zoo.costs).

    The title stays short (the figure sits in a half-width column); the page says B and h×w."""
    xs, ys = [], []
    for r in ratios:
        c1, c2 = costs.channels_for_ratio(h, w, flops, r)
        xs.append(f"1:{r:g}")
        ys.append(h * w * (c1 + c2) + c1 * c2)
    bound = costs.mem_access_lower_bound(h, w, flops)
    fig = go.Figure(go.Bar(x=xs, y=ys, marker_color=COLORS["measured"], name="hw(c1 + c2) + c1·c2",
                           customdata=[count(y) for y in ys],
                           hovertemplate="c1:c2 = %{x}: %{customdata} elements<extra></extra>"))
    fig.add_hline(y=bound, line_dash="dot", annotation_text=f"lower bound, Eq. 1: {count(bound)}",
                  annotation_position="bottom right", annotation_bgcolor="rgba(255,255,255,0.85)")
    fig.update_layout(height=320, margin=MARGIN, yaxis_title="elements", xaxis_title="c1:c2",
                      title="Memory access at equal MACs (computed)")
    return fig


# --- 3. residual learning (seed §3.1, Table 1, Figure 2) --------------------------------------

def gradient_series(nets: Sequence[tuple[str, str, dict]], resolution: int, progress=None) -> dict:
    """One forward and backward pass of each ``(label, zoo name, builder overrides)`` on the same
    batch of sample photos, one torch thread: ``{"series": {label: per-layer norms}, "what", "machine"}``
    (``zoo.experiments.gradient_norms``), for the residual page and the lecture alike."""
    import zoo
    from zoo import experiments as X
    from zoo import latency

    progress = progress or (lambda fraction, text: None)
    x, what = sample_batch(int(resolution), 4)
    out = {}
    with latency.torch_threads(1):
        for i, (label, name, kw) in enumerate(nets):
            progress(i / len(nets), f"{label}: forward and backward at {resolution}×{resolution}…")
            torch.manual_seed(0)
            out[label] = X.gradient_norms(zoo.build(name, **kw), x)
    progress(1.0, "done")
    return {"series": out, "what": what, "machine": latency.machine(1).label()}


def grad_norm_figure(series: Mapping[str, Sequence[dict]], value: str = "grad_norm") -> go.Figure:
    """Gradient norm of every weight layer at initialisation, input (left) to output (right)."""
    fig = go.Figure()
    for label, rows in series.items():
        plain = label.lower().startswith("plain")
        fig.add_scatter(x=[r["index"] for r in rows], y=[r[value] for r in rows], mode="lines+markers",
                        name=label, marker_size=4,
                        line=dict(color=COLORS["plain"] if plain else COLORS["residual"],
                                  dash="solid" if len(rows) < 60 else "dot"),
                        customdata=[r["name"] for r in rows],
                        hovertemplate="layer %{x} (%{customdata})<br>%{y:.3g}<extra>" + label + "</extra>")
    fig.update_layout(height=400, margin=MARGIN, yaxis_type="log", xaxis_title="weight layer (1 = first, input side)",
                      yaxis_title="‖∂loss/∂W‖ (log scale)" if value == "grad_norm" else "RMS of ∂loss/∂W (log scale)",
                      title="Gradient norm of every convolution/linear layer at initialisation",
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    return fig


def grad_spread(rows: Sequence[dict], value: str = "grad_norm") -> float:
    """max / min of the per-layer gradient norms: how many times larger the largest is."""
    vals = [r[value] for r in rows if r[value] > 0]
    return max(vals) / min(vals) if vals else float("nan")


def loss_figure(losses: Mapping[str, Sequence[float]], window: int = 5) -> go.Figure:
    from zoo.experiments import smoothed

    fig = go.Figure()
    for label, ys in losses.items():
        color = COLORS["residual"] if "resnet" in label.lower() else (
            COLORS["plain"] if label != min(losses, key=_depth_of) else COLORS["shallow"])
        fig.add_scatter(y=list(ys), mode="lines", line=dict(color=color, width=1), opacity=0.3,
                        showlegend=False, hoverinfo="skip")
        fig.add_scatter(y=smoothed(ys, window), mode="lines", name=label, line=dict(color=color, width=2.5),
                        hovertemplate="step %{x}: %{y:.3f}<extra>" + label + f" ({window}-step mean)</extra>")
    fig.update_layout(height=380, margin=MARGIN, xaxis_title="training step", yaxis_title="training loss (cross-entropy)",
                      title="Training loss (thin: per step; thick: running mean)",
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    return fig


def _depth_of(label: str) -> int:
    digits = "".join(ch for ch in label if ch.isdigit())
    return int(digits) if digits else 0


# --- 4. Inception (seed §3.1.2, Table 2, Figures 7-8) -----------------------------------------

def branch_costs(records: Sequence[dict], block: str) -> list[dict]:
    """MACs, parameters and output channels of each branch of one Inception block.

    A branch is the first name component under the block (``inception3a.branch2.1.conv`` ->
    ``branch2``); the concatenation and anything outside a branch are left out.
    """
    rows: dict[str, dict] = {}
    prefix = block + "."
    for r in records:
        if not r["name"].startswith(prefix):
            continue
        part = r["name"][len(prefix):].split(".")[0]
        if part in ("cat", "add", "mul", "relu", "act", "conv2d", "conv") or r["kind"] in ("concat",):
            continue
        b = rows.setdefault(part, {"branch": part, "macs": 0, "params": 0, "out_channels": 0, "layers": []})
        b["macs"] += r["macs"]
        b["params"] += r["params"]
        if r["out_shape"] and len(r["out_shape"]) == 4:
            b["out_channels"] = r["out_shape"][1]
        if r["kind"] in ("conv", "pointwise", "depthwise", "grouped", "pool"):
            k = r.get("kernel")
            b["layers"].append(f"{r['kind'] if r['kind'] == 'pool' else 'conv'} {k[0]}×{k[1]}" if k else r["kind"])
    total = sum(b["macs"] for b in rows.values()) or 1
    for b in rows.values():
        b["share"] = b["macs"] / total
        b["path"] = " → ".join(b.pop("layers"))
    return list(rows.values())


def branch_figure(rows: Sequence[dict], title: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=[r["branch"] for r in rows], y=[r["macs"] for r in rows],
                           marker_color=COLORS["measured"],
                           text=[f"{100 * r['share']:.0f} %" for r in rows], textposition="outside",
                           customdata=[[r["path"], count(r["params"]), r["out_channels"]] for r in rows],
                           hovertemplate="%{x}: %{customdata[0]}<br>%{y:,} MACs, %{customdata[1]} params, "
                                         "%{customdata[2]} output channels<extra></extra>"))
    fig.update_layout(height=320, margin=MARGIN, yaxis_title="MACs (engine)", title=dict(text=title, font_size=13))
    return fig


def inception_module_cost(row: Sequence, in_channels: int, side: int) -> list[dict]:
    """GoogLeNet Table 1 module, naive vs with 1×1 reductions (Szegedy et al. 2015, Figure 2).

    ``row`` = (name, #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj), as in
    ``zoo.googlenet.TABLE1``; the paper's kernels (a real 5×5). Naive: the 1×1, 3×3 and 5×5
    convolutions all read the full input and the pooled input is concatenated as is.
    Returns one row per design: MACs, parameters, output channels (counts from ``zoo.costs``).
    """
    _, c1, r3, c3, r5, c5, pp = row
    cc = lambda ci, co, k: costs.conv_cost(side, side, ci, co, k, padding=k // 2)  # noqa: E731
    naive = [cc(in_channels, c1, 1), cc(in_channels, c3, 3), cc(in_channels, c5, 5)]
    reduced = [cc(in_channels, c1, 1), cc(in_channels, r3, 1), cc(r3, c3, 3), cc(in_channels, r5, 1),
               cc(r5, c5, 5), cc(in_channels, pp, 1)]
    return [
        {"design": "naive (Figure 2a)", "macs": sum(c["macs"] for c in naive),
         "params": sum(c["params"] for c in naive), "out_channels": c1 + c3 + c5 + in_channels},
        {"design": "with 1×1 reductions (Figure 2b)", "macs": sum(c["macs"] for c in reduced),
         "params": sum(c["params"] for c in reduced), "out_channels": c1 + c3 + c5 + pp},
    ]


def factorization(h: int, w: int, c_in: int, c_out: int, n: int, mid: int | None = None) -> list[dict]:
    """One n×n convolution against its two factorizations (Szegedy et al. 2016, §3.1–3.2).

    ``stacked 3×3``: (n − 1)/2 stacked 3×3 convolutions see the same n×n window (5×5 → two 3×3,
    cost 2·9/25 = 72 %). ``1×n then n×1``: the asymmetric pair (cost 2n/n², 29 % for n = 7).
    ``mid`` is the width between the factors (default ``c_out``, which makes the ratios exact).
    Stride 1 and "same" padding: every output is h×w. Counts from ``zoo.costs``.
    """
    mid = c_out if mid is None else mid
    full = costs.conv_cost(h, w, c_in, c_out, n, padding=n // 2)
    rows = [{"design": f"one {n}×{n}", "macs": full["macs"], "params": full["params"]}]
    depth = (n - 1) // 2
    if n % 2 == 1 and depth >= 2:
        widths = [c_in] + [mid] * (depth - 1) + [c_out]
        parts = [costs.conv_cost(h, w, a, b, 3, padding=1) for a, b in zip(widths, widths[1:])]
        rows.append({"design": f"{depth} stacked 3×3", "macs": sum(p["macs"] for p in parts),
                     "params": sum(p["params"] for p in parts)})
    # 1×n (c_in → mid) then n×1 (mid → c_out): a 1×n window costs n MACs per input channel per output
    pair = [costs.conv_cost(h, w, c_in, mid, (1, n), padding=(0, n // 2)),
            costs.conv_cost(h, w, mid, c_out, (n, 1), padding=(n // 2, 0))]
    rows.append({"design": f"1×{n} then {n}×1", "macs": sum(p["macs"] for p in pair),
                 "params": sum(p["params"] for p in pair)})
    for r in rows:
        r["relative"] = r["macs"] / full["macs"]
        r["saving"] = 1 - r["relative"]
    return rows


# --- 5. ResNet-RS (seed §3.1.1, Figures 3-6) ---------------------------------------------------

def waterfall_label(r: dict) -> str:
    """``"78.8 † (−0.5)"``: the top-1 after the step, the seed's mark, the step's change."""
    text = f"{num(r['top1']):.1f}" + (f" {r['mark']}" if r.get("mark") else "")
    return text if r["kind"] == "start" else text + f" ({num(r['delta']):+.1f})".replace("-", "−")


WATERFALL_KINDS = {"start": "#7F7F7F", "training": "#CC79A7", "regularisation": "#009E73", "architecture": "#E69F00"}


def waterfall_figure(rows: Sequence[dict]) -> go.Figure:
    """The training-recipe waterfall (seed Figure 6): ResNet-200 79.0 → 83.4 top-1, one horizontal bar
    per step, coloured by kind as the seed's figure is (training, regularisation, architecture), the
    printed footnote marks (†, ‡) kept beside their values."""
    steps = list(reversed(rows))                 # plotly draws the first category at the bottom
    fig = go.Figure()
    base = num(rows[0]["top1"])
    for kind, color in WATERFALL_KINDS.items():
        pick = [r for r in steps if r["kind"] == kind]
        if not pick:
            continue
        starts = [base if r["kind"] == "start" else num(r["top1"]) - num(r["delta"]) for r in pick]
        widths = [0.08 if r["kind"] == "start" else num(r["delta"]) for r in pick]
        fig.add_bar(y=[r["step"] for r in pick], x=widths, base=starts, orientation="h", name=kind,
                    marker_color=color, customdata=[waterfall_label(r) for r in pick],
                    hovertemplate="%{y}<br>top-1 %{customdata}<extra></extra>")
    # the values to the right of each bar, whichever way the step went
    fig.add_scatter(y=[r["step"] for r in steps], x=[max(num(r["top1"]), num(r["top1"]) - (num(r["delta"]) or 0)) + 0.08
                                                    for r in steps],
                    text=[waterfall_label(r) for r in steps], mode="text", textposition="middle right",
                    cliponaxis=False, showlegend=False, hoverinfo="skip")
    lo = min(num(r["top1"]) for r in rows)
    hi = max(num(r["top1"]) for r in rows)
    fig.update_layout(height=520, margin=dict(l=10, r=40, t=60, b=10), barmode="overlay",
                      xaxis=dict(title="ImageNet top-1 (%)", range=[lo - 0.6, hi + 1.2]),
                      yaxis=dict(categoryorder="array", categoryarray=[r["step"] for r in steps]),
                      title="ResNet-200 → ResNet-RS: the training recipe, then two architecture changes",
                      legend=dict(orientation="h"))
    return fig


def width_scaled_macs(records: Sequence[dict], width: float) -> int:
    """MACs of the same network with every channel count × ``width`` (input and logits fixed).

    Each layer with MACs is counted again by the engine's core (``zoo.analysis.ops``) with its
    channels × ``width``, rounded to whole channels: a convolution or linear layer then costs
    about width² as much, the first convolution (3 image channels in) and the classifier (its
    logits out) width, a depthwise convolution (its groups scale too) width. Exact when every
    scaled width is a whole number, e.g. width 2.
    """
    def scaled(c: int, f: float) -> int:
        return max(1, round(c * f))

    total = 0
    last_linear = max((i for i, r in enumerate(records) if r["kind"] == "linear"), default=-1)
    for i, r in enumerate(records):
        if not r["macs"]:
            continue
        kind = r.get("base_kind") or r["kind"]
        x, out = list(r["in_shape"]), list(r["out_shape"])
        if kind in ops.CONV_KINDS and r.get("kernel"):
            groups = scaled(r["groups"], width) if kind == "depthwise" else r["groups"]
            x[1] = x[1] if x[1] == 3 and kind in ("conv", "pointwise") else scaled(x[1], width)
            out[1] = scaled(out[1], width)
            total += ops.conv_macs(x, (out[1], x[1] // groups, *r["kernel"]), out)
        elif kind == "linear":
            c_in = scaled(x[-1], width)
            c_out = out[-1] if i == last_linear else scaled(out[-1], width)
            total += ops.linear_macs((*x[:-1], c_in), (c_out, c_in))
        else:  # a product of two activations: both sides wider
            total += r["macs"] * width * width
    return int(round(total))


def scaling_figure(rows: Sequence[dict]) -> go.Figure:
    """MACs against the scaling factor for depth, width and resolution (rows: dim, factor, macs)."""
    fig = go.Figure()
    for dim, color in (("depth", COLORS["residual"]), ("width", COLORS["plain"]), ("resolution", COLORS["pointwise"])):
        rs = sorted((r for r in rows if r["dim"] == dim), key=lambda r: r["factor"])
        if not rs:
            continue
        fig.add_scatter(x=[r["factor"] for r in rs], y=[r["macs"] / 1e9 for r in rs], mode="lines+markers",
                        name=dim, line_color=color, customdata=[r["label"] for r in rs],
                        hovertemplate="%{customdata}<br>×%{x:.2f}: %{y:.2f} GMACs<extra>" + dim + "</extra>")
    fig.update_layout(height=360, margin=MARGIN, xaxis_title="scale factor on that dimension", xaxis_type="log",
                      yaxis_type="log", yaxis_title="GMACs (engine; FLOPs = 2 × MACs)",
                      title="Cost of scaling ResNet-RS-50 along one dimension",
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    return fig


def rs_table_rows(published: Iterable[dict]) -> list[dict]:
    """ResNet-RS rows of the published figures (``zoo.registry.published_rows().values()``) with the
    zoo name, depth, resolution and the citation of the top-1."""
    out = []
    for r in published:
        if not r["model"].startswith("ResNet-RS-"):
            continue
        depth = int(r["model"].split("-")[-1])
        out.append({"model": r["model"], "zoo": f"resnetrs{depth}", "depth": depth, "variant": r["variant"],
                    "resolution": int(r["resolution"]), "params": int(r["params_exact"]),
                    "top1": num(r["top1_paper"]), "source": r.get("cite_paper", "")})
    return out


# --- a batch of sample images ------------------------------------------------------------------

SAMPLES = ASSETS / "samples"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def sample_batch(resolution: int, n: int = 4, seed: int = 0) -> tuple[torch.Tensor, str]:
    """``n`` images at ``resolution``², ImageNet-normalised, and a sentence saying what they are.

    The photos in ``assets/samples`` (centre-cropped, resized; mirrored copies fill the batch when
    there are fewer than ``n``); without them, seeded Gaussian noise, and the sentence says so.
    """
    from PIL import Image

    files = sorted(SAMPLES.glob("*.png")) + sorted(SAMPLES.glob("*.jpg")) if SAMPLES.is_dir() else []
    images = []
    for path in files:
        try:
            im = Image.open(path).convert("RGB")
        except OSError:
            continue
        side = min(im.size)
        left, top = (im.width - side) // 2, (im.height - side) // 2
        im = im.crop((left, top, left + side, top + side)).resize((resolution, resolution), Image.BILINEAR)
        t = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)  # (H, W, 3) -> (3, H, W)
        images.append(t)
    if not images:
        g = torch.Generator().manual_seed(seed)
        return torch.randn(n, 3, resolution, resolution, generator=g), f"{n} images of seeded Gaussian noise (no sample photos found)"
    names = [p.stem for p in files][:len(images)]
    batch = [images[i % len(images)] if i < len(images) else images[i % len(images)].flip(-1) for i in range(n)]
    x = torch.stack(batch)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    what = f"{n} sample photos ({', '.join(names)}{', plus mirrored copies' if n > len(images) else ''}) at {resolution}×{resolution}"
    return (x - mean) / std, what
