"""The result of an analysis: one :class:`Layer` per executed layer, :class:`Analysis` with totals
and rollups (by stage, block, kind, module depth), and the conventions every count follows."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable

KINDS = ("conv", "pointwise", "depthwise", "grouped", "linear", "matmul", "se", "pool", "norm", "act",
         "add", "concat", "shuffle", "mul", "other")

KIND_LABELS = {
    "conv": "k×k convolution", "pointwise": "1×1 (pointwise) convolution",
    "depthwise": "depthwise convolution", "grouped": "grouped convolution", "linear": "linear",
    "matmul": "matrix product (attention)",
    "se": "squeeze-and-excitation", "pool": "pooling", "norm": "normalisation",
    "act": "activation", "add": "elementwise add", "concat": "concatenate",
    "shuffle": "channel shuffle", "mul": "elementwise multiply", "other": "other",
}

CONVENTIONS = (
    "MACs = multiply-accumulates of convolutions and matrix products (batch 1, bias not counted); "
    "FLOPs = 2 × MACs. Normalisation, activations, pooling and elementwise ops are reported "
    "separately (0 MACs). Memory access = elements read + written, weights included "
    "(ShuffleNet v2's MAC)."
)


# --- the table --------------------------------------------------------------------------------

@dataclass(slots=True)
class Layer:
    """One executed layer: a leaf module call, or a functional op in a module's ``forward``."""

    index: int
    name: str                      # hierarchical: "layer1.0.conv1", "layer1.0.add"
    module: str                    # owning module's name ("" for the root)
    op: str                        # module class ("Conv2d") or function ("add")
    kind: str = "other"            # one of KINDS
    base_kind: str = ""            # the kind before "se" (a conv inside an SE unit is "pointwise")
    block: str = ""                # enclosing block's module name, else the stage
    block_type: str = ""           # the paper's name: "Bottleneck", "MBConv"…; "stem"/"head"
    stage: str = ""                # "stem", "layer1", "features.3", "head"…
    kernel: tuple | None = None    # (kH, kW) for convolutions and pools
    stride: tuple | None = None
    groups: int | None = None
    in_shape: tuple = ()           # first input
    out_shape: tuple = ()
    in_shapes: tuple = ()          # every tensor input (add, concat have several)
    params: int = 0                # parameters of the module (counted at its first call)
    macs: int = 0                  # multiply-accumulates
    flops: int = 0                 # = 2 * macs
    act_elems: int = 0             # elements written (the output)
    act_bytes: int = 0
    mem_access: int = 0            # elements read + written, weights included
    inputs: tuple = ()             # indices of the layers producing the inputs (-1: model input)

    def record(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_SUMS = ("params", "macs", "flops", "act_bytes", "mem_access")


@dataclass
class Analysis:
    """Result of :func:`analyze`: the layers in execution order, totals and rollups."""

    name: str
    resolution: int | tuple
    layers: list[Layer]
    total_params: int              # every parameter of the model (as models.json counts them)
    unused_params: int = 0         # parameters of modules not run in eval (auxiliary heads)
    input_shape: tuple = ()
    output_shape: tuple = ()
    model_type: str = ""
    module_types: dict = field(default_factory=dict, repr=False)  # module name -> class name
    block_names: tuple = ()        # the blocks that ran, in execution order
    # ops torch.utils.flop_counter counts that the engine does not: function name -> calls, and
    # the MACs FlopCounterMode found in them (not in total_macs)
    uncounted: dict = field(default_factory=dict)
    uncounted_macs: int = 0
    conventions: str = CONVENTIONS

    # totals
    def _sum(self, key: str) -> int:
        return sum(getattr(layer, key) for layer in self.layers)

    total_macs = property(lambda self: self._sum("macs"))
    total_flops = property(lambda self: 2 * self._sum("macs"))
    total_act_elems = property(lambda self: self._sum("act_elems"))
    total_act_bytes = property(lambda self: self._sum("act_bytes"))
    total_mem_access = property(lambda self: self._sum("mem_access"))

    def totals(self) -> dict:
        return {"params": self.total_params, "macs": self.total_macs, "flops": self.total_flops,
                "act_bytes": self.total_act_bytes, "mem_access": self.total_mem_access,
                "layers": len(self.layers)}

    # rollups
    def rollup(self, key: Callable[[Layer], str]) -> list[dict]:
        """Sum the layers by ``key(layer)``, groups in order of first execution."""
        rows: dict[str, dict] = {}
        for layer in self.layers:
            g = key(layer)
            row = rows.get(g) or rows.setdefault(g, {"group": g, **{k: 0 for k in _SUMS}, "layers": 0})
            for k in _SUMS:
                row[k] += getattr(layer, k)
            row["layers"] += 1
        return list(rows.values())

    def by_stage(self) -> list[dict]:
        return self.rollup(lambda layer: layer.stage)

    def by_block(self) -> list[dict]:
        types = {layer.block: layer.block_type for layer in self.layers}
        rows = self.rollup(lambda layer: layer.block)
        for row in rows:
            row["block_type"] = types[row["group"]]
        return rows

    def by_kind(self) -> list[dict]:
        """One row per kind that occurs, in the order of ``KINDS``."""
        rows = {row["group"]: row for row in self.rollup(lambda layer: layer.kind)}
        return [rows[k] for k in KINDS if k in rows]

    def by_depth(self, depth: int) -> list[dict]:
        """Rows for the module tree cut at ``depth`` (1: top-level modules), like torchinfo's depth.

        Each row also has ``type`` (the module class at that depth, or the op) and the input and
        output shapes of its first and last layer.
        """
        def key(layer: Layer) -> str:
            parts = layer.name.split(".")
            return ".".join(parts[:depth]) if depth > 0 else layer.name
        first: dict[str, Layer] = {}
        last: dict[str, Layer] = {}
        for layer in self.layers:
            g = key(layer)
            first.setdefault(g, layer)
            last[g] = layer
        rows = self.rollup(key)
        for row in rows:
            g = row["group"]
            leaf = first[g].name == g
            row["type"] = first[g].op if leaf else self.module_types.get(g, "")
            row["kind"] = first[g].kind if leaf and first[g] is last[g] else ""
            row["in_shape"] = first[g].in_shape
            row["out_shape"] = last[g].out_shape
        return rows

    def records(self) -> list[dict]:
        """One dict per layer, ready for ``pandas.DataFrame``."""
        return [layer.record() for layer in self.layers]

    def blocks(self) -> list[str]:
        """Module names of the blocks that ran, in execution order (layers outside any block
        have their stage as ``block``; those are not listed)."""
        return list(self.block_names)


def uncounted_note(uncounted: dict, macs: int = 0) -> str:
    """"not counted: einsum × 2, … (FlopCounterMode: N MACs)", or "" when everything was counted."""
    if not uncounted:
        return ""
    from ..fmt import count
    ops = ", ".join(f"{name} × {count(n)}" for name, n in sorted(uncounted.items()))
    return f"not counted: {ops} (FlopCounterMode finds {count(macs)} MACs in them)"
