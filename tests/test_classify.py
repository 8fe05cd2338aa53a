"""ui/classify.py: decoding untrusted uploads, prediction on the sample photos, explanations.

The bad-input files are generated here (``BAD_INPUTS``), not stored: each is a few lines of PIL or
bytes, and the page tests (tests/test_pages_classify.py) push the same files through the page.
"""
from __future__ import annotations

import io
import re
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ui import classify as uc

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "assets" / "samples"


# --- inputs, made on the fly -------------------------------------------------------------------

def photo(w: int = 320, h: int = 240) -> Image.Image:
    """A smooth, colourful test picture (no external file)."""
    return Image.effect_mandelbrot((w, h), (-2.2, -1.2, 0.8, 1.2), 60).convert("RGB").resize((w, h))


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width × height, with a tiny (invalid) body: a bomb's calling card."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def bomb_png() -> bytes:
    """A real, valid PNG of 8000 × 6000 = 48 MP that compresses to a few kB."""
    return encode(Image.new("1", (8000, 6000)), "PNG", optimize=False)


def truncated_jpeg() -> bytes:
    data = encode(photo(), "JPEG", quality=90)
    return data[: len(data) // 2]


def png16() -> bytes:
    ramp = (np.linspace(0, 65535, 256)[None, :] * np.ones((64, 1))).astype(np.uint16)
    return encode(Image.fromarray(ramp), "PNG")


def cmyk_jpeg() -> bytes:
    # pure red in CMYK: no cyan, full magenta and yellow, no black
    return encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG", quality=95)


def palette_transparent_png() -> bytes:
    img = Image.new("P", (64, 64), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    img.paste(1, (16, 16, 48, 48))  # a red square on a transparent (palette 0) background
    return encode(img, "PNG", transparency=0)


def exif_rotated_jpeg() -> bytes:
    """40 × 20 pixels stored, orientation 6 (rotate 90° clockwise to view): 20 × 40 upright."""
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 20, 20))  # red on the stored left half: on top once upright
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(img, "JPEG", exif=exif.tobytes(), quality=95)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


# name -> (file name, bytes factory, expected: "refused: <words in the message>" or "ok")
BAD_INPUTS = {
    "zero_byte": ("empty.jpg", lambda: b"", "refused: empty"),
    "truncated_jpeg": ("cut.jpg", truncated_jpeg, "refused: truncated"),
    "text_named_jpg": ("notes.jpg", lambda: b"This is a text file, not a picture.\n" * 20,
                       "refused: not a JPEG"),
    "decompression_bomb": ("bomb.png", bomb_png, "refused: megapixels"),
    "bomb_header": ("huge.png", lambda: png_header_only(100_000, 100_000), "refused: decompression bomb"),
    "png_16bit": ("deep.png", png16, "ok"),
    "cmyk_jpeg": ("print.jpg", cmyk_jpeg, "ok"),
    "palette_transparency": ("logo.png", palette_transparent_png, "ok"),
    "exif_rotated": ("phone.jpg", exif_rotated_jpeg, "ok"),
    "one_pixel": ("dot.png", lambda: encode(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG"), "ok"),
    "strip_20000x20": ("strip.png", lambda: encode(photo(20000, 20), "PNG"), "ok"),
}


# --- decoding ------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_clearly_or_decoded(case):
    filename, make, expected = BAD_INPUTS[case]
    data = make()
    if expected.startswith("refused"):
        with pytest.raises(uc.BadImage) as err:
            uc.decode_image(data, filename)
        words = expected.split(": ", 1)[1]
        assert words in str(err.value), str(err.value)
        assert filename in str(err.value)
    else:
        d = uc.decode_image(data, filename)
        assert d.image.mode == "RGB"
        assert min(d.image.size) >= 1


def test_16bit_png_is_scaled_not_clipped():
    d = uc.decode_image(png16(), "deep.png")
    a = np.asarray(d.image)[..., 0].astype(int)
    # a 0..65535 ramp becomes a 0..255 ramp; clipping would make three quarters of it white
    assert a[:, 0].max() <= 1 and a[:, -1].min() >= 254
    assert abs(int(a[0, 128]) - 128) <= 2
    assert any("16-bit" in n for n in d.notes)


def test_cmyk_red_stays_red():
    d = uc.decode_image(cmyk_jpeg(), "print.jpg")
    r, g, b = np.asarray(d.image).reshape(-1, 3).mean(axis=0)
    assert r > 200 and g < 60 and b < 60, (r, g, b)
    assert any("CMYK" in n for n in d.notes)


def test_transparent_palette_pixels_become_white():
    d = uc.decode_image(palette_transparent_png(), "logo.png")
    a = np.asarray(d.image)
    assert tuple(a[0, 0]) == (255, 255, 255)
    assert tuple(a[32, 32]) == (255, 0, 0)


def test_exif_orientation_applied():
    d = uc.decode_image(exif_rotated_jpeg(), "phone.jpg")
    assert d.image.size == (20, 40)
    a = np.asarray(d.image).astype(int)
    assert a[5, 10, 0] > 200 and a[5, 10, 2] < 60  # red on top
    assert a[35, 10, 2] > 200 and a[35, 10, 0] < 60  # blue below
    assert any("EXIF" in n for n in d.notes)


def test_long_strip_keeps_its_centre():
    d = uc.decode_image(BAD_INPUTS["strip_20000x20"][1](), "strip.png")
    assert d.image.size == (80, 20)
    assert any("elongated" in n for n in d.notes)


def test_tiny_image_is_flagged():
    d = uc.decode_image(BAD_INPUTS["one_pixel"][1](), "dot.png")
    assert d.image.size == (1, 1)
    assert any("small" in n for n in d.notes)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "GIF"])
