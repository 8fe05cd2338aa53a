"""ui/live.py: the webcam frame callback on real ``av.VideoFrame``s, its fast preprocessing, the
Grad-CAM schedule, the shared engine and the WebRTC configuration."""
from __future__ import annotations

import io
import json
import queue
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from ui import live as ul

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "assets" / "samples"


def frame_640x480(path: Path) -> np.ndarray:
    """A sample photo as a 640 × 480 webcam frame: scaled to cover, centre-cropped."""
    img = Image.open(path).convert("RGB")
    s = max(640 / img.width, 480 / img.height)
    img = img.resize((round(img.width * s), round(img.height * s)), Image.BILINEAR)
    left, top = (img.width - 640) // 2, (img.height - 480) // 2
    return np.asarray(img.crop((left, top, left + 640, top + 480)))


def video_frame(rgb: np.ndarray, pts: int = 7) -> av.VideoFrame:
    """As WebRTC delivers it: YUV 4:2:0, with a timestamp."""
    from fractions import Fraction

    f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    f.pts, f.time_base = pts, Fraction(1, 90000)
    return f


@pytest.fixture(scope="module")
def lite0():
    import zoo

    return zoo.load_pretrained("efficientnet_lite0")


@pytest.fixture(scope="module")
def engine(lite0):
    model, preprocess, names = lite0
    return ul.Engine("efficientnet_lite0", model, preprocess, names)


# --- configuration ------------------------------------------------------------------------------

def test_rtc_configuration_defaults_to_no_ice_servers():
    assert ul.rtc_configuration(env={}) == {"iceServers": []}


def test_rtc_configuration_from_env_and_secret():
    stun = {"iceServers": [{"urls": ["stun:stun.example.org:3478"]}]}
    assert ul.rtc_configuration(env={ul.RTC_ENV: json.dumps(stun)}) == stun
    turn = {"iceServers": [{"urls": "turn:t.example.org", "username": "u", "credential": "p"}]}
    # a deployment's secret wins over the environment
    assert ul.rtc_configuration(env={ul.RTC_ENV: json.dumps(stun)}, secret=turn) == turn
    assert ul.rtc_configuration(env={}, secret=json.dumps(turn)) == turn


@pytest.mark.parametrize("bad, words", [
    ("{not json", "not valid JSON"),
    ('{"servers": []}', "iceServers"),
    ('{"iceServers": [{"username": "u"}]}', "urls"),
])
def test_rtc_configuration_rejects_malformed(bad, words):
    with pytest.raises(ValueError, match=words):
        ul.rtc_configuration(env={ul.RTC_ENV: bad})


# --- fast preprocessing -------------------------------------------------------------------------

def reference_resize_crop(rgb: np.ndarray, resize: int, crop: int) -> np.ndarray:
    """The textbook pipeline, written out: PIL bilinear resize of the short side, centre crop."""
    img = Image.fromarray(rgb)
    w, h = img.size
    if w <= h:
        nw, nh = resize, int(resize * h / w)
    else:
        nw, nh = int(resize * w / h), resize
    img = img.resize((nw, nh), Image.BILINEAR)
    left, top = int(round((nw - crop) / 2)), int(round((nh - crop) / 2))
    return np.asarray(img.crop((left, top, left + crop, top + crop)))


@pytest.mark.parametrize("shape", [(480, 640), (640, 480), (300, 451), (224, 224)])
def test_fast_input_equals_resize_then_crop(shape):
    rgb = ul.synthetic_frame(*shape)
    norm = ul.NormSpec((1 / 128,) * 3, (-127 / 128,) * 3, (224, 224))
    x = ul.FastInput(256, (224, 224), norm)(rgb)
    ref = reference_resize_crop(rgb, 256, 224).astype(np.float32)
    got = (x[0].permute(1, 2, 0).numpy() + 127 / 128) * 128
    assert x.shape == (1, 3, 224, 224)
    assert np.abs(got - ref).max() <= 1.01  # at most one level of rounding


