"""Accuracy against cost: published top-1 against parameters, MACs and measured CPU latency.

Top-1 figures are published ones (the paper's, or the torchvision/timm weights'), each with its
source from assets/published.csv. Parameters and MACs are computed by ``zoo.analyze`` on the meta
device at each model's registered resolution. Latency is measured on this machine, on request,
by ``zoo.latency.measure`` (median of several batch-1 fp32 forward passes; the thread count and
the processor are shown with the numbers); heavy models stay on the meta device and are not timed.
The seed paper's Tables 5 and 6 (Zhao, "A comparative study of large-scale and lightweight
convolutional neural networks for ImageNet classification") are shown with the primary sources beside them, and where they disagree, both.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from zoo import fmt
from ui import page
from ui import explore as ux
from ui import state

AXES = {"parameters": "params", "MACs": "macs", "latency (this CPU)": "latency_ms"}
ACC = {"paper": "paper", "weights (torchvision / timm)": "weights"}


def with_labels(pts: list[dict], unit: str, latency: dict) -> list[dict]:
    out = []
    for p in pts:
        q = dict(p)
        q["macs"] = fmt.ops(p["macs"], unit)
        lat = latency.get((p["name"], p["resolution"]))
        q["latency_ms"] = lat["median_ms"] if lat else None
        q["x_label"] = (f"{fmt.fmt_params(p['params'])} parameters · {fmt.fmt_ops(p['macs'], unit)} at "
                        f"{p['resolution']} px" + (f" · {lat['median_ms']:.1f} ms" if lat else ""))
        out.append(q)
    return out


def charts(pts: list[dict], unit: str) -> None:
    with page.row(vertical_alignment="bottom"):
        axis = st.segmented_control("Cost axis", list(AXES), default="MACs", key="x", required=True,
                                    bind="query-params")
        log_x = st.toggle("Log cost axis", value=True, key="log", bind="query-params")
        seed = st.toggle("Seed Table 6 as printed", value=False, key="seed6", bind="query-params")
    x = AXES[axis]
    title = {"params": "parameters", "macs": unit, "latency_ms": "CPU latency, ms (batch 1, median)"}[x]
    if x == "latency_ms" and not any(p["latency_ms"] for p in pts):
        st.info("No latency measured yet: use **Measure latency** below, then come back to this axis.")
        return
    fig = ux.pareto_figure(pts, x, title, log_x=log_x)
    if seed and x == "params":
        t6 = [r for r in state.asset_csv("seed_tables.csv") if r["table"] == "6"]
        fig.add_scatter(x=[float(r["params_m"]) * 1e6 for r in t6], y=[float(r["top1"]) for r in t6],
                        mode="markers+text", text=[r["row"] for r in t6], textposition="bottom center",
                        marker=dict(symbol="x", size=11, color="black"), name="seed Table 6 (as printed)",
                        hovertemplate="seed paper (Zhao), Table 6: %{text}<br>%{y} % · %{x:.3s} params<extra></extra>")
    elif seed:
        page.note("Seed Table 6 prints parameters only: switch the cost axis to parameters to overlay it.")
    page.chart(fig, key=f"pareto_{x}")
    plotted = [p for p in pts if p.get(x)]
    n_front = len(ux.pareto_front([p[x] for p in plotted], [p["top1"] for p in plotted]))
    missing = len(pts) - len(plotted)
    page.cite(f"{len(plotted)} models plotted{f' ({missing} not measured yet)' if missing else ''}; {n_front} on "
              "the Pareto frontier (no other plotted model is both cheaper and more accurate), named on the chart. "
              "Parameters are those used at inference (auxiliary heads excluded). Top-1 as published (hover a point "
              "for its source); protocols differ (crops, resolutions, training recipes).")


def latency_section(pts: list[dict]) -> dict:
    st.subheader("Measure latency on this machine")
    light = [p for p in pts if p["macs"] <= state.LATENCY_MAX_MACS]
    heavy = sorted(p["name"] for p in pts if p["macs"] > state.LATENCY_MAX_MACS)
    st.caption(f"Models above {fmt.fmt_ops(state.LATENCY_MAX_MACS)} stay on the meta device and are not "
               f"timed here: {', '.join(heavy) or 'none'}.")
    names = [p["name"] for p in light]
    default = [n for n in ("mobilenet_v2", "shufflenet_v2_x1_0", "resnet50", "efficientnet_b0",
                           "squeezenet1_1", "mobilenet_v3_large") if n in names]
    c1, c2, c3 = st.columns([3, 1, 1])
    chosen = c1.multiselect("Models to time", names, default=default, key="lat_models")
    threads = c2.number_input("Threads", 1, max(1, torch.get_num_threads() * 2),
                              value=torch.get_num_threads(), key="lat_threads")
    runs = c3.number_input("Timed runs", 3, 50, value=10, key="lat_runs")
    results = st.session_state.setdefault("latency", {})
    if st.button("Measure latency", type="primary", disabled=not chosen):
        bar = st.progress(0.0, text="Starting…")
        by_name = {p["name"]: p for p in light}
        for i, name in enumerate(chosen):
            bar.progress(i / len(chosen), text=f"Timing {name} ({i + 1}/{len(chosen)})…")
            try:
                lat = state.measure_latency(name, by_name[name]["resolution"], int(threads), int(runs))
                results[(name, by_name[name]["resolution"])] = lat
            except Exception as e:  # out of memory, a model that fails on CPU…: report and go on
                st.error(f"Could not time {name}: {e}")
        bar.progress(1.0, text="Done.")
    if results:
        df = pd.DataFrame(list(results.values()))[["name", "resolution", "median_ms", "mean_ms", "min_ms",
                                                    "stdev_ms", "runs", "threads", "torch_version", "machine"]]
        st.dataframe(df.sort_values("median_ms"), hide_index=True,
                     column_config={c: st.column_config.NumberColumn(format="%.2f")
                                    for c in ("median_ms", "mean_ms", "min_ms", "stdev_ms")})
        st.caption("Batch 1, fp32, torch.inference_mode, random weights; median of the timed runs after one "
                   "warm-up. Results are cached per (model, resolution, threads, runs). Other work on this "
                   "machine slows them down: compare models measured together.")
    return results


def seed_tables(pts: list[dict]) -> None:
    st.subheader("The seed paper's Tables 5 and 6")
    rows = state.published_rows()
    by_name = {p["name"]: p for p in state.pareto_points("paper")}
    seed = state.asset_csv("seed_tables.csv")
    coef = next(r for r in seed if r["table"] == "5" and not r["model"])
    st.markdown(f"**Table 5** (EfficientNet B0–B6, α = {coef['alpha']}, β = {coef['beta']}, γ = {coef['gamma']}), "
                "as printed, beside the primary source and the parameters CNN Atlas counts.")
    t5 = []
    for r in (r for r in seed if r["table"] == "5" and r["model"]):
        prim = rows.get((r["primary_model"], r["primary_variant"]), {})
        p = by_name.get(r["model"])
        t5.append({"model": r["row"], "top-1 % (seed)": ux.num(r["top1"]), "top-5 % (seed)": ux.num(r["top5"]),
                   "params (seed, M)": ux.num(r["params_m"]),
                   "top-1 % (Tan & Le)": ux.num(prim.get("top1_paper")),
                   "params (counted)": p["params"] if p else None})
    page.table(t5, counts=["params (counted)"],
               digits={"top-1 % (seed)": 1, "top-5 % (seed)": 1, "top-1 % (Tan & Le)": 1, "params (seed, M)": 1})
    page.cite("Seed paper (Zhao), Table 5; Tan & Le 2019, Table 2; parameters counted by CNN Atlas.")
    st.markdown("**Table 6** (as printed in the seed) beside the primary sources")
    t6 = []
    for r in (r for r in seed if r["table"] == "6"):
        prim = rows.get((r["primary_model"], r["primary_variant"]), {})
        top1, src = ux.published_top1(prim, "paper")
        p = by_name.get(r["model"])
        t6.append({"seed row": r["row"], "seed top-1 %": ux.num(r["top1"]), "seed params (M)": ux.num(r["params_m"]),
                   "primary top-1 %": top1, "params (counted)": p["params"] if p else None,
                   "primary model": r["model"], "primary source": src})
    page.table(t6, counts=["params (counted)"], digits={"seed top-1 %": 1, "primary top-1 %": 1, "seed params (M)": 1})
    page.cite("Seed paper (Zhao), Table 6; primary sources as cited; parameters counted by CNN Atlas.")
    x2 = by_name.get("shufflenet_v2_x2_0")
    x1 = by_name.get("shufflenet_v2_x1_0")
    if x2 and x1:
        st.warning(f"Seed Table 6 prints **ShuffleNet V2: 75.4 %, 2 M parameters**. A ShuffleNet v2 at that "
                   f"accuracy is the 2× model, which has {fmt.fmt_params(x2['params'])} parameters "
                   f"({fmt.count(x2['params'])}, counted by CNN Atlas); the 1× model has "
                   f"{fmt.fmt_params(x1['params'])} and {x1['top1']:.1f} % top-1 ({x1['source']}).")


def main() -> None:
    st.title("Accuracy against cost")
    with page.row(vertical_alignment="bottom"):
        acc = st.radio("Top-1 from", list(ACC), horizontal=True, key="acc", bind="query-params")
        unit = st.segmented_control("Count", fmt.UNITS, default="MACs", key="unit", required=True,
                                    bind="query-params")
    pts = state.pareto_points(ACC[acc])
    if not pts:
        st.warning("No registered model has a published top-1 yet.")
        return
    chart_slot = st.container()  # filled last, so a measurement made below shows at once
    latency = latency_section(pts)
    with chart_slot:
        charts(with_labels(pts, unit, latency), unit)
    seed_tables(pts)

state.ensure_router()
main()
