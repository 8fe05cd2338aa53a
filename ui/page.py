"""Page furniture shared by every page: presentation mode and charts in the atlas's style.

Presentation mode (``?present=1`` in the URL, or the sidebar switch) is for a projector: larger
type, the sidebar collapsed, captions meant for a reader at a desk hidden. Pages ask
:func:`presenting` and draw every plotly figure through :func:`chart`, which applies
``ui.theme.style`` at the right size.
"""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from ui import theme

PRESENT_KEY = "present"


def presenting() -> bool:
    """True when the page is shown in presentation mode (``?present=1``)."""
    v = st.session_state.get(PRESENT_KEY)
    if v is None:
        v = st.query_params.get(PRESENT_KEY, "0") in ("1", "true", "yes")
    return bool(v)


def chart(fig: go.Figure, where=None, **kwargs):
    """``st.plotly_chart`` of ``fig`` in the atlas's style (presentation sizes when presenting),
    in the container ``where`` (a column, a tab…; default: the page)."""
    kwargs.setdefault("width", "stretch")
    return (where or st).plotly_chart(theme.style(fig, presenting()), **kwargs)
