"""Measured lessons: the seed paper's claims re-run on this machine, with torch alone.

Three experiments back the lesson pages, each small enough to finish in seconds on a laptop CPU:

1. **ShuffleNet v2's four guidelines** (Ma et al. 2018, "ShuffleNet V2: Practical Guidelines for
   Efficient CNN Architecture Design", arXiv 1807.11164, §2 and Tables 1–4; the seed paper's
   §3.2.1 and Table 4). Each guideline is a controlled benchmark: networks of 10 blocks whose
   configurations have (nearly) the *same MACs* and differ in memory access (G1: unequal channel
   widths; G2: group count), in fragmentation (G3: one convolution or several small ones) or in
   element-wise work (G4: ReLU and the shortcut add). The sizes follow the paper's ARM columns
   (its single-thread CPU): 56×56 feature maps and its ×1 and ×2 widths (×4 for G1 too). On this
   kind of CPU that is where the effects rise above the noise: at 28×28 the maps of G1 fit the
   caches and the four ratios run within noise of each other. Every configuration is timed with
   :func:`zoo.latency.time_many` (median and spread over at least 5 repeats, configurations
   taking turns) and counted by ``zoo.analyze`` (MACs, and memory access in ShuffleNet v2's sense).

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
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .latency import Timing, compare_words, differs, machine, speed_ratio, time_many, torch_threads

Progress = Callable[[float, str], None] | None


def conv_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-accumulates of every convolution in ``model`` for input ``x``.

    Counted by :func:`zoo.analyze` on a meta-device copy (the engine's counting core): no
    arithmetic, and ``model`` is untouched. Convolutions cost the same per image: batch × one.
    """
    from .analysis import analyze
    from .analysis.ops import CONV_KINDS

    a = analyze(model, tuple(x.shape[2:]), input_channels=x.shape[1])
    return x.shape[0] * sum(layer.macs for layer in a.layers if layer.base_kind in CONV_KINDS)



# --- ShuffleNet v2's guidelines: what every benchmark shares -----------------------------------

FEATURE_SIDE = 56   # Ma et al. 2018, Tables 1-3: "Input image size is 56 × 56"
BLOCKS = 10         # every benchmark network of Ma et al. §2 stacks 10 blocks
BUDGET_S = 8.0      # seconds of timed repeats per guideline by default (all widths together)


@dataclass(frozen=True)
class Case:
    """One configuration of a guideline's benchmark: its network and what it is compared with.

    ``width``: the paper's column (``"×1"``, ``"×2"``…); ``config``: the row (``"1:12"``,
    ``"g = 8"``…); ``base``: the row of the same width it is compared with (``"1:1"``).
    """

    guideline: str
    width: str
    config: str
    base: str
    net: nn.Module
    in_channels: int
    detail: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.width} {self.config}"


def _seeded(net: nn.Module, seed: int = 0, gain: float = 1.0) -> nn.Module:
    """Seeded weights with std gain/√fan_in (gain √2 before ReLUs, He et al. 2015), so activations
    neither vanish nor blow up over 10 blocks: values near zero can fall into slow denormal
    arithmetic, which would time something other than the guideline."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (gain / math.sqrt(fan_in)))
    return net.eval()


def run_cases(cases: Sequence[Case], size: int = FEATURE_SIDE, *, budget_s: float = BUDGET_S,
              threads: int | None = 1, progress: Progress = None, what: str = "") -> dict:
    """Count (``zoo.analyze``) and time (:func:`zoo.latency.time_many`) every case on ``size``² maps.

    Returns ``{"rows", "machine", "size", "budget_s", "seconds"}``; each row has the case's
    fields, ``macs``, ``mem_access`` and ``params`` per image, its ``timing`` (a
    :class:`zoo.latency.Timing`) with ``median_ms``, ``q1_ms``, ``q3_ms``, ``images_per_s``,
    ``repeats``, and against its base: ``speed_vs_base`` (> 1: faster), ``differs`` (beyond the
    spread) and ``verdict`` (the words, e.g. "1.30× slower than 1:1" or "within noise on this machine").
    """
    from .analysis import analyze

    t0 = time.perf_counter()
    fns, rows = {}, []
    for case in cases:
        a = analyze(case.net, resolution=size, input_channels=case.in_channels)
        x = torch.randn(1, case.in_channels, size, size, generator=torch.Generator().manual_seed(1))
        fns[case.key] = (lambda net=case.net, x=x: net(x))
        rows.append({"guideline": case.guideline, "width": case.width, "config": case.config, "base": case.base,
                     **case.detail, "macs": a.total_macs, "mem_access": a.total_mem_access, "params": a.total_params})
    timings = time_many(fns, threads=threads, budget_s=budget_s, progress=progress, what=what)
    for case, row in zip(cases, rows):
        t = timings[case.key]
        row.update(timing=t, median_ms=t.median_ms, q1_ms=t.q1_ms, q3_ms=t.q3_ms, images_per_s=t.per_second,
                   repeats=t.repeats)
    by_key = {(r["width"], r["config"]): r for r in rows}
    for r in rows:
        base = by_key[(r["width"], r["base"])]["timing"]
        r["speed_vs_base"] = speed_ratio(base, r["timing"])
        r["differs"] = r["config"] != r["base"] and differs(base, r["timing"])
        r["verdict"] = "" if r["config"] == r["base"] else compare_words(base, r["timing"], r["base"])
    m = next(iter(timings.values())).machine if timings else machine(threads)
    return {"rows": rows, "machine": m, "size": size, "budget_s": budget_s, "seconds": time.perf_counter() - t0}


def rows_for_json(result: dict) -> dict:
    """A run's result with its timings and machine as plain dicts (for JSON)."""
    rows = [{k: (v.to_dict() if isinstance(v, Timing) else v) for k, v in r.items()} for r in result["rows"]]
    return {**result, "rows": rows, "machine": result["machine"].to_dict()}