def test_every_upload_format_decodes(fmt):
    img = photo(64, 48)
    d = uc.decode_image(encode(img, fmt), f"x.{fmt.lower()}")
    assert d.format == fmt and d.image.size == (64, 48) and d.image.mode == "RGB"


def test_gif_first_frame():
    d = uc.decode_image(animated_gif(), "anim.gif")
    assert tuple(np.asarray(d.image)[5, 5]) == (255, 0, 0)
    assert any("first of 3 frames" in n for n in d.notes)


def test_other_formats_are_refused():
    tiff = encode(photo(32, 32), "TIFF")
    with pytest.raises(uc.BadImage, match="not a JPEG"):
        uc.decode_image(tiff, "scan.tif")


def test_limit_aspect_tall_and_wide():
    tall = Image.new("RGB", (10, 100))
    out, note = uc.limit_aspect(tall, 4)
    assert out.size == (10, 40) and note
    same, note = uc.limit_aspect(Image.new("RGB", (40, 10)), 4)
    assert same.size == (40, 10) and note == ""


# --- small pure pieces ------------------------------------------------------------------------

def test_topk_orders_and_names():
    p = torch.zeros(1000)
    p[[3, 7, 1]] = torch.tensor([0.2, 0.5, 0.3])
    names = [f"c{i}" for i in range(1000)]
    top = uc.topk(p, names, 3)
    assert [(t.index, t.label) for t in top] == [(7, "c7"), (1, "c1"), (3, "c3")]
    assert top[0].prob == pytest.approx(0.5)


def test_norm_probe_recovers_affine_maps():
    def lite(img):  # (x - 127) / 128
        a = np.asarray(img.convert("RGB").resize((8, 8)), dtype=np.float32)
        return torch.from_numpy((a - 127) / 128).permute(2, 0, 1)[None]
    spec = uc.NormSpec.probe(lite)
    assert spec.scale == pytest.approx((1 / 128,) * 3)
    assert spec.shift == pytest.approx((-127 / 128,) * 3)
    assert spec.size == (8, 8)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])

    def imagenet(img):
        a = np.asarray(img.convert("RGB").resize((8, 8)), dtype=np.float32) / 255
        return torch.from_numpy(((a - mean) / std).astype(np.float32)).permute(2, 0, 1)[None]
    spec = uc.NormSpec.probe(imagenet)
    assert spec.scale == pytest.approx(tuple(1 / 255 / std), rel=1e-5)
    assert spec.shift == pytest.approx(tuple(-mean / std), rel=1e-5)
    x = imagenet(photo(8, 8))
    assert np.abs(spec.to_pixels(x).astype(int) - np.asarray(photo(8, 8)).astype(int)).max() <= 1
    assert torch.allclose(spec.black(), imagenet(Image.new("RGB", (8, 8))), atol=1e-6)


