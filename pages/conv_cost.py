"""Convolution cost lab: regular vs depthwise-separable vs grouped convolution.

The seed paper (Zhao), §3.2 and Table 3, after Howard et al. 2017, "MobileNets: Efficient
Convolutional Neural Networks for Mobile Vision Applications", arXiv 1704.04861, §3.1: a k×k
convolution from C_in to C_out channels costs H'·W'·C_out·C_in·k² multiply-accumulates; a k×k
depthwise convolution followed by a 1×1 pointwise one costs H'·W'·C_in·(k² + C_out), a fraction
1/C_out + 1/k² of it. Table 3 (7×7×3 → 5×5×128, 3×3 kernels): 675 + 9,600 = 10,275 vs 86,400.

The page computes every count with ``zoo.costs``, verifies it by running the real layers through
``zoo.analyze`` (meta device), draws the filters, and checks inside real networks the seed's claim
that the 1×1 pointwise layers, not the depthwise ones, hold most of the MACs. The inputs live in
the URL (``?h=7&w=7&cin=3&cout=128&k=3``).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

import zoo
from ui import page
from ui import lessons as L
from zoo import fmt
from ui import state
from ui.state import ensure_router

ensure_router()  # a deep link as the server's first request still goes through app.py

st.title("Convolution cost lab")
page.cite("Seed paper (Zhao), §3.2 and Table 3 · Howard et al. 2017 (MobileNets, arXiv 1704.04861), §3.1 · "
          "MACs = multiply-accumulates, FLOPs = 2 × MACs · memory access = elements read + written, "
          "weights included (Ma et al. 2018, ShuffleNet v2)")

# key: (label, default = Table 3, min, max)
INPUTS = {
    "h": ("H", 7, 1, 2048, "input height"), "w": ("W", 7, 1, 2048, "input width"),
    "cin": ("C_in", 3, 1, 4096, "input channels"), "cout": ("C_out", 128, 1, 4096, "output channels"),
    "k": ("K", 3, 1, 15, "kernel size"), "stride": ("stride", 1, 1, 8, None), "pad": ("padding", 0, 0, 7, None),
    "groups": ("groups", 1, 1, 4096, "groups of the grouped case; must divide C_in and C_out"),
}


def _table3() -> None:
    for key, (_, default, _, _, _) in INPUTS.items():
        st.session_state[key] = default


def read_inputs() -> dict:
    st.markdown("**Claim.** Splitting a k×k convolution into a depthwise k×k and a pointwise 1×1 "
                "cuts the multiplications to 1/C_out + 1/k² of the original. The defaults are the seed's "
                "Table 3.")
    values = {}
    with page.row(vertical_alignment="bottom", gap="small"):
        for key, (label, default, lo, hi, help_) in INPUTS.items():
            state.clamp_query_number(key, lo, hi)
            values[key] = int(st.number_input(label, min_value=lo, max_value=hi, value=default, step=1, key=key,
                                              bind="query-params", help=help_, width=118))
        st.button("Table 3", on_click=_table3, help="Reset to the seed's Table 3: 7×7×3 → 5×5×128, 3×3")
    return dict(h=values["h"], w=values["w"], c_in=values["cin"], c_out=values["cout"], k=values["k"],
                stride=values["stride"], padding=values["pad"], groups=values["groups"])


def short(macs: int) -> str:
    """Exact below a million, SI prefix above, so the metric fits its column."""
    return f"{fmt.count(macs)} MACs" if macs < 1e6 else f"{fmt.si(macs)}MACs"


def cases_figure(*values: int):
    """``L.cases_figure`` of the inputs (``L.CONV_ARGS`` order): a hall on the default Table 3 shares one."""
    return L.cases_figure(L.conv_cases(L.conv_layers(**dict(zip(L.CONV_ARGS, values)))))


def counts(p: dict) -> list[dict]:
    layers = L.conv_layers(**p)
    cases = L.conv_cases(layers)
    reg, sep = cases[0], cases[1]
    page.metrics([
        ("Regular k×k", short(reg["macs"]), f"{fmt.count(reg['macs'])} MACs = {fmt.count(reg['flops'])} FLOPs"),
        ("Depthwise + pointwise", short(sep["macs"]), f"{fmt.count(sep['macs'])} MACs = {fmt.count(sep['flops'])} FLOPs"),
        ("Fewer multiplications", f"{sep['vs_regular']:.2f}×", None),
        ("1 / (1/C_out + 1/k²)", f"{1 / zoo.costs.separable_ratio(p['c_out'], p['k']):.2f}×",
         "The closed form; equal to the ratio when the depthwise layer keeps the output size."),
    ])
    if {k: p[k] for k in L.TABLE3} == L.TABLE3:
        seed = {r["quantity"]: r["value"] for r in L.read_csv("seed_table3_conv_cost.csv")}
        ok = (layers[1]["macs"] == int(seed["depthwise multiplications"])
              and layers[2]["macs"] == int(seed["pointwise multiplications"])
              and sep["macs"] == int(seed["depthwise-separable multiplications"])
              and reg["macs"] == int(seed["regular multiplications"]))
        msg = (f"Seed paper (Zhao), Table 3: depthwise {fmt.count(int(seed['depthwise multiplications']))} + "
               f"pointwise {fmt.count(int(seed['pointwise multiplications']))} = "
               f"{fmt.count(int(seed['depthwise-separable multiplications']))} vs regular "
               f"{fmt.count(int(seed['regular multiplications']))} (≈ {seed['ratio']}×).")
        (st.success if ok else st.error)(("Reproduced exactly. " if ok else "NOT reproduced. ") + msg)
    df = pd.DataFrame([{
        "case": r["case"], "layer": r["layer"], "kernel": r["kernel"], "groups": r["groups"],
        "C×H×W in → out": "×".join(map(str, r["in_shape"])) + " → " + "×".join(map(str, r["out_shape"])),
        "MACs": r["macs"], "parameters": r["params"], "memory access": r["mem_access"],
    } for r in layers])
    page.table(df, counts=["MACs", "groups", "parameters", "memory access"])
    tot = pd.DataFrame([{"case": c["case"], "MACs": c["macs"], "FLOPs": c["flops"], "parameters": c["params"],
                         "memory access": c["mem_access"], "MACs: regular / this": round(c["vs_regular"], 3)}
                        for c in cases])
    page.table(tot, counts=["MACs", "FLOPs", "parameters", "memory access"], digits={"MACs: regular / this": 3})
    st.markdown("Memory access falls far less than MACs: the depthwise layer still reads and writes "
                "whole feature maps, which is why ShuffleNet v2 measures speed instead of counting.")
    page.shared_chart(cases_figure, *(p[k] for k in L.CONV_ARGS))
    if p["groups"] == 1:
        page.note("Set *groups* above 1 (it must divide C_in and C_out) to add a grouped convolution.")
    return cases


def filters(p: dict) -> None:
    st.subheader("The filters")
    page.shared_chart(L.filters_figure, p["c_in"], p["c_out"], p["k"], p["groups"])
    page.note("One column per filter (output channel), one row per input channel; a filled cell is one "
               "k×k (or 1×1) slice of weights. Beyond 12 channels an even sample is drawn, with the true channel numbers on the axes.")


def _verify(p: tuple) -> list[dict]:
    return state.conv_check(p)


def verify(p: dict) -> None:
    st.subheader("Verified live by the analysis engine")
    rows = _verify(tuple(p[k] for k in L.CONV_ARGS))
    def pair(r: dict, key: str) -> str:
        return f"{fmt.count(r[key + '_formula'])} / {fmt.count(r[key + '_engine'])}" if key + "_engine" in r else fmt.DASH

    df = pd.DataFrame([{
        "agree": "✓" if r["match"] else "✗", "case": r["case"], "layer": r["layer"],
        "engine kind": r.get("engine_kind", fmt.DASH), "MACs: formula / engine": pair(r, "macs"),
        "params: formula / engine": pair(r, "params"), "memory access: formula / engine": pair(r, "mem_access"),
    } for r in rows])
    page.table(df)
    if all(r["match"] for r in rows):
        st.success("The real `nn.Conv2d` layers (bias off), traced by CNN Atlas's analysis engine on the meta "
                   "device, give exactly the formula's MACs, parameters and memory access.")
    else:
        st.error("The engine and the formula disagree on at least one layer (✗ above).")


def _splits() -> list[dict]:
    out = []
    for name in L.SPLIT_MODELS:
        s = state.summary(name)
        out.append(L.kind_split(name, s["by_kind"], s["total_macs"]))
    return out


def split_figure():
    return L.kind_split_figure(_splits())


def networks() -> None:
    st.subheader("Inside real networks: pointwise dominates")
    st.markdown("**The seed's claim:** once the k×k convolutions are depthwise, most of the cost sits in the "
                "1×1 pointwise layers. Checked here with the engine, every network at 224×224:")
    try:
        rows = _splits()
    except Exception as e:  # a model being rewritten must not take the page down
        st.warning(f"Could not analyse the networks: {e}")
        return
    page.shared_chart(split_figure)
    df = pd.DataFrame([{"model": r["model"], "total MACs": r["total_macs"],
                        "pointwise %": round(r["pointwise %"], 1), "depthwise %": round(r["depthwise %"], 1),
                        "pointwise / depthwise": round(r["pointwise"] / r["depthwise"], 1) if r["depthwise"] else None}
                       for r in rows])
    page.table(df, counts=["total MACs"], digits={"pointwise %": 1, "depthwise %": 1, "pointwise / depthwise": 1})
    worst = min(rows, key=lambda r: r["pointwise %"])
    verdict = all(r["pointwise"] > r["depthwise"] for r in rows)
    (st.success if verdict else st.warning)(
        f"Pointwise layers hold more MACs than depthwise ones in every network shown "
        f"(least: {worst['model']}, {worst['pointwise %']:.1f} %)." if verdict else
        "In at least one network the depthwise layers hold more MACs than the pointwise ones.")


params = read_inputs()
problem = L.check_conv_inputs(**params)
if problem:
    st.error(f"These inputs do not describe a convolution: {problem}")
else:
    counts(params)
    filters(params)
    verify(params)
networks()
