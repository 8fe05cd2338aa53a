"""Wall-clock latency of one forward pass on this machine's CPU.

Counting MACs is not measuring speed: ShuffleNet v2 (Ma et al., "ShuffleNet V2: Practical
Guidelines for Efficient CNN Architecture Design", ECCV 2018, arXiv 1807.11164) makes that its
first point. This module gives the measured side of that comparison, honestly labelled: the
median of ``runs`` timed forward passes after ``warmup`` untimed ones, batch ``batch``, fp32,
``torch.inference_mode``, with the thread count and the machine recorded next to the numbers,
because a latency without its conditions means little.

The weights are the builder's random initialisation; speed does not depend on their values
(no sparsity tricks here). torch only.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

from .registry import build, info


@dataclass(frozen=True)
class Latency:
    """Timings of one model, in milliseconds per forward pass (whole batch)."""

    name: str
    resolution: int
    batch: int
    threads: int
    runs: int
    warmup: int
    median_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    stdev_ms: float
    torch_version: str
    machine: str

    def to_dict(self) -> dict:
        return asdict(self)


def machine() -> str:
    """A short description of the CPU this runs on (model name from /proc/cpuinfo when present)."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} logical CPUs"


def summarize(times_ms: list[float]) -> dict:
    """Median, mean, min, max and standard deviation of a list of timings."""
    if not times_ms:
        raise ValueError("no timings to summarize")
    return {
        "median_ms": statistics.median(times_ms),
        "mean_ms": statistics.fmean(times_ms),
        "min_ms": min(times_ms),
        "max_ms": max(times_ms),
        "stdev_ms": statistics.stdev(times_ms) if len(times_ms) > 1 else 0.0,
    }


def measure(model: str | nn.Module, resolution: int | None = None, *, batch: int = 1, runs: int = 10,
            warmup: int = 2, threads: int | None = None, max_seconds: float | None = None,
            name: str | None = None, **overrides) -> Latency:
    """Time ``runs`` forward passes of ``model`` (a registered name or a module) on the CPU.

    ``threads``: torch intra-op threads for the measurement (restored afterwards); ``None`` keeps
    the current setting. ``max_seconds``: stop timing early once this much time has been spent
    (at least one timed run is always made). ``overrides`` go to the builder when ``model`` is a name.
    """
    if runs < 1 or warmup < 0 or batch < 1:
        raise ValueError("runs and batch must be >= 1 and warmup >= 0")
    if isinstance(model, str):
        name = name or model
        resolution = resolution or info(model).resolution
        with torch.device("cpu"):
            model = build(model, **overrides)
    if resolution is None:
        raise ValueError("resolution is required when a module is given")
    name = name or type(model).__name__
    if any(p.is_meta for p in model.parameters()):
        raise ValueError("a meta-device model cannot be timed: build it on the CPU")

    saved = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        used = torch.get_num_threads()
        model.eval()
        x = torch.randn(batch, 3, resolution, resolution)
        times: list[float] = []
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            start = time.perf_counter()
            for _ in range(runs):
                t0 = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - t0) * 1e3)
                if max_seconds is not None and time.perf_counter() - start > max_seconds:
                    break
    finally:
        torch.set_num_threads(saved)
    return Latency(name=name, resolution=resolution, batch=batch, threads=used, runs=len(times),
                   warmup=warmup, torch_version=torch.__version__, machine=machine(), **summarize(times))