def test_fast_path_matches_the_models_preprocess(lite0, engine):
    _, preprocess, _ = lite0
    assert engine.fast, "the engine fell back to the slow path"
    for name in ("coffee.png", "chelsea.png"):
        rgb = frame_640x480(SAMPLES / name)
        fast, _ = engine.prepare(rgb)
        ref = preprocess(Image.fromarray(rgb))
        assert fast.shape == ref.shape
        assert (fast - ref).abs().max().item() <= 1.01 / 128  # one pixel level of Lite0's input


def test_probe_resize_finds_256(lite0, engine):
    _, preprocess, _ = lite0
    assert abs(ul.probe_resize(preprocess, engine.norm) - 256) < 2


def test_optimised_forward_agrees_with_eager(engine):
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        ref = engine.model(x)
        out = engine.forward(x)
    assert torch.allclose(out, ref, atol=1e-3 * ref.abs().max().item())


# --- the callback -------------------------------------------------------------------------------

@pytest.mark.parametrize("sample, label", [("coffee.png", "espresso"), ("chelsea.png", None)])
def test_process_frame_labels_the_frame(engine, sample, label):
    rgb = frame_640x480(SAMPLES / sample)
    state = ul.StreamState()
    frame = video_frame(rgb)
    out, rec = ul.process_frame(frame, engine, state)
    assert isinstance(out, av.VideoFrame)
    assert (out.width, out.height) == (640, 480) and out.pts == frame.pts
    assert out.time_base == frame.time_base
    if label:
        assert rec["label"] == label
    else:  # chelsea: one of the cat classes (tiger cat / Egyptian cat / tabby are close)
        assert rec["index"] in (281, 282, 285)
    assert len(rec["top5"]) == 5 and rec["top5"][0][0] == rec["label"]
    assert state.records.get_nowait() is rec
    drawn = out.to_ndarray(format="rgb24").astype(int)
    # the label band: dark, with some bright text pixels; the rest of the frame untouched
    band = drawn[:40]
    assert np.median(band) < 30 and band.max() > 200
    src = frame.to_ndarray(format="rgb24").astype(int)
    assert np.abs(drawn[200:] - src[200:]).mean() < 2


def test_the_video_label_and_the_readout_come_from_one_record(engine, monkeypatch):
    drawn = []
    real = ul.draw_label
    monkeypatch.setattr(ul, "draw_label", lambda img, text, sub: (drawn.append((text, sub)), real(img, text, sub)))
    state = ul.StreamState()
    for i, sample in enumerate(("coffee.png", "chelsea.png", "coffee.png")):
        _, rec = ul.process_frame(video_frame(frame_640x480(SAMPLES / sample), i), engine, state)
        text, sub = drawn[-1]
        # what the page prints (pages/live.py readout) is label_text of the latest record
        assert state.latest is rec and text == ul.label_text(rec) == f"{rec['label']}  {rec['prob'] * 100:.0f} %"
        assert sub == ul.sub_text(rec) and "efficientnet_lite0" in sub and f"{rec['fps']:.1f} frames/s" in sub
        assert rec["top5"][0] == (rec["label"], rec["prob"])


def test_probabilities_are_averaged_so_the_label_does_not_flicker(engine):
    state = ul.StreamState(smooth_s=5.0)   # long enough that a slow, busy machine cannot flip it
    coffee, cat = (frame_640x480(SAMPLES / f) for f in ("coffee.png", "chelsea.png"))
    _, first = ul.process_frame(video_frame(coffee, 0), engine, state)
    _, second = ul.process_frame(video_frame(cat, 1), engine, state)   # a few ms later
    assert first["label"] == "espresso"
    assert second["frame_index"] in (281, 282, 285)      # this frame alone says cat …
    assert second["label"] == "espresso"                 # … the average still espresso