def test_overlay_blends_and_resizes():
    img = np.full((20, 30, 3), 200, np.uint8)
    heat = np.ones((4, 4), np.float32)  # all "hot": dark red in the jet ramp (128, 0, 0)
    assert (uc.overlay(img, heat, 0.0) == img).all()
    full = uc.overlay(img, heat, 1.0)
    assert full.shape == img.shape and tuple(full[10, 10]) == tuple(uc.JET[255])
    half = uc.overlay(img, heat, 0.5)
    assert abs(int(half[10, 10, 0]) - (200 + 128) // 2) <= 1


def test_jet_goes_blue_to_red():
    assert tuple(uc.JET[0]) == (0, 0, 128) and tuple(uc.JET[255]) == (128, 0, 0)
    assert uc.JET[128, 1] > 200  # green-ish in the middle


def test_pick_device_cpu_here():
    dev = uc.pick_device()
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert dev.type == expected
    assert ("CPU" if expected == "cpu" else "GPU") in uc.describe_device(dev)


def test_last_conv_stage_finds_the_spatial_output():
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 4, 3, 2, 1)
            self.body = nn.Sequential(nn.Conv2d(4, 8, 3, 2, 1), nn.ReLU())
            self.pool = nn.AdaptiveAvgPool2d(1)  # 1 × 1: not a stage Grad-CAM can use
            self.fc = nn.Linear(8, 10)

        def forward(self, x):
            return self.fc(self.pool(self.body(self.stem(x))).flatten(1))
    name, mod = uc.last_conv_stage(Net(), (32, 32))
    assert name == "body"


def test_top5_html_lists_classes_in_order_with_bars_their_length():
    top = [uc.Top(967, "espresso", 0.957), uc.Top(968, "cup", 0.021), uc.Top(504, "coffee mug", 0.0004)]
    out = uc.top5_html(top, "efficientnet_lite0: top-5")
    names = re.findall(r'class="atlas-top5-name">([^<]*)<', out)
    pcts = re.findall(r'class="atlas-top5-pct">([^<]*)<', out)
    widths = [float(w) for w in re.findall(r'width: ([\d.]+)%', out)]
    assert names == ["espresso", "cup", "coffee mug"]                 # most probable first
    assert pcts == ["95.7 %", "2.1 %", "0.0 %"]                       # zoo.fmt.percent, kept on one line by CSS
    assert widths == pytest.approx([95.7, 2.1, 0.04])
    assert re.findall(r'<li title="([^"]*)"', out) == ["ImageNet class 967", "ImageNet class 968", "ImageNet class 504"]
    assert 'class="atlas-top5-title">efficientnet_lite0: top-5<' in out
    assert 'aria-label="efficientnet_lite0: top-5 probabilities"' in out
    assert "atlas-top5-title" not in uc.top5_html(top)                # no title, no heading


def test_top5_html_escapes_names_and_keeps_bars_inside_their_track():
    out = uc.top5_html([uc.Top(1, "<b>jack-o'-lantern</b> & co", 1.0000001), uc.Top(2, "x", -1e-9)])
    assert "<b>" not in out and "&lt;b&gt;jack-o&#x27;-lantern&lt;/b&gt; &amp; co" in out
    assert [float(w) for w in re.findall(r'width: ([\d.]+)%', out)] == [100.0, 0.0]


def test_top5_figure_names_each_class_above_its_bar():
    top = [uc.Top(1, "black-and-tan coonhound", 0.33), uc.Top(2, "Great Dane", 0.1), uc.Top(3, "c", 0.05)]
    fig = uc.top5_figure(top)
    # bottom row at 0; the two-line name's row is 1.6 high, so the first bar sits at 1 + 1.6
    assert list(fig.data[0].x) == pytest.approx([33, 10, 5]) and list(fig.data[0].y) == pytest.approx([2.0, 1.0, 0.0])
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["black-and-tan<br>coonhound 33.0\u00a0%", "Great Dane 10.0\u00a0%", "c 5.0\u00a0%"]
    assert uc.wrap_label("Greater Swiss Mountain dog") == "Greater Swiss<br>Mountain dog"
    assert uc.wrap_label("tiger cat") == "tiger cat" and uc.wrap_label("x" * 30) == "x" * 30
    assert [a.y for a in fig.layout.annotations] == pytest.approx([2.2, 1.2, 0.2])   # just above each bar
    two_lines = uc.top5_figure([uc.Top(1, "c", 0.5), uc.Top(2, "black-and-tan coonhound", 0.3)])
    assert list(two_lines.data[0].y) == pytest.approx([1.6, 0.0])   # the wrapped name's row is taller


