"""Page furniture shared by every page: presentation mode, rows that wrap, tables, charts, notes.

Made for a projector as much as for a laptop:

* **Presentation mode** (``?present=1`` in the URL, or the sidebar switch): larger type (body 20 px,
  metric values 45 px, chart text 18–22 px), the sidebar collapsed, and the notes meant for a
  reader at a desk (``note``) hidden; citations (``cite``) stay, since they are for the room too.
* **Nothing is cut off** at 1024×768: metrics and control rows are horizontal containers that
  wrap onto a second line instead of truncating (``metrics``, ``row``); small tables are
  Markdown tables with exact, separated counts (``table``), whose cells wrap rather than being
  clipped; every plotly figure is drawn in the atlas's style (``chart``); a classifier's top-5 is
  labelled bars in HTML (``.atlas-top5``, ``ui.classify.top5_html``).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui import theme
from zoo import fmt

PRESENT_KEY = "present"

# Laptop and projector alike: a narrower sidebar and less side padding leave the page its width;
# metric values, labels and button labels wrap instead of ending in "…".
_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-left: 2rem; padding-right: 2rem; padding-top: 3rem; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] > div,
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
[data-testid="stMetricValue"] > div { line-height: 1.15; }
[data-testid="stBaseButton-secondary"] p, [data-testid="stBaseButton-primary"] p,
[data-testid="stBaseButton-segmented_control"] p, [data-testid="stBaseButton-segmented_controlActive"] p {
  white-space: nowrap; }
[data-testid="stTable"] td, [data-testid="stTable"] th { overflow-wrap: anywhere; }
[data-testid="stMarkdownContainer"] table { font-size: 0.875rem; }
[data-testid="stMarkdownContainer"] td, [data-testid="stMarkdownContainer"] th {
  padding: 0.3rem 0.55rem; overflow-wrap: break-word; }
[data-testid="stMarkdownContainer"] td[style*="right"] { white-space: nowrap; font-variant-numeric: tabular-nums; }
.atlas-top5 { margin: 0.25rem 0 1rem 0; font-size: 1rem; line-height: 1.3; }
.atlas-top5-title { font-weight: 600; margin-bottom: 0.5rem; }
.atlas-top5 ol { list-style: none; margin: 0; padding: 0; }
.atlas-top5 li { margin: 0 0 0.6rem 0; padding: 0; }
.atlas-top5-row { display: flex; justify-content: space-between; align-items: baseline; gap: 0.75rem; }
.atlas-top5-name { overflow-wrap: anywhere; }
.atlas-top5-pct { white-space: nowrap; font-variant-numeric: tabular-nums; }
.atlas-top5-track { height: 0.55rem; margin-top: 0.2rem; border-radius: 0.3rem; background: rgba(128, 128, 128, 0.22); }
.atlas-top5-fill { height: 100%; border-radius: 0.3rem; background: #0072B2; }
</style>
"""
_PRESENT_CSS = """
<style>
html { font-size: 20px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stTable"] td, [data-testid="stTable"] th, .atlas-diagram,
[data-testid="stMarkdownContainer"] td, [data-testid="stMarkdownContainer"] th { font-size: 1rem !important; }
[data-testid="stMetricValue"] p { font-size: inherit !important; }
[data-testid="stMetricLabel"] p { font-size: 1rem !important; }
[data-testid="stMainBlockContainer"] { padding-left: 1.5rem; padding-right: 1.5rem; padding-top: 4rem;
  max-width: none; }
[data-testid="stCaptionContainer"] { font-size: 0.8rem; }
h1 { font-size: 2.1rem !important; }
</style>
"""


def presenting() -> bool:
    """True when the page is shown in presentation mode.

    ``?present=1`` (or ``0``) in the URL decides when it is there; otherwise the session keeps the
    last choice, so the mode survives a page switch (``setup`` writes it back into the URL).
    """
    raw = st.query_params.get(PRESENT_KEY)
    if raw is not None:
        st.session_state[_STATE] = raw.lower() in ("1", "true", "yes", "on")
    return bool(st.session_state.get(_STATE, st.session_state.get(_DEFAULT, False)))


