"""Live webcam: every frame through a pretrained CNN, the top label drawn on the video.

The browser sends the camera over WebRTC (streamlit-webrtc, SENDRECV); the server classifies each
frame with ``ui.live.process_frame`` and sends the frame back with the top label and the processed
frames per second drawn on it. Grad-CAM can be overlaid; it is recomputed only as often as the
stream can afford. One model instance serves every session (``st.cache_resource``).

Offline by default: ``rtc_configuration`` is ``{"iceServers": []}`` (no STUN/TURN, loopback and
LAN). A deployment behind NAT sets ``[webrtc] rtc_configuration`` in ``.streamlit/secrets.toml`` or
the ``CNN_ATLAS_RTC_CONFIGURATION`` environment variable (JSON).
"""
from __future__ import annotations

import time

import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from ui import classify as uc
from ui import live as ul
from ui.state import ensure_router

ensure_router()  # a deep link as the server's first request still goes through app.py

TRANSLATIONS = {
    "device_access_denied": "Camera access was denied. Allow the camera for this site (the icon in "
                            "the address bar) and press START again, or classify a photo on the "
                            "'Classify an image' page.",
    "device_not_available": "No camera was found, or another program is using it.",
    "media_api_not_available": "This browser cannot share a camera here (it needs https or "
                               "localhost).",
}


@st.cache_resource(max_entries=3, show_spinner="Loading the model and preparing the fast path…")
def engine(name: str, device: str) -> ul.Engine:
    # the model instance the classify page uses too: one copy per server process
    return ul.Engine.from_classifier(uc.shared_classifier(name, device))


def available() -> list[str]:
    names = [s.name for s in uc.model_catalog() if s.ok]
    return names or [uc.DEFAULT_MODEL]


def rtc_configuration() -> dict:
    try:
        secret = st.secrets.get("webrtc", {}).get("rtc_configuration")
    except Exception:  # noqa: BLE001 -- no secrets.toml: the usual, offline case
        secret = None
    try:
        return ul.rtc_configuration(secret=secret)
    except ValueError as e:
        st.error(f"Ignoring the configured WebRTC servers: {e}")
        return dict(ul.DEFAULT_RTC_CONFIGURATION)


def controls(state: ul.StreamState) -> str:
    cols = st.columns([1.2, 1, 1])
    names = available()
    if st.session_state.get("live_model") not in names:
        st.session_state.pop("live_model", None)
    name = cols[0].selectbox("Model", names, key="live_model", bind="query-params")
    state.cam = cols[1].toggle("Grad-CAM overlay", key="live_cam",
                               help="Recomputed as often as the stream can afford; the last map "
                                    "is reused in between.")
    state.alpha = cols[2].slider("Overlay opacity", 0.0, 1.0, 0.45, 0.05, key="live_alpha")
    return name


@st.fragment(run_every=1.0)
def readout(state: ul.StreamState) -> None:
    rec = state.latest
    if rec is None or time.perf_counter() - rec["time"] > 3.0:
        st.caption("Press **START** above. The top label and frames per second appear here and on "
                   "the video while frames are processed.")
        return
    c = st.columns(4)
    c[0].metric("Top-1", rec["label"], f"{rec['prob'] * 100:.0f} %", delta_color="off", delta_arrow="off")
    c[1].metric("Processed frames per second", f"{rec['fps']:.1f}",
                help="The browser may send fewer or smaller frames when its own CPU is busy.")
    c[2].metric("Time per frame", f"{rec['ms']:.0f} ms",
                help="Server side: preprocessing + model + drawing (+ Grad-CAM when due).")
    c[3].metric("Grad-CAM maps computed", f"{rec['cam_frames']}",
                help=None if rec["cam_ms"] is None else f"last one took {rec['cam_ms']:.0f} ms")
    st.caption(f"Frames arrive at {rec['size'][0]} × {rec['size'][1]} pixels; {rec['frame']} "
               "processed in this session so far.")


def main() -> None:
    st.title("Live webcam")
    device = str(uc.pick_device())
    st.caption(f"Inference runs on the **{uc.describe_device(uc.pick_device())}**. Frames travel "
               "from your browser to this server and back; nothing leaves the machine.")
    state: ul.StreamState = st.session_state.setdefault("live_state", ul.StreamState())
    name = controls(state)
    try:
        eng = engine(name, device)
    except Exception as e:  # noqa: BLE001 -- missing or corrupt weights: say so, keep the page
        st.error(f"**{name}**: its weights could not be loaded. {type(e).__name__}: {e}")
        return

    def callback(frame):
        return ul.process_frame(frame, eng, state)[0]

    webrtc_streamer(
        key="live",
        mode=WebRtcMode.SENDRECV,
        rtc_configuration=rtc_configuration(),
        media_stream_constraints={"video": {"width": 640, "height": 480}, "audio": False},
        video_frame_callback=callback,
        async_processing=True,
        translations=TRANSLATIONS,
        # a 640-pixel-wide picture: scaling the video up costs the browser time and adds nothing
        video_html_attrs={"autoPlay": True, "controls": False, "muted": True,
                          "style": {"width": "100%", "maxWidth": "640px"}},
    )
    st.caption("**No picture?** *NotAllowedError: Permission denied* means the browser blocked the "
               "camera: allow it with the camera icon in the address bar and press START again. "
               "*NotFoundError* or *NotReadableError*: no camera, or another program holds it. "
               "Without a camera, the *Classify an image* page takes photos and uploads.")
    readout(state)
    path = "fast path (one box resize)" if eng.fast else "the model's own preprocessing"
    parts = [f"{eng.name}: input {eng.norm.size[1]} × {eng.norm.size[0]} via {path}",
             f"Grad-CAM on `{eng.cam_layer_name}`"]
    if eng.device.type == "cpu":
        parts.append(f"{eng.threads} CPU thread(s) for the model, the rest for video")
    st.caption("; ".join(parts) + ".")


main()
