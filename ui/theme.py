"""The atlas's chart style: legible from the back row of a lecture hall.

Every chart the pages show goes through :func:`style` (a plotly ``go.Figure``) or
:func:`vega_style` (a Vega-Lite spec, a plain dict); pages call ``ui.page.chart``, which does it:
base text 16 px (20 px in presentation mode), tick labels 14 px (18 px), titles that sit above the
plot with the legend below it so the two never collide, and one palette of ten colours paired with
ten marker symbols, so that families still differ when projected in greyscale or seen by a
colour-blind student.

The pages a whole hall opens first (the timeline, accuracy against cost, the convolution lesson)
draw Vega-Lite: the browser loads Streamlit's Vega chunk (0.8 MB) instead of plotly.js (4.7 MB),
about a second less main-thread time per cold page (benchmarks/bench_hall.py, issue 16).

Streamlit-free: plain functions of figures and dicts, tested in tests/test_theme.py.
"""
from __future__ import annotations

import copy
import math
from typing import Iterable

import plotly.graph_objects as go

# Okabe & Ito's colour-blind-safe set (2008) extended to ten, darkest first where it matters.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C564B", "#000000",
           "#F0E442", "#7F7F7F")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross", "star", "triangle-down",
           "pentagon", "hexagon")

# The same ten marks for Vega-Lite: its named shapes where it has one, else an SVG path in its unit
# square (-1..1), so a family keeps its symbol in either library.
VEGA_SHAPES = ("circle", "square", "diamond", "triangle-up",
               "M-1,-0.6L-0.6,-1L0,-0.4L0.6,-1L1,-0.6L0.4,0L1,0.6L0.6,1L0,0.4L-0.6,1L-1,0.6L-0.4,0Z",   # x
               "cross",
               "M0,-1L0.24,-0.33L0.95,-0.31L0.38,0.12L0.59,0.81L0,0.4L-0.59,0.81L-0.38,0.12L-0.95,-0.31L-0.24,-0.33Z",
               "triangle-down",
               "M0,-1L0.95,-0.31L0.59,0.81L-0.59,0.81L-0.95,-0.31Z",                                  # pentagon
               "M0.87,-0.5L0.87,0.5L0,1L-0.87,0.5L-0.87,-0.5L0,-1Z")                                  # hexagon

# The Vega-Lite version Streamlit 1.67 embeds (and the handout's vendored vega-lite 6.4.1).
VEGA_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"

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


def vega_family_scales(families: Iterable[str]) -> tuple[dict, dict]:
    """Vega-Lite ``scale``s for a colour and a shape channel keyed by family: the same pairs as
    :func:`family_styles`, so a family looks alike on every chart of either library."""
    styles = family_styles(families)
    names = list(styles)
    return ({"domain": names, "range": [styles[f]["color"] for f in names]},
            {"domain": names, "range": [VEGA_SHAPES[SYMBOLS.index(styles[f]["symbol"])] for f in names]})


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


def vega_style(spec: dict, present: bool = False) -> dict:
    """The atlas's fonts, title and legend placement for a Vega-Lite ``spec``: a new dict, ``spec``
    is left as it is (a cached spec is shared by every session).

    Sizes only ever grow: a spec whose ``config`` asks for larger text keeps it.
    """
    s = SIZES[bool(present)]
    out = copy.deepcopy(spec)
    cfg = out.setdefault("config", {})
    cfg.setdefault("font", FONT)

    def grow(section: str, key: str, size: int) -> None:
        part = cfg.setdefault(section, {})
        part[key] = max(size, part.get(key) or 0)

    for section in ("axis", "legend", "header"):
        grow(section, "labelFontSize", s["tick"])
        grow(section, "titleFontSize", s["base"])
    grow("axis", "labelLimit", 0)               # 0: never truncate a tick label
    grow("legend", "labelLimit", 0)
    grow("title", "fontSize", s["title"])
    grow("title", "subtitleFontSize", s["base"])
    grow("text", "fontSize", s["tick"])          # text marks: names written on the chart
    cfg["title"].setdefault("anchor", "start")
    # Only marks that encode a tooltip show one: Streamlit's chart theme turns tooltips on for every
    # mark, so labels, rules and frontier lines would otherwise pop up their raw fields.
    cfg.setdefault("mark", {}).setdefault("tooltip", False)
    # The legend sits below the plot, never in the title's band; a chart with many entries sets its
    # own ``columns`` so the row wraps instead of running off a 1024-px screen.
    cfg["legend"].setdefault("orient", "bottom")
    cfg["legend"].setdefault("direction", "horizontal")
    return out
