"""Streamlit-free helpers of the design lab: spec ⇄ table rows, the URL encoding, JSON files, the
generated PyTorch source, the difference from the template in words, the zoo chart with the
design's band, latency lines and the guided exercises.

Every number here comes from ``zoo`` (``zoo.design`` arithmetic, ``zoo.analyze`` summaries,
``zoo.latency`` measurements) or from the published figures the zoo's points carry; the design's
own accuracy is unknown (it is not trained) and is never drawn as a number.
Tested without Streamlit in tests/test_design.py.
"""
from __future__ import annotations

import base64
import json
import math
import zlib
from dataclasses import dataclass
from typing import Callable, Sequence


from zoo import design, fmt, latency
from ui import explore as ux

# --- the stage table ------------------------------------------------------------------------------

STAGE_COLUMNS = design.STAGE_FIELDS
INT_FIELDS = {"out_channels", "repeats", "stride", "kernel", "expand", "groups", "channels", "classes"}


def _plain(v):
    """A pandas/numpy cell as plain JSON data: NaN/NA -> None, integral floats stay floats."""
    if v is None:
        return None
    try:
        import pandas as pd
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(v, "item"):          # numpy scalars
        v = v.item()
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


def _whole(v):
    """3.0 -> 3 (the editor hands numbers back as floats); anything else unchanged."""
    if isinstance(v, float) and math.isfinite(v) and v == int(v):
        return int(v)
    return v


def stage_rows(spec: dict) -> list[dict]:
    """One dict per stage with every column (``None`` where a field does not apply)."""
    return [{k: st.get(k) for k in STAGE_COLUMNS} for st in spec["stages"]]


def rows_to_stages(rows: Sequence[dict]) -> list[dict]:
    """Table rows back to stage dicts: plain values, whole numbers as ints, empty rows dropped,
    and the cells that do not apply to a row's block cleared (a block changed in the dropdown
    leaves its old block's cells behind)."""
    out = []
    for row in rows:
        st = {k: _plain(row.get(k)) for k in STAGE_COLUMNS}
        if all(v is None for v in st.values()):
            continue
        st = {k: (_whole(v) if k in INT_FIELDS else v) for k, v in st.items()}
        bt = design.BLOCKS.get(st["block"])
        if bt is not None:
            st.update({k: None for k in design.OPTIONAL if k not in bt.defaults})
        out.append(st)
    return out


FLOAT_FIELDS = {"se", "dropout"}
BOOL_FIELDS = {"norm"}


def frame(rows: Sequence[dict], columns: Sequence[str]):
    """Rows as a DataFrame with one dtype per column (nullable ints, floats, text, booleans), so
    the editor types every cell and an empty cell stays empty."""
    import pandas as pd

    data = {}
    for k in columns:
        vals = [r.get(k) for r in rows]
        if k in INT_FIELDS:
            data[k] = pd.array(vals, dtype="Int64")
        elif k in FLOAT_FIELDS:
            data[k] = pd.array([None if v is None else float(v) for v in vals], dtype="Float64")
        elif k in BOOL_FIELDS:
            data[k] = pd.array(vals, dtype="boolean")
        else:
            data[k] = pd.array(vals, dtype="string")
    return pd.DataFrame(data, columns=list(columns))


def section_row(values: dict, fields: Sequence[str]) -> dict:
    """The stem's or head's one-row table back to a dict (plain values, whole numbers as ints)."""
    out = {}
    for k in fields:
        v = _plain(values.get(k))
        out[k] = _whole(v) if k in INT_FIELDS else v
    return out


# --- the URL: a compact, versioned encoding -----------------------------------------------------

# Version 1 of the link format: the spec as a JSON list in this field order, deflated and
# base64url-encoded, behind "1.". The order is frozen here so old links keep opening if the spec
# grows fields later (a version 2 would be added beside it, not in its place).
V1_TOP = ("name", "base", "resolution", "in_channels", "width_mult", "depth_mult")
V1_STEM = ("channels", "kernel", "stride", "activation", "norm", "padding", "pool")
V1_STAGE = ("block", "out_channels", "repeats", "stride", "kernel", "expand", "se", "groups",
            "activation", "shortcut")