def test_smoothing_arithmetic():
    s = ul.StreamState(smooth_s=0.5)
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert s.smooth(a, 10.0, "m").tolist() == [1.0, 0.0]
    got = s.smooth(b, 10.5, "m")                          # one time constant later: 1 - 1/e of the way
    assert got.tolist() == pytest.approx([0.3679, 0.6321], abs=1e-4)
    assert s.smooth(a, 10.5, "other").tolist() == [1.0, 0.0]   # a new model starts afresh
    assert ul.StreamState(smooth_s=0).smooth(b, 0.0, "m").tolist() == [0.0, 1.0]


def test_process_frame_counts_frames_per_second(engine):
    rgb = frame_640x480(SAMPLES / "coffee.png")
    state = ul.StreamState()
    recs = [ul.process_frame(video_frame(rgb, i), engine, state)[1] for i in range(4)]
    assert [r["frame"] for r in recs] == [1, 2, 3, 4]
    assert recs[0]["fps"] == 0.0 and recs[-1]["fps"] > 0
    assert all(r["ms"] > 0 for r in recs)


def test_process_frame_does_not_touch_an_rgb_input_frame(engine):
    rgb = frame_640x480(SAMPLES / "coffee.png").copy()
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    before = frame.to_ndarray(format="rgb24").copy()
    ul.process_frame(frame, engine, ul.StreamState())
    assert (frame.to_ndarray(format="rgb24") == before).all()


def test_gradcam_on_the_stream(engine):
    rgb = frame_640x480(SAMPLES / "coffee.png")
    state = ul.StreamState(cam=True, alpha=0.6)
    plain, _ = ul.process_frame(video_frame(rgb), engine, ul.StreamState())
    out, rec = ul.process_frame(video_frame(rgb), engine, state)
    assert rec["cam_ms"] is not None and rec["cam_frames"] == 1
    assert state.last_heat is not None and state.last_heat.shape == (224, 224)
    l, t, r, b = state.last_box
    a = out.to_ndarray(format="rgb24").astype(int)
    p = plain.to_ndarray(format="rgb24").astype(int)
    assert np.abs(a[t + 50:b, l:r] - p[t + 50:b, l:r]).mean() > 10  # the overlay is there
    assert np.abs(a[t + 50:b, :l] - p[t + 50:b, :l]).mean() < 2  # and only over the model's crop


def test_cam_schedule_keeps_the_stream_going():
    s = ul.CamSchedule(share=0.5)
    assert s.due(0.0)
    s.done(0.0, 0.2)  # a 200 ms map
    assert not s.due(0.3) and s.due(0.4)  # the next one waits as long as the map took
    s = ul.CamSchedule(share=0.25)
    s.done(0.0, 0.1)
    assert not s.due(0.35) and s.due(0.41)


def test_cam_reused_between_maps(engine):
    rgb = frame_640x480(SAMPLES / "coffee.png")
    state = ul.StreamState(cam=True)
    state.schedule = ul.CamSchedule(share=1e-6)  # a map, then none for a very long time
    recs = [ul.process_frame(video_frame(rgb, i), engine, state)[1] for i in range(3)]
    assert [r["cam_ms"] is not None for r in recs] == [True, False, False]
    assert recs[-1]["cam_frames"] == 1


def test_one_engine_many_sessions(engine):
    rgb = frame_640x480(SAMPLES / "coffee.png")
    a, b = ul.StreamState(), ul.StreamState()
    for i in range(2):
        ul.process_frame(video_frame(rgb, i), engine, a)
    ul.process_frame(video_frame(rgb, 9), engine, b)
    assert a.frames == 2 and b.frames == 1
    assert a.records.qsize() == 2 and b.records.qsize() == 1


def test_records_queue_drops_oldest():
    state = ul.StreamState(records=queue.Queue(maxsize=2))
    for i in range(5):
        state.publish({"frame": i})
    assert [state.records.get_nowait()["frame"] for _ in range(2)] == [3, 4]
    assert state.latest == {"frame": 4}


