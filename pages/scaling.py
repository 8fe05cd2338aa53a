"""Compound-scaling lab: EfficientNet's φ, α, β, γ against the network actually built.

Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", ICML 2019,
arXiv 1905.11946, §3.3: depth d = α^φ, width w = β^φ, resolution r = γ^φ with α·β²·γ² ≈ 2, so
the FLOPs should grow by (α·β²·γ²)^φ. This page sets the four numbers (or a B0–B7 preset), builds
the scaled network on the meta device with ``zoo.build("efficientnet", phi=…, alpha=…, …)`` and
compares the predicted cost factor with the exact MACs of what was built; it shows the scaled
Table 1, the official B0–B7 coefficients against the pure formula, and one-dimension scaling
(the seed paper's Figure 9, from the EfficientNet paper's Figure 3) with computed costs.
"""
from __future__ import annotations

import os

import pandas as pd
import streamlit as st

import zoo
from zoo import fmt
from ui import page
from ui import explore as ux
from ui import state
from zoo import efficientnet as eff

COEF_RANGE = (0.0, 3.0)   # 0 is reachable on purpose: the page explains why it cannot be built
PHI_RANGE = (-4.0, 16.0)
MAX_MACS = 5e12           # beyond this even a meta-device analysis is pointless for a lesson
PRESETS = [f"B{i}" for i in range(8)]
ENGINE = "counted by CNN Atlas on the meta device"


def matching_preset(alpha: float, beta: float, gamma: float, phi: float) -> str | None:
    """The preset Bk whose φ = k and the paper's α, β, γ are exactly these values, if any."""
    if (alpha, beta, gamma) != (eff.ALPHA, eff.BETA, eff.GAMMA) or phi != int(phi) or not 0 <= phi < len(PRESETS):
        return None
    return PRESETS[int(phi)]


def _apply_preset() -> None:
    p = st.session_state.get("preset")
    if p in PRESETS:
        st.session_state.update(phi=float(PRESETS.index(p)), alpha=eff.ALPHA, beta=eff.BETA, gamma=eff.GAMMA)


def _seed_preset_from_url() -> None:
    """``?preset=B3`` opens B3's φ and coefficients (a URL setting them explicitly wins); the
    parameter is then dropped: the sliders' values carry the view in the URL from there on."""
    qp = st.query_params
    p = qp.get("preset")
    if p is None:
        return
    if p in PRESETS and not any(k in qp for k in ("alpha", "beta", "gamma", "phi")):
        if "phi" not in st.session_state:
            st.session_state.update(phi=float(PRESETS.index(p)), alpha=eff.ALPHA, beta=eff.BETA, gamma=eff.GAMMA)
    elif p not in PRESETS:
        st.warning(f"Ignored `preset={p}` from the URL: the presets are {', '.join(PRESETS)}.")
    del qp["preset"]


SLIDERS = (("alpha", "α (depth)", eff.ALPHA, COEF_RANGE, 0.01),
           ("beta", "β (width)", eff.BETA, COEF_RANGE, 0.01),
           ("gamma", "γ (resolution)", eff.GAMMA, COEF_RANGE, 0.01),
           ("phi", "φ (compound coefficient)", 1.0, PHI_RANGE, 0.1))


def controls() -> tuple[float, float, float, float, str | None]:
    """The preset buttons and the four sliders. A preset only sets the sliders; which preset is lit
    is derived from the sliders' values, so a slider moved by mouse or keyboard simply unlights it.
    The four values are kept in the URL by hand (``state.numbers_to_url``): a preset sets them all
    at once, which a widget bound to the URL would not record."""
    _seed_preset_from_url()
    for key, _sym, _default, rng, _step in SLIDERS:
        state.number_from_url(key, *rng)
    current = [st.session_state.get(k) for k, *_ in SLIDERS]
    if all(v is not None for v in current):
        st.session_state["preset"] = matching_preset(*current)
    st.segmented_control("Preset (φ = i with the paper's α, β, γ)", PRESETS, key="preset", on_change=_apply_preset)
    values = []
    with page.row():
        for key, sym, default, rng, step in SLIDERS:
            if key not in st.session_state:      # a value already in the state (URL, preset) wins
                st.session_state[key] = default
            values.append(st.slider(sym, rng[0], rng[1], step=step, key=key, width=220))
    state.numbers_to_url({key: (v, default) for (key, _s, default, _r, _t), v in zip(SLIDERS, values)})
    return (*values, matching_preset(*values))