V1_HEAD = ("channels", "activation", "pool", "classifier", "classes", "dropout")
MAX_TOKEN = 8000          # characters in a link; a 12-stage design needs about 600
MAX_INFLATED = 64 * 1024  # bytes a token may inflate to


def encode(spec: dict) -> str:
    """A short text for ``?d=``: a template's name when the design is that template unchanged,
    else ``"1."`` + base64url(deflate(JSON list)). ``decode(encode(s)) == validate(s)``."""
    c = design.validate(spec)
    base = c.get("base")
    if base and c == design.template(base):
        return base
    data = [[c[k] for k in V1_TOP], [c["stem"][k] for k in V1_STEM],
            [[st[k] for k in V1_STAGE] for st in c["stages"]], [c["head"][k] for k in V1_HEAD]]
    raw = json.dumps(data, separators=(",", ":")).encode()
    packed = zlib.compressobj(9, zlib.DEFLATED, -15)
    blob = packed.compress(raw) + packed.flush()
    return "1." + base64.urlsafe_b64encode(blob).decode().rstrip("=")


def decode(token: str) -> dict:
    """The validated spec a link holds; ``ValueError`` with a plain reason when it holds none."""
    token = (token or "").strip()
    if not token:
        raise ValueError("the link holds no design")
    if len(token) > MAX_TOKEN:
        raise ValueError(f"the design in the link is longer than {MAX_TOKEN} characters")
    if "." not in token:
        if token not in design.TEMPLATE_NAMES:
            raise ValueError(f"the link names no known template ({token[:40]!r})")
        return design.template(token)
    version, _, payload = token.partition(".")
    if version != "1":
        raise ValueError(f"the link's design format is version {version[:8]!r}; this page reads version 1")
    try:
        blob = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        inflater = zlib.decompressobj(-15)
        raw = inflater.decompress(blob, MAX_INFLATED)
        if inflater.unconsumed_tail:
            raise ValueError("too large")
        data = json.loads(raw.decode())
    except (ValueError, zlib.error, UnicodeDecodeError):
        raise ValueError("the link's design is damaged (it may have been cut short when copied)") from None
    try:
        top, stem, stages, head = data
        spec = dict(zip(V1_TOP, top, strict=True))
        spec["stem"] = dict(zip(V1_STEM, stem, strict=True))
        spec["stages"] = [dict(zip(V1_STAGE, st, strict=True)) for st in stages]
        spec["head"] = dict(zip(V1_HEAD, head, strict=True))
    except (TypeError, ValueError):
        raise ValueError("the link's design does not have the version 1 layout") from None
    return design.validate(spec)


# --- JSON files -----------------------------------------------------------------------------------

MAX_FILE = 256 * 1024


def to_json(spec: dict) -> str:
    return json.dumps(design.validate(spec), indent=1)


def from_json(data: bytes) -> dict:
    """An uploaded design file as a validated spec; ``ValueError`` saying what is wrong with it.
    The file is parsed as JSON only: never executed, never unpickled."""
    if len(data) > MAX_FILE:
        raise ValueError(f"the file is larger than {MAX_FILE // 1024} KB; a design file is a few KB")
    try:
        spec = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("the file is not text (UTF-8 JSON)") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"the file is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    return design.validate(spec)


def file_name(spec: dict, ext: str = "json") -> str:
    """A safe file name from the design's name: ``"my net"`` -> ``"my_net.json"``."""
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in spec.get("name") or "design")
    return f"{stem.strip('_') or 'design'}.{ext}"


# --- PyTorch source --------------------------------------------------------------------------------

def _arg(v) -> str:
    if isinstance(v, design.Call):
        return _call(v)
    if isinstance(v, design.Ref):
        return v.name
    return repr(v)


def _call(c: design.Call) -> str:
    parts = [_arg(a) for a in c.args] + [f"{k}={_arg(v)}" for k, v in c.kwargs]
    return f"{c.fn}({', '.join(parts)})"