_STATE = "_presenting"
_DEFAULT = "_presenting_by_default"
_SWITCH = "presentation_switch"


def setup(default_present: bool = False) -> None:
    """Page config and the atlas's CSS; the router calls this once per run, before the page runs.
    ``default_present``: the page opens in presentation mode unless the URL or the switch says no."""
    st.session_state[_DEFAULT] = default_present
    present = presenting()
    if present and not default_present and st.query_params.get(PRESENT_KEY) != "1":
        st.query_params[PRESENT_KEY] = "1"          # a copied link opens the same way
    st.set_page_config(page_title="CNN Atlas", page_icon="🧭", layout="wide",
                       initial_sidebar_state="collapsed" if present else 260)
    st.html(_CSS + (_PRESENT_CSS if present else ""))


def _switched() -> None:
    on = bool(st.session_state[_SWITCH])
    st.session_state[_STATE] = on
    if on:
        st.query_params[PRESENT_KEY] = "1"
    elif PRESENT_KEY in st.query_params:
        del st.query_params[PRESENT_KEY]


def presentation_switch() -> None:
    """The sidebar switch of presentation mode, kept in the URL as ``present=1``."""
    st.session_state[_SWITCH] = presenting()
    st.toggle("Presentation mode", key=_SWITCH, on_change=_switched,
              help="Large type for a projector, sidebar collapsed, reader's notes hidden. "
                   "Add ?present=1 to any link to open it this way.")


# --- layout ------------------------------------------------------------------------------------

def row(gap: str = "medium", **kwargs):
    """A horizontal container whose items wrap onto the next line when the page is narrow."""
    return st.container(horizontal=True, wrap=True, gap=gap, **kwargs)


def metrics(items: Iterable[tuple], where=None) -> None:
    """A wrapping row of ``st.metric`` cards: ``(label, value, help)`` or ``(label, value, help, delta)``.

    Each card is as wide as its content (at least ``min_width`` px), so at 1024 px the row breaks
    onto a second line rather than cutting a value short.
    """
    with (where or st).container(horizontal=True, wrap=True, gap="medium"):
        for item in items:
            label, value, help_, *rest = item
            st.metric(label, value, help=help_, delta=rest[0] if rest else None, width="content")


def note(text: str, where=None) -> None:
    """A reader's note (how to read a chart, what a number means): hidden in presentation mode."""
    if not presenting():
        (where or st).caption(text)


def cite(text: str, where=None) -> None:
    """A citation under a figure or table: always shown, presentation mode included."""
    (where or st).caption(text)


def chart(fig: go.Figure | dict, where=None, **kwargs):
    """``fig`` in the atlas's style (presentation sizes when presenting), in the container ``where``
    (a column, a tab…; default: the page): a ``go.Figure`` with ``st.plotly_chart``, a Vega-Lite
    spec (a dict) with ``st.vega_lite_chart``."""
    return _draw(_styled(fig, presenting()), where, **kwargs)


def _draw(fig: go.Figure | dict, where=None, **kwargs):
    kwargs.setdefault("width", "stretch")
    if isinstance(fig, dict):
        return (where or st).vega_lite_chart(fig, **kwargs)
    return (where or st).plotly_chart(fig, **kwargs)


def _styled(fig: go.Figure | dict, present: bool):
    return theme.vega_style(fig, present) if isinstance(fig, dict) else theme.style(fig, present)


@st.cache_resource(max_entries=256, show_spinner=False)
def _shared_figure(builder: str, args: tuple, present: bool, _build):
    return _styled(_build(*args), present)


def shared_chart(build, *args, where=None, **kwargs):
    """``chart`` of ``build(*args)`` for a figure every session draws alike: built and styled once
    per server for these (hashable) arguments and presentation mode, then shared read-only
    (``st.plotly_chart`` and ``st.vega_lite_chart`` only read it). A hall of students opening the
    same page costs one build. ``build`` must be a named module-level function: its file and name
    are the cache key (a page's functions live in ``__main__``, so the name alone could collide
    across pages)."""
    fig = _shared_figure(_builder_key(build), tuple(args), presenting(), build)
    return _draw(fig, where, **kwargs)


