"""Per-layer analysis of a network: shapes, parameters, MACs, activation memory, memory access.

The idea of Netscope (Gao, 2016: a per-layer table of a Caffe net's cost) for PyTorch models, with
the conventions stated once, here, and shown wherever a count appears:

* **MACs** are the multiply-accumulates of convolutions and matrix products (``Conv*d``, ``Linear``,
  ``matmul``), batch 1. A k×k convolution producing ``out`` elements from ``C_in / groups`` input
  channels costs ``out · (C_in / groups) · k · k`` MACs; a ``Linear`` costs ``in · out``. Bias
  additions are not counted. This is exactly PyTorch's ``FlopCounterMode`` total / 2, and what
  torchvision's ``_ops`` "GFLOPS" figure holds (despite its name, it is GMACs).
* **FLOPs = 2 × MACs** (one multiply and one add), nothing else.
* Normalisation, activations, pooling and elementwise operations (add, multiply, concatenate,
  channel shuffle) are layers of their own kinds with zero MACs: their cost shows in activation
  memory and memory access, never silently added to the MACs.
* **Activation elements / bytes**: the elements a layer writes (its output), and their bytes at the
  tensor's dtype (float32: 4). Layers that only alias their input (``Identity``, ``Dropout`` in
  eval, ``Flatten``) write nothing and count zero.
* **Memory access cost** in the sense of ShuffleNet v2 (Ma et al. 2018, arXiv 1807.11164, §2):
  elements read plus elements written, weights included. For a 1×1 convolution on an h×w map,
  ``MAC = hw·(c1 + c2) + c1·c2``. For every layer here: input elements + output elements +
  floating-point parameters and buffers it reads (a BatchNorm reads its running statistics too).

How it works: the model is built on the ``meta`` device (shapes and dtypes, no storage), put in
eval mode (auxiliary heads skipped, as the reference counts were measured) and run once on a
``(1, 3, R, R)`` meta tensor (``input_channels`` changes the 3). Forward hooks on every module give the module tree as it executes;
a ``TorchFunctionMode`` sees every torch function called, so convolutions and matrix products are
counted exactly where they happen and the functional operations written in a block's ``forward``
(``out += identity``, ``torch.cat``, the channel shuffle's view-transpose-view, ``scale * x``)
become layers of their own. No weights are allocated and no arithmetic is done, so any resolution
costs the same few milliseconds.

Each layer is named hierarchically (``layer1.0.conv1``; a functional op takes its module's name
plus the op, ``layer1.0.add``), belongs to a *block* (the nearest enclosing module the paper names:
``Bottleneck``, ``MBConv``, ``Fire``, ``InceptionA``…; a class may set ``paper_name`` to say what
the paper calls it) and to a *stage* (the top-level grouping: ``layer1`` for ResNet, ``features.3``
where one ``features`` container holds the stages, ``stem``/``head`` for what runs before the first
and after the last block).
"""
from __future__ import annotations

import contextlib
import copy
import functools
import gc
import math
import numbers
import re
import threading
from dataclasses import dataclass, field, fields
from typing import Callable

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode
from torch.utils._device import _device_constructors

__all__ = ["KINDS", "KIND_LABELS", "CONVENTIONS", "Layer", "Analysis", "analyze", "trace", "build_meta"]

KINDS = ("conv", "pointwise", "depthwise", "grouped", "linear", "se", "pool", "norm", "act",
         "add", "concat", "shuffle", "mul", "other")

KIND_LABELS = {
    "conv": "k×k convolution", "pointwise": "1×1 (pointwise) convolution",
    "depthwise": "depthwise convolution", "grouped": "grouped convolution", "linear": "linear",
    "se": "squeeze-and-excitation", "pool": "pooling", "norm": "normalisation",
    "act": "activation", "add": "elementwise add", "concat": "concatenate",
    "shuffle": "channel shuffle", "mul": "elementwise multiply", "other": "other",
}

CONVENTIONS = (
    "MACs = multiply-accumulates of convolutions and matrix products (batch 1, bias not counted); "
    "FLOPs = 2 × MACs. Normalisation, activations, pooling and elementwise ops are reported "
    "separately (0 MACs). Memory access = elements read + written, weights included "
    "(ShuffleNet v2's MAC)."
)

# --- what each torch function is ------------------------------------------------------------
# Functions are recognised by name (``torch.add``, ``Tensor.add`` and ``x + y`` all arrive as
# "add"). "view" ops only re-describe memory: they cost nothing and are not layers.
_OPS: dict[str, str] = {}
for _kind, _names in {
    "conv": "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d",
    "linear": "linear matmul __matmul__ mm bmm addmm baddbmm",
    "pool": ("max_pool1d max_pool2d max_pool3d avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d "
             "adaptive_avg_pool2d adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d "
             "adaptive_max_pool3d lp_pool2d max_pool2d_with_indices _max_pool2d mean amax"),
    "norm": "batch_norm layer_norm group_norm instance_norm local_response_norm rms_norm",
    "act": ("relu relu_ relu6 hardtanh hardtanh_ silu silu_ sigmoid sigmoid_ hardsigmoid hardswish "
            "gelu tanh tanh_ leaky_relu leaky_relu_ elu elu_ selu mish softplus prelu clamp clamp_ "
            "clip clip_ softmax log_softmax threshold"),
    "add": "add add_ __add__ __iadd__ __radd__ sub sub_ __sub__ __isub__ __rsub__ rsub",
    "mul": "mul mul_ __mul__ __imul__ __rmul__ div div_ __truediv__ __itruediv__ __rtruediv__ addcmul",
    "concat": "cat concat concatenate stack",
    "shuffle": "channel_shuffle native_channel_shuffle",
    "other": "pad dropout dropout2d alpha_dropout feature_alpha_dropout interpolate upsample",
    "view": ("view view_as reshape reshape_as flatten unflatten contiguous squeeze unsqueeze chunk "
             "split tensor_split narrow __getitem__ expand expand_as select unbind detach t "
             "transpose permute swapaxes movedim"),
}.items():
    for _n in _names.split():
        _OPS[_n] = _kind
# canonical names for functional layers: "x += y" and "x.add_(y)" are both an "add"
_CANON = {n: n.strip("_") for n in _OPS}
for _n in ("add", "sub", "mul", "matmul"):
    _CANON[f"__i{_n}__"] = _CANON[f"__r{_n}__"] = _n
_CANON.update({"__truediv__": "div", "__itruediv__": "div", "__rtruediv__": "div", "rsub": "sub"})
_TRANSPOSES = {"transpose", "permute", "swapaxes", "movedim"}
_DROPOUTS = {"dropout", "dropout2d", "alpha_dropout", "feature_alpha_dropout"}

# Order in which a leaf module's kind is decided from the ops it ran (a Conv2dSame pads, then
# convolves: it is a convolution).
_PRECEDENCE = {k: i for i, k in enumerate(
    ("conv", "pointwise", "depthwise", "grouped", "linear", "pool", "norm", "act", "shuffle",
     "concat", "add", "mul", "other"))}

# --- which modules are blocks ---------------------------------------------------------------
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
# Small units that the papers do not call blocks: conv + norm + activation bundles, heads.
_UNITS = {
    "Conv2dNormActivation", "ConvNormActivation", "BasicConv2d", "ConvBnAct", "ConvNormAct",
    "ConvBnReLU", "ConvBNReLU", "ConvBN", "ConvBn", "ConvNormLayer", "BatchNormAct2d",
    "ClassifierHead", "SelectAdaptivePool2d", "Classifier", "Head", "StochasticDepth",
}
_SE = re.compile(r"(SqueezeExcit\w*|SEModule|SEBlock|SELayer|SqueezeExcite|EffectiveSEModule|SE)$")


def is_se(module: nn.Module) -> bool:
    """A squeeze-and-excitation unit (torchvision ``SqueezeExcitation``, timm ``SEModule``…)."""
    return bool(_SE.match(type(module).__name__))


def is_block(module: nn.Module) -> bool:
    """A module the papers name as a building block (``Bottleneck``, ``MBConv``, ``Fire``…).

    Containers (``Sequential``…), leaves, squeeze-excite units and conv+norm+activation bundles
    are not blocks; a class may say so itself with a boolean ``is_block`` attribute.
    """
    cls = type(module)
    flag = getattr(cls, "is_block", None)
    if isinstance(flag, bool):
        return flag
    if isinstance(module, _CONTAINERS) or not module._modules or is_se(module):
        return False
    return cls.__name__ not in _UNITS


def block_name(module: nn.Module, root: nn.Module | None = None) -> str:
    """The paper's name for a block: its class's ``paper_name``, else the class name.

    torchvision calls both the MobileNet v2 block and the ShuffleNet v2 unit ``InvertedResidual``;
    inside a ShuffleNet the latter is reported as ``ShuffleUnit``.
    """
    cls = type(module)
    name = getattr(cls, "paper_name", None) or cls.__name__
    if name == "InvertedResidual" and root is not None and "shuffle" in type(root).__name__.lower():
        return "ShuffleUnit"
    return name


# --- the table --------------------------------------------------------------------------------

