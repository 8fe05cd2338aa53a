"""A convolutional network described as data: the design lab's spec, checked, costed and built.

Netscope (Gao 2016) let a student edit a network's description and see its cost at once; CNN
Explainer's users asked for the same with their own models. Here a network is a small JSON-able
dict, the shape of the papers' own tables (ResNet's Table 1, MobileNet v2's ``t, c, n, s``,
EfficientNet's Table 1): a stem, a list of stages (block type, output width, repeats, stride,
kernel, expansion, squeeze-excite, groups, activation), a head, and EfficientNet's global width
and depth multipliers (Tan & Le 2019, arXiv 1905.11946, §3.3).

Spec, version 1 (``templates()["resnet50"]`` is a complete example)::

    {"version": 1, "name": "my net", "base": "resnet50",   # base: the template it started from
     "resolution": 224, "in_channels": 3, "width_mult": 1.0, "depth_mult": 1.0,
     "stem": {"channels": 64, "kernel": 7, "stride": 2, "activation": "relu",
              "norm": true, "padding": "same", "pool": "max"},
     "stages": [{"block": "bottleneck", "out_channels": 256, "repeats": 3, "stride": 1,
                 "kernel": 3, "expand": 4, "se": 0.0, "groups": 1, "activation": null,
                 "shortcut": "conv"}, ...],
     "head": {"channels": 0, "activation": "relu", "pool": "avg", "classifier": "linear",
              "classes": 1000, "dropout": 0.0}}

A stage field that does not apply to its block (``kernel`` of a Fire module, ``se`` of a plain
convolution) is ``null``; an applicable one left out takes the block's default (``BLOCKS``).
Width ``w ≠ 1`` scales every width (stem, stages, head conv) to ``w·c`` rounded to a multiple of 8,
never down by more than 10 % (``efficientnet.round_channels``); at ``w = 1`` the widths are used as
written, since ShuffleNet's 116 is not a multiple of 8. Depth ``d`` makes each stage
``ceil(d·repeats)`` blocks (``efficientnet.round_repeats``).

Every block is the zoo's own module (nothing is copied): ``conv`` = ``layers.Conv2dNormActivation``
(as :class:`ConvBlock`, so the analysis counts it as a block), ``basic``/``bottleneck`` =
``resnet.BasicBlock``/``Bottleneck`` (shortcut ``conv`` = projection B, ``avg`` = ResNet-D, ``none``
= He et al.'s plain net), ``mbconv``/``fused_mbconv`` = ``efficientnet.MBConv``/``FusedMBConv``
(MobileNet v2 is MBConv without SE and with ReLU6), ``fire`` = ``squeezenet.Fire`` (squeeze to
``out / expand``, half 1×1 and half 3×3 expand; stride 2 is SqueezeNet's 3×3/2 max-pool before the
stage), ``shuffle`` = ``shufflenet.ShuffleUnit``, ``dwsep`` = ``mobilenet.DepthwiseSeparableConv``.

:func:`validate` checks a spec field by field and raises ``ValueError`` naming the stage and field;
it also computes the network's feature-map sides, parameters and MACs by arithmetic (each
convolution through ``zoo.costs.conv_cost``) and refuses more than ``MAX_MACS`` or
``MAX_PARAMS`` before anything is built. A spec is data only: it is never evaluated, executed or
unpickled. :func:`build` returns the ``nn.Module`` (it works under ``torch.device("meta")``);
:func:`plan` is the same network as constructor calls, which ``ui.design`` prints as PyTorch source.
"""
from __future__ import annotations

import copy
import functools
import math
import numbers
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from . import efficientnet, mobilenet, resnet, shufflenet, squeezenet
from .costs import conv_cost
from .layers import Conv2dNormActivation, make_divisible

__all__ = ["VERSION", "BLOCKS", "ACTIVATIONS", "MAX_MACS", "MAX_PARAMS", "validate", "cost", "plan",
           "build", "build_for_analysis", "analyze", "template", "templates", "ConvBlock", "DesignNet", "Call", "Ref"]

VERSION = 1
MAX_MACS = 2 * 10 ** 12      # 2 TMACs: about 500 ResNet-50s
MAX_PARAMS = 2 * 10 ** 9     # 2 B parameters: 8 GB of fp32 weights


# --- the spec's vocabulary ----------------------------------------------------------------------

@dataclass(frozen=True)
class BlockType:
    """What the page and the validator know about one block type."""

    label: str                # as the page's dropdown explains it
    module: str               # the zoo module that builds it
    defaults: dict = field(default_factory=dict)   # the optional stage fields it uses
    max_stride: int = 4


