"""Measured speed on this machine: the atlas's one timer, with its spread, threads, processor and load.

Counting MACs is not measuring speed: ShuffleNet v2 (Ma et al., "ShuffleNet V2: Practical
Guidelines for Efficient CNN Architecture Design", ECCV 2018, arXiv 1807.11164, §1–2) makes that
its first point, and asks that speed be measured on the target platform. This module is how the
atlas measures, everywhere:

* **One clock**: ``torch.utils.benchmark.Timer`` (``blocked_autorange``: it picks how many calls
  make one block so that the clock's own overhead is negligible, and warms up while doing so),
  with the torch thread count fixed for the measurement and restored afterwards, in
  ``torch.inference_mode``, fp32, batch 1 unless asked otherwise.
* **Repeats with their spread**: every figure is the median over at least ``MIN_REPEATS`` (5)
  repeats, with the interquartile range (IQR) and min–max beside it. A repeat is one
  ``blocked_autorange`` (the median of its blocks); the repeats are taken in rounds spread over
  the measurement, and when several configurations are compared (:func:`time_many`) they take
  turns within each round, so a burst of work from another program lands on all of them alike
  instead of on whichever happened to be running, and shows up as spread.
* **Conditions beside the numbers**: the processor, the thread count, the number of logical CPUs,
  the 1-minute load average and the torch version (:func:`machine`).
* **A difference is called a difference only when it is larger than the spread**:
  :func:`differs` is true when the two interquartile ranges do not overlap; otherwise the pages say
  :data:`NOISE` ("within noise on this machine") and never "saves −9 %".

:func:`profile` breaks one forward pass into the layers ``zoo.analyze`` lists (same names, same
order) and times each of them; see its docstring for how and why.

The weights are the builder's random initialisation: speed does not depend on their values (no
sparsity tricks here). torch only; nothing here imports streamlit.
"""
from __future__ import annotations

import math
import os
import platform
import statistics
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Callable, Iterator, Mapping, Sequence

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode
from torch.utils.benchmark import Timer

from . import fmt

__all__ = ["MIN_REPEATS", "NOISE", "Machine", "machine", "processor_name", "load_1min", "torch_threads",
           "serving_threads", "SERVING_THREADS_ENV", "Timing", "time_callable", "time_many", "measure", "differs", "speed_ratio", "compare_words",
           "change_words", "fmt_ms", "KIND_GROUPS", "kind_group", "LayerTime", "Profile", "profile"]

MIN_REPEATS = 5
NOISE = "within noise on this machine"

Progress = Callable[[float, str], None] | None


# --- where a measurement was taken -------------------------------------------------------------

def processor_name() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown processor"


