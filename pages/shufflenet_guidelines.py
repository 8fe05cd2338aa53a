"""ShuffleNet v2's four guidelines, re-measured on this machine.

The seed paper (Zhao), §3.2.1 and Table 4, after Ma et al. 2018, "ShuffleNet V2: Practical
Guidelines for Efficient CNN Architecture Design", arXiv 1807.11164, §2: FLOPs (MACs) are an
indirect metric; at equal MACs, speed also depends on memory access and parallelism. Four
controlled experiments give four guidelines:

- G1: equal input and output channel widths minimise memory access (1×1 conv pairs at c1:c2 =
  1:1, 1:2, 1:6, 1:12 with the MACs held constant; the seed's Table 4).
- G2: excessive group convolution increases memory access (group count at constant MACs).
- G3: network fragmentation reduces parallelism (one wide branch vs several small ones).
- G4: element-wise operations are not negligible (ReLU and the shortcut add).

Each experiment runs here with ``zoo.experiments`` on a button press, with a progress bar, and is
cached; every measured figure carries the processor and thread count it was measured with.
"""
from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from ui import page
from ui import lesson_runs as runs
from ui import lessons as L
from zoo import costs
from zoo import experiments as X
from ui.state import ensure_router

ensure_router()  # a deep link as the server's first request still goes through app.py

st.title("ShuffleNet v2's guidelines, measured here")
st.caption("Seed paper §3.2.1, Table 4 · Ma et al. 2018 (ShuffleNet V2, arXiv 1807.11164) §2 · "
           "MACs = multiply-accumulates, FLOPs = 2 × MACs · speeds are measured on this machine, "
           "batch 1, median of repeated runs")


def settings() -> dict:
    cpus = os.cpu_count() or 1
    c = st.columns([1, 1, 1, 2])
    threads = c[0].selectbox("torch threads", list(range(1, cpus + 1)), index=0, key="threads", bind="query-params",
                             help="One thread by default: on a shared machine a second thread waiting for a busy "
                                  "core makes small layers many times slower.")
    size = c[1].selectbox("feature map side", [14, 28, 56], index=1, key="size", bind="query-params",
                          help="Spatial size of every feature map in the benchmark networks.")
    budget = c[2].selectbox("seconds per case", [0.15, 0.3, 0.6], index=1, key="budget", bind="query-params",
                            help="Each case is timed repeatedly for about this long (at least 3 runs).")
    c[3].caption(f"Machine: **{X.processor_name()}**, {cpus} logical CPUs, torch {X.machine()['torch']}. "
                 "Other programs running now slow every case alike; compare the cases with each other, "
                 "not with another machine.")
    return {"threads": int(threads), "size": int(size), "budget_s": float(budget)}


RUNS = {"G1": X.run_g1, "G2": X.run_g2, "G3": X.run_g3, "G4": X.run_g4}


def run_button(guideline: str, s: dict, what: str) -> dict | None:
    """Measure on a button press (progress bar); a result for these settings stays cached and shown."""
    def work(progress) -> dict:
        rows = RUNS[guideline](size=s["size"], budget_s=s["budget_s"], threads=s["threads"], progress=progress)
        m = X.machine(s["threads"])
        return {"rows": rows, "machine": m, "label": X.machine_label(m)}

    entry = runs.measured(("shufflenet", guideline, s["threads"], s["size"], s["budget_s"]),
                          f"Measure {guideline} ({what})", work, button_key=f"run_{guideline}",
                          start_text=f"{guideline}: starting…")
    if entry is None:
        st.caption("Not measured yet with these settings.")
        return None
    st.caption(f"Measured {entry['when']} in {entry['seconds']:.1f} s on {entry['result']['label']}.")
    return entry["result"]


def g1(s: dict) -> None:
    st.subheader("G1 · Equal channel width minimises memory access")
    st.markdown("A 1×1 convolution from c1 to c2 channels on an h×w map costs B = hw·c1·c2 MACs and moves "
                "hw(c1 + c2) + c1·c2 elements; for a fixed B that is smallest when **c1 = c2** "
                "(ShuffleNet v2 eq. 1). The benchmark: 10 blocks of two 1×1 convolutions (c1→c2, c2→c1), "
                "the ratio varied with c1·c2 held constant, at three widths (×1: c1·c2 ≈ 128², ×2, ×4).")
    paper = L.read_csv("seed_table4_shufflenet_g1.csv")
    left, right = st.columns([1, 1.3])
    left.dataframe(pd.DataFrame([{"c1:c2": p["ratio"], "GPU (batches/s)": p["gpu_batches_per_s"],
                                  "ARM (images/s)": p["arm_images_per_s"]} for p in paper]),
                   hide_index=True, width="stretch")
    left.caption(f"Source: {paper[0]['source']}.")
    h = s["size"]
    page.chart(L.mem_access_figure(h, h, h * h * 128 * 128), width="stretch", where=right)
    res = run_button("G1", s, "12 cases, ~5–10 s")
    if res is None:
        return
    rows = res["rows"]
    page.chart(L.g1_figure(rows, paper, res["label"]), width="stretch")
    rel = L.g1_relative(rows)
    df = pd.DataFrame([{"width": f"×{r['scale']}", "c1:c2": r["ratio"], "c1": r["c1"], "c2": r["c2"],
                        "MACs / image": r["macs"], "memory access (elements)": r["mem_access"],
                        "images/s": round(r["images_per_s"], 2), "vs 1:1": round(r["relative"], 3),
                        "runs": r["iters"]} for r in rel])
    st.dataframe(df, hide_index=True, width="stretch")
    x1 = {r["ratio"]: r["relative"] for r in rel if r["scale"] == 1}
    gpu = {p["ratio"]: L.num(p["gpu_batches_per_s"]) for p in paper}
    arm = {p["ratio"]: L.num(p["arm_images_per_s"]) for p in paper}
    slower = x1.get("1:12", 1.0) < 1.0
    st.markdown(f"**Result** (measured on {res['label']}): at ×1, c1:c2 = 1:12 runs at "
                f"**{x1.get('1:12', float('nan')):.2f}×** the speed of 1:1; the paper measured "
                f"{gpu['1:12'] / gpu['1:1']:.2f}× on its GPU and {arm['1:12'] / arm['1:1']:.2f}× on ARM. "
                + ("Unequal widths are slower here too, as the guideline predicts." if slower else
                   "Here unequal widths are *not* slower: the memory-access argument assumes memory traffic "
                   "limits speed, and on this CPU, whose caches hold these feature maps, arithmetic does. "
                   "The guideline is a statement about a platform, which is why ShuffleNet v2 insists on "
                   "measuring on the target device."))


