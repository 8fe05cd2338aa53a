"""What each torch function is, what it costs, and the one place where costs are computed.

The counting core (used by the trace, :mod:`zoo.costs`, ``zoo.experiments`` and the lessons):

* MACs of a convolution or a matrix product are PyTorch's own ``torch.utils.flop_counter``
  formulas divided by two (``conv_flop_count``, ``mm_flop``), or, for composite functions
  (``matmul``, ``einsum``, ``scaled_dot_product_attention``, ``multi_head_attention_forward``…),
  what ``FlopCounterMode`` counts while they run, halved. So the engine's MACs are
  ``FlopCounterMode`` / 2 by construction.
* Memory access (ShuffleNet v2, Ma et al. 2018, arXiv 1807.11164, §2): elements read plus elements
  written, weights included: :func:`mem_access`.
* Output shapes are torch's, without its meta kernels where those are Python: on the meta device
  torch runs convolutions, pooling windows, ``mm`` and most pointwise ops through Python reference
  code (batch norm ~0.7 ms a call, hardswish 1.2 ms; ``torch.cat``'s first call imports
  torch._dynamo, 2 s), and that code checks shapes with ``torch._check``, whose first call in a
  process imports ``torch.fx.experimental.symbolic_shapes`` and sympy (0.5-1 s, more than a whole
  analysis). So the output is allocated on meta from the shape torch documents for the op: a
  convolution's and a pooling window's side ``(n + 2p - d(k - 1) - 1) / s + 1`` (floor, or
  torch's ceil mode), a linear layer's ``(…, out_features)``, an elementwise op's broadcast, a
  concatenation's inputs side by side, adaptive pooling's ``output_size``, a mean's input without
  the reduced axes. Tests compare each with torch's kernel. Anything unusual (mixed dtypes,
  transposed convolutions, shapes that do not fit, an output of size 0) runs torch's kernel, so
  torch raises its own error.
"""
from __future__ import annotations

import inspect
import math
from functools import lru_cache

import torch
from torch.utils import flop_counter

META = torch.device("meta")

# --- what each torch function is ------------------------------------------------------------
# Recognised by name (``torch.add``, ``Tensor.add`` and ``x + y`` all arrive as "add").
# "view" ops only re-describe memory; "meta" ones ask about a tensor. Neither is a layer.
OPS: dict[str, str] = {}
for _kind, _names in {
    "conv": "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d",
    "linear": "linear",
    "matmul": ("matmul linalg_matmul __matmul__ __rmatmul__ mm bmm addmm baddbmm addbmm einsum tensordot "
               "scaled_dot_product_attention multi_head_attention_forward"),
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
    "meta": ("__get__ dim size numel stride element_size is_floating_point is_contiguous __len__ "
             "__bool__ __index__ __int__ __float__ __format__ __repr__ __hash__ __eq__ "
             "empty empty_like new_empty"),
}.items():
    for _n in _names.split():
        OPS[_n] = _kind

# canonical names of functional layers: "x += y" and "x.add_(y)" are both an "add"
CANON = {n: n.strip("_") for n in OPS}
for _n in ("add", "sub", "mul", "matmul"):
    CANON[f"__i{_n}__"] = CANON[f"__r{_n}__"] = _n
CANON.update({"__truediv__": "div", "__itruediv__": "div", "__rtruediv__": "div", "rsub": "sub"})
TRANSPOSES = {"transpose", "permute", "swapaxes", "movedim"}
DROPOUTS = {"dropout", "dropout2d", "alpha_dropout", "feature_alpha_dropout"}
CONV_KINDS = ("conv", "pointwise", "depthwise", "grouped")

# The order in which a leaf module's kind is decided from the ops it ran (a Conv2dSame pads,
# then convolves: it is a convolution).
PRECEDENCE = {k: i for i, k in enumerate(
    ("conv", "pointwise", "depthwise", "grouped", "linear", "matmul", "pool", "norm", "act",
     "shuffle", "concat", "add", "mul", "other"))}