def load_1min() -> float:
    """The 1-minute load average (runnable processes), NaN where the OS does not report it."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return float("nan")


@dataclass(frozen=True)
class Machine:
    """The conditions of a measurement: processor, torch threads, logical CPUs, load, torch."""

    processor: str
    threads: int
    cpus: int
    load_1min: float
    torch: str

    def label(self) -> str:
        """``"AMD EPYC, 1 torch thread (2 logical CPUs, 1-min load 1.49), torch 2.13.0"``."""
        t = self.threads
        load = "unknown" if math.isnan(self.load_1min) else f"{self.load_1min:.2f}"
        return (f"{self.processor}, {t} torch thread{'s' if t != 1 else ''} "
                f"({self.cpus} logical CPUs, 1-min load {load}), torch {self.torch}")

    __str__ = label

    def to_dict(self) -> dict:
        return asdict(self)


def machine(threads: int | None = None) -> Machine:
    """This machine now; ``threads``: the count a measurement used (default: torch's current)."""
    return Machine(processor=processor_name(), threads=int(threads or torch.get_num_threads()),
                   cpus=os.cpu_count() or 0, load_1min=load_1min(), torch=torch.__version__.split("+")[0])


@contextmanager
def torch_threads(n: int | None) -> Iterator[int]:
    """Run the body with ``n`` torch intra-op threads (None: leave as is); restore the old count.

    Yields the count in force. The lessons use one thread by default: small layers gain little
    from a second, and on a shared machine a thread waiting for a busy core slows every step.
    """
    old = torch.get_num_threads()
    change = bool(n) and int(n) != old      # cheap when nothing changes: the live stream enters it per frame
    if change:
        torch.set_num_threads(int(n))
    try:
        yield torch.get_num_threads()
    finally:
        if change:
            torch.set_num_threads(old)


SERVING_THREADS_ENV = "CNN_ATLAS_THREADS"


def serving_threads(env: Mapping[str, str] | None = None, cpus: int | None = None) -> int:
    """torch intra-op threads for a server's own inference: half the logical CPUs, at least one
    (``$CNN_ATLAS_THREADS`` overrides; a value that is not a positive integer is ignored).

    A dashboard's forward passes never have the cores to themselves: the browser draws on the
    same laptop, and in a hall other sessions run their own passes. OpenMP threads that outnumber
    the free cores wait for one another at every layer: measured here on 2 cores with other work
    running, EfficientNet-Lite0's forward pass took 428 ms with 2 threads and 33.8 ms with 1
    (median of 5 repeats; 21 ms with 2 threads on an idle machine). The timers (Pareto page,
    design lab, lessons) still choose their own count for a measurement.
    """
    env = os.environ if env is None else env
    value = (env.get(SERVING_THREADS_ENV) or "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, (cpus or os.cpu_count() or 2) // 2)


# --- a timing and its spread ---------------------------------------------------------------------

def _quantile(sorted_xs: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's and torch.utils.benchmark's default)."""
    if len(sorted_xs) == 1:
        return sorted_xs[0]
    pos = q * (len(sorted_xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def fmt_ms(ms: float) -> str:
    """Milliseconds with three significant digits: ``12.3 ms``, ``0.412 ms``, ``1,230 ms``."""
    if ms is None or (isinstance(ms, float) and math.isnan(ms)):
        return fmt.DASH
    if ms >= 1000:
        return f"{fmt.count(ms)} ms"
    return f"{fmt.si(ms).rstrip()} ms"


@dataclass(frozen=True)
class Timing:
    """Time per call of one statement: every repeat kept, summarised by median and spread.

    ``times_ms``: one value per repeat (the median of one ``blocked_autorange``, whose blocks hold
    ``number`` calls each), in the order they were taken. ``batch``: images per call, for images/s.
    """

    label: str
    times_ms: tuple[float, ...]
    number: int
    machine: Machine
    batch: int = 1
    seconds: float = 0.0          # wall time the whole measurement took, warm-up included

    def __post_init__(self):
        if not self.times_ms:
            raise ValueError("a timing needs at least one repeat")

    @property
    def repeats(self) -> int:
        return len(self.times_ms)

    @property
    def threads(self) -> int:
        return self.machine.threads

    @property
    def _sorted(self) -> list[float]:
        return sorted(self.times_ms)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.times_ms)

    @property
    def q1_ms(self) -> float:
        return _quantile(self._sorted, 0.25)

    @property
    def q3_ms(self) -> float:
        return _quantile(self._sorted, 0.75)

    @property
    def iqr_ms(self) -> float:
        return self.q3_ms - self.q1_ms

    @property
    def min_ms(self) -> float:
        return min(self.times_ms)

    @property
    def max_ms(self) -> float:
        return max(self.times_ms)

    @property
    def relative_spread(self) -> float:
        """IQR / median: 0.05 means the middle half of the repeats lie within ±2.5 %."""
        return self.iqr_ms / self.median_ms if self.median_ms else float("nan")

    @property
    def per_second(self) -> float:
        """Images per second at the median: ``batch`` / median time."""
        return 1e3 * self.batch / self.median_ms

    def spread_text(self) -> str:
        """``"IQR 12.1–12.6 ms, 7 repeats"``: the spread as the pages print it."""
        return (f"IQR {fmt.si(self.q1_ms).rstrip()}–{fmt_ms(self.q3_ms)}, "
                f"{self.repeats} repeats")

    def text(self) -> str:
        """``"12.3 ms (IQR 12.1–12.6 ms, 7 repeats)"``."""
        return f"{fmt_ms(self.median_ms)} ({self.spread_text()})"

    def to_dict(self) -> dict:
        return {"label": self.label, "median_ms": self.median_ms, "q1_ms": self.q1_ms, "q3_ms": self.q3_ms,
                "min_ms": self.min_ms, "max_ms": self.max_ms, "mean_ms": self.mean_ms, "repeats": self.repeats,
                "number": self.number, "batch": self.batch, "per_second": self.per_second,
                "seconds": self.seconds, "times_ms": list(self.times_ms), **self.machine.to_dict()}


# --- comparing two timings ----------------------------------------------------------------------

def differs(a: Timing, b: Timing) -> bool:
    """True when the two interquartile ranges do not overlap: a difference beyond the spread."""
    return a.q3_ms < b.q1_ms or b.q3_ms < a.q1_ms


def speed_ratio(base: Timing, other: Timing) -> float:
    """How many times faster ``other`` runs than ``base`` (> 1: faster; < 1: slower), at the medians."""
    return base.median_ms / other.median_ms


def compare_words(base: Timing, other: Timing, base_name: str = "", other_name: str = "") -> str:
    """``other`` against ``base`` in words a lecture can use.

    ``"1.32× slower than 1:1"``, ``"1.10× faster than g = 1"``, or :data:`NOISE` when the
    interquartile ranges overlap. With names: ``"1:12 runs 1.32× slower than 1:1"``.
    """
    if not differs(base, other):
        text = NOISE
        return f"{other_name} vs {base_name}: {text}" if other_name and base_name else text
    r = speed_ratio(base, other)
    words = f"{r:.2f}× faster" if r > 1 else f"{1 / r:.2f}× slower"
    if base_name:
        words += f" than {base_name}"
    return f"{other_name} runs {words}" if other_name else words


def change_words(base: Timing, other: Timing) -> str:
    """The time ``other`` saves against ``base``: ``"saves 12 %"``, ``"costs 9 % more"`` or :data:`NOISE`.

    A negative saving is never printed as one: it is a cost, or noise when the spreads overlap.
    """
    if not differs(base, other):
        return NOISE
    change = other.median_ms / base.median_ms - 1
    return f"saves {fmt.percent(-100 * change, 0)}" if change < 0 else f"costs {fmt.percent(100 * change, 0)} more"


# --- the timer ------------------------------------------------------------------------------------

def _timer(fn: Callable[[], object], threads: int) -> Timer:
    return Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads)


def time_many(fns: Mapping[str, Callable[[], object]], *, threads: int | None = None, repeats: int = MIN_REPEATS,
              budget_s: float = 5.0, warmup: int = 1, batch: int = 1, inference: bool = True,
              progress: Progress = None, what: str = "") -> dict[str, Timing]:
    """Time each callable of ``fns`` in ``repeats`` rounds (at least 5), taking turns, in about ``budget_s``.

    In every round each configuration gets one ``Timer.blocked_autorange`` of about
    ``budget_s / (repeats · len(fns))`` seconds; the median of its blocks is that round's repeat.
    The configurations take turns within a round, in alternating order (A B C, then C B A), so
    that a change in the machine's load lands on all of them alike; the spread across rounds
    then shows how much the load moved the figure. A call slower than its share still gets one
    block per round (plus ``blocked_autorange``'s warm-up call), so slow calls overrun the budget.
    ``progress(fraction, text)`` is told after each block.
    """
    if not fns:
        return {}
    repeats = max(MIN_REPEATS, int(repeats))
    if budget_s <= 0:
        raise ValueError("budget_s must be > 0")
    t0 = time.perf_counter()
    with torch_threads(threads) as used, (torch.inference_mode() if inference else _nothing()):
        m = machine(used)
        timers = {k: _timer(fn, used) for k, fn in fns.items()}
        for fn in fns.values():
            for _ in range(warmup):
                fn()
        share = budget_s / (repeats * len(fns))
        medians: dict[str, list[float]] = {k: [] for k in fns}
        number: dict[str, int] = {}
        keys = list(fns)
        done, total = 0, repeats * len(keys)
        for r in range(repeats):
            for k in (keys if r % 2 == 0 else keys[::-1]):
                meas = timers[k].blocked_autorange(min_run_time=share)
                number[k] = meas.number_per_run
                medians[k].append(1e3 * meas.median)
                done += 1
                if progress:
                    progress(done / total, f"{what + ': ' if what else ''}{k}, repeat {r + 1} of {repeats}")
    seconds = time.perf_counter() - t0
    return {k: Timing(label=k, times_ms=tuple(medians[k]), number=number[k], machine=m, batch=batch,
                      seconds=seconds) for k in fns}


@contextmanager
def _nothing():
    yield


def time_callable(fn: Callable[[], object], *, label: str = "", threads: int | None = None,
                  repeats: int = MIN_REPEATS, budget_s: float = 1.0, warmup: int = 1, batch: int = 1,
                  inference: bool = True, progress: Progress = None) -> Timing:
    """Time one callable: :func:`time_many` with a single configuration."""
    return time_many({label or "call": fn}, threads=threads, repeats=repeats, budget_s=budget_s, warmup=warmup,
                     batch=batch, inference=inference, progress=progress, what=label)[label or "call"]


def _cpu_model(model: str | nn.Module, resolution: int | None, overrides: dict) -> tuple[nn.Module, int, str]:
    from .registry import build, info

    if isinstance(model, str):
        name = model
        resolution = resolution or info(model).resolution
        with torch.device("cpu"):
            module = build(model, **overrides)
        own = getattr(module, "resolution", None)
        if overrides and isinstance(own, int) and resolution == info(model).resolution:
            resolution = own  # a builder knob may set its own input side (EfficientNet's phi)
    else:
        if overrides:
            raise TypeError("builder overrides only apply to a registered model name")
        module, name = model, type(model).__name__
        resolution = resolution or getattr(model, "resolution", None) or 224
    if any(p.is_meta for p in module.parameters()) or any(b.is_meta for b in module.buffers()):
        raise ValueError("a meta-device model cannot be timed: build it on the CPU")
    return module.eval(), int(resolution), name


def measure(model_or_name: str | nn.Module, resolution: int | None = None, *, threads: int | None = None,
            batch: int = 1, repeats: int = MIN_REPEATS, budget_s: float = 2.0, warmup: int = 1,
            name: str | None = None, seed: int = 0, progress: Progress = None, **overrides) -> Timing:
    """Time one forward pass of a zoo model (by name) or of any ``nn.Module`` on this CPU.

    ``resolution``: the input side (default: the model's registered one; 224 for a bare module
    without a ``resolution`` attribute). The input is ``randn(batch, 3, R, R)`` (seeded), the model
    in eval mode under ``torch.inference_mode``. ``threads``: torch threads for the measurement
    (default: the current setting), restored afterwards. ``budget_s``: about how long the timed
    repeats may take (at least ``repeats`` blocks are always taken). ``overrides`` go to the
    builder when a name is given. Returns a :class:`Timing`: ``median_ms``, ``q1_ms``/``q3_ms``
    (the IQR), ``min_ms``/``max_ms``, ``repeats``, ``per_second`` and the ``machine`` it ran on.

    The design lab and the classify pages time a user's module with this, e.g.
    ``measure(my_net, 160, threads=1).text()`` -> ``"3.41 ms (IQR 3.38–3.47 ms, 9 repeats)"``.
    """
    if batch < 1 or repeats < 1 or warmup < 0:
        raise ValueError("batch and repeats must be >= 1 and warmup >= 0")
    module, resolution, default_name = _cpu_model(model_or_name, resolution, overrides)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, resolution, resolution, generator=g)
    label = name or default_name
    return time_callable(lambda: module(x), label=label, threads=threads, repeats=repeats, budget_s=budget_s,
                         warmup=warmup, batch=batch, progress=progress)


# --- per-layer profile ---------------------------------------------------------------------------

# The explorer groups zoo.analyze's kinds the way the lesson speaks of them.
KIND_GROUPS: dict[str, str] = {
    "conv": "k×k conv", "pointwise": "pointwise 1×1", "depthwise": "depthwise", "grouped": "grouped",
    "se": "squeeze-excite", "norm": "normalisation", "act": "activation",
    "add": "elementwise", "mul": "elementwise", "concat": "elementwise", "shuffle": "elementwise",
    "pool": "pooling", "linear": "linear", "other": "other",
}
GROUP_ORDER = ("k×k conv", "pointwise 1×1", "depthwise", "grouped", "squeeze-excite", "normalisation",
               "activation", "elementwise", "pooling", "linear", "other")


def kind_group(kind: str) -> str:
    """The explorer's layer-kind group of a ``zoo.analyze`` kind (``"add"`` -> ``"elementwise"``)."""
    return KIND_GROUPS.get(kind, "other")


@dataclass(frozen=True)
class LayerTime:
    """One layer of :func:`profile`: ``zoo.analyze``'s name, kind and counts, and its measured time."""

    index: int
    name: str
    kind: str
    op: str
    macs: int
    mem_access: int
    params: int
    times_ms: tuple[float, ...]    # one per instrumented run

    @property
    def group(self) -> str:
        return kind_group(self.kind)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else 0.0

    @property
    def q1_ms(self) -> float:
        return _quantile(sorted(self.times_ms), 0.25) if self.times_ms else 0.0

    @property
    def q3_ms(self) -> float:
        return _quantile(sorted(self.times_ms), 0.75) if self.times_ms else 0.0

    @property
    def min_ms(self) -> float:
        return min(self.times_ms) if self.times_ms else 0.0

    @property
    def max_ms(self) -> float:
        return max(self.times_ms) if self.times_ms else 0.0

    def record(self) -> dict:
        return {"index": self.index, "name": self.name, "kind": self.kind, "group": self.group, "op": self.op,
                "macs": self.macs, "mem_access": self.mem_access, "params": self.params,
                "median_ms": self.median_ms, "q1_ms": self.q1_ms, "q3_ms": self.q3_ms,
                "min_ms": self.min_ms, "max_ms": self.max_ms}


PROFILE_METHOD = (
    "Each layer is timed inside real forward passes: a forward pre-hook and a forward hook on every "
    "leaf module of the model read the clock before and after it, and a torch function mode times "
    "the operations a block's own forward calls (the residual add, concatenation, channel shuffle). "
    "The layers get zoo.analyze's names and order. The whole-model time is measured without any hooks "
    "by torch.utils.benchmark, in turns with the instrumented passes so that both meet the same load; "
    "the sum of the layers' medians is compared with it."
)


class _Clock(TorchFunctionMode):
    """Times leaf modules (by hooks) and functional ops outside leaves (by this mode) in one pass.

    Events are ``("module", name, ms)`` or ``("fn", context module name, function name, ms)``.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.names = {id(m): n for n, m in model.named_modules()}
        self.leaf = {id(m): next(m.children(), None) is None for m in model.modules()}
        self.stack: list[tuple[str, bool, float]] = []
        self.events: list[tuple] = []
        self.handles = []

    def run(self, *args):
        """One instrumented forward pass; its events replace the previous ones. The hooks exist only
        for this pass, so the model runs untouched in between."""
        self.events, self.stack = [], []
        for m in self.model.modules():
            self.handles.append(m.register_forward_pre_hook(self._pre))
            self.handles.append(m.register_forward_hook(self._post))
        try:
            with self:
                return self.model(*args)
        finally:
            self.remove()

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []

    def _pre(self, module, args):
        self.stack.append((self.names[id(module)], self.leaf[id(module)], time.perf_counter()))

    def _post(self, module, args, output):
        t1 = time.perf_counter()
        name, leaf, t0 = self.stack.pop()
        if leaf:
            self.events.append(("module", name, 1e3 * (t1 - t0)))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if not self.stack or self.stack[-1][1]:   # inside a leaf: its hooks time it
            return func(*args, **kwargs)
        t0 = time.perf_counter()
        out = func(*args, **kwargs)
        self.events.append(("fn", self.stack[-1][0], getattr(func, "__name__", ""), 1e3 * (time.perf_counter() - t0)))
        return out


_DUNDER = {"add": "add", "iadd": "add", "radd": "add", "sub": "sub", "isub": "sub", "rsub": "sub",
           "mul": "mul", "imul": "mul", "rmul": "mul", "truediv": "div", "itruediv": "div", "rtruediv": "div",
           "matmul": "matmul", "imatmul": "matmul", "rmatmul": "matmul"}
_SHUFFLE_FNS = {"transpose", "permute", "swapaxes", "movedim", "channel_shuffle", "native_channel_shuffle"}


def _canon(fname: str) -> str:
    """A torch function's name as zoo.analyze names the layer: ``__iadd__``/``add_`` -> ``add``."""
    if fname.startswith("__") and fname.endswith("__"):
        return _DUNDER.get(fname[2:-2], fname[2:-2])
    return fname.strip("_")


def _op_matches(layer_op: str, fname: str) -> bool:
    if layer_op == "channel_shuffle":
        return fname in _SHUFFLE_FNS
    return _canon(layer_op) == _canon(fname)


def _assign(layers, leaf_names: set[str], events: list[tuple]) -> tuple[list[float], float]:
    """Time of each analysed layer in one run (same order as ``layers``), and the unassigned time.

    Leaf-module layers take the k-th timed call of that module. Functional layers of a module take
    the timed call of the same function in that module's forward, in order; calls that are not
    layers (views, the copy after a shuffle's transpose) are added to the layer before them in the
    same module (to the next one when none came before).
    """
    module_calls: dict[str, list[float]] = {}
    fn_calls: dict[str, list[tuple[str, float]]] = {}
    for e in events:
        if e[0] == "module":
            module_calls.setdefault(e[1], []).append(e[2])
        else:
            fn_calls.setdefault(e[1], []).append((e[2], e[3]))
    out = [0.0] * len(layers)
    used_module: dict[str, int] = {}
    fn_layers: dict[str, list[int]] = {}
    for i, layer in enumerate(layers):
        if layer.name in leaf_names and layer.module == layer.name:
            k = used_module.get(layer.name, 0)
            calls = module_calls.get(layer.name, [])
            if k < len(calls):
                out[i] = calls[k]
            used_module[layer.name] = k + 1
        elif layer.op:
            fn_layers.setdefault(layer.module, []).append(i)
    unassigned = sum(t for name, calls in module_calls.items() for t in calls[used_module.get(name, 0):])
    for ctx, calls in fn_calls.items():
        idxs = fn_layers.get(ctx, [])
        j = 0            # next functional layer of this module to match
        last = None      # the layer matched most recently
        pending = 0.0    # time of calls seen before the first match
        for fname, ms in calls:
            if j < len(idxs) and _op_matches(layers[idxs[j]].op, fname):
                last = idxs[j]
                out[last] += ms + pending
                pending = 0.0
                j += 1
            elif last is not None:
                out[last] += ms
            else:
                pending += ms
        unassigned += pending
    return out, unassigned


@dataclass(frozen=True)
class Profile:
    """Per-layer times of one model (``layers``, zoo.analyze's order) and the whole-model time."""

    name: str
    resolution: int
    layers: tuple[LayerTime, ...]
    whole: Timing                  # the forward pass without instrumentation
    runs: int                      # instrumented forward passes behind each layer's times
    unassigned_ms: float           # median time of timed calls no analysed layer claims
    seconds: float                 # how long profile() took, model building included
    method: str = PROFILE_METHOD

    @property
    def machine(self) -> Machine:
        return self.whole.machine

    @property
    def layer_sum_ms(self) -> float:
        return sum(layer.median_ms for layer in self.layers)

    @property
    def sum_ratio(self) -> float:
        """Sum of the per-layer medians / whole-model median (1.0: they add up exactly)."""
        return self.layer_sum_ms / self.whole.median_ms

    @property
    def run_sums_ms(self) -> list[float]:
        """Per instrumented pass, the sum of its layers' times."""
        return [sum(layer.times_ms[r] for layer in self.layers) for r in range(self.runs)]

    @property
    def run_ratio(self) -> float:
        """Median over the instrumented passes of (sum of that pass's layers) / whole-model median.

        Within one pass the layers account for its time whatever the load. The sum of the
        per-layer medians (``sum_ratio``) can fall below the whole on a busy machine: another
        program's time slice lands on some layer in every pass, a different one each time, so each
        layer's median leaves it out while every whole pass keeps it."""
        return statistics.median(self.run_sums_ms) / self.whole.median_ms

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def total_mem_access(self) -> int:
        return sum(layer.mem_access for layer in self.layers)

    def records(self) -> list[dict]:
        total_t, total_m, total_a = self.layer_sum_ms or 1.0, self.total_macs or 1, self.total_mem_access or 1
        return [{**layer.record(), "time_share": layer.median_ms / total_t, "macs_share": layer.macs / total_m,
                 "mem_share": layer.mem_access / total_a} for layer in self.layers]

    def by_group(self) -> list[dict]:
        """Per layer-kind group (``KIND_GROUPS``): layers, MACs, memory access, time, and their shares."""
        rows: dict[str, dict] = {}
        for layer in self.layers:
            r = rows.setdefault(layer.group, {"group": layer.group, "layers": 0, "macs": 0, "mem_access": 0,
                                              "ms": 0.0})
            r["layers"] += 1
            r["macs"] += layer.macs
            r["mem_access"] += layer.mem_access
            r["ms"] += layer.median_ms
        total_t, total_m, total_a = self.layer_sum_ms or 1.0, self.total_macs or 1, self.total_mem_access or 1
        out = []
        for g in GROUP_ORDER:
            if g in rows:
                r = rows[g]
                out.append({**r, "time_share": r["ms"] / total_t, "macs_share": r["macs"] / total_m,
                            "mem_share": r["mem_access"] / total_a})
        return out

    def excess(self, n: int = 10) -> list[dict]:
        """The ``n`` layers whose share of the time most exceeds their share of the MACs."""
        rows = [{**r, "excess": r["time_share"] - r["macs_share"]} for r in self.records()]
        return sorted(rows, key=lambda r: r["excess"], reverse=True)[:n]

    def to_dict(self) -> dict:
        return {"name": self.name, "resolution": self.resolution, "runs": self.runs,
                "layer_sum_ms": self.layer_sum_ms, "sum_ratio": self.sum_ratio, "run_ratio": self.run_ratio,
                "unassigned_ms": self.unassigned_ms,
                "seconds": self.seconds, "whole": self.whole.to_dict(), "layers": self.records(),
                "by_group": self.by_group(), "method": self.method}


def profile(name_or_model: str | nn.Module, resolution: int | None = None, threads: int | None = None, *,
            runs: int = 7, seed: int = 0, progress: Progress = None, **overrides) -> Profile:
    """Per-layer latency of one forward pass (batch 1, fp32, inference mode) on this CPU.

    Returns a :class:`Profile`: one :class:`LayerTime` per layer of ``zoo.analyze`` (the same
    names, kinds and order; MACs and memory access from the analysis), each with the median and
    spread of its time over ``runs`` instrumented forward passes (at least 5), and the whole-model
    :class:`Timing` of the same model without instrumentation: before each instrumented pass, one
    ``blocked_autorange`` repeat about one pass long, so that plain and instrumented passes run in
    the same rhythm and meet the same load (a long block of back-to-back passes fares worse on a
    busy machine than a single one, which would bias the comparison).

    How: see ``PROFILE_METHOD``. Hooks on the model's own modules rather than ``torch.profiler``:
    the profiler reports ATen operators (``aten::conv2d`` → ``aten::mkldnn_convolution`` …) that
    would have to be mapped back to modules, and its per-event bookkeeping inflates the small
    layers this view is about; a hook pair per module costs about a microsecond and gives module
    names directly, which are zoo.analyze's names. The hooks' own cost (about a microsecond a
    layer) and the Python between layers, which they cannot see, pull the per-layer sum a little
    above or below the whole (``sum_ratio``).
    """
    from .analysis import analyze

    t0 = time.perf_counter()
    module, resolution, name = _cpu_model(name_or_model, resolution, overrides)
    if isinstance(name_or_model, str):
        a = analyze(name_or_model, resolution, **overrides)
    else:
        a = analyze(module, resolution)
    runs = max(MIN_REPEATS, int(runs))
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 3, resolution, resolution, generator=g)
    leaf_names = {n for n, m in module.named_modules() if next(m.children(), None) is None}
    per_run: list[list[float]] = []
    unassigned: list[float] = []
    whole_ms: list[float] = []
    number = 1
    clock = _Clock(module)
    with torch_threads(threads) as used, torch.inference_mode():
        timer = _timer(lambda: module(x), used)
        module(x)                       # warm-up, plain
        w0 = time.perf_counter()
        clock.run(x)                    # warm-up, instrumented: also tells how long one pass takes
        one_pass = time.perf_counter() - w0
        for r in range(runs):
            # a plain repeat and an instrumented pass in turn, so both meet the same load
            meas = timer.blocked_autorange(min_run_time=max(1e-3, 0.5 * one_pass))
            number = meas.number_per_run
            whole_ms.append(1e3 * meas.median)
            clock.run(x)
            times, rest = _assign(a.layers, leaf_names, clock.events)
            per_run.append(times)
            unassigned.append(rest)
            if progress:
                progress((r + 1) / runs, f"{name}: repeat {r + 1} of {runs} (whole pass, then layer by layer)")
        m = machine(used)
    whole = Timing(label=name, times_ms=tuple(whole_ms), number=number, machine=m, seconds=time.perf_counter() - t0)
    layers = tuple(LayerTime(index=i, name=layer.name, kind=layer.kind, op=layer.op, macs=layer.macs,
                             mem_access=layer.mem_access, params=layer.params,
                             times_ms=tuple(run[i] for run in per_run))
                   for i, layer in enumerate(a.layers))
    return Profile(name=name, resolution=resolution, layers=layers, whole=whole, runs=runs,
                   unassigned_ms=statistics.median(unassigned), seconds=time.perf_counter() - t0)