BLOCKS: dict[str, BlockType] = {
    "conv": BlockType("conv-BN-activation (VGG-style)", "zoo.layers.Conv2dNormActivation",
                      {"kernel": 3, "groups": 1, "activation": "relu"}),
    "basic": BlockType("ResNet basic block (two k×k convs)", "zoo.resnet.BasicBlock",
                       {"kernel": 3, "se": 0.0, "shortcut": "conv"}),
    "bottleneck": BlockType("ResNet bottleneck (1×1, k×k, 1×1)", "zoo.resnet.Bottleneck",
                            {"kernel": 3, "expand": 4, "se": 0.0, "groups": 1, "shortcut": "conv"}),
    "mbconv": BlockType("MBConv / inverted residual (MobileNet v2, EfficientNet)", "zoo.efficientnet.MBConv",
                        {"kernel": 3, "expand": 6, "se": 0.25, "activation": "silu"}, max_stride=2),
    "fused_mbconv": BlockType("Fused-MBConv (EfficientNetV2)", "zoo.efficientnet.FusedMBConv",
                              {"kernel": 3, "expand": 4, "se": 0.0, "activation": "silu"}, max_stride=2),
    "fire": BlockType("Fire module (SqueezeNet)", "zoo.squeezenet.Fire", {"expand": 8}, max_stride=2),
    "shuffle": BlockType("ShuffleNet v2 unit", "zoo.shufflenet.ShuffleUnit", {}, max_stride=2),
    "dwsep": BlockType("depthwise-separable conv (MobileNet v1)", "zoo.mobilenet.DepthwiseSeparableConv",
                       {"kernel": 3, "activation": "relu6"}),
}
ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "silu": nn.SiLU, "hardswish": nn.Hardswish}
SHORTCUTS = ("conv", "avg", "none")   # projection B, ResNet-D's average pool + 1×1, no shortcut
STEM_POOLS = ("max", "max_ceil", "none")   # 3×3/2 pad 1 (ResNet); 3×3/2 ceil mode (SqueezeNet)
PADDINGS = ("same", "valid")
HEAD_POOLS = ("avg", "max")
CLASSIFIERS = ("linear", "conv")   # pool → dropout → FC; or dropout → 1×1 conv → ReLU → pool (SqueezeNet)

REQUIRED = ("block", "out_channels", "repeats", "stride")
OPTIONAL = ("kernel", "expand", "se", "groups", "activation", "shortcut")
STAGE_FIELDS = REQUIRED + OPTIONAL
STEM_FIELDS = ("channels", "kernel", "stride", "activation", "norm", "padding", "pool")
HEAD_FIELDS = ("channels", "activation", "pool", "classifier", "classes", "dropout")
TOP_FIELDS = ("version", "name", "base", "resolution", "in_channels", "width_mult", "depth_mult",
              "stem", "stages", "head")

# bounds on what a laptop analyses (and a student means); caps on the total come on top
BOUNDS = {
    "resolution": (16, 2048), "in_channels": (1, 64), "width_mult": (0.25, 8.0),
    "depth_mult": (0.25, 8.0), "channels": (1, 8192), "out_channels": (1, 8192),
    "repeats": (1, 100), "stride": (1, 4), "kernel": (1, 11), "expand": (1, 32), "se": (0.0, 1.0),
    "groups": (1, 8192), "classes": (1, 100_000), "dropout": (0.0, 0.99), "head channels": (0, 8192),
}
MAX_STAGES = 12
MAX_BLOCKS = 500        # after the depth multiplier (ResNet-RS-420 has 139)
MAX_NAME = 60


# --- checking ---------------------------------------------------------------------------------

def _where(stage: int | None, block: str | None = None) -> str:
    if stage is None:
        return ""
    return f"stage {stage}" + (f" ({block})" if block else "")


def _fail(where: str, text: str):
    raise ValueError(f"{where}: {text}" if where else text)


