"""Building on the meta device and recording the layers of one forward pass.

Nothing here changes torch: a model is built under ``torch.device("meta")`` with :class:`SkipInit`
(a ``TorchFunctionMode`` that returns weight initialisation at once on meta tensors, which have no
values to fill), and traced by :class:`Trace`, a ``TorchFunctionMode`` that sees every torch
function the forward calls, together with forward hooks registered on the model's own modules and
removed when the trace ends. Leaf modules are layers; functional ops written in a block's
``forward`` (``out += identity``, ``torch.cat``, the channel shuffle's view-transpose-view,
``scale * x``) become layers of their own.
"""
from __future__ import annotations

import threading
from collections import Counter

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

from . import ops
from .ops import OPS, arg, tensors
from .labels import is_block, is_se
from .result import Layer

# In-place ops that only write values, never shapes, and torch.nn.init's functions (they
# dispatch as torch functions, so they are seen whole): on a meta tensor they return it at once.
_INIT = frozenset(
    "normal_ uniform_ zero_ fill_ erfinv_ mul_ add_ sub_ div_ clamp_ clamp_min_ clamp_max_ copy_ "
    "exponential_ bernoulli_ random_ log_normal_ geometric_ cauchy_ abs_ neg_ sqrt_ exp_ "
    "fill_diagonal_ constant_ ones_ zeros_ eye_ dirac_ xavier_uniform_ xavier_normal_ "
    "kaiming_uniform_ kaiming_normal_ trunc_normal_ orthogonal_ sparse_".split())
# Factories whose only work is the fill: on meta an empty tensor of the same size is the same.
_FILLS = {torch.zeros: torch.empty, torch.ones: torch.empty}


