"""Measured lessons: the seed paper's claims re-run on this machine, with torch alone.

Three experiments back the lesson pages, each small enough to finish in seconds on a laptop CPU:

1. **ShuffleNet v2's four guidelines** (Ma et al. 2018, "ShuffleNet V2: Practical Guidelines for
   Efficient CNN Architecture Design", arXiv 1807.11164, Tables 1–3 and 5; the seed paper's
   §3.2.1 and Table 4). Each guideline is a controlled benchmark: networks with the *same MACs*
   whose speed differs because of memory access (G1: unequal channel widths; G2: group count),
   parallelism (G3: fragmented branches) or element-wise work (G4: ReLU and shortcut add). We time
   them here and report images per second, always together with the processor and thread count.

2. **Gradient norms at initialisation** (He et al. 2016, "Deep Residual Learning for Image
   Recognition", arXiv 1512.03385, §4.1 Table 2): one forward/backward pass of a plain and a
   residual network on the same batch, and the norm of the gradient of every convolution and
   linear weight, in depth order.

3. **The degradation problem, as a toy** (He et al. 2016 Figure 1 and Figure 6, CIFAR-10
   plain-20/56 vs ResNet): the paper's CIFAR-style networks (6n + 2 layers in three stages of
   widths w, 2w, 4w), narrowed and trained for a few seconds on a synthetic texture task. A deeper
   *plain* network reaches a higher training loss than a shallower one; its residual twin, with
   the same layers plus identity shortcuts, does not. This is a toy reproduction of an
   optimisation effect, not an ImageNet result.

MACs here are multiply-accumulates of the convolutions (FLOPs = 2 × MACs). Nothing here imports
streamlit: the pages pass a ``progress(fraction, text)`` callback.
"""
from __future__ import annotations

import copy
import math
import os
import platform
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

Progress = Callable[[float, str], None] | None


# --- where a measurement was taken -------------------------------------------------------------

def processor_name() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown processor"


def machine(threads: int | None = None) -> dict:
    """Processor, torch threads (``threads`` if given: the count a measurement used) and load."""
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        load = float("nan")
    return {
        "processor": processor_name(),
        "threads": threads or torch.get_num_threads(),
        "cpus": os.cpu_count() or 0,
        "torch": torch.__version__.split("+")[0],
        "load_1min": round(load, 2),
    }


def machine_label(m: dict | None = None, threads: int | None = None) -> str:
    m = m or machine(threads)
    return (f"{m['processor']}, {m['threads']} torch thread{'s' if m['threads'] != 1 else ''} "
            f"({m['cpus']} logical CPUs, 1-min load {m['load_1min']}), torch {m['torch']}")


# --- timing -------------------------------------------------------------------------------------

@contextmanager
def torch_threads(n: int | None):
    """Run the body with ``n`` intra-op threads (None: leave as is), then restore the old count.

    The lessons default to one thread: small layers gain little from more, and on a shared
    machine a second thread waiting for a busy core makes every step many times slower.
    """
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(old)


def time_forward(model: nn.Module, x: torch.Tensor, budget_s: float = 0.3, warmup: int = 1,
                 min_iters: int = 3, max_iters: int = 200, threads: int | None = 1) -> dict:
    """Median wall time of ``model(x)`` in inference mode, repeated for about ``budget_s``.

    The median (not the mean) because the machine is shared: a neighbour's burst lands on a few
    iterations, not on the typical one.
    """
    model.eval()
    times: list[float] = []
    with torch_threads(threads) as used, torch.inference_mode():
        for _ in range(warmup):
            model(x)
        start = time.perf_counter()
        while len(times) < max_iters and (len(times) < min_iters or time.perf_counter() - start < budget_s):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    return {"seconds": sec, "images_per_s": x.shape[0] / sec, "iters": len(times), "threads": used}