@dataclass(slots=True)
class Layer:
    """One executed layer: a leaf module call, or a functional op in a module's ``forward``."""

    index: int
    name: str                      # hierarchical: "layer1.0.conv1", "layer1.0.add"
    module: str                    # owning module's name ("" for the root)
    op: str                        # module class ("Conv2d") or function ("add")
    kind: str = "other"            # one of KINDS
    base_kind: str = ""            # the kind before "se" (a conv inside an SE unit is "pointwise")
    block: str = ""                # enclosing block's module name, else the stage
    block_type: str = ""           # the paper's name: "Bottleneck", "MBConv"…; "stem"/"head"
    stage: str = ""                # "stem", "layer1", "features.3", "head"…
    kernel: tuple | None = None    # (kH, kW) for convolutions and pools
    stride: tuple | None = None
    groups: int | None = None
    in_shape: tuple = ()           # first input
    out_shape: tuple = ()
    in_shapes: tuple = ()          # every tensor input (add, concat have several)
    params: int = 0                # parameters of the module (counted at its first call)
    macs: int = 0                  # multiply-accumulates
    flops: int = 0                 # = 2 * macs
    act_elems: int = 0             # elements written (the output)
    act_bytes: int = 0
    mem_access: int = 0            # elements read + written, weights included
    inputs: tuple = ()             # indices of the layers producing the inputs (-1: model input)

    def record(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_SUMS = ("params", "macs", "flops", "act_bytes", "mem_access")


@dataclass
class Analysis:
    """Result of :func:`analyze`: the layers in execution order, totals and rollups."""

    name: str
    resolution: int | tuple
    layers: list[Layer]
    total_params: int              # every parameter of the model (as models.json counts them)
    unused_params: int = 0         # parameters of modules not run in eval (auxiliary heads)
    input_shape: tuple = ()
    output_shape: tuple = ()
    model_type: str = ""
    module_types: dict = field(default_factory=dict, repr=False)  # module name -> class name
    block_names: tuple = ()        # the blocks that ran, in execution order
    conventions: str = CONVENTIONS

    # totals
    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def total_flops(self) -> int:
        return 2 * self.total_macs

    @property
    def total_act_elems(self) -> int:
        return sum(layer.act_elems for layer in self.layers)

    @property
    def total_act_bytes(self) -> int:
        return sum(layer.act_bytes for layer in self.layers)

    @property
    def total_mem_access(self) -> int:
        return sum(layer.mem_access for layer in self.layers)

    def totals(self) -> dict:
        return {"params": self.total_params, "macs": self.total_macs, "flops": self.total_flops,
                "act_bytes": self.total_act_bytes, "mem_access": self.total_mem_access,
                "layers": len(self.layers)}

    # rollups
    def rollup(self, key: Callable[[Layer], str]) -> list[dict]:
        """Sum the layers by ``key(layer)``, groups in order of first execution."""
        rows: dict[str, dict] = {}
        for layer in self.layers:
            g = key(layer)
            row = rows.get(g)
            if row is None:
                row = rows[g] = {"group": g, **{k: 0 for k in _SUMS}, "layers": 0}
            row["params"] += layer.params
            row["macs"] += layer.macs
            row["flops"] += layer.flops
            row["act_bytes"] += layer.act_bytes
            row["mem_access"] += layer.mem_access
            row["layers"] += 1
        return list(rows.values())

    def by_stage(self) -> list[dict]:
        return self.rollup(lambda layer: layer.stage)

    def by_block(self) -> list[dict]:
        types = {layer.block: layer.block_type for layer in self.layers}
        rows = self.rollup(lambda layer: layer.block)
        for row in rows:
            row["block_type"] = types[row["group"]]
        return rows

    def by_kind(self) -> list[dict]:
        """One row per kind that occurs, in the order of ``KINDS``."""
        rows = {row["group"]: row for row in self.rollup(lambda layer: layer.kind)}
        return [rows[k] for k in KINDS if k in rows]

    def by_depth(self, depth: int) -> list[dict]:
        """Rows for the module tree cut at ``depth`` (1: top-level modules), like torchinfo's depth.

        Each row also has ``type`` (the module class at that depth, or the op) and the input and
        output shapes of its first and last layer.
        """
        def key(layer: Layer) -> str:
            parts = layer.name.split(".")
            return ".".join(parts[:depth]) if depth > 0 else layer.name
        first: dict[str, Layer] = {}
        last: dict[str, Layer] = {}
        for layer in self.layers:
            g = key(layer)
            first.setdefault(g, layer)
            last[g] = layer
        rows = self.rollup(key)
        for row in rows:
            g = row["group"]
            leaf = first[g].name == g
            row["type"] = first[g].op if leaf else self.module_types.get(g, "")
            row["kind"] = first[g].kind if leaf and first[g] is last[g] else ""
            row["in_shape"] = first[g].in_shape
            row["out_shape"] = last[g].out_shape
        return rows

    def records(self) -> list[dict]:
        """One dict per layer, ready for ``pandas.DataFrame``."""
        return [layer.record() for layer in self.layers]

    def blocks(self) -> list[str]:
        """Module names of the blocks that ran, in execution order (layers outside any block
        have their stage as ``block``; those are not listed)."""
        return list(self.block_names)


# --- tracing ------------------------------------------------------------------------------------

def _tensors(obj) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        out = []
        for o in obj:
            out.extend(_tensors(o))
        return out
    if isinstance(obj, dict):
        return _tensors(list(obj.values()))
    return []


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _arg(args, kwargs, i, name, default=None):
    if len(args) > i:
        return args[i]
    return kwargs.get(name, default) if kwargs else default


def _conv_info(name: str, args, kwargs, out) -> tuple[str, int, tuple, tuple, int, int]:
    """(kind, macs, kernel, stride, groups, weight elements) of a convolution call."""
    x, w = args[0], _arg(args, kwargs, 1, "weight")
    b = _arg(args, kwargs, 2, "bias")
    transposed = name.startswith("conv_transpose")
    stride = _arg(args, kwargs, 3, "stride", 1)
    groups = _arg(args, kwargs, 7 if transposed else 6, "groups", 1)
    kernel = tuple(w.shape[2:])
    if transposed:  # FlopCounterMode's rule: the input's positions times every weight
        macs = x.shape[0] * math.prod(x.shape[2:]) * w.numel()
    else:           # out positions × C_out × (C_in / groups) × k × k
        macs = out.numel() * math.prod(w.shape[1:])
    if x.dim() == len(kernel) + 1:  # unbatched input
        macs = out.numel() * math.prod(w.shape[1:])
    c_in = x.shape[-len(kernel) - 1]
    if groups == 1:
        kind = "pointwise" if all(k == 1 for k in kernel) else "conv"
    elif groups == c_in:
        kind = "depthwise"
    else:
        kind = "grouped"
    stride = tuple(stride) if isinstance(stride, (tuple, list)) else (stride,) * len(kernel)
    return kind, macs, kernel, stride, groups, w.numel() + (b.numel() if b is not None else 0)


def _matmul_macs(name: str, args, kwargs, out) -> tuple[int, int]:
    """(macs, weight elements) of a linear layer or matrix product."""
    if name == "linear":
        x, w = args[0], _arg(args, kwargs, 1, "weight")
        b = _arg(args, kwargs, 2, "bias")
        return x.numel() // w.shape[-1] * w.numel(), w.numel() + (b.numel() if b is not None else 0)
    if name in ("addmm", "baddbmm"):
        a = args[1]
    else:
        a = args[0]
    return out.numel() * a.shape[-1], 0


# --- shapes without running torch's meta kernels ----------------------------------------------
# On the meta device PyTorch still runs each op's shape function, many of them in Python (batch
# norm takes ~1.6 ms per call and imports torch._dynamo on its first call). For the ops CNNs are
# made of, the output shape is a line of arithmetic, so the trace computes it here and returns an
# empty meta tensor of that shape; any other op runs normally. ``trace(..., fast=False)`` runs
# every op through PyTorch, and the tests check that both give the same layers.

def _ntuple(v, n: int) -> tuple:
    if isinstance(v, (tuple, list)):
        return tuple(v) if len(v) == n else tuple(v) * n if len(v) == 1 else tuple(v)
    return (v,) * n


def _empty(shape, like: torch.Tensor) -> torch.Tensor:
    for d in shape:
        if d < 0:
            raise RuntimeError(f"output size is too small: {tuple(shape)}")
    return torch.empty(shape, dtype=like.dtype, device=_META)


def _shape_conv(fname, args, kwargs):
    x, w = args[0], _arg(args, kwargs, 1, "weight")
    nd = w.dim() - 2
    if x.dim() not in (nd + 1, nd + 2):
        return None
    spatial = x.shape[-nd:]
    k = w.shape[2:]
    stride = _ntuple(_arg(args, kwargs, 3, "stride", 1), nd)
    if fname.startswith("conv_transpose"):
        padding = _ntuple(_arg(args, kwargs, 4, "padding", 0), nd)
        out_pad = _ntuple(_arg(args, kwargs, 5, "output_padding", 0), nd)
        groups = _arg(args, kwargs, 6, "groups", 1)
        dilation = _ntuple(_arg(args, kwargs, 7, "dilation", 1), nd)
        out = [(i - 1) * s - 2 * p + d * (kk - 1) + op + 1
               for i, s, p, d, kk, op in zip(spatial, stride, padding, dilation, k, out_pad)]
        c_out = w.shape[1] * groups
    else:
        padding = _arg(args, kwargs, 4, "padding", 0)
        dilation = _ntuple(_arg(args, kwargs, 5, "dilation", 1), nd)
        groups = _arg(args, kwargs, 6, "groups", 1)
        if x.shape[-nd - 1] != w.shape[1] * groups:
            return None  # let PyTorch raise its own message
        if isinstance(padding, str):
            if padding == "same":
                out = list(spatial)
            else:  # "valid"
                out = [i - d * (kk - 1) for i, d, kk in zip(spatial, dilation, k)]
        else:
            padding = _ntuple(padding, nd)
            out = [(i + 2 * p - d * (kk - 1) - 1) // s + 1
                   for i, s, p, d, kk in zip(spatial, stride, padding, dilation, k)]
        c_out = w.shape[0]
    if min(out) < 1:
        raise RuntimeError(f"{fname}: input {tuple(x.shape)} is too small for kernel {tuple(k)}: "
                           f"calculated output size {tuple(out)}")
    return _empty((*x.shape[:-nd - 1], c_out, *out), x)


def _pool_len(i, k, s, p, d, ceil):
    out = (i + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= i + p:
        out -= 1
    return out


def _shape_pool(fname, args, kwargs):
    x = args[0]
    nd = int(fname[-2])
    if x.dim() not in (nd + 1, nd + 2):
        return None
    k = _ntuple(_arg(args, kwargs, 1, "kernel_size"), nd)
    s = _arg(args, kwargs, 2, "stride")
    s = k if s is None or (isinstance(s, (list, tuple)) and not s) else _ntuple(s, nd)
    p = _ntuple(_arg(args, kwargs, 3, "padding", 0), nd)
    if fname.startswith("max"):
        if _arg(args, kwargs, 6, "return_indices", False):
            return None
        d = _ntuple(_arg(args, kwargs, 4, "dilation", 1), nd)
        ceil = _arg(args, kwargs, 5, "ceil_mode", False)
    else:
        d = (1,) * nd
        ceil = _arg(args, kwargs, 4, "ceil_mode", False)
    out = [_pool_len(i, kk, ss, pp, dd, ceil)
           for i, kk, ss, pp, dd in zip(x.shape[-nd:], k, s, p, d)]
    if min(out) < 1:
        raise RuntimeError(f"{fname}: input {tuple(x.shape)} is too small for kernel {k}: "
                           f"calculated output size {tuple(out)}")
    return _empty((*x.shape[:-nd], *out), x)


def _shape_adaptive(fname, args, kwargs):
    x = args[0]
    nd = int(fname[-2])
    if fname.startswith("adaptive_max") and _arg(args, kwargs, 2, "return_indices", False):
        return None
    size = _ntuple(_arg(args, kwargs, 1, "output_size"), nd)
    out = [i if o is None else o for i, o in zip(x.shape[-nd:], size)]
    return _empty((*x.shape[:-nd], *out), x)


def _shape_mean(fname, args, kwargs):
    x = args[0]
    dims = _arg(args, kwargs, 1, "dim")
    if not isinstance(x, torch.Tensor) or dims is None or _arg(args, kwargs, 3, "dtype") is not None:
        return None
    keep = _arg(args, kwargs, 2, "keepdim", False)
    n = x.dim()
    dims = {d % n for d in ((dims,) if isinstance(dims, int) else dims)}
    shape = [1 if i in dims else v for i, v in enumerate(x.shape) if keep or i not in dims]
    return _empty(shape, x)


def _shape_linear(fname, args, kwargs):
    x, w = args[0], _arg(args, kwargs, 1, "weight")
    if x.shape[-1] != w.shape[-1] or w.dim() != 2:
        return None
    return _empty((*x.shape[:-1], w.shape[0]), x)


def _broadcast(a: tuple, b: tuple) -> tuple | None:
    if a == b:
        return a
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + a
    b = (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return tuple(out)


def _shape_binary(fname, args, kwargs):
    if len(args) < 2:
        return None
    a, b = args[0], args[1]
    if not isinstance(a, torch.Tensor):
        a, b = b, a
    if not isinstance(a, torch.Tensor):
        return None
    if isinstance(b, torch.Tensor):
        if b.dtype != a.dtype:
            return None
        shape = _broadcast(tuple(a.shape), tuple(b.shape))
        if shape is None:
            return None
    elif isinstance(b, (int, float)) and not isinstance(b, bool) and a.is_floating_point():
        shape = tuple(a.shape)
    else:
        return None
    if fname.endswith("_") and not fname.startswith("__") or fname.startswith("__i"):
        return args[0] if shape == tuple(args[0].shape) else None
    return _empty(shape, a)


_INPLACE_AT = {"relu": 1, "relu6": 1, "silu": 1, "hardswish": 1, "hardsigmoid": 1, "mish": 1,
               "selu": 1, "hardtanh": 3, "leaky_relu": 2, "elu": 2, "dropout": 3,
               "dropout2d": 3}


def _shape_same(fname, args, kwargs):
    """Ops whose output has the input's shape: normalisation, activations, shuffles."""
    x = args[0] if args else kwargs.get("input")
    if not isinstance(x, torch.Tensor):
        return None
    i = _INPLACE_AT.get(fname)
    if fname.endswith("_") or (i is not None and _arg(args, kwargs, i, "inplace", False)):
        return x
    return _empty(x.shape, x)


def _shape_cat(fname, args, kwargs):
    ts = _arg(args, kwargs, 0, "tensors")
    dim = _arg(args, kwargs, 1, "dim", 0)
    if not isinstance(ts, (list, tuple)) or not ts or not isinstance(ts[0], torch.Tensor):
        return None
    first = ts[0]
    n = first.dim()
    if fname == "stack":
        d = dim % (n + 1)
        shape = list(first.shape)
        shape.insert(d, len(ts))
        return _empty(shape, first)
    d = dim % n
    shape = list(first.shape)
    total = 0
    for t in ts:
        if t.dim() != n or t.dtype != first.dtype:
            return None
        for j in range(n):
            if j != d and t.shape[j] != shape[j]:
                return None
        total += t.shape[d]
    shape[d] = total
    return _empty(shape, first)


def _shape_pad(fname, args, kwargs):
    x, pad = args[0], _arg(args, kwargs, 1, "pad")
    mode = _arg(args, kwargs, 2, "mode", "constant")
    if mode != "constant" or not isinstance(pad, (list, tuple)) or len(pad) % 2:
        return None
    shape = list(x.shape)
    for i in range(len(pad) // 2):
        shape[-1 - i] += pad[2 * i] + pad[2 * i + 1]
    return _empty(shape, x)


def _shape_dropout(fname, args, kwargs):
    if _arg(args, kwargs, 2, "training", True):
        return None
    return args[0]


_SHAPES: dict[str, Callable] = {}
for _names, _fn in (
    ("conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d", _shape_conv),
    ("max_pool1d max_pool2d max_pool3d avg_pool1d avg_pool2d avg_pool3d", _shape_pool),
    ("adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d adaptive_max_pool1d "
     "adaptive_max_pool2d adaptive_max_pool3d", _shape_adaptive),
    ("mean", _shape_mean),
    ("linear", _shape_linear),
    ("add add_ __add__ __iadd__ __radd__ sub sub_ __sub__ __isub__ mul mul_ __mul__ __imul__ "
     "__rmul__ div div_ __truediv__ __itruediv__", _shape_binary),
    ("batch_norm layer_norm group_norm instance_norm local_response_norm relu relu_ relu6 "
     "hardtanh hardtanh_ silu silu_ sigmoid sigmoid_ hardsigmoid hardswish gelu tanh tanh_ "
     "leaky_relu leaky_relu_ elu elu_ selu mish softplus channel_shuffle native_channel_shuffle",
     _shape_same),
    ("cat concat concatenate stack", _shape_cat),
    ("pad", _shape_pad),
    ("dropout dropout2d alpha_dropout feature_alpha_dropout", _shape_dropout),
):
    for _n in _names.split():
        _SHAPES[_n] = _fn


# --- standard leaf modules without their forward ------------------------------------------------
# While tracing (``fast``), a call to one of torch's own leaf modules (the exact class, one tensor
# in) gets its output from the shape rules above, with the arguments its ``forward`` would pass to
# the functional op, instead of running ``forward`` through the torch-function mode: the layer
# recorded is the one the general path records. Each rule returns
# (output, kind, macs, kernel, stride, groups), or None where anything is unusual (a padding mode,
# an unbatched or odd-rank input, training mode…): that call takes the general path.

def _leaf_conv2d(m, x):
    d = m.__dict__
    if x.dim() != 4 or d.get("padding_mode") != "zeros":
        return None
    p = m._parameters
    w = p["weight"]
    stride, padding, dilation, groups = d["stride"], d["padding"], d["dilation"], d["groups"]
    if (type(stride) is tuple and type(padding) is tuple and type(dilation) is tuple
            and len(stride) == 2 and len(padding) == 2 and len(dilation) == 2 and w.dim() == 4):
        # _shape_conv and _conv_info for the usual 2-d case, inline
        n, c, h, wd = x.shape
        c_out, c_g, kh, kw = w.shape
        if c == c_g * groups:
            oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
            ow = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
            if oh >= 1 and ow >= 1:
                out = torch.empty((n, c_out, oh, ow), dtype=x.dtype, device=_META)
                if groups == 1:
                    kind = "pointwise" if kh == 1 and kw == 1 else "conv"
                elif groups == c:
                    kind = "depthwise"
                else:
                    kind = "grouped"
                return out, kind, n * c_out * oh * ow * c_g * kh * kw, (kh, kw), stride, groups
    args = (x, w, p["bias"], stride, padding, dilation, groups)
    out = _shape_conv("conv2d", args, None)
    if out is None:
        return None
    k, macs, kernel, stride, groups, _ = _conv_info("conv2d", args, None, out)
    return out, k, macs, kernel, stride, groups


def _leaf_batch_norm2d(m, x):
    d = m.__dict__
    b = m._buffers
    if x.dim() != 4 or d.get("training") is not False or b.get("running_mean") is None:
        return None
    return _empty(x.shape, x), "norm", 0, None, None, None


def _leaf_act(m, x):
    if m.__dict__.get("inplace"):
        return x, "act", 0, None, None, None
    return _empty(x.shape, x), "act", 0, None, None, None


def _leaf_act_pure(m, x):
    return _empty(x.shape, x), "act", 0, None, None, None


def _leaf_alias(m, x):
    return x, "", 0, None, None, None


def _leaf_dropout(m, x):
    if m.__dict__.get("training") is not False:
        return None
    return x, "", 0, None, None, None


def _leaf_max_pool2d(m, x):
    d = m.__dict__
    if d.get("return_indices") is not False or x.dim() not in (3, 4):
        return None
    args = (x, d["kernel_size"], d["stride"], d["padding"], d["dilation"], d["ceil_mode"], False)
    out = _shape_pool("max_pool2d", args, None)
    if out is None:
        return None
    k = args[1]
    return out, "pool", 0, _pair(k), _pair(args[2] or k), None


def _leaf_avg_pool2d(m, x):
    d = m.__dict__
    if x.dim() not in (3, 4):
        return None
    args = (x, d["kernel_size"], d["stride"], d["padding"], d["ceil_mode"])
    out = _shape_pool("avg_pool2d", args, None)
    if out is None:
        return None
    k = args[1]
    return out, "pool", 0, _pair(k), _pair(args[2] or k), None


def _leaf_adaptive_avg_pool2d(m, x):
    if x.dim() not in (3, 4):
        return None
    out = _shape_adaptive("adaptive_avg_pool2d", (x, m.__dict__["output_size"]), None)
    if out is None:
        return None
    return out, "pool", 0, None, None, None


def _leaf_linear(m, x):
    p = m._parameters
    args = (x, p["weight"], p["bias"])
    out = _shape_linear("linear", args, None)
    if out is None:
        return None
    return out, "linear", _matmul_macs("linear", args, None, out)[0], None, None, None


def _leaf_flatten(m, x):
    d = m.__dict__
    return x.flatten(d["start_dim"], d["end_dim"]), "", 0, None, None, None


_LEAF_RULES: dict[type, Callable] = {
    nn.Conv2d: _leaf_conv2d, nn.BatchNorm2d: _leaf_batch_norm2d,
    nn.ReLU: _leaf_act, nn.ReLU6: _leaf_act, nn.SiLU: _leaf_act, nn.Hardswish: _leaf_act,
    nn.Hardsigmoid: _leaf_act, nn.Sigmoid: _leaf_act_pure, nn.Identity: _leaf_alias,
    nn.Dropout: _leaf_dropout, nn.MaxPool2d: _leaf_max_pool2d, nn.AvgPool2d: _leaf_avg_pool2d,
    nn.AdaptiveAvgPool2d: _leaf_adaptive_avg_pool2d, nn.Linear: _leaf_linear,
    nn.Flatten: _leaf_flatten,
}


_get_ident = threading.get_ident
_META = torch.device("meta")
_DisableTorchFunction = torch._C.DisableTorchFunction


class _Tree:
    """One walk of a model: ``named_modules()``, ``parameters()`` and ``buffers()`` (each without
    duplicates, in PyTorch's order), read once instead of walking the module tree for each (its
    recursive generators cost ~30 µs per module per walk)."""

    __slots__ = ("named", "params", "buffers")

    def __init__(self, model: nn.Module):
        named = []
        seen: set[int] = set()
        stack = [("", model)]
        while stack:  # pre-order, first name wins: named_modules()'s order
            prefix, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            named.append((prefix, m))
            children = [(prefix + ("." if prefix else "") + n, c) for n, c in m._modules.items()
                        if c is not None]
            stack.extend(reversed(children))
        params, buffers = {}, {}
        for _, m in named:
            for p in m._parameters.values():
                if p is not None:
                    params.setdefault(id(p), p)
            for b in m._buffers.values():
                if b is not None:
                    buffers.setdefault(id(b), b)
        self.named = named
        self.params = list(params.values())
        self.buffers = list(buffers.values())

    def all_meta(self) -> bool:
        return all(t.is_meta for t in self.params) and all(t.is_meta for t in self.buffers)

    def eval(self, model: nn.Module) -> None:
        """``model.eval()``: every module's ``training`` flag off (the same walk, unless a class
        overrides ``train``)."""
        if any(type(m).train is not _MODULE_TRAIN for _, m in self.named):
            model.eval()
            return
        plain: dict[type, bool] = {}
        for _, m in self.named:
            cls = type(m)
            ok = plain.get(cls)
            if ok is None:  # no class-level `training` (a property would need its setter)
                ok = plain[cls] = not hasattr(cls, "training")
            if ok and "training" in m.__dict__:
                m.__dict__["training"] = False
            else:
                m.training = False


_MODULE_TRAIN = nn.Module.train


class _Trace(TorchFunctionMode):
    """Records layers while a model runs once. Use :func:`trace`."""

    def __init__(self, model: nn.Module, fast: bool = True, tree: _Tree | None = None):
        super().__init__()
        tree = tree or _Tree(model)
        self.root = model
        self.fast = fast
        self.tid = threading.get_ident()
        self.names: dict[int, str] = {}
        self.modules: dict[str, nn.Module] = {}
        # per module: (own parameters, own floating-point parameters + buffers), read once here
        self.own: dict[int, tuple[int, int]] = {}
        names, modules, own = self.names, self.modules, self.own
        for n, m in tree.named:
            names[id(m)] = n
            modules[n] = m
            params = floats = 0
            for p in m._parameters.values():
                if p is not None:
                    params += p.numel()
            for b in m._buffers.values():
                if b is not None and b.is_floating_point():
                    floats += b.numel()
            own[id(m)] = (params, params + floats)
        self.weight_ids = {id(t) for t in tree.params} | {id(t) for t in tree.buffers}
        self.layers: list[Layer] = []
        self.producer: dict[int, int] = {}   # id(tensor) -> index of the layer that wrote it
        self.keep: list = []                 # keeps traced tensors alive so ids stay unique
        # the module stack: [name, module, leaf record or None, first functional record index]
        self.stack: list[list] = [["", model, None, None]]
        self.counts: dict[str, int] = {}     # functional op names per module, for "add_1"
        self.called: set[int] = set()        # modules whose parameters were counted
        self.pending_shuffle: Layer | None = None
        self._view_source: dict[int, tuple] = {}  # id(view) -> shape of the tensor it views

    # module hooks (global, filtered to this thread); their own tensor reads bypass the mode
    def pre_hook(self, module, args):
        if _get_ident() != self.tid:
            return None
        name = self.names.get(id(module))
        if name is None:
            return None
        if module._modules:
            if module is not self.root:
                self.stack.append([name, module, None, None])
            return None
        # a leaf: one layer
        self.pending_shuffle = None
        with _DisableTorchFunction():
            name = name or type(module).__name__
            if len(args) == 1 and isinstance(args[0], torch.Tensor):  # the usual single input
                t = args[0]
                shape = tuple(t.shape)
                layer = Layer(len(self.layers), name, name, type(module).__name__, "",
                              in_shape=shape, in_shapes=(shape,),
                              inputs=(self.producer.get(id(t), -1),), mem_access=t.numel())
            else:
                layer = Layer(index=len(self.layers), name=name, module=name, op=type(module).__name__)
                ts = _tensors(args)
                layer.in_shapes = tuple(tuple(t.shape) for t in ts)
                layer.in_shape = layer.in_shapes[0] if ts else ()
                layer.inputs = tuple(self.producer.get(id(t), -1) for t in ts)
                layer.mem_access = sum(t.numel() for t in ts)
                layer.kind = ""
        self.stack.append([name, module, layer, None])
        return None

    def post_hook(self, module, args, output):
        if _get_ident() != self.tid:
            return None
        mid = id(module)
        if mid not in self.names or (module is self.root and module._modules):
            return None
        name, mod, layer, first_fn = self.stack.pop()
        called = self.called
        first_call = mid not in called
        if first_call:
            called.add(mid)
        own_params, own_weights = self.own[mid]
        if layer is not None:
            with _DisableTorchFunction():
                if isinstance(output, torch.Tensor):
                    ts = [output]
                    layer.out_shape = tuple(output.shape)
                    if first_call:
                        layer.params = own_params
                    if not layer.kind:  # an alias (Identity, Dropout, Flatten)
                        layer.kind = "other"
                        layer.mem_access = 0
                    else:
                        out_elems = output.numel()
                        layer.act_elems = out_elems
                        layer.act_bytes = out_elems * output.element_size()
                        layer.mem_access += out_elems + own_weights
                else:
                    ts = _tensors(output)
                    layer.out_shape = tuple(ts[0].shape) if ts else ()
                    if first_call:
                        layer.params = own_params
                    if not layer.kind:  # ran no op that does work: an alias (Identity, Dropout, Flatten)
                        layer.kind = "other"
                        layer.mem_access = 0
                    else:
                        out_elems = sum(t.numel() for t in ts)
                        layer.act_elems = out_elems
                        layer.act_bytes = sum(t.numel() * t.element_size() for t in ts)
                        layer.mem_access += out_elems + own_weights
                layer.flops = 2 * layer.macs
                self._add(layer, ts)
        elif first_call and own_params:
            self._own_params(name, module, first_fn, own_params)
        return None

    def leaf(self, module, x, rule):
        """A standard leaf module called on one tensor (see ``_LEAF_RULES``): its layer, as
        ``pre_hook``, the functional op and ``post_hook`` would record it, and its output; None
        where the rule declines (nothing recorded: the caller takes the general path)."""
        mid = id(module)
        name = self.names.get(mid)
        if not name or module._modules:
            return None
        with _DisableTorchFunction():
            r = rule(module, x)
            if r is None:
                return None
            out, kind, macs, kernel, stride, groups = r
            self.pending_shuffle = None
            called = self.called
            if mid in called:
                params = 0
            else:
                called.add(mid)
                params = self.own[mid][0]
            shape = tuple(x.shape)
            index = len(self.layers)
            if kind:
                out_elems = out.numel()
                layer = Layer(index, name, name, type(module).__name__, kind, "", "", "", "", kernel,
                              stride, groups, shape, tuple(out.shape), (shape,), params, macs, 2 * macs,
                              out_elems, out_elems * out.element_size(),
                              x.numel() + out_elems + self.own[mid][1], (self.producer.get(id(x), -1),))
            else:
                layer = Layer(index, name, name, type(module).__name__, "other", "", "", "", "", kernel,
                              stride, groups, shape, tuple(out.shape), (shape,), params, macs, 2 * macs,
                              0, 0, 0, (self.producer.get(id(x), -1),))
            self._add(layer, [out])
        return out

    def _own_params(self, name: str, module: nn.Module, first_fn: int | None, own: int) -> None:
        """A non-leaf module holding parameters itself (a layer scale, a weight it uses with
        torch.nn.functional): they go to the first functional layer in its forward."""
        if first_fn is not None:
            self.layers[first_fn].params += own
        else:
            self._add(Layer(index=len(self.layers), name=f"{name}.parameters" if name else "parameters",
                            module=name, op=type(module).__name__, params=own), [])

    def finish(self) -> None:
        """After the forward: the root module's own parameters, if it holds any."""
        root = self.root
        if root._modules and self.own[id(root)][0]:
            self._own_params("", root, self.stack[0][3], self.own[id(root)][0])

    def _add(self, layer: Layer, outputs: list[torch.Tensor]):
        layer.index = len(self.layers)
        self.layers.append(layer)
        for t in outputs:
            self.producer[id(t)] = layer.index
        self.keep.append(outputs)

    def _alias(self, src: torch.Tensor | None, out) -> None:
        if src is None:
            return
        p = self.producer.get(id(src))
        if p is None:
            return
        outs = _tensors(out)
        for t in outs:
            self.producer[id(t)] = p
        self.keep.append(outs)

    # every torch function
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        fname = getattr(func, "__name__", "")
        kind = _OPS.get(fname)
        if kind is None:
            return func(*args, **kwargs)
        out = None
        if self.fast:
            shape = _SHAPES.get(fname)
            if shape is not None:
                out = shape(fname, args, kwargs)
        if out is None:
            out = func(*args, **kwargs)
        top = self.stack[-1]
        leaf = top[2]
        if leaf is None:
            return self._functional(top, fname, kind, args, kwargs, out)
        # inside a leaf module: the work is the module's
        if kind == "view":
            return out
        k = kind
        if kind == "conv":
            k, macs, kernel, stride, groups, _ = _conv_info(fname, args, kwargs, out)
            leaf.macs += macs
            leaf.kernel, leaf.stride, leaf.groups = kernel, stride, groups
        elif kind == "linear":
            leaf.macs += _matmul_macs(fname, args, kwargs, out)[0]
        elif kind == "pool":
            self._pool_details(leaf, fname, args, kwargs)
        elif kind == "other" and fname in _DROPOUTS and not _arg(args, kwargs, 2, "training", True):
            return out  # dropout in eval: an alias
        if not leaf.kind or _PRECEDENCE[k] < _PRECEDENCE[leaf.kind]:
            leaf.kind = k
        return out

    def _pool_details(self, layer: Layer, fname, args, kwargs):
        if fname.startswith(("max_pool", "avg_pool", "lp_pool", "_max_pool")):
            i = 2 if fname.startswith("lp_pool") else 1
            k = _arg(args, kwargs, i, "kernel_size")
            s = _arg(args, kwargs, i + 1, "stride") or k
            layer.kernel, layer.stride = _pair(k), _pair(s)

    def _functional(self, top, fname, kind, args, kwargs, out):
        first = args[0] if args else None
        if kind == "view":
            # the channel shuffle (ShuffleNet): view to (B, g, C/g, H, W), transpose, view back
            ps = self.pending_shuffle
            if fname in _TRANSPOSES and isinstance(first, torch.Tensor) and first.dim() >= 5:
                layer = self._new(top, "shuffle", "channel_shuffle", [first], out)
                src = self._view_source.get(id(first))
                if src is not None:
                    layer.in_shape = src
                    layer.in_shapes = (src,)
                self.pending_shuffle = layer
                return out
            if ps is not None and isinstance(first, torch.Tensor) and self.producer.get(id(first)) == ps.index:
                ps.out_shape = tuple(out.shape) if isinstance(out, torch.Tensor) else ps.out_shape
            if isinstance(first, torch.Tensor) and isinstance(out, torch.Tensor):
                self._view_source[id(out)] = self._view_source.get(id(first), tuple(first.shape))
            self._alias(first, out)
            return out
        if kind == "pool" and fname in ("mean", "amax"):
            dims = _arg(args, kwargs, 1, "dim")
            if not isinstance(first, torch.Tensor) or first.dim() < 3 or dims is None:
                self._alias(first, out)
                return out
            dims = {d % first.dim() for d in ((dims,) if isinstance(dims, int) else dims)}
            if not dims or min(dims) < 2:  # not a spatial reduction
                self._alias(first, out)
                return out
        if kind == "other" and fname in _DROPOUTS and not _arg(args, kwargs, 2, "training", True):
            self._alias(first, out)
            return out
        if kind == "concat":
            ins = _tensors(first)
        else:
            ins = [a for a in args if isinstance(a, torch.Tensor)]
        layer = self._new(top, kind, fname, ins, out)
        if kind == "conv":
            k, macs, kernel, stride, groups, wel = _conv_info(fname, args, kwargs, out)
            layer.kind, layer.macs, layer.kernel, layer.stride, layer.groups = k, macs, kernel, stride, groups
            layer.mem_access = ins[0].numel() + layer.act_elems + wel
        elif kind == "linear":
            macs, wel = _matmul_macs(fname, args, kwargs, out)
            layer.macs = macs
            if fname == "linear":
                layer.mem_access = ins[0].numel() + layer.act_elems + wel
        elif kind == "pool":
            self._pool_details(layer, fname, args, kwargs)
        layer.flops = 2 * layer.macs
        return out

    def _new(self, top, kind, fname, ins, out) -> Layer:
        ctx = top[0]
        fname = _CANON.get(fname, fname)
        key = f"{ctx}.{fname}" if ctx else fname
        n = self.counts.get(key, 0)
        self.counts[key] = n + 1
        name = key if n == 0 else f"{key}_{n}"
        outs = _tensors(out)
        self.pending_shuffle = None
        layer = Layer(index=len(self.layers), name=name, module=ctx, op=fname, kind=kind)
        data = [t for t in ins if id(t) not in self.weight_ids]  # weights are read, not inputs
        layer.in_shapes = tuple(tuple(t.shape) for t in data)
        layer.in_shape = layer.in_shapes[0] if data else ()
        layer.inputs = tuple(self.producer.get(id(t), -1) for t in data)
        layer.out_shape = tuple(outs[0].shape) if outs else ()
        layer.act_elems = sum(t.numel() for t in outs)
        layer.act_bytes = sum(t.numel() * t.element_size() for t in outs)
        layer.mem_access = sum(t.numel() for t in ins) + layer.act_elems
        if top[3] is None:
            top[3] = layer.index
        self._add(layer, outs)
        return layer


def _label_stages(model: nn.Module, layers: list[Layer], modules: dict[str, nn.Module]) -> tuple:
    """Fill ``block``, ``block_type`` and ``stage`` of every layer (see the module docstring).
    Returns the blocks that ran, in execution order."""
    kinds: dict[type, tuple] = {}  # class -> (is_se, is_block if it has children, without)

    def kind_of(m: nn.Module) -> tuple:
        cls = type(m)
        k = kinds.get(cls)
        if k is None:
            se = is_se(m)
            flag = getattr(cls, "is_block", None)
            if isinstance(flag, bool):
                k = (se, flag, flag)
            else:
                k = (se, not (isinstance(m, _CONTAINERS) or se) and cls.__name__ not in _UNITS, False)
            k = kinds[cls] = k
        return k

    blocks = set()
    se_units = set()
    for n, m in modules.items():
        if n:
            k = kind_of(m)
            if k[1] if m._modules else k[2]:  # is_block(m)
                blocks.add(n)
            if k[0]:
                se_units.add(n)
    block_of: dict[str, str | None] = {}

    def nearest_block(mod_name: str) -> str | None:
        found = block_of.get(mod_name, 0)
        if found != 0:
            return found
        if not mod_name:
            found = None
        elif mod_name in blocks:
            found = mod_name
        else:
            found = nearest_block(mod_name.rpartition(".")[0])
        block_of[mod_name] = found
        return found

    def prefixes(name: str, depth: int) -> str | None:
        parts = name.split(".")
        return ".".join(parts[:depth]) if len(parts) >= depth else None

    # the blocks that ran (an auxiliary head skipped in eval does not count)
    ran = {nearest_block(layer.module) for layer in layers} - {None}
    # the trunk: a single top-level container holding every block (torchvision's `features`)
    tops_with_blocks = {prefixes(n, 1) for n in ran}
    trunk = None
    if len(tops_with_blocks) == 1:
        only = next(iter(tops_with_blocks))
        if isinstance(modules[only], _CONTAINERS):
            trunk = only
    blocky = tops_with_blocks
    if trunk is not None:
        blocky = {prefixes(n, 2) for n in ran} - {None}
    se_of: dict[str, bool] = {"": False}

    def inside_se(mod_name: str) -> bool:
        v = se_of.get(mod_name)
        if v is None:
            v = se_of[mod_name] = mod_name in se_units or inside_se(mod_name.rpartition(".")[0])
        return v

    def raw_stage(mod_name: str) -> str | None:
        if not mod_name:
            return None
        parts = mod_name.split(".")
        if trunk is not None and parts[0] == trunk and len(parts) > 1:
            return ".".join(parts[:2])
        return parts[0]

    raws = [raw_stage(layer.module) for layer in layers]
    hits = [i for i, r in enumerate(raws) if r in blocky]
    first, last = (hits[0], hits[-1]) if hits else (None, None)
    prev = ""
    for i, layer in enumerate(layers):
        r = raws[i]
        if first is not None and i < first:
            stage = "stem"
        elif last is not None and i > last:
            stage = "head"
        elif r is None:
            stage = prev or layer.name
        else:
            stage = r
        layer.stage = prev = stage
        layer.base_kind = layer.kind
        b = nearest_block(layer.module)
        if b is not None:
            layer.block = b
            layer.block_type = block_name(modules[b], model)
        elif stage in ("stem", "head"):
            layer.block = layer.block_type = stage
        else:
            layer.block = stage
            m = modules.get(stage)
            layer.block_type = type(m).__name__ if m is not None else layer.op
        # everything inside a squeeze-and-excitation unit is its cost
        if se_units and inside_se(layer.module):
            layer.kind = "se"
    return tuple(dict.fromkeys(layer.block for layer in layers if layer.block in ran))



def trace(model: nn.Module, x: torch.Tensor, fast: bool = True) -> tuple[list[Layer], torch.Tensor]:
    """Run ``model(x)`` once, recording its layers. Returns (layers, output).

    ``fast``: compute the output shapes of common ops here instead of running PyTorch's meta
    kernels (same result, several times faster).
    """
    t = _run(model, x, fast)
    return t.layers, t.output


# With global hooks registered, every module call takes nn.Module._call_impl's general path (a
# closure, hook lists merged, backward-hook checks): a third of the traced forward. While a
# thread traces, a module call that has no hooks but the trace's own (none of its own, no other
# global ones, not compiled, not under jit tracing) calls the two hooks and ``forward`` directly:
# what that path does with two hooks that return None. Any other call runs the original.
_TRACING = threading.local()
_CALL_LOCK = threading.Lock()
_CALL_USERS = 0
_CALL_ORIG: list = []
_MM = nn.modules.module


def _direct_call(orig: Callable) -> Callable:
    gpre, gfwd = _MM._global_forward_pre_hooks, _MM._global_forward_hooks
    gbpre, gbwd = _MM._global_backward_pre_hooks, _MM._global_backward_hooks
    tracing_state = torch._C._get_tracing_state

    def _wrapped_call_impl(self, *args, **kwargs):
        t = getattr(_TRACING, "t", None)
        if (t is None or self._compiled_call_impl is not None or self._forward_pre_hooks
                or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks
                or len(gpre) != 1 or len(gfwd) != 1 or gbpre or gbwd or tracing_state()):
            return orig(self, *args, **kwargs)
        if not kwargs and len(args) == 1 and t.fast:
            rule = _LEAF_RULES.get(type(self))
            if rule is not None and type(args[0]) is torch.Tensor:
                out = t.leaf(self, args[0], rule)
                if out is not None:
                    return out
        t.pre_hook(self, args)
        result = self.forward(*args, **kwargs)
        t.post_hook(self, args, result)
        return result
    return functools.wraps(orig)(_wrapped_call_impl)


def _install_call() -> None:
    global _CALL_USERS
    with _CALL_LOCK:
        if _CALL_USERS == 0:
            orig = nn.Module.__dict__["__call__"]
            wrapped = _direct_call(orig)
            _CALL_ORIG[:] = [orig, wrapped]
            nn.Module.__call__ = wrapped
        _CALL_USERS += 1


def _remove_call() -> None:
    global _CALL_USERS
    with _CALL_LOCK:
        _CALL_USERS -= 1
        if _CALL_USERS == 0:
            orig, wrapped = _CALL_ORIG
            if nn.Module.__dict__.get("__call__") is wrapped:
                nn.Module.__call__ = orig
            _CALL_ORIG.clear()


def _run(model: nn.Module, x: torch.Tensor, fast: bool = True, tree: _Tree | None = None) -> _Trace:
    t = _Trace(model, fast, tree)
    h1 = nn.modules.module.register_module_forward_pre_hook(t.pre_hook)
    h2 = nn.modules.module.register_module_forward_hook(t.post_hook)
    _install_call()
    prev = getattr(_TRACING, "t", None)
    _TRACING.t = t
    try:
        with torch.no_grad(), t:
            t.output = model(x)
        t.finish()
    finally:
        _TRACING.t = prev
        _remove_call()
        h1.remove()
        h2.remove()
    t.block_names = _label_stages(model, t.layers, t.modules)
    return t


# In-place ops that only write values, never shapes: weight initialisation. On the meta device
# there are no values, but PyTorch still runs each one through Python reference code (a
# kaiming_normal_ costs ~1.5 ms, and the first imports torch._dynamo: 3 s). Building a model for
# analysis skips them.
_META = torch.device("meta")
_DATA_ONLY = frozenset(
    "normal_ uniform_ zero_ fill_ erfinv_ mul_ add_ sub_ div_ clamp_ clamp_min_ clamp_max_ copy_ "
    "exponential_ bernoulli_ random_ log_normal_ geometric_ cauchy_ abs_ neg_ sqrt_ exp_ "
    "fill_diagonal_ "
    # torch.nn.init's functions (they dispatch like torch functions, so they are seen whole)
    "constant_ ones_ zeros_ eye_ dirac_ xavier_uniform_ xavier_normal_ kaiming_uniform_ "
    "kaiming_normal_ trunc_normal_ orthogonal_ sparse_".split())


# The default initialisation of torch's own layers (``reset_parameters`` of convolutions, linear
# layers and batch norms) only writes values: on meta every op in it is skipped above, but the
# Python around them (no_grad, fan-in arithmetic) still costs ~10 µs a layer, a quarter of a big
# model's build. While a thread builds for analysis, a layer whose tensors are all on meta skips
# it whole; everywhere else (other threads, real tensors, no build running) it runs unchanged.
_BUILDING = threading.local()
_RESETS_LOCK = threading.Lock()
_RESETS_USERS = 0
_RESETS: list[tuple[type, Callable, Callable, str]] = []


def _meta_only(module: nn.Module) -> bool:
    with _DisableTorchFunction():  # `is_meta` would go through the build's mode
        for t in module._parameters.values():
            if t is not None and not t.is_meta:
                return False
        for t in module._buffers.values():
            if t is not None and not t.is_meta:
                return False
    return True


def _skipping_reset(orig: Callable) -> Callable:
    def reset_parameters(self, *args, **kwargs):
        if getattr(_BUILDING, "on", False) and not args and not kwargs and _meta_only(self):
            return None
        return orig(self, *args, **kwargs)
    reset_parameters.__wrapped__ = orig
    reset_parameters.__doc__ = orig.__doc__
    reset_parameters.__name__ = orig.__name__
    reset_parameters.__qualname__ = orig.__qualname__
    return reset_parameters


# nn.Module.__setattr__ tests every value against Parameter, Module and Buffer (metaclass
# isinstance checks in Python) before storing it; a builder sets ~7 plain attributes per layer
# (channels, kernel size, stride…). While a thread builds for analysis, a plain value (number,
# string, tuple, None) whose name is no parameter, module or buffer is stored directly: what
# Module.__setattr__ does with it after those checks.
_PLAIN = frozenset({int, float, bool, str, tuple, type(None)})
_OBJECT_SETATTR = object.__setattr__
_DIRECT_SET: dict[type, bool] = {}


def _direct_set(cls: type) -> bool:
    """Whether Module.__setattr__'s final ``super().__setattr__`` is ``object.__setattr__``."""
    ok = _DIRECT_SET.get(cls)
    if ok is None:
        mro = cls.__mro__
        after = mro[mro.index(nn.Module) + 1:] if nn.Module in mro else (object,)
        ok = _DIRECT_SET[cls] = all(c is object or "__setattr__" not in c.__dict__ for c in after)
    return ok


_PARAMETER = nn.Parameter
_PLAIN_LOOKUP: dict[type, bool] = {}


def _plain_lookup(cls: type) -> bool:
    """Whether attribute lookup on ``cls``'s instances is Module's own (no other ``__getattr__``
    or ``__getattribute__``): then ``hasattr(module, name)`` is the instance dict, the class and
    the parameters, buffers and submodules."""
    ok = _PLAIN_LOOKUP.get(cls)
    if ok is None:
        ok = _PLAIN_LOOKUP[cls] = (cls.__getattr__ is nn.Module.__getattr__
                                   and cls.__getattribute__ is object.__getattribute__)
    return ok


# nn.Module.__init__ stores its 17 bookkeeping attributes one ``super().__setattr__`` at a time.
# While a thread builds for analysis, for a class where that is ``object.__setattr__`` and none of
# the names is a descriptor, they go into the instance dict directly, in the same order.
_INIT_NAMES = ("training", "_parameters", "_buffers", "_non_persistent_buffers_set",
               "_backward_pre_hooks", "_backward_hooks", "_is_full_backward_hook", "_forward_hooks",
               "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks",
               "_forward_pre_hooks_with_kwargs", "_state_dict_hooks", "_state_dict_pre_hooks",
               "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks", "_modules")
_PLAIN_INIT: dict[type, bool] = {}


def _plain_init(cls: type) -> bool:
    ok = _PLAIN_INIT.get(cls)
    if ok is None:
        ok = _direct_set(cls) and cls.call_super_init is False and "__slots__" not in cls.__dict__
        for n in _INIT_NAMES:
            for c in cls.__mro__:
                if n in c.__dict__:
                    ok = False
        ok = _PLAIN_INIT[cls] = ok
    return ok


def _fast_init(orig: Callable) -> Callable:
    from collections import OrderedDict
    log = torch._C._log_api_usage_once

    def __init__(self, *args, **kwargs):
        if args or kwargs or not getattr(_BUILDING, "on", False) or not _plain_init(type(self)):
            return orig(self, *args, **kwargs)
        log("python.nn_module")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_backward_pre_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()
        d["_is_full_backward_hook"] = None
        d["_forward_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = OrderedDict()
        d["_forward_hooks_always_called"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_pre_hooks_with_kwargs"] = OrderedDict()
        d["_state_dict_hooks"] = OrderedDict()
        d["_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_post_hooks"] = OrderedDict()
        d["_modules"] = {}
    return functools.wraps(orig)(__init__)


# nn.Conv2d and nn.BatchNorm2d, the bulk of a CNN, spend most of their construction in
# Module.__setattr__ and register_parameter/register_buffer checks that cannot fail on a fresh
# module. While a thread builds for analysis, an instance of exactly these classes with ordinary
# arguments (ints, no device or dtype, zero padding mode) gets the state their __init__ leaves on
# meta (the same attributes in the same order, the same parameters and buffers; reset_parameters
# is skipped on meta anyway); anything else runs the original.
def _int2(v) -> tuple | None:
    """``torch.nn.modules.utils._pair(v)`` for an int or a pair of ints, else None."""
    if type(v) is int:
        return (v, v)
    if type(v) in (tuple, list) and len(v) == 2 and type(v[0]) is int and type(v[1]) is int:
        return tuple(v)
    return None


def _fresh(module: nn.Module) -> dict:
    """Module.__init__'s instance state, for a class where it goes into the dict (_plain_init)."""
    nn.Module.__init__(module)
    return module.__dict__


def _fast_conv2d_init(orig: Callable) -> Callable:
    building = _BUILDING

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        k, st, pa, di = _int2(kernel_size), _int2(stride), _int2(padding), _int2(dilation)
        if (type(self) is not nn.Conv2d or not building.__dict__.get("on") or device is not None
                or dtype is not None or padding_mode != "zeros" or k is None or st is None
                or pa is None or di is None or type(in_channels) is not int
                or type(out_channels) is not int or type(groups) is not int or groups <= 0
                or in_channels % groups or out_channels % groups or type(bias) is not bool
                or _MM._global_parameter_registration_hooks or not _plain_init(nn.Conv2d)):
            return orig(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                        groups, bias, padding_mode, device, dtype)
        d = _fresh(self)
        d["in_channels"] = in_channels
        d["out_channels"] = out_channels
        d["kernel_size"] = k
        d["stride"] = st
        d["padding"] = pa
        d["dilation"] = di
        d["transposed"] = False
        d["output_padding"] = (0, 0)
        d["groups"] = groups
        d["padding_mode"] = padding_mode
        d["_reversed_padding_repeated_twice"] = (pa[1], pa[1], pa[0], pa[0])
        params = d["_parameters"]
        with _DisableTorchFunction():
            params["weight"] = _PARAMETER(torch.empty((out_channels, in_channels // groups, *k),
                                                      device=_META))
            params["bias"] = _PARAMETER(torch.empty(out_channels, device=_META)) if bias else None
    return functools.wraps(orig)(__init__)


def _fast_batch_norm_init(orig: Callable) -> Callable:
    building = _BUILDING

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        if (type(self) is not nn.BatchNorm2d or not building.__dict__.get("on") or device is not None
                or dtype is not None or type(num_features) is not int or type(affine) is not bool
                or type(track_running_stats) is not bool or type(bias) is not bool
                or _MM._global_parameter_registration_hooks or _MM._global_buffer_registration_hooks
                or not _plain_init(nn.BatchNorm2d)):
            return orig(self, num_features, eps, momentum, affine, track_running_stats, device,
                        dtype, bias=bias)
        d = _fresh(self)
        d["num_features"] = num_features
        d["eps"] = eps
        d["momentum"] = momentum
        d["affine"] = affine
        d["track_running_stats"] = track_running_stats
        params, buffers = d["_parameters"], d["_buffers"]
        with _DisableTorchFunction():
            if affine:
                params["weight"] = _PARAMETER(torch.empty(num_features, device=_META))
                params["bias"] = _PARAMETER(torch.empty(num_features, device=_META)) if bias else None
            else:
                params["weight"] = params["bias"] = None
            if track_running_stats:
                buffers["running_mean"] = torch.empty(num_features, device=_META)
                buffers["running_var"] = torch.empty(num_features, device=_META)
                buffers["num_batches_tracked"] = torch.tensor(0, dtype=torch.long, device=_META)
            else:
                buffers["running_mean"] = buffers["running_var"] = None
                buffers["num_batches_tracked"] = None
    return functools.wraps(orig)(__init__)


def _fast_setattr(orig: Callable) -> Callable:
    building, direct = _BUILDING, _DIRECT_SET

    def __setattr__(self, name, value):
        if type(value) in _PLAIN:
            if building.__dict__.get("on"):
                d = self.__dict__
                params, modules, buffers = d.get("_parameters"), d.get("_modules"), d.get("_buffers")
                if (params is not None and modules is not None and buffers is not None
                        and name not in params and name not in modules and name not in buffers
                        and (direct.get(type(self)) or _direct_set(type(self)))):
                    _OBJECT_SETATTR(self, name, value)
                    return
        elif (isinstance(value, nn.Module) and not isinstance(value, torch.Tensor)
                and not _MM._global_module_registration_hooks and getattr(_BUILDING, "on", False)):
            # a child module: Module.__setattr__'s branch for modules, without the checks before
            d = self.__dict__
            params, modules = d.get("_parameters"), d.get("_modules")
            if params is not None and modules is not None and name not in params:
                if name in d:
                    del d[name]
                buffers = self._buffers
                if name in buffers:
                    del buffers[name]
                self._non_persistent_buffers_set.discard(name)
                modules[name] = value
                return
        elif (type(value) is _PARAMETER and type(name) is str and name and "." not in name
                and not _MM._global_parameter_registration_hooks and getattr(_BUILDING, "on", False)):
            # a parameter: Module.__setattr__'s branch for parameters and register_parameter's
            # checks, for a plain class (the name no class attribute, a leaf tensor)
            d = self.__dict__
            params, modules, buffers = d.get("_parameters"), d.get("_modules"), d.get("_buffers")
            nps = d.get("_non_persistent_buffers_set")
            if (params is not None and modules is not None and buffers is not None and nps is not None
                    and _plain_lookup(type(self)) and (name in params or not hasattr(type(self), name))):
                with _DisableTorchFunction():
                    leaf = value.grad_fn is None
                if leaf:
                    if name in d:
                        del d[name]
                    if name in buffers:
                        del buffers[name]
                    if name in modules:
                        del modules[name]
                    nps.discard(name)
                    params[name] = value
                    return
        orig(self, name, value)
    __setattr__.__wrapped__ = orig
    __setattr__.__doc__ = orig.__doc__
    __setattr__.__qualname__ = orig.__qualname__
    return __setattr__


# torch.nn.init's kaiming_normal_, ones_ and zeros_ (what builders call to re-initialise) do not
# dispatch as torch functions: they run their Python (fan computation, no_grad) before the value
# write that the build skips. On a meta tensor, while a thread builds for analysis, they return the
# tensor at once, as they would after skipping the write; whatever would warn or raise (an empty
# tensor, too few dimensions, an unknown mode or nonlinearity) runs the original.
def _skipping_fill(orig: Callable) -> Callable:
    def fill(tensor, *args, **kwargs):
        if not args and not kwargs and getattr(_BUILDING, "on", False) and isinstance(tensor, torch.Tensor):
            with _DisableTorchFunction():
                meta = tensor.is_meta
            if meta:
                return tensor
        return orig(tensor, *args, **kwargs)
    return functools.wraps(orig)(fill)


def _skipping_kaiming_normal(orig: Callable) -> Callable:
    def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
        if getattr(_BUILDING, "on", False) and isinstance(tensor, torch.Tensor):
            with _DisableTorchFunction():
                plain = tensor.is_meta and tensor.dim() >= 2 and 0 not in tensor.shape
            if (plain and isinstance(mode, str) and mode.lower() in ("fan_in", "fan_out")
                    and isinstance(nonlinearity, str) and nonlinearity in _GAIN_OK
                    and _gain_ok(nonlinearity, a)):
                return tensor
        return orig(tensor, a, mode, nonlinearity, generator)
    return functools.wraps(orig)(kaiming_normal_)


_GAIN_OK = frozenset({"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                      "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"})


def _gain_ok(nonlinearity, a) -> bool:
    """torch.nn.init.calculate_gain(nonlinearity, a) returns without raising."""
    if nonlinearity != "leaky_relu":
        return True
    return a is None or (not isinstance(a, bool) and isinstance(a, (int, float)))


def _reset_classes() -> list[type]:
    from torch.nn.modules.batchnorm import _NormBase
    from torch.nn.modules.conv import _ConvNd
    return [_ConvNd, nn.Linear, _NormBase]


def _install_resets() -> None:
    global _RESETS_USERS
    with _RESETS_LOCK:
        if _RESETS_USERS == 0:
            _RESETS.clear()
            for cls in _reset_classes():
                orig = cls.__dict__.get("reset_parameters")
                if orig is None or not callable(orig):
                    continue
                wrapped = _skipping_reset(orig)
                _RESETS.append((cls, orig, wrapped, "reset_parameters"))
                cls.reset_parameters = wrapped
            for fname, wrap in (("kaiming_normal_", _skipping_kaiming_normal),
                                ("ones_", _skipping_fill), ("zeros_", _skipping_fill)):
                orig = nn.init.__dict__.get(fname)
                if callable(orig):
                    wrapped = wrap(orig)
                    _RESETS.append((nn.init, orig, wrapped, fname))
                    setattr(nn.init, fname, wrapped)
            orig = nn.Module.__dict__["__setattr__"]
            wrapped = _fast_setattr(orig)
            _RESETS.append((nn.Module, orig, wrapped, "__setattr__"))
            nn.Module.__setattr__ = wrapped
            from torch.nn.modules.batchnorm import _BatchNorm
            for cls, wrap in ((nn.Module, _fast_init), (nn.Conv2d, _fast_conv2d_init),
                              (_BatchNorm, _fast_batch_norm_init)):
                orig = cls.__dict__.get("__init__")
                if callable(orig):
                    wrapped = wrap(orig)
                    _RESETS.append((cls, orig, wrapped, "__init__"))
                    cls.__init__ = wrapped
        _RESETS_USERS += 1


def _remove_resets() -> None:
    global _RESETS_USERS
    with _RESETS_LOCK:
        _RESETS_USERS -= 1
        if _RESETS_USERS == 0:
            for cls, orig, wrapped, attr in _RESETS:
                if cls.__dict__.get(attr) is wrapped:
                    setattr(cls, attr, orig)
            _RESETS.clear()


class _MetaBuild(TorchFunctionMode):
    """``torch.device("meta")`` (tensor factories default to the meta device, as its
    ``DeviceContext`` does) in the same mode that skips the data-only in-place ops: one Python
    layer per torch call instead of two."""

    def __init__(self):
        super().__init__()
        self.constructors = _device_constructors()
        self.what: dict = {}  # func -> 0: pass through, 1: a factory, 2: data-only, 3: zeros/ones

    def _what(self, func) -> int:
        if func in self.constructors:
            return 3 if func is torch.zeros or func is torch.ones else 1
        return 2 if getattr(func, "__name__", "") in _DATA_ONLY else 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        try:
            what = self.what[func]
        except KeyError:
            what = self.what[func] = self._what(func)
        except TypeError:  # unhashable
            what = self._what(func)
        if what == 0:
            return func(*args, **(kwargs or {}))
        kwargs = kwargs or {}
        if what == 2:
            # torch.nn.init's functions arrive with their tensor as a keyword
            t = args[0] if args else kwargs.get("tensor", kwargs.get("input"))
            if isinstance(t, torch.Tensor) and t.is_meta:
                return t
            return func(*args, **kwargs)
        device = kwargs.get("device")
        if device is None:
            kwargs["device"] = _META
        if what == 3 and (device is None or torch.device(device).type == "meta") and \
                "out" not in kwargs and "names" not in kwargs:
            # on meta a zeros/ones is an empty of the same size, dtype and flags (its values do
            # not exist), without PyTorch's Python meta kernel for the fill
            return torch.empty(*args, **kwargs)
        return func(*args, **kwargs)


def build_meta(name: str, **overrides) -> nn.Module:
    """``zoo.build(name, **overrides)`` on the meta device, skipping weight initialisation
    (meaningless without storage): shapes, parameters and buffers are those of the real build."""
    return _build_meta(name, overrides)[0]


def _build_meta(name: str, overrides: dict) -> tuple[nn.Module, _Tree]:
    from . import registry

    builder = registry.info(name).builder
    was = getattr(_BUILDING, "on", False)
    _install_resets()
    _BUILDING.on = True
    try:
        with _MetaBuild():
            model = builder(**overrides)
    finally:
        _BUILDING.on = was
        _remove_resets()
    tree = _Tree(model)
    if not tree.all_meta():
        model = _to_meta(model)  # a builder that put something on a device of its own
        tree = _Tree(model)
    return model, tree


def _to_meta(model: nn.Module) -> nn.Module:
    """A copy of ``model`` on the meta device; the original (and its weights) is left untouched."""
    memo = {}
    for t in list(model.parameters()) + list(model.buffers()):
        m = torch.empty_like(t, device="meta")
        memo[id(t)] = nn.Parameter(m, requires_grad=t.requires_grad) if isinstance(t, nn.Parameter) else m
    return copy.deepcopy(model, memo)


@contextlib.contextmanager
def _no_gc():
    """Pause the cyclic garbage collector: building a model makes thousands of small objects, and
    the collections they trigger scan all of torch's (the cold build of a large model took 3× as
    long). Reference counting still frees everything; the collector resumes afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def analyze(name_or_model: str | nn.Module, resolution: int | tuple | None = None, *,
            input_channels: int = 3, **overrides) -> Analysis:
    """Per-layer shapes, parameters, MACs and memory of a registered model or of any ``nn.Module``.

    ``resolution``: the input side (or ``(H, W)``); default: the model's registered resolution
    (224 for a bare module). ``overrides`` go to the builder (``zoo.build(name, **overrides)``).
    The input is ``(1, input_channels, H, W)``.
    Runs on the meta device; a module given with real weights is copied there, not modified.
    Raises ``KeyError`` for an unknown name and ``ValueError`` when the model cannot run at the
    resolution (too small for its pooling, for instance).
    """
    with _no_gc():
        return _analyze(name_or_model, resolution, input_channels, overrides)


def _analyze(name_or_model, resolution, input_channels, overrides) -> Analysis:
    from . import registry

    if isinstance(name_or_model, str):
        mi = registry.info(name_or_model)
        name = mi.name
        model, tree = _build_meta(name, overrides)
        restore = None
        if resolution is None:  # a builder may know its own (EfficientNet with phi=…)
            own = getattr(model, "resolution", None)
            resolution = own if isinstance(own, int) and overrides else mi.resolution
    elif isinstance(name_or_model, nn.Module):
        if overrides:
            raise TypeError("overrides only apply to a registered model name")
        model = name_or_model
        name = type(model).__name__
        if resolution is None:
            own = getattr(model, "resolution", None)
            resolution = own if isinstance(own, int) else 224
        tree = _Tree(model)
        if not tree.all_meta():
            model = _to_meta(model)
            tree = _Tree(model)
            restore = None
        else:
            restore = [(m, m.training) for _, m in tree.named]
    else:
        raise TypeError(f"expected a model name or an nn.Module, got {type(name_or_model).__name__}")

    h, w = _pair(resolution)
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in (h, w)):
        raise ValueError(f"resolution must be a positive integer or (H, W), got {resolution!r}")
    h, w = int(h), int(w)
    x = torch.empty(1, input_channels, h, w, device="meta")
    tree.eval(model)
    try:
        t = _run(model, x, tree=tree)
    except (RuntimeError, ValueError, IndexError) as e:
        raise ValueError(f"{name} cannot run at {h}×{w}: {e}") from e
    finally:
        if restore is not None:
            for m, training in restore:
                m.training = training
    total = sum(p.numel() for p in tree.params)
    used = sum(layer.params for layer in t.layers)
    outs = _tensors(t.output)
    return Analysis(
        name=name,
        resolution=resolution,
        layers=t.layers,
        total_params=total,
        unused_params=total - used,
        input_shape=tuple(x.shape),
        output_shape=tuple(outs[0].shape) if outs else (),
        model_type=type(model).__name__,
        module_types={n: type(m).__name__ for n, m in t.modules.items()},
        block_names=t.block_names,
    )
