"""pages/classify.py through AppTest: sample photos, upload, webcam snapshot, explanations, and
every bad input of the issue giving a clear message while the session keeps working."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from test_classify import BAD_INPUTS, encode

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "classify.py")
SAMPLES = ROOT / "assets" / "samples"


def sample_bytes(name: str, fmt: str = "JPEG") -> bytes:
    return encode(Image.open(SAMPLES / name).convert("RGB"), fmt, **({"quality": 95} if fmt == "JPEG" else {}))


def top1(at: AppTest) -> str:
    metrics = [m for m in at.metric if m.label == "Top-1"]
    assert metrics, f"no prediction shown; errors: {[e.value for e in at.error]}"
    return metrics[0].value


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
    times = [m.value for m in at.metric if m.label == "Time per image"]
    assert times and times[0].endswith("ms") and float(times[0].split()[0]) > 0
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
        assert not [m for m in at.metric if m.label == "Top-1"]
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
    assert any("Grad-CAM on `" in c for c in captions), captions
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
    torch.manual_seed(0)
    torch.save(zoo.build("mobilenet_v2").state_dict(), checkpoints / twin_file("mobilenet_v2"))
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


def test_side_by_side_prediction_confidence_time_macs(hub):
    import json

    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.selectbox(key="sample").select("coffee").run()
    at.multiselect(key="compare").set_value(["efficientnet_lite0", "mobilenet_v2"]).run()
    assert not at.exception, [e.value for e in at.exception]
    df = at.dataframe[-1].value
    assert list(df["model"]) == ["efficientnet_lite0", "mobilenet_v2"]
    assert {"prediction", "confidence (%)", "time (ms)", "GMACs"} <= set(df.columns)
    assert df.loc[0, "prediction"] == "espresso"
    assert (df["time (ms)"] > 0).all()
    ref = json.loads((ROOT / "assets" / "models.json").read_text())
    # MACs as the reference implementation measured them (torchvision's MobileNet v2, timm's Lite0)
    assert df.loc[1, "GMACs"] == pytest.approx(ref["mobilenet_v2"]["macs"] / 1e9, rel=1e-3)
    assert df.loc[0, "GMACs"] == pytest.approx(ref["tf_efficientnet_lite0"]["macs"] / 1e9, rel=2e-2)


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