def test_fast_path_follows_other_preprocessing(tmp_path, monkeypatch):
    """A torchvision twin's weights resize to 232 and normalise with the ImageNet mean/std: the
    engine's fast path must follow (weights random here, the preprocessing is what is tested)."""
    import zoo

    url = json.loads((ROOT / "assets" / "models.json").read_text())["mobilenet_v2"]["weights_url"]
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    import hashlib
    import io

    from zoo import pretrained

    buf = io.BytesIO()
    torch.save(zoo.build("mobilenet_v2").state_dict(), buf)   # random weights, under their own hash
    (checkpoints / pretrained.canonical_name("mobilenet_v2", hashlib.sha256(buf.getvalue()).hexdigest())
     ).write_bytes(buf.getvalue())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    model, preprocess, names = zoo.load_pretrained("mobilenet_v2")
    eng = ul.Engine("mobilenet_v2", model, preprocess, names, optimize=False)
    assert eng.fast and eng.fast_input.resize == 232
    rgb = frame_640x480(SAMPLES / "chelsea.png")
    fast, box = eng.prepare(rgb)
    ref = preprocess(Image.fromarray(rgb))
    assert (fast - ref).abs().max().item() <= 1.01 / 255 / 0.224  # one pixel level
    # 640 × 480 -> 309 × 232 (int(232 · 640 / 480)); crop offsets round(85 / 2) = 42 and 4;
    # back in frame pixels: 42 · 640 / 309 = 86.99, 266 · 640 / 309 = 550.9, 4 · 480 / 232 = 8.3, 471.7
    assert box == (87, 8, 551, 472)
    out, rec = ul.process_frame(video_frame(rgb), eng, ul.StreamState())
    assert (out.width, out.height) == (640, 480) and rec["label"] in names


def test_stream_threads_leave_cores_for_video():
    assert ul.stream_threads(env={}, cpus=2) == 1
    assert ul.stream_threads(env={}, cpus=8) == 4
    assert ul.stream_threads(env={ul.THREADS_ENV: "3"}, cpus=2) == 3
    assert ul.stream_threads(env={ul.THREADS_ENV: "lots"}, cpus=2) == 1


def test_stream_uses_the_one_thread_context():
    """The live stream sets its thread count with zoo.latency.torch_threads (restored after)."""
    before = torch.get_num_threads()
    with ul.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_frame_time_spread_over_recent_frames():
    state = ul.StreamState()
    for ms in (10, 12, 11, 30, 13):
        out = state.spread(ms)
    median, q1, q3, n = out
    assert (median, n) == (12, 5) and q1 == 11 and q3 == 13          # the 30 ms frame does not move the median


# --- the server's live capacity and its registry of streams -------------------------------------

class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_registry_admits_up_to_the_limit_and_refuses_beyond():
    clock = Clock()
    reg = ul.StreamRegistry(timeout_s=3.0, clock=clock)
    assert reg.beat("a", 2) and reg.beat("b", 2)
    assert not reg.room("c", 2) and not reg.beat("c", 2)
    assert reg.room("a", 2) and reg.beat("a", 2)           # a running stream keeps its slot
    assert reg.active() == 2


def test_a_stream_whose_frames_stop_frees_its_slot_after_the_timeout():
    """A closed tab or a dead session sends no more frames, and no message either."""
    clock = Clock()
    reg = ul.StreamRegistry(timeout_s=3.0, clock=clock)
    assert reg.beat("a", 1)
    clock.t += 2.9
    assert not reg.room("b", 1)                              # still beating recently enough
    assert reg.beat("a", 1)                                  # a's frame at 2.9 s
    clock.t += 2.9
    assert not reg.beat("b", 1)
    clock.t += 0.2                                           # 3.1 s since a's last frame
    assert reg.room("b", 1) and reg.beat("b", 1)
    assert not reg.beat("a", 1)                              # a came back too late: b holds the slot
    assert reg.active() == 1


def test_a_stopped_stream_released_at_once():
    reg = ul.StreamRegistry(timeout_s=60.0, clock=Clock())
    assert reg.beat("a", 1) and not reg.room("b", 1)
    reg.release("a")
    reg.release("never-seen")                                # harmless
    assert reg.room("b", 1) and reg.active() == 0


