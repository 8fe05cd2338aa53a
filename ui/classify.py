"""Classify an image: decoding untrusted uploads, running a pretrained zoo model, explaining it.

Streamlit-free helpers of ``pages/classify.py`` and ``pages/live.py``. Everything here is a plain
function of images, tensors and models, so it is unit-tested without a browser.

- **Decoding** (``decode_image``): an upload is untrusted bytes. Only JPEG, PNG, WebP, BMP and GIF
  (first frame) are opened, after checking the pixel count in the header (a "decompression bomb"
  is a small file that expands to gigapixels). 16-bit, CMYK, palette/alpha images are brought to
  8-bit RGB, EXIF orientation is applied, extreme aspect ratios are trimmed to the centre the model
  looks at anyway. Every refusal is a ``BadImage`` whose message is meant for the page.
- **Prediction** (``predict``): softmax top-k with the wall time of the forward pass, on the GPU
  when torch sees one (CUDA or Apple MPS), on the CPU otherwise (``pick_device``).
- **Explanations**: Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep
  Networks via Gradient-based Localization", ICCV 2017, arXiv:1610.02391) on the output of the last
  convolutional stage: the stage's feature maps weighted by the spatially averaged gradient of the
  class score, ReLU, upsampled to the input. Integrated Gradients (Sundararajan et al. 2017,
  arXiv:1703.01365) and Occlusion (Zeiler & Fergus 2014, arXiv:1311.2901) for still images, with
  captum. Grad-CAM is written out here: its forward hook must ignore other threads' forwards of
  the shared model (``gradcam``).
- **Preprocessing, inverted** (``NormSpec``): a model's preprocessing ends in a per-channel affine
  map of the 0–255 pixels (``(x − 127) / 128`` for EfficientNet-Lite, ``(x / 255 − mean) / std``
  for torchvision weights). Probing it with a black and a white image recovers that map exactly,
  which gives the Integrated-Gradients baseline (black), the picture the model saw (for overlays)
  and the fast path of the live stream (``ui/live.py``).
"""
from __future__ import annotations

import html
import io
import threading
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn as nn
from PIL import Image, ImageOps, UnidentifiedImageError

from zoo import fmt
from zoo.evaluate import default_device as pick_device

# --- decoding uploads ---------------------------------------------------------------------------

UPLOAD_TYPES = ("jpg", "jpeg", "png", "webp", "bmp", "gif")
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF")
# Refuse anything larger before decoding: 40 MP is a 7300 × 5500 photo, 120 MB as 8-bit RGB.
MAX_PIXELS = 40_000_000
# Beyond this width:height ratio only the centre is kept (the model crops the centre square anyway).
MAX_ASPECT = 4.0
SMALL_SIDE = 32  # below this the picture has almost no content left to classify


class BadImage(ValueError):
    """An upload that cannot be classified; ``str(err)`` is the message shown in the page."""


@dataclass
class Decoded:
    image: Image.Image  # 8-bit RGB, orientation applied
    format: str  # "JPEG", "PNG", …
    original_size: tuple[int, int]  # (width, height) as stored in the file
    original_mode: str
    notes: list[str] = field(default_factory=list)  # what was done to it, for the page


