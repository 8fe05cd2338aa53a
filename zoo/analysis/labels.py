"""Blocks and stages: which module the papers name as a building block, and where stages begin.

A layer belongs to a *block*, the nearest enclosing module the paper names (``Bottleneck``,
``MBConv``, ``Fire``, ``InceptionA``…; a class may set ``paper_name`` to say what the paper calls
it, or a boolean ``is_block``), and to a *stage*: the top-level grouping (``layer1`` for ResNet,
``features.3`` where one ``features`` container holds the stages), with ``stem`` and ``head`` for
what runs before the first and after the last block.
"""
from __future__ import annotations

import re

import torch.nn as nn

from .result import Layer

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
    if isinstance(module, _CONTAINERS) or next(module.children(), None) is None or is_se(module):
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


def _ancestors(name: str):
    """``a.b.c`` -> ``a.b.c``, ``a.b``, ``a``."""
    while name:
        yield name
        name = name.rpartition(".")[0]


def label(root: nn.Module, modules: dict[str, nn.Module], layers: list[Layer], blocks: set[str],
          se_units: set[str]) -> tuple:
    """Fill ``block``, ``block_type``, ``stage`` and ``base_kind`` of every layer, given the names
    of the modules that are blocks and squeeze-and-excitation units; everything inside the latter
    becomes kind ``se`` (it is that unit's cost). Returns the blocks that ran, in execution order."""
    nearest: dict[str, str | None] = {}
    for layer in layers:
        if layer.module not in nearest:
            nearest[layer.module] = next((a for a in _ancestors(layer.module) if a in blocks), None)
    ran = {b for b in nearest.values() if b is not None}
    # the trunk: one top-level container holding every block (torchvision's `features`)
    tops = {b.split(".")[0] for b in ran}
    trunk = next(iter(tops)) if len(tops) == 1 and isinstance(modules[next(iter(tops))], _CONTAINERS) else None
    blocky = {".".join(b.split(".")[:2]) for b in ran if "." in b} if trunk else tops

    def raw_stage(mod_name: str) -> str | None:
        if not mod_name:
            return None
        parts = mod_name.split(".")
        return ".".join(parts[:2]) if trunk and parts[0] == trunk and len(parts) > 1 else parts[0]

    stage_of = {m: raw_stage(m) for m in nearest}
    raws = [stage_of[layer.module] for layer in layers]
    hits = [i for i, r in enumerate(raws) if r in blocky]
    first, last = (hits[0], hits[-1]) if hits else (len(layers), -1)
    # per module that ran: its block's paper name, and whether it sits inside an SE unit
    paper = {b: block_name(modules[b], root) for b in ran}
    in_se = {m: bool(se_units) and any(a in se_units for a in _ancestors(m)) for m in nearest}
    prev = ""
    for i, layer in enumerate(layers):
        r = raws[i]
        stage = "stem" if i < first and hits else "head" if i > last and hits else r or prev or layer.name
        layer.stage = prev = stage
        layer.base_kind = layer.kind
        b = nearest[layer.module]
        if b is not None:
            layer.block, layer.block_type = b, paper[b]
        elif stage in ("stem", "head"):
            layer.block = layer.block_type = stage
        else:
            layer.block = stage
            m = modules.get(stage)
            layer.block_type = type(m).__name__ if m is not None else layer.op
        if in_se[layer.module]:
            layer.kind = "se"
    return tuple(dict.fromkeys(layer.block for layer in layers if layer.block in ran))
