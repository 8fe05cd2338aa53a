"""Live webcam classification: the frame callback of ``pages/live.py``, as plain functions.

streamlit-webrtc hands every decoded camera frame (an ``av.VideoFrame``) to a callback on a worker
thread and sends back the frame it returns. ``process_frame`` is that callback without Streamlit:
frame in, frame with the top label (and optionally a Grad-CAM overlay) out, plus a small record
(label, probability, frames per second, timings) put on the session's queue for the page to poll.
The label drawn on the frame and the page's readout are both written from that one record
(``label_text``), and the record's probabilities are averaged over the last half second
(``StreamState.smooth``), so the video and the readout below it do not flicker apart when the
model hesitates between two classes from frame to frame.

Speed is the point here: the model is built once and shared by every session (``Engine``), traced
and frozen (batch norm folded into the convolutions) and run on half the cores, so WebRTC's codecs
and the browser keep the rest. A 640 × 480 frame is prepared by one ``Image.resize(box=...)`` of
only the region the centre crop keeps (``FastInput``), checked against the model's own
``preprocess`` when the engine is built (the slow path is used if they disagree). Grad-CAM needs a backward pass (about
three forwards), so on the stream it is recomputed only as often as it costs (``CamSchedule``) and
the last map is reused in between.
"""
from __future__ import annotations

import json
import math
import os
import queue
import statistics
import threading
import time
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn
from PIL import Image, ImageDraw, ImageFont

from ui.classify import NormSpec, gradcam, last_conv_stage, overlay, topk
from zoo.latency import serving_threads, torch_threads

DEFAULT_RTC_CONFIGURATION = {"iceServers": []}  # loopback / LAN: no STUN or TURN, works offline
RTC_ENV = "CNN_ATLAS_RTC_CONFIGURATION"


def rtc_configuration(env: Mapping[str, str] | None = None, secret: object = None) -> dict:
    """The WebRTC configuration: a deployment's STUN/TURN servers, else none (offline loopback).

    ``secret`` is ``st.secrets["webrtc"]["rtc_configuration"]`` when a deployment sets it (a dict
    or a JSON string); otherwise the environment variable ``CNN_ATLAS_RTC_CONFIGURATION`` (JSON).
    Raises ``ValueError`` with a readable message on a malformed value.
    """
    env = os.environ if env is None else env
    raw, origin = (secret, "secrets [webrtc] rtc_configuration") if secret is not None else (
        env.get(RTC_ENV), f"${RTC_ENV}")
    if raw is None or raw == "":
        return dict(DEFAULT_RTC_CONFIGURATION)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"{origin} is not valid JSON: {e}") from None
    if not isinstance(raw, Mapping) or not isinstance(raw.get("iceServers"), list):
        raise ValueError(f'{origin} must look like {{"iceServers": [{{"urls": ["stun:host:3478"]}}]}}')
    for server in raw["iceServers"]:
        if not isinstance(server, Mapping) or "urls" not in server:
            raise ValueError(f"{origin}: every ICE server needs 'urls' (got {server!r})")
    return {k: (list(v) if isinstance(v, list) else v) for k, v in raw.items()}


# --- the model's preprocessing, as a fast path for video frames ----------------------------------

