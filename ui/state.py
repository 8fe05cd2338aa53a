"""Streamlit plumbing shared by the Explore pages: cached zoo results and URL state.

Unlike ``ui/explore.py`` this module imports streamlit: it holds the ``st.cache_data`` wrappers
around ``zoo`` (so every page and every session shares one cache) and the query-parameter helpers
that make a copied URL reopen the same view.

Shareable state: page widgets are created with ``bind="query-params"`` and a short key
(``model``, ``res``, ``phi``...), so Streamlit itself keeps them in the URL. The helpers here only
fill in what a hand-written or linked URL leaves out (the family of a given model) and drop
values that are invalid before a widget sees them.

Large models (EfficientNet-B7, ResNet-RS-420) are only ever analysed on the meta device: shapes
and counts, no weights allocated. Nothing here builds a model with real tensors; the pages that
time models (``zoo.latency``) only do so for models under ``LATENCY_MAX_MACS``.
"""
from __future__ import annotations

import inspect
import json
from collections import OrderedDict

import streamlit as st
import torch

import zoo
from zoo import design as zoo_design
from ui import explore as ux

# The Pareto page and the explorer's Measured-here tab time only models at most this heavy
# (VGG-16, B7, RS-420 stay meta-only).
LATENCY_MAX_MACS = 6e9
# Knobs a builder may take that the explorer offers as sliders:
# builder keyword -> (URL key, label, min, max, step). At most one per model (see ``knobs``).
KNOBS = {
    "phi": ("phi", "compound coefficient φ", 0.0, 7.0, 0.1),
    "width_mult": ("width", "width multiplier", 0.25, 2.0, 0.05),
    "alpha": ("width", "width multiplier α (MobileNet v1)", 0.25, 2.0, 0.05),
}


@st.cache_resource(show_spinner=False)
def serve_threads() -> int:
    """Once per server process: torch's intra-op threads for inference (``zoo.latency.serving_threads``:
    half the logical CPUs, ``$CNN_ATLAS_THREADS`` overrides). torch keeps the count per thread
    once a thread has run an operator, and Streamlit runs each script in a fresh thread, so every
    session's passes after this use it; the timers still set their own count for a measurement."""
    from zoo.latency import serving_threads

    n = serving_threads()
    torch.set_num_threads(n)
    return n


def _key(name: str, resolution: int | None, overrides) -> tuple:
    """One cache key per view: the default resolution spelled out, overrides as a sorted tuple."""
    if resolution is None:
        resolution = design_spec(name)["resolution"] if is_design(name) else zoo.info(name).resolution
    res = int(resolution)
    ov = tuple(sorted(dict(overrides).items()))
    return name, res, ov


def analysis(name: str, resolution: int | None = None, overrides=()):
    return _analysis(*_key(name, resolution, overrides))


def summary(name: str, resolution: int | None = None, overrides=()) -> dict:
    return _summary(*_key(name, resolution, overrides))


def totals(name: str, resolution: int | None = None, overrides=()) -> dict:
    return _totals(*_key(name, resolution, overrides))


@st.cache_resource(max_entries=160, show_spinner="Analysing on the meta device…")
def _analysis(name: str, resolution: int, overrides: tuple):
    """``zoo.analyze`` of ``name`` on the meta device, shared read-only by every session.

    A ``cache_resource`` (no copy on each hit) because the diagrams are drawn from the same
    ``Analysis`` object; pages read tables through ``summary`` (``cache_data``) instead.
    """
    if is_design(name):
        return zoo_design.analyze(design_spec(name), resolution)
    return zoo.analyze(name, resolution=resolution, **dict(overrides))


@st.cache_data(max_entries=160, show_spinner=False)
def _summary(name: str, resolution: int, overrides: tuple) -> dict:
    """Per-layer analysis of ``name`` (meta device) as a picklable dict, cached across sessions."""
    return ux.summarize(_analysis(name, resolution, overrides))


@st.cache_data(max_entries=512, show_spinner=False)
def _totals(name: str, resolution: int, overrides: tuple) -> dict:
    """Only the totals of ``summary`` (cheap to fetch from the cache for many models at once)."""
    s = _summary(name, resolution, overrides)
    return {k: v for k, v in s.items() if k not in ("records", "by_block", "by_kind", "blocks")}


@st.cache_data(max_entries=64, show_spinner=False)
def conv_check(p: tuple) -> list[dict]:
    """``ui.lessons.verify_with_engine(*p)``: the conv lab's layers traced by ``zoo.analyze``."""
    from ui import lessons
    return lessons.verify_with_engine(*p)


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