def test_sample_catalog_reads_the_table_and_keeps_unlisted_photos(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "b.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg")
    Image.new("RGB", (8, 8)).save(tmp_path / "z.png")
    (tmp_path / "samples.csv").write_text(
        "file,title,verdict,expect,lesson,credit,licence\n"
        "b.png,Bee,cannot,—,No bee class.,Someone,CC0\n"
        "gone.png,Gone,can,x,y,z,CC0\n"
        "z.png,Zed,maybe,x,y,z,CC0\n")
    cat = uc.sample_catalog(tmp_path)
    assert [(s.name, s.verdict) for s in cat] == [("b", "cannot"), ("a", "partly"), ("z", "partly")]
    assert cat[0].headline == "The classifier cannot do this one" and cat[1].lesson == ""


def test_shipped_samples_are_all_catalogued():
    cat = uc.sample_catalog(SAMPLES)
    assert len(cat) == 8 and all(s.lesson and s.licence for s in cat)
    assert {s.verdict for s in cat} == {"can", "partly", "cannot"}


def test_shared_classifier_is_one_instance():
    a = uc.shared_classifier("efficientnet_lite0", "cpu")
    b = uc.shared_classifier("efficientnet_lite0", "cpu")
    assert a is b and a.model is b.model


def test_live_engine_uses_the_shared_model():
    from ui import live as ul

    clf = uc.shared_classifier("efficientnet_lite0", "cpu")
    eng = ul.Engine.from_classifier(clf, optimize=False)
    assert eng.model is clf.model


# --- prediction and explanations on the sample photos (the bundled Lite0 weights) -------------

@pytest.fixture(scope="module")
def lite0():
    return uc.shared_classifier("efficientnet_lite0", "cpu")


def test_lite0_on_the_sample_photos(lite0):
    """Reference figures (shared/reference README): TF-padded Lite0 with bilinear 256 / crop 224 /
    (x - 127) / 128 gives coffee "espresso" 0.96 and chelsea tiger cat 0.38, Egyptian cat 0.37,
    tabby 0.16."""
    coffee = uc.decode_image((SAMPLES / "coffee.png").read_bytes(), "coffee.png")
    pred = uc.predict(lite0.model, lite0.input(coffee.image), lite0.class_names)
    assert pred.top[0].label == "espresso" and pred.top[0].prob == pytest.approx(0.96, abs=0.01)
    assert pred.ms > 0 and pred.device == "cpu" and len(pred.top) == 5
    chelsea = uc.decode_image((SAMPLES / "chelsea.png").read_bytes(), "chelsea.png")
    pred = uc.predict(lite0.model, lite0.input(chelsea.image), lite0.class_names)
    got = {t.label: t.prob for t in pred.top[:3]}
    assert got == pytest.approx({"tiger cat": 0.38, "Egyptian cat": 0.37, "tabby": 0.16}, abs=0.01)


def test_preprocessing_of_the_sample(lite0):
    """The model's input is the bilinear 256 resize + centre 224 crop of the photo, (x-127)/128."""
    img = Image.open(SAMPLES / "coffee.png").convert("RGB")  # 600 x 400
    x = lite0.input(img)
    assert x.shape == (1, 3, 224, 224)
    small = img.resize((384, 256), Image.BILINEAR).crop((80, 16, 304, 240))
    expected = (np.asarray(small, dtype=np.float32) - 127) / 128
    assert np.abs(x[0].permute(1, 2, 0).numpy() - expected).max() < 1e-5
    assert lite0.norm.scale == pytest.approx((1 / 128,) * 3, rel=1e-5)
    assert (lite0.norm.to_pixels(x) == np.asarray(small)).mean() > 0.99