def decode_image(data: bytes, name: str = "the file") -> Decoded:
    """Open untrusted bytes as an 8-bit RGB image, or raise ``BadImage`` with a clear reason."""
    if not data:
        raise BadImage(f"{name} is empty (0 bytes): there is no image to classify.")
    with warnings.catch_warnings():
        # Pillow warns above 89 MP and raises above twice that; both become our refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise BadImage(f"{name} declares a huge image (decompression bomb?): {e}") from None
        except UnidentifiedImageError:
            head = data[:12]
            raise BadImage(
                f"{name} is not a JPEG, PNG, WebP, BMP or GIF image (its first bytes are {head!r}). "
                "Renaming a file does not change its content.") from None
        except Exception as e:  # noqa: BLE001 -- a malformed header can raise almost anything
            raise BadImage(f"{name} has a damaged image header ({type(e).__name__}: {e}).") from None
        width, height = im.size
        if width * height > MAX_PIXELS:
            raise BadImage(
                f"{name} declares {width} × {height} = {width * height / 1e6:.0f} megapixels, more "
                f"than the {MAX_PIXELS / 1e6:.0f} MP this page decodes (a decompression bomb is a "
                "small file that expands to gigabytes). Downscale it first.")
        if width < 1 or height < 1:
            raise BadImage(f"{name} has no pixels ({width} × {height}).")
        decoded = Decoded(im, im.format or "?", (width, height), im.mode)
        frames = getattr(im, "n_frames", 1)
        if frames > 1:
            im.seek(0)
            decoded.notes.append(f"Animated {im.format}: the first of {frames} frames is classified.")
        try:
            im.load()
        except Exception as e:  # noqa: BLE001 -- OSError for truncation, others for bad data
            raise BadImage(f"{name} is damaged or truncated and cannot be decoded ({e}).") from None
    try:
        rgb = _to_rgb(im, decoded.notes)
    except Exception as e:  # noqa: BLE001
        raise BadImage(f"{name} uses an image mode ({im.mode}) that cannot be shown as RGB ({e}).") from None
    try:
        orientation = im.getexif().get(0x0112, 1)
        rotated = ImageOps.exif_transpose(rgb) if orientation not in (1, None) else rgb
    except Exception:  # noqa: BLE001 -- a broken EXIF block: use the pixels as stored
        orientation, rotated = 1, rgb
        decoded.notes.append("Its EXIF block is unreadable: the picture is used as stored.")
    if orientation not in (1, None):
        decoded.notes.append("Rotated upright as its EXIF orientation tag says.")
    rgb = rotated
    rgb, note = limit_aspect(rgb)
    if note:
        decoded.notes.append(note)
    if min(rgb.size) < SMALL_SIDE:
        decoded.notes.append(
            f"Very small image ({rgb.size[0]} × {rgb.size[1]}): it is enlarged to the model's input "
            "size, so there is little content for the prediction to rest on.")
    decoded.image = rgb
    return decoded


def _to_rgb(im: Image.Image, notes: list[str]) -> Image.Image:
    """8-bit RGB from any mode Pillow opens: 16-bit, float, CMYK, palette, alpha, 1-bit."""
    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        a = np.asarray(im).astype(np.float64)
        hi = float(a.max()) if a.size else 0.0
        if mode == "F" or hi > 255:
            lo = 0.0 if mode != "F" else float(a.min())
            top = 65535.0 if mode.startswith("I;16") else max(hi, 1.0)
            a = (a - lo) / max(top - lo, 1e-12) * 255.0
        notes.append(f"{'16-bit' if mode.startswith('I;16') else mode + '-mode'} image scaled to 8 bits.")
        return Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8), "L").convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        notes.append("Transparent pixels are shown on white.")
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode == "CMYK":
        notes.append("CMYK image converted to RGB.")
    return im.convert("RGB")


def limit_aspect(img: Image.Image, max_aspect: float = MAX_ASPECT) -> tuple[Image.Image, str]:
    """Trim an extremely elongated image to its centre (``max_aspect``:1), and say so.

    The models classify the centre square of the short side, so trimming the long side to a few
    times the short one changes nothing the model sees, and keeps a 20000 × 20 strip from
    becoming a 256000 × 256 resize.
    """
    w, h = img.size
    short, long_ = min(w, h), max(w, h)
    if long_ <= max_aspect * short:
        return img, ""
    keep = max(1, int(round(max_aspect * short)))
    if w > h:
        left = (w - keep) // 2
        box = (left, 0, left + keep, h)
    else:
        top = (h - keep) // 2
        box = (0, top, w, top + keep)
    note = (f"Very elongated image ({w} × {h}): only its centre {box[2] - box[0]} × {box[3] - box[1]} "
            "is used (the model looks at the centre square anyway).")
    return img.crop(box), note


# --- devices ------------------------------------------------------------------------------------

# pick_device (imported above): CUDA when torch sees a GPU, Apple's MPS on a Mac, the CPU
# otherwise; zoo.evaluate's rule, so the page and `python -m zoo evaluate` pick the same device.


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"GPU (CUDA: {torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "GPU (Apple MPS)"
    n = torch.get_num_threads()   # this thread's count (torch keeps one per thread; see ui.state.serve_threads)
    return f"CPU ({n} thread{'s' if n != 1 else ''}; torch sees no GPU)"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


