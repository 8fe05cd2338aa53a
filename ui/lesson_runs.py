"""Streamlit plumbing of every measurement: a button, a progress bar, a re-run, a per-session cache.

A measurement reports progress while it runs, so it cannot live inside ``st.cache_data`` (which
replays the elements a cached function touches and refuses a progress bar created outside it).
Its result goes into ``st.session_state`` instead, keyed by (experiment, settings, threads): the
same settings show the stored result without measuring again, until the user asks for a re-run.
Per session, not per server: a figure measured for another visitor, under another load, is not
this lecturer's measurement. Each entry records when it was measured and how long it took.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Callable

import streamlit as st

MAX_RESULTS = 48
_STORE = "_measurements"


def _store() -> OrderedDict:
    store = st.session_state.get(_STORE)
    if store is None:
        store = st.session_state[_STORE] = OrderedDict()
    return store


def cached(key: tuple) -> dict | None:
    """The stored entry for ``key`` in this session, or None."""
    return _store().get(key)


def run_with_progress(key: tuple, fn: Callable[[Callable[[float, str], None]], Any], start_text: str) -> dict:
    """Run ``fn(progress)`` under a progress bar and store its result under ``key`` (replacing any)."""
    store = _store()
    bar = st.progress(0.0, text=start_text)

    def progress(fraction: float, text: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=text)

    t0 = time.perf_counter()
    result = fn(progress)
    bar.empty()
    store.pop(key, None)
    store[key] = {"result": result, "seconds": time.perf_counter() - t0, "when": time.strftime("%H:%M:%S")}
    while len(store) > MAX_RESULTS:
        store.popitem(last=False)
    return store[key]


def measured(key: tuple, button: str, fn: Callable[[Callable[[float, str], None]], Any], *,
             button_key: str, start_text: str = "starting…", where=None) -> dict | None:
    """A button that runs ``fn`` under a progress bar; returns this session's entry for ``key`` or None.

    Before the first run the button reads ``button`` (primary); once a result is stored for these
    settings it reads "Measure again" and the stored result is shown (the page reruns after a
    measurement to draw it). The entry is ``{"result", "seconds", "when"}``.
    """
    where = where or st
    entry = cached(key)
    label = button if entry is None else "Measure again"
    if where.button(label, key=button_key, type="primary" if entry is None else "secondary",
                    help=None if entry is None else f"{button} — the figures below are from {entry['when']}."):
        run_with_progress(key, fn, start_text)
        st.rerun()  # draw the page again from the stored result, the button now offering a re-run
    return entry