def arg(args, kwargs, i, name, default=None):
    """Positional argument ``i`` or keyword ``name`` of a call."""
    if len(args) > i:
        return args[i]
    return kwargs.get(name, default) if kwargs else default


def tensors(obj) -> list[torch.Tensor]:
    """Every tensor in ``obj`` (nested tuples, lists and dicts), in order."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in tensors(o)]
    return tensors(list(obj.values())) if isinstance(obj, dict) else []


def _pair(v, n: int = 2) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


# --- the counting core ------------------------------------------------------------------------

def conv_macs(x_shape, w_shape, out_shape, transposed: bool = False) -> int:
    """MACs of a convolution: ``flop_counter.conv_flop_count`` / 2, i.e. output positions × C_out ×
    (C_in / groups) × k…k (a transposed one: input positions × every weight)."""
    if len(x_shape) == len(w_shape) - 1:  # unbatched: torch adds the batch of 1 before counting
        x_shape, out_shape = (1, *x_shape), (1, *out_shape)
    return flop_counter.conv_flop_count(list(x_shape), list(w_shape), list(out_shape), transposed) // 2


def linear_macs(x_shape, w_shape) -> int:
    """MACs of ``F.linear``: the matrix product of the (rows, in) input by the (in, out) weight."""
    return flop_counter.mm_flop((math.prod(x_shape[:-1]), w_shape[1]), (w_shape[1], w_shape[0])) // 2


def mem_access(read: int, written: int, weights: int = 0) -> int:
    """Memory access cost in ShuffleNet v2's sense: elements read + elements written, weights
    included (for a 1×1 convolution h·w·(c1 + c2) + c1·c2)."""
    return read + written + weights


def flop_counter_macs(func, args, kwargs) -> tuple[object, int]:
    """Run ``func`` under ``FlopCounterMode``: (its output, the MACs it counted)."""
    with flop_counter.FlopCounterMode(display=False) as fc:
        out = func(*args, **kwargs)
    return out, fc.get_total_flops() // 2


def conv2d_cost(h: int, w: int, c_in: int, c_out: int, kernel, stride=1, padding=0, dilation=1,
                groups: int = 1, bias: bool = False) -> dict:
    """One 2-d convolution on a (1, c_in, h, w) input, from its hyperparameters alone.

    The output shape is the trace's (torch's kernel where the kernel does not fit, so it raises
    ``RuntimeError``); the counts are the trace's. Returns ``dict(macs, flops, params, mem_access,
    out_h, out_w)``; memory access reads the input and the weights and writes the output.
    """
    x = torch.empty(1, c_in, h, w, device=META)
    wt = torch.empty(c_out, c_in // groups, *_pair(kernel), device=META)
    call = (x, wt, None, stride, padding, dilation, groups)
    out = _conv("conv2d", call, {})
    out = torch.nn.functional.conv2d(*call) if out is None else out  # torch raises where it does not fit
    macs = conv_macs(x.shape, wt.shape, out.shape)
    params = wt.numel() + (c_out if bias else 0)
    return {"macs": macs, "flops": 2 * macs, "params": params, "out_h": out.shape[2],
            "out_w": out.shape[3], "mem_access": mem_access(x.numel(), out.numel(), params)}


def conv_details(fname: str, args, kwargs, out) -> tuple:
    """(kind, MACs, kernel, stride, groups) of a convolution call. The kind: ``pointwise`` (1×1),
    ``conv`` (k×k), ``depthwise`` (a group per input channel) or ``grouped``."""
    x, w = args[0], arg(args, kwargs, 1, "weight")
    transposed = fname.startswith("conv_transpose")
    groups = arg(args, kwargs, 7 if transposed else 6, "groups", 1)
    kernel = tuple(w.shape[2:])
    if groups == 1:
        kind = "pointwise" if all(k == 1 for k in kernel) else "conv"
    else:
        kind = "depthwise" if groups == x.shape[-len(kernel) - 1] else "grouped"
    return (kind, conv_macs(x.shape, w.shape, out.shape, transposed), kernel,
            _pair(arg(args, kwargs, 3, "stride", 1), len(kernel)), groups)


def window(fname: str, args, kwargs) -> tuple:
    """(kernel, stride) of a pooling call with a window, else (None, None)."""
    if not fname.startswith(("max_pool", "avg_pool", "lp_pool", "_max_pool")):
        return None, None
    i = 2 if fname.startswith("lp_pool") else 1
    k = arg(args, kwargs, i, "kernel_size")
    return _pair(k), _pair(arg(args, kwargs, i + 1, "stride") or k)


def spatial(x, dims) -> bool:
    """Whether ``x.mean(dims)`` reduces only spatial axes (``x.mean((2, 3))``: global pooling)."""
    if not isinstance(x, torch.Tensor) or x.dim() < 3 or dims is None:
        return False
    dims = {d % x.dim() for d in _pair(dims, 1)}
    return bool(dims) and min(dims) >= 2


# --- outputs without torch's Python reference kernels -----------------------------------------

@lru_cache(maxsize=None)
def _inplace_at(func) -> int | None:
    """Position of ``func``'s ``inplace`` parameter (``F.relu(x, inplace=True)``), if it has one."""
    try:
        names = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return None
    return names.index("inplace") if "inplace" in names else None