def macro_view(name: str, resolution: int | None, overrides, shade: str | None) -> dict:
    return _macro_view(*_key(name, resolution, overrides), shade)


@st.cache_data(max_entries=256, show_spinner=False)
def _macro_view(name: str, resolution: int, overrides: tuple, shade: str | None) -> dict:
    """zoo.diagram.macro_nodes of the analysis, without the per-layer index lists."""
    a = _analysis(name, resolution, overrides)
    nodes = [{k: n[k] for k in ("title", "lines", "share", "macs", "params")}
             for n in zoo.diagram.macro_nodes(a, shade)]
    return {"nodes": nodes, "input": tuple(a.input_shape), "output": tuple(a.output_shape)}


def macro_dot(name: str, resolution: int | None, overrides, shade: str | None) -> str:
    return _macro_dot(*_key(name, resolution, overrides), shade)


def micro_dot(name: str, block: str, resolution: int | None, overrides, shade: str | None) -> str:
    return _micro_dot(*_key(name, resolution, overrides), block, shade)


@st.cache_data(max_entries=256, show_spinner=False)
def _macro_dot(name: str, resolution: int, overrides: tuple, shade: str | None) -> str:
    return zoo.diagram.macro_dot(_analysis(name, resolution, overrides), shade=shade)


@st.cache_data(max_entries=256, show_spinner=False)
def _micro_dot(name: str, resolution: int, overrides: tuple, block: str, shade: str | None) -> str:
    return zoo.diagram.micro_dot(_analysis(name, resolution, overrides), block=block, shade=shade)


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
    # named variants first, the general knob-driven model ("efficientnet", φ) last
    return OrderedDict((f, sorted(fams[f], key=lambda n: ("phi" in knobs(n), _natural(n)))) for f in order)


def _natural(name: str):
    """Sort key putting resnet18 before resnet101 and efficientnet_b2 before efficientnet_b10."""
    import re
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def knobs(name: str) -> dict[str, float]:
    """The explorer knob of ``name``'s builder, ``{keyword: default}``, or ``{}``.

    φ where the builder scales by the compound coefficient (its ``alpha`` is then EfficientNet's
    depth coefficient, not a width), else ``width_mult``, else MobileNet v1's width ``alpha``.
    """
    try:
        params = inspect.signature(zoo.info(name).builder).parameters
    except (TypeError, ValueError):
        return {}
    for k in KNOBS:
        p = params.get(k)
        if p is not None and isinstance(p.default, (int, float)):
            return {k: float(p.default)}
    return {}


@st.cache_data(show_spinner=False)
def published_rows() -> dict:
    from zoo.registry import published_rows as rows
    return dict(rows())


@st.cache_data(show_spinner=False)
def asset_csv(filename: str) -> list[dict]:
    return ux.read_csv(ux.ASSETS / filename)


# --- classifying a photo, once per server -----------------------------------------------------
# A hall opens the same sample photos: each model's top-5, the picture it saw and its Grad-CAM are
# computed once per (model, device, SHA-256 of the photo's file bytes[, class, opacity]) and served
# to every session. The decoded photo rides along unhashed (``_photo``): it is a function of those
# bytes. Pictures are kept as JPEG bytes, which ``st.image`` serves without encoding them again.
# The model is ``ui.classify.shared_classifier``'s one instance; ``gradcam`` is safe on it from
# several threads at once, and Streamlit computes a missing entry once while others wait.

def photo_key(data: bytes) -> str:
    import hashlib
    return hashlib.sha256(data).hexdigest()


@st.cache_resource(max_entries=64, show_spinner=False)
def decoded_photo(key: str, name: str, _data: bytes):
    """``ui.classify.decode_image`` of the bytes whose hash is ``key`` (read-only, shared)."""
    from ui import classify as uc
    return uc.decode_image(_data, name)


@st.cache_data(max_entries=64, show_spinner=False)
def photo_jpeg(key: str, _photo) -> bytes:
    from ui import classify as uc
    return uc.jpeg_bytes(_photo.image)


@st.cache_data(max_entries=256, show_spinner=False)
def photo_view(model: str, device: str, key: str, _photo) -> dict:
    """``model``'s top-5 of the photo (``pred``, its time that of the first forward pass), and the
    picture it saw: ``pixels`` (H, W, 3) uint8 and ``jpeg``."""
    from ui import classify as uc
    clf = uc.shared_classifier(model, device)
    x = clf.input(_photo.image)
    pixels = clf.norm.to_pixels(x)
    return {"pred": uc.predict(clf.model, x, clf.class_names, k=5, device=clf.device),
            "pixels": pixels, "jpeg": uc.jpeg_bytes(pixels)}