def _number(where: str, name: str, v, *, integer: bool, lo, hi):
    """``v`` as an int (or float) within ``[lo, hi]``, else ValueError naming where and the field."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        _fail(where, f"'{name}' must be a number, got {v!r}")
    if not math.isfinite(v):
        _fail(where, f"'{name}' must be a finite number, got {v!r}")
    if integer:
        if v != int(v):
            _fail(where, f"'{name}' must be a whole number, got {v!r}")
        v = int(v)
    else:
        v = float(v)
    if not lo <= v <= hi:
        what = "must be positive" if v <= 0 < lo else f"must lie between {lo:g} and {hi:g}"
        _fail(where, f"'{name}' {what}, got {v:g}")
    return v


def _choice(where: str, name: str, v, options) -> str:
    if v not in options:
        _fail(where, f"unknown {name} {v!r}; use one of {', '.join(options)}")
    return v


def _section(where: str, d, fields: tuple[str, ...]) -> dict:
    if not isinstance(d, dict):
        _fail(where, f"must be an object with fields {', '.join(fields)}, got {type(d).__name__}")
    extra = [k for k in d if k not in fields]
    if extra:
        _fail(where, f"unknown field {extra[0]!r}; the fields are {', '.join(fields)}")
    missing = [k for k in fields if k not in d]
    if missing:
        _fail(where, f"missing field {missing[0]!r}")
    return d


def _kernel(where: str, v) -> int:
    k = _number(where, "kernel", v, integer=True, lo=1, hi=BOUNDS["kernel"][1])
    if k % 2 == 0:
        _fail(where, f"'kernel' must be odd (1, 3, 5 …) so that padding keeps the map centred, got {k}")
    return k


def _stage(i: int, st) -> dict:
    """One stage checked on its own: fields, types, bounds, applicability; defaults filled."""
    where = _where(i)
    if not isinstance(st, dict):
        _fail(where, f"must be an object with fields {', '.join(STAGE_FIELDS)}")
    extra = [k for k in st if k not in STAGE_FIELDS]
    if extra:
        _fail(where, f"unknown field {extra[0]!r}; the fields are {', '.join(STAGE_FIELDS)}")
    for k in REQUIRED:
        if st.get(k) is None:
            _fail(where, f"missing field {k!r}")
    block = st["block"]
    if block not in BLOCKS:
        _fail(where, f"unknown block {block!r}; use one of {', '.join(BLOCKS)}")
    bt = BLOCKS[block]
    where = _where(i, block)
    out = {"block": block}
    out["out_channels"] = _number(where, "out_channels", st["out_channels"], integer=True, lo=1,
                                  hi=BOUNDS["out_channels"][1])
    out["repeats"] = _number(where, "repeats", st["repeats"], integer=True, lo=1, hi=BOUNDS["repeats"][1])
    out["stride"] = _number(where, "stride", st["stride"], integer=True, lo=1, hi=bt.max_stride)
    for k in OPTIONAL:
        v = st.get(k)
        if k not in bt.defaults:
            if v is not None:
                _fail(where, f"'{k}' does not apply to a {block} block; leave it empty")
            out[k] = None
            continue
        v = bt.defaults[k] if v is None else v
        if k == "kernel":
            out[k] = _kernel(where, v)
        elif k == "activation":
            out[k] = _choice(where, "activation", v, tuple(ACTIVATIONS))
        elif k == "shortcut":
            out[k] = _choice(where, "shortcut", v, SHORTCUTS)
        elif k == "se":
            out[k] = _number(where, "se", v, integer=False, lo=0.0, hi=BOUNDS["se"][1])
        else:
            out[k] = _number(where, k, v, integer=True, lo=1, hi=BOUNDS[k][1])
    return out


def _top(spec) -> dict:
    if not isinstance(spec, dict):
        _fail("", f"a design is a JSON object, got {type(spec).__name__}")
    extra = [k for k in spec if k not in TOP_FIELDS]
    if extra:
        _fail("", f"unknown field {extra[0]!r}; the fields are {', '.join(TOP_FIELDS)}")
    version = spec.get("version", VERSION)
    if version != VERSION:
        _fail("version", f"this is design format {version!r}; CNN Atlas reads version {VERSION}")
    for k in ("resolution", "stem", "stages", "head"):
        if k not in spec:
            _fail("", f"missing field {k!r}")
    name = spec.get("name") or "design"
    if not isinstance(name, str) or len(name) > MAX_NAME:
        _fail("name", f"must be a text of at most {MAX_NAME} characters")
    base = spec.get("base")
    if base is not None and base not in TEMPLATE_NAMES:
        _fail("base", f"unknown template {base!r}")
    out = {"version": VERSION, "name": name, "base": base}
    out["resolution"] = _number("resolution", "resolution", spec["resolution"], integer=True,
                                lo=BOUNDS["resolution"][0], hi=BOUNDS["resolution"][1])
    out["in_channels"] = _number("input", "in_channels", spec.get("in_channels", 3), integer=True,
                                 lo=1, hi=BOUNDS["in_channels"][1])
    for k in ("width_mult", "depth_mult"):
        out[k] = _number(k.replace("_mult", " multiplier"), k, spec.get(k, 1.0), integer=False, lo=BOUNDS[k][0],
                         hi=BOUNDS[k][1])
    stem = _section("stem", spec["stem"], STEM_FIELDS)
    out["stem"] = {
        "channels": _number("stem", "channels", stem["channels"], integer=True, lo=1, hi=1024),
        "kernel": _kernel("stem", stem["kernel"]),
        "stride": _number("stem", "stride", stem["stride"], integer=True, lo=1, hi=4),
        "activation": _choice("stem", "activation", stem["activation"], tuple(ACTIVATIONS)),
        "norm": stem["norm"] if isinstance(stem["norm"], bool) else _fail("stem", "'norm' must be true or false"),
        "padding": _choice("stem", "padding", stem["padding"], PADDINGS),
        "pool": _choice("stem", "pool", stem["pool"], STEM_POOLS),
    }
    stages = spec["stages"]
    if not isinstance(stages, list) or not stages:
        _fail("stages", "must be a list of at least one stage")
    if len(stages) > MAX_STAGES:
        _fail("stages", f"at most {MAX_STAGES} stages, got {len(stages)}")
    out["stages"] = [_stage(i, st) for i, st in enumerate(stages, 1)]
    head = _section("head", spec["head"], HEAD_FIELDS)
    out["head"] = {
        "channels": _number("head", "channels", head["channels"] or 0, integer=True, lo=0,
                            hi=BOUNDS["head channels"][1]),
        "activation": _choice("head", "activation", head["activation"], tuple(ACTIVATIONS)),
        "pool": _choice("head", "pool", head["pool"], HEAD_POOLS),
        "classifier": _choice("head", "classifier", head["classifier"], CLASSIFIERS),
        "classes": _number("head", "classes", head["classes"], integer=True, lo=1, hi=BOUNDS["classes"][1]),
        "dropout": _number("head", "dropout", head["dropout"], integer=False, lo=0.0, hi=BOUNDS["dropout"][1]),
    }
    return out


# --- widths, sides and cost by arithmetic --------------------------------------------------------

def width(c: int, width_mult: float) -> int:
    """A width after the multiplier: as written at 1.0, else EfficientNet's rounding to 8."""
    return c if width_mult == 1.0 else efficientnet.round_channels(c, width_mult)


def depth(n: int, depth_mult: float) -> int:
    return efficientnet.round_repeats(n, depth_mult)


def pool_side(h: int, kernel: int, stride: int, padding: int = 0, ceil: bool = False) -> int:
    """Output side of a pooling window (PyTorch's rule: in ceil mode the last window must start
    inside the input or its left padding)."""
    span = h + 2 * padding - kernel
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= h + padding:
        out -= 1
    return out


@functools.lru_cache(maxsize=4096)
def _conv(h: int, c_in: int, c_out: int, k: int, s: int, pad: int, g: int, bias: bool) -> tuple[int, int, int]:
    """(parameters, MACs, output side) of one convolution on an h×h map, by ``zoo.costs.conv_cost``.
    Cached: a ResNet-152 repeats a few dozen distinct convolutions 500 times, and each edit of a
    design re-checks all of them (``validate`` runs on every edit and every link made)."""
    r = conv_cost(h, h, c_in, c_out, k, s, pad, g, bias)
    return r["params"], r["macs"], r["out_h"]