def cost_factor(alpha: float, beta: float, gamma: float, phi: float) -> float:
    return zoo.costs.efficientnet_cost_factor(alpha, beta, gamma, phi)


def built(alpha, beta, gamma, phi) -> dict | None:
    """The formula network: checks, coefficients, exact cost; None (with a message) when absurd."""
    problems = ux.scaling_problems(alpha, beta, gamma, phi)
    if problems:
        for p in problems:
            st.error(p)
        return None
    try:
        w, d, r = eff.compound_coefficients(phi, alpha, beta, gamma)
    except ValueError as e:
        st.error(f"Cannot build this network: {e}.")
        return None
    b0 = state.totals("efficientnet_b0")
    predicted = cost_factor(alpha, beta, gamma, phi) * b0["total_macs"]
    if predicted > MAX_MACS:
        st.error(f"Predicted cost {fmt.fmt_ops(predicted)} is far beyond any real network "
                 f"(limit here {fmt.fmt_ops(MAX_MACS)}); choose a smaller φ.")
        return None
    s = state.totals("efficientnet", r, state.compound_overrides(alpha, beta, gamma, phi))
    return {"w": w, "d": d, "r": r, "s": s, "b0": b0, "predicted": predicted}


def compound_section(alpha, beta, gamma, phi, preset, unit) -> None:
    base = alpha * beta ** 2 * gamma ** 2
    factor = cost_factor(alpha, beta, gamma, phi)
    b = built(alpha, beta, gamma, phi)
    items = [("α·β²·γ²", f"{base:.3f}", "The paper constrains it to ≈ 2: each unit of φ about doubles the FLOPs."),
             ("Predicted cost factor (α·β²·γ²)^φ", f"{factor:.3g}×", "Tan & Le 2019, §3.3")]
    if b is None:
        page.metrics(items)
        return
    s, b0 = b["s"], b["b0"]
    actual = s["total_macs"] / b0["total_macs"]
    items.append(("Actual factor (exact MACs / B0's)", f"{actual:.3g}×",
                  f"{fmt.exact_ops(s['total_macs'])} / {fmt.exact_ops(b0['total_macs'])}, {ENGINE}",
                  f"{100 * (actual / factor - 1):+.1f} % vs predicted".replace("-", "−")))
    page.metrics(items)
    page.metrics([
        ("depth d = α^φ", f"{b['d']:.3f}×", None),
        ("width w = β^φ", f"{b['w']:.3f}×", None),
        ("resolution r = 224·γ^φ", f"{b['r']} px", None),
        ("Parameters", fmt.fmt_params(s["total_params"]), f"{fmt.count(s['total_params'])} parameters, {ENGINE}"),
        (unit, fmt.fmt_ops(s["total_macs"], unit), f"{fmt.exact_ops(s['total_macs'], unit)}, {ENGINE}"),
    ])
    page.note(f"B0: {fmt.fmt_ops(b0['total_macs'], unit)} at 224 px. The actual factor differs from the "
              "prediction because channels round to multiples of 8, repeats round up, and the stem, the "
              "head and the classifier do not scale as w²·d·r².")
    memory_note(s)
    if preset:
        official(preset, b, unit)
    st.markdown("**The scaled stage table** (Table 1 of the paper, B0 → this network)")
    page.table(stage_frame(b["w"], b["d"]))
    rows = factor_rows(alpha, beta, gamma, b0["total_macs"])
    page.chart(ux.factor_figure(rows, (phi, factor, actual)), key="factors")


