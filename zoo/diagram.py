"""Block diagrams of a network as Graphviz DOT text, drawn from the model itself.

Two views, in the manner of the papers' figures:

* **macro** (ResNet's Table 1, EfficientNet's Table 1 drawn as a chain): input → stem → each stage
  with its blocks, width × depth × resolution (output channels, number of blocks, output side) →
  head → output. Where a network has no blocks (AlexNet, VGG), a stage is cut at its pooling layers
  so that VGG still reads as its five groups of 3×3 convolutions.
* **micro** (ResNet's Figure 5, Inception's Figure 5, MobileNet v2's Figure 4): one block's dataflow,
  one node per convolution (with the normalisation and activation that follow it folded into its
  node), pooling, add, concatenate, multiply and shuffle, each with its output shape; edges follow
  the tensors actually passed when the block ran.

Both come from :func:`zoo.analysis.analyze`, so they show what runs (eval mode) at the resolution
asked. Nodes can be shaded by their share of the MACs or parameters (of the whole network in the
macro view, of the block in the micro view). The text is plain DOT for ``st.graphviz_chart``,
which renders it in the browser: no system Graphviz is needed.
"""
from __future__ import annotations

from collections import Counter

import torch.nn as nn

from .analysis import Analysis, Layer, analyze
from .fmt import fmt_params, si

__all__ = ["macro_dot", "micro_dot", "macro_nodes", "micro_nodes", "shade_color"]

_LOW = (255, 255, 255)   # share 0: white
_HIGH = (230, 85, 13)    # share 1: deep orange
_FONT = "Helvetica"


def shade_color(share: float) -> str:
    """Fill colour for a node holding ``share`` (0..1) of the total: white → deep orange.

    The square root spreads small shares apart (most blocks hold a few percent)."""
    s = min(max(share, 0.0), 1.0) ** 0.5
    r, g, b = (round(lo + (hi - lo) * s) for lo, hi in zip(_LOW, _HIGH))
    return f"#{r:02x}{g:02x}{b:02x}"


