"""Per-layer analysis of a network: shapes, parameters, MACs, activation memory, memory access.

The idea of Netscope (Gao, 2016: a per-layer table of a Caffe net's cost) for PyTorch models, with
the conventions stated once and shown wherever a count appears:

* **MACs** are the multiply-accumulates of convolutions and matrix products (``Conv*d``, ``Linear``,
  ``matmul``, ``einsum``, attention), batch 1: PyTorch's ``FlopCounterMode`` total / 2, computed
  with its formulas (:mod:`.ops`), and what torchvision's ``_ops`` "GFLOPS" figure holds (despite
  its name, GMACs). Bias additions are not counted. **FLOPs = 2 × MACs**, nothing else.
* Normalisation, activations, pooling and elementwise operations (add, multiply, concatenate,
  channel shuffle) are layers of their own kinds with zero MACs: their cost shows in activation
  memory and memory access, never silently added to the MACs.
* **Activation elements / bytes**: the elements a layer writes (its output), and their bytes at the
  tensor's dtype. Layers that only alias their input (``Identity``, ``Dropout`` in eval,
  ``Flatten``) write nothing and count zero.
* **Memory access cost** in the sense of ShuffleNet v2 (Ma et al. 2018, arXiv 1807.11164, §2):
  elements read plus elements written, weights included (a batch norm reads its statistics too).
* Nothing is counted silently wrong: any function the engine does not know in which
  ``FlopCounterMode`` finds work is listed in :attr:`Analysis.uncounted`.

How it works: the model is built on the ``meta`` device (shapes and dtypes, no storage; :mod:`.trace`),
put in eval mode (auxiliary heads skipped, as the reference counts were measured) and run once on
a ``(1, C, H, W)`` meta tensor. torch's global forward hooks (registered for the length of the
trace) and a ``TorchFunctionMode`` record the layers (:mod:`.trace`); :mod:`.labels` names blocks and stages; :mod:`.result` holds the
table and its rollups. The meta model of a registered name is cached per (name, overrides), and
the analysis per (name, overrides, resolution), so a new resolution only re-traces.
"""
from __future__ import annotations

import copy
import functools
import numbers

import torch
import torch.nn as nn

from . import labels, ops
from .labels import block_name, is_block, is_se
from .result import CONVENTIONS, KIND_LABELS, KINDS, Analysis, Layer, uncounted_note
from .trace import Index, Trace, build_meta as _build_meta

__all__ = ["KINDS", "KIND_LABELS", "CONVENTIONS", "Layer", "Analysis", "analyze", "build_meta",
           "uncounted_note", "is_block", "is_se", "block_name", "clear_cache"]

MODELS_CACHED = 16      # meta models kept (each a few MB of Python objects, no tensor storage)
ANALYSES_CACHED = 256   # analyses kept


def _to_meta(model: nn.Module) -> nn.Module:
    """A copy of ``model`` on the meta device; the original (and its weights) is left untouched."""
    memo = {}
    for t in [*model.parameters(), *model.buffers()]:
        m = torch.empty_like(t, device="meta")
        memo[id(t)] = nn.Parameter(m, requires_grad=t.requires_grad) if isinstance(t, nn.Parameter) else m
    return copy.deepcopy(model, memo)


def _on_meta(model: nn.Module) -> bool:
    return all(t.is_meta for t in [*model.parameters(), *model.buffers()])


def build_meta(name: str, **overrides) -> nn.Module:
    """``zoo.build(name, **overrides)`` on the meta device, in eval mode, without weight
    initialisation (meaningless without storage): a fresh model each call."""
    from .. import registry

    model = _build_meta(registry.info(name).builder, **overrides)
    return model if _on_meta(model) else _to_meta(model).eval()  # a builder that chose a device


@functools.lru_cache(maxsize=MODELS_CACHED)
def _meta_model(name: str, overrides: tuple) -> Index:
    return Index(build_meta(name, **dict(overrides)))


def _analyze(index: Index, name: str, resolution, input_channels: int) -> Analysis:
    h, w = tuple(resolution) if isinstance(resolution, tuple) else (resolution, resolution)
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in (h, w)):
        raise ValueError(f"resolution must be a positive integer or (H, W), got {resolution!r}")
    x = torch.empty(1, input_channels, int(h), int(w), device="meta")
    t = Trace(index)
    try:
        out = t.run(x)
    except (RuntimeError, ValueError, IndexError) as e:
        raise ValueError(f"{name} cannot run at {h}×{w}: {e}") from e
    blocks = labels.label(index.root, index.named, t.layers, index.blocks, index.se_units)
    outs = ops.tensors(out)
    return Analysis(
        name=name, resolution=resolution, layers=t.layers, total_params=index.total_params,
        unused_params=index.total_params - sum(layer.params for layer in t.layers),
        input_shape=tuple(x.shape), output_shape=tuple(outs[0].shape) if outs else (),
        model_type=type(index.root).__name__, module_types=index.types, block_names=blocks,
        uncounted=dict(t.uncounted), uncounted_macs=t.uncounted_macs)


@functools.lru_cache(maxsize=ANALYSES_CACHED)
def _cached(name: str, overrides: tuple, resolution, input_channels: int) -> Analysis:
    return _analyze(_meta_model(name, overrides), name, resolution, input_channels)


def clear_cache() -> None:
    """Forget every cached meta model and analysis."""
    _meta_model.cache_clear()
    _cached.cache_clear()


def analyze(name_or_model: str | nn.Module, resolution: int | tuple | None = None, *,
            input_channels: int = 3, **overrides) -> Analysis:
    """Per-layer shapes, parameters, MACs and memory of a registered model or of any ``nn.Module``.

    ``resolution``: the input side (or ``(H, W)``); default: the model's registered resolution
    (224 for a bare module). ``overrides`` go to the builder (``zoo.build(name, **overrides)``).
    The input is ``(1, input_channels, H, W)``. Runs on the meta device; a module given with real
    weights is copied there, not modified. A registered model's result is cached and shared: treat
    it as read-only. Raises ``KeyError`` for an unknown name and ``ValueError`` when the model
    cannot run at the resolution (too small for its pooling, for instance).
    """
    from .. import registry

    resolution = tuple(resolution) if isinstance(resolution, list) else resolution
    if isinstance(name_or_model, str):
        mi = registry.info(name_or_model)
        key = tuple(sorted(overrides.items()))
        try:
            index = _meta_model(mi.name, key)
        except TypeError:  # an unhashable override (or a bad one): built and traced, not cached
            index, key = Index(build_meta(mi.name, **overrides)), None
        if resolution is None:  # a builder may know its own (EfficientNet with phi=…)
            own = getattr(index.root, "resolution", None)
            resolution = own if isinstance(own, int) and overrides else mi.resolution
        if key is None:
            return _analyze(index, mi.name, resolution, input_channels)
        return _cached(mi.name, key, resolution, input_channels)
    if not isinstance(name_or_model, nn.Module):
        raise TypeError(f"expected a model name or an nn.Module, got {type(name_or_model).__name__}")
    if overrides:
        raise TypeError("overrides only apply to a registered model name")
    model = name_or_model
    if resolution is None:
        own = getattr(model, "resolution", None)
        resolution = own if isinstance(own, int) else 224
    if not _on_meta(model):
        model = _to_meta(model)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        return _analyze(Index(model), type(name_or_model).__name__, resolution, input_channels)
    finally:
        for m, training in modes:
            m.training = training