@dataclass(frozen=True)
class FastInput:
    """Resize the short side to ``resize``, centre-crop ``crop``, normalise: on a uint8 frame.

    The geometry is torchvision's ``Resize(resize)`` + ``CenterCrop(crop)``: the long side is
    ``int(resize * long / short)`` or rounded (``round_long``), the crop offset rounded.
    """

    resize: int
    crop: tuple[int, int]  # (height, width)
    norm: NormSpec
    round_long: bool = False
    interpolation: str = "bilinear"  # or "bicubic" (PIL's antialiased filters, as preprocess uses)

    def resized(self, h: int, w: int) -> tuple[int, int]:
        short, long_ = (h, w) if h <= w else (w, h)
        other = long_ * self.resize / short
        other = int(round(other)) if self.round_long else int(other)
        return (self.resize, other) if h <= w else (other, self.resize)

    def box(self, h: int, w: int) -> tuple[float, float, float, float]:
        """The region of the frame (left, top, right, bottom) that ends up in the model input."""
        nh, nw = self.resized(h, w)
        ch, cw = self.crop
        top = int(round((nh - ch) / 2.0))
        left = int(round((nw - cw) / 2.0))
        sy, sx = nh / h, nw / w
        return left / sx, top / sy, (left + cw) / sx, (top + ch) / sy

    def __call__(self, frame: np.ndarray) -> torch.Tensor:
        """(H, W, 3) uint8 RGB -> (1, 3, crop_h, crop_w) float32 model input."""
        h, w = frame.shape[:2]
        ch, cw = self.crop
        # One resize of just the region the crop keeps: the same filter support as resizing the
        # whole frame and cropping, without the pixels thrown away (1.3 vs 1.7 ms per 640 × 480
        # frame in bench_live.py; the model, at ~12 ms, is the real cost).
        resample = Image.BICUBIC if self.interpolation == "bicubic" else Image.BILINEAR
        img = Image.fromarray(frame).resize((cw, ch), resample, box=self.box(h, w))
        # normalise in NumPy: single-threaded, no OpenMP wake-up for 150 k elements
        a = np.asarray(img, dtype=np.float32) * self._scale + self._shift  # (ch, cw, 3)
        return torch.from_numpy(a.transpose(2, 0, 1)[None].copy())  # (1, 3, ch, cw)

    @property
    def _scale(self) -> np.ndarray:
        return np.asarray(self.norm.scale, dtype=np.float32)

    @property
    def _shift(self) -> np.ndarray:
        return np.asarray(self.norm.shift, dtype=np.float32)


def probe_resize(preprocess: Callable[[Image.Image], torch.Tensor], norm: NormSpec) -> float:
    """Estimate the short side ``preprocess`` resizes to, from a horizontal ramp.

    A square ramp image whose pixel value grows linearly with the column comes out of resize +
    centre crop as a ramp whose span is ``crop / resize`` of the original span.
    """
    side = 1024
    ramp = np.linspace(0, 255, side)
    img = np.repeat(np.repeat(ramp[None, :, None], side, axis=0), 3, axis=2)
    x = preprocess(Image.fromarray(np.round(img).astype(np.uint8)))
    pix = norm.to_pixels(x).astype(np.float64)[..., 0].mean(axis=0)  # (crop_w,)
    cw = pix.shape[0]
    slope = np.polyfit(np.arange(cw), pix, 1)[0]  # pixel levels per output column
    return 255.0 / (side - 1) * side / slope  # output columns per original side = resize


def fit_fast_input(preprocess: Callable[[Image.Image], torch.Tensor], norm: NormSpec,
                   sample: np.ndarray, tolerance: float = 1.5) -> FastInput | None:
    """The ``FastInput`` reproducing ``preprocess`` on ``sample`` within ``tolerance`` pixel levels.

    Returns None when no candidate geometry matches (the caller then uses ``preprocess``).
    """
    ref = preprocess(Image.fromarray(sample))
    # zoo.pretrained.Preprocess says its geometry; any other callable is probed
    resize = getattr(preprocess, "resize", None)
    interpolation = getattr(preprocess, "interpolation", "bilinear")
    if interpolation not in ("bilinear", "bicubic"):
        return None
    sizes = [resize] if isinstance(resize, int) else sorted(
        {int(round(probe_resize(preprocess, norm))) + d for d in (-2, -1, 0, 1, 2)})
    scale = torch.tensor(norm.scale).abs().view(1, 3, 1, 1)
    best, best_err = None, math.inf
    for resize in sizes:
        for round_long in (False, True):
            cand = FastInput(resize, norm.size, norm, round_long, interpolation)
            out = cand(sample)
            if out.shape != ref.shape:
                continue
            err = float(((out - ref).abs() / scale).max())  # in pixel levels
            if err < best_err:
                best, best_err = cand, err
    return best if best_err <= tolerance else None


# --- one engine per model, shared by all sessions ---------------------------------------------