def _inplace(func, fname: str, args, kwargs) -> bool:
    if fname.endswith("_") and not fname.startswith("__") or fname.startswith("__i"):
        return True
    i = _inplace_at(func)
    return bool(i is not None and arg(args, kwargs, i, "inplace", False))


def _new(shape, like: torch.Tensor) -> torch.Tensor:
    return torch.empty(shape, dtype=like.dtype, device=META)


def broadcast(a, b) -> tuple | None:
    """The broadcast of two shapes (numpy's rule, which torch follows: aligned at the right, each
    pair of sides equal or one of them 1), or None where they do not broadcast. Not
    ``torch.broadcast_shapes``: its reference code imports torch.fx's symbolic shapes (sympy)."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    if any(i != j and 1 not in (i, j) for i, j in zip(a, b)):
        return None
    return tuple(j if i == 1 else i for i, j in zip(a, b))


def _binary(a, b):
    """The broadcast shape of ``a ∘ b`` (same dtype, or a float tensor and a Python number)."""
    if not isinstance(a, torch.Tensor):
        a, b = b, a
    if isinstance(b, torch.Tensor):
        if b.dtype != a.dtype or not b.is_meta:
            return None
        return a.shape if a.shape == b.shape else broadcast(a.shape, b.shape)
    return a.shape if type(b) in (int, float) and a.is_floating_point() else None


def _reduce(x: torch.Tensor, dims, keepdim: bool, dtype):
    """``x.mean(dims)`` / ``amax``: the reduced axes dropped, or kept as 1."""
    if dims is None or dtype is not None or x.dim() == 0:
        return None
    dims = {d % x.dim() for d in _pair(dims, 1)}
    return _new([1 if i in dims else n for i, n in enumerate(x.shape) if keepdim or i not in dims], x)


def _adaptive(fname: str, x: torch.Tensor, size):
    """Adaptive pooling: ``output_size`` (None keeps the input's size on that axis)."""
    nd = int(fname[-2])
    size = _pair(size, nd)
    if x.dim() not in (nd + 1, nd + 2) or len(size) != nd:
        return None
    return _new((*x.shape[:-nd], *(i if o is None else o for i, o in zip(x.shape[-nd:], size))), x)


def _concat(fname: str, ts, dim: int):
    """``torch.cat`` / ``stack``: the inputs side by side along ``dim``."""
    if not all(isinstance(t, torch.Tensor) and t.is_meta and t.dtype == ts[0].dtype for t in ts):
        return None
    first, shapes = ts[0], [list(t.shape) for t in ts]
    if fname == "stack":
        d = dim % (first.dim() + 1)
        return _new((*first.shape[:d], len(ts), *first.shape[d:]), first) if all(
            s == shapes[0] for s in shapes) else None
    if first.dim() == 0 or any(len(s) != first.dim() for s in shapes):
        return None
    d = dim % first.dim()
    if any(s[:d] + s[d + 1:] != shapes[0][:d] + shapes[0][d + 1:] for s in shapes):
        return None
    return _new((*first.shape[:d], sum(s[d] for s in shapes), *first.shape[d + 1:]), first)


def allocate(func, fname: str, kind: str, args, kwargs):
    """The output of an op whose shape is its definition (see the module docstring), allocated
    on meta; None where anything is unusual (mixed dtypes, shapes that do not fit, training mode,
    a dtype argument…): torch runs it then, and raises its own error."""
    x = args[0] if args else kwargs.get("input")
    if kind == "concat":
        ts = arg(args, kwargs, 0, "tensors")
        return _concat(fname, ts, arg(args, kwargs, 1, "dim", 0)) if isinstance(ts, (list, tuple)) and ts else None
    if not isinstance(x, torch.Tensor) or not x.is_meta or kwargs.get("dtype") is not None:
        return None
    if kind == "conv":
        return _conv(fname, args, kwargs)
    if kind in ("add", "mul"):
        shape = _binary(x, args[1]) if len(args) > 1 else None
        if shape is None or not _inplace(func, fname, args, kwargs):
            return None if shape is None else _new(shape, x)
        return x if shape == x.shape else None
    if kind == "pool":
        if fname in ("mean", "amax"):
            return _reduce(x, arg(args, kwargs, 1, "dim"), arg(args, kwargs, 2, "keepdim", False), None)
        if fname.startswith(("max_pool", "avg_pool")) and fname[-1] == "d":
            return _pool_window(fname, x, args, kwargs)
        return _adaptive(fname, x, arg(args, kwargs, 1, "output_size")) if fname.startswith("adaptive_avg") else None
    if kind == "other":  # dropout in eval returns its input; anything else runs
        return x if fname in DROPOUTS and not arg(args, kwargs, 2, "training", True) else None
    if kind == "norm" and (fname not in ("batch_norm", "layer_norm", "group_norm", "rms_norm") or (
            fname == "batch_norm" and (arg(args, kwargs, 5, "training", False) or x.dim() < 2
                                       or getattr(arg(args, kwargs, 1, "running_mean"), "shape", None)
                                       != (x.shape[1],)))):
        return None
    if not x.is_floating_point():
        return None
    return x if _inplace(func, fname, args, kwargs) else _new(x.shape, x)


def window_side(n: int, k: int, s: int, p: int = 0, d: int = 1, ceil: bool = False) -> int:
    """One spatial side of a convolution's or pooling window's output, as torch's ``Conv2d`` and
    ``MaxPool2d`` documentation give it: ``floor((n + 2p - d(k - 1) - 1) / s) + 1``; in ceil mode
    rounded up, unless the last window would start in the right padding."""
    o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    return o - 1 if ceil and (o - 1) * s >= n + p else o


def _sides(v, nd: int):
    """An int or a sequence of ints for each of ``nd`` spatial axes (torch repeats one value)."""
    v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    v = v * nd if len(v) == 1 else v
    return v if len(v) == nd and all(type(i) is int for i in v) else None


@lru_cache(maxsize=1024, typed=True)
def _conv_geometry(nd: int, stride, padding, dilation):
    """(stride, padding or "same", dilation) per spatial axis, or None where torch should judge;
    asked once per distinct setting (a network has a handful)."""
    stride, dilation = _sides(stride, nd), _sides(dilation, nd)
    padding = "same" if padding == "same" else _sides(0 if padding == "valid" else padding, nd)
    if None in (stride, dilation, padding) or min(stride) < 1 or min(dilation) < 1 or (
            padding == "same" and max(stride) > 1) or (padding != "same" and min(padding) < 0):
        return None
    return stride, padding, dilation


_CONV_ND = {"conv1d": 1, "conv2d": 2, "conv3d": 3}


def _conv(fname: str, args, kwargs):
    """``conv{1,2,3}d``: (B, C_out, side…); None for transposed, unbatched or unusual calls."""
    nd = _CONV_ND.get(fname)
    if nd is None:
        return None
    x, w, b = args[0], arg(args, kwargs, 1, "weight"), arg(args, kwargs, 2, "bias")
    groups = arg(args, kwargs, 6, "groups", 1)
    if not (isinstance(w, torch.Tensor) and w.is_meta and w.dtype is x.dtype and x.dim() == w.dim() == nd + 2
            and type(groups) is int and groups >= 1 and x.shape[1] == w.shape[1] * groups
            and w.shape[0] % groups == 0 and x.is_floating_point()):
        return None
    if b is not None and not (isinstance(b, torch.Tensor) and b.is_meta and b.dtype is x.dtype
                              and tuple(b.shape) == (w.shape[0],)):
        return None
    geometry = _conv_geometry(nd, *(tuple(v) if isinstance(v, list) else v for v in (
        arg(args, kwargs, 3, "stride", 1), arg(args, kwargs, 4, "padding", 0), arg(args, kwargs, 5, "dilation", 1))))
    if geometry is None:
        return None
    stride, padding, dilation = geometry
    if padding == "same":
        sides = tuple(x.shape[2:])
    else:
        sides = tuple(window_side(n, k, s, p, d)
                      for n, k, s, p, d in zip(x.shape[2:], w.shape[2:], stride, padding, dilation))
    if min(sides) < 1:
        return None
    return _new((x.shape[0], w.shape[0], *sides), x)


def _pool_window(fname: str, x: torch.Tensor, args, kwargs):
    """``max_pool{1,2,3}d`` / ``avg_pool{1,2,3}d``: the input with each spatial side windowed."""
    nd = int(fname[-2])
    if fname.startswith("max_pool"):
        if arg(args, kwargs, 6, "return_indices", False):
            return None
        d, ceil = arg(args, kwargs, 4, "dilation", 1), arg(args, kwargs, 5, "ceil_mode", False)
    else:
        d, ceil = 1, arg(args, kwargs, 4, "ceil_mode", False)
    k = _sides(arg(args, kwargs, 1, "kernel_size"), nd)
    s = arg(args, kwargs, 2, "stride")
    s = k if s is None or (isinstance(s, (tuple, list)) and not s) else _sides(s, nd)
    p, d = _sides(arg(args, kwargs, 3, "padding", 0), nd), _sides(d, nd)
    if None in (k, s, p, d) or type(ceil) is not bool or x.dim() not in (nd + 1, nd + 2) or min(s) < 1 \
            or min(k) < 1 or min(d) < 1 or any(not 0 <= pi <= ((ki - 1) * di + 1) // 2 for pi, ki, di in zip(p, k, d)):
        return None
    sides = tuple(window_side(n, *w, ceil) for n, w in zip(x.shape[-nd:], zip(k, s, p, d)))
    return _new((*x.shape[:-nd], *sides), x) if min(sides) >= 1 else None


def linear(x: torch.Tensor, w, b) -> torch.Tensor | None:
    """``F.linear``'s output on meta, ``(…, out_features)``; None where torch should run (and
    raise): sizes that do not fit, a bias of the wrong size, mixed dtypes."""
    if not (x.is_meta and isinstance(w, torch.Tensor) and w.is_meta and w.dim() == 2 and x.dim() >= 2
            and w.dtype == x.dtype and x.shape[-1] == w.shape[1]):
        return None
    if b is not None and not (isinstance(b, torch.Tensor) and b.is_meta and b.dtype == x.dtype
                              and tuple(b.shape) in ((), (w.shape[0],))):
        return None
    return _new((*x.shape[:-1], w.shape[0]), x)


SHORTCUT = {"conv", "add", "mul", "norm", "act", "shuffle", "other", "pool", "concat"}
