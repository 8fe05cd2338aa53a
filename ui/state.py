"""Streamlit plumbing shared by the Explore pages: cached zoo results and URL state.

Unlike ``ui/explore.py`` this module imports streamlit: it holds the ``st.cache_data`` wrappers
around ``zoo`` (so every page and every session shares one cache) and the query-parameter helpers
that make a copied URL reopen the same view.

Shareable state: page widgets are created with ``bind="query-params"`` and a short key
(``model``, ``res``, ``phi``...), so Streamlit itself keeps them in the URL. The helpers here only
fill in what a hand-written or linked URL leaves out (the family of a given model) and drop
values that are invalid before a widget sees them.

Large models (EfficientNet-B7, ResNet-RS-420) are only ever analysed on the meta device: shapes
and counts, no weights allocated. Nothing here builds a model with real tensors except
``measure_latency``, which the pages only call for models under ``LATENCY_MAX_MACS``.
"""
from __future__ import annotations

import inspect
from collections import OrderedDict

import streamlit as st
import torch

import zoo
from ui import explore as ux

# The Pareto page times only models at most this heavy (VGG-16, B7, RS-420 stay meta-only).
LATENCY_MAX_MACS = 6e9
# Knobs a builder may take that the explorer offers as widgets: keyword -> (label, min, max, step)
KNOBS = {
    "width_mult": ("width multiplier α", 0.25, 2.0, 0.05),
    "phi": ("compound coefficient φ", 0.0, 7.0, 0.1),
}


def analyze(name: str, resolution: int | None = None, **overrides):
    """``zoo.analyze`` with a clear error while the analysis module is missing."""
    from zoo.analysis import analyze as fn  # also zoo.analyze once zoo/__init__ exports it
    return fn(name, resolution=resolution, **overrides)


@st.cache_data(max_entries=128, show_spinner="Analysing on the meta device…")
def summary(name: str, resolution: int | None = None, overrides: tuple = ()) -> dict:
    """Per-layer analysis of ``name`` (meta device) as a picklable dict, cached across sessions."""
    return ux.summarize(analyze(name, resolution, **dict(overrides)))


@st.cache_data(max_entries=512, show_spinner=False)
def totals(name: str, resolution: int | None = None, overrides: tuple = ()) -> dict:
    """Only the totals of ``summary`` (cheap to fetch from the cache for many models at once)."""
    s = summary(name, resolution, overrides)
    return {k: v for k, v in s.items() if k not in ("records", "by_block", "by_kind", "blocks")}


def compound_overrides(alpha: float, beta: float, gamma: float, phi: float) -> tuple:
    """Builder overrides of ``zoo.build("efficientnet", ...)`` as a hashable cache key."""
    return tuple(sorted({"alpha": float(alpha), "beta": float(beta), "gamma": float(gamma),
                         "phi": float(phi)}.items()))


def dims_overrides(width_mult: float, depth_mult: float) -> tuple:
    """Overrides scaling B0's width and depth directly (one-dimension scaling curves)."""
    return (("depth_mult", float(depth_mult)), ("width_mult", float(width_mult)))


@st.cache_data(show_spinner="Analysing every model on the meta device…")
def pareto_points(prefer: str = "paper") -> list[dict]:
    """Every registered model with a published top-1: top-1 and its source, inference params, MACs."""
    rows = published_rows()
    out = []
    for name in zoo.list_models():
        mi = zoo.info(name)
        if not mi.published:
            continue
        top1, source = ux.published_top1(rows.get(mi.published), prefer)
        if top1 is None:
            continue
        t = totals(name)
        out.append({"name": name, "family": mi.family, "top1": top1, "source": source,
                    "params": t["total_params"] - t["unused_params"], "macs": t["total_macs"],
                    "resolution": t["resolution"]})
    return out


@st.cache_data(show_spinner=False)
def timeline() -> list[dict]:
    """assets/timeline.csv joined with cited top-1 and zoo's inference parameter counts."""
    entries = [t for t in asset_csv("timeline.csv") if t["model"] in zoo.list_models()]
    params = {}
    for t in entries:
        tot = totals(t["model"])
        params[t["model"]] = tot["total_params"] - tot["unused_params"]
    families = {t["model"]: zoo.info(t["model"]).family for t in entries}
    return ux.timeline_rows(entries, published_rows(), params, families)


@st.cache_data(max_entries=256, show_spinner=False)
def macro_dot(name: str, resolution: int | None, overrides: tuple, shade: str | None) -> str:
    from zoo import diagram
    return diagram.macro_dot(_target(name, overrides), resolution=resolution, shade=shade)


@st.cache_data(max_entries=256, show_spinner=False)
def micro_dot(name: str, block: str, resolution: int | None, overrides: tuple, shade: str | None) -> str:
    from zoo import diagram
    return diagram.micro_dot(_target(name, overrides), block=block, resolution=resolution, shade=shade)


