"""Top-1 measured here beside the published figure: the Pareto page's "Measured here" overlay.

Streamlit-free. ``zoo.evaluate`` keeps one result per (model, folder, weights) in a small JSON
file; for each model the result on the most images is drawn at the model's cost (the same x as
its published point), joined to the published point by a line, each labelled: "published" and
"measured here (N images)", with the 95 % Wilson interval in the hover (on a handful of images
the interval says more than the point).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import plotly.graph_objects as go

from zoo import fmt

MEASURED_COLOR = "#000000"


def measured_points(points: Sequence[dict], results: Mapping[str, dict], x: str) -> list[dict]:
    """One record per plotted model that was evaluated here: name, x, published and measured
    top-1 (%), images, interval (%), weights. Models not in ``points`` (no published top-1, or no
    x on this axis) are left out."""
    out = []
    for p in points:
        r = results.get(p["name"])
        if not r or not r.get("images") or p.get(x) is None or p.get("top1") is None:
            continue
        lo, hi = r.get("top1_interval") or (None, None)
        out.append({"name": p["name"], "x": p[x], "published": float(p["top1"]),
                    "measured": 100.0 * r["correct1"] / r["images"], "images": int(r["images"]),
                    "low": None if lo is None else 100.0 * lo, "high": None if hi is None else 100.0 * hi,
                    "weights": r.get("weights", ""), "stopped": bool(r.get("stopped")),
                    "source": p.get("source", "")})
    return out


def label(m: dict) -> str:
    return f"measured here ({fmt.count(m['images'])} images)"


def add_measured(fig: go.Figure, points: Sequence[dict], results: Mapping[str, dict], x: str) -> go.Figure:
    """Draw, for every evaluated model, a line from its published top-1 to the top-1 measured
    here (same x), a marker at the measured value and a text label at each end. In place."""
    ms = measured_points(points, results, x)
    if not ms:
        return fig
    xs, ys = [], []
    for m in ms:
        xs += [m["x"], m["x"], None]
        ys += [m["published"], m["measured"], None]
    fig.add_scatter(x=xs, y=ys, mode="lines", line=dict(color=MEASURED_COLOR, width=2),
                    name="published → measured here", hoverinfo="skip")
    fig.add_scatter(
        x=[m["x"] for m in ms], y=[m["measured"] for m in ms], mode="markers+text",
        marker=dict(symbol="diamond-open", size=13, color=MEASURED_COLOR, line=dict(width=2)),
        text=[label(m) for m in ms],
        textposition=["bottom center" if m["measured"] < m["published"] else "top center" for m in ms],
        name="top-1 measured here",
        customdata=[[m["name"], m["published"], fmt.count(m["images"]),
                     "—" if m["low"] is None else f"{m['low']:.1f}–{m['high']:.1f} %", m["weights"]] for m in ms],
        hovertemplate=("<b>%{customdata[0]}</b><br>measured here: %{y:.1f} % top-1 on %{customdata[2]} images"
                       "<br>95 % interval %{customdata[3]}<br>published: %{customdata[1]:.1f} %"
                       "<br>weights %{customdata[4]}<extra></extra>"))
    fig.add_scatter(
        x=[m["x"] for m in ms], y=[m["published"] for m in ms], mode="text",
        text=["published" for m in ms],
        textposition=["top center" if m["measured"] < m["published"] else "bottom center" for m in ms],
        name="published (label)", showlegend=False, hoverinfo="skip")
    return fig


def result_rows(results: Sequence[dict], published: Mapping[str, float]) -> list[dict]:
    """The saved results as table rows of text (newest first), with the published top-1 beside
    each; a pass that was stopped says so after its folder."""
    def pct(v):
        return fmt.DASH if v is None else f"{v:.1f}"

    rows = []
    for r in sorted(results, key=lambda r: r.get("date", ""), reverse=True):
        n = int(r.get("images") or 0)
        lo, hi = r.get("top1_interval") or (None, None)
        rate = r.get("images_per_s")
        rows.append({
            "model": r["model"],
            "images": fmt.count(n),
            "top-1 here (%)": pct(100.0 * r["correct1"] / n if n else None),
            "95 % interval": f"{100 * lo:.1f}–{100 * hi:.1f}" if lo is not None else fmt.DASH,
            "published (%)": pct(published.get(r["model"])),
            "top-5 here (%)": pct(100.0 * r["correct5"] / n if n else None),
            "images/s": fmt.DASH if rate is None else f"{rate:.1f}",
            "folder": r.get("folder", "") + (" (stopped)" if r.get("stopped") else ""),
        })
    return rows