class Engine:
    """A pretrained model ready for video: fast input, optimised forward, Grad-CAM on demand.

    Built once per (model, device) and shared across sessions: nothing here is per-session.
    ``forward`` is stateless; Grad-CAM hooks into the eager model, only its own thread's forward
    (``ui.classify.gradcam``), so sessions and the classify page share the model safely.
    """

    def __init__(self, name: str, model: nn.Module, preprocess: Callable, class_names: Sequence[str],
                 device: torch.device | str = "cpu", optimize: bool = True, sample: np.ndarray | None = None,
                 threads: int | None = None):
        self.name = name
        self.threads = stream_threads() if threads is None else threads
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.preprocess = preprocess
        self.class_names = list(class_names)
        self.norm = NormSpec.probe(preprocess)
        sample = synthetic_frame() if sample is None else sample
        self.fast_input = fit_fast_input(preprocess, self.norm, sample)
        self.cam_layer_name, self.cam_layer = last_conv_stage(self.model, self.norm.size)
        self.forward = self._optimized(optimize)

    def _optimized(self, optimize: bool) -> Callable[[torch.Tensor], torch.Tensor]:
        """A traced, frozen copy (batch norm folded into the convolutions) if it agrees with eager."""
        if not optimize or self.device.type != "cpu":
            return self.model
        x = torch.randn(1, 3, *self.norm.size, generator=torch.Generator().manual_seed(0))
        try:
            with torch.inference_mode(), warnings.catch_warnings():
                # TorchScript is deprecated in favour of torch.compile, which needs a C++ toolchain
                # and minutes of compiling on a laptop; tracing is instant and still works.
                warnings.simplefilter("ignore")
                ref = self.model(x)
                frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(self.model, x)))
                for _ in range(3):  # the first calls of a frozen module profile and optimise
                    out = frozen(x)
        except Exception:  # noqa: BLE001 -- tracing is an optimisation, eager always works
            return self.model
        if not torch.allclose(out, ref, rtol=1e-3, atol=1e-3 * float(ref.abs().max())):
            return self.model
        return frozen

    @classmethod
    def from_classifier(cls, clf, **kw) -> "Engine":
        """An engine on a ``ui.classify.Classifier``'s model: the same instance, not a copy."""
        return cls(clf.name, clf.model, clf.preprocess, clf.class_names, clf.device, **kw)

    @property
    def fast(self) -> bool:
        return self.fast_input is not None

    def prepare(self, frame: np.ndarray) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
        """(H, W, 3) uint8 frame -> model input and the frame box (l, t, r, b) it covers."""
        h, w = frame.shape[:2]
        if self.fast_input is not None:
            box = tuple(int(round(v)) for v in self.fast_input.box(h, w))
            return self.fast_input(frame), box
        x = self.preprocess(Image.fromarray(frame))
        side = min(h, w)  # the usual centre square; only used to place the overlay
        return x, ((w - side) // 2, (h - side) // 2, (w + side) // 2, (h + side) // 2)

    def probs(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), torch_threads(self.threads):
            return self.forward(x.to(self.device)).softmax(dim=1)[0]

    def cam(self, x: torch.Tensor, target: int) -> np.ndarray:
        with torch_threads(self.threads):
            return gradcam(self.model, x.to(self.device), target, self.cam_layer)


THREADS_ENV = "CNN_ATLAS_LIVE_THREADS"


def stream_threads(env: Mapping[str, str] | None = None, cpus: int | None = None) -> int:
    """Intra-op threads for stream inference: ``$CNN_ATLAS_LIVE_THREADS``, else the server's count
    (``zoo.latency.serving_threads``: ``$CNN_ATLAS_THREADS``, else half the cores).

    The stream is not the only work: WebRTC decodes and re-encodes every frame on the server, and
    on a laptop the browser encodes, decodes and draws on the same cores. OpenMP threads that
    outnumber the free cores spin against that work: ``benchmarks/bench_live.py frames`` on 2 cores
    shared with other jobs (load ~5) gave 42.5 frames/s on one thread and 19.6 on two.
    """
    env = os.environ if env is None else env
    value = env.get(THREADS_ENV, "")
    if value.strip():
        try:
            return max(1, int(value))
        except ValueError:
            pass
    return serving_threads(env, cpus)   # the server's rule: $CNN_ATLAS_THREADS, else half the cores


def synthetic_frame(h: int = 480, w: int = 640) -> np.ndarray:
    """A deterministic 'natural-looking' frame (smooth gradients and edges) for checks."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 127 + 120 * np.sin(xx / 37.0) * np.cos(yy / 23.0)
    g = 255 * (xx / w)
    b = 255 * ((xx // 40 + yy // 40) % 2)
    return np.clip(np.stack([r, g, b], axis=2), 0, 255).astype(np.uint8)


# --- per-session state ---------------------------------------------------------------------------

@dataclass
class CamSchedule:
    """Recompute Grad-CAM only when it leaves the stream at least ``1 - share`` of the time."""

    share: float = 0.5
    last_end: float = -math.inf
    last_cost: float = 0.0

    def due(self, now: float) -> bool:
        gap = self.last_cost * (1.0 - self.share) / self.share
        return now - self.last_end >= gap

    def done(self, start: float, end: float) -> None:
        self.last_cost, self.last_end = end - start, end


@dataclass
class StreamState:
    """What one browser session's stream remembers between frames (settings are set by the page)."""

    cam: bool = False
    alpha: float = 0.45
    window_s: float = 2.0
    schedule: CamSchedule = field(default_factory=CamSchedule)
    records: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=8))
    times: deque = field(default_factory=lambda: deque(maxlen=256))
    frame_ms: deque = field(default_factory=lambda: deque(maxlen=60))   # server time of recent frames
    last_heat: np.ndarray | None = None
    last_box: tuple | None = None
    cam_frames: int = 0
    frames: int = 0
    latest: dict | None = None
    smooth_s: float = 0.5          # time constant of the probability average, seconds
    avg: torch.Tensor | None = None
    avg_time: float = 0.0
    avg_model: str = ""

    def smooth(self, probs: torch.Tensor, now: float, model: str) -> torch.Tensor:
        """Exponential average of the class probabilities over ~``smooth_s`` seconds (restarted
        when the model changes): the label shown follows the scene, not one frame's noise."""
        if self.avg is None or self.avg_model != model or self.smooth_s <= 0:
            self.avg = probs.detach().float().clone()
        else:
            a = 1.0 - math.exp(-max(now - self.avg_time, 0.0) / self.smooth_s)
            self.avg.mul_(1.0 - a).add_(probs.detach().float(), alpha=a)
        self.avg_time, self.avg_model = now, model
        return self.avg

    def tick(self, now: float) -> float:
        """Record a processed frame; frames per second over the last ``window_s`` seconds."""
        self.times.append(now)
        while len(self.times) > 2 and now - self.times[0] > self.window_s:
            self.times.popleft()
        if len(self.times) < 2:
            return 0.0
        return (len(self.times) - 1) / max(self.times[-1] - self.times[0], 1e-9)

    def spread(self, ms: float) -> tuple[float, float, float, int]:
        """Add a frame's server time; (median, q1, q3, frames) of the recent frames' times."""
        self.frame_ms.append(ms)
        xs = sorted(self.frame_ms)
        if len(xs) < 4:
            return xs[len(xs) // 2], xs[0], xs[-1], len(xs)
        q1, q2, q3 = statistics.quantiles(xs, n=4, method="inclusive")
        return q2, q1, q3, len(xs)

    def publish(self, record: dict) -> None:
        self.latest = record
        try:
            self.records.put_nowait(record)
        except queue.Full:  # the page is not polling: drop the oldest
            try:
                self.records.get_nowait()
            except queue.Empty:
                pass
            self.records.put_nowait(record)


# --- drawing on the frame --------------------------------------------------------------------------

_FONT_CACHE: dict[int, ImageFont.ImageFont] = {}


def _font(size: int) -> ImageFont.ImageFont:
    if size not in _FONT_CACHE:
        try:
            _FONT_CACHE[size] = ImageFont.load_default(size=size)
        except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
            _FONT_CACHE[size] = ImageFont.load_default()
    return _FONT_CACHE[size]


def label_text(rec: dict) -> str:
    """The top-1 line, as the video shows it and the page's readout repeats it."""
    return f"{rec['label']}  {rec['prob'] * 100:.0f} %"


def sub_text(rec: dict) -> str:
    return f"{rec['fps']:.1f} frames/s  {rec['model']}{'  Grad-CAM' if rec['cam'] else ''}"


def draw_label(img: Image.Image, text: str, sub: str) -> None:
    """The top label on a dark band across the top of the frame, timings below it."""
    size = max(14, img.height // 20)
    draw = ImageDraw.Draw(img)
    band = int(size * 2.6)
    draw.rectangle((0, 0, img.width, band), fill=(0, 0, 0))
    draw.text((8, 4), text, fill=(255, 255, 255), font=_font(size))
    draw.text((8, 6 + size), sub, fill=(200, 200, 200), font=_font(int(size * 0.75)))


# --- the callback ------------------------------------------------------------------------------------

def process_frame(frame, engine: Engine, state: StreamState):
    """One camera frame -> (frame with the top label drawn, result record); never calls ``st``.

    ``frame`` is an ``av.VideoFrame``; the returned frame keeps its timestamp. The record also
    goes on ``state.records`` for the page to poll.
    """
    import av

    with torch_threads(engine.threads):
        return _process_frame(frame, engine, state)


def _process_frame(frame, engine: Engine, state: StreamState):
    import av

    start = time.perf_counter()
    rgb = frame.to_ndarray(format="rgb24")  # (H, W, 3) uint8
    if frame.format.name == "rgb24" or not rgb.flags.writeable:
        rgb = rgb.copy()  # no conversion happened: the array may be the frame's own buffer
    x, box = engine.prepare(rgb)
    probs = engine.probs(x)
    frame_top = int(probs.argmax())
    model_done = time.perf_counter()
    top = topk(state.smooth(probs, model_done, engine.name), engine.class_names, 5)

    cam_ms = None
    if state.cam and state.schedule.due(model_done):
        heat = engine.cam(x, top[0].index)
        cam_end = time.perf_counter()
        state.schedule.done(model_done, cam_end)
        cam_ms = (cam_end - model_done) * 1000.0
        state.last_heat, state.last_box = heat, box
        state.cam_frames += 1
    if state.cam and state.last_heat is not None and state.last_box == box:
        l, t, r, b = box
        region = rgb[t:b, l:r]
        rgb[t:b, l:r] = overlay(region, state.last_heat, state.alpha)

    state.frames += 1
    fps = state.tick(time.perf_counter())
    record = {
        "frame": state.frames,
        "model": engine.name,
        "label": top[0].label,
        "index": top[0].index,
        "prob": top[0].prob,
        "top5": [(t.label, t.prob) for t in top],
        "frame_index": frame_top,          # this frame's own top-1, before averaging
        "fps": fps,
        "cam": state.cam,
        "size": (frame.width, frame.height),
        "model_ms": (model_done - start) * 1000.0,
        "cam_ms": cam_ms,
        "cam_frames": state.cam_frames,
    }
    img = Image.fromarray(rgb)
    draw_label(img, label_text(record), sub_text(record))   # the video shows this record
    out = av.VideoFrame.from_image(img)
    out.pts = frame.pts
    if frame.time_base is not None:
        out.time_base = frame.time_base
    end = time.perf_counter()
    record["ms"] = (end - start) * 1000.0
    record["ms_median"], record["ms_q1"], record["ms_q3"], record["ms_frames"] = state.spread(record["ms"])
    record["time"] = end
    state.publish(record)
    return out, record


# --- how many live streams one server carries -------------------------------------------------------

STREAMS_ENV = "CNN_ATLAS_LIVE_STREAMS"
CAPACITY_FILE = Path(__file__).resolve().parent.parent / "assets" / "live_capacity.json"
MIN_FPS = 15.0        # a stream counts as sustained at this many processed frames per second


@dataclass(frozen=True)
class Capacity:
    """The live streams this server admits, and where that number comes from.

    ``measured``: streams that ``benchmarks/bench_live.py streams`` found sustained at ≥ ``fps``
    processed frames per second each (``None`` when no measurement is installed); ``streams``: the
    limit applied, the measurement unless ``$CNN_ATLAS_LIVE_STREAMS`` sets it (``set_by_env``).
    """

    streams: int
    measured: int | None = None
    fps: float = MIN_FPS
    when: str = ""
    machine: str = ""
    threads: int | None = None
    load_1m: float | None = None
    set_by_env: bool = False


def read_capacity(path: Path = CAPACITY_FILE, env: Mapping[str, str] | None = None) -> Capacity:
    """The measured capacity (``assets/live_capacity.json``) and the operator's override.

    Without a readable measurement the server admits one stream. An override that is not a whole
    number ≥ 0 is ignored. At least one stream is admitted when the measurement found none at
    ≥ 15 frames/s (the page then says so): a slower stream still beats no stream.
    """
    env = os.environ if env is None else env
    try:
        m = json.loads(Path(path).read_text())
        cap = Capacity(streams=max(1, int(m["streams"])), measured=int(m["streams"]),
                       fps=float(m.get("min_fps", MIN_FPS)), when=str(m.get("when", "")),
                       machine=str(m.get("machine", "")), threads=m.get("threads"),
                       load_1m=m.get("load_1m"))
    except (OSError, ValueError, KeyError, TypeError):
        cap = Capacity(streams=1)
    raw = env.get(STREAMS_ENV, "").strip()
    if raw.isdigit():
        cap = Capacity(**{**cap.__dict__, "streams": int(raw), "set_by_env": True})
    return cap


def capacity_text(cap: Capacity) -> str:
    """One sentence for the live page: the limit, its provenance, what the others get."""
    if cap.measured is None:
        said = "The live capacity of this server has not been measured"
    else:
        threads = (f", {cap.threads} torch thread{'s' if cap.threads != 1 else ''} per stream"
                   if cap.threads else "")
        load = f", 1-min load {cap.load_1m:.2f}" if cap.load_1m is not None else ""
        said = (f"This server sustains about {cap.measured} live stream{'s' if cap.measured != 1 else ''} "
                f"at ≥ {cap.fps:g} processed frames/s (measured {cap.when} on {cap.machine}{threads}{load})")
    if cap.set_by_env:
        limit = f"; this server's operator set the limit to {cap.streams}"
    elif cap.measured is None:
        limit = f"; {cap.streams} stream is admitted"
    else:
        limit = ""
    return f"{said}{limit}; further sessions get snapshots."


class StreamRegistry:
    """The server's ledger of running live streams, shared by every session (``st.cache_resource``).

    A stream holds a slot while its frames arrive: each processed frame is a heartbeat (``beat``),
    and a slot whose last beat is older than ``timeout_s`` is free again. So a stream that is
    stopped, a tab that is closed and a session that dies without a word all give their slot back
    within ``timeout_s``; ``release`` frees it at once when the page sees the stream stopped.
    """

    def __init__(self, timeout_s: float = 3.0, clock: Callable[[], float] = time.monotonic):
        self.timeout_s, self._clock = timeout_s, clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        for sid in [s for s, t in self._seen.items() if now - t > self.timeout_s]:
            del self._seen[sid]

    def room(self, sid: str, limit: int) -> bool:
        """Whether stream ``sid`` may run: it already holds a slot, or one is free."""
        with self._lock:
            self._expire(self._clock())
            return sid in self._seen or len(self._seen) < limit

    def beat(self, sid: str, limit: int) -> bool:
        """A frame of stream ``sid``: keep (or take) its slot; False when none is free."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            if sid not in self._seen and len(self._seen) >= limit:
                return False
            self._seen[sid] = now
            return True

    def release(self, sid: str) -> None:
        with self._lock:
            self._seen.pop(sid, None)

    def active(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._seen)


def refused_frame(frame, text: str):
    """The camera frame back unprocessed, with ``text`` on the label band: a stream that found
    every slot taken (``StreamRegistry.beat``) between the page's check and its first frame."""
    import av

    img = frame.to_image()
    draw_label(img, text, "")
    out = av.VideoFrame.from_image(img)
    out.pts, out.time_base = frame.pts, frame.time_base
    return out