def test_gradcam_looks_at_the_cup(lite0):
    coffee = uc.decode_image((SAMPLES / "coffee.png").read_bytes(), "coffee.png")
    x = lite0.input(coffee.image)
    heat = uc.gradcam(lite0.model, x, 967, lite0.model.get_submodule(lite0.cam_layer))
    assert heat.shape == (224, 224) and heat.min() >= 0 and heat.max() == pytest.approx(1)
    # the cup fills the middle of the crop: the map is hotter there than along the border
    centre = heat[56:168, 56:168].mean()
    border = np.concatenate([heat[:20].ravel(), heat[-20:].ravel(), heat[:, :20].ravel(), heat[:, -20:].ravel()])
    assert centre > 1.5 * border.mean()


def captum_gradcam(model, x, target, layer) -> np.ndarray:
    """The reference: captum's LayerGradCam, upsampled the same way (one thread at a time)."""
    from captum.attr import LayerAttribution, LayerGradCam

    with torch.enable_grad():
        cam = LayerGradCam(model, layer).attribute(x.detach(), target=int(target), relu_attributions=True)
    cam = LayerAttribution.interpolate(cam.detach(), tuple(x.shape[-2:]), interpolate_mode="bilinear")
    a = cam[0, 0].numpy()
    a = a - a.min()
    return a / a.max()


def test_gradcam_equals_captums(lite0):
    layer = lite0.model.get_submodule(lite0.cam_layer)
    for name, target in (("coffee.png", 967), ("chelsea.png", 282), ("chelsea.png", 285)):
        x = lite0.input(uc.decode_image((SAMPLES / name).read_bytes(), name).image)
        assert np.abs(uc.gradcam(lite0.model, x, target, layer) - captum_gradcam(lite0.model, x, target, layer)).max() < 1e-4


def test_gradcam_ignores_other_threads_forwards_of_the_shared_model(lite0):
    """A prediction (another session, another photo) runs through the shared model while a
    Grad-CAM's forward is half-way: deterministic, by a hook on the first stage that starts the
    other forward and waits for it. The Grad-CAM must be the one of its own image; with a hook
    that keeps the last forward's output (captum's) it is the other photo's map, or an error."""
    layer = lite0.model.get_submodule(lite0.cam_layer)
    first = next(iter(lite0.model.children()))
    coffee = lite0.input(uc.decode_image((SAMPLES / "coffee.png").read_bytes(), "coffee.png").image)
    chelsea = lite0.input(uc.decode_image((SAMPLES / "chelsea.png").read_bytes(), "chelsea.png").image)
    alone = uc.gradcam(lite0.model, coffee, 967, layer)
    gradcam_thread = threading.get_ident()
    other: dict = {}

    def interleave(module, inputs, output):
        if threading.get_ident() == gradcam_thread and "pred" not in other:
            t = threading.Thread(target=lambda: other.update(
                pred=uc.predict(lite0.model, chelsea, lite0.class_names)))
            t.start()
            t.join()

    handle = first.register_forward_hook(interleave)
    try:
        heat = uc.gradcam(lite0.model, coffee, 967, layer)
    finally:
        handle.remove()
    assert other["pred"].top[0].label in ("tiger cat", "Egyptian cat", "tabby")  # the other forward ran
    assert np.abs(heat - alone).max() < 1e-5


def test_two_threads_compute_gradcams_on_one_shared_classifier_at_once(lite0):
    """Two sessions' attributions at the same time on the one shared model (the classify page and a
    live stream, or two students): no error, and each map equals the one computed alone."""
    from concurrent.futures import ThreadPoolExecutor

    layer = lite0.model.get_submodule(lite0.cam_layer)
    images = {n: lite0.input(uc.decode_image((SAMPLES / n).read_bytes(), n).image)
              for n in ("coffee.png", "chelsea.png")}
    jobs = [("coffee.png", 967), ("chelsea.png", 282)] * 4
    alone = {job: uc.gradcam(lite0.model, images[job[0]], job[1], layer) for job in set(jobs)}
    both = threading.Barrier(2)

    def run(job):
        both.wait()                              # both threads enter the model together
        return job, uc.gradcam(lite0.model, images[job[0]], job[1], layer)

    with ThreadPoolExecutor(2) as pool:
        for first in range(0, len(jobs), 2):
            for job, heat in pool.map(run, jobs[first:first + 2]):
                assert np.abs(heat - alone[job]).max() < 1e-5, job


