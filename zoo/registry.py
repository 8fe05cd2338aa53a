"""The model registry: one name, one builder, and the facts a lecturer needs beside it.

A builder is a plain function returning a freshly initialised ``nn.Module``; the metadata
(family, paper, default resolution, which reference implementation it mirrors) sits beside it.
Reference figures come from ``assets/models.json`` (parameters and MACs measured on the
reference libraries) and ``assets/published.csv`` (published accuracies, each with its source).
"""
from __future__ import annotations

import csv
import fnmatch
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch.nn as nn

ASSETS = Path(__file__).resolve().parent.parent / "assets"


@dataclass(frozen=True)
class Paper:
    title: str
    authors: str
    year: int
    arxiv: str | None = None  # arXiv id, e.g. "1512.03385"

    @property
    def url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.arxiv}" if self.arxiv else None


@dataclass(frozen=True)
class Figure:
    """A reference number with where it comes from."""

    value: float
    unit: str
    source: str


@dataclass(frozen=True)
class ModelInfo:
    name: str
    family: str
    paper: Paper
    resolution: int
    builder: Callable[..., nn.Module] = field(repr=False, compare=False)
    # key of the reference implementation in assets/models.json (torchvision or timm name)
    reference: str | None = None
    # True where torchvision has the same model: state-dict keys, shapes and outputs identical
    twin: bool = False
    # (model, variant) row of assets/published.csv holding the paper's figures
    published: tuple[str, str] | None = None
    note: str = ""

    @property
    def year(self) -> int:
        return self.paper.year

    @property
    def figures(self) -> dict[str, Figure]:
        return reference_figures(self)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "family": self.family,
            "year": self.year,
            "paper": {"title": self.paper.title, "authors": self.paper.authors, "arxiv": self.paper.arxiv},
            "resolution": self.resolution,
            "reference": self.reference,
            "torchvision_twin": self.twin,
            "note": self.note,
            "figures": {k: {"value": f.value, "unit": f.unit, "source": f.source} for k, f in self.figures.items()},
        }


_REGISTRY: dict[str, ModelInfo] = {}


def register(name: str, builder: Callable[..., nn.Module] | None = None, **meta):
    """Register ``builder`` under ``name``; usable as a call or as a decorator."""
    if builder is None:
        return lambda fn: register(name, fn, **meta)
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is already registered")
    _REGISTRY[name] = ModelInfo(name=name, builder=builder, **meta)
    return builder


def list_models(pattern: str = "*") -> list[str]:
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def info(name: str) -> ModelInfo:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; try zoo.list_models()") from None


def build(name: str, **overrides) -> nn.Module:
    """A randomly initialised model. Works under ``with torch.device("meta"):``."""
    return info(name).builder(**overrides)


# --- reference figures -----------------------------------------------------------------------

@functools.cache
def reference_models() -> dict:
    return json.loads((ASSETS / "models.json").read_text())


@functools.cache
def published_rows() -> dict[tuple[str, str], dict]:
    """Rows of assets/published.csv (the reference figures) with the citation of each figure from
    assets/citations.csv as ``cite_paper``, ``cite_torchvision``, ``cite_timm``: how a page names
    the source of a number. An empty citation means the figure is not shown (not verified)."""
    with open(ASSETS / "citations.csv", newline="") as f:
        cites = {(r["model"], r["variant"]): r for r in csv.DictReader(f)}
    with open(ASSETS / "published.csv", newline="") as f:
        rows = {(r["model"], r["variant"]): r for r in csv.DictReader(f)}
    for key, r in rows.items():
        c = cites.get(key, {})
        for what in ("paper", "torchvision", "timm"):
            r[f"cite_{what}"] = c.get(what, "")
    return rows


def _num(s: str | None) -> float | None:
    try:
        return float(s) if s not in (None, "") else None
    except ValueError:
        return None


def reference_figures(mi: ModelInfo) -> dict[str, Figure]:
    """Parameters, MACs and accuracies of the reference, each with its citation."""
    out: dict[str, Figure] = {}
    ref = reference_models().get(mi.reference) if mi.reference else None
    if ref:
        lib = ref["source"].split("+")[0]
        out["params"] = Figure(ref["params"], "parameters", f"{lib} {mi.reference}, sum of parameter sizes")
        out["macs"] = Figure(ref["macs"], f"MACs at {ref['resolution']} px",
                             f"{lib} {mi.reference}, counted with torch FlopCounterMode ÷ 2 at {ref['resolution']} px")
        if ref.get("acc1") is not None:
            out["top1"] = Figure(ref["acc1"], "% top-1", f"{lib} weights metadata (ImageNet-1k val, centre crop)")
            out["top5"] = Figure(ref["acc5"], "% top-5", f"{lib} weights metadata (ImageNet-1k val, centre crop)")
    row = published_rows().get(mi.published) if mi.published else None
    if row:
        if _num(row["top1_paper"]) is not None and row["cite_paper"]:
            out["top1_paper"] = Figure(_num(row["top1_paper"]), "% top-1", row["cite_paper"])
        if _num(row["top5_paper"]) is not None and row["cite_paper"]:
            out["top5_paper"] = Figure(_num(row["top5_paper"]), "% top-5", row["cite_paper"])
        if _num(row["top1_timm"]) is not None and "top1" not in out and row["cite_timm"]:
            out["top1"] = Figure(_num(row["top1_timm"]), "% top-1", row["cite_timm"])
        if "params" not in out and _num(row["params_exact"]) is not None:
            out["params"] = Figure(_num(row["params_exact"]), "parameters", row["cite_paper"] or row["cite_timm"]
                                   or "counted by CNN Atlas")
    return out
