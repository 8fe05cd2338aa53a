"""What each torch function is, what it costs, and the one place where costs are computed.

The counting core (used by the trace, :mod:`zoo.costs`, ``zoo.experiments`` and the lessons):

* MACs of a convolution or a matrix product are PyTorch's own ``torch.utils.flop_counter``
  formulas divided by two (``conv_flop_count``, ``mm_flop``), or, for composite functions
  (``matmul``, ``einsum``, ``scaled_dot_product_attention``, ``multi_head_attention_forward``…),
  what ``FlopCounterMode`` counts while they run, halved. So the engine's MACs are
  ``FlopCounterMode`` / 2 by construction.
* Memory access (ShuffleNet v2, Ma et al. 2018, arXiv 1807.11164, §2): elements read plus elements
  written, weights included: :func:`mem_access`.
* Output shapes come from torch's meta kernels wherever they take arithmetic (convolutions,
  pooling windows, linear layers, matrix products). Only where the shape is the definition of the
  op (an elementwise op's output has its input's shape, or the broadcast of its inputs'; adaptive
  pooling's is its ``output_size``, a mean's the input's without the reduced axes; a
  concatenation's is its inputs' side by side) is the output
  allocated directly: on the meta device torch runs those through Python reference kernels (batch
  norm ~0.7 ms a call, hardswish 1.2 ms; ``torch.cat``'s first call imports torch._dynamo, 2 s),
  which would make the trace ten times slower. Anything unusual (mixed dtypes, shapes that do not
  fit) runs torch's kernel, so torch raises its own error.
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
    if isinstance(obj, dict):
        return tensors(list(obj.values()))
    return []


# --- the counting core ------------------------------------------------------------------------

def conv_macs(x_shape, w_shape, out_shape, transposed: bool = False) -> int:
    """MACs of a convolution: ``flop_counter.conv_flop_count`` / 2, i.e. output positions × C_out ×
    (C_in / groups) × k…k (a transposed one: input positions × every weight)."""
    if len(x_shape) == len(w_shape) - 1:  # unbatched: torch adds the batch of 1 before counting
        x_shape, out_shape = (1, *x_shape), (1, *out_shape)
    return flop_counter.conv_flop_count(list(x_shape), list(w_shape), list(out_shape), transposed) // 2


def linear_macs(x_shape, w_shape) -> int:
    """MACs of ``F.linear``: the matrix product of the (rows, in) input by the (in, out) weight."""
    rows = math.prod(x_shape[:-1])
    return flop_counter.mm_flop((rows, w_shape[1]), (w_shape[1], w_shape[0])) // 2


def conv_kind(c_in: int, kernel, groups: int) -> str:
    """``pointwise`` (1×1), ``conv`` (k×k), ``depthwise`` (one group per channel) or ``grouped``."""
    if groups == 1:
        return "pointwise" if all(k == 1 for k in kernel) else "conv"
    return "depthwise" if groups == c_in else "grouped"


def mem_access(read: int, written: int, weights: int = 0) -> int:
    """Memory access cost in ShuffleNet v2's sense: elements read + elements written, weights
    included (for a 1×1 convolution h·w·(c1 + c2) + c1·c2)."""
    return read + written + weights


def flop_counter_macs(func, args, kwargs) -> tuple[object, int, dict]:
    """Run ``func`` under ``FlopCounterMode``: (its output, the MACs counted, {aten op: MACs})."""
    with flop_counter.FlopCounterMode(display=False) as fc:
        out = func(*args, **kwargs)
    counts = {str(op): n // 2 for op, n in fc.get_flop_counts().get("Global", {}).items()}
    return out, fc.get_total_flops() // 2, counts


def conv2d_cost(h: int, w: int, c_in: int, c_out: int, kernel, stride=1, padding=0, dilation=1,
                groups: int = 1, bias: bool = False) -> dict:
    """One 2-d convolution on a (1, c_in, h, w) input, from its hyperparameters alone.

    The output shape is torch's (its meta kernel, which raises ``RuntimeError`` when the kernel
    does not fit); the counts are the trace's. Returns ``dict(macs, flops, params, mem_access,
    out_h, out_w)``; memory access reads the input and the weights and writes the output.
    """
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = torch.empty(1, c_in, h, w, device=META)
    wt = torch.empty(c_out, c_in // groups, kh, kw, device=META)
    out = torch.nn.functional.conv2d(x, wt, None, stride, padding, dilation, groups)
    macs = conv_macs(x.shape, wt.shape, out.shape)
    params = wt.numel() + (c_out if bias else 0)
    return {"macs": macs, "flops": 2 * macs, "params": params,
            "mem_access": mem_access(x.numel(), out.numel(), params),
            "out_h": out.shape[2], "out_w": out.shape[3]}


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


def elementwise(func, fname: str, kind: str, args, kwargs):
    """The output of an elementwise op on meta tensors (see the module docstring), or None where
    anything is unusual (mixed dtypes, non-float scalars, training mode…): torch runs it then."""
    x = args[0] if args else kwargs.get("input")
    if kind == "concat":
        x = x[0] if isinstance(x, (list, tuple)) and x else None
    if not isinstance(x, torch.Tensor) or not x.is_meta:
        return None
    if kind in ("add", "mul"):
        if len(args) < 2:
            return None
        a, b = args[0], args[1]
        if not isinstance(a, torch.Tensor):
            a, b = b, a
        if isinstance(b, torch.Tensor):
            if b.dtype != a.dtype or not b.is_meta:
                return None
            shape = a.shape if a.shape == b.shape else torch.broadcast_shapes(a.shape, b.shape)
        elif type(b) in (int, float) and a.is_floating_point():
            shape = a.shape
        else:
            return None
        if _inplace(func, fname, args, kwargs):
            return args[0] if shape == args[0].shape else None
        return _new(shape, a)
    if kind == "norm":
        if fname == "batch_norm":
            mean = arg(args, kwargs, 1, "running_mean")
            if arg(args, kwargs, 5, "training", False) or mean is None or x.dim() < 2 \
                    or mean.numel() != x.shape[1]:
                return None
        elif fname not in ("layer_norm", "group_norm", "rms_norm"):
            return None
    elif kind == "other":
        if fname in DROPOUTS and not arg(args, kwargs, 2, "training", True):
            return x  # dropout in eval returns its input
        return None
    elif kind == "concat":
        return _concat(fname, arg(args, kwargs, 0, "tensors"), arg(args, kwargs, 1, "dim", 0))
    elif kind == "pool":
        if fname in ("mean", "amax"):
            return _reduce(x, arg(args, kwargs, 1, "dim"), arg(args, kwargs, 2, "keepdim", False),
                           kwargs.get("dtype"))
        if not fname.startswith("adaptive_avg_pool"):
            return None
        nd = int(fname[-2])
        size = arg(args, kwargs, 1, "output_size")
        size = (size,) * nd if isinstance(size, int) else tuple(size)
        if x.dim() not in (nd + 1, nd + 2) or len(size) != nd:
            return None
        return _new((*x.shape[:-nd], *(i if o is None else o for i, o in zip(x.shape[-nd:], size))), x)
    if _inplace(func, fname, args, kwargs):
        return x
    return _new(x.shape, x)


def _reduce(x: torch.Tensor, dims, keepdim: bool, dtype):
    """``x.mean(dims)`` / ``amax``: the reduced axes dropped, or kept as 1 (on meta torch runs
    its Python reference, whose first call imports torch._dynamo)."""
    if dims is None or dtype is not None or x.dim() == 0:
        return None
    dims = {d % x.dim() for d in ((dims,) if isinstance(dims, int) else dims)}
    shape = [1 if i in dims else n for i, n in enumerate(x.shape) if keepdim or i not in dims]
    return _new(shape, x)


def _concat(fname: str, ts, dim: int):
    """``torch.cat`` / ``stack``: the inputs side by side along ``dim`` (on meta torch runs its
    Python reference, whose first call imports torch._dynamo: 2 s)."""
    if not isinstance(ts, (list, tuple)) or not all(isinstance(t, torch.Tensor) and t.is_meta for t in ts):
        return None
    first = ts[0]
    shapes = [list(t.shape) for t in ts]
    if any(t.dtype != first.dtype for t in ts) or any(len(s) != first.dim() for s in shapes):
        return None
    if fname == "stack":
        if any(s != shapes[0] for s in shapes):
            return None
        d = dim % (first.dim() + 1)
        return _new((*first.shape[:d], len(ts), *first.shape[d:]), first)
    if first.dim() == 0:
        return None
    d = dim % first.dim()
    rest = [s[:d] + s[d + 1:] for s in shapes]
    if any(r != rest[0] for r in rest):
        return None
    return _new((*first.shape[:d], sum(s[d] for s in shapes), *first.shape[d + 1:]), first)


def linear(x: torch.Tensor, w: torch.Tensor, b) -> torch.Tensor | None:
    """``F.linear``'s output on meta: torch's kernel for x·wᵀ, and the bias (which changes no
    shape) left out, since on meta torch runs addmm through Python decompositions that import
    torch._dynamo (seconds, the first time). None where torch should raise or count (a 1-d input,
    a bias of the wrong size)."""
    if x.dim() < 2 or not x.is_meta or (b is not None and tuple(b.shape) not in ((), (w.shape[0],))):
        return None
    return torch.nn.functional.linear(x, w)


SHORTCUT = {"add", "mul", "norm", "act", "shuffle", "other", "pool", "concat"}

# torch's meta kernel for convolutions checks shapes with torch._check, whose first call imports
# torch.fx.experimental.symbolic_shapes (and sympy): ~0.4 s, once per process. Imported with the
# engine, as torch itself is, rather than inside the first analysis.
import torch.fx.experimental.symbolic_shapes  # noqa: E402,F401