# --- G1: equal channel width minimises memory access cost --------------------------------------

G1_RATIOS = (1, 2, 6, 12)


def g1_channels(ratio: int, scale: int = 1, base: int = 32) -> tuple[int, int]:
    """(c1, c2) with c2 = ratio·c1 and c1·c2 ≈ (base·scale)², so every ratio has the same MACs.

    c1 = ⌊base·scale / √ratio⌋. ``base`` 32 gives the paper's ARM pairs (32, 32), (22, 44), (13, 78),
    (9, 108); ``base`` 128 its GPU pairs (128, 128), (90, 180), (52, 312), (36, 432) (Table 1).
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


def g1_cases(base: int = 32, scales: Sequence[int] = (1, 2, 4), ratios: Sequence[int] = G1_RATIOS,
             blocks: int = BLOCKS) -> list[Case]:
    out = []
    for s in scales:
        for r in ratios:
            c1, c2 = g1_channels(r, s, base)
            torch.manual_seed(0)
            out.append(Case("G1", f"×{s}", f"1:{r}", f"1:{ratios[0]}", _seeded(PointwisePairs(c1, c2, blocks)), c1,
                            {"scale": s, "ratio": f"1:{r}", "c1": c1, "c2": c2}))
    return out


def run_g1(size: int = FEATURE_SIDE, *, base: int = 32, scales: Sequence[int] = (1, 2, 4),
           ratios: Sequence[int] = G1_RATIOS, blocks: int = BLOCKS, budget_s: float = BUDGET_S,
           threads: int | None = 1, progress: Progress = None) -> dict:
    """G1 (Ma et al. Table 1): the c1:c2 ratios at each width, MACs held constant within a width."""
    return run_cases(g1_cases(base, scales, ratios, blocks), size, budget_s=budget_s, threads=threads,
                     progress=progress, what="G1")


# --- G2: excessive group convolution increases MAC ---------------------------------------------

G2_GROUPS = (1, 2, 4, 8)


def g2_channels(groups: int, base: int = 64) -> int:
    """Width c of a g-group 1×1 conv with (at most) the MACs of a dense base→base one: c ≈ base·√g.

    Rounded down to a multiple of g, so the groups divide it and the grouped layer never does
    more work than the dense one: ``base`` 128 gives the paper's GPU widths 128, 180, 256, 360
    (Table 2); ``base`` 64 gives 64, 90, 128, 176 (the paper's ARM column prints 180, which 8
    groups do not divide).
    """
    return max(groups, math.floor(base * math.sqrt(groups) / groups) * groups)


class GroupedPointwise(nn.Sequential):
    """G2's benchmark (Ma et al. §2): ``layers`` pointwise group convolutions c→c with g groups."""

    def __init__(self, c: int, groups: int, layers: int = 10):
        super().__init__(*[nn.Conv2d(c, c, 1, groups=groups, bias=False) for _ in range(layers)])


def g2_cases(base: int = 64, scales: Sequence[int] = (1, 2), groups: Sequence[int] = G2_GROUPS,
             blocks: int = BLOCKS) -> list[Case]:
    out = []
    for s in scales:
        for g in groups:
            c = g2_channels(g, base * s)
            torch.manual_seed(0)
            out.append(Case("G2", f"×{s}", f"g = {g}", f"g = {groups[0]}", _seeded(GroupedPointwise(c, g, blocks)), c,
                            {"scale": s, "groups": g, "channels": c}))
    return out


