"""Classify an image: a sample photo, an upload or a webcam snapshot through a pretrained CNN.

Top-5 with probabilities and the time per image; Grad-CAM on the last convolutional stage (or
Integrated Gradients / Occlusion) over the picture the model saw; the same image through two or
three architectures side by side. Works offline: EfficientNet-Lite0's ImageNet weights ship with
the requirements, other models appear when their weights are on this machine. The live webcam
stream is the next page (``pages/live.py``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from ui import page
from ui import classify as uc
from ui.state import ensure_router

ensure_router()  # a deep link as the server's first request still goes through app.py

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "assets" / "samples"
SOURCES = ("Sample photo", "Upload", "Webcam snapshot")
METHODS = ("Grad-CAM", "Integrated Gradients", "Occlusion")
DEFAULT_SAMPLE = "coffee"


# --- cached resources: one model instance per (model, device), shared by every session ---------

@st.cache_resource(max_entries=6, show_spinner="Loading pretrained weights…")
def classifier(name: str, device: str) -> uc.Classifier:
    return uc.shared_classifier(name, device)  # the live page shares this instance


def catalog() -> list[uc.ModelStatus]:
    """Not cached: a file stat per model, and weights dropped into the cache show up at once."""
    return uc.model_catalog()


@st.cache_data(show_spinner=False)
def macs(name: str, resolution: int) -> int:
    import zoo

    return int(zoo.analyze(name, resolution=resolution).total_macs)


@st.cache_resource(show_spinner=False)
def device_name() -> str:
    return str(uc.pick_device())


def load(name: str) -> uc.Classifier | None:
    """The cached classifier, or None after showing why its weights cannot be used."""
    try:
        return classifier(name, device_name())
    except Exception as e:  # noqa: BLE001 -- missing, corrupt or unreadable weights: say which
        st.error(f"**{name}**: its weights could not be loaded. {type(e).__name__}: {e}")
        return None


# --- sections -----------------------------------------------------------------------------------

def pick_model(statuses: list[uc.ModelStatus]) -> str:
    available = [s.name for s in statuses if s.ok]
    if uc.DEFAULT_MODEL not in available:
        available.insert(0, uc.DEFAULT_MODEL)  # loading it will say what is wrong
    if st.session_state.get("model") not in available:
        st.session_state.pop("model", None)
    name = st.selectbox("Model", available, key="model", bind="query-params",
                        help="Models whose pretrained ImageNet weights are on this machine.")
    missing = [s for s in statuses if not s.ok]
    if missing:
        with st.expander(f"{len(missing)} zoo models have no weights here"):
            st.dataframe(pd.DataFrame({"model": [s.name for s in missing],
                                       "why": [s.reason for s in missing]}),
                         hide_index=True, width="stretch")
            offer_download([s.name for s in missing])
    return name


def offer_download(missing: list[str]) -> None:
    """torchvision twins can be fetched (online) into the torch hub cache, hash-checked."""
    fetched = st.session_state.pop("fetched", None)
    if fetched:
        st.success(f"{fetched}: weights downloaded and hash-checked; it is in the model list now.")
    fetchable = [n for n in missing if uc.weights_url(n)]
    if not fetchable:
        return
    cols = st.columns([2, 1])
    name = cols[0].selectbox("Download torchvision weights (needs internet)", fetchable, key="fetch")
    if not cols[1].button("Download", key="download"):
        return
    import threading
    import time

    import zoo
    from zoo import pretrained

    url = uc.weights_url(name)
    directory = pretrained.checkpoint_dir()
    directory.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in directory.iterdir()}
    outcome: dict = {}

    def fetch():
        try:
            zoo.load_pretrained(name, download=True)
        except Exception as e:  # noqa: BLE001 -- shown below
            outcome["error"] = e

    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    total = uc.remote_size(url)
    bar = st.progress(0.0, text=f"Fetching {url}")
    while worker.is_alive():
        frac, text = uc.progress_text(uc.partial_bytes(directory, before), total)
        bar.progress(frac, text=text)
        time.sleep(0.25)
    bar.empty()
    if "error" in outcome:
        st.error(f"**{name}**: {outcome['error']}")
    else:
        st.session_state["fetched"] = name
        st.rerun()  # the model list above is drawn again with the new weights


def pick_image() -> tuple[str, bytes | None]:
    """(display name, file bytes) from the chosen source; bytes None while nothing is chosen."""
    source = st.radio("Image", SOURCES, horizontal=True, key="source", bind="query-params")
    if source == "Sample photo":
        samples = {p.stem: p for p in sorted(SAMPLES.glob("*.png")) + sorted(SAMPLES.glob("*.jpg"))}
        if not samples:
            st.warning(f"No sample photos in {SAMPLES.relative_to(ROOT)}: upload an image instead.")
            return "", None
        names = sorted(samples, key=lambda n: n != DEFAULT_SAMPLE)
        if st.session_state.get("sample") not in names:
            st.session_state.pop("sample", None)
        name = st.selectbox("Sample", names, key="sample", bind="query-params")
        return samples[name].name, samples[name].read_bytes()
    if source == "Upload":
        up = st.file_uploader("JPEG, PNG, WebP, BMP or GIF (first frame)", type=list(uc.UPLOAD_TYPES),
                              key="upload")
        return (up.name, up.getvalue()) if up is not None else ("", None)
    st.caption("Your browser asks for the camera. If access is denied or there is no camera, the "
               "widget says so; allow it in the address bar, or use *Upload* or a *Sample photo*.")
    shot = st.camera_input("Take a snapshot", key="snapshot")
    return ("webcam snapshot", shot.getvalue()) if shot is not None else ("", None)


def show_prediction(clf: uc.Classifier, decoded: uc.Decoded) -> uc.Prediction:
    x = clf.input(decoded.image)
    pred = uc.predict(clf.model, x, clf.class_names, k=5, device=clf.device)
    best = pred.top[0]
    left, right = st.columns([1, 1.4])
    with left:
        st.image(decoded.image, caption=f"{decoded.format}, {decoded.original_size[0]} × "
                                        f"{decoded.original_size[1]}", width="stretch")
        for note in decoded.notes:
            st.info(note)
    with right:
        c1, c2 = st.columns([2, 1])
        c1.metric("Top-1", best.label, f"{best.prob * 100:.1f} %", delta_color="off",
                  delta_arrow="off")
        c2.metric("Time per image", f"{pred.ms:.0f} ms", help="One forward pass and softmax, batch 1, "
                  "after a warm-up run; preprocessing excluded.")
        page.chart(uc.top5_figure(pred.top, f"{clf.name}: top-5"), width="stretch")
    return pred


def show_explanation(clf: uc.Classifier, decoded: uc.Decoded, pred: uc.Prediction) -> None:
    st.subheader("Where did it look?")
    cols = st.columns([1.2, 1.2, 1])
    method = cols[0].radio("Method", METHODS, horizontal=True, key="method")
    options = {f"{t.label} ({t.prob * 100:.1f} %)": t.index for t in pred.top}
    target = options[cols[1].selectbox("Explain the class", list(options), key="target")]
    alpha = cols[2].slider("Overlay opacity", 0.0, 1.0, 0.5, 0.05, key="alpha")
    x = clf.input(decoded.image)
    seen = clf.norm.to_pixels(x)
    if method == "Grad-CAM":
        heat = uc.gradcam(clf.model, x, target, clf.model.get_submodule(clf.cam_layer))
        caption = f"Grad-CAM on `{clf.cam_layer}`, the last convolutional stage"
    else:
        key = (clf.name, method, target, decoded.format, decoded.original_size, hash(x.cpu().numpy().tobytes()))
        if st.session_state.get("attribution", (None,))[0] != key:
            if not st.button(f"Compute {method} (several seconds on a CPU)", key="compute"):
                st.caption(f"{method} runs the model dozens of times; press the button to start.")
                return
            with st.spinner(f"{method}…"):
                if method == "Integrated Gradients":
                    heat = uc.integrated_gradients(clf.model, x, target, clf.norm.black(x.device))
                else:
                    heat = uc.occlusion(clf.model, x, target, clf.norm.black(x.device))
            st.session_state["attribution"] = (key, heat)
        heat = st.session_state["attribution"][1]
        caption = (f"{method}: 32 steps from a black image, |attribution| summed over colours"
                   if method == "Integrated Gradients" else
                   f"{method}: score drop when a 32 × 32 patch turns black (stride 16)")
    left, right = st.columns(2)
    left.image(seen, caption=f"What the model saw ({seen.shape[1]} × {seen.shape[0]})", width="stretch")
    right.image(uc.overlay(seen, heat, alpha), caption=caption, width="stretch")


def side_by_side(statuses: list[uc.ModelStatus], decoded: uc.Decoded, first: str) -> None:
    st.subheader("Side by side")
    available = [s.name for s in statuses if s.ok]
    if len(available) < 2:
        from zoo.pretrained import checkpoint_dir

        st.info("Only one model has weights on this machine. Download torchvision weights from the "
                "list of models without weights above (online), or copy the files into the torch "
                f"hub cache (`{checkpoint_dir()}`), to compare architectures.")
        return
    default = [first] + [n for n in available if n != first][:1]
    names = st.multiselect("Compare two or three models", available, default=default,
                           max_selections=3, key="compare")
    if len(names) < 2:
        st.caption("Choose at least two models.")
        return
    rows = []
    for name in names:
        clf = load(name)
        if clf is None:
            continue
        pred = uc.predict(clf.model, clf.input(decoded.image), clf.class_names, k=5, device=clf.device)
        res = clf.norm.size[0]
        try:
            gmacs = macs(name, res) / 1e9
        except Exception as e:  # noqa: BLE001
            gmacs = None
            st.warning(f"MACs of {name} could not be computed: {e}")
        rows.append({"model": name, "prediction": pred.top[0].label,
                     "confidence (%)": round(pred.top[0].prob * 100, 1),
                     "time (ms)": round(pred.ms, 1), "resolution": res,
                     "GMACs": None if gmacs is None else round(gmacs, 3)})
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        st.caption("Time: one forward pass, batch 1, on this machine now. MACs: multiply-accumulates "
                   "of one forward pass at the model's input resolution, computed by `zoo.analyze` "
                   "(FLOPs = 2 × MACs).")


def main() -> None:
    st.title("Classify an image")
    statuses = catalog()
    top = st.columns([1, 2])
    with top[0]:
        name = pick_model(statuses)
        st.caption(f"Inference runs on the **{uc.describe_device(uc.pick_device())}**.")
    with top[1]:
        file_name, data = pick_image()
    clf = load(name)
    if clf is None or data is None:
        return
    try:
        decoded = uc.decode_image(data, file_name or "the image")
    except uc.BadImage as e:
        st.error(f"**Cannot classify {file_name or 'this image'}.** {e}")
        return
    try:
        pred = show_prediction(clf, decoded)
    except Exception as e:  # noqa: BLE001 -- say what failed; the session goes on
        st.error(f"**{name}** could not classify {file_name}: {type(e).__name__}: {e}")
        return
    for section in (lambda: show_explanation(clf, decoded, pred),
                    lambda: side_by_side(statuses, decoded, name)):
        try:
            section()
        except Exception as e:  # noqa: BLE001
            st.error(f"This section failed: {type(e).__name__}: {e}")


main()