def factor_rows(alpha, beta, gamma, b0_macs: float) -> list[tuple[float, float, float]]:
    """(φ, predicted factor, actual factor) for φ = 0…7 with these coefficients (buildable ones only)."""
    rows = []
    for k in range(8):
        try:
            _, _, r = eff.compound_coefficients(float(k), alpha, beta, gamma)
        except ValueError:
            continue
        t = state.totals("efficientnet", r, state.compound_overrides(alpha, beta, gamma, k))
        rows.append((k, cost_factor(alpha, beta, gamma, k), t["total_macs"] / b0_macs))
    return rows


def memory_note(s: dict) -> None:
    """Large φ: say how much memory the real network would need; it is only analysed on meta."""
    weights = 4 * s["total_params"]
    acts = s["total_act_bytes"]
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else None
    need = weights + acts
    text = (f"Analysed on the meta device (no weights allocated). A real fp32 copy would need "
            f"{fmt.fmt_bytes(weights)} of weights and {fmt.fmt_bytes(acts)} of activations per image")
    if ram and need > 0.5 * ram:
        st.warning(text + f": more than half of this machine's {fmt.fmt_bytes(ram)} of memory.")
    else:
        page.note(text + ".")


def official(preset: str, b: dict, unit: str) -> None:
    """Preset Bk: the official Bk (reference table) beside the pure-formula network at φ = k, both
    built and counted, and one sentence on why they differ."""
    key = preset.lower()
    w, d, r, _ = eff.COMPOUND[key]
    o = state.totals(f"efficientnet_{key}")
    s = b["s"]
    top1 = zoo.info(f"efficientnet_{key}").figures.get("top1_paper")
    left, right = st.columns(2)
    with left.container(border=True):
        st.markdown(f"**Official {preset}** (the reference implementation's table)")
        page.metrics([("width × depth", f"{w:g} × {d:g}", None), ("resolution", f"{r} px", None),
                      ("Parameters", fmt.fmt_params(o["total_params"]), f"{fmt.count(o['total_params'])} parameters"),
                      (unit, fmt.fmt_ops(o["total_macs"], unit), fmt.exact_ops(o["total_macs"], unit))])
        if top1:
            page.cite(f"{top1.value:.1f} % top-1 ({top1.source})")
    with right.container(border=True):
        st.markdown(f"**Formula at φ = {PRESETS.index(preset)}** (α^φ, β^φ, 224·γ^φ)")
        page.metrics([("width × depth", f"{b['w']:.3g} × {b['d']:.3g}", None), ("resolution", f"{b['r']} px", None),
                      ("Parameters", fmt.fmt_params(s["total_params"]), f"{fmt.count(s['total_params'])} parameters"),
                      (unit, fmt.fmt_ops(s["total_macs"], unit), fmt.exact_ops(s["total_macs"], unit))])
        page.cite("no published accuracy: this network was never trained")
    ratio = s["total_macs"] / o["total_macs"]
    st.markdown(f"The authors rounded {preset}'s width, depth and resolution by hand instead of using the "
                f"formula, so the formula network at φ = {PRESETS.index(preset)} costs **{ratio:.2f}×** the "
                f"official {preset}'s {unit} ({fmt.fmt_ops(s['total_macs'], unit)} against "
                f"{fmt.fmt_ops(o['total_macs'], unit)}).")


def stage_frame(w: float, d: float) -> pd.DataFrame:
    rows = []
    for i, (b0, sc) in enumerate(zip(eff.BASELINE, eff.stage_table(w, d)), start=2):
        rows.append({"stage": i, "operator": f"MBConv{b0.expand}, k{b0.kernel}×{b0.kernel}", "stride": b0.stride,
                     "channels (B0)": b0.out_channels, "channels": sc.out_channels,
                     "layers (B0)": b0.repeats, "layers": sc.repeats})
    return pd.DataFrame(rows)


