"""Live webcam: every frame through a pretrained CNN, the top label drawn on the video.

The browser sends the camera over WebRTC (streamlit-webrtc, SENDRECV); the server classifies each
frame with ``ui.live.process_frame`` and sends the frame back with the top label and the processed
frames per second drawn on it. The readout below the video is written from the same record as
the label on the frame (``ui.live.label_text``). Any model with weights here can run the stream
(the three EfficientNet-Lites offline); switching takes effect on the next frame. Grad-CAM can be
overlaid; it is recomputed only as often as the stream can afford. One model instance serves every
session (``st.cache_resource``).

The camera help appears only after the browser has reported an error: streamlit-webrtc shows the
browser's error (``NotAllowedError: Permission denied``) inside its own frame and tells the server
nothing, so a small script on the page (``CAMERA_HELP``, our own constant HTML) watches that frame
and shows the matching help beside it.

A hall at once: the server carries as many live streams as it was measured to sustain at ≥ 15
processed frames/s (``benchmarks/bench_live.py streams``, stored in assets/live_capacity.json;
``$CNN_ATLAS_LIVE_STREAMS`` sets another limit) and says so on the page. A server-wide registry
(``ui.live.StreamRegistry``) counts the running streams by a heartbeat per frame; a session that
finds every slot taken gets snapshot mode (``st.camera_input``, the same model) with a message.

Offline by default: ``rtc_configuration`` is ``{"iceServers": []}`` (no STUN/TURN, loopback and
LAN). A deployment behind NAT sets ``[webrtc] rtc_configuration`` in ``.streamlit/secrets.toml`` or
the ``CNN_ATLAS_RTC_CONFIGURATION`` environment variable (JSON).
"""
from __future__ import annotations

import os
import time
import uuid

import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from ui import classify as uc
from ui import live as ul
from ui import page
from ui.state import cam_overlay, decoded_photo, ensure_router, photo_key, photo_view
from zoo import fmt

ensure_router()  # a deep link as the server's first request still goes through app.py

TRANSLATIONS = {
    "device_access_denied": "Camera access was denied. Allow the camera for this site (the icon in "
                            "the address bar) and press START again, or classify a photo on the "
                            "'Classify an image' page.",
    "device_not_available": "No camera was found, or another program is using it.",
    "media_api_not_available": "This browser cannot share a camera here (it needs https or "
                               "localhost).",
}


@st.cache_resource(max_entries=4, show_spinner="Loading the model and preparing the fast path…")
def engine(name: str, device: str) -> ul.Engine:
    # the model instance the classify page uses too: one copy per server process
    return ul.Engine.from_classifier(uc.shared_classifier(name, device))


@st.cache_resource(show_spinner=False)
def streams() -> ul.StreamRegistry:
    """The live streams running on this server, across sessions (heartbeat per frame)."""
    return ul.StreamRegistry()


def snapshot_mode(name: str, device: str, cap: ul.Capacity, stream: ul.StreamState) -> None:
    """Beyond the server's live capacity: a snapshot from the camera, classified by the same model."""
    st.warning(f"**Every live stream this server carries is in use ({fmt.count(cap.streams)}).** More "
               "would slow every stream down, so this session gets snapshots: take a photo and the "
               "model classifies it. Reload the page to go live once a stream has ended.")
    left, right = st.columns([1, 1])
    with left:
        shot = st.camera_input("Take a snapshot", key="live_snapshot")
    if shot is None:
        return
    data = shot.getvalue()
    key = photo_key(data)
    try:
        decoded = decoded_photo(key, "the snapshot", data)
        view = photo_view(name, device, key, decoded)
    except uc.BadImage as e:
        right.error(f"**Cannot classify the snapshot.** {e}")
        return
    best = view["pred"].top[0]
    with right:
        st.caption(f"Top-1 of {name} (ImageNet class {best.index})")
        st.markdown(f"### {best.label} · {best.prob * 100:.1f}\u00a0%")
        st.html(uc.top5_html(view["pred"].top, f"{name}: top-5"))
        if stream.cam:
            st.image(cam_overlay(name, device, key, best.index, stream.alpha, decoded),
                     caption=f"Grad-CAM for {best.label}", width="stretch")


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
    state.cam = cols[1].toggle("Grad-CAM", key="live_cam",
                               help="Overlay Grad-CAM on the video: recomputed as often as the stream "
                                    "can afford, the last map reused in between.")
    state.alpha = cols[2].slider("Overlay opacity", 0.0, 1.0, 0.45, 0.05, key="live_alpha")
    return name


