"""Lecture: the seed paper's story as a guided, live presentation (``?step=N`` opens step N).

Each step is a slide built by ``ui.lecture`` from the same functions the other pages use, so the
numbers are live and exact; its controls (a model, φ…) live in the URL too. Next / Previous (or the
← / → keys, as a presenter's remote sends them), a progress line "5 / 12" and a jump list move
through it; speaker notes stay hidden unless the lecturer turns them on. The page opens in
presentation mode; the handout is the whole lecture as one HTML file that works offline.
"""
from __future__ import annotations

import streamlit as st

from ui import lecture as lec
from ui import lesson_runs as runs
from ui import page
from ui.state import ensure_router

ensure_router()  # a deep link as the server's first request still goes through app.py

N = len(lec.STEPS)


def current_step() -> int:
    """The step from ``?step=`` (1-based) on a fresh view, else the session's; a bad value is reported."""
    raw = st.query_params.get("step")
    if "lecture_step" not in st.session_state:
        i = lec.step_index(raw) if raw is not None else 0
        if i is None:
            st.warning(f"Ignored `step={raw}` from the URL: the lecture has steps 1 to {N}.")
            i = 0
        st.session_state["lecture_step"] = i
    return st.session_state["lecture_step"]


def _go(delta: int) -> None:
    st.session_state["lecture_step"] = min(max(st.session_state["lecture_step"] + delta, 0), N - 1)


def _jump() -> None:
    st.session_state["lecture_step"] = [s.title for s in lec.STEPS].index(st.session_state["lecture_jump"])


def navigation(i: int, step: lec.Step) -> tuple[bool, dict]:
    """One compact row: Previous / Next (← / →), "5 / 12", the jump list, the step's own controls and
    the speaker-notes switch, so the slide's figure fits a 1024×768 projector below it."""
    with page.row(vertical_alignment="center", gap="small"):
        st.button("Previous", on_click=_go, args=(-1,), disabled=i == 0, shortcut="Left", key="lecture_prev")
        st.button("Next", on_click=_go, args=(1,), disabled=i == N - 1, shortcut="Right", type="primary",
                  key="lecture_next")
        st.markdown(f"**{i + 1} / {N}**")
        st.session_state["lecture_jump"] = lec.STEPS[i].title
        st.selectbox("Jump to", [s.title for s in lec.STEPS], key="lecture_jump", on_change=_jump,
                     label_visibility="collapsed", width=300)
        params = controls(step)
        notes = st.toggle("Speaker notes", key="notes", help="For the lecturer's screen; the projector "
                          "shows only the slide.")
    return notes, params


def controls(step: lec.Step) -> dict:
    """The step's widgets, each kept in the URL as ``<step>_<name>``."""
    values = {}
    for c in step.controls:
        key = f"{step.key}_{c.name}"
        raw = st.query_params.get(key)
        if key not in st.session_state:
            options = [str(o) for o in c.options]
            if raw is not None and raw not in options:
                st.warning(f"Ignored `{key}={raw}` from the URL: not one of {', '.join(options)}.")
            st.session_state[key] = c.options[options.index(raw)] if raw in options else c.default
        values[c.name] = st.selectbox(c.label, c.options, key=key, width=200, label_visibility="collapsed",
                                      format_func=lambda v, c=c: f"{c.label}: {v}")
        if values[c.name] != c.default:
            st.query_params[key] = str(values[c.name])
        elif key in st.query_params:
            del st.query_params[key]
    return values


@st.cache_data(show_spinner="Building the slide…", max_entries=128)
def slide(i: int, params: tuple) -> lec.Slide:
    return lec.build(i, dict(params))


@st.cache_data(show_spinner=False, max_entries=4)
def handout(params: tuple) -> str:
    return lec.handout_html({k: dict(v) for k, v in params})


def draw(step: lec.Step, s: lec.Slide, notes: bool) -> None:
    """The slide: its title and point, the main figure within the first screen, then the rest."""
    st.title(step.title, anchor=False)
    st.markdown(s.lead)
    figure_slot = st
    if s.images:                 # a photo beside the slide's first figure
        left, figure_slot = st.columns([1, 1.5])
        for image, caption in s.images:
            left.image(image, caption=caption, width="stretch")
    for j, fig in enumerate(s.figures):
        fig = lec.fit_to_slide(fig)     # a legend of every family would not fit a slide: points are named
        page.chart(fig, key=f"{step.key}_fig{j}", where=figure_slot if j == 0 else None)
    if s.metrics:
        page.metrics(s.metrics)
    for t in s.tables:
        page.table(t.data, counts=t.counts, digits=t.digits)
    if s.cite:
        page.cite(s.cite)
    if notes:
        with st.container(border=True):
            st.markdown("**Speaker notes** (" + step.section + ")\n" + "\n".join(f"- {n}" for n in step.notes))


def main() -> None:
    i = current_step()
    st.query_params["step"] = str(i + 1)
    step = lec.STEPS[i]
    notes, params = navigation(i, step)
    try:
        if step.measure:     # measured live: a button, a progress bar, the result kept for the session
            key = ("lecture", step.key, tuple(sorted(params.items())))
            entry = runs.measured(key, step.measure_label, lambda progress: step.measure(params, progress),
                                  button_key=f"measure_{step.key}", start_text="starting…")
            s = lec.build(i, params, entry["result"] if entry else None)
        else:
            s = slide(i, tuple(sorted(params.items())))
    except Exception as e:  # a step that cannot be built must not end the lecture
        st.error(f"This step could not be built: {e}. Use Next → to go on.")
        return
    draw(step, s, notes)
    all_params = tuple((st_.key, tuple(sorted({**st_.defaults(), **(params if st_ is step else {})}.items())))
                       for st_ in lec.STEPS)
    st.download_button("Download the lecture as one HTML file (works offline)", data=lambda: handout(all_params),
                       file_name="cnn_atlas_lecture.html", mime="text/html", key="handout")


main()