def _imports(p: design.Plan) -> list[str]:
    used: set[str] = set()

    def walk(x):
        if isinstance(x, design.Call):
            used.add(x.fn)
            for a in x.args:
                walk(a)
            for _, v in x.kwargs:
                walk(v)

    for x in [p.stem, p.head, p.pool, p.classifier, *[c for s in p.stages for c in s]]:
        walk(x)
    by_module: dict[str, list[str]] = {}
    for fn in sorted(used):
        if fn in design.IMPORTS:
            by_module.setdefault(design.IMPORTS[fn], []).append(fn)
    return [f"from {m} import {', '.join(names)}" for m, names in sorted(by_module.items())]


def _sequential(attr: str, calls: Sequence[design.Call], comment: str) -> list[str]:
    """``self.attr = nn.Sequential(...)`` with runs of identical calls written once."""
    lines = [f"        self.{attr} = nn.Sequential(  # {comment}"]
    i = 0
    while i < len(calls):
        j = i
        while j + 1 < len(calls) and calls[j + 1] == calls[i]:
            j += 1
        n = j - i + 1
        text = _call(calls[i])
        lines.append(f"            *[{text} for _ in range({n})]," if n > 1 else f"            {text},")
        i = j + 1
    lines.append("        )")
    return lines


def pytorch_source(spec: dict, totals: dict | None = None, class_name: str = "Net") -> str:
    """Readable Python source of an ``nn.Module`` equal to ``build(spec)``: the same modules, the
    same state-dict names and shapes, built from the CNN Atlas zoo's blocks (``zoo`` importable).

    ``totals`` (``total_params``, ``total_macs`` from zoo.analyze) go into the docstring."""
    p = design.plan(spec)
    c = p.spec
    r = c["resolution"]
    side = lambda h, w: f"{w} × {h} × {h}"  # noqa: E731
    doc = f"{c['name']}: designed in CNN Atlas's design lab (design format {design.VERSION})."
    if totals:
        doc += (f"\n\n{fmt.count(totals['total_params'])} parameters, "
                f"{fmt.macs_and_flops(totals['total_macs'])} at {r} px\n(counted by CNN Atlas on the meta device).")
    lines = ['"""' + doc, "", "Link to edit it again: the design lab's URL, or its JSON file.", '"""',
             "import torch", "import torch.nn as nn", "", *_imports(p), "", "",
             f"class {class_name}(nn.Module):",
             f'    """Input (B, {c["in_channels"]}, {r}, {r}) -> logits (B, {c["head"]["classes"]})."""',
             "", "    def __init__(self):", "        super().__init__()"]
    lines += _sequential("stem", p.stem.args, f"-> {side(p.sides[0], p.widths[0])}")
    for i, calls in enumerate(p.stages, 1):
        st = c["stages"][i - 1]
        n = sum(1 for x in calls if x.fn != "nn.MaxPool2d")
        lines += _sequential(f"stage{i}", calls, f"{st['block']} × {n} -> {side(p.sides[i], p.widths[i])}")
    if p.head is not None:
        lines.append(f"        self.head = {_call(p.head)}")
    if p.pool is not None:
        lines.append(f"        self.pool = {_call(p.pool)}")
    lines += _sequential("classifier", p.classifier.args, f"-> {c['head']['classes']} classes")
    lines += ["", "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
              f"        x = self.stem(x)  # (B, {c['in_channels']}, {r}, {r}) -> (B, {p.widths[0]}, {p.sides[0]}, {p.sides[0]})"]
    for i in range(1, len(p.stages) + 1):
        lines.append(f"        x = self.stage{i}(x)  # -> (B, {p.widths[i]}, {p.sides[i]}, {p.sides[i]})")
    if p.head is not None:
        lines.append(f"        x = self.head(x)  # 1×1 conv -> (B, {p.head.args[1]}, {p.sides[-1]}, {p.sides[-1]})")
    if p.pool is not None:
        lines += ["        x = torch.flatten(self.pool(x), 1)  # global pool -> (B, C)",
                  "        return self.classifier(x)  # -> (B, classes)"]
    else:
        lines.append("        return torch.flatten(self.classifier(x), 1)  # 1×1 conv to the classes, pool -> (B, classes)")
    return "\n".join(lines) + "\n"