def test_registry_never_exceeds_the_limit_under_concurrent_first_frames():
    import threading

    reg = ul.StreamRegistry(timeout_s=60.0)
    start = threading.Barrier(16)
    admitted = []

    def first_frame(i):
        start.wait()
        if reg.beat(f"s{i}", 3):
            admitted.append(i)

    threads = [threading.Thread(target=first_frame, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 3 and reg.active() == 3


def write_capacity(tmp_path, **kw) -> Path:
    m = {"streams": 3, "min_fps": 15, "when": "2026-12-01", "machine": "2-core Xeon", "threads": 1,
         "load_1m": 1.5, **kw}
    path = tmp_path / "live_capacity.json"
    path.write_text(json.dumps(m))
    return path


def test_capacity_from_the_measurement_with_its_provenance(tmp_path):
    cap = ul.read_capacity(write_capacity(tmp_path), env={})
    assert (cap.streams, cap.measured, cap.set_by_env) == (3, 3, False)
    text = ul.capacity_text(cap)
    assert text.startswith("This server sustains about 3 live streams at ≥ 15 processed frames/s "
                           "(measured 2026-12-01 on 2-core Xeon, 1 torch thread per stream, 1-min load 1.50)")
    assert text.endswith("further sessions get snapshots.")


def test_capacity_lowered_by_the_environment(tmp_path):
    path = write_capacity(tmp_path)
    cap = ul.read_capacity(path, env={"CNN_ATLAS_LIVE_STREAMS": "1"})
    assert (cap.streams, cap.measured, cap.set_by_env) == (1, 3, True)
    assert "this server's operator set the limit to 1;" in ul.capacity_text(cap)
    for junk in ("", "many", "-2", "1.5"):                   # not a whole number: the measurement stands
        assert ul.read_capacity(path, env={"CNN_ATLAS_LIVE_STREAMS": junk}).streams == 3


def test_capacity_without_a_measurement_or_below_one_stream(tmp_path):
    cap = ul.read_capacity(tmp_path / "missing.json", env={})
    assert (cap.streams, cap.measured) == (1, None)
    assert ul.capacity_text(cap).startswith("The live capacity of this server has not been measured; 1 stream")
    (tmp_path / "bad.json").write_text("{not json")
    assert ul.read_capacity(tmp_path / "bad.json", env={}).measured is None
    cap = ul.read_capacity(write_capacity(tmp_path, streams=0), env={})
    assert (cap.streams, cap.measured) == (1, 0)             # one slower stream rather than none
    assert "sustains about 0 live streams" in ul.capacity_text(cap)


def test_refused_frame_keeps_the_timestamp_and_says_why():
    rgb = np.full((480, 640, 3), 200, np.uint8)
    out = ul.refused_frame(video_frame(rgb, pts=42), "All 1 live streams are in use")
    assert out.pts == 42 and (out.width, out.height) == (640, 480)
    img = out.to_ndarray(format="rgb24")
    assert img[5:20, :].mean() < 100 and abs(float(img[300:, :].mean()) - 200) < 3   # dark band, frame below


def test_beyond_the_capacity_the_live_page_gives_snapshots(monkeypatch):
    """Every slot taken (the limit set to 0 here): the page says so, renders no WebRTC stream
    (so AppTest can run it) and classifies a camera snapshot with the same model."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CNN_ATLAS_LIVE_STREAMS", "0")
    at = AppTest.from_file(str(ROOT / "pages" / "live.py"), default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Every live stream this server carries is in use (0)" in w.value for w in at.warning)
    assert any("further sessions get snapshots" in c.value and "operator set the limit to 0" in c.value
               for c in at.caption)
    photo = Image.open(ROOT / "assets" / "samples" / "coffee.png").convert("RGB")
    buf = io.BytesIO()
    photo.save(buf, format="JPEG", quality=95)
    at.camera_input(key="live_snapshot").set_value(("photo.jpg", buf.getvalue(), "image/jpeg"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(md.value.startswith("### espresso · ") for md in at.markdown)
    assert any(c.value.startswith("Top-1 of efficientnet_lite0") for c in at.caption)
