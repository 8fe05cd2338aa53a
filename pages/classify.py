"""Classify an image: a sample photo, an upload or a webcam snapshot through pretrained CNNs.

Top-5 with probabilities and the time per image; the same image through the three
EfficientNet-Lites (and any other model with weights here) side by side, each with its top-5, time,
MACs and Grad-CAM; Grad-CAM, Integrated Gradients or Occlusion for the chosen model. Works offline:
Lite0/1/2's ImageNet weights ship with the requirements; a lecturer can bring torchvision's files
(upload below, checked before use). The live webcam stream is the next page (``pages/live.py``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from ui import page
from ui import classify as uc
from ui import state
from ui.state import ensure_router
from zoo import fmt

ensure_router()  # a deep link as the server's first request still goes through app.py

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "assets" / "samples"
SOURCES = ("Sample photo", "Upload", "Webcam snapshot")
METHODS = ("Grad-CAM", "Integrated Gradients", "Occlusion")
DEFAULT_SAMPLE = "coffee"
PHOTO_MB = 50      # photos: the server allows more only for the weights uploader (see weights_upload)
WEIGHTS_MB = 600   # VGG-19 with batch norm, the largest torchvision twin, is 548 MB
MAX_COMPARE = 4
VERDICT_BOX = {"can": st.success, "partly": st.warning, "cannot": st.error}


# --- cached resources: one model instance per (model, device), shared by every session ---------

@st.cache_resource(max_entries=uc.MAX_SHARED, show_spinner="Loading pretrained weights…")
def classifier(name: str, device: str) -> uc.Classifier:
    return uc.shared_classifier(name, device)  # the live page shares this instance


def catalog() -> list[uc.ModelStatus]:
    """Not cached: a file stat per model, and weights dropped into the cache show up at once."""
    return uc.model_catalog()


@st.cache_data(show_spinner=False)
def parameter_count(name: str, device: str) -> int:
    """Parameters of the shared classifier, counted once per server (every side-by-side column shows it)."""
    return sum(p.numel() for p in classifier(name, device).model.parameters())


@st.cache_resource(show_spinner=False)
def device_name() -> str:
    return str(uc.pick_device())


def load(name: str) -> uc.Classifier | None:
    """The cached classifier, or None after showing why its weights cannot be used."""
    try:
        return classifier(name, device_name())
    except Exception as e:  # noqa: BLE001 -- missing, corrupt or unreadable weights: say which
        st.error(f"**{name}**: its weights could not be loaded. {e}")
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
            # A scrolling grid: fifty long reasons in the narrow model column (an HTML table ran 5,000 px tall).
            st.dataframe(pd.DataFrame({"model": [s.name for s in missing], "why": [s.reason for s in missing]}),
                         hide_index=True, width="stretch")
            offer_download([s.name for s in missing])
    with st.expander("Bring a torchvision weights file"):
        weights_upload()
    return name


def offer_download(missing: list[str]) -> None:
    """torchvision twins can be fetched (online) into the torch hub cache, hash-checked."""
    fetched = st.session_state.pop("fetched", None)
    if fetched:
        st.success(f"{fetched}: weights downloaded and hash-checked; it is in the model list now.")
    fetchable = [n for n in missing if uc.weights_url(n)]
    if not fetchable:
        return
    cols = st.columns([2, 1], vertical_alignment="bottom")
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


GUESS = "named in the file"


def weights_upload() -> None:
    """A torchvision state-dict file, checked key by key and shape by shape before it is stored.

    Streamlit 1.67's ``st.file_uploader(max_upload_size=…)`` sets one widget's limit, but the
    server's upload endpoint enforces only ``server.maxUploadSize`` for all of them. So the server
    allows 600 MB (.streamlit/config.toml), this uploader says 600 and the photo uploader keeps 50.
    """
    from zoo import pretrained

    done = st.session_state.pop("installed", None)
    if done:
        st.success(done)
    twins = [n for n in pretrained.list_models() if pretrained.published_file(n)]
    target = st.selectbox("For the model", [GUESS] + twins, key="weights_for",
                          help="torchvision's file names start with the model's name "
                               "(resnet50-0676ba61.pth is ResNet-50).")
    up = st.file_uploader(f"A .pth state dict, up to {WEIGHTS_MB} MB", type=["pth", "pt"],
                          key="weights_file", max_upload_size=WEIGHTS_MB)
    st.caption("The file is read as tensors only (never as code), checked against the model's every "
               "key and shape, and stored in the torch hub cache under its canonical name, whose "
               "hash is checked on every later use. Nothing is stored if a check fails.")
    if up is None or st.session_state.get("weights_seen") == up.file_id:
        return
    st.session_state["weights_seen"] = up.file_id
    name = pretrained.guess_model(up.name) if target == GUESS else target
    if name is None:
        st.error(f"**{up.name}**: its name does not say which model it is for; choose the model above.")
        return
    with st.spinner(f"Checking {up.name} against {name}…"):
        try:
            got = pretrained.install_weights(name, up.getvalue(), up.name)
        except pretrained.WeightsUnavailable as e:
            st.error(f"**Refused.** {e} Nothing was stored.")
            return
    which = ("torchvision's published weights: their quoted accuracy applies" if got.published else
             f"other weights than torchvision's {pretrained.published_file(name)}: the accuracy quoted "
             "for that file does not apply to them")
    st.session_state["installed"] = (
        f"**{name}**: {up.name} checked ({fmt.count(got.tensors)} tensors, every key and shape as "
        f"{name} expects) and stored as {got.path.name} (SHA-256 {got.sha256[:12]}…): {which}. "
        "It is in the model list now.")
    st.rerun()


def pick_image() -> tuple[str, bytes | None, uc.Sample | None]:
    """(display name, file bytes, sample) from the chosen source; bytes None while nothing is chosen."""
    source = st.radio("Image", SOURCES, horizontal=True, key="source", bind="query-params")
    if source == "Sample photo":
        samples = {s.name: s for s in uc.sample_catalog(SAMPLES)}
        if not samples:
            st.warning("No sample photos are installed: upload an image instead.")
            return "", None, None
        names = sorted(samples, key=lambda n: n != DEFAULT_SAMPLE)
        if st.session_state.get("sample") not in names:
            st.session_state.pop("sample", None)
        # no format_func: a bound selectbox would put the formatted title in the URL
        name = st.selectbox("Sample", names, key="sample", bind="query-params",
                            help="; ".join(f"{n}: {samples[n].title} ({samples[n].verdict})" for n in names))
        s = samples[name]
        return s.path.name, s.path.read_bytes(), s
    if source == "Upload":
        up = st.file_uploader("JPEG, PNG, WebP, BMP or GIF (first frame)", type=list(uc.UPLOAD_TYPES),
                              key="upload", max_upload_size=PHOTO_MB)
        return (up.name, up.getvalue(), None) if up is not None else ("", None, None)
    st.caption("Your browser asks for the camera. If access is denied or there is no camera, the "
               "widget says so; allow it in the address bar, or use *Upload* or a *Sample photo*.")
    shot = st.camera_input("Take a snapshot", key="snapshot")
    return ("webcam snapshot", shot.getvalue(), None) if shot is not None else ("", None, None)


def show_sample_note(sample: uc.Sample) -> None:
    if not sample.lesson:
        return
    VERDICT_BOX[sample.verdict](f"**{sample.title}: {sample.headline.lower()}.** {sample.lesson}")
    st.caption(f"Photo: {sample.credit}. {sample.licence}.")


def top1_heading(pred: uc.Prediction) -> None:
    """The top-1 class as a heading that wraps (a metric would cut a long class name off)."""
    best = pred.top[0]
    st.caption(f"Top-1 (ImageNet class {best.index})")
    st.markdown(f"### {best.label} · {best.prob * 100:.1f}\u00a0%")


def show_prediction(clf: uc.Classifier, decoded: uc.Decoded, key: str, sample: uc.Sample | None) -> uc.Prediction:
    pred = state.photo_view(clf.name, device_name(), key, decoded)["pred"]
    left, right = st.columns([1, 1.4])
    with left:
        st.image(state.photo_jpeg(key, decoded), caption=f"{decoded.format}, {decoded.original_size[0]} × "
                                        f"{decoded.original_size[1]}", width="stretch")
        for note in decoded.notes:
            st.info(note)
    with right:
        top1_heading(pred)
        lat = state.time_per_image(clf.name, device_name())
        if lat:
            st.metric("Time per image", f"{lat['median_ms']:.1f} ms",
                      help=uc.describe_time(lat) + ". Preprocessing excluded.")
        else:
            st.metric("Time per image", f"{pred.ms:.1f} ms", help="One forward pass and softmax on the GPU.")
        st.html(uc.top5_html(pred.top, f"{clf.name}: top-5"))
        if sample is not None:
            show_sample_note(sample)
    return pred


def show_explanation(clf: uc.Classifier, decoded: uc.Decoded, key: str, pred: uc.Prediction) -> None:
    st.subheader(f"Where did {clf.name} look?")
    cols = st.columns([1.2, 1.2, 1])
    method = cols[0].radio("Method", METHODS, horizontal=True, key="method")
    options = {f"{t.label} ({t.prob * 100:.1f} %)": t.index for t in pred.top}
    target = options[cols[1].selectbox("Explain the class", list(options), key="target")]
    alpha = cols[2].slider("Overlay opacity", 0.0, 1.0, 0.5, 0.05, key="alpha")
    view = state.photo_view(clf.name, device_name(), key, decoded)
    seen = view["pixels"]
    if method == "Grad-CAM":
        shown = state.cam_overlay(clf.name, device_name(), key, target, alpha, decoded)
        caption = f"Grad-CAM on {clf.cam_layer}, the last convolutional stage"
    else:
        x = clf.input(decoded.image)
        job = (clf.name, method, target, key)
        if st.session_state.get("attribution", (None,))[0] != job:
            if not st.button(f"Compute {method} (several seconds on a CPU)", key="compute"):
                st.caption(f"{method} runs the model dozens of times; press the button to start.")
                return
            with st.spinner(f"{method}…"):
                if method == "Integrated Gradients":
                    heat = uc.integrated_gradients(clf.model, x, target, clf.norm.black(x.device))
                else:
                    heat = uc.occlusion(clf.model, x, target, clf.norm.black(x.device))
            st.session_state["attribution"] = (job, heat)
        shown = uc.overlay(seen, st.session_state["attribution"][1], alpha)
        caption = (f"{method}: 32 steps from a black image, |attribution| summed over colours"
                   if method == "Integrated Gradients" else
                   f"{method}: score drop when a 32 × 32 patch turns black (stride 16)")
    left, right = st.columns(2)
    left.image(view["jpeg"], caption=f"What the model saw ({seen.shape[1]} × {seen.shape[0]})", width="stretch")
    right.image(shown, caption=caption, width="stretch")


def side_by_side(statuses: list[uc.ModelStatus], decoded: uc.Decoded, key: str) -> None:
    st.subheader("Side by side")
    available = [s.name for s in statuses if s.ok]
    if len(available) < 2:
        from zoo.pretrained import checkpoint_dir

        st.info("Only one model has weights on this machine. Bring a torchvision weights file "
                f"(above), or copy it into the torch hub cache ({checkpoint_dir()}), to compare "
                "architectures.")
        return
    from zoo.pretrained import PACKAGED

    if st.session_state.get("compare") is not None:
        st.session_state["compare"] = [n for n in st.session_state["compare"] if n in available]
    default = [n for n in available if n in PACKAGED][:3] or available[:2]
    names = st.multiselect(f"Models to compare (up to {MAX_COMPARE})", available, default=default,
                           max_selections=MAX_COMPARE, key="compare")
    if len(names) < 2:
        st.caption("Choose at least two models.")
        return
    loaded = [(n, clf) for n in names if (clf := load(n)) is not None]
    rows = []
    for col, (name, clf) in zip(st.columns(len(loaded)), loaded):
        with col:
            rows.append(compare_one(name, clf, decoded, key))
    if rows:
        # Three rows as a table: legible when projected, its counts with separators, right-aligned.
        page.table(pd.DataFrame(rows), counts=["MACs", "parameters"], digits={"time per image (ms)": 1})
        device = uc.describe_device(uc.pick_device())
        st.caption(f"Time: one forward pass, batch 1, on this machine now ({device}); median of the "
                   "timed repeats after one warm-up with their interquartile range (a difference inside it is noise); "
                   "other work on the machine slows it down. MACs: "
                   "multiply-accumulates at each model's input size, counted by CNN Atlas on the meta "
                   "device (FLOPs = 2 × MACs). Grad-CAM: Selvaraju et al. 2017, on each model's last "
                   "convolutional stage, for its own top-1 class.")


def compare_one(name: str, clf: uc.Classifier, decoded: uc.Decoded, key: str) -> dict:
    """One model's column: heading, top-5, time, MACs and Grad-CAM; returns its table row."""
    pred = state.photo_view(name, device_name(), key, decoded)["pred"]
    best = pred.top[0]
    res = clf.norm.size[0]
    st.markdown(f"**{name}**")
    st.markdown(f"#### {best.label} · {best.prob * 100:.0f}\u00a0%")
    st.html(uc.top5_html(pred.top))
    try:
        n_macs = state.totals(name, res)["total_macs"]   # the analyses every page shares
    except Exception as e:  # noqa: BLE001
        n_macs = None
        st.warning(f"MACs of {name} could not be counted: {e}")
    lat = state.time_per_image(name, device_name())
    ms = lat["median_ms"] if lat else pred.ms
    st.markdown(f"{ms:.1f} ms per image  \n{fmt.fmt_ops(n_macs)} · {res} × {res}")
    alpha = st.session_state.get("alpha", 0.5)
    st.image(state.cam_overlay(name, device_name(), key, best.index, alpha, decoded), caption=f"Grad-CAM for {best.label}", width="stretch")
    params = parameter_count(name, device_name())
    return {"model": name, "time per image (ms)": round(ms, 1),
            "time IQR (ms)": (f"{lat['q1_ms']:.1f}–{lat['q3_ms']:.1f} ({fmt.count(lat['repeats'])} "
                              f"repeat{'s' if lat['repeats'] != 1 else ''})") if lat else fmt.DASH,
            "MACs": n_macs, "parameters": params}


def main() -> None:
    st.title("Classify an image")
    statuses = catalog()
    top = st.columns([1, 2])
    with top[0]:
        name = pick_model(statuses)
        st.caption(f"Inference runs on the **{uc.describe_device(uc.pick_device())}**.")
    with top[1]:
        file_name, data, sample = pick_image()
    clf = load(name)
    if clf is None or data is None:
        return
    key = state.photo_key(data)
    try:
        decoded = state.decoded_photo(key, file_name or "the image", data)
    except uc.BadImage as e:
        st.error(f"**Cannot classify {file_name or 'this image'}.** {e}")
        return
    try:
        pred = show_prediction(clf, decoded, key, sample)
    except Exception as e:  # noqa: BLE001 -- say what failed; the session goes on
        st.error(f"**{name}** could not classify {file_name}: {type(e).__name__}: {e}")
        return
    for section in (lambda: side_by_side(statuses, decoded, key),
                    lambda: show_explanation(clf, decoded, key, pred)):
        try:
            section()
        except Exception as e:  # noqa: BLE001
            st.error(f"This section failed: {type(e).__name__}: {e}")


main()
