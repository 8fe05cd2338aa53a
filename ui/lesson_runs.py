"""Streamlit plumbing of the measured lessons: a button, a progress bar, and a shared result cache.

A measurement reports progress while it runs, so it cannot live inside ``st.cache_data`` (which
replays the elements a cached function touches and refuses a progress bar created outside it).
Instead the results go into one dictionary held by ``st.cache_resource``: shared by every session
of the server, keyed by the experiment and its settings, never recomputed for the same key. A
result records when and on which machine it was measured, and the page shows that with it.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Callable

import streamlit as st

MAX_RESULTS = 64


@st.cache_resource
def _store() -> OrderedDict:
    return OrderedDict()


def cached(key: tuple) -> Any | None:
    return _store().get(key)


def run_with_progress(key: tuple, fn: Callable[[Callable[[float, str], None]], Any], start_text: str) -> Any:
    """``fn(progress)`` under a progress bar, stored under ``key``; the stored result if there is one."""
    store = _store()
    if key in store:
        return store[key]
    bar = st.progress(0.0, text=start_text)

    def progress(fraction: float, text: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=text)

    t0 = time.perf_counter()
    result = fn(progress)
    bar.empty()
    store[key] = {"result": result, "seconds": time.perf_counter() - t0,
                  "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    while len(store) > MAX_RESULTS:
        store.popitem(last=False)
    return store[key]


def measured(key: tuple, button: str, fn: Callable[[Callable[[float, str], None]], Any], *,
             button_key: str, start_text: str = "starting…") -> dict | None:
    """A primary button that runs ``fn`` (progress bar, cached); returns the stored entry or None.

    The entry is ``{"result", "seconds", "when"}``. A result already measured for these settings
    (by this or another session) is shown without pressing the button.
    """
    pressed = st.button(button, key=button_key, type="primary")
    if pressed:
        return run_with_progress(key, fn, start_text)
    return cached(key)
