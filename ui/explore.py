"""Streamlit-free helpers of the Explore pages: tables, plotly figures and the accuracy-against-cost
chart as a Vega-Lite spec (a plain dict: Streamlit's Vega chunk is 0.8 MB beside plotly.js's 4.7 MB,
issue 16), numbers by ``zoo.fmt``.

Everything here is a plain function of plain data (dicts, lists, DataFrames), so it is tested
without Streamlit (tests/test_ui_explore.py). The numbers come from ``zoo`` (analysis, registry)
or from the cited CSV files in ``assets/``; nothing here invents a figure.

Conventions:
- One multiply-accumulate (MAC) is a multiply and an add: 1 MAC = 2 FLOPs. Every count on screen
  names its unit ("4.09 GMACs", "8.18 GFLOPs").
- Accuracy figures travel with their source string, shown beside them or in the hover text.
"""
from __future__ import annotations

import copy
import csv
import math
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go

from ui import theme
from ui.theme import PALETTE, family_styles, vega_family_scales
from zoo.fmt import DASH, UNITS, fmt_ops, fmt_params, ops, si
from zoo import fmt

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def total_metrics(s: dict, unit: str, source: str) -> list[tuple[str, str, str]]:
    """The four headline totals of a summary (``ui.state.summary``), as ``ui.page.metrics`` rows
    (label, value, help): parameters, MACs or FLOPs, activation memory, memory access; ``source``
    says who counted them (the explorer and the design lab show the same four)."""
    return [
        ("Parameters", fmt.fmt_params(s["total_params"]), f"{fmt.count(s['total_params'])} parameters, {source}"),
        (unit, fmt.fmt_ops(s["total_macs"], unit),
         f"{fmt.exact_ops(s['total_macs'], unit)} at {s['resolution']} px, batch 1 (1 MAC = 2 FLOPs), {source}"),
        ("Activation memory", fmt.fmt_bytes(s["total_act_bytes"]),
         f"{fmt.count(s['total_act_bytes'])} bytes of layer outputs, fp32, batch 1, {source}"),
        ("Memory access (elements)", fmt.fmt_params(s["total_mem_access"]),
         f"{fmt.count(s['total_mem_access'])} elements read and written, weights included "
         f"(ShuffleNet v2's memory access cost), {source}"),
    ]


def ops_convention(resnet50_macs: float | None = None, resnet50_paper_macs: float | None = None) -> str:
    """One line on MACs vs FLOPs and why papers differ; the ResNet-50 counts come from zoo."""
    line = ("1 MAC (multiply-accumulate) = 2 FLOPs. Most CNN papers (ResNet, MobileNet, "
            "EfficientNet) write \"FLOPs\" but count multiply-adds, i.e. MACs; ResNet-RS quotes "
            "2 × MACs as FLOPs.")
    if resnet50_macs and resnet50_paper_macs:
        line += (f" Layouts differ too: ResNet-50 as in the paper (stride on the first 1×1) is "
                 f"{fmt_ops(resnet50_paper_macs)}, the paper's \"3.8 B FLOPs\"; torchvision's v1.5 "
                 f"(stride on the 3×3) is {fmt_ops(resnet50_macs)} (both counted by CNN Atlas).")
    return line


# --- analysis summaries -----------------------------------------------------------------------

TOTALS = ("total_params", "total_macs", "total_flops", "total_act_bytes", "total_mem_access")


def summarize(a) -> dict:
    """A picklable summary of a ``zoo.analyze`` result (what the pages cache and show)."""
    return {
        "name": a.name,
        "resolution": a.resolution,
        **{k: getattr(a, k) for k in TOTALS},
        "unused_params": getattr(a, "unused_params", 0),
        "uncounted": dict(getattr(a, "uncounted", {})),
        "uncounted_macs": getattr(a, "uncounted_macs", 0),
        "records": a.records(),
        "by_stage": a.by_stage(),
        "by_block": a.by_block(),
        "by_kind": a.by_kind(),
        "blocks": a.blocks() if hasattr(a, "blocks") else [],
    }


# The explorer's layer table opens with what a lecturer points at: where the layer sits, what it
# produces and what it costs; the details follow.
LAYER_COLUMNS = ["name", "block", "out_shape", "params", "macs", "flops", "share", "act_bytes", "mem_access",
                 "kind", "op", "kernel", "stride", "groups", "in_shape", "block_type", "stage"]
COUNT_COLUMNS = ("params", "macs", "flops", "act_bytes", "mem_access")