@dataclass
class _Tally:
    params: int = 0
    macs: int = 0

    def conv(self, h: int, c_in: int, c_out: int, k: int = 1, s: int = 1, g: int = 1,
             bias: bool = False, bn: bool = True, pad: int | None = None) -> int:
        """Add one convolution (+ its batch norm) on an h×h map; returns the output side."""
        params, macs, out_h = _conv(h, c_in, c_out, k, s, k // 2 if pad is None else pad, g, bias)
        self.params += params + (2 * c_out if bn else 0)
        self.macs += macs
        return out_h

    def se(self, c: int, squeeze: int) -> None:
        self.conv(1, c, squeeze, bias=True, bn=False)
        self.conv(1, squeeze, c, bias=True, bn=False)


def _block_cost(t: _Tally, st: dict, c_in: int, out: int, stride: int, h: int) -> int:
    """Parameters and MACs of one block added to ``t``; returns the output side."""
    b, k = st["block"], st["kernel"]
    if b == "conv":
        return t.conv(h, c_in, out, k, stride, st["groups"])
    if b in ("basic", "bottleneck"):
        if b == "basic":
            h2 = t.conv(h, c_in, out, k, stride)
            t.conv(h2, out, out, k)
        else:
            mid = out // st["expand"]
            t.conv(h, c_in, mid)
            h2 = t.conv(h, mid, mid, k, stride, st["groups"])
            t.conv(h2, mid, out)
        if st["se"]:
            t.se(out, resnet.se_channels(out, st["se"]))
        if st["shortcut"] != "none" and (stride != 1 or c_in != out):
            if st["shortcut"] == "conv":
                t.conv(h, c_in, out, 1, stride)
            else:
                t.conv(pool_side(h, 2, stride, ceil=True) if stride > 1 else h, c_in, out)
        return h2
    if b in ("mbconv", "fused_mbconv"):
        e = make_divisible(c_in * st["expand"], 8)
        squeeze = max(1, int(c_in * st["se"]))
        if b == "mbconv":
            if e != c_in:
                t.conv(h, c_in, e)
            h2 = t.conv(h, e, e, k, stride, e)
            if st["se"]:
                t.se(e, squeeze)
            t.conv(h2, e, out)
        elif e != c_in:
            h2 = t.conv(h, c_in, e, k, stride)
            if st["se"]:
                t.se(e, squeeze)
            t.conv(h2, e, out)
        else:
            h2 = t.conv(h, c_in, out, k, stride)
        return h2
    if b == "fire":
        s = out // st["expand"]
        t.conv(h, c_in, s, bias=True, bn=False)
        t.conv(h, s, out // 2, bias=True, bn=False)
        t.conv(h, s, out // 2, 3, bias=True, bn=False)
        return h
    if b == "shuffle":
        half, c2 = out // 2, out // 2   # stride 1: branch2 transforms one half of the input
        if stride > 1:                  # stride 2: branch1 (depthwise /2, 1×1) and branch2 read it all
            h2 = t.conv(h, c_in, c_in, 3, stride, c_in)
            t.conv(h2, c_in, half)
            c2 = c_in
        t.conv(h, c2, half)
        h2 = t.conv(h, half, half, 3, stride, half)
        t.conv(h2, half, half)
        return h2
    if b == "dwsep":
        h2 = t.conv(h, c_in, c_in, k, stride, c_in)
        t.conv(h2, c_in, out)
        return h2
    raise AssertionError(b)


def _check_stage(i: int, st: dict, c_in: int, out: int, h: int) -> None:
    """Shape rules of a stage's blocks at their scaled widths (named by stage and field)."""
    where, b = _where(i, st["block"]), st["block"]
    if st["stride"] > 1 and h == 1:
        _fail(where, f"'stride' {st['stride']} on a 1×1 feature map: the map would shrink below "
                     f"1 pixel at this stage (raise the resolution or remove a stride)")
    if b == "conv":
        g = st["groups"]
        if c_in % g or out % g:
            _fail(where, f"'groups' {g} must divide the input width {c_in} and the output width {out}")
    elif b == "bottleneck":
        if out % st["expand"]:
            _fail(where, f"'out_channels' {out} is not a multiple of 'expand' {st['expand']} "
                         "(the bottleneck's inner width is out_channels / expand)")
        mid = out // st["expand"]
        if mid % st["groups"]:
            _fail(where, f"'groups' {st['groups']} must divide the inner width {mid} (out_channels / expand)")
    elif b == "fire":
        if out % 2 or out // st["expand"] < 1:
            _fail(where, f"'out_channels' {out} must be even (half 1×1, half 3×3 filters) and at "
                         f"least 'expand' {st['expand']} (the squeeze width is out_channels / expand)")
    elif b == "shuffle":
        if out % 2:
            _fail(where, f"'out_channels' {out} must be even: the unit concatenates two halves")
        if st["stride"] == 1 and c_in != out:
            _fail(where, f"a stride-1 shuffle stage keeps its width: 'out_channels' {out} must equal "
                         f"its input width {c_in} (or make 'stride' 2, which may change it)")
    if b in ("basic", "bottleneck") and st["shortcut"] == "avg" and st["stride"] > 2:
        _fail(where, "'shortcut' avg (ResNet-D) pools 2×2 windows: use a stride of 1 or 2")


def _walk(c: dict):
    """Check shapes and tally cost stage by stage; returns (tally, sides, widths)."""
    t = _Tally()
    w, d = c["width_mult"], c["depth_mult"]
    stem = c["stem"]
    h = c["resolution"]
    ch = width(stem["channels"], w)
    pad = None if stem["padding"] == "same" else 0
    if stem["padding"] == "valid" and stem["kernel"] > h:
        _fail("stem", f"a {stem['kernel']}×{stem['kernel']} kernel without padding does not fit the "
                      f"{h}-pixel input")
    h = t.conv(h, c["in_channels"], ch, stem["kernel"], stem["stride"], bias=not stem["norm"],
               bn=stem["norm"], pad=pad)
    if stem["pool"] != "none":
        h2 = pool_side(h, 3, 2, 1 if stem["pool"] == "max" else 0, ceil=stem["pool"] == "max_ceil")
        if h2 < 1:
            _fail("stem", f"'pool' on a {h}-pixel map: the map would shrink below 1 pixel")
        h = h2
    sides, widths = [h], [ch]
    blocks = 0
    for i, st in enumerate(c["stages"], 1):
        out = width(st["out_channels"], w)
        n = depth(st["repeats"], d)
        blocks += n
        if blocks > MAX_BLOCKS:
            _fail(_where(i, st["block"]), f"more than {MAX_BLOCKS} blocks in all (after the depth "
                                           f"multiplier): too deep to analyse here")
        _check_stage(i, st, ch, out, h)
        for j in range(n):
            stride = st["stride"] if j == 0 else 1
            if st["block"] == "fire" and stride > 1:
                h2 = pool_side(h, 3, 2, ceil=True)
                if h2 < 1:
                    _fail(_where(i, "fire"), f"the 3×3/2 pool on a {h}-pixel map would shrink it below 1 pixel")
                h, stride = h2, 1
            h = _block_cost(t, st, ch, out, stride, h)
            ch = out
        sides.append(h)
        widths.append(ch)
    head = c["head"]
    hc = width(head["channels"], w) if head["channels"] else 0
    if hc:
        t.conv(h, ch, hc)
        ch = hc
    if head["classifier"] == "linear":
        t.params += ch * head["classes"] + head["classes"]
        t.macs += ch * head["classes"]
    else:
        t.conv(h, ch, head["classes"], bias=True, bn=False)
    for what, total, cap, unit in (("MACs", t.macs, MAX_MACS, "2 TMACs"),
                                   ("parameters", t.params, MAX_PARAMS, "2 B parameters")):
        if total > cap:
            _fail("", f"the design has {total:.3g} {what}, above the cap of {unit}: "
                      "make it narrower, shallower or the input smaller")
    return t, sides, widths


def validate(spec) -> dict:
    """The canonical form of ``spec`` (defaults filled, types exact), or ``ValueError`` naming the
    stage and field of the first problem. Nothing is built: the cost caps are checked by arithmetic."""
    c = _top(spec)
    _walk(c)
    return c


def cost(spec) -> dict:
    """Parameters, MACs, and each stage's output side and width, by arithmetic (no model built).

    ``sides[0]``/``widths[0]`` are the stem's output; then one entry per stage. The page's numbers
    come from ``zoo.analyze`` of the built network; tests hold the two equal.
    """
    c = _top(spec)
    t, sides, widths = _walk(c)
    return {"params": t.params, "macs": t.macs, "sides": sides, "widths": widths}


# --- the network as constructor calls ------------------------------------------------------------

@dataclass(frozen=True)
class Ref:
    """A class passed without being called (``nn.ReLU`` as an activation)."""

    name: str


@dataclass(frozen=True)
class Call:
    """One constructor call, ``fn(*args, **dict(kwargs))``; arguments may be Calls or Refs."""

    fn: str
    args: tuple = ()
    kwargs: tuple = ()   # (name, value) pairs, in order


class ConvBlock(Conv2dNormActivation):
    """``Conv2dNormActivation`` counted as a block: a stage of plain convolutions (VGG's groups)
    then shows in the block diagram like any other."""

    is_block = True


class DesignNet(nn.Module):
    """stem → stage1 … stageN → [1×1 head conv] → pool → classifier, as a spec describes it."""

    def __init__(self, stem: nn.Module, stages: list[nn.Module], head: nn.Module | None,
                 pool: nn.Module | None, classifier: nn.Module):
        super().__init__()
        self.stem = stem
        for i, s in enumerate(stages, 1):
            self.add_module(f"stage{i}", s)
        self.num_stages = len(stages)
        self.head = head
        self.pool = pool   # None: the classifier pools itself (SqueezeNet's conv classifier)
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # (B, C, R, R) -> (B, c0, R/s, R/s)
        for i in range(1, self.num_stages + 1):
            x = getattr(self, f"stage{i}")(x)
        if self.head is not None:
            x = self.head(x)  # 1×1 conv to the head width
        if self.pool is None:
            return torch.flatten(self.classifier(x), 1)  # -> (B, classes)
        x = torch.flatten(self.pool(x), 1)  # -> (B, C)
        return self.classifier(x)  # -> (B, classes)


CONSTRUCTORS = {
    "nn.Sequential": nn.Sequential, "nn.MaxPool2d": nn.MaxPool2d, "nn.Conv2d": nn.Conv2d,
    "nn.Linear": nn.Linear, "nn.Dropout": nn.Dropout, "nn.ReLU": nn.ReLU,
    "nn.AdaptiveAvgPool2d": nn.AdaptiveAvgPool2d, "nn.AdaptiveMaxPool2d": nn.AdaptiveMaxPool2d,
    "Conv2dNormActivation": Conv2dNormActivation, "ConvBlock": ConvBlock,
    "BasicBlock": resnet.BasicBlock, "Bottleneck": resnet.Bottleneck, "projection": resnet.projection,
    "MBConv": efficientnet.MBConv, "FusedMBConv": efficientnet.FusedMBConv, "Fire": squeezenet.Fire,
    "ShuffleUnit": shufflenet.ShuffleUnit, "DepthwiseSeparableConv": mobilenet.DepthwiseSeparableConv,
}
REFS = {"nn.ReLU": nn.ReLU, "nn.ReLU6": nn.ReLU6, "nn.SiLU": nn.SiLU, "nn.Hardswish": nn.Hardswish,
        "nn.BatchNorm2d": nn.BatchNorm2d}
IMPORTS = {  # where generated source imports each constructor from
    "Conv2dNormActivation": "zoo.layers", "ConvBlock": "zoo.design", "BasicBlock": "zoo.resnet",
    "Bottleneck": "zoo.resnet", "projection": "zoo.resnet", "MBConv": "zoo.efficientnet",
    "FusedMBConv": "zoo.efficientnet", "Fire": "zoo.squeezenet", "ShuffleUnit": "zoo.shufflenet",
    "DepthwiseSeparableConv": "zoo.mobilenet",
}
_ACT = {"relu": "nn.ReLU", "relu6": "nn.ReLU6", "silu": "nn.SiLU", "hardswish": "nn.Hardswish"}


@dataclass
class Plan:
    """The network as calls: what :func:`build` instantiates and ``ui.design`` prints."""

    spec: dict                       # the canonical spec
    stem: Call
    stages: list[list[Call]]         # each stage's modules in order (a fire stage may open with its pool)
    head: Call | None
    pool: Call | None
    classifier: Call
    sides: list[int]                 # stem's and each stage's output side
    widths: list[int]


def _block_call(st: dict, c_in: int, out: int, stride: int) -> Call:
    b = st["block"]
    kw: list[tuple] = []
    if b == "conv":
        if st["groups"] != 1:
            kw.append(("groups", st["groups"]))
        kw.append(("activation_layer", Ref(_ACT[st["activation"]])))
        return Call("ConvBlock", (c_in, out), (("kernel_size", st["kernel"]), ("stride", stride), *kw))
    if b in ("basic", "bottleneck"):
        needs_proj = st["shortcut"] != "none" and (stride != 1 or c_in != out)
        proj = Call("projection", (c_in, out, stride, st["shortcut"])) if needs_proj else None
        planes = out if b == "basic" else out // st["expand"]
        args = (c_in, planes)
        if stride != 1:
            kw.append(("stride", stride))
        if proj:
            kw.append(("downsample", proj))
        if st["shortcut"] == "none":
            kw.append(("shortcut", False))
        if st["se"]:
            kw.append(("se_ratio", st["se"]))
        if st["kernel"] != 3:
            kw.append(("kernel", st["kernel"]))
        if b == "bottleneck":
            if st["groups"] != 1:
                kw.append(("groups", st["groups"]))
            if st["expand"] != resnet.Bottleneck.expansion:
                kw.append(("expansion", st["expand"]))
        return Call("BasicBlock" if b == "basic" else "Bottleneck", args, tuple(kw))
    if b in ("mbconv", "fused_mbconv"):
        kw = [("expand", st["expand"]), ("kernel", st["kernel"]), ("stride", stride),
              ("stochastic_depth_prob", 0.0), ("norm_layer", Ref("nn.BatchNorm2d")),
              ("activation", Ref(_ACT[st["activation"]]))]
        if b == "mbconv":
            kw.append(("se", bool(st["se"])))
            if st["se"] and st["se"] != 0.25:
                kw.append(("se_ratio", st["se"]))
        elif st["se"]:
            kw.append(("se_ratio", st["se"]))
        return Call("MBConv" if b == "mbconv" else "FusedMBConv", (c_in, out), tuple(kw))
    if b == "fire":
        return Call("Fire", (c_in, out // st["expand"], out // 2, out // 2))
    if b == "shuffle":
        return Call("ShuffleUnit", (c_in, out), (("stride", stride),))
    if b == "dwsep":
        if st["kernel"] != 3:
            kw.append(("kernel", st["kernel"]))
        if st["activation"] != "relu6":
            kw.append(("activation", Ref(_ACT[st["activation"]])))
        return Call("DepthwiseSeparableConv", (c_in, out), (("stride", stride), *kw))
    raise AssertionError(b)


def plan(spec) -> Plan:
    """Validate ``spec`` and lay the network out as constructor calls of the zoo's modules."""
    c = _top(spec)
    _, sides, widths = _walk(c)
    w, d = c["width_mult"], c["depth_mult"]
    stem = c["stem"]
    ch = width(stem["channels"], w)
    kw = [("activation_layer", Ref(_ACT[stem["activation"]]))]
    if not stem["norm"]:
        kw.append(("norm_layer", None))
    if stem["padding"] == "valid":
        kw.append(("padding", 0))
    stem_calls = [Call("Conv2dNormActivation", (c["in_channels"], ch),
                       (("kernel_size", stem["kernel"]), ("stride", stem["stride"]), *kw))]
    if stem["pool"] == "max":
        stem_calls.append(Call("nn.MaxPool2d", (3, 2, 1)))
    elif stem["pool"] == "max_ceil":
        stem_calls.append(Call("nn.MaxPool2d", (3, 2), (("ceil_mode", True),)))
    stages = []
    for st in c["stages"]:
        out = width(st["out_channels"], w)
        calls = []
        for j in range(depth(st["repeats"], d)):
            stride = st["stride"] if j == 0 else 1
            if st["block"] == "fire" and stride > 1:
                calls.append(Call("nn.MaxPool2d", (3, 2), (("ceil_mode", True),)))
                stride = 1
            calls.append(_block_call(st, ch, out, stride))
            ch = out
        stages.append(calls)
    head = c["head"]
    head_call = None
    if head["channels"]:
        hc = width(head["channels"], w)
        head_call = Call("Conv2dNormActivation", (ch, hc),
                         (("kernel_size", 1), ("activation_layer", Ref(_ACT[head["activation"]]))))
        ch = hc
    pool_cls = "nn.AdaptiveAvgPool2d" if head["pool"] == "avg" else "nn.AdaptiveMaxPool2d"
    if head["classifier"] == "linear":
        pool = Call(pool_cls, (1,))
        classifier = Call("nn.Sequential", (Call("nn.Dropout", (head["dropout"],)),
                                            Call("nn.Linear", (ch, head["classes"]))))
    else:
        pool = None
        classifier = Call("nn.Sequential", (Call("nn.Dropout", (head["dropout"],)),
                                            Call("nn.Conv2d", (ch, head["classes"], 1)),
                                            Call("nn.ReLU", (), (("inplace", True),)), Call(pool_cls, (1,))))
    return Plan(c, Call("nn.Sequential", tuple(stem_calls)), stages, head_call, pool, classifier, sides, widths)


def instantiate(x):
    """A Call made real: only the constructors in ``CONSTRUCTORS`` and classes in ``REFS``."""
    if isinstance(x, Call):
        args = [instantiate(a) for a in x.args]
        kwargs = {k: instantiate(v) for k, v in x.kwargs}
        return CONSTRUCTORS[x.fn](*args, **kwargs)
    if isinstance(x, Ref):
        return REFS[x.name]
    return x


def build(spec) -> nn.Module:
    """The network ``spec`` describes (validated first), randomly initialised by each module's own
    defaults. Under ``with torch.device("meta"):`` nothing is allocated."""
    p = plan(spec)
    stages = [nn.Sequential(*(instantiate(call) for call in calls)) for calls in p.stages]
    return DesignNet(instantiate(p.stem), stages, instantiate(p.head) if p.head else None,
                     instantiate(p.pool) if p.pool else None, instantiate(p.classifier))


# Meta-device modules for analysis, kept across designs: an edit of one stage of a ResNet-152-size
# design changes a few of its ~50 blocks, and constructing the others again (hundreds of
# nn.Module.__init__s) took as long as tracing the whole network. Key: the call's repr (so 1 and
# 1.0, True and 1 stay apart) and its occurrence in the network, so a stage of 36 equal blocks
# still holds 36 distinct modules. Shapes only, no storage; evicted oldest first.
META_BLOCKS_CACHED = 2048
_META_BLOCKS: "OrderedDict[tuple[str, int], nn.Module]" = OrderedDict()
_META_LOCK = threading.Lock()


def _meta_instance(call: Call, key: tuple[str, int]) -> nn.Module:
    """The meta module of ``call`` cached under ``key`` (its repr, its occurrence), built if new."""
    from .analysis.trace import build_meta

    with _META_LOCK:
        m = _META_BLOCKS.get(key)
        if m is not None:
            _META_BLOCKS.move_to_end(key)
            return m
    m = build_meta(instantiate, x=call)   # weight initialisation skipped: meaningless without storage
    with _META_LOCK:
        m = _META_BLOCKS.setdefault(key, m)
        while len(_META_BLOCKS) > META_BLOCKS_CACHED:
            _META_BLOCKS.popitem(last=False)
    return m


def build_for_analysis(spec) -> nn.Module:
    """``build(spec)`` on the meta device in eval mode, for ``zoo.analyze`` only: its blocks may be
    shared with networks built for analysis before (the same constructor call at the same place in
    the count), so never give it weights, train it or attach anything to it for good. Tracing it
    attaches nothing to it: the trace sees its modules through torch's global forward hooks."""
    p = plan(spec)
    seen: Counter = Counter()

    def inst(call: Call) -> nn.Module:
        r = repr(call)              # counted by the cache's own key: 1 and 1.0 are different calls there
        seen[r] += 1
        return _meta_instance(call, (r, seen[r] - 1))

    stages = [nn.Sequential(*(inst(call) for call in calls)) for calls in p.stages]
    with torch.device("meta"):
        net = DesignNet(inst(p.stem), stages, inst(p.head) if p.head else None,
                        inst(p.pool) if p.pool else None, inst(p.classifier))
    return net.train(False)   # eval mode (spelled so: this file never names eval)


def analyze(spec, resolution: int | None = None):
    """``zoo.analyze`` of the built network on the meta device (``build_for_analysis``: built as
    the zoo builds its own models there, without initialising weights), at the spec's resolution."""
    from .analysis import analyze as _analyze

    c = validate(spec)
    return _analyze(build_for_analysis(c), resolution or c["resolution"], input_channels=c["in_channels"])


# --- templates: the zoo's networks as specs --------------------------------------------------------

def _row(block: str, out: int, repeats: int, stride: int, **fields) -> dict:
    row = {"block": block, "out_channels": out, "repeats": repeats, "stride": stride}
    row.update({k: fields.get(k, BLOCKS[block].defaults.get(k)) if k in BLOCKS[block].defaults else None
                for k in OPTIONAL})
    return row


def _spec(name: str, stem: dict, stages: list[dict], head: dict, resolution: int = 224) -> dict:
    s = {"version": VERSION, "name": name, "base": name, "resolution": resolution, "in_channels": 3,
         "width_mult": 1.0, "depth_mult": 1.0,
         "stem": {"channels": 64, "kernel": 3, "stride": 2, "activation": "relu", "norm": True,
                  "padding": "same", "pool": "none", **stem},
         "stages": stages,
         "head": {"channels": 0, "activation": "relu", "pool": "avg", "classifier": "linear",
                  "classes": 1000, "dropout": 0.0, **head}}
    return s


def _resnet(name: str, depth_: int, **block) -> dict:
    """He et al. Table 1 (``resnet.STAGES``, ``resnet.DEPTHS``) as a spec."""
    kind, repeats = resnet.DEPTHS[depth_]
    e = resnet.BLOCKS[kind].expansion
    stages = [_row(kind, s.planes * e, n, s.stride, **block) for s, n in zip(resnet.STAGES, repeats)]
    return _spec(name, {"channels": 64, "kernel": 7, "pool": "max"}, stages, {})


def _mobilenet_v1() -> dict:
    """Howard et al. Table 1 (``mobilenet.MOBILENET_V1``): runs of equal rows become stages."""
    stages: list[dict] = []
    for stride, out in mobilenet.MOBILENET_V1:
        if stages and stride == 1 and stages[-1]["out_channels"] == out:
            stages[-1]["repeats"] += 1
        else:
            stages.append(_row("dwsep", out, 1, stride))
    return _spec("mobilenet_v1", {"channels": mobilenet.MOBILENET_V1_STEM, "activation": "relu6"}, stages, {})


def _mobilenet_v2() -> dict:
    """Sandler et al. Table 2 (``t, c, n, s``): MBConv without SE, with ReLU6."""
    stages = [_row("mbconv", c, n, s, expand=t, se=0.0, activation="relu6")
              for t, c, n, s in mobilenet.MOBILENET_V2]
    return _spec("mobilenet_v2", {"channels": mobilenet.MOBILENET_V2_STEM, "activation": "relu6"}, stages,
                 {"channels": mobilenet.MOBILENET_V2_LAST, "activation": "relu6", "dropout": 0.2})


def _efficientnet_b0() -> dict:
    """Tan & Le Table 1 (``efficientnet.BASELINE``): MBConv with SE 0.25 and SiLU."""
    stages = [_row("mbconv", s.out_channels, s.repeats, s.stride, expand=s.expand, kernel=s.kernel)
              for s in efficientnet.BASELINE]
    return _spec("efficientnet_b0", {"channels": efficientnet.STEM_CHANNELS, "activation": "silu"}, stages,
                 {"channels": efficientnet.HEAD_CHANNELS, "activation": "silu",
                  "dropout": efficientnet.COMPOUND["b0"][3]})


def _shufflenet(width_key: str) -> dict:
    """Ma et al. Table 5 (``shufflenet.STAGES``, ``WIDTHS``)."""
    w = shufflenet.WIDTHS[width_key]
    stages = [_row("shuffle", out, n, 2) for (_, n), out in zip(shufflenet.STAGES, w[1:-1])]
    name = f"shufflenet_v2_x{width_key.replace('.', '_')}"
    return _spec(name, {"channels": w[0], "pool": "max"}, stages, {"channels": w[-1]})


def _squeezenet(version: str) -> dict:
    """Iandola et al. Table 1 / v1.1 (``squeezenet.VERSIONS``): a pool before a run of Fire
    modules is the stage's stride 2; conv10 is the conv classifier."""
    rows = squeezenet.VERSIONS[version]
    _, c1, k1, s1 = rows[0]
    stages: list[dict] = []
    pooled = False
    stem_pool = "none"
    for row in rows[1:]:
        if row[0] == "pool":
            if stages:
                pooled = True
            else:
                stem_pool = "max_ceil"
            continue
        _, s, e1, e3 = row
        out = e1 + e3
        if stages and not pooled and stages[-1]["out_channels"] == out:
            stages[-1]["repeats"] += 1
        else:
            stages.append(_row("fire", out, 1, 2 if pooled else 1, expand=out // s))
        pooled = False
    return _spec(f"squeezenet{version}", {"channels": c1, "kernel": k1, "stride": s1, "norm": False,
                                          "padding": "valid", "pool": stem_pool},
                 stages, {"classifier": "conv", "dropout": 0.5})


_TEMPLATES = {
    "resnet18": lambda: _resnet("resnet18", 18),
    "resnet34": lambda: _resnet("resnet34", 34),
    "resnet50": lambda: _resnet("resnet50", 50),
    "resnet101": lambda: _resnet("resnet101", 101),
    "resnet152": lambda: _resnet("resnet152", 152),
    "plain18": lambda: _resnet("plain18", 18, shortcut="none"),
    "plain34": lambda: _resnet("plain34", 34, shortcut="none"),
    "seresnet50": lambda: _resnet("seresnet50", 50, se=1 / 16),
    "mobilenet_v1": _mobilenet_v1,
    "mobilenet_v2": _mobilenet_v2,
    "efficientnet_b0": _efficientnet_b0,
    **{f"shufflenet_v2_x{k.replace('.', '_')}": (lambda k=k: _shufflenet(k)) for k in shufflenet.WIDTHS},
    "squeezenet1_0": lambda: _squeezenet("1_0"),
    "squeezenet1_1": lambda: _squeezenet("1_1"),
}
TEMPLATE_NAMES = tuple(_TEMPLATES)


@functools.lru_cache(maxsize=None)
def _template(name: str) -> dict:
    return validate(_TEMPLATES[name]())


def template(name: str) -> dict:
    """One template in its canonical form, ``validate(templates()[name])``, as a fresh copy,
    without building and copying the others (the page compares each edit with its template).
    ``KeyError`` for an unknown name."""
    return copy.deepcopy(_template(name))


def templates() -> dict[str, dict]:
    """Zoo networks as specs, name -> spec (fresh copies): each builds a network whose parameters
    and MACs equal ``zoo.analyze(name)``'s exactly (tests/test_design.py)."""
    return {name: copy.deepcopy(make()) for name, make in _TEMPLATES.items()}
