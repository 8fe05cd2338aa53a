"""Building on the meta device and recording the layers of one forward pass.

Nothing here changes torch: a model is built under :class:`SkipInit`, a ``TorchFunctionMode`` that
puts factories naming no device on meta (as ``torch.device("meta")`` does) and returns weight
initialisation at once on meta tensors, which have no values to fill. It is traced by
:class:`Trace`, a ``TorchFunctionMode`` that sees every torch function the forward calls, together
with torch's public global forward hooks, registered while a trace runs and removed when it ends.
Leaf modules are layers; functional ops written in a block's ``forward`` (``out += identity``,
``torch.cat``, the channel shuffle's view-transpose-view, ``scale * x``) become layers of their
own.
"""
from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager

import torch
import torch.nn as nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.overrides import TorchFunctionMode

from . import ops
from .ops import OPS, arg, tensors
from .labels import is_block, is_se
from .result import Layer

# In-place ops that only write values, never shapes, and torch.nn.init's functions that dispatch as
# torch functions (seen whole): on a meta tensor they return it at once.
_INIT_NAMES = (
    "normal_ uniform_ zero_ fill_ erfinv_ mul_ add_ sub_ div_ clamp_ clamp_min_ clamp_max_ copy_ "
    "exponential_ bernoulli_ random_ log_normal_ geometric_ cauchy_ abs_ neg_ sqrt_ exp_ "
    "fill_diagonal_ constant_ ones_ zeros_ eye_ dirac_ xavier_uniform_ xavier_normal_ "
    "kaiming_uniform_ kaiming_normal_ trunc_normal_ orthogonal_ sparse_").split()
# Factories that take a device: built on meta unless they name one (what ``torch.device("meta")``
# does for them). zeros and ones only fill: on meta an empty tensor of the same size is the same.
_FACTORIES = (torch.empty, torch.empty_strided, torch.empty_permuted, torch.full, torch.arange,
              torch.eye, torch.linspace, torch.logspace, torch.rand, torch.randn, torch.randint,
              torch.randperm, torch.tensor, torch.as_tensor, torch.asarray, torch.scalar_tensor)
_FILLS = (torch.zeros, torch.ones)


def _factory(func, args, kwargs):
    if kwargs.get("device") is None:
        kwargs["device"] = ops.META
    return func(*args, **kwargs)


def _fill(func, args, kwargs):
    if kwargs.get("device") is None:
        kwargs["device"] = ops.META
    if kwargs["device"] in ("meta", ops.META) and "out" not in kwargs and "names" not in kwargs:
        return torch.empty(*args, **kwargs)
    return func(*args, **kwargs)


def _skip(func, args, kwargs):
    t = args[0] if args else kwargs.get("tensor", kwargs.get("input"))
    return t if isinstance(t, torch.Tensor) and t.is_meta else func(*args, **kwargs)


_BUILD = {f: _factory for f in _FACTORIES} | {f: _fill for f in _FILLS} | {
    f: _skip for n in _INIT_NAMES for f in (getattr(torch.Tensor, n, None), getattr(torch, n, None), getattr(nn.init, n, None))
    if f is not None}