class SkipInit(TorchFunctionMode):
    """Use inside ``torch.device("meta")``: initialisation of meta tensors costs nothing (on meta
    torch still runs each through Python reference code: a ``kaiming_normal_`` ~1.5 ms)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in _INIT:
            t = args[0] if args else kwargs.get("tensor", kwargs.get("input"))
            if isinstance(t, torch.Tensor) and t.is_meta:
                return t
        else:
            empty = _FILLS.get(func)
            if empty is not None and kwargs.get("device") in (None, "meta", ops.META) \
                    and "out" not in kwargs and "names" not in kwargs:
                return empty(*args, **kwargs)
        return func(*args, **kwargs)


def build_meta(builder, **kwargs) -> nn.Module:
    """``builder(**kwargs)`` on the meta device, in eval mode, weight initialisation skipped:
    shapes, parameters and buffers are those of the real build."""
    with torch.device("meta"), SkipInit():
        model = builder(**kwargs)
    return model.eval()


_CURRENT = threading.local()  # the trace running in this thread, if any


def _pre_hook(module, args):
    t = _CURRENT.__dict__.get("trace")
    if t is not None:
        t.pre_hook(module, args)


def _post_hook(module, args, output):
    t = _CURRENT.__dict__.get("trace")
    if t is not None:
        t.post_hook(module, args, output)


class Index:
    """What a trace needs to know of a model, read once (a cached model keeps its index), and
    the forward hooks on the model's modules, which record into this thread's trace, if any."""

    def __init__(self, model: nn.Module):
        self.root = model
        self.named = dict(model.named_modules())
        self.names = {id(m): n for n, m in self.named.items()}
        self.leaf = {id(m) for m in self.named.values() if next(m.children(), None) is None}
        # per module: its own parameters, and their elements plus its floating-point buffers'
        self.own: dict[int, tuple] = {}
        for m in self.named.values():
            params = tuple(m.parameters(recurse=False))
            floats = sum(b.numel() for b in m.buffers(recurse=False) if b.is_floating_point())
            self.own[id(m)] = (params, sum(p.numel() for p in params) + floats)
        self.params = {id(p): p for p in model.parameters()}
        self.weights = set(self.params) | {id(b) for b in model.buffers()}
        self.total_params = sum(p.numel() for p in self.params.values())
        self.types = {n: type(m).__name__ for n, m in self.named.items()}
        self.blocks = {n for n, m in self.named.items() if n and is_block(m)}
        self.se_units = {n for n, m in self.named.items() if n and is_se(m)}
        self.handles: list = []

    def attach(self) -> None:
        for m in self.named.values():
            self.handles += [m.register_forward_pre_hook(_pre_hook), m.register_forward_hook(_post_hook)]

    def detach(self) -> None:
        while self.handles:
            self.handles.pop().remove()


class Trace(TorchFunctionMode):
    """Records the layers of ``model(x)``: :meth:`run`."""

    def __init__(self, index: Index):
        super().__init__()
        self.ix = index
        self.tid = threading.get_ident()
        self.layers: list[Layer] = []
        self.producer: dict[int, int] = {}   # id(tensor) -> index of the layer that wrote it
        self.keep: list = []                 # keeps traced tensors alive so their ids stay unique
        self.counted: set[int] = set()       # parameters already given to a layer
        # the module stack: [name, module, leaf layer or None, index of its first functional layer]
        self.stack: list[list] = [["", index.root, None, None]]
        self.counts: Counter = Counter()     # functional op names per module, for "add_1"
        self.pending_shuffle: Layer | None = None
        self.view_source: dict[int, tuple] = {}  # id(view) -> shape of the tensor it views
        self.uncounted: Counter = Counter()
        self.uncounted_macs = 0
        self.info: dict[int, tuple] = {}     # id(tensor) -> (shape, elements, bytes)

    def run(self, x: torch.Tensor):
        """``model(x)`` without gradients; the index's hooks must be attached."""
        previous = _CURRENT.__dict__.get("trace")
        _CURRENT.trace = self
        try:
            with torch.no_grad(), self:
                out = self.ix.root(x)
        finally:
            _CURRENT.trace = previous
        self._module_params(self.stack[0], self.ix.root)
        return out

    def _describe(self, t: torch.Tensor) -> tuple:
        """(shape, elements, bytes) of a tensor, read once. In the mode's handler tensor reads
        are direct; in the hooks each would pass through the mode, so they look here first."""
        d = self.info.get(id(t))
        if d is None:
            shape = tuple(t.shape)
            n = t.numel()
            d = self.info[id(t)] = (shape, n, n * t.element_size())
            self.keep.append(t)  # its id stays its own
        return d

    def _note(self, out) -> None:
        """Describe what a function returned (called in the handler)."""
        for t in tensors(out):
            shape = tuple(t.shape)
            n = t.numel()
            self.info[id(t)] = (shape, n, n * t.element_size())
            self.keep.append(t)

    # --- module hooks (they run outside the mode's handler: tensor reads pass through it) ---
    def _take_params(self, params) -> int:
        n = 0
        for p in params:
            if id(p) not in self.counted:
                self.counted.add(id(p))
                n += p.numel()
        return n

    def pre_hook(self, module, args):
        if threading.get_ident() != self.tid:
            return
        mid = id(module)
        name = self.ix.names.get(mid)
        if name is None or (module is self.ix.root and mid not in self.ix.leaf):
            return
        if mid not in self.ix.leaf:
            self.stack.append([name, module, None, None])
            return
        self.pending_shuffle = None
        ts = tensors(args)
        ds = [self._describe(t) for t in ts]
        shapes = tuple(d[0] for d in ds)
        name = name or type(module).__name__
        layer = Layer(0, name, name, type(module).__name__, "", in_shape=shapes[0] if ts else (),
                      in_shapes=shapes, inputs=tuple(self.producer.get(id(t), -1) for t in ts),
                      mem_access=sum(d[1] for d in ds))
        self.stack.append([name, module, layer, None])

    def post_hook(self, module, args, output):
        if threading.get_ident() != self.tid:
            return
        mid = id(module)
        if mid not in self.ix.names or (module is self.ix.root and mid not in self.ix.leaf):
            return
        frame = self.stack.pop()
        layer = frame[2]
        if layer is None:
            self._module_params(frame, module)
            return
        ts = tensors(output)
        ds = [self._describe(t) for t in ts]
        layer.out_shape = ds[0][0] if ts else ()
        own, weights = self.ix.own[mid]
        layer.params = self._take_params(own)
        if not layer.kind:  # ran no op that does work: an alias (Identity, Dropout, Flatten)
            layer.kind, layer.mem_access = "other", 0
        else:
            layer.act_elems = sum(d[1] for d in ds)
            layer.act_bytes = sum(d[2] for d in ds)
            layer.mem_access = ops.mem_access(layer.mem_access, layer.act_elems, weights)
        layer.flops = 2 * layer.macs
        self._add(layer, ts)

    def _module_params(self, frame, module) -> None:
        """A non-leaf module's own parameters that no layer read as an argument (a class token
        used through a view, say) go to the first functional layer of its forward."""
        own = self._take_params(self.ix.own[id(module)][0])
        if not own:
            return
        if frame[3] is not None:
            self.layers[frame[3]].params += own
        else:
            name = frame[0]
            self._add(Layer(0, f"{name}.parameters" if name else "parameters", name,
                            type(module).__name__, "other", params=own), [])

    def _add(self, layer: Layer, outputs: list) -> None:
        layer.index = len(self.layers)
        self.layers.append(layer)
        for t in outputs:
            self.producer[id(t)] = layer.index
        self.keep.append(outputs)

    def _alias(self, src, out) -> None:
        p = self.producer.get(id(src))
        if p is not None:
            outs = tensors(out)
            for t in outs:
                self.producer[id(t)] = p
            self.keep.append(outs)

    # --- every torch function --------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        fname = getattr(func, "__name__", "")
        kind = OPS.get(fname)
        if kind == "meta":  # (the mode is per thread: other threads never get here)
            return func(*args, **kwargs)
        if kind is None:  # unknown: whatever FlopCounterMode would count in it is reported
            out, macs, _ = ops.flop_counter_macs(func, args, kwargs)
            if macs:
                self.uncounted[fname] += 1
                self.uncounted_macs += macs
            self._note(out)
            return out
        out, macs = None, 0
        if kind in ops.SHORTCUT:
            out = ops.elementwise(func, fname, kind, args, kwargs)
        elif kind == "linear" and args[0].dim() >= 2:
            out = ops.linear(args[0], arg(args, kwargs, 1, "weight"), arg(args, kwargs, 2, "bias"))
        elif kind == "matmul" or (kind == "linear" and args[0].dim() < 2):
            out, macs, _ = ops.flop_counter_macs(func, args, kwargs)
        if out is None:
            out = func(*args, **kwargs)
        self._note(out)
        top = self.stack[-1]
        leaf = top[2]
        if leaf is None:
            return self._functional(top, func, fname, kind, args, kwargs, out, macs)
        if kind == "view" or kind == "other" and fname in ops.DROPOUTS and out is args[0]:
            return out
        k = kind
        if kind == "conv":
            k, macs, leaf.kernel, leaf.stride, leaf.groups = self._conv(fname, args, kwargs, out)
        elif kind == "linear" and not macs:
            macs = ops.linear_macs(args[0].shape, arg(args, kwargs, 1, "weight").shape)
        elif kind == "pool":
            self._pool_details(leaf, fname, args, kwargs)
        leaf.macs += macs
        if not leaf.kind or ops.PRECEDENCE[k] < ops.PRECEDENCE[leaf.kind]:
            leaf.kind = k
        return out

    @staticmethod
    def _conv(fname, args, kwargs, out) -> tuple:
        """(kind, MACs, kernel, stride, groups) of a convolution call."""
        x, w = args[0], arg(args, kwargs, 1, "weight")
        transposed = fname.startswith("conv_transpose")
        groups = arg(args, kwargs, 7 if transposed else 6, "groups", 1)
        kernel = tuple(w.shape[2:])
        stride = arg(args, kwargs, 3, "stride", 1)
        stride = tuple(stride) if isinstance(stride, (tuple, list)) else (stride,) * len(kernel)
        macs = ops.conv_macs(x.shape, w.shape, out.shape, transposed)
        return ops.conv_kind(x.shape[-len(kernel) - 1], kernel, groups), macs, kernel, stride, groups

    @staticmethod
    def _pool_details(layer: Layer, fname, args, kwargs) -> None:
        if fname.startswith(("max_pool", "avg_pool", "lp_pool", "_max_pool")):
            i = 2 if fname.startswith("lp_pool") else 1
            k = arg(args, kwargs, i, "kernel_size")
            s = arg(args, kwargs, i + 1, "stride") or k
            layer.kernel = tuple(k) if isinstance(k, (tuple, list)) else (k, k)
            layer.stride = tuple(s) if isinstance(s, (tuple, list)) else (s, s)

    @staticmethod
    def _spatial(x, dims) -> bool:
        """Whether ``x.mean(dims)`` reduces only spatial axes (``x.mean((2, 3))``: global pooling)."""
        if not isinstance(x, torch.Tensor) or x.dim() < 3 or dims is None:
            return False
        dims = {d % x.dim() for d in ((dims,) if isinstance(dims, int) else dims)}
        return bool(dims) and min(dims) >= 2

    def _functional(self, top, func, fname, kind, args, kwargs, out, macs):
        """An op in a (non-leaf) module's own forward: a layer of its own, unless it is a view."""
        first = args[0] if args else None
        if kind == "view":
            # the channel shuffle (ShuffleNet): view to (B, g, C/g, H, W), transpose, view back
            if fname in ops.TRANSPOSES and isinstance(first, torch.Tensor) and first.dim() >= 5:
                layer = self._new(top, "shuffle", "channel_shuffle", [first], out)
                src = self.view_source.get(id(first))
                if src is not None:
                    layer.in_shape, layer.in_shapes = src, (src,)
                self.pending_shuffle = layer
                return out
            if isinstance(first, torch.Tensor) and isinstance(out, torch.Tensor):
                ps = self.pending_shuffle
                if ps is not None and self.producer.get(id(first)) == ps.index:
                    ps.out_shape = tuple(out.shape)
                self.view_source[id(out)] = self.view_source.get(id(first), tuple(first.shape))
            self._alias(first, out)
            return out
        if kind == "pool" and fname in ("mean", "amax") and not self._spatial(first, arg(args, kwargs, 1, "dim")):
            self._alias(first, out)  # a reduction over channels or batch is not pooling
            return out
        if kind == "other" and fname in ops.DROPOUTS and out is first:
            self._alias(first, out)  # dropout in eval
            return out
        ins = tensors(first) if kind == "concat" else tensors([*args, *kwargs.values()])
        layer = self._new(top, kind, fname, ins, out)
        if kind == "conv":
            layer.kind, macs, layer.kernel, layer.stride, layer.groups = self._conv(fname, args, kwargs, out)
        elif kind == "linear" and not macs:
            macs = ops.linear_macs(args[0].shape, arg(args, kwargs, 1, "weight").shape)
        elif kind == "pool":
            self._pool_details(layer, fname, args, kwargs)
        layer.macs, layer.flops = macs, 2 * macs
        layer.params = self._take_params(t for t in ins if id(t) in self.ix.params)
        return out

    def _new(self, top, kind, fname, ins, out) -> Layer:
        ctx = top[0]
        key = f"{ctx}.{ops.CANON.get(fname, fname)}" if ctx else ops.CANON.get(fname, fname)
        n = self.counts[key]
        self.counts[key] = n + 1
        outs = tensors(out)
        self.pending_shuffle = None
        data = [t for t in ins if id(t) not in self.ix.weights]  # weights are read, not inputs
        shapes = tuple(tuple(t.shape) for t in data)
        act = sum(t.numel() for t in outs)
        layer = Layer(0, key if n == 0 else f"{key}_{n}", ctx, ops.CANON.get(fname, fname), kind,
                      in_shape=shapes[0] if data else (), in_shapes=shapes,
                      out_shape=tuple(outs[0].shape) if outs else (),
                      inputs=tuple(self.producer.get(id(t), -1) for t in data), act_elems=act,
                      act_bytes=sum(t.numel() * t.element_size() for t in outs),
                      mem_access=ops.mem_access(sum(t.numel() for t in ins), act))
        self._add(layer, outs)
        if top[3] is None:
            top[3] = layer.index
        return layer