@st.cache_data(max_entries=512, show_spinner=False)
def photo_cam(model: str, device: str, key: str, target: int, _photo):
    """Grad-CAM of class ``target`` on ``model``'s last convolutional stage, (H, W) in [0, 1]."""
    from ui import classify as uc
    clf = uc.shared_classifier(model, device)
    return uc.gradcam(clf.model, clf.input(_photo.image), int(target), clf.model.get_submodule(clf.cam_layer))


@st.cache_data(max_entries=512, show_spinner=False)
def cam_overlay(model: str, device: str, key: str, target: int, alpha: float, _photo) -> bytes:
    """The Grad-CAM blended over the picture the model saw, as JPEG bytes."""
    from ui import classify as uc
    pixels = photo_view(model, device, key, _photo)["pixels"]
    return uc.jpeg_bytes(uc.overlay(pixels, photo_cam(model, device, key, target, _photo), alpha))


@st.cache_data(show_spinner="Timing the model on this machine…", ttl=900)
def time_per_image(model: str, device: str) -> dict | None:
    """Median time per image with its spread, measured once per model and device (15 minutes)."""
    from ui import classify as uc
    return uc.time_per_image(uc.shared_classifier(model, device))


def warm_samples() -> None:
    """What the classify page shows first, for every sample photo: each packaged
    EfficientNet-Lite's top-5, its Grad-CAM of the top-1 at the default opacity, its
    time per image. Run by the warm-up, so the hall's first students find it computed."""
    from pathlib import Path

    from ui import classify as uc
    from zoo.pretrained import PACKAGED

    device = str(uc.pick_device())
    samples = uc.sample_catalog(Path(__file__).resolve().parent.parent / "assets" / "samples")
    for model in PACKAGED:
        time_per_image(model, device)
        for sample in samples:
            data = sample.path.read_bytes()
            key = photo_key(data)
            photo = decoded_photo(key, sample.path.name, data)
            top1 = photo_view(model, device, key, photo)["pred"].top[0].index
            cam_overlay(model, device, key, top1, 0.5, photo)


# --- design-lab networks (zoo.design) ----------------------------------------------------------
# A design is named "design:" + its canonical JSON, so the cached wrappers above (summary,
# macro_view, micro_dot…) serve it like a registered model, keyed by the spec itself.

DESIGN = "design:"


def design_name(spec: dict) -> str:
    """The cache name of a spec (validated first): equal designs share one cache entry."""
    return DESIGN + json.dumps(zoo_design.validate(spec), sort_keys=True, separators=(",", ":"))


def is_design(name: str) -> bool:
    return isinstance(name, str) and name.startswith(DESIGN)


def design_spec(name: str) -> dict:
    return json.loads(name[len(DESIGN):])


def display_name(name: str) -> str:
    """What a page calls a model: its registered name, or a design's own name."""
    return f"{design_spec(name)['name']} (design lab)" if is_design(name) else name


# --- URL state --------------------------------------------------------------------------------