class SkipInit(TorchFunctionMode):
    """Builds on the meta device with initialisation skipped: factories that name no device make
    meta tensors (as under ``torch.device("meta")``), and initialising a meta tensor costs nothing
    (on meta torch still runs each through Python reference code: a ``kaiming_normal_`` ~1.5 ms).
    One mode, one dictionary look-up per torch function: a model's build calls thousands."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        handler = _BUILD.get(func)
        if handler is None:
            return func(*args, **(kwargs or {}))
        return handler(func, args, dict(kwargs) if kwargs else {})


def build_meta(builder, **kwargs) -> nn.Module:
    """``builder(**kwargs)`` on the meta device, in eval mode, weight initialisation skipped:
    shapes, parameters and buffers are those of the real build."""
    with SkipInit():
        model = builder(**kwargs)
    return model.eval()


_CURRENT = threading.local()  # the trace running in this thread, if any


def _pre(module, args):
    t = _CURRENT.__dict__.get("trace")
    if t is not None:
        t.pre_hook(module, args)


def _post(module, args, output):
    t = _CURRENT.__dict__.get("trace")
    if t is not None:
        t.post_hook(module, args, output)


# torch's public global forward hooks, registered while at least one trace runs (in any thread)
# and removed when the last one ends: two handles, not two per module of the model.
_HOOKS_LOCK = threading.Lock()
_hooks = {"traces": 0, "handles": ()}


@contextmanager
def _global_hooks():
    with _HOOKS_LOCK:
        if not _hooks["traces"]:
            _hooks["handles"] = (register_module_forward_pre_hook(_pre), register_module_forward_hook(_post))
        _hooks["traces"] += 1
    try:
        yield
    finally:
        with _HOOKS_LOCK:
            _hooks["traces"] -= 1
            if not _hooks["traces"]:
                for h in _hooks["handles"]:
                    h.remove()
                _hooks["handles"] = ()


class Index:
    """What a trace needs to know of a model, read once (a cached model keeps its index)."""

    def __init__(self, model: nn.Module):
        self.root = model
        self.named: dict[str, nn.Module] = {}
        self.names: dict[int, str] = {}
        self.types: dict[str, str] = {}
        self.leaf: set[int] = set()
        # per module: its own parameters, and their elements plus its floating-point buffers'
        self.own: dict[int, tuple] = {}
        self.params: dict[int, torch.Tensor] = {}
        self.weights: set[int] = set()
        self.blocks: set[str] = set()
        self.se_units: set[str] = set()
        kinds: dict[tuple, tuple] = {}  # (class, is a leaf) -> (is_se, is_block): both read the class
        for n, m in model.named_modules():  # one walk of the module tree
            i, cls, leaf = id(m), type(m), next(m.children(), None) is None
            self.named[n], self.names[i], self.types[n] = m, n, cls.__name__
            params, buffers = tuple(m.parameters(recurse=False)), tuple(m.buffers(recurse=False))
            self.own[i] = (params, sum(p.numel() for p in params)
                           + sum(b.numel() for b in buffers if b.is_floating_point()))
            self.params.update((id(p), p) for p in params)
            self.weights.update(id(t) for t in (*params, *buffers))
            if leaf:
                self.leaf.add(i)
            if n:
                k = kinds.get((cls, leaf))
                if k is None:
                    k = kinds[cls, leaf] = (is_se(m), is_block(m))
                if k[0]:
                    self.se_units.add(n)
                if k[1]:
                    self.blocks.add(n)
        self.total_params = sum(p.numel() for p in self.params.values())


class Trace(TorchFunctionMode):
    """Records the layers of ``model(x)``: :meth:`run`."""

    def __init__(self, index: Index):
        super().__init__()
        self.ix = index
        self.layers: list[Layer] = []
        self.producer: dict[int, int] = {}   # id(tensor) -> index of the layer that wrote it
        self.info: dict[int, tuple] = {}     # id(tensor) -> (shape, elements, bytes)
        self.keep: list = []                 # keeps traced tensors alive so their ids stay unique
        self.counted: set[int] = set()       # parameters already given to a layer
        # the module stack: [name, module, leaf layer or None, index of its first functional layer]
        self.stack: list[list] = [["", index.root, None, None]]
        self.counts: Counter = Counter()     # functional op names per module, for "add_1"
        self.shuffle: Layer | None = None    # a channel shuffle whose last view is still to come
        self.view_source: dict[int, tuple] = {}  # id(view) -> shape of the tensor it views
        self.uncounted: Counter = Counter()
        self.uncounted_macs = 0

    def run(self, x: torch.Tensor):
        """``model(x)`` without gradients, its modules seen by torch's global forward hooks (the
        model's own hook lists are not touched; other threads' calls pass the hooks unrecorded)."""
        previous = _CURRENT.__dict__.get("trace")
        _CURRENT.trace = self
        try:
            with _global_hooks(), torch.no_grad(), self:
                out = self.ix.root(x)
        finally:
            _CURRENT.trace = previous
        self._module_params(self.stack[0], self.ix.root)
        return out

    def _describe(self, t: torch.Tensor, fresh: bool = False) -> tuple:
        """(shape, elements, bytes) of a tensor, read once: the handler describes what each
        function returns (there tensor reads are direct; in the hooks each would pass through
        the mode)."""
        d = None if fresh else self.info.get(id(t))
        if d is None:
            n = t.numel()
            d = self.info[id(t)] = (tuple(t.shape), n, n * t.element_size())
            self.keep.append(t)  # its id stays its own
        return d

    def _take_params(self, params) -> int:
        """Elements of the parameters no layer has been given yet (each is counted once)."""
        n, counted = 0, self.counted
        for p in params:
            if id(p) not in counted:
                counted.add(id(p))
                n += p.numel()
        return n

    # --- module hooks ------------------------------------------------------------------------
    def pre_hook(self, module, args):
        mid, ix = id(module), self.ix
        name = ix.names.get(mid)
        if name is None or (module is ix.root and mid not in ix.leaf):
            return
        layer = None
        if mid in ix.leaf:  # a leaf module is one layer
            self.shuffle = None
            ts = tensors(args)
            ds = [self._describe(t) for t in ts]
            name = name or type(module).__name__
            layer = Layer(0, name, name, type(module).__name__, "", in_shape=ds[0][0] if ds else (),
                          in_shapes=tuple(d[0] for d in ds), mem_access=sum(d[1] for d in ds),
                          inputs=tuple(self.producer.get(id(t), -1) for t in ts))
        self.stack.append([name, module, layer, None])

    def post_hook(self, module, args, output):
        mid, ix = id(module), self.ix
        if mid not in ix.names or (module is ix.root and mid not in ix.leaf):
            return
        frame = self.stack.pop()
        layer = frame[2]
        if layer is None:
            return self._module_params(frame, module)
        ts = tensors(output)
        ds = [self._describe(t) for t in ts]
        layer.out_shape = ds[0][0] if ds else ()
        own, weights = ix.own[mid]
        layer.params = self._take_params(own)
        if not layer.kind:  # ran no op that does work: an alias (Identity, Dropout, Flatten)
            layer.kind, layer.mem_access = "other", 0
        else:
            layer.act_elems, layer.act_bytes = sum(d[1] for d in ds), sum(d[2] for d in ds)
            layer.mem_access = ops.mem_access(layer.mem_access, layer.act_elems, weights)
        layer.flops = 2 * layer.macs
        self._add(layer, ts)

    def _module_params(self, frame, module) -> None:
        """A non-leaf module's own parameters that no layer read as an argument (a class token
        used through a view, say) go to the first functional layer of its forward."""
        own = self._take_params(self.ix.own[id(module)][0])
        if own and frame[3] is not None:
            self.layers[frame[3]].params += own
        elif own:
            name = frame[0]
            self._add(Layer(0, f"{name}.parameters" if name else "parameters", name,
                            type(module).__name__, "other", params=own), [])

    def _add(self, layer: Layer, outputs: list) -> None:
        layer.index = len(self.layers)
        self.layers.append(layer)
        for t in outputs:
            self.producer[id(t)] = layer.index

    # --- every torch function ----------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        fname = getattr(func, "__name__", "")
        kind = OPS.get(fname)
        if kind == "meta":
            return func(*args, **kwargs)
        out, macs = self._call(func, fname, kind, args, kwargs)
        first = args[0] if args else None
        top = self.stack[-1]
        functional = top[2] is None
        if kind is None:
            return out
        if kind == "view" or (kind == "other" and fname in ops.DROPOUTS and out is first) or (
                fname in ("mean", "amax") and not ops.spatial(first, arg(args, kwargs, 1, "dim"))):
            if functional:  # a view (or dropout in eval, a mean over channels) makes no layer
                self._view(top, fname, first, out)
            return out
        kernel = stride = groups = None
        if kind == "conv":
            kind, macs, kernel, stride, groups = ops.conv_details(fname, args, kwargs, out)
        elif kind == "linear" and not macs:
            macs = ops.linear_macs(first.shape, arg(args, kwargs, 1, "weight").shape)
        elif kind == "pool":
            kernel, stride = ops.window(fname, args, kwargs)
        if not functional:  # inside a leaf module: the work is the module's
            leaf = top[2]
            leaf.macs += macs
            if kernel is not None:
                leaf.kernel, leaf.stride, leaf.groups = kernel, stride, groups
            if not leaf.kind or ops.PRECEDENCE[kind] < ops.PRECEDENCE[leaf.kind]:
                leaf.kind = kind
            return out
        ins = tensors(first) if kind == "concat" else tensors([*args, *kwargs.values()])
        layer = self._new(top, kind, fname, ins, out)
        layer.kernel, layer.stride, layer.groups, layer.macs, layer.flops = kernel, stride, groups, macs, 2 * macs
        layer.params = self._take_params(t for t in ins if id(t) in self.ix.params)
        return out

    def _call(self, func, fname: str, kind: str | None, args, kwargs) -> tuple:
        """Run one function: (its output, the MACs FlopCounterMode counted in it, where it ran).
        A function the engine does not know runs under FlopCounterMode too: what it finds there
        is reported in ``uncounted``, not added."""
        out, macs = None, 0
        if kind is None or kind == "matmul" or (kind == "linear" and args[0].dim() < 2):
            out, macs = ops.flop_counter_macs(func, args, kwargs)
            if kind is None and macs:
                self.uncounted[fname] += 1
                self.uncounted_macs, macs = self.uncounted_macs + macs, 0
        elif kind in ops.SHORTCUT:
            out = ops.allocate(func, fname, kind, args, kwargs)
        elif kind == "linear":
            out = ops.linear(args[0], arg(args, kwargs, 1, "weight"), arg(args, kwargs, 2, "bias"))
        if out is None:
            out = func(*args, **kwargs)
        for t in tensors(out):
            self._describe(t, fresh=True)
        return out, macs

    def _view(self, top, fname, first, out) -> None:
        """A view aliases its input, except the channel shuffle's transpose (ShuffleNet: view to
        (B, g, C/g, H, W), transpose, view back), which is a layer reading and writing (B, C, H, W)."""
        if not isinstance(first, torch.Tensor):
            return
        if fname in ops.TRANSPOSES and first.dim() >= 5:
            layer = self._new(top, "shuffle", "channel_shuffle", [first], out)
            src = self.view_source.get(id(first))
            if src is not None:
                layer.in_shape, layer.in_shapes = src, (src,)
            self.shuffle = layer
            return
        if isinstance(out, torch.Tensor):
            if self.shuffle is not None and self.producer.get(id(first)) == self.shuffle.index:
                self.shuffle.out_shape = tuple(out.shape)
            self.view_source[id(out)] = self.view_source.get(id(first), tuple(first.shape))
        p = self.producer.get(id(first))
        if p is not None:
            for t in tensors(out):
                self.producer[id(t)] = p

    def _new(self, top, kind, fname, ins, out) -> Layer:
        """A functional layer named after its module and op ("layer1.0.add", then "add_1")."""
        ctx, op = top[0], ops.CANON.get(fname, fname)
        key = f"{ctx}.{op}" if ctx else op
        n = self.counts[key]
        self.counts[key] = n + 1
        self.shuffle = None
        data = [t for t in ins if id(t) not in self.ix.weights]  # weights are read, not inputs
        outs = [self.info[id(t)] for t in tensors(out)]
        shapes = tuple(self.info[id(t)][0] if id(t) in self.info else tuple(t.shape) for t in data)
        act = sum(d[1] for d in outs)
        layer = Layer(0, key if n == 0 else f"{key}_{n}", ctx, op, kind,
                      in_shape=shapes[0] if shapes else (), in_shapes=shapes,
                      out_shape=outs[0][0] if outs else (), act_elems=act,
                      act_bytes=sum(d[2] for d in outs),
                      inputs=tuple(self.producer.get(id(t), -1) for t in data),
                      mem_access=ops.mem_access(sum(t.numel() for t in ins), act))
        self._add(layer, tensors(out))
        if top[3] is None:
            top[3] = layer.index
        return layer