@st.fragment(run_every=1.0)
def readout(state: ul.StreamState, chosen: str) -> None:
    rec = state.latest
    if rec is None or time.perf_counter() - rec["time"] > 3.0:
        st.caption("Press **START** above. The top label and frames per second appear here and on "
                   "the video while frames are processed.")
        return
    st.caption(f"Top-1 of {rec['model']}, as drawn on the video (frame {fmt.count(rec['frame'])})")
    st.markdown(f"### {ul.label_text(rec)}")
    c = st.columns(3)
    c[0].metric("Frames per second", f"{rec['fps']:.1f}",
                help="Processed by the server. The browser may send fewer or smaller frames when its own "
                     "CPU is busy.")
    c[1].metric("Time per frame", f"{rec['ms_median']:.0f} ms",
                help=f"Median of the last {rec['ms_frames']} frames (IQR {rec['ms_q1']:.0f}–{rec['ms_q3']:.0f} ms), "
                     "server side: preprocessing + model + drawing (+ Grad-CAM when due), "
                     f"{ul.stream_threads()} torch thread(s).")
    c[2].metric("Grad-CAM maps", fmt.count(rec["cam_frames"]),
                help=None if rec["cam_ms"] is None else f"The last one took {rec['cam_ms']:.0f} ms.")
    switching = f" Switching to {chosen}…" if rec["model"] != chosen else ""
    st.caption(f"Frames arrive at {rec['size'][0]} × {rec['size'][1]} pixels; "
               f"{fmt.count(rec['frame'])} processed in this session so far. Probabilities are averaged "
               f"over the last {state.smooth_s:g} s, so the label follows the scene rather than one "
               f"frame.{switching}")


# Shown next to the video only once the browser has reported a camera error in the streamlit-webrtc
# frame (which tells the server nothing). Our own constant HTML, never user data.
CAMERA_HELP = """
<div id="atlas-camera-help" style="display:none; border-left: 4px solid #D55E00; padding: 0.5rem 1rem;
     background: rgba(213, 94, 0, 0.08); border-radius: 0.25rem; font-size: 1rem; line-height: 1.5">
  <div data-error="NotAllowedError"><strong>The browser blocked the camera</strong> (NotAllowedError):
    allow it with the camera icon in the address bar and press START again.</div>
  <div data-error="NotFoundError NotReadableError OverconstrainedError"><strong>No camera could be
    opened</strong>: there is none, or another program holds it. Close that program and press START again.</div>
  <div data-error="any">Without a camera, the <em>Classify an image</em> page takes photos and uploads.</div>
</div>
<script>
(() => {
  if (window.__atlasCameraHelp) clearInterval(window.__atlasCameraHelp);
  const ERR = /(NotAllowedError|NotFoundError|NotReadableError|OverconstrainedError)/;
  window.__atlasCameraHelp = setInterval(() => {
    const help = document.getElementById("atlas-camera-help");
    if (!help) { clearInterval(window.__atlasCameraHelp); return; }
    let found = null;
    for (const f of document.querySelectorAll('iframe[title*="streamlit_webrtc"]')) {
      try {
        const m = (f.contentDocument && f.contentDocument.body.innerText || "").match(ERR);
        if (m) found = m[1];
      } catch (e) { /* not readable: show nothing */ }
    }
    help.style.display = found ? "block" : "none";
    for (const d of help.querySelectorAll("[data-error]")) {
      const kinds = d.dataset.error.split(" ");
      d.style.display = found && (kinds.includes("any") || kinds.includes(found)) ? "block" : "none";
    }
  }, 400);
})();
</script>
"""


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

    sid = st.session_state.setdefault("live_stream_id", uuid.uuid4().hex)
    registry, cap = streams(), ul.read_capacity()
    if not registry.room(sid, cap.streams):
        st.caption(f"{ul.capacity_text(cap)} Live now: {fmt.count(registry.active())}.")
        snapshot_mode(name, device, cap, state)
        return
    full = f"All {cap.streams} live streams are in use: reload for snapshots"

    def callback(frame):
        if not registry.beat(sid, cap.streams):       # every slot taken since the page's check
            return ul.refused_frame(frame, full)
        return ul.process_frame(frame, eng, state)[0]

    ctx = webrtc_streamer(
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
    if not ctx.state.playing:
        registry.release(sid)
    st.caption(f"{ul.capacity_text(cap)} Live now: {fmt.count(registry.active())}.")
    st.html(CAMERA_HELP, unsafe_allow_javascript=True)
    readout(state, name)
    parts = [f"{eng.name} sees the centre {eng.norm.size[1]} × {eng.norm.size[0]} of each frame, "
             "prepared as its own preprocessing does", "Grad-CAM on its last convolutional stage"]
    if eng.device.type == "cpu":
        parts.append(f"{eng.threads} of {os.cpu_count()} CPU threads run the model, the rest encode and "
                     "decode the video")
    st.caption("; ".join(parts) + ".")

main()