def _q(text: str) -> str:
    """A DOT double-quoted string; ``\\n`` in ``text`` stays a line break."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _get(name_or_model, resolution) -> Analysis:
    if isinstance(name_or_model, Analysis):
        return name_or_model
    return analyze(name_or_model, resolution)


def _shape(shape: tuple) -> str:
    """(1, 64, 56, 56) -> "64×56×56"; (1, 1000) -> "1000"."""
    return "×".join(str(d) for d in shape[1:]) if len(shape) > 1 else "×".join(map(str, shape))


def _side(shape: tuple) -> str:
    if len(shape) == 4:
        return f"{shape[2]}²" if shape[2] == shape[3] else f"{shape[2]}×{shape[3]}"
    return ""


def _kernel(layer: Layer) -> str:
    if not layer.kernel:
        return ""
    k = layer.kernel
    txt = f"{k[0]}×{k[1]}" if len(k) == 2 and k[0] != k[1] else f"{k[0]}×{k[0]}" if len(k) == 2 else "×".join(map(str, k))
    if layer.stride and any(s != 1 for s in layer.stride):
        s = layer.stride
        txt += f"/{s[0]}" if len(set(s)) == 1 else "/" + ",".join(map(str, s))
    return txt


def _describe(layer: Layer) -> str:
    """Short paper-style name of one layer: "3×3 conv, 64→128 /2", "maxpool 3×3/2", "add"."""
    kind, op = layer.base_kind or layer.kind, layer.op
    c_in = layer.in_shape[1] if len(layer.in_shape) > 1 else None
    c_out = layer.out_shape[1] if len(layer.out_shape) > 1 else None
    if layer.macs and layer.kernel is not None:  # a convolution (maybe inside an SE unit)
        what = {"depthwise": "depthwise conv", "grouped": f"group conv (g={layer.groups})",
                "pointwise": "conv"}.get(kind, "conv")
        return f"{_kernel(layer)} {what}, {c_in}→{c_out}"
    if layer.macs:
        return f"linear, {layer.in_shape[-1]}→{layer.out_shape[-1]}"
    if op in ("AdaptiveAvgPool2d", "adaptive_avg_pool2d", "AdaptiveMaxPool2d", "adaptive_max_pool2d",
              "mean"):
        name = "maxpool" if "max" in op.lower() else "avgpool"
        if len(layer.out_shape) == 4 and layer.out_shape[2:] != (1, 1):
            return f"adaptive {name} → {_side(layer.out_shape)}"
        return f"global {name}"
    if "pool" in op.lower():
        name = "maxpool" if "max" in op.lower() else "avgpool"
        return f"{name} {_kernel(layer)}".strip()
    if kind in ("add", "mul") or op in ("add", "sub", "mul", "div"):
        return {"add": "add (+)", "sub": "subtract", "mul": "multiply (×)", "div": "divide"}.get(op, op)
    if op in ("cat", "concat", "concatenate", "stack"):
        return "concat"
    if kind == "shuffle":
        return "channel shuffle"
    if op.startswith("BatchNorm") or op == "batch_norm":
        return "BN"
    return op


# --- macro view -----------------------------------------------------------------------------

def _segments(layers: list[Layer]) -> list[list[Layer]]:
    """Cut a block-less stage after each pooling layer (VGG's five groups)."""
    out, cur = [], []
    for layer in layers:
        cur.append(layer)
        if layer.kind == "pool" or layer.op.lower().endswith("pool2d"):
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def _sequence(layers: list[Layer]) -> str:
    """The layers that do work, in order, repeats collapsed: "3×3 conv ×2 → maxpool 2×2/2"."""
    steps: list[list] = []
    for x in layers:
        if not (x.macs or (x.base_kind or x.kind) in ("pool", "add", "concat", "shuffle")):
            continue
        d = _describe(x).split(",")[0]
        if steps and steps[-1][0] == d:
            steps[-1][1] += 1
        else:
            steps.append([d, 1])
    text = [f"{d} ×{n}" if n > 1 else d for d, n in steps]
    if len(text) > 6:
        text = [*text[:3], "…", *text[-2:]]
    return " → ".join(text)


def _units(a: Analysis) -> list[dict]:
    """Stages in execution order, cut or merged the way the papers' tables group them.

    A stage without blocks (VGG's ``features``) is cut after each pooling layer. Consecutive
    stages that are one block each (torchvision's flat MobileNet v2 ``features``, Inception v3's
    ``Mixed_*``) merge while block type, width and resolution stay the same: MobileNet v2's
    ``t, c, n, s`` rows, Inception v3's "3 × Inception" at 35².
    """
    stages: dict[str, list[Layer]] = {}
    for layer in a.layers:
        stages.setdefault(layer.stage, []).append(layer)
    real = set(a.block_names)
    units: list[dict] = []
    for stage, layers in stages.items():
        blocks = list(dict.fromkeys(x.block for x in layers if x.block in real))
        cut = not blocks and stage not in ("stem", "head") and len(layers) > 4
        groups = _segments(layers) if cut else [layers]
        for gi, group in enumerate(groups):
            last = next((x for x in reversed(group) if len(x.out_shape) == 4), group[-1])
            unit = {"title": stage if len(groups) == 1 else f"{stage} [{gi + 1}]",
                    "stages": [stage], "layers": group, "blocks": blocks, "out": last.out_shape}
            prev = units[-1] if units else None
            if (prev is not None and len(blocks) == 1 and prev["blocks"] and prev["single"]
                    and prev["out"] == unit["out"]
                    and {x.block_type for x in prev["layers"] if x.block in real}
                    == {x.block_type for x in group if x.block in real}):
                prev["stages"].append(stage)
                prev["layers"] = prev["layers"] + group
                prev["blocks"] = prev["blocks"] + blocks
                prev["title"] = f"{prev['stages'][0]} – {stage}"
                continue
            unit["single"] = len(blocks) == 1
            units.append(unit)
    return units


def macro_nodes(a: Analysis, shade: str | None = "macs") -> list[dict]:
    """The macro view's nodes as dicts (id, title, lines, share, macs, params, layers)."""
    total = {"macs": a.total_macs, "params": a.total_params or 1}.get(shade or "macs") or 1
    nodes = []
    for unit in _units(a):
        group, blocks, last = unit["layers"], unit["blocks"], unit["out"]
        lines = []
        if blocks:
            per_type = Counter()
            seen = set()
            for x in group:
                if x.block in blocks and x.block not in seen:
                    seen.add(x.block)
                    per_type[x.block_type] += 1
            lines.append(", ".join(f"{t} ×{n}" for t, n in per_type.items()))
            width = last[1] if len(last) > 1 else ""
            side = _side(last)
            n = f"{len(blocks)} block{'s' if len(blocks) > 1 else ''}"
            lines.append(f"{width} ch × {n} × {side}" if side else f"{width} × {n}")
        else:
            desc = _sequence(group)
            if desc:
                lines.append(desc)
            if len(last) > 1:
                lines.append(_shape(last))
        macs = sum(x.macs for x in group)
        params = sum(x.params for x in group)
        lines.append(f"{si(macs)}MACs · {fmt_params(params)} params")
        value = params if shade == "params" else macs
        nodes.append({"id": f"s{len(nodes)}", "title": unit["title"], "lines": lines,
                      "share": value / total, "macs": macs, "params": params,
                      "layers": [x.index for x in group], "blocks": blocks})
    return nodes


def _graph(nodes: list[dict], edges: list[tuple[str, str]], a: Analysis, shade, title: str) -> str:
    out = [
        "digraph G {",
        f"  graph [rankdir=TB, nodesep=0.25, ranksep=0.3, fontname={_q(_FONT)}, label={_q(title)}, "
        "labelloc=t, fontsize=12];",
        f"  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname={_q(_FONT)}, "
        "fontsize=10, margin=\"0.12,0.05\"];",
        f"  edge [color=\"#666666\", arrowsize=0.6, fontname={_q(_FONT)}, fontsize=9];",
    ]
    for n in nodes:
        label = "\n".join([n["title"], *[x for x in n["lines"] if x]])
        attrs = [f"label={_q(label)}"]
        if n.get("shape"):
            attrs.append(f"shape={n['shape']}")
        if shade and n.get("share") is not None:
            attrs.append(f"fillcolor={_q(shade_color(n['share']))}")
            pct = 100 * n["share"]
            attrs.append(f"tooltip={_q(f'{pct:.1f}% of the {shade}')}")
        elif n.get("fill"):
            attrs.append(f"fillcolor={_q(n['fill'])}")
        out.append(f"  {n['id']} [{', '.join(attrs)}];")
    for src, dst in edges:
        out.append(f"  {src} -> {dst};")
    out.append("}")
    return "\n".join(out)


def macro_dot(name_or_model: str | nn.Module | Analysis, resolution: int | None = None,
              shade: str | None = "macs") -> str:
    """The whole network as a chain: input → stem → stages (width × depth × resolution) → head."""
    if shade not in (None, "macs", "params"):
        raise ValueError(f"shade must be 'macs', 'params' or None, not {shade!r}")
    a = _get(name_or_model, resolution)
    nodes = macro_nodes(a, shade)
    for n in nodes:
        pct = 100 * n["share"]
        if shade:
            n["lines"][-1] += f" ({pct:.1f}% of {shade})"
    first = {"id": "input", "title": "input", "lines": [_shape(a.input_shape)], "share": None,
             "shape": "ellipse", "fill": "#eeeeee"}
    last = {"id": "output", "title": "output", "lines": [_shape(a.output_shape)], "share": None,
            "shape": "ellipse", "fill": "#eeeeee"}
    chain = [first, *nodes, last]
    edges = [(chain[i]["id"], chain[i + 1]["id"]) for i in range(len(chain) - 1)]
    title = (f"{a.name} at {_side(a.input_shape) or a.resolution}: {si(a.total_macs)}MACs "
             f"({si(a.total_flops)}FLOPs), {fmt_params(a.total_params)} params")
    return _graph(chain, edges, a, shade, title)


# --- micro view -----------------------------------------------------------------------------

def micro_nodes(a: Analysis, block: str, shade: str | None = "macs") -> tuple[list[dict], list[tuple]]:
    """Nodes and edges of one block's dataflow; BN/activations fold into the conv before them."""
    members = [x for x in a.layers if x.block == block or x.name.startswith(block + ".")]
    if not members:
        known = ", ".join(a.blocks()[:12])
        raise ValueError(f"{a.name} has no block {block!r}; blocks are: {known}…")
    idx = {x.index for x in members}
    consumers = Counter(i for x in members for i in x.inputs)
    owner: dict[int, int] = {}  # layer index -> index of the node layer it folds into
    heads: list[Layer] = []
    extras: dict[int, list[Layer]] = {}
    for x in members:
        src = x.inputs[0] if len(x.inputs) == 1 else None
        if x.base_kind in ("norm", "act") and src in idx and consumers[src] == 1 and src in owner:
            owner[x.index] = owner[src]
            extras[owner[src]].append(x)
            continue
        owner[x.index] = x.index
        heads.append(x)
        extras[x.index] = []
    total_macs = sum(x.macs for x in members) or 1
    total_params = sum(x.params for x in members) or 1
    nodes = [{"id": "input", "title": "input", "lines": [], "share": None, "shape": "ellipse",
              "fill": "#eeeeee"}]
    in_shapes = []
    edges = []
    for x in heads:
        group = [x, *extras[x.index]]
        desc = _describe(x)
        tail = [_describe(e) for e in extras[x.index]]
        lines = [", ".join(tail)] if tail else []
        lines.append(_shape(group[-1].out_shape))
        macs = sum(g.macs for g in group)
        params = sum(g.params for g in group)
        if macs:
            lines.append(f"{si(macs)}MACs")
        value = params / total_params if shade == "params" else macs / total_macs
        shape = "ellipse" if x.base_kind in ("add", "mul", "concat", "shuffle") else "box"
        nodes.append({"id": f"n{x.index}", "title": desc, "lines": lines, "share": value,
                      "shape": shape, "macs": macs, "params": params, "name": x.name})
        for i in x.inputs:
            if i in idx:
                e = (f"n{owner[i]}", f"n{x.index}")
            else:
                e = ("input", f"n{x.index}")
                if i >= 0 or not in_shapes:
                    src = a.layers[i].out_shape if i >= 0 else a.input_shape
                    if src not in in_shapes:
                        in_shapes.append(src)
            if e not in edges:
                edges.append(e)
    nodes[0]["lines"] = [" | ".join(_shape(s) for s in in_shapes)]
    last = members[-1]
    nodes.append({"id": "output", "title": "output", "lines": [_shape(last.out_shape)],
                  "share": None, "shape": "ellipse", "fill": "#eeeeee"})
    edges.append((f"n{owner[last.index]}", "output"))
    return nodes, edges


def micro_dot(name_or_model: str | nn.Module | Analysis, block: str | None = None,
              resolution: int | None = None, shade: str | None = "macs") -> str:
    """One block's dataflow (``block``: its module name, e.g. "layer1.0"; default: the first)."""
    if shade not in (None, "macs", "params"):
        raise ValueError(f"shade must be 'macs', 'params' or None, not {shade!r}")
    a = _get(name_or_model, resolution)
    if block is None:
        blocks = a.blocks()
        if not blocks:
            raise ValueError(f"{a.name} has no blocks; its stages are "
                             + ", ".join(r["group"] for r in a.by_stage()))
        block = blocks[0]
    nodes, edges = micro_nodes(a, block, shade)
    types = {x.block_type for x in a.layers if x.block == block}
    kind = next(iter(types)) if len(types) == 1 else ""
    macs = sum(n.get("macs", 0) for n in nodes)
    params = sum(n.get("params", 0) for n in nodes)
    title = f"{a.name} {block} ({kind}): {si(macs)}MACs, {fmt_params(params)} params"
    return _graph(nodes, edges, a, shade, title)