def g2(s: dict) -> None:
    st.subheader("G2 · Excessive group convolution increases memory access")
    st.markdown("A g-group 1×1 convolution costs hw·c²/g MACs. Holding the MACs fixed, more groups allow "
                "wider layers (c ≈ 128·√g) and so more memory traffic: hw·2c + c²/g.")
    res = run_button("G2", s, "4 cases, ~2 s")
    if res is None:
        return
    rows = res["rows"]
    page.chart(L.speed_bars(rows, "groups", f"G2 — measured on {res['label']}", "groups g"), width="stretch")
    st.dataframe(pd.DataFrame([{"groups": r["groups"], "channels": r["channels"], "MACs / image": r["macs"],
                                "memory access": r["mem_access"], "images/s": round(r["images_per_s"], 2)}
                               for r in rows]), hide_index=True, width="stretch")
    st.markdown(f"**Result:** g = {rows[-1]['groups']} runs at **{rows[-1]['images_per_s'] / rows[0]['images_per_s']:.2f}×** "
                f"the speed of g = 1 at equal MACs (measured on {res['label']}).")


def g3(s: dict) -> None:
    st.subheader("G3 · Network fragmentation reduces parallelism")
    st.markdown("The same 1×1 work issued as one convolution, as 2 or 4 narrower ones in series "
                "(c/√k channels each, same MACs), or as 2 or 4 branches side by side whose outputs are "
                "concatenated (exactly the MACs and weights of the single convolution, split into k kernels).")
    res = run_button("G3", s, "5 cases, ~3 s")
    if res is None:
        return
    rows = res["rows"]
    page.chart(L.speed_bars(rows, "variant", f"G3 — measured on {res['label']}", "structure (10 blocks)"),
                    width="stretch")
    st.dataframe(pd.DataFrame([{"structure": r["variant"], "channels": r["channels"], "kernels per forward": r["kernels_launched"],
                                "MACs / image": r["macs"], "images/s": round(r["images_per_s"], 2)} for r in rows]),
                 hide_index=True, width="stretch")
    speed = {r["variant"]: r["images_per_s"] for r in rows}
    one = speed["1-fragment"]
    parts = ", ".join(f"{v} {speed[v] / one:.2f}×" for v in speed if v != "1-fragment")
    worst = min(rows, key=lambda r: r["images_per_s"])
    st.markdown(f"**Result** (measured on {res['label']}): relative to one convolution, {parts}. "
                + (f"The slowest is {worst['variant']}: the same MACs issued as more, smaller kernels."
                   if worst["variant"] != "1-fragment" else
                   "Here the single convolution is not the fastest: at these sizes, on this processor, splitting "
                   "the work did not cost throughput (compare with the paper's GPU, which must fill thousands of "
                   "lanes per kernel)."))


def g4(s: dict) -> None:
    st.subheader("G4 · Element-wise operations are not negligible")
    st.markdown("ResNet's bottleneck (1×1 → 3×3 → 1×1, 256 → 64 → 256 channels, 10 units) with and without "
                "its ReLUs and shortcut add: identical MACs, less element-wise work.")
    res = run_button("G4", s, "4 cases, ~2 s")
    if res is None:
        return
    rows = res["rows"]
    page.chart(L.speed_bars(rows, "variant", f"G4 — measured on {res['label']}", "bottleneck variant"),
                    width="stretch")
    st.dataframe(pd.DataFrame([{"variant": r["variant"], "MACs / image": r["macs"], "ms / image": round(r["ms_per_batch"], 2),
                                "images/s": round(r["images_per_s"], 2), "time saved": f"{100 * r['time_saved']:.1f} %"}
                               for r in rows]), hide_index=True, width="stretch")
    share = rows[-1]["time_saved"]
    st.markdown(f"**Result:** removing both ReLU and the shortcut saves **{100 * share:.1f} %** of the time at "
                f"equal MACs (measured on {res['label']}): that share of the block's time went to element-wise work "
                "the MAC count does not see. (Negative: within the noise of a busy machine.)")


s = settings()
tabs = st.tabs(["G1 · channel ratio", "G2 · groups", "G3 · fragmentation", "G4 · element-wise"], key="g",
               bind="query-params")
with tabs[0]:
    g1(s)
with tabs[1]:
    g2(s)
with tabs[2]:
    g3(s)
with tabs[3]:
    g4(s)
st.caption(f"Memory access here follows ShuffleNet v2 (zoo.costs.pointwise_mem_access); e.g. a 1×1 conv "
           f"128→128 on 28×28: {costs.pointwise_mem_access(28, 28, 128, 128):,} elements.")