def official_section(unit: str) -> None:
    st.markdown("The reference implementation's B0–B7 are **not** exactly φ = 0…7 of the formula: their "
                "width, depth and resolution were rounded by hand. Cells where the formula differs from "
                "the official value by more than 2 % are highlighted.")
    df = ux.formula_vs_official(eff.COMPOUND, eff.compound_coefficients,
                                alpha=eff.ALPHA, beta=eff.BETA, gamma=eff.GAMMA)
    diff = ux.differing_cells(df)
    styled = df.style.apply(_highlight(diff), axis=None)
    st.table(styled.format(precision=3, subset=["width (official)", "width β^φ", "depth (official)", "depth α^φ"]),
             hide_index=True)
    page.cite(f"{len(diff)} formula cells differ from the official table by more than 2 %. Official values: "
              "Google's reference EfficientNet implementation (TensorFlow TPU models).")
    rows = []
    for i, key in enumerate(eff.COMPOUND):
        o = state.totals(f"efficientnet_{key}")
        fw, fd, fr = eff.compound_coefficients(i)
        f = state.totals("efficientnet", fr, state.compound_overrides(eff.ALPHA, eff.BETA, eff.GAMMA, i))
        top1 = zoo.info(f"efficientnet_{key}").figures.get("top1_paper")
        rows.append({"model": key.upper(), "φ": i, f"official {unit}": fmt.fmt_ops(o["total_macs"], unit),
                     "official params": fmt.fmt_params(o["total_params"]),
                     f"formula {unit}": fmt.fmt_ops(f["total_macs"], unit),
                     "formula params": fmt.fmt_params(f["total_params"]),
                     "formula / official cost": f"{f['total_macs'] / o['total_macs']:.2f}×",
                     "top-1 % (paper)": top1.value if top1 else None})
    page.table(pd.DataFrame(rows), digits={"top-1 % (paper)": 1})
    page.cite("Counts by CNN Atlas on the meta device. Top-1: Tan & Le 2019, Table 2. The seed paper (Zhao), "
              "Table 5, lists B0–B6 with α = 1.2, β = 1.1, γ = 1.15 and the same accuracies.")


def _highlight(cells: list[tuple[int, str]]):
    def style(df: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame("", index=df.index, columns=df.columns)
        for i, c in cells:
            out.loc[i, c] = "background-color: #ffe08a; font-weight: bold"
        return out
    return style


def one_dimension_section(unit: str) -> None:
    st.markdown("Scaling **one** dimension of B0 (the EfficientNet paper's Figure 3, the seed's Figure 9). "
                "Costs are computed for each network; the paper's accuracies for these single-dimension "
                "networks are only plotted in its figure, not tabulated, so none are shown here. The "
                "published accuracies available are B0–B7's (compound scaling), in the second chart.")
    curves = {dim: [(f, state.totals("efficientnet", r, state.dims_overrides(w, d))["total_macs"])
                    for f, w, d, r in pts] for dim, pts in ux.one_dimension_grid().items()}
    page.chart(ux.scaling_curves_figure(curves, unit), key="curves")
    points = []
    for key in eff.COMPOUND:
        name = f"efficientnet_{key}"
        top1 = zoo.info(name).figures.get("top1_paper")
        if top1:
            points.append({"name": name, "family": "EfficientNet B0–B7 (compound)",
                           "macs": fmt.ops(state.totals(name)["total_macs"], unit), "top1": top1.value,
                           "source": top1.source, "label": key.upper()})
    page.chart(ux.pareto_figure(points, "macs", unit, frontier=False, labels=[p["name"] for p in points],
                                title=f"Compound scaling: published top-1 against computed {unit}"),
               key="compound_points")


def main() -> None:
    st.title("Compound-scaling lab")
    st.markdown("EfficientNet scales depth, width and resolution together: d = α^φ, w = β^φ, r = γ^φ, "
                "with α·β²·γ² ≈ 2 so that each step of φ roughly doubles the cost (Tan & Le 2019, §3.3).")
    alpha, beta, gamma, phi, preset = controls()
    unit = st.segmented_control("Count", fmt.UNITS, default="MACs", key="unit", required=True, bind="query-params")
    tabs = st.tabs(["Compound scaling", "Official B0–B7 vs formula", "One dimension at a time"],
                   key="view", bind="query-params")
    if tabs[0].open:
        with tabs[0]:
            compound_section(alpha, beta, gamma, phi, preset, unit)
    if tabs[1].open:
        with tabs[1]:
            official_section(unit)
    if tabs[2].open:
        with tabs[2]:
            one_dimension_section(unit)


state.ensure_router()
main()
