"""The atlas's chart style: legible from the back row of a lecture hall.

Every plotly figure the pages show goes through :func:`style` (pages call ``ui.page.chart``, which
does it): base text 16 px (20 px in presentation mode), tick labels 14 px (18 px), titles that sit
above the plot with the legend below it so the two never collide, and one palette of ten colours
paired with ten marker symbols, so that families still differ when projected in greyscale or seen by
a colour-blind student.

Streamlit-free: plain functions of ``go.Figure``, tested in tests/test_theme.py.
"""
from __future__ import annotations

import math
from typing import Iterable

import plotly.graph_objects as go

# Okabe & Ito's colour-blind-safe set (2008) extended to ten, darkest first where it matters.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C564B", "#000000",
           "#F0E442", "#7F7F7F")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross", "star", "triangle-down",
           "pentagon", "hexagon")

FONT = "Arial, Helvetica, sans-serif"
SIZES = {False: {"base": 16, "tick": 14, "title": 18},   # laptop / normal
         True: {"base": 20, "tick": 18, "title": 22}}    # presentation mode (?present=1)


def family_styles(families: Iterable[str]) -> dict[str, dict]:
    """A stable ``{"color", "symbol"}`` per family (sorted names): colour i % 10, symbol i // 10
    shifted, so up to 100 families get distinct pairs and neighbours never share a symbol."""
    out = {}
    for i, f in enumerate(sorted(set(families))):
        out[f] = {"color": PALETTE[i % len(PALETTE)], "symbol": SYMBOLS[(i + i // len(PALETTE)) % len(SYMBOLS)]}
    return out


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values for a log axis from ``lo`` to ``hi``: 1, 2, 5 × 10^k when the data span at most
    two decades, 10^k beyond (one bracketing tick each side)."""
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    steps = (1, 2, 5) if k1 - k0 <= 2 else (1,)
    ticks = [m * 10 ** k for k in range(k0, k1 + 1) for m in steps]
    below = [t for t in ticks if t <= lo]
    above = [t for t in ticks if t >= hi]
    first, last = (below[-1] if below else ticks[0]), (above[0] if above else ticks[-1])
    return [t for t in ticks if first <= t <= last]


def style(fig: go.Figure, present: bool = False) -> go.Figure:
    """Apply the atlas's fonts, title and legend placement to ``fig`` (in place; returned).

    Sizes only ever grow: a figure that asks for larger text keeps it.
    """
    s = SIZES[bool(present)]
    lay = fig.layout
    fig.update_layout(font=dict(family=FONT, size=max(s["base"], (lay.font.size or 0))),
                      hoverlabel=dict(font_size=s["base"]),
                      title=dict(font=dict(size=max(s["title"], lay.title.font.size or 0)),
                                 x=0, xanchor="left", y=0.98, yanchor="top", yref="container"),
                      legend=dict(font=dict(size=max(s["tick"], lay.legend.font.size or 0))))
    # A legend never sits in the title's band: horizontal legends go to the bottom of the figure,
    # below the axis title (container coordinates, so plotly reserves the margin for them).
    if lay.legend.orientation == "h":
        fig.update_layout(legend=dict(yref="container", y=0, yanchor="bottom", x=0, xanchor="left"))
    top = max(lay.margin.t or 0, 60 if lay.title.text else 20)
    fig.update_layout(margin=dict(t=top, r=max(lay.margin.r or 0, 30)))
    fig.update_xaxes(tickfont_size=s["tick"], title_font_size=s["base"], automargin=True)
    fig.update_yaxes(tickfont_size=s["tick"], title_font_size=s["base"], automargin=True)
    # Log axes get full-size labels at 1-2-5 steps (plotly's own in-between "2" and "5" are 9-px minor
    # labels), thinned to whole decades when the data span many of them.
    for axis, letter in ((fig.layout.xaxis, "x"), (fig.layout.yaxis, "y")):
        if axis.type == "log" and axis.dtick is None and axis.tickvals is None:
            values = [v for tr in fig.data for v in (getattr(tr, letter, None) or ())
                      if isinstance(v, (int, float)) and v > 0]
            if values:
                axis.tickvals = log_ticks(min(values), max(values))
    for ann in lay.annotations or ():
        ann.font.size = max(s["tick"], ann.font.size or 0)
    for tr in fig.data:
        if "textfont" in tr:
            tr.textfont.size = max(s["tick"], getattr(tr.textfont, "size", None) or 0)
    return fig