def warm_chart(build, *args) -> None:
    """Build ``shared_chart``'s figure of ``build(*args)`` ahead of any session (the server's
    warm-up, ``ui.state.warm_up_jobs``), so the first student to open the page finds it styled."""
    _shared_figure(_builder_key(build), tuple(args), False, build)


def _builder_key(build) -> str:
    return f"{build.__code__.co_filename}:{build.__qualname__}"


def table(df: pd.DataFrame | Sequence[dict], counts: Iterable[str] = (), where=None,
          digits: dict[str, int] | None = None) -> None:
    """A small table as a Markdown table (``st.markdown``): counts exact with separators, missing
    values "—", numbers right-aligned.

    ``counts``: columns holding integers to print with ``zoo.fmt.count``; ``digits``: columns of
    floats to print with that many decimals; both right-aligned. Other values are shown as they
    are. For a table of hundreds of rows use ``st.dataframe`` with
    ``st.column_config.NumberColumn(format="localized")``.

    Markdown rather than ``st.table``: the browser draws it with the Markdown renderer every page
    has loaded already, where ``st.table`` fetches 0.85 MB more of Streamlit's scripts (its Arrow
    formatting, moment.js, numbro) and the server marshals a pandas Styler per session. Measured in
    Chromium, a cold Pareto page's renderer took 2.9–3.0 CPU-s with st.table, 2.2–2.6 without.
    """
    (where or st).markdown(markdown_table(df, counts, digits))


def formatted(df: pd.DataFrame | Sequence[dict], counts: Iterable[str] = (),
              digits: dict[str, int] | None = None) -> pd.DataFrame:
    """The cells ``table`` shows, as text (tested without Streamlit)."""
    df = df.copy() if isinstance(df, pd.DataFrame) else pd.DataFrame(list(df))
    counts, digits = set(counts), dict(digits or {})
    for col in df.columns:
        if col in counts:
            df[col] = df[col].map(fmt.count)
        elif col in digits:
            df[col] = df[col].map(lambda v, d=digits[col]: fmt.DASH if _missing(v) else f"{v:,.{d}f}")
        else:
            df[col] = df[col].map(_cell)
    return df


def markdown_table(df: pd.DataFrame | Sequence[dict], counts: Iterable[str] = (),
                   digits: dict[str, int] | None = None) -> str:
    """``formatted``'s cells as a GitHub-flavoured Markdown table, ``counts`` and ``digits`` columns
    right-aligned (``---:``)."""
    counts, digits = tuple(counts), dict(digits or {})
    cells = formatted(df, counts, digits)
    right = set(_right_aligned(cells.columns, counts, digits))
    rows = [[_md(c) for c in cells.columns], ["---:" if c in right else "---" for c in cells.columns]]
    rows += [[_md(v) for v in row] for row in cells.itertuples(index=False)]
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def table_view(df: pd.DataFrame | Sequence[dict], counts: Iterable[str] = (),
               digits: dict[str, int] | None = None):
    """``formatted`` as a pandas Styler, numbers right-aligned: the lecture handout's HTML tables."""
    counts, digits = tuple(counts), dict(digits or {})
    cells = formatted(df, counts, digits)
    right = _right_aligned(cells.columns, counts, digits)
    styler = cells.style
    if right:
        styler = styler.set_properties(subset=right, **{"text-align": "right", "white-space": "nowrap"})
    return styler


def _right_aligned(columns, counts, digits) -> list:
    """The columns of numbers (``counts`` and ``digits``), which ``table`` right-aligns."""
    return [c for c in columns if c in counts or c in digits]


def _cell(v) -> str:
    """A cell of a column without a format: "—" when missing, a float to at most 4 decimals."""
    if _missing(v):
        return fmt.DASH
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".")
    return str(v)


def _md(v) -> str:
    """A cell as Markdown table text: a "|" would end the cell, a line break the row."""
    return str(v).replace("|", "\\|").replace("\r", " ").replace("\n", " ").strip() or " "


def _missing(v) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