# --- the difference from the template, in words ----------------------------------------------------

def _signed(delta: float, text: str) -> str:
    return ("+" if delta > 0 else "−" if delta < 0 else "±") + text


def _pct(new: float, old: float) -> str:
    if not old:
        return ""
    return f" ({_signed(new - old, fmt.percent(abs(100 * (new - old) / old)))})"


def top_stage(by_stage: Sequence[dict]) -> tuple[str, float]:
    """The stage holding the largest share of the MACs (stem and head included), and its share."""
    total = sum(g["macs"] for g in by_stage) or 1
    g = max(by_stage, key=lambda g: g["macs"])
    return g["group"], g["macs"] / total


def difference(d: dict, t: dict, template: str, unit: str = "MACs") -> str:
    """"+1.23 GMACs (+30.1 %), −3.02 M parameters (−11.8 %) … against resnet50" from two summaries
    (``ui.explore.summarize`` dicts of zoo.analyze), or that the costs are identical."""
    keys = ("total_params", "total_macs", "total_act_bytes", "total_mem_access")
    if all(d[k] == t[k] for k in keys) and d["resolution"] == t["resolution"]:
        return f"Identical in cost to **{template}**: the template as published."
    parts = []
    dm = fmt.ops(d["total_macs"], unit) - fmt.ops(t["total_macs"], unit)
    parts.append(_signed(dm, f"{fmt.si(abs(dm))}{unit}") + _pct(d["total_macs"], t["total_macs"]))
    dp = d["total_params"] - t["total_params"]
    parts.append(_signed(dp, f"{fmt.fmt_params(abs(dp))} parameters") + _pct(d["total_params"], t["total_params"]))
    da = d["total_act_bytes"] - t["total_act_bytes"]
    parts.append(_signed(da, f"{fmt.fmt_bytes(abs(da))} of activations") + _pct(d["total_act_bytes"], t["total_act_bytes"]))
    text = ", ".join(parts) + f" against **{template}**"
    if d["resolution"] != t["resolution"]:
        text += f" (at {t['resolution']} px; this design at {d['resolution']} px)"
    stage, share = top_stage(d["by_stage"])
    text += f". {fmt.percent(100 * share, 0)} of the {unit} now in {stage}"
    was = {g["group"]: g["macs"] for g in t["by_stage"]}
    if stage in was:
        text += f" (it was {fmt.percent(100 * was[stage] / (sum(was.values()) or 1), 0)})"
    return text + "."


def built_rows(spec: dict) -> list[dict]:
    """Each stage as built (after the multipliers): block, width, blocks, output side."""
    c = design.validate(spec)
    k = design.cost(c)
    rows = [{"stage": "stem", "block": f"{c['stem']['kernel']}×{c['stem']['kernel']} conv"
             + (" + max-pool" if c["stem"]["pool"] != "none" else ""),
             "width": fmt.count(k["widths"][0]), "blocks": fmt.DASH, "output side": f"{k['sides'][0]} px"}]
    for i, st in enumerate(c["stages"], 1):
        rows.append({"stage": f"stage{i}", "block": st["block"], "width": fmt.count(k["widths"][i]),
                     "blocks": fmt.count(design.depth(st["repeats"], c["depth_mult"])),
                     "output side": f"{k['sides'][i]} px"})
    return rows


# --- against the zoo -------------------------------------------------------------------------------

BAND = "#000000"   # black: no family of the zoo chart uses it