def _target(name: str, overrides: tuple):
    """A name, or a meta-device model when the view has builder overrides."""
    if not overrides:
        return name
    return meta_model(name, overrides)


@st.cache_resource(max_entries=32, show_spinner=False)
def meta_model(name: str, overrides: tuple = ()):
    """A meta-device model (no weights allocated), shared by every session."""
    with torch.device("meta"):
        return zoo.build(name, **dict(overrides))


@st.cache_data(show_spinner=False)
def families() -> "OrderedDict[str, list[str]]":
    """Family -> registered models, families in order of their first paper's year."""
    fams: dict[str, list[str]] = {}
    for n in zoo.list_models():
        fams.setdefault(zoo.info(n).family, []).append(n)
    order = sorted(fams, key=lambda f: (min(zoo.info(n).year for n in fams[f]), f))
    return OrderedDict((f, sorted(fams[f], key=_natural)) for f in order)


def _natural(name: str):
    """Sort key putting resnet18 before resnet101 and efficientnet_b2 before efficientnet_b10."""
    import re
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def knobs(name: str) -> dict[str, object]:
    """The explorer knobs (``KNOBS``) the builder of ``name`` accepts, with its default value."""
    try:
        params = inspect.signature(zoo.info(name).builder).parameters
    except (TypeError, ValueError):
        return {}
    return {k: p.default for k, p in params.items() if k in KNOBS and p.default is not inspect.Parameter.empty}


@st.cache_data(show_spinner=False)
def published_rows() -> dict:
    from zoo.registry import published_rows as rows
    return dict(rows())


@st.cache_data(show_spinner=False)
def asset_csv(filename: str) -> list[dict]:
    return ux.read_csv(ux.ASSETS / filename)


@st.cache_data(show_spinner=False, max_entries=512)
def measure_latency(name: str, resolution: int, threads: int, runs: int) -> dict:
    """Median CPU latency of one forward pass (batch 1), cached by (model, resolution, threads)."""
    from zoo.latency import measure
    return measure(name, resolution, runs=runs, warmup=1, threads=threads, max_seconds=10).to_dict()


# --- URL state --------------------------------------------------------------------------------

def seed_family_from_model(family_key: str = "family", model_key: str = "model") -> None:
    """A URL naming only ``model=`` opens that model's family (set before the widgets exist)."""
    qp = st.query_params
    model = qp.get(model_key)
    if model and family_key not in qp and family_key not in st.session_state:
        try:
            st.session_state[family_key] = zoo.info(model).family
        except KeyError:
            pass


def clamp_query_number(key: str, lo: float, hi: float) -> None:
    """A numeric URL value outside the widget's range is dropped, with a message, before binding."""
    raw = st.query_params.get(key)
    if raw is None or key in st.session_state:
        return
    try:
        v = float(raw)
    except ValueError:
        st.warning(f"Ignored `{key}={raw}` from the URL: not a number.")
        return
    if not lo <= v <= hi:
        st.warning(f"Ignored `{key}={raw}` from the URL: it must lie between {lo:g} and {hi:g}.")


# --- warming the caches -----------------------------------------------------------------------

def warm_up_jobs() -> list[tuple]:
    """(function, args) in the order a lecturer meets them: home, explorer, scaling lab, Pareto."""
    from zoo import efficientnet as eff
    jobs: list[tuple] = [(timeline, ()), (totals, ("resnet50",)), (totals, ("resnet50_paper",))]
    jobs += [(totals, (f"efficientnet_b{i}",)) for i in range(8)]
    for phi in [1.0] + [float(i) for i in range(8)]:
        _, _, r = eff.compound_coefficients(phi)
        jobs.append((totals, ("efficientnet", r, compound_overrides(eff.ALPHA, eff.BETA, eff.GAMMA, phi))))
    jobs += [(totals, ("efficientnet", r, dims_overrides(w, d)))
             for pts in ux.one_dimension_grid().values() for _, w, d, r in pts]
    jobs += [(totals, (n,)) for n in zoo.list_models()]
    jobs += [(pareto_points, ("paper",)), (pareto_points, ("weights",))]
    return jobs


def warm_up(jobs: list[tuple] | None = None, stop=None) -> int:
    """Run ``jobs`` (default ``warm_up_jobs()``) through the shared caches; returns how many ran.

    Failures are skipped: the page that needs the entry will show the error itself.
    """
    done = 0
    for fn, args in jobs if jobs is not None else warm_up_jobs():
        if stop is not None and stop.is_set():
            break
        try:
            fn(*args)
            done += 1
        except Exception:
            pass
    return done


@st.cache_resource(show_spinner=False)
def start_warm_up():
    """Start warming the caches once per server process, in a daemon thread."""
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=warm_up, kwargs={"stop": stop}, name="cnn-atlas-warm-up", daemon=True)
    thread.start()
    return thread, stop