@pytest.mark.parametrize("method", ["ig", "occlusion"])
def test_other_explanations_have_the_input_shape(lite0, method):
    img = Image.open(SAMPLES / "coffee.png").convert("RGB")
    x = lite0.input(img)
    base = lite0.norm.black()
    if method == "ig":
        heat = uc.integrated_gradients(lite0.model, x, 967, base, steps=8, batch=4)
    else:
        heat = uc.occlusion(lite0.model, x, 967, base, window=56, stride=56)
    assert heat.shape == (224, 224) and np.isfinite(heat).all() and heat.max() == pytest.approx(1)


# --- download progress ---------------------------------------------------------------------------

def test_weights_url_only_for_torchvision_twins():
    assert uc.weights_url("resnet18") == "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    assert uc.weights_url("efficientnet_lite0") is None  # bundled, not downloaded
    assert uc.weights_url("resnet50_paper") is None  # no torchvision twin


def test_partial_bytes_counts_only_new_files(tmp_path):
    (tmp_path / "old.pth").write_bytes(b"x" * 10)
    before = {p.name for p in tmp_path.iterdir()}
    (tmp_path / "resnet18-f37072fd.pth.1a2b.partial").write_bytes(b"y" * 1234)
    assert uc.partial_bytes(tmp_path, before) == 1234
    assert uc.partial_bytes(tmp_path / "missing", set()) == 0


def test_progress_text():
    assert uc.progress_text(5_000_000, 10_000_000) == (0.5, "5.0 of 10.0 MB (50 %)")
    assert uc.progress_text(2_500_000, None) == (0.0, "2.5 MB downloaded")
    assert uc.progress_text(11, 10)[0] == 1.0


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "GIF"])
def test_damaged_files_decode_or_are_refused(fmt):
    """Cut and byte-flipped versions of a valid file: a BadImage or a picture, never a crash."""
    import random

    rng = random.Random(fmt)
    data = encode(photo(120, 80), fmt)
    variants = [data[:cut] for cut in range(0, len(data), max(1, len(data) // 25))]
    for _ in range(40):
        d = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            d[rng.randrange(len(d))] = rng.randrange(256)
        variants.append(bytes(d))
    refused = 0
    for v in variants:
        try:
            assert uc.decode_image(v, "x").image.mode == "RGB"
        except uc.BadImage:
            refused += 1
    assert refused >= 20  # the truncated ones at least


def test_shared_classifiers_are_bounded(monkeypatch):
    """One instance per (model, device), and no more than MAX_SHARED of them kept: the oldest goes."""
    made = []
    monkeypatch.setattr(uc, "load_classifier", lambda name, device=None: made.append(name) or object())
    monkeypatch.setattr(uc, "_SHARED", type(uc._SHARED)())
    first = uc.shared_classifier("m0", "cpu")
    assert uc.shared_classifier("m0", "cpu") is first and made == ["m0"]
    for i in range(1, uc.MAX_SHARED + 2):
        uc.shared_classifier(f"m{i}", "cpu")
    assert len(uc._SHARED) == uc.MAX_SHARED and ("m0", "cpu") not in uc._SHARED
    uc.shared_classifier("m0", "cpu")                      # loaded again after it was dropped
    assert made.count("m0") == 2


def test_jpeg_bytes_are_the_picture():
    """The cached pictures the page serves: JPEG bytes that decode to the same picture (within
    JPEG's loss), from a PIL image or a uint8 array."""
    img = Image.open(SAMPLES / "coffee.png").convert("RGB")
    for source in (img, np.asarray(img)):
        data = uc.jpeg_bytes(source)
        assert data[:3] == b"\xff\xd8\xff"
        back = Image.open(io.BytesIO(data))
        assert back.format == "JPEG" and back.size == img.size
        assert np.abs(np.asarray(back, dtype=float) - np.asarray(img, dtype=float)).mean() < 3