# --- the normalisation a model's preprocessing applies ----------------------------------------

@dataclass(frozen=True)
class NormSpec:
    """Per-channel affine map from 0–255 pixels to the model's input: ``x = scale * p + shift``."""

    scale: tuple[float, float, float]
    shift: tuple[float, float, float]
    size: tuple[int, int]  # (height, width) of the model input the preprocessing produces

    @classmethod
    def probe(cls, preprocess: Callable[[Image.Image], torch.Tensor]) -> "NormSpec":
        black = preprocess(Image.new("RGB", (320, 320), (0, 0, 0)))
        white = preprocess(Image.new("RGB", (320, 320), (255, 255, 255)))
        b = black[0].mean(dim=(1, 2))
        w = white[0].mean(dim=(1, 2))
        scale = tuple(float(v) for v in (w - b) / 255.0)
        if any(abs(s) < 1e-9 for s in scale):
            raise ValueError("preprocessing maps black and white to the same input")
        return cls(scale, tuple(float(v) for v in b), (int(black.shape[-2]), int(black.shape[-1])))

    def tensors(self, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        s = torch.tensor(self.scale, device=device).view(1, 3, 1, 1)
        t = torch.tensor(self.shift, device=device).view(1, 3, 1, 1)
        return s, t

    def to_pixels(self, x: torch.Tensor) -> np.ndarray:
        """(1, 3, H, W) model input -> (H, W, 3) uint8: the picture the model saw."""
        s, t = self.tensors(x.device)
        p = ((x.detach() - t) / s)[0].permute(1, 2, 0)
        return p.clamp(0, 255).round().to(torch.uint8).cpu().numpy()

    def black(self, device=None) -> torch.Tensor:
        """The model input of an all-black image: the Integrated-Gradients baseline."""
        _, t = self.tensors(device)
        return t.expand(1, 3, *self.size).clone()


# --- prediction ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Top:
    index: int
    label: str
    prob: float


@dataclass(frozen=True)
class Prediction:
    top: list[Top]
    ms: float  # wall time of the forward pass and softmax
    device: str


def topk(probs: torch.Tensor, class_names: Sequence[str], k: int = 5) -> list[Top]:
    """The ``k`` most probable classes of a (1000,) or (1, 1000) probability vector."""
    p = probs.detach().float().reshape(-1).cpu()
    values, indices = p.topk(min(k, p.numel()))
    return [Top(int(i), class_names[int(i)], float(v)) for v, i in zip(values, indices)]


def predict(model: nn.Module, x: torch.Tensor, class_names: Sequence[str], k: int = 5,
            device: torch.device | None = None) -> Prediction:
    """Top-``k`` of ``model`` on the preprocessed batch ``x`` (1, 3, H, W), timed."""
    device = device or next(model.parameters()).device
    x = x.to(device)
    with torch.inference_mode():
        _sync(device)
        start = time.perf_counter()
        probs = model(x).softmax(dim=1)
        _sync(device)
        ms = (time.perf_counter() - start) * 1000.0
    return Prediction(topk(probs[0], class_names, k), ms, device.type)


# --- explanations -------------------------------------------------------------------------------

def last_conv_stage(model: nn.Module, size: tuple[int, int] = (224, 224)) -> tuple[str, nn.Module]:
    """The module whose output is the last spatial feature map: where Grad-CAM looks.

    Walks the top-level children in execution order (one forward on the meta device) and keeps
    the last whose output is a (B, C, H, W) map larger than 1 × 1: ``features`` for
    AlexNet/VGG/MobileNet/EfficientNet, ``layer4`` for ResNet, ``Mixed_7c`` for Inception-v3.
    """
    found: list[tuple[str, nn.Module]] = []
    hooks = []
    for name, child in model.named_children():
        def hook(mod, inp, out, name=name):
            if isinstance(out, torch.Tensor) and out.dim() == 4 and out.shape[-1] * out.shape[-2] > 1:
                found.append((name, mod))
        hooks.append(child.register_forward_hook(hook))
    try:
        device = next(model.parameters()).device
        with torch.inference_mode():
            model(torch.zeros(1, 3, *size, device=device))
    finally:
        for h in hooks:
            h.remove()
    if not found:
        raise ValueError("the model has no convolutional stage with a spatial output")
    return found[-1]


def gradcam(model: nn.Module, x: torch.Tensor, target: int, layer: nn.Module) -> np.ndarray:
    """Grad-CAM of class ``target`` at ``layer``, upsampled to the input: (H, W) in [0, 1].

    Selvaraju et al. 2017, Eq. 1–2: the layer's maps ``A`` weighted by the spatial mean of
    ``d score / d A``, summed over channels, ReLU, then bilinear upsampling (captum's
    ``LayerGradCam`` with ``relu_attributions=True`` computes the same; tests compare the two).

    Safe on a model that other threads run at the same time (one instance serves every session
    and the live streams): the forward hook that catches ``A`` keeps only the output of *this*
    thread's forward. captum's hook keeps whichever forward passed last, so two sessions at once
    could differentiate another session's activations ("The differentiated Tensor … appears to
    not have been used in the graph"), or a prediction's inference tensor.
    """
    me = threading.get_ident()
    caught: list[torch.Tensor] = []

    def keep(module, inputs, output):
        if threading.get_ident() == me and not caught and isinstance(output, torch.Tensor):
            if not output.requires_grad:  # frozen parameters: differentiate from this map on
                output.requires_grad_()
            caught.append(output)

    handle = layer.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            score = model(x.detach())[0, int(target)]
    finally:
        handle.remove()
    if not caught:
        raise ValueError("the Grad-CAM layer was not run by the model's forward pass")
    maps = caught[0]                                                    # (1, C, h, w)
    (grads,) = torch.autograd.grad(score, maps)
    weights = grads.mean(dim=(2, 3), keepdim=True)                      # (1, C, 1, 1)
    cam = torch.relu((weights * maps).sum(dim=1, keepdim=True)).detach()  # (1, 1, h, w)
    cam = torch.nn.functional.interpolate(cam, size=tuple(x.shape[-2:]), mode="bilinear")
    return _unit(cam[0, 0])


def integrated_gradients(model: nn.Module, x: torch.Tensor, target: int, baseline: torch.Tensor,
                         steps: int = 32, batch: int = 8) -> np.ndarray:
    """Integrated Gradients from ``baseline`` (a black image), summed |attribution| over channels."""
    from captum.attr import IntegratedGradients

    with torch.enable_grad():
        att = IntegratedGradients(model).attribute(
            x.detach(), baselines=baseline.to(x.device), target=int(target), n_steps=steps,
            internal_batch_size=batch)
    return _unit(att[0].abs().sum(0))


def occlusion(model: nn.Module, x: torch.Tensor, target: int, baseline: torch.Tensor,
              window: int = 32, stride: int = 16, batch: int = 16) -> np.ndarray:
    """Occlusion: how much the class score drops when a ``window``² patch turns black."""
    from captum.attr import Occlusion

    with torch.no_grad():
        att = Occlusion(model).attribute(
            x.detach(), sliding_window_shapes=(3, window, window), strides=(3, stride, stride),
            target=int(target), baselines=baseline.to(x.device), perturbations_per_eval=batch)
    return _unit(att[0].sum(0).clamp(min=0))


def _unit(t: torch.Tensor) -> np.ndarray:
    """Scale a map to [0, 1] (all zeros stay zeros)."""
    a = t.detach().float().cpu().numpy()
    a = a - a.min()
    top = a.max()
    return (a / top if top > 0 else a).astype(np.float32)


# --- drawing ------------------------------------------------------------------------------------

# The "jet" colour ramp as anchor points (blue → cyan → yellow → red), interpolated to 256 entries.
_JET_ANCHORS = np.array([
    # position, red, green, blue
    (0.00, 0.0, 0.0, 0.5),
    (0.11, 0.0, 0.0, 1.0),
    (0.36, 0.0, 1.0, 1.0),
    (0.62, 1.0, 1.0, 0.0),
    (0.89, 1.0, 0.0, 0.0),
    (1.00, 0.5, 0.0, 0.0),
])
JET = np.stack([np.interp(np.linspace(0, 1, 256), _JET_ANCHORS[:, 0], _JET_ANCHORS[:, c])
                for c in (1, 2, 3)], axis=1).__mul__(255).round().astype(np.uint8)  # (256, 3)


def colorize(heat: np.ndarray) -> np.ndarray:
    """(H, W) values in [0, 1] -> (H, W, 3) uint8 through the jet ramp."""
    idx = np.clip(heat * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return JET[idx]


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend a heat map over an (H, W, 3) uint8 picture; the heat map is resized to fit."""
    h, w = image.shape[:2]
    if heat.shape != (h, w):
        heat = np.asarray(Image.fromarray((np.clip(heat, 0, 1) * 255).astype(np.uint8)).resize(
            (w, h), Image.BILINEAR), dtype=np.float32) / 255.0
    a = int(round(np.clip(alpha, 0.0, 1.0) * 256))
    color = colorize(heat).astype(np.uint16)
    out = (image.astype(np.uint16) * (256 - a) + color * a) >> 8
    return out.astype(np.uint8)


def jpeg_bytes(image: Image.Image | np.ndarray, quality: int = 95) -> bytes:
    """A picture (PIL, or (H, W, 3) uint8) as JPEG file bytes: what ``st.image`` would encode from
    it on every call, done once so that a cached picture is served as it is."""
    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def top5_html(top: Sequence[Top], title: str = "") -> str:
    """The top-k probabilities as an HTML list of labelled bars, most probable first.

    Each row names the class, its probability (one decimal) and a bar whose length is that
    probability; the class index is the row's tooltip. Plain HTML and CSS (styled by ``ui.page``'s
    ``.atlas-top5`` rules, in rem so presentation mode enlarges it): it needs no chart library in
    the browser, which is most of what a plotly chart costs a student opening the page, and a long
    class name wraps instead of squeezing its bar."""
    rows = "".join(
        f'<li title="ImageNet class {t.index}"><div class="atlas-top5-row">'
        f'<span class="atlas-top5-name">{html.escape(t.label)}</span>'
        f'<span class="atlas-top5-pct">{fmt.percent(t.prob * 100)}</span></div>'
        f'<div class="atlas-top5-track"><div class="atlas-top5-fill" style="width: {_bar_width(t.prob)}%"></div>'
        "</div></li>"
        for t in top)
    head = f'<div class="atlas-top5-title">{html.escape(title)}</div>' if title else ""
    name = html.escape(title or f"top-{len(top)}")
    return f'<div class="atlas-top5">{head}<ol aria-label="{name} probabilities">{rows}</ol></div>'


def _bar_width(prob: float) -> str:
    """A bar's length in percent of the track, clamped to [0, 100]: a probability is never drawn
    outside its row, whatever rounding gave."""
    return f"{min(max(float(prob), 0.0), 1.0) * 100:.2f}"


def top5_figure(top: Sequence[Top], title: str = ""):
    """The top-k probabilities as a plotly figure, for a slide that is a sequence of figures (the
    lecture's handout); the pages use ``top5_html``. Each class name sits inside the plot above its
    thin bar, so a long name ("black-and-tan coonhound") never squeezes the bars away."""
    import plotly.graph_objects as go

    # each class name on its own line(s) above a thin bar: nothing to squeeze in a narrow column;
    # a name on two lines gets a taller row, so it never covers the bar above it
    names = [wrap_label(t.label) for t in top]
    ys, y = [], 0.0
    for name in reversed(names):                      # from the bottom row up
        ys.append(y)
        y += 1.0 + 0.6 * name.count("<br>")
    ys = ys[::-1]
    fig = go.Figure(go.Bar(x=[t.prob * 100 for t in top], y=ys, orientation="h",
                           width=0.32, marker_color="#0072B2", hoverinfo="text",
                           hovertext=[f"{t.label} (class {t.index}): {t.prob * 100:.1f} %" for t in top]))
    for t, name, yi in zip(top, names, ys):
        fig.add_annotation(x=0, y=yi + 0.2, text=f"{name} {t.prob * 100:.1f}\u00a0%", showarrow=False, xshift=3,
                           xanchor="left", yanchor="bottom", xref="x", yref="y", font=dict(size=14), align="left")
    fig.update_yaxes(visible=False, range=[-0.4, y - 0.1])
    fig.update_xaxes(visible=False, range=[0, 100])
    top_margin = 60 if title else 2
    fig.update_layout(height=int(52 * y) + top_margin + 4, margin=dict(l=2, r=2, t=top_margin, b=2),
                      title=title or None, bargap=0.6)
    return fig


def wrap_label(label: str, width: int = 18) -> str:
    """A long class name on two lines (plotly ``<br>``), broken at the last space or hyphen that
    keeps the first line within ``width`` characters; never cut off."""
    if len(label) <= width:
        return label
    cut = max(label.rfind(" ", 0, width + 1), label.rfind("-", 0, width + 1))
    if cut <= 0:
        return label
    keep = cut + 1 if label[cut] == "-" else cut
    return label[:keep].rstrip() + "<br>" + label[keep:].lstrip()


# --- sample photos ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    """A sample photo with what it shows about an ImageNet classifier (assets/samples/samples.csv)."""

    path: Path
    title: str
    verdict: str   # "can", "partly" or "cannot"
    expect: str    # the ImageNet classes a right answer would be, or "—"
    lesson: str
    credit: str
    licence: str

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def headline(self) -> str:
        return {"can": "The classifier can do this one", "partly": "Only approximately",
                "cannot": "The classifier cannot do this one"}[self.verdict]


def sample_catalog(folder: Path) -> list[Sample]:
    """The sample photos listed in ``folder/samples.csv`` that exist, in the file's order, then any
    other image in the folder (with no verdict: "partly" and an empty lesson)."""
    import csv

    out, seen = [], set()
    table = folder / "samples.csv"
    if table.is_file():
        with open(table, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                path = folder / row["file"]
                if path.is_file() and row.get("verdict") in ("can", "partly", "cannot"):
                    out.append(Sample(path, row["title"], row["verdict"], row["expect"], row["lesson"],
                                      row["credit"], row["licence"]))
                    seen.add(path.name)
    for path in sorted(folder.glob("*")):
        if path.suffix.lower() in (".png", ".jpg", ".jpeg") and path.name not in seen:
            out.append(Sample(path, path.stem, "partly", "—", "", "", ""))
    return out


# --- comparing models on one image ------------------------------------------------------------

def time_per_image(clf: "Classifier", budget_s: float = 2.0) -> dict | None:
    """Time of one forward pass (batch 1) of ``clf``'s model at its input size, with its spread, as
    a plain dict (``zoo.latency.Timing.to_dict``: median, IQR, min–max, repeats, threads, processor,
    load) from the one timer, ``zoo.latency.measure``; None on a GPU (timed by one synchronised pass)."""
    from zoo import latency

    if clf.device.type != "cpu":
        return None
    return latency.measure(clf.model, clf.norm.size[0], budget_s=budget_s, name=clf.name).to_dict()


def describe_time(lat: dict) -> str:
    """``"median 12.3 ms (IQR 12.1–12.6 ms, 7 repeats; min–max 11.9–13.0 ms)"`` with the conditions,
    for a help text or a caption."""
    from zoo.latency import fmt_ms

    return (f"median {fmt_ms(lat['median_ms'])} (IQR {fmt_ms(lat['q1_ms'])}–{fmt_ms(lat['q3_ms'])}, "
            f"{lat['repeats']} repeats; min–max {fmt_ms(lat['min_ms'])}–{fmt_ms(lat['max_ms'])}); batch 1, "
            f"{lat['threads']} torch thread{'s' if lat['threads'] != 1 else ''}, {lat['processor']}, 1-min load "
            f"{lat['load_1min']:.2f}; measured on this machine")


# --- which models can classify --------------------------------------------------------------------

DEFAULT_MODEL = "efficientnet_lite0"


@dataclass(frozen=True)
class ModelStatus:
    name: str
    ok: bool
    reason: str  # where the weights come from, or why they are unavailable


def model_catalog() -> list[ModelStatus]:
    """Every registered zoo model with whether its pretrained weights are usable here, and why.

    The EfficientNet-Lites whose weights ship with the requirements come first (Lite0, the
    default, leading); the others follow in the registry's order.
    """
    import zoo
    from zoo import pretrained

    out = []
    for name in zoo.list_models():
        try:
            ok, reason = pretrained.weights_status(name)
        except Exception as e:  # noqa: BLE001 -- a broken entry must not hide the others
            ok, reason = False, f"weights check failed: {e}"
        out.append(ModelStatus(name, bool(ok), str(reason)))
    out.sort(key=lambda s: (s.name not in pretrained.PACKAGED, s.name != DEFAULT_MODEL))
    return out


@dataclass
class Classifier:
    """A pretrained model with everything the pages need beside it."""

    name: str
    model: nn.Module
    preprocess: Callable[[Image.Image], torch.Tensor]
    class_names: list[str]
    device: torch.device
    norm: NormSpec
    cam_layer: str  # module name of the last convolutional stage

    def input(self, img: Image.Image) -> torch.Tensor:
        return self.preprocess(img).to(self.device)


# At most this many models stay loaded per server process (least recently used dropped first); the
# pages' own st.cache_resource entries are no more numerous, so one instance serves them all.
MAX_SHARED = 6
_SHARED: "OrderedDict[tuple[str, str], Classifier]" = OrderedDict()
_SHARED_LOCK = threading.Lock()


def shared_classifier(name: str, device: torch.device | str | None = None) -> Classifier:
    """One ``Classifier`` per (model, device) for the whole server process.

    Both pages (and every session) use the same instance, so the classify page and the live
    stream do not hold two copies of a model. Failures are not remembered: fixing the weights file
    and trying again works.
    """
    key = (name, str(torch.device(device) if device is not None else pick_device()))
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = load_classifier(name, key[1])
            while len(_SHARED) > MAX_SHARED:
                _SHARED.popitem(last=False)
        _SHARED.move_to_end(key)
        return _SHARED[key]


def load_classifier(name: str, device: torch.device | str | None = None) -> Classifier:
    """``zoo.load_pretrained(name)`` moved to ``device``, warmed up, with its normalisation probed.

    Raises ``zoo.WeightsUnavailable`` (or whatever loading a corrupt file raises) unchanged: the
    page turns it into a message.
    """
    import zoo

    device = torch.device(device) if device is not None else pick_device()
    model, preprocess, class_names = zoo.load_pretrained(name)
    model = model.eval().to(device)
    norm = NormSpec.probe(preprocess)
    cam_name, _ = last_conv_stage(model, norm.size)
    with torch.inference_mode():  # the first forward allocates and picks kernels: keep it off the clock
        model(torch.zeros(1, 3, *norm.size, device=device))
    return Classifier(name, model, preprocess, list(class_names), device, norm, cam_name)


# --- fetching torchvision weights, with progress the page can show ----------------------------

def weights_url(name: str) -> str | None:
    """Where torchvision publishes ``name``'s weights (assets/models.json), for twins only."""
    from zoo.registry import info, reference_models

    mi = info(name)
    if not mi.twin or not mi.reference:
        return None
    return reference_models().get(mi.reference, {}).get("weights_url")


def remote_size(url: str, timeout: float = 10.0) -> int | None:
    """Content-Length of ``url`` (a HEAD request), or None when offline or not given."""
    import urllib.request

    try:
        req = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "cnn-atlas"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            size = r.headers.get("Content-Length")
        return int(size) if size else None
    except Exception:  # noqa: BLE001 -- offline, proxy, no header: progress shows bytes only
        return None


def partial_bytes(directory: Path, before: set[str]) -> int:
    """Bytes written so far by a download into ``directory``: files that were not there before.

    ``torch.hub.download_url_to_file`` writes to a temporary file beside the target and renames
    it when the hash checks out, so the new files' sizes are the progress.
    """
    total = 0
    try:
        for p in directory.iterdir():
            if p.name not in before and p.is_file():
                try:
                    total += p.stat().st_size
                except OSError:  # renamed or removed while we looked
                    pass
    except FileNotFoundError:
        pass
    return total


def progress_text(done: int, total: int | None) -> tuple[float, str]:
    """(fraction for a progress bar, label) of a download."""
    mb = done / 1e6
    if not total:
        return 0.0, f"{mb:.1f} MB downloaded"
    return min(done / total, 1.0), f"{mb:.1f} of {total / 1e6:.1f} MB ({100 * min(done / total, 1):.0f} %)"