def conv_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-accumulates of every convolution in ``model`` for input ``x``.

    Counted by :func:`zoo.analyze` on a meta-device copy (the engine's counting core): no
    arithmetic, and ``model`` is untouched. Convolutions cost the same per image: batch × one.
    """
    from .analysis import analyze
    from .analysis.ops import CONV_KINDS

    a = analyze(model, tuple(x.shape[2:]), input_channels=x.shape[1])
    return x.shape[0] * sum(layer.macs for layer in a.layers if layer.base_kind in CONV_KINDS)


# --- G1: equal channel width minimises memory access cost --------------------------------------

def g1_channels(ratio: int, scale: int = 1, base: int = 128) -> tuple[int, int]:
    """(c1, c2) with c2 = ratio·c1 and c1·c2 ≈ (base·scale)², so every ratio has the same MACs.

    c1 = ⌊base·scale / √ratio⌋. At ×1 this gives (128, 128), (90, 180), (52, 312), (36, 432).
    """
    c1 = math.floor(base * scale / math.sqrt(ratio))
    return c1, ratio * c1


class PointwisePairs(nn.Sequential):
    """G1's benchmark network: ``blocks`` repeats of 1×1 conv c1→c2 then 1×1 conv c2→c1."""

    def __init__(self, c1: int, c2: int, blocks: int = 10):
        layers: list[nn.Module] = []
        for _ in range(blocks):
            layers += [nn.Conv2d(c1, c2, 1, bias=False), nn.Conv2d(c2, c1, 1, bias=False)]
        super().__init__(*layers)


def pointwise_mac(h: int, w: int, c1: int, c2: int, groups: int = 1) -> int:
    """Memory access cost of one 1×1 convolution (ShuffleNet v2 Eq. 1/2): hw(c1 + c2) + c1·c2/g."""
    return h * w * (c1 + c2) + c1 * c2 // groups


def run_g1(ratios: Sequence[int] = (1, 2, 6, 12), scales: Sequence[int] = (1, 2, 4), size: int = 28,
           batch: int = 1, blocks: int = 10, budget_s: float = 0.3, threads: int | None = 1, progress: Progress = None) -> list[dict]:
    """Images/s of the G1 network at each c1:c2 ratio and width scale (MACs equal within a scale)."""
    rows = []
    cases = [(s, r) for s in scales for r in ratios]
    for i, (s, r) in enumerate(cases):
        c1, c2 = g1_channels(r, s)
        if progress:
            progress(i / len(cases), f"G1: ×{s}, c1:c2 = 1:{r} ({c1}→{c2})")
        torch.manual_seed(0)
        net = PointwisePairs(c1, c2, blocks)
        x = torch.randn(batch, c1, size, size)
        t = time_forward(net, x, budget_s, threads=threads)
        rows.append({
            "scale": s, "ratio": f"1:{r}", "c1": c1, "c2": c2,
            "macs": 2 * blocks * size * size * c1 * c2,  # per image
            "mem_access": 2 * blocks * pointwise_mac(size, size, c1, c2),
            "images_per_s": t["images_per_s"], "ms_per_batch": 1e3 * t["seconds"], "iters": t["iters"], "threads": t["threads"],
        })
    if progress:
        progress(1.0, "G1 done")
    return rows


# --- G2: excessive group convolution increases MAC ---------------------------------------------

def g2_channels(groups: int, base: int = 128) -> int:
    """Width c of a g-group 1×1 conv with the MACs of a dense base→base one: c ≈ base·√g.

    Rounded to a multiple of max(4, g) so the groups divide it: 128, 180, 256, 360 for g = 1, 2, 4, 8.
    """
    step = max(4, groups)
    return int(round(base * math.sqrt(groups) / step)) * step


class GroupedPointwise(nn.Sequential):
    """G2's benchmark: ``blocks`` × two g-group 1×1 convolutions c→c."""

    def __init__(self, c: int, groups: int, blocks: int = 10):
        layers: list[nn.Module] = []
        for _ in range(2 * blocks):
            layers.append(nn.Conv2d(c, c, 1, groups=groups, bias=False))
        super().__init__(*layers)


def run_g2(groups: Sequence[int] = (1, 2, 4, 8), base: int = 128, size: int = 28, batch: int = 1,
           blocks: int = 10, budget_s: float = 0.3, threads: int | None = 1, progress: Progress = None) -> list[dict]:
    rows = []
    for i, g in enumerate(groups):
        c = g2_channels(g, base)
        if progress:
            progress(i / len(groups), f"G2: g = {g} (c = {c})")
        torch.manual_seed(0)
        net = GroupedPointwise(c, g, blocks)
        x = torch.randn(batch, c, size, size)
        t = time_forward(net, x, budget_s, threads=threads)
        rows.append({
            "groups": g, "channels": c, "macs": 2 * blocks * size * size * c * c // g,
            "mem_access": 2 * blocks * pointwise_mac(size, size, c, c, g),
            "images_per_s": t["images_per_s"], "ms_per_batch": 1e3 * t["seconds"], "iters": t["iters"], "threads": t["threads"],
        })
    if progress:
        progress(1.0, "G2 done")
    return rows


# --- G3: network fragmentation reduces parallelism ---------------------------------------------

class Fragmented(nn.Module):
    """One block of G3: the same 1×1 work issued as 1, k-in-series or k-in-parallel convolutions.

    ``series``: k convolutions c'→c' in a row with c' = c/√k, so k·c'² = c² (same MACs).
    ``parallel``: k convolutions c→c/k side by side on the same input, concatenated: exactly the
    MACs (and weights) of one c→c convolution, split into k kernels.
    """

    def __init__(self, c: int, fragments: int = 1, layout: str = "series"):
        super().__init__()
        self.layout = layout
        if layout == "series":
            self.branches = nn.ModuleList(nn.Conv2d(c, c, 1, bias=False) for _ in range(fragments))
        elif layout == "parallel":
            if c % fragments:
                raise ValueError(f"{c} channels do not split into {fragments} branches")
            self.branches = nn.ModuleList(nn.Conv2d(c, c // fragments, 1, bias=False) for _ in range(fragments))
        else:
            raise ValueError(f"layout must be 'series' or 'parallel', not {layout!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.layout == "series":
            for conv in self.branches:
                x = conv(x)
            return x
        return torch.cat([conv(x) for conv in self.branches], dim=1)  # k × (B, c/k, H, W) -> (B, c, H, W)


def g3_variants(base: int = 128) -> list[tuple[str, int, int, str]]:
    """(label, width c, fragments, layout): equal MACs per block, as in ShuffleNet v2 Table 3."""
    out = [("1-fragment", base, 1, "series")]
    for k in (2, 4):
        out.append((f"{k}-fragment-series", int(round(base / math.sqrt(k) / 4)) * 4, k, "series"))
    for k in (2, 4):
        out.append((f"{k}-fragment-parallel", base, k, "parallel"))
    return out


def run_g3(base: int = 128, size: int = 28, batch: int = 1, blocks: int = 10, budget_s: float = 0.3,
           threads: int | None = 1, progress: Progress = None) -> list[dict]:
    rows = []
    variants = g3_variants(base)
    for i, (label, c, k, layout) in enumerate(variants):
        if progress:
            progress(i / len(variants), f"G3: {label}")
        torch.manual_seed(0)
        net = nn.Sequential(*[Fragmented(c, k, layout) for _ in range(blocks)])
        x = torch.randn(batch, c, size, size)
        t = time_forward(net, x, budget_s, threads=threads)
        rows.append({
            "variant": label, "channels": c, "fragments": k, "layout": layout,
            "macs": conv_macs(net, x), "kernels_launched": blocks * k,
            "images_per_s": t["images_per_s"], "ms_per_batch": 1e3 * t["seconds"], "iters": t["iters"], "threads": t["threads"],
        })
    if progress:
        progress(1.0, "G3 done")
    return rows


# --- G4: element-wise operations are non-negligible --------------------------------------------

class BottleneckUnit(nn.Module):
    """ResNet's bottleneck (1×1 → 3×3 → 1×1) with the ReLUs and the shortcut add switchable.

    ShuffleNet v2 Table 5 times this unit with and without ReLU and shortcut: same MACs, less
    element-wise work.
    """

    def __init__(self, c: int = 256, mid: int = 64, relu: bool = True, shortcut: bool = True):
        super().__init__()
        self.conv1 = nn.Conv2d(c, mid, 1, bias=False)
        self.conv2 = nn.Conv2d(mid, mid, 3, padding=1, bias=False)
        self.conv3 = nn.Conv2d(mid, c, 1, bias=False)
        self.relu = relu
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)
        if self.relu:
            out = F.relu(out)
        out = self.conv2(out)
        if self.relu:
            out = F.relu(out)
        out = self.conv3(out)
        if self.shortcut:
            out = out + x
        if self.relu:
            out = F.relu(out)
        return out


G4_VARIANTS = (("ReLU + shortcut", True, True), ("no ReLU", False, True),
               ("no shortcut", True, False), ("neither", False, False))


def run_g4(c: int = 256, mid: int = 64, size: int = 28, batch: int = 1, blocks: int = 10,
           budget_s: float = 0.3, threads: int | None = 1, progress: Progress = None) -> list[dict]:
    """Images/s of a bottleneck stack with and without ReLU/shortcut; ``share`` = time saved."""
    rows = []
    for i, (label, relu, shortcut) in enumerate(G4_VARIANTS):
        if progress:
            progress(i / len(G4_VARIANTS), f"G4: {label}")
        torch.manual_seed(0)
        net = nn.Sequential(*[BottleneckUnit(c, mid, relu, shortcut) for _ in range(blocks)])
        x = torch.randn(batch, c, size, size)
        t = time_forward(net, x, budget_s, threads=threads)
        rows.append({"variant": label, "relu": relu, "shortcut": shortcut, "macs": conv_macs(net, x),
                     "images_per_s": t["images_per_s"], "ms_per_batch": 1e3 * t["seconds"], "iters": t["iters"], "threads": t["threads"]})
    full = rows[0]["ms_per_batch"]
    for r in rows:
        r["time_saved"] = 1 - r["ms_per_batch"] / full
    if progress:
        progress(1.0, "G4 done")
    return rows


# --- plain vs residual networks: CIFAR-style, He et al. §4.2 -----------------------------------

class BasicUnit(nn.Module):
    """Two 3×3 conv-BN layers; ``shortcut=True`` adds the input back (He et al. Figure 2)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, shortcut: bool = True):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = shortcut
        self.downsample = None
        if shortcut and (stride != 1 or c_in != c_out):
            # option B of the paper: a 1×1 projection where the shape changes
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.shortcut:
            identity = x if self.downsample is None else self.downsample(x)
            out = out + identity
        return F.relu(out)


class CifarNet(nn.Module):
    """He et al. §4.2: a 3×3 conv, then 3 stages of n units (widths w, 2w, 4w), avg-pool, fc.

    ``depth`` = 6n + 2 weighted layers (20, 32, 44, 56, 110 in the paper).
    """

    def __init__(self, depth: int = 20, width: int = 16, shortcut: bool = True, num_classes: int = 10,
                 in_channels: int = 3):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"depth must be 6n + 2, not {depth}")
        n = (depth - 2) // 6
        self.depth, self.shortcut = depth, shortcut
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        stages = []
        c_in = width
        for i, c in enumerate((width, 2 * width, 4 * width)):
            units = [BasicUnit(c_in if j == 0 else c, c, 2 if (i > 0 and j == 0) else 1, shortcut) for j in range(n)]
            stages.append(nn.Sequential(*units))
            c_in = c
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = nn.Linear(4 * width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))   # (B, 3, H, W) -> (B, w, H, W)
        x = self.layer1(x)
        x = self.layer2(x)                    # -> (B, 2w, H/2, W/2)
        x = self.layer3(x)                    # -> (B, 4w, H/4, W/4)
        x = x.mean((2, 3))                    # -> (B, 4w)
        return self.fc(x)


def cifar_net(depth: int, width: int = 16, shortcut: bool = True, **kw) -> CifarNet:
    return CifarNet(depth, width, shortcut, **kw)


# --- gradient norms at initialisation ----------------------------------------------------------

def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Convolutions and linear layers in forward (registration) order, shortcut projections aside."""
    return [(n, m) for n, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear)) and "downsample" not in n]


def gradient_norms(model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None,
                   seed: int = 0) -> list[dict]:
    """One forward/backward (train-mode BN, cross-entropy); the gradient norm of every weight.

    Returns one row per convolution/linear layer in depth order: ``index`` (1 = first layer),
    ``name``, ``grad_norm`` (‖∂L/∂W‖₂) and ``grad_rms`` (norm / √numel, comparable across sizes).
    """
    model.train()
    model.zero_grad(set_to_none=True)
    out = model(x)
    if target is None:
        g = torch.Generator().manual_seed(seed)
        target = torch.randint(0, out.shape[1], (x.shape[0],), generator=g)
    loss = F.cross_entropy(out, target)
    loss.backward()
    rows = []
    for i, (name, m) in enumerate(weight_layers(model), start=1):
        gr = m.weight.grad
        norm = float(gr.norm()) if gr is not None else 0.0
        rows.append({"index": i, "name": name, "grad_norm": norm,
                     "grad_rms": norm / math.sqrt(m.weight.numel())})
    model.zero_grad(set_to_none=True)
    return rows


# --- the toy degradation run --------------------------------------------------------------------

def texture_task(n: int = 512, size: int = 16, classes: int = 10, noise: float = 0.6, seed: int = 0
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """A deterministic synthetic image task: oriented sinusoidal gratings plus Gaussian noise.

    Class k is a grating at angle k·180°/classes with a random phase, frequency and colour; the
    network must tell orientations apart through the noise. Returns (images (n, 3, s, s), labels).
    """
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % classes
    labels = labels[torch.randperm(n, generator=g)]
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    angle = labels.float() * math.pi / classes
    freq = 2 * math.pi * (0.12 + 0.1 * torch.rand(n, generator=g))
    phase = 2 * math.pi * torch.rand(n, generator=g)
    proj = xs[None] * torch.cos(angle)[:, None, None] + ys[None] * torch.sin(angle)[:, None, None]
    wave = torch.sin(freq[:, None, None] * proj + phase[:, None, None])          # (n, s, s)
    colour = 0.5 + torch.rand(n, 3, generator=g)                                   # (n, 3)
    images = colour[:, :, None, None] * wave[:, None] + noise * torch.randn(n, 3, size, size, generator=g)
    return images, labels


@dataclass(frozen=True)
class RunSpec:
    label: str
    depth: int
    shortcut: bool


DEFAULT_RUNS = (RunSpec("plain-8", 8, False), RunSpec("plain-32", 32, False), RunSpec("ResNet-32", 32, True))


def train_one(spec: RunSpec, images: torch.Tensor, labels: torch.Tensor, batches: Sequence[torch.Tensor],
              width: int = 8, lr: float = 0.05, seed: int = 0,
              on_step: Callable[[int, float], None] | None = None) -> dict:
    """Train one network on ``images[idx]`` for each ``idx`` in ``batches``; its loss per step."""
    torch.manual_seed(seed)
    net = cifar_net(spec.depth, width, spec.shortcut, num_classes=int(labels.max()) + 1)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    net.train()
    losses = []
    t0 = time.perf_counter()
    for i, idx in enumerate(batches):
        loss = F.cross_entropy(net(images[idx]), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if on_step:
            on_step(i, losses[-1])
    seconds = time.perf_counter() - t0
    net.eval()
    with torch.no_grad():
        accuracy = (net(images).argmax(1) == labels).float().mean().item()
    return {"losses": losses, "accuracy": accuracy, "seconds": seconds,
            "params": sum(p.numel() for p in net.parameters())}


def train_run(specs: Iterable[RunSpec] = DEFAULT_RUNS, steps: int = 60, batch: int = 64, width: int = 8,
              size: int = 12, n: int = 512, lr: float = 0.05, seed: int = 0, threads: int | None = 1,
              progress: Progress = None) -> dict:
    """Train each network on the same texture task, same seed, same mini-batches.

    SGD with momentum 0.9 and weight decay 1e-4 as in He et al., a constant learning rate.
    Returns ``{"losses": {label: [loss per step]}, "accuracy": {label: training-set accuracy at
    the end}, "seconds": {label: s}, "params": {label: n}, "settings": {...}}``.
    """
    specs = list(specs)
    images, labels = texture_task(n=n, size=size, seed=seed)
    order = torch.Generator().manual_seed(seed + 1)
    batches = [torch.randint(0, n, (batch,), generator=order) for _ in range(steps)]
    out: dict = {"losses": {}, "accuracy": {}, "seconds": {}, "params": {}}
    total = steps * len(specs)
    with torch_threads(threads) as used:
        for k, spec in enumerate(specs):
            def on_step(i: int, loss: float, k: int = k, spec: RunSpec = spec) -> None:
                if progress and (i % 5 == 4 or i == steps - 1):
                    progress((k * steps + i + 1) / total, f"{spec.label}: step {i + 1}/{steps}, loss {loss:.3f}")

            r = train_one(spec, images, labels, batches, width, lr, seed, on_step)
            for key in ("losses", "accuracy", "seconds", "params"):
                out[key][spec.label] = r[key]
    out["settings"] = {"steps": steps, "batch": batch, "width": width, "size": size, "examples": n,
                       "lr": lr, "seed": seed, "threads": used,
                       "optimizer": "SGD, momentum 0.9, weight decay 1e-4, constant learning rate"}
    return out


def smoothed(values: Sequence[float], window: int = 10) -> list[float]:
    """Trailing moving average (the first points average what there is)."""
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def final_loss(losses: Sequence[float], last: int = 10) -> float:
    """Mean training loss over the last ``last`` steps: the figure the lesson compares."""
    tail = list(losses)[-last:]
    return sum(tail) / len(tail)