def _shape(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return DASH
    if isinstance(v, (list, tuple)):
        if not v:
            return DASH
        if isinstance(v[0], (list, tuple)):
            return " + ".join(_shape(x) for x in v)
        return "×".join(str(int(x)) for x in v)
    return str(v)


def layers_frame(records: Sequence[dict]) -> pd.DataFrame:
    """One row per layer, cost columns first; shapes and kernels as short strings, "—" where a
    column does not apply (a ReLU has no kernel), ``share`` = the layer's percent of all MACs."""
    df = pd.DataFrame(list(records))
    for col in LAYER_COLUMNS:
        if col not in df.columns:
            df[col] = None
    df = df[LAYER_COLUMNS].copy()
    for col in ("in_shape", "out_shape", "kernel", "stride"):
        df[col] = df[col].map(_shape)
    for col in COUNT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype("int64")
    total = int(df["macs"].sum())
    df["share"] = (100 * df["macs"] / total).round(2) if total else 0.0
    df["groups"] = df["groups"].map(lambda g: DASH if g is None or (isinstance(g, float) and math.isnan(g))
                                    else str(int(g)))
    for col in ("name", "block", "kind", "op", "block_type", "stage"):
        df[col] = df[col].map(lambda v: DASH if v in (None, "") else str(v))
    return df


def filter_layers(df: pd.DataFrame, kinds: Iterable[str] | None = None, text: str = "") -> pd.DataFrame:
    """Rows whose kind is in ``kinds`` (all when empty) and whose name, block or type contains ``text``."""
    out = df
    kinds = list(kinds or [])
    if kinds:
        out = out[out["kind"].isin(kinds)]
    text = (text or "").strip().lower()
    if text:
        hay = (out["name"].astype(str) + " " + out["block"].astype(str) + " "
               + out["block_type"].astype(str)).str.lower()
        out = out[hay.str.contains(text, regex=False)]
    return out


def groups_frame(groups: Sequence[dict], unit: str = "MACs") -> pd.DataFrame:
    """Stage/kind/block groups as a table with shares of the totals (percent)."""
    df = pd.DataFrame(list(groups))
    if df.empty:
        return pd.DataFrame(columns=["group", "params", unit, "params %", f"{unit} %", "layers"])
    cost = df["macs"].map(lambda m: ops(m, unit))
    tp, tc = df["params"].sum(), cost.sum()
    return pd.DataFrame({
        "group": df["group"].astype(str),
        "params": df["params"].astype("int64"),
        unit: cost.astype("int64"),
        "params %": (100 * df["params"] / tp).round(1) if tp else 0.0,
        f"{unit} %": (100 * cost / tc).round(1) if tc else 0.0,
        "layers": df["layers"].astype(int) if "layers" in df else 0,
    })


def compare_totals(a: dict, b: dict, unit: str = "MACs") -> pd.DataFrame:
    """Totals of two summaries side by side with the difference B − A and the ratio B / A."""
    rows = [("parameters", a["total_params"], b["total_params"], fmt_params),
            (unit, ops(a["total_macs"], unit), ops(b["total_macs"], unit), lambda v: si(v) + unit),
            ("activation memory", a["total_act_bytes"], b["total_act_bytes"], lambda v: si(v) + "B"),
            ("memory access (elements)", a["total_mem_access"], b["total_mem_access"], lambda v: si(v).rstrip())]
    out = []
    for label, va, vb, f in rows:
        out.append({"quantity": label, "A": f(va), "B": f(vb),
                    "B − A": ("+" if vb >= va else "−") + f(abs(vb - va)),
                    "B / A": f"{vb / va:.2f}×" if va else DASH})
    return pd.DataFrame(out)


def feature_level(input_side: int, side: int) -> int:
    """How far a feature map is downsampled, as a power of two: 224 → 56 px is 4, 299 → 73 px is 4."""
    return 2 ** max(0, round(math.log2(input_side / side))) if side > 0 else 0


def by_feature_map(records: Sequence[dict], input_side: int) -> list[dict]:
    """Params and MACs summed by the output feature map's downsampling (1/2, 1/4 … 1/32), in the
    order the network reaches them; layers with no spatial output (the classifier) form "head"."""
    rows: dict[str, dict] = {}
    for r in records:
        shape = tuple(r.get("out_shape") or ())
        if len(shape) == 4 and shape[2] > 1:
            level = feature_level(input_side, shape[2])
            key, sides = f"1/{level}", shape[2]
        else:
            key, sides = "pooled and head", None
        row = rows.setdefault(key, {"group": key, "params": 0, "macs": 0, "layers": 0, "sides": set()})
        row["params"] += int(r.get("params") or 0)
        row["macs"] += int(r.get("macs") or 0)
        row["layers"] += 1
        if sides:
            row["sides"].add(int(sides))
    out = list(rows.values())
    for row in out:
        s = sorted(row.pop("sides"), reverse=True)
        row["side"] = DASH if not s else (f"{s[0]} px" if len(s) == 1 else f"{s[0]}–{s[-1]} px")
    return out


def compare_groups(a_rows: Sequence[dict], b_rows: Sequence[dict], unit: str, label: str,
                   order: Sequence[str] | None = None) -> pd.DataFrame:
    """Two models' rows joined on ``group`` (feature-map level or layer kind), B − A, and a total.

    A group one model lacks shows "—" for it (not zero: that model has no such layer). ``order``:
    the groups' order (default: A's, then B's own).
    """
    a = {r["group"]: r for r in a_rows}
    b = {r["group"]: r for r in b_rows}
    keys = list(order) if order else list(a) + [g for g in b if g not in a]
    keys = [k for k in keys if k in a or k in b]
    out = []
    for k in keys:
        ra, rb = a.get(k), b.get(k)
        row = {label: k}
        if any("side" in r for r in (ra, rb) if r):
            row["side A"] = ra["side"] if ra else DASH
            row["side B"] = rb["side"] if rb else DASH
        row.update({"params A": ra["params"] if ra else None, "params B": rb["params"] if rb else None,
                    f"{unit} A": ops(ra["macs"], unit) if ra else None,
                    f"{unit} B": ops(rb["macs"], unit) if rb else None})
        row[f"Δ {unit} (B − A)"] = (row[f"{unit} B"] or 0) - (row[f"{unit} A"] or 0)
        out.append(row)
    total = {label: "total"}
    if out and "side A" in out[0]:
        total.update({"side A": "", "side B": ""})
    for col in ("params A", "params B", f"{unit} A", f"{unit} B", f"Δ {unit} (B − A)"):
        total[col] = sum(r[col] or 0 for r in out)
    return pd.DataFrame(out + [total])


# --- macro diagram as HTML --------------------------------------------------------------------

def _dims(shape) -> str:
    """(1, 64, 56, 56) -> "64×56×56"; (1, 1000) -> "1000"."""
    shape = tuple(shape or ())
    return "×".join(str(d) for d in shape[1:]) if len(shape) > 1 else "×".join(map(str, shape))


def macro_html(view: dict, shade: str | None, color) -> str:
    """The macro view (zoo.diagram.macro_nodes) as a vertical chain of shaded HTML boxes.

    ``view``: ``{"nodes": [{title, lines, share}], "input": shape, "output": shape}``;
    ``color(share) -> "#rrggbb"`` (zoo.diagram.shade_color). The network is a chain at this level,
    so no layout engine is needed and the browser draws it at once.
    """
    from html import escape

    pill = ("display:inline-block;padding:4px 18px;border-radius:999px;background:#eeeeee;"
            "border:1px solid #999;font-size:0.9em")
    box = ("display:inline-block;min-width:340px;max-width:95%;padding:6px 14px;border-radius:8px;"
           "border:1px solid #888;text-align:center;font-size:1em;line-height:1.35;color:#222")
    arrow = '<div style="color:#888;font-size:0.8em;line-height:1.1">▼</div>'
    parts = [f'<div style="{pill}">input {escape(_dims(view["input"]))}</div>', arrow]
    for n in view["nodes"]:
        fill = color(n["share"]) if shade else "#ffffff"
        what = {"macs": "MACs", "params": "parameters"}.get(shade, shade)
        share = f' <span style="color:#555">({100 * n["share"]:.1f} % of {escape(str(what))})</span>' if shade else ""
        lines = "<br>".join(escape(line) for line in n["lines"])
        parts.append(f'<div style="{box};background:{fill}"><b>{escape(n["title"])}</b><br>{lines}{share}</div>')
        parts.append(arrow)
    parts.append(f'<div style="{pill}">output {escape(_dims(view["output"]))}</div>')
    return ('<div class="atlas-diagram" style="display:flex;flex-direction:column;align-items:center;gap:1px;'
            'font-family:sans-serif;font-size:16px">' + "".join(parts) + "</div>")


# --- figures ----------------------------------------------------------------------------------

def family_colors(families: Iterable[str]) -> dict[str, str]:
    """A stable colour per family (``ui.theme.family_styles``), the same on every chart."""
    return {f: st["color"] for f, st in family_styles(families).items()}


def cost_share_figure(groups: Sequence[dict], unit: str = "MACs", title: str = "by stage") -> go.Figure:
    """Two horizontal bars per group: share of parameters and share of MACs (or FLOPs), in percent.

    Horizontal, so long stage names ("features.3", "Mixed_6e") stay readable; the first group is on top.
    """
    df = groups_frame(groups, unit)
    fig = go.Figure()
    fig.add_bar(name="parameters", y=df["group"], x=df["params %"], orientation="h",
                marker_color=PALETTE[0], customdata=df["params"].map(fmt_params),
                hovertemplate="%{y}<br>%{x:.1f} % of parameters (%{customdata})<extra></extra>")
    fig.add_bar(name=unit, y=df["group"], x=df[f"{unit} %"], orientation="h", marker_color=PALETTE[1],
                customdata=df[unit].map(lambda v: f"{si(v)}{unit}"),
                hovertemplate="%{y}<br>%{x:.1f} % of " + unit + " (%{customdata})<extra></extra>")
    fig.update_layout(barmode="group", title=f"Share of parameters and {unit} {title}",
                      xaxis_title="% of the whole network", yaxis=dict(autorange="reversed"),
                      margin=dict(l=10, r=10, t=60, b=10), height=140 + 34 * max(len(df), 2),
                      legend=dict(orientation="h"))
    return fig


TIMELINE_TITLE = "ImageNet top-1 (published) by year; marker area ∝ parameters"
PICK = "pick"                        # the timeline's point-selection parameter: a click picks a model
_AREA_MIN, _AREA_MAX = 150.0, 2400.0  # px²: the smallest model stays visible and clickable


def timeline_figure(rows: Sequence[dict]) -> dict:
    """ILSVRC-era timeline as a Vega-Lite spec: year against published top-1, marker area ∝
    parameters (plus a 150 px² floor, so the smallest model stays clickable), colour and shape by
    family, each model's label beside its marker (``label_positions``).

    ``rows``: dicts with year, dx, label, model, family, top1, top1_source, params, idea.
    Rows without a top-1 are drawn on a baseline strip so no architecture disappears. A click on a
    marker selects its ``model`` in the point selection :data:`PICK`.
    """
    known = [r for r in rows if r.get("top1") is not None]
    floor = min((r["top1"] for r in known), default=55.0) - 3
    top = max((r["top1"] for r in known), default=80.0) + 4
    max_p = max((r["params"] or 0 for r in rows), default=1) or 1
    where = label_positions(rows, floor)
    values = []
    for r in rows:
        p = r["params"] or 0
        area = _AREA_MIN + _AREA_MAX * p / max_p
        values.append({
            "x": float(r["year"] + r.get("dx", 0.0)), "year": int(r["year"]),
            "y": float(r["top1"]) if r.get("top1") is not None else float(floor),
            "model": r["model"], "label": r["label"], "family": r["family"], "area": round(area, 1),
            "top1": f"{r['top1']:.1f} %" if r.get("top1") is not None else "not published",
            "params": fmt_params(p), "source": r.get("top1_source") or DASH, "idea": r["idea"],
            **_label_offsets(where[r["model"]], math.sqrt(area / math.pi)),
        })
    color, shape = vega_family_scales(r["family"] for r in rows)
    x = {"field": "x", "type": "quantitative", "title": "year",
         "scale": {"domain": [2011.4, 2021.8], "nice": False, "zero": False},
         "axis": {"values": list(range(2012, 2022)), "format": "d", "grid": True}}
    y = {"field": "y", "type": "quantitative", "title": "top-1 accuracy (%), as published",
         "scale": {"domain": [round(floor - 2, 3), round(top, 3)], "nice": False, "zero": False}}
    tooltip = [{"field": "label", "title": "name"}, {"field": "model", "title": "model"},
               {"field": "top1", "title": "top-1"}, {"field": "params", "title": "parameters"},
               {"field": "idea", "title": "idea"}, {"field": "source", "title": "top-1 source"}]
    markers = {
        "data": {"values": values},
        "params": [{"name": PICK, "select": {"type": "point", "fields": ["model"], "on": "click"}}],
        "mark": {"type": "point", "filled": True, "opacity": 0.85, "stroke": "white", "strokeWidth": 1,
                 "cursor": "pointer"},
        "encoding": {"x": x, "y": y,
                     "color": {"field": "family", "type": "nominal", "scale": color, "title": "family"},
                     "shape": {"field": "family", "type": "nominal", "scale": shape, "title": "family"},
                     "size": {"field": "area", "type": "quantitative", "scale": None, "legend": None},
                     "tooltip": tooltip},
    }
    labels = {
        "data": {"values": values},
        "mark": {"type": "text", "dx": {"expr": "datum.dx_px"}, "dy": {"expr": "datum.dy_px"},
                 "align": {"expr": "datum.align"}, "baseline": {"expr": "datum.baseline"}},
        "encoding": {"x": x, "y": y, "text": {"field": "label"}, "tooltip": tooltip},
    }
    layers = [markers, labels]
    if len(known) < len(rows):       # the baseline strip of models without a published top-1
        strip = {"data": {"values": [{"y": float(floor), "x": 2011.5, "text": "top-1 not published"}]},
                 "encoding": {"y": y}}
        layers.insert(0, {**strip, "mark": {"type": "rule", "strokeDash": [4, 4], "color": "#7F7F7F"}})
        layers.insert(1, {**strip, "mark": {"type": "text", "align": "left", "baseline": "bottom", "dy": -4,
                                            "color": "#555555"},
                          "encoding": {"x": x, "y": y, "text": {"field": "text"}}})
    return {"$schema": theme.VEGA_SCHEMA,
            "title": TIMELINE_TITLE, "height": 640, "padding": {"top": 10, "left": 5, "right": 5, "bottom": 5},
            "layer": layers,
            # the family legend in config, not on the channel, so a slide can switch it off
            # (ui.lecture.fit_to_slide sets config.legend.disable)
            "config": {"legend": {"columns": {"expr": "max(2, floor(width / 175))"}, "symbolSize": 180,
                                  "symbolOpacity": 1, "symbolStrokeWidth": 0, "rowPadding": 4}}}


def _label_offsets(position: str, radius: float) -> dict:
    """A plotly-style text position ("top center", "bottom right", "middle right" …) as the pixel
    offsets, alignment and baseline of a Vega text mark beside a marker of ``radius`` px."""
    vertical, horizontal = position.split()
    gap = radius + 3
    dy = {"top": -gap, "middle": 0.0, "bottom": gap}[vertical]
    dx = {"left": -gap, "center": 0.0, "right": gap}[horizontal]
    if vertical != "middle" and horizontal != "center":     # a corner: diagonal, as plotly does
        dx, dy = dx * 0.7, dy * 0.7
    return {"dx_px": round(dx, 1), "dy_px": round(dy, 1),
            "align": {"left": "right", "center": "center", "right": "left"}[horizontal],
            "baseline": {"top": "bottom", "middle": "middle", "bottom": "top"}[vertical]}


def label_positions(rows: Sequence[dict], floor: float) -> dict[str, str]:
    """Label positions: the one timeline.csv gives (``label_position``), else above the marker
    unless a label placed earlier sits close above the same spot, then below."""
    placed: list[tuple[float, float, str]] = []
    out = {}
    for r in sorted(rows, key=lambda r: (r["year"] + r.get("dx", 0.0), r.get("top1") or floor)):
        x, y = r["year"] + r.get("dx", 0.0), r.get("top1") if r.get("top1") is not None else floor
        clash = any(abs(x - px) < 0.8 and abs(y - py) < 2.5 and pos == "top center" for px, py, pos in placed)
        pos = r.get("label_position") or ("bottom center" if clash else "top center")
        placed.append((x, y, pos))
        out[r["model"]] = pos
    return out


def pareto_front(xs: Sequence[float], ys: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats: cheaper-or-equal cost and higher accuracy.

    Sorted by cost; among equal costs only the most accurate survives.
    """
    order = sorted(range(len(xs)), key=lambda i: (xs[i], -ys[i]))
    front, best = [], -math.inf
    for i in order:
        if ys[i] > best:
            front.append(i)
            best = ys[i]
    return front


FRONTIER = "Pareto frontier"
# The family legend: four columns (they fit a 1024 px window beside the sidebar), symbols as large as
# the points and without the points' white outline, which would hide the thin ones.
LEGEND = {"columns": 4, "symbolSize": 170, "symbolStrokeWidth": 0, "symbolOpacity": 1}
# The frontier's legend symbol: three short dashes (an SVG path in Vega's unit square).
DOTTED = "M-1,-0.2H-0.55V0.2H-1Z M-0.22,-0.2H0.22V0.2H-0.22Z M0.55,-0.2H1V0.2H0.55Z"


def tick_label(v: float) -> str:
    """A log-axis tick written with ``zoo.fmt.si`` and its trailing zeros dropped: ``1e6`` -> ``"1 M"``,
    ``5e7`` -> ``"50 M"``, ``0.5`` -> ``"0.5"``."""
    num, _, prefix = fmt.si(v).strip().partition(" ")
    if "." in num:
        num = num.rstrip("0").rstrip(".")
    return f"{num} {prefix}".strip()


def _label_expr(values: Sequence[float]) -> str:
    """A Vega expression writing each of ``values`` as :func:`tick_label` does (other values: blank)."""
    expr = "''"
    for v in reversed(values):
        expr = f"datum.value == {v!r} ? '{tick_label(v)}' : {expr}"
    return expr


def _plain(v):
    """A JSON-ready number: numpy scalars become Python floats."""
    return float(v) if v is not None else None


def pareto_figure(points: Sequence[dict], x: str, x_title: str, *, log_x: bool = True,
                  y: str = "top1", y_title: str = "top-1 accuracy (%), published",
                  frontier: bool = True, title: str | None = None,
                  labels: Iterable[str] | None = None) -> dict:
    """Accuracy against a cost (``points[i][x]``) as a Vega-Lite spec: colour and shape by family,
    the Pareto frontier as a dotted step line, the points that matter named to their upper left.

    ``points``: dicts with name, family, the ``x`` and ``y`` keys, and ``source`` (tooltip text);
    ``x_label`` (optional) is the cost as text for the tooltip, ``label`` (optional) the name
    written on the chart. The named points: those in ``labels``, else the ones on the frontier
    (thinned by :func:`spaced_labels`). Points whose ``x`` is missing are left out.

    Layers are named ("points", "labels", "frontier") so that overlays (``with_layer``) and tests
    find them; every layer carries its own values (no top-level data: Streamlit would send that as
    Arrow, another 0.7 MB for the browser).
    """
    pts = [p for p in points if p.get(x) is not None and p.get(y) is not None and p[x] > 0]
    front = pareto_front([p[x] for p in pts], [p[y] for p in pts]) if pts else []
    span = (max(p[x] for p in pts) - min(p[x] for p in pts)) if pts else 0.0
    named = set(labels) if labels is not None else set(spaced_labels(     # on a linear axis: 12 % of the span apart
        [(pts[i][x], pts[i][y], pts[i]["name"]) for i in front], log_x=log_x, **({} if log_x else {"dx": 0.12 * span})))
    color, shape = ({k: list(v) for k, v in s.items()}        # own lists: overlays extend each
                    for s in theme.vega_family_scales(p["family"] for p in pts))
    rows = [{"name": p["name"], "family": p["family"], "x": _plain(p[x]), "y": _plain(p[y]),
             "top1": fmt.percent(p[y]), "cost": p.get("x_label", ""), "source": p.get("source", ""),
             "label": p.get("label", p["name"])} for p in pts]
    xs = [r["x"] for r in rows]
    x_axis: dict = {"title": x_title + (" (log scale)" if log_x else "")}
    if xs and log_x:       # room on the left for the cheapest model's name (labels sit to the upper left)
        scale = {"type": "log", "domain": [min(xs) / 10 ** 0.65, max(xs) * 10 ** 0.15], "nice": False}
        ticks = theme.log_ticks(min(xs), max(xs))
        x_axis.update(values=ticks, labelExpr=_label_expr(ticks))
    elif xs:
        span = (max(xs) - min(xs)) or abs(max(xs)) or 1.0
        scale = {"type": "linear", "domain": [min(xs) - 0.18 * span, max(xs) + 0.05 * span], "nice": False,
                 "zero": False}
        # SI prefixes with a space, as the log axis writes them ("5 G"); the room left of zero unlabelled
        x_axis.update(tickCount=8, labelExpr="datum.value < 0 ? '' : "
                                             "replace(format(datum.value, '~s'), regexp('([a-zA-Zµ])$'), ' $1')")
    else:
        scale = {"type": "log" if log_x else "linear"}
    x_enc = {"field": "x", "type": "quantitative", "scale": scale, "axis": x_axis}
    y_enc = {"field": "y", "type": "quantitative", "scale": {"zero": False}, "title": y_title}
    layers = [{
        "name": "points", "data": {"values": rows},
        "mark": {"type": "point", "filled": True, "size": 170, "opacity": 1, "stroke": "white",
                 "strokeWidth": 1},
        "encoding": {
            "x": x_enc, "y": y_enc,
            "color": {"field": "family", "type": "nominal", "scale": color, "title": "family"},
            "shape": {"field": "family", "type": "nominal", "scale": shape, "title": "family"},
            "tooltip": [{"field": "name", "title": "model"}, {"field": "top1", "title": "top-1"},
                        {"field": "cost", "title": x_title}, {"field": "source", "title": "source"}]},
    }, {
        "name": "labels", "data": {"values": [r for r in rows if r["name"] in named]},
        "mark": {"type": "text", "align": "right", "baseline": "bottom", "dx": -6, "dy": -5},
        "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"},
                     "text": {"field": "label"}, "tooltip": None},
    }]
    spec = {"$schema": theme.VEGA_SCHEMA, "title": title or f"top-1 against {x_title}", "height": 600, "layer": layers,
            "config": {"legend": dict(LEGEND)}}     # config, not the encoding: a slide can still turn it off
    if frontier and pts:   # in the family legend as a black dotted dash (a legend of its own would sit beside it)
        spec = with_layer(spec, {
            "name": "frontier", "data": {"values": [{"x": rows[i]["x"], "y": rows[i]["y"]} for i in front]},
            "mark": {"type": "line", "interpolate": "step-after", "strokeWidth": 1.5, "strokeDash": [2, 3]},
            "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}},
        }, legend=(FRONTIER, "#000000", DOTTED), below=True)      # under the points: their tooltips win
    return spec


def layer_named(spec: dict, name: str) -> dict | None:
    """The layer of ``spec`` called ``name`` (``pareto_figure`` names its own), or None."""
    return next((layer for layer in spec.get("layer", ()) if layer.get("name") == name), None)


def with_layer(spec: dict, layer: dict, *, legend: tuple[str, str, str] | None = None,
               below: bool = False) -> dict:
    """A new spec: ``spec`` (left as it is: a cached spec is shared by sessions) with ``layer``
    added on top (``below``: under every other layer). ``legend`` = (entry, colour, shape) adds
    the entry to the family legend: the layer's values get that entry as their "family", drawn
    in that colour and shape, both scales (held by the "points" layer) extended by it."""
    out = copy.deepcopy(spec)
    layer = copy.deepcopy(layer)
    # no tooltip unless the layer asks for one (Streamlit turns Vega's on for every mark: a label or
    # a line would show its raw fields)
    layer.setdefault("encoding", {}).setdefault("tooltip", None)
    if legend is not None:
        entry, colour, shape = legend
        points = layer_named(out, "points")
        layer["data"]["values"] = [dict(v, family=entry) for v in layer["data"]["values"]]
        for channel, value in (("color", colour), ("shape", shape)):
            layer.setdefault("encoding", {})[channel] = {"field": "family", "type": "nominal", "title": "family"}
            scale = points["encoding"][channel]["scale"] if points else None
            if scale is None:
                layer["encoding"][channel]["scale"] = {"domain": [entry], "range": [value]}
            elif entry not in scale["domain"]:
                scale["domain"].append(entry)
                scale["range"].append(value)
    out["layer"] = [layer] + out["layer"] if below else out["layer"] + [layer]
    return out


SEED_T6 = "seed Table 6 (as printed)"


def add_seed_table6(spec: dict, rows: Sequence[dict]) -> dict:
    """The seed paper's Table 6 as printed (``rows`` of seed_tables.csv, table "6"): black crosses at
    its parameters and top-1, each named below, on a parameters-axis ``pareto_figure``. A new spec."""
    values = [{"x": float(r["params_m"]) * 1e6, "y": float(r["top1"]), "row": r["row"],
               "top1": fmt.percent(float(r["top1"])), "params": f"{fmt.fmt_params(float(r['params_m']) * 1e6)}"}
              for r in rows]
    xy = {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}
    out = with_layer(spec, {
        "name": "seed", "data": {"values": values},
        "mark": {"type": "point", "filled": True, "size": 120, "opacity": 1},
        "encoding": {**xy, "tooltip": [{"field": "row", "title": "seed paper (Zhao), Table 6"},
                                       {"field": "top1", "title": "top-1"},
                                       {"field": "params", "title": "parameters"}]},
    }, legend=(SEED_T6, "#000000", theme.VEGA_SHAPES[theme.SYMBOLS.index("x")]))
    return with_layer(out, {
        "name": "seed labels", "data": {"values": values},
        "mark": {"type": "text", "baseline": "top", "dy": 9},
        "encoding": {**xy, "text": {"field": "row"}},
    })


def spaced_labels(points: Sequence[tuple[float, float, str]], *, log_x: bool = True, dx: float = 0.35,
                  dy: float = 2.5) -> list[str]:
    """Names of the points to write on a chart so that no two labels crowd: walking by cost, a point
    is named when it is at least ``dx`` (decades on a log axis) or ``dy`` (accuracy points) away
    from the last named one. The cheapest and the most accurate are always named."""
    pts = sorted(points)
    if not pts:
        return []
    pos = (lambda v: math.log10(v)) if log_x else (lambda v: v)
    out = [pts[0]]
    for p in pts[1:-1]:
        last = out[-1]
        if abs(pos(p[0]) - pos(last[0])) >= dx or abs(p[1] - last[1]) >= dy:
            out.append(p)
    if len(pts) > 1:
        if out[-1] is not pts[-1] and abs(pos(pts[-1][0]) - pos(out[-1][0])) < dx and abs(pts[-1][1] - out[-1][1]) < dy:
            out.pop()
        out.append(pts[-1])
    return [p[2] for p in out]


def scaling_curves_figure(curves: dict[str, Sequence[tuple[float, float]]], unit: str = "MACs") -> go.Figure:
    """Cost of one-dimension scaling of B0: ``{"width": [(factor, macs), ...], ...}``.

    The x axis is the scaling factor relative to B0 (width multiplier, depth multiplier,
    resolution / 224); the y axis is the computed cost on a log axis.
    """
    fig = go.Figure()
    for name, pts in curves.items():
        fig.add_scatter(x=[f for f, _ in pts], y=[ops(m, unit) for _, m in pts], mode="lines+markers",
                        name=f"{name} only",
                        hovertemplate=f"{name} ×%{{x:.2f}}<br>%{{y:.3s}}{unit}<extra></extra>")
    fig.update_layout(title=f"Scaling one dimension of B0: computed {unit}",
                      xaxis_title="scaling factor relative to B0 (resolution: r / 224)",
                      yaxis=dict(title=f"{unit} (log scale)", type="log"),
                      height=420, margin=dict(l=10, r=10, t=50, b=10))
    return fig


def factor_figure(rows: Sequence[tuple[float, float, float]], current: tuple[float, float, float] | None = None) -> go.Figure:
    """Predicted cost factor (α·β²·γ²)^φ against the built network's, per φ: ``(φ, predicted, actual)``."""
    fig = go.Figure()
    fig.add_scatter(x=[r[0] for r in rows], y=[r[1] for r in rows], mode="lines", name="predicted (α·β²·γ²)^φ",
                    line=dict(dash="dot", color="#7f7f7f"), hovertemplate="φ=%{x}<br>predicted %{y:.3g}×<extra></extra>")
    fig.add_scatter(x=[r[0] for r in rows], y=[r[2] for r in rows], mode="lines+markers",
                    name="built network (exact MACs / B0's)", line=dict(color="#ff7f0e"),
                    hovertemplate="φ=%{x}<br>actual %{y:.3g}×<extra></extra>")
    if current is not None:
        fig.add_scatter(x=[current[0]], y=[current[2]], mode="markers", name="this φ",
                        marker=dict(size=14, symbol="star", color="#d62728"),
                        hovertemplate="φ=%{x}<br>actual %{y:.3g}×<extra></extra>")
    fig.update_layout(title="Cost factor over B0: the formula against the network actually built",
                      xaxis_title="φ", yaxis=dict(title="× B0's MACs (log scale)", type="log",
                                                  tickvals=[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]),
                      height=420, margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", y=-0.2, x=0, yanchor="top"))
    return fig


# --- compound scaling -------------------------------------------------------------------------

# One-dimension scaling of B0, as in the EfficientNet paper's Figure 3 (the seed's Figure 9):
# width multipliers, depth multipliers and input resolutions, each varied alone.
ONE_DIMENSION = {
    "width": (1.0, 1.4, 1.8, 2.2, 2.6, 3.0, 3.8, 5.0),
    "depth": (1.0, 2.0, 3.0, 4.0, 6.0, 8.0),
    "resolution": (224, 260, 300, 380, 456, 528, 600),
}


def one_dimension_grid() -> dict[str, list[tuple[float, float, float, int]]]:
    """``{dimension: [(factor, width_mult, depth_mult, resolution), ...]}`` for ``ONE_DIMENSION``."""
    return {
        "width": [(w, w, 1.0, 224) for w in ONE_DIMENSION["width"]],
        "depth": [(d, 1.0, d, 224) for d in ONE_DIMENSION["depth"]],
        "resolution": [(r / 224, 1.0, 1.0, r) for r in ONE_DIMENSION["resolution"]],
    }


def scaling_problems(alpha: float, beta: float, gamma: float, phi: float, *,
                     max_resolution: int = 2048, max_macs: float = 2e12,
                     predicted_macs: float | None = None) -> list[str]:
    """Plain-language reasons why (α, β, γ, φ) cannot be built; empty when it can."""
    out = []
    for sym, v in (("α", alpha), ("β", beta), ("γ", gamma)):
        if v is None or not math.isfinite(v):
            out.append(f"{sym} must be a number.")
        elif v <= 0:
            out.append(f"{sym} = {v:g}: scaling coefficients must be positive (a network cannot "
                       f"have zero or negative depth, width or resolution).")
    if phi is None or not math.isfinite(phi):
        out.append("φ must be a number.")
    if out:
        return out
    res = 224 * gamma ** phi
    if res > max_resolution:
        out.append(f"γ^φ gives a {res:,.0f} px input, above this page's {max_resolution} px limit.")
    if res < 32:
        out.append(f"γ^φ gives a {res:.0f} px input: too small for five stride-2 stages (≥ 32 px).")
    if predicted_macs is not None and predicted_macs > max_macs:
        out.append(f"Predicted cost {fmt_ops(predicted_macs)} is above this page's "
                   f"{fmt_ops(max_macs)} limit: too large even to analyse on the meta device.")
    return out


def formula_vs_official(compound: dict, coefficients, *, alpha=1.2, beta=1.1, gamma=1.15) -> pd.DataFrame:
    """The official B0–B7 table against the pure formula (β^φ, α^φ, round(224·γ^φ)) at φ = i.

    ``compound``: ``{"b0": (width, depth, resolution, dropout), ...}``;
    ``coefficients(phi, alpha, beta, gamma) -> (width, depth, resolution)``.
    """
    rows = []
    for i, (key, (w, d, r, *_)) in enumerate(sorted(compound.items())):
        fw, fd, fr = coefficients(i, alpha, beta, gamma)
        rows.append({"model": key.upper(), "φ": i,
                     "width (official)": w, "width β^φ": round(fw, 3),
                     "depth (official)": d, "depth α^φ": round(fd, 3),
                     "resolution (official)": r, "resolution 224·γ^φ": fr})
    return pd.DataFrame(rows)


def differing_cells(df: pd.DataFrame, rel: float = 0.02) -> list[tuple[int, str]]:
    """(row, column) of the formula cells that differ from the official ones by more than ``rel``."""
    pairs = (("width (official)", "width β^φ"), ("depth (official)", "depth α^φ"),
             ("resolution (official)", "resolution 224·γ^φ"))
    out = []
    for i, row in df.iterrows():
        for off, form in pairs:
            if abs(row[form] - row[off]) > rel * abs(row[off]):
                out.append((i, form))
    return out


# --- published figures ------------------------------------------------------------------------

def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def num(s) -> float | None:
    try:
        return float(s) if s not in (None, "") else None
    except (TypeError, ValueError):
        return None


def published_top1(row: dict | None, prefer: str = "paper") -> tuple[float | None, str]:
    """(top-1, its citation) of a published.csv row (``zoo.registry.published_rows``).

    ``prefer="paper"``: the paper's figure, else the torchvision weights', else timm's.
    ``prefer="weights"``: torchvision's, else timm's, else the paper's.
    A figure without a citation (not verified) is never returned.
    """
    if not row:
        return None, "no published figure"
    order = [("top1_paper", "cite_paper"), ("top1_torchvision", "cite_torchvision"), ("top1_timm", "cite_timm")]
    if prefer == "weights":
        order = order[1:] + order[:1]
    for col, cite in order:
        v = num(row.get(col))
        if v is not None and row.get(cite):
            return v, row[cite]
    return None, "no top-1 published"


def timeline_rows(timeline: Sequence[dict], published: dict, params: dict, families: dict) -> list[dict]:
    """Join assets/timeline.csv with published top-1 (cited) and parameter counts (from zoo).

    Entries sharing a year are spread ±0.2 year apart so they do not overlap on the chart.
    """
    rows = []
    per_year: dict[int, int] = {}
    for t in timeline:
        per_year[int(t["year"])] = per_year.get(int(t["year"]), 0) + 1
    seen: dict[int, int] = {}
    for t in timeline:
        year = int(t["year"])
        k, n = seen.get(year, 0), per_year[year]
        seen[year] = k + 1
        top1, src = published_top1(published.get((t["published_model"], t["published_variant"])))
        rows.append({
            "year": year, "dx": 0.0 if n == 1 else -0.25 + 0.5 * k / (n - 1),
            "model": t["model"], "label": t["label"], "family": families.get(t["model"], "?"),
            "top1": top1, "top1_source": src, "params": params.get(t["model"]),
            "event": t["event"], "event_source": t["event_source"],
            "idea": t["idea"], "idea_source": t["idea_source"],
            "label_position": t.get("label_position") or "",
        })
    return rows