def zoo_band_figure(points: Sequence[dict], value: float, x: str = "macs", unit: str = "MACs",
                    base: str | None = None, label: str = "this design") -> dict:
    """The zoo's published top-1 against exact cost, with the design as a vertical band at its cost.

    ``points``: ``ui.state.pareto_points`` dicts (name, family, top1, source, params, macs).
    ``value``: the design's parameters or MACs (``x``). Its accuracy is unknown (the design is
    not trained), so it is a band over the whole accuracy axis, never a point.
    """
    pts = [dict(p) for p in points]
    if x == "macs":
        for p in pts:
            p["x_label"] = f"{fmt.fmt_ops(p['macs'], unit)} · {fmt.fmt_params(p['params'])} parameters"
            p["macs"] = fmt.ops(p["macs"], unit)
        shown, title = fmt.ops(value, unit), f"{unit} (exact, counted by CNN Atlas)"
    else:
        for p in pts:
            p["x_label"] = f"{fmt.fmt_params(p['params'])} parameters · {fmt.fmt_ops(p['macs'], unit)}"
        shown, title = value, "parameters (exact, counted by CNN Atlas)"
    spec = ux.pareto_figure(pts, x, title, log_x=True,
                            title=f"The zoo's published top-1 against {title.split(' (')[0]}")
    tops = [p["top1"] for p in pts if p.get("top1") is not None]
    lo, hi = (min(tops) - 3, max(tops) + 3) if tops else (50, 90)
    shown = float(shown)
    text = fmt.fmt_ops(value, unit) if x == "macs" else f"{fmt.fmt_params(value)} parameters"
    xy = {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}
    spec = ux.with_layer(spec, {
        "name": "band", "data": {"values": [{"x": shown / 1.06, "x2": shown * 1.06, "y": lo, "y2": hi}]},
        "mark": {"type": "rect", "fillOpacity": 0.12, "stroke": BAND, "strokeWidth": 1},
        "encoding": {**xy, "x2": {"field": "x2"}, "y2": {"field": "y2"}},
    }, legend=(f"{label}: not trained", BAND, "square"), below=True)
    spec = ux.with_layer(spec, {
        "name": "design", "data": {"values": [{"x": shown, "y": lo, "y2": hi, "name": label, "cost": text,
                                               "accuracy": "unknown: not trained"}]},
        "mark": {"type": "rule", "color": BAND, "strokeWidth": 3},
        "encoding": {**xy, "y2": {"field": "y2"},
                     "tooltip": [{"field": "name", "title": "design"}, {"field": "cost", "title": "cost"},
                                 {"field": "accuracy", "title": "accuracy"}]}})
    spec = ux.with_layer(spec, {
        "name": "design label", "data": {"values": [{"x": shown, "y": hi, "text": label}]},
        "mark": {"type": "text", "baseline": "bottom", "dy": -4, "color": BAND},
        "encoding": {**xy, "text": {"field": "text"}}})
    ref = next((p for p in pts if p["name"] == base), None)
    if ref is not None:
        spec = ux.with_layer(spec, {
            "name": "template", "data": {"values": [{"x": float(ref[x]), "y": float(ref["top1"]), "name": base,
                                                     "top1": fmt.percent(ref["top1"])}]},
            "mark": {"type": "point", "filled": False, "size": 480, "strokeWidth": 2, "opacity": 1},
            "encoding": {**xy, "tooltip": [{"field": "name", "title": "the template"},
                                           {"field": "top1", "title": "top-1"}]},
        }, legend=(f"template: {base}", "#000000", "circle"))
    points = ux.layer_named(spec, "points")
    points["encoding"]["y"]["scale"]["domain"] = [lo, hi + 2]
    d0, d1 = points["encoding"]["x"]["scale"].get("domain") or (shown, shown)   # the design in view too
    points["encoding"]["x"]["scale"]["domain"] = [min(d0, shown / 1.5), max(d1, shown * 1.5)]
    spec["height"] = 620
    return spec


def neighbours(points: Sequence[dict], macs: float, factor: float = 1.5) -> list[dict]:
    """Zoo models whose MACs lie within ``factor`` of ``macs``, cheapest first."""
    near = [p for p in points if macs / factor <= p["macs"] <= macs * factor]
    return sorted(near, key=lambda p: p["macs"])


def neighbours_text(points: Sequence[dict], macs: float, unit: str = "MACs", factor: float = 1.5) -> str:
    near = neighbours(points, macs, factor)
    if not near:
        return (f"No zoo model with a published top-1 costs within {factor:g}× of this design's "
                f"{fmt.fmt_ops(macs, unit)}.")
    lo, hi = min(near, key=lambda p: p["top1"]), max(near, key=lambda p: p["top1"])
    text = (f"Within {factor:g}× of its {fmt.fmt_ops(macs, unit)}, {len(near)} zoo model"
            f"{'s' if len(near) > 1 else ''} published")
    if lo is hi:
        return text + f" {lo['top1']:.1f} % top-1 ({lo['name']})."
    return text + (f" between {lo['top1']:.1f} % ({lo['name']}) and {hi['top1']:.1f} % top-1 ({hi['name']}). "
                   "How this design would do is only known after training it.")