def ensure_router() -> None:
    """Run this page through app.py's ``st.navigation``, even when a deep link comes first.

    Streamlit starts every server in its legacy multipage mode when a ``pages/`` folder exists,
    and leaves it only once some run calls ``st.navigation``. Until then a first request for
    ``/explorer`` (a URL that is also a file name in ``pages/``) runs ``pages/explorer.py`` alone:
    no router, no wide layout, a sidebar listing file names. This switches the (class-level)
    flag off and reruns, so the same URL goes through app.py. It reads a Streamlit internal;
    if that disappears, the page simply renders as before.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()



def page_link(container, page: str, label: str, query_params: dict, icon: str | None = None) -> None:
    """``st.page_link`` to ``page`` with ``query_params``; a plain link when the page runs outside
    the router (AppTest of one page file: no ``st.navigation``, no registered pages)."""
    from urllib.parse import urlencode

    from streamlit.errors import StreamlitAPIException
    try:
        container.page_link(page, label=label, icon=icon, query_params=query_params)
    except StreamlitAPIException:
        path = page.rsplit("/", 1)[-1].removesuffix(".py")
        container.markdown(f"[{label}](/{path}?{urlencode(query_params)})")


def model_from_url(family_key: str = "family", model_key: str = "model") -> str | None:
    """Before the widgets exist: a URL naming a model opens it, its family following from the
    registry (``?model=efficientnet_b0`` alone is enough). An unknown name gets a visible message
    naming the closest registered models, and the page opens its default. Returns the model opened
    from the URL, if any.

    Only a fresh view is seeded: once a callback has moved the session to another model (a family
    change picks that family's first model), the session wins until the URL catches up.
    """
    name = st.query_params.get(model_key)
    if not name:
        return None
    current = st.session_state.get(model_key)
    if current is not None and current != name:
        return None
    try:
        family = zoo.info(name).family
    except KeyError:
        import difflib
        close = difflib.get_close_matches(name.lower(), zoo.list_models(), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(f'**{c}**' for c in close)}?" if close else ""
        st.warning(f"There is no model called **{name}** in the atlas.{hint} Showing the default model instead.")
        return None
    st.session_state[family_key] = family
    st.session_state[model_key] = name
    return name


def _url_number(key: str, lo: float, hi: float) -> float | None:
    """The URL's number for ``key`` if it is one and lies in [lo, hi]; else None, with a message
    when the URL holds something else."""
    raw = st.query_params.get(key)
    if raw is None:
        return None
    try:
        v = float(raw)
    except ValueError:
        st.warning(f"Ignored `{key}={raw}` from the URL: not a number.")
        return None
    if not lo <= v <= hi:
        st.warning(f"Ignored `{key}={raw}` from the URL: it must lie between {lo:g} and {hi:g}.")
        return None
    return v


def number_from_url(key: str, lo: float, hi: float) -> None:
    """Before an unbound widget exists: on a fresh view, its number in the URL seeds its state; a
    value that is not a number or lies outside [lo, hi] is ignored with a message.

    For widgets whose values are also set by other widgets (a preset setting four sliders): a
    bound widget only writes itself into the URL when it changes, so such pages keep their values
    in the URL by hand, with this and ``numbers_to_url``.
    """
    if key in st.session_state:
        return
    v = _url_number(key, lo, hi)
    if v is not None:
        st.session_state[key] = v


def numbers_to_url(values: dict[str, tuple[float, float]]) -> None:
    """After the widgets: ``{key: (value, default)}`` written to the URL, defaults left out."""
    for key, (value, default) in values.items():
        if value != default:
            text = f"{value:g}"
            if st.query_params.get(key) != text:
                st.query_params[key] = text
        elif key in st.query_params:
            del st.query_params[key]


def clamp_query_number(key: str, lo: float, hi: float) -> None:
    """Before a widget bound to the URL exists: a numeric URL value outside its range, or not a
    number, is reported (the bound widget then ignores it)."""
    if key not in st.session_state:
        _url_number(key, lo, hi)


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
    # the design lab's templates, so that choosing one is a cache hit
    jobs += [(summary, (design_name(spec),)) for spec in zoo_design.templates().values()]
    # the convolution lab's default view (the seed's Table 3): its engine check and its filters
    from ui import lessons
    from ui import page

    t3 = lessons.TABLE3
    jobs += [(conv_check, (tuple(t3[k] for k in lessons.CONV_ARGS),)),
             (page.warm_chart, (lessons.filters_figure, t3["c_in"], t3["c_out"], t3["k"], t3["groups"]))]
    jobs.append((warm_samples, ()))        # the classify page's sample photos, last: the heaviest
    return jobs


WARM_UP = {"done": 0, "total": 0, "running": False}


def warm_up(jobs: list[tuple] | None = None, stop=None, pause: float = 0.0) -> int:
    """Run ``jobs`` (default ``warm_up_jobs()``) through the shared caches; returns how many ran.

    Progress goes to ``WARM_UP``. ``pause`` seconds between jobs let page renders take the GIL.
    Failures are skipped: the page that needs the entry will show the error itself.
    """
    import time

    jobs = warm_up_jobs() if jobs is None else jobs
    WARM_UP.update(done=0, total=len(jobs), running=True)
    try:
        for fn, args in jobs:
            if stop is not None and stop.is_set():
                break
            try:
                fn(*args)
            except Exception:
                pass
            WARM_UP["done"] += 1
            time.sleep(pause)
    finally:
        WARM_UP["running"] = False
    return WARM_UP["done"]


@st.cache_resource(show_spinner=False)
def start_warm_up():
    """Start warming the caches once per server process, in a daemon thread."""
    import threading

    stop = threading.Event()
    jobs = warm_up_jobs()
    WARM_UP.update(done=0, total=len(jobs), running=True)
    thread = threading.Thread(target=warm_up, kwargs={"jobs": jobs, "stop": stop, "pause": 0.02},
                              name="cnn-atlas-warm-up", daemon=True)
    thread.start()
    return thread, stop