def run_g2(size: int = FEATURE_SIDE, *, base: int = 64, scales: Sequence[int] = (1, 2),
           groups: Sequence[int] = G2_GROUPS, blocks: int = BLOCKS, budget_s: float = BUDGET_S,
           threads: int | None = 1, progress: Progress = None) -> dict:
    """G2 (Ma et al. Table 2): group counts at each width, MACs held (at most) constant."""
    return run_cases(g2_cases(base, scales, groups, blocks), size, budget_s=budget_s, threads=threads,
                     progress=progress, what="G2")


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


G3_STRUCTURES = ("1-fragment", "2-fragment-series", "4-fragment-series", "2-fragment-parallel", "4-fragment-parallel")


def g3_variants(base: int = 64) -> list[tuple[str, int, int, str]]:
    """(structure, width c, fragments, layout) in the order of Ma et al. Table 3; equal MACs per block."""
    out = [("1-fragment", base, 1, "series")]
    for k in (2, 4):
        out.append((f"{k}-fragment-series", int(round(base / math.sqrt(k) / 4)) * 4, k, "series"))
    for k in (2, 4):
        out.append((f"{k}-fragment-parallel", base, k, "parallel"))
    return out


def g3_cases(base: int = 64, scales: Sequence[int] = (1, 2), blocks: int = BLOCKS) -> list[Case]:
    out = []
    for s in scales:
        for label, c, k, layout in g3_variants(base * s):
            torch.manual_seed(0)
            net = _seeded(nn.Sequential(*[Fragmented(c, k, layout) for _ in range(blocks)]))
            out.append(Case("G3", f"×{s}", label, "1-fragment", net, c,
                            {"scale": s, "channels": c, "fragments": k, "layout": layout,
                             "kernels_launched": blocks * k}))
    return out


def run_g3(size: int = FEATURE_SIDE, *, base: int = 64, scales: Sequence[int] = (1, 2), blocks: int = BLOCKS,
           budget_s: float = BUDGET_S, threads: int | None = 1, progress: Progress = None) -> dict:
    """G3 (Ma et al. Table 3): one convolution against 2 or 4 in series or in parallel, equal MACs."""
    return run_cases(g3_cases(base, scales, blocks), size, budget_s=budget_s, threads=threads, progress=progress,
                     what="G3")


# --- G4: element-wise operations are non-negligible --------------------------------------------

class BottleneckUnit(nn.Module):
    """ResNet's bottleneck (1×1 → 3×3 → 1×1) with the ReLUs and the shortcut add switchable.

    ShuffleNet v2 Table 4 times this unit with and without ReLU and shortcut: same MACs, less
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


# (label, ReLU, shortcut) in the order of Ma et al. Table 4
G4_VARIANTS = (("ReLU + shortcut", True, True), ("no shortcut", True, False),
               ("no ReLU", False, True), ("neither", False, False))


def g4_cases(base: int = 32, scales: Sequence[int] = (1, 2, 4), blocks: int = BLOCKS) -> list[Case]:
    """The unit's input and output width c = ``base``·scale, its bottleneck c/4 as in ResNet.

    Ma et al.'s Table 4 gives only "c is the number of channels in unit" (32, 64, 128); reading c
    as the unit's outer width puts the ARM column near the arithmetic rate of its other tables
    (about 4–6 GFLOPs per second on one core); reading it as the bottleneck would need more than 60.
    """
    out = []
    for s in scales:
        c = base * s
        for label, relu, shortcut in G4_VARIANTS:
            torch.manual_seed(0)
            net = _seeded(nn.Sequential(*[BottleneckUnit(c, c // 4, relu, shortcut) for _ in range(blocks)]),
                          gain=math.sqrt(2) if relu else 1.0)
            out.append(Case("G4", f"×{s}", label, G4_VARIANTS[0][0], net, c,
                            {"scale": s, "channels": c, "bottleneck": c // 4, "relu": relu, "shortcut": shortcut}))
    return out


def run_g4(size: int = FEATURE_SIDE, *, base: int = 32, scales: Sequence[int] = (1, 2, 4), blocks: int = BLOCKS,
           budget_s: float = BUDGET_S, threads: int | None = 1, progress: Progress = None) -> dict:
    """G4 (Ma et al. Table 4): a bottleneck stack with and without ReLU and shortcut, equal MACs."""
    return run_cases(g4_cases(base, scales, blocks), size, budget_s=budget_s, threads=threads, progress=progress,
                     what="G4")


RUNS = {"G1": run_g1, "G2": run_g2, "G3": run_g3, "G4": run_g4}


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