# --- measured latency --------------------------------------------------------------------------------

def latency_comparison(design_t, template_t, design_macs: float, template_macs: float, template: str) -> str:
    """The lesson in one sentence, from two ``zoo.latency.Timing``s: the MACs ratio against the time
    measured, or "within noise on this machine" when the interquartile ranges overlap."""
    mr = template_macs / design_macs if design_macs else math.inf
    cost = (f"{mr:.2f}× fewer MACs than {template}" if mr > 1 else
            f"{1 / mr:.2f}× more MACs than {template}" if mr < 1 else f"The same MACs as {template}")
    if not latency.differs(template_t, design_t):
        return f"{cost}; the measured times: {latency.NOISE}."
    return f"{cost}; measured here it runs {latency.compare_words(template_t, design_t, template)}."


# --- guided exercises --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Exercise:
    key: str
    title: str
    base: str                                   # template the exercise starts from
    question: str
    targets: tuple[tuple[str, Callable[[dict], dict]], ...]   # (label, edit of the start) for the answer


def _edit(**changes) -> Callable[[dict], dict]:
    """An edit of the spec's top-level fields (resolution, multipliers)."""
    def f(spec: dict) -> dict:
        return design.validate({**spec, **changes})
    return f


def _separable(spec: dict) -> dict:
    s = json.loads(json.dumps(spec))
    for st in s["stages"][2:3]:
        st.update(block="dwsep", kernel=3, se=None, shortcut=None, activation="relu6")
    return design.validate(s)


EXERCISES = (
    Exercise(
        "separable", "Depthwise-separable convolutions", "resnet18",
        "Stage 3 of ResNet-18 is two basic blocks of 3×3 convolutions at 256 channels. Change its "
        "block to **dwsep** (MobileNet v1's depthwise-separable convolution). How much do the MACs "
        "of the network and of stage3 fall? Then measure the latency of both on the Latency tab: "
        "why does the time fall less than the MACs?",
        (("stage 3 as dwsep", _separable),)),
    Exercise(
        "width_depth", "Width or depth at equal MACs", "resnet18",
        "Roughly double ResNet-18's MACs in two ways: a width multiplier of 1.41 (a convolution's "
        "MACs grow with the square of its width, and 1.41² ≈ 2) or a depth multiplier of 2. Which "
        "one costs more parameters, more activation memory, and more time here?",
        (("width × 1.41", _edit(width_mult=1.41)), ("depth × 2", _edit(depth_mult=2.0)))),
    Exercise(
        "resolution", "Resolution 224 → 320 px", "efficientnet_b0",
        "Raise EfficientNet-B0's input resolution from 224 to 320 px. The MACs should grow by about "
        "(320 / 224)² ≈ 2.04×: do they? What happens to the parameters, and to activation memory?",
        (("320 px", _edit(resolution=320)),)),
)
EXERCISE_KEYS = {e.key: e for e in EXERCISES}


def answer_lines(start: dict, targets: Sequence[tuple[str, dict]], unit: str = "MACs") -> list[str]:
    """One line per target: its cost against the exercise's start, from zoo.analyze summaries."""
    lines = []
    for label, t in targets:
        m = t["total_macs"] / start["total_macs"]
        p = t["total_params"] / start["total_params"]
        a = t["total_act_bytes"] / start["total_act_bytes"]
        lines.append(f"**{label}**: {fmt.fmt_ops(t['total_macs'], unit)} ({m:.2f}× the start), "
                     f"{fmt.fmt_params(t['total_params'])} parameters ({p:.2f}×), "
                     f"{fmt.fmt_bytes(t['total_act_bytes'])} of activations ({a:.2f}×).")
    return lines
