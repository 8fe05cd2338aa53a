"""pages/classify.py through AppTest: sample photos (and what each says about the classifier),
upload, webcam snapshot, explanations, the three Lites side by side, weights files a lecturer
brings (checked before use, refused with the first mismatch), and every bad input giving a clear
message while the session keeps working."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from test_classify import BAD_INPUTS, encode

from conftest import tables

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "classify.py")
SAMPLES = ROOT / "assets" / "samples"


def sample_bytes(name: str, fmt: str = "JPEG") -> bytes:
    return encode(Image.open(SAMPLES / name).convert("RGB"), fmt, **({"quality": 95} if fmt == "JPEG" else {}))


def headings(at: AppTest, level: str) -> list[tuple[str, str]]:
    """(class, percent) of the markdown headings "### espresso · 95.7 %" (level "###")."""
    out = []
    for md in at.markdown:
        if md.value.startswith(level + " ") and " · " in md.value:
            label, pct = md.value[len(level) + 1:].rsplit(" · ", 1)
            out.append((label, pct))
    return out


def top1(at: AppTest) -> str:
    found = headings(at, "###")
    assert found, f"no prediction shown; errors: {[e.value for e in at.error]}"
    assert any(c.value.startswith("Top-1 (ImageNet class") for c in at.caption)
    return found[0][0]


def top5s(at: AppTest) -> list[tuple[str, list[str]]]:
    """(title, class names in order) of every top-5 list on the page (``ui.classify.top5_html``)."""
    out = []
    for h in at.html:
        if 'class="atlas-top5"' in h.value:
            title = re.findall(r'class="atlas-top5-title">([^<]*)<', h.value)
            out.append((title[0] if title else "", re.findall(r'class="atlas-top5-name">([^<]*)<', h.value)))
    return out


def shown(at: AppTest) -> bool:
    return bool(headings(at, "###"))


def image_captions(at: AppTest) -> list[str]:
    return [c for img in at.image for c in img.captions]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


@pytest.fixture()
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def upload(at: AppTest, name: str, data: bytes, mime: str = "application/octet-stream") -> AppTest:
    if at.radio(key="source").value != "Upload":
        at.radio(key="source").set_value("Upload").run()
    at.file_uploader(key="upload").set_value((name, data, mime))
    return at.run()


def test_sample_photos_classified(at):
    at.selectbox(key="sample").select("coffee").run()
    assert top1(at) == "espresso"
    at.selectbox(key="sample").select("chelsea").run()
    assert top1(at) in ("tiger cat", "Egyptian cat", "tabby")
    times = [m for m in at.metric if m.label == "Time per image"]
    assert times and times[0].value.endswith("ms") and float(times[0].value.split()[0]) > 0
    assert "median" in times[0].help and "IQR" in times[0].help and "repeats" in times[0].help
    assert any("Inference runs on the" in c.value and "CPU" in c.value for c in at.caption) or \
        any("GPU" in c.value for c in at.caption)
    assert not at.exception


@pytest.mark.parametrize("fmt, mime", [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                       ("WEBP", "image/webp"), ("BMP", "image/bmp"), ("GIF", "image/gif")])
def test_upload_each_format(at, fmt, mime):
    upload(at, f"coffee.{fmt.lower()}", sample_bytes("coffee.png", fmt), mime)
    assert not at.exception
    assert top1(at) == "espresso"


def test_webcam_snapshot(at):
    at.radio(key="source").set_value("Webcam snapshot").run()
    assert any("camera" in c.value.lower() and "denied" in c.value for c in at.caption)
    at.camera_input(key="snapshot").set_value(("photo.jpg", sample_bytes("coffee.png"), "image/jpeg"))
    at.run()
    assert not at.exception
    assert top1(at) == "espresso"


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gives_a_message_and_the_session_goes_on(at, case):
    filename, make, expected = BAD_INPUTS[case]
    upload(at, filename, make())
    assert not at.exception, [e.value for e in at.exception]
    if expected.startswith("refused"):
        words = expected.split(": ", 1)[1]
        assert any(words in e and filename in e for e in errors(at)), errors(at)
        assert not shown(at)
    else:
        assert top1(at)  # classified, with what was done to it said beside the picture
        assert at.info, "the conversion is not explained"
    # the session keeps working: the next upload is classified
    upload(at, "coffee.jpg", sample_bytes("coffee.png"), "image/jpeg")
    assert not errors(at) and top1(at) == "espresso"


def test_gradcam_then_occlusion(at):
    at.selectbox(key="sample").select("coffee").run()
    assert at.radio(key="method").value == "Grad-CAM"
    captions = image_captions(at)
    assert any(c.startswith("Grad-CAM on features, the last convolutional stage") for c in captions), captions
    n_images = len(at.image)
    assert n_images >= 3  # the photo, what the model saw, the overlay
    at.slider(key="alpha").set_value(0.8).run()
    assert not at.exception
    at.radio(key="method").set_value("Occlusion").run()
    assert any(b.label.startswith("Compute Occlusion") for b in at.button)
    at.button(key="compute").click().run()
    assert not at.exception
    assert any("Occlusion: score drop" in c for c in image_captions(at))


def test_explain_another_class(at):
    at.selectbox(key="sample").select("coffee").run()
    options = at.selectbox(key="target").options
    assert len(options) == 5 and options[0].startswith("espresso")
    at.selectbox(key="target").select(options[1]).run()
    assert not at.exception


def test_unavailable_models_listed_with_reason(at):
    expanders = [e for e in at.expander if "have no weights here" in e.label]
    assert expanders, "models without weights are not listed"
    # the catalogue says why for each
    df = expanders[0].dataframe[0].value
    assert {"model", "why"} <= set(df.columns) and df["why"].str.len().min() > 0
    assert "efficientnet_lite0" not in set(df["model"])


# --- other models' weights: a torch hub cache made for the test ------------------------------

def twin_file(name: str) -> str:
    import json

    url = json.loads((ROOT / "assets" / "models.json").read_text())[name]["weights_url"]
    return url.rsplit("/", 1)[-1]


@pytest.fixture()
def hub(tmp_path, monkeypatch):
    """TORCH_HOME in a temporary folder: MobileNet v2 with valid (random) torchvision-layout
    weights, SqueezeNet 1.0 with a corrupt file."""
    import torch

    import zoo

    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    import hashlib
    import io

    from zoo import pretrained

    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save(zoo.build("mobilenet_v2").state_dict(), buf)
    name = pretrained.canonical_name("mobilenet_v2", hashlib.sha256(buf.getvalue()).hexdigest())
    (checkpoints / name).write_bytes(buf.getvalue())          # other weights, under their own hash
    (checkpoints / twin_file("squeezenet1_0")).write_bytes(b"PK\x03\x04 this is not a weights file")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return checkpoints


def test_corrupt_weights_file_gives_a_message_and_the_session_goes_on(hub):
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert "squeezenet1_0" in at.selectbox(key="model").options  # the file is there...
    at.selectbox(key="model").select("squeezenet1_0").run()
    assert not at.exception
    msg = " ".join(errors(at))
    assert "squeezenet1_0" in msg and "not a readable PyTorch weights file" in msg, msg
    at.selectbox(key="model").select("efficientnet_lite0").run()
    assert not errors(at) and top1(at)


def test_three_lites_side_by_side_offline(at):
    """The default comparison: Lite0, Lite1 and Lite2, each with its top-1, top-5, time, MACs and
    its own Grad-CAM; the table gives the exact counts."""
    from zoo import fmt

    at.selectbox(key="sample").select("coffee").run()
    assert at.multiselect(key="compare").value == ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
    assert [label for label, _ in headings(at, "####")] == ["espresso"] * 3
    lists = top5s(at)        # the chosen model's, then one per column
    assert [title for title, _ in lists] == ["efficientnet_lite0: top-5", "", "", ""]
    assert all(len(names) == 5 and names[0] == "espresso" for _, names in lists), lists
    cams = [c for c in image_captions(at) if c.startswith("Grad-CAM for ")]
    assert cams == ["Grad-CAM for espresso"] * 3
    df = tables(at)[-1].value
    assert list(df["model"]) == ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
    ref = reference()
    # MACs as timm 1.0.31 counted the same Lites (assets/models.json), within TF padding's few %
    for i, n in enumerate(df["model"]):
        assert fmt.parse_si(df.loc[i, "MACs"]) == pytest.approx(ref[f"tf_{n}"]["macs"], rel=2e-2)
        assert fmt.parse_si(df.loc[i, "parameters"]) == ref[f"tf_{n}"]["params"]
    ms = list(df["time per image (ms)"])                      # shown with one decimal
    assert all(float(v.replace(",", "")) > 0 and len(v.split(".")[1]) == 1 for v in ms), ms
    assert any("counted by CNN Atlas on the meta device" in c.value for c in at.caption)


def reference() -> dict:
    import json

    return json.loads((ROOT / "assets" / "models.json").read_text())


def test_side_by_side_with_a_twin_from_the_hub(hub):
    from zoo import fmt

    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.selectbox(key="sample").select("coffee").run()
    at.multiselect(key="compare").set_value(["efficientnet_lite0", "mobilenet_v2"]).run()
    assert not at.exception, [e.value for e in at.exception]
    df = tables(at)[-1].value
    assert list(df["model"]) == ["efficientnet_lite0", "mobilenet_v2"]
    assert {"time per image (ms)", "time IQR (ms)", "MACs", "parameters"} <= set(df.columns)
    assert headings(at, "####")[0][0] == "espresso"
    # MACs as the reference implementation measured them (torchvision's MobileNet v2)
    assert df.loc[1, "MACs"] == fmt.count(reference()["mobilenet_v2"]["macs"])


def test_download_offline_says_why(hub):
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.selectbox(key="fetch").select("resnet18").run()
    at.button(key="download").click().run()
    assert not at.exception
    msg = " ".join(errors(at))
    assert "resnet18" in msg and "could not download" in msg, msg
    assert top1(at)  # the page still classifies


def test_default_sample_and_url_state():
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert at.selectbox(key="sample").value == "coffee" and top1(at) == "espresso"
    linked = AppTest.from_file(PAGE, default_timeout=180)
    linked.query_params["sample"] = "chelsea"
    linked.run()
    assert linked.selectbox(key="sample").value == "chelsea"
    assert top1(linked) in ("tiger cat", "Egyptian cat", "tabby")


# --- a weights file a lecturer brings --------------------------------------------------------------

@pytest.fixture()
def empty_hub(tmp_path, monkeypatch):
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return checkpoints


def state_dict_bytes(name: str, seed: int = 0, edit=None) -> bytes:
    import io

    import torch

    import zoo

    torch.manual_seed(seed)
    sd = zoo.build(name).state_dict()
    if edit:
        edit(sd)
    buf = io.BytesIO()
    torch.save(sd, buf)
    return buf.getvalue()


def upload_weights(at: AppTest, filename: str, data: bytes, model: str | None = None) -> AppTest:
    if model:
        at.selectbox(key="weights_for").select(model).run()
    at.file_uploader(key="weights_file").set_value((filename, data, "application/octet-stream"))
    return at.run()


def test_uploaded_twin_file_is_verified_stored_and_then_usable(empty_hub):
    import hashlib

    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert "squeezenet1_1" not in at.selectbox(key="model").options
    data = state_dict_bytes("squeezenet1_1")
    upload_weights(at, "squeezenet1_1-mine.pth", data)
    assert not at.exception and not errors(at), errors(at)
    msg = " ".join(s.value for s in at.success)
    digest = hashlib.sha256(data).hexdigest()
    assert f"stored as squeezenet1_1-{digest[:8]}.pth" in msg and "every key and shape" in msg
    assert "other weights than torchvision's squeezenet1_1-b8a52dc0.pth" in msg
    assert (empty_hub / f"squeezenet1_1-{digest[:8]}.pth").read_bytes() == data
    assert "squeezenet1_1" in at.selectbox(key="model").options
    at.selectbox(key="model").select("squeezenet1_1").run()
    assert not errors(at) and top1(at)                                # usable at once


def _pickle_with_code(marker) -> bytes:
    import io
    import pathlib

    import torch

    class Touch:
        def __reduce__(self):
            return (pathlib.Path.touch, (pathlib.Path(marker),))

    buf = io.BytesIO()
    torch.save({"features.0.weight": Touch()}, buf)
    return buf.getvalue()


@pytest.mark.parametrize("case", ["truncated", "code", "wrong model", "hash in name"])
def test_bad_weights_files_are_refused_and_nothing_is_stored(empty_hub, tmp_path, case):
    good = state_dict_bytes("squeezenet1_1")
    filename, data, model, words = {
        "truncated": ("squeezenet1_1-x.pth", good[:200_000], None, "not a readable PyTorch weights file"),
        "code": ("squeezenet1_1-y.pth", _pickle_with_code(tmp_path / "pwned"), None,
                 "carries Python code to run"),
        "wrong model": ("weights.pth", state_dict_bytes("squeezenet1_0"), "squeezenet1_1",
                        "features.0.weight has shape (96, 3, 7, 7) in the file, squeezenet1_1 expects (64, 3, 3, 3)"),
        "hash in name": ("squeezenet1_1-b8a52dc0.pth", good, None, "its name promises a SHA-256 starting b8a52dc0"),
    }[case]
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    upload_weights(at, filename, data, model)
    assert not at.exception
    msg = " ".join(errors(at))
    assert "Refused." in msg and words in msg and "Nothing was stored" in msg, msg
    assert list(empty_hub.iterdir()) == [] and not (tmp_path / "pwned").exists()
    assert top1(at) == "espresso"                                      # the session goes on


def test_uploader_limits_photos_50_mb_weights_600_mb():
    import tomllib

    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert at.file_uploader(key="weights_file").proto.max_upload_size_mb == 600
    at.radio(key="source").set_value("Upload").run()
    assert at.file_uploader(key="upload").proto.max_upload_size_mb == 50
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == 600      # the server's own cap: the larger of the two


# --- samples say what the classifier can and cannot do -------------------------------------------

@pytest.mark.parametrize("sample, verdict, words", [
    ("coffee", "success", "Coffee cup: the classifier can do this one"),
    ("rocket", "warning", "only approximately"),
    ("astronaut", "error", "No ImageNet-1k class for a person"),
    ("horse", "error", "silhouette is not a photograph"),
])
def test_each_sample_says_what_it_shows(at, sample, verdict, words):
    at.selectbox(key="sample").select(sample).run()
    boxes = [b.value for b in getattr(at, verdict)]
    assert any(words in b for b in boxes), boxes
    assert any(c.value.startswith("Photo: ") and ("CC0" in c.value or "Public domain" in c.value) for c in at.caption)


def test_the_next_session_with_the_same_photo_runs_no_model(monkeypatch):
    """A hall opens the same sample photo: the first session pays for every model's top-5 and
    Grad-CAM, the next ones are served from the server-wide caches (ui.state: per model, device,
    SHA-256 of the photo's bytes and class) with the same page; a photo not seen before is computed."""
    from ui import classify as uc

    first = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not first.exception and shown(first)
    calls: list[str] = []
    real_predict, real_cam = uc.predict, uc.gradcam
    monkeypatch.setattr(uc, "predict", lambda *a, **k: calls.append("predict") or real_predict(*a, **k))
    monkeypatch.setattr(uc, "gradcam", lambda *a, **k: calls.append("gradcam") or real_cam(*a, **k))
    second = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not second.exception
    assert headings(second, "###") == headings(first, "###")
    assert headings(second, "####") == headings(first, "####")      # the side-by-side columns
    assert top5s(second) == top5s(first) and len(top5s(first)) == 4
    assert image_captions(second) == image_captions(first)
    assert calls == []
    noisy = Image.open(SAMPLES / "coffee.png").convert("RGB")
    noisy.putpixel((0, 0), (1, 2, 3))                                 # other bytes, a new photo
    upload(second, "coffee-edited.png", encode(noisy, "PNG"), "image/png")
    assert top1(second) == "espresso"
    assert calls.count("predict") >= 3 and calls.count("gradcam") >= 3   # three Lites, computed anew


def test_the_warm_up_classifies_every_sample_before_the_first_session(monkeypatch):
    """The server's warm-up (ui.state.warm_samples) leaves nothing for a student's first view of
    any sample photo: no forward pass, no Grad-CAM, no timing run."""
    from ui import classify as uc
    from ui import state

    state.warm_samples()
    calls: list[str] = []
    for fn in ("predict", "gradcam", "time_per_image"):
        real = getattr(uc, fn)
        monkeypatch.setattr(uc, fn, lambda *a, _f=fn, _r=real, **k: calls.append(_f) or _r(*a, **k))
    for sample in ("chelsea", "astronaut"):
        at = AppTest.from_file(PAGE, default_timeout=180)
        at.query_params["sample"] = sample
        at.run()
        assert not at.exception and shown(at)
        assert at.selectbox(key="sample").value == sample
        assert sum("Grad-CAM for" in c for c in image_captions(at)) == 3
    assert top1(at) != "espresso"
    assert calls == []


def test_the_app_runs_inference_on_the_serving_thread_count(monkeypatch):
    """app.py sets torch's threads once per process (half the cores, $CNN_ATLAS_THREADS
    overrides) and the classify page says the count its passes run with."""
    import threading

    import torch

    from ui import state

    old = torch.get_num_threads()
    monkeypatch.setenv("CNN_ATLAS_THREADS", "1")
    monkeypatch.setenv("CNN_ATLAS_WARM_UP", "0")
    state.serve_threads.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.run()
        at.switch_page("pages/classify.py").run()
        assert not at.exception
        assert any("CPU (1 thread; torch sees no GPU)" in c.value for c in at.caption), [c.value for c in at.caption]
    finally:
        state.serve_threads.clear()
        back = threading.Thread(target=torch.set_num_threads, args=(old,))   # for threads started later
        back.start()
        back.join()
