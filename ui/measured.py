"""Top-1 measured here beside the published figure: the Pareto page's "Measured here" overlay.

Streamlit-free. ``zoo.evaluate`` keeps one result per (model, folder, weights) in a small JSON
file; for each model the result on the most images is drawn at the model's cost (the same x as
its published point), joined to the published point by a line, each labelled: "published" and
"measured here (N images)", with the 95 % Wilson interval in the hover (on a handful of images
the interval says more than the point).
"""
from __future__ import annotations

from typing import Mapping, Sequence

from zoo import fmt

MEASURED_COLOR = "#000000"
MEASURED = "top-1 measured here"


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


def add_measured(spec: dict, points: Sequence[dict], results: Mapping[str, dict], x: str) -> dict:
    """For every evaluated model, a line from its published top-1 to the top-1 measured here (same
    x), an open diamond at the measured value and a label at each end, on a
    ``ui.explore.pareto_figure`` spec. A new spec; ``spec`` is left as it is."""
    from ui import explore as ux

    ms = measured_points(points, results, x)
    if not ms:
        return spec
    xy = {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}
    out = ux.with_layer(spec, {
        "name": "published to measured", "data": {"values": [
            {"x": float(m["x"]), "y": m["published"], "y2": m["measured"]} for m in ms]},
        "mark": {"type": "rule", "color": MEASURED_COLOR, "strokeWidth": 2},
        "encoding": {**xy, "y2": {"field": "y2"}}})
    out = ux.with_layer(out, {
        "name": "measured", "data": {"values": [
            {"x": float(m["x"]), "y": m["measured"], "name": m["name"], "label": label(m),
             "measured": fmt.percent(m["measured"]), "images": fmt.count(m["images"]),
             "interval": fmt.DASH if m["low"] is None else f"{m['low']:.1f}–{fmt.percent(m['high'])}",
             "published": fmt.percent(m["published"]), "weights": m["weights"]} for m in ms]},
        "mark": {"type": "point", "filled": False, "size": 170, "strokeWidth": 2, "opacity": 1},
        "encoding": {**xy, "tooltip": [
            {"field": "name", "title": "model"}, {"field": "measured", "title": "top-1 measured here"},
            {"field": "images", "title": "images"}, {"field": "interval", "title": "95 % interval"},
            {"field": "published", "title": "published"}, {"field": "weights", "title": "weights"}]},
    }, legend=(MEASURED, MEASURED_COLOR, "diamond"))
    # the measured label on the far side of its point from the published one; "published" to the right
    # of its point (above or below it would sit on the names the frontier writes to its upper left)
    for below in (True, False):
        values = [{"x": float(m["x"]), "y": m["measured"], "text": label(m)}
                  for m in ms if (m["measured"] < m["published"]) is below]
        if values:
            out = ux.with_layer(out, {
                "name": "measured labels " + ("below" if below else "above"), "data": {"values": values},
                "mark": {"type": "text", "baseline": "top" if below else "bottom", "dy": 11 if below else -11},
                "encoding": {**xy, "text": {"field": "text"}}})
    out = ux.with_layer(out, {
        "name": "published labels", "data": {"values": [
            {"x": float(m["x"]), "y": m["published"], "text": "published"} for m in ms]},
        "mark": {"type": "text", "align": "left", "baseline": "middle", "dx": 12},
        "encoding": {**xy, "text": {"field": "text"}}})
    return out


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
