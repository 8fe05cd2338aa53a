"""ShuffleNet v2's four guidelines, re-measured on this machine beside the paper's GPU and ARM.

The seed paper (Zhao), §3.2.1 and Table 4, after Ma et al. 2018, "ShuffleNet V2: Practical
Guidelines for Efficient CNN Architecture Design", arXiv 1807.11164, §2: FLOPs (MACs) are an
indirect metric; at equal MACs, speed also depends on memory access and parallelism. Four
controlled experiments (its Tables 1–4) give four guidelines:

- G1: equal input and output channel widths minimise memory access (1×1 conv pairs at c1:c2 =
  1:1, 1:2, 1:6, 1:12 with the MACs held constant; the seed's Table 4).
- G2: excessive group convolution increases memory access (group count at constant MACs).
- G3: network fragmentation reduces parallelism (one convolution vs several small ones).
- G4: element-wise operations are not negligible (ReLU and the shortcut add).

Each tab shows the paper's table, then measures the same benchmark here (``zoo.experiments``,
timed by ``zoo.latency``) on a button press, with a progress bar, cached for the session: every
time with its spread, the memory access beside it, the paper's relative speeds beside ours, and
where this CPU disagrees with the paper, a plain likely reason.
"""
from __future__ import annotations

import streamlit as st

from ui import page
from ui import lesson_runs as runs
from ui import lessons as L
from ui.state import ensure_router
from zoo import experiments as X
from zoo import fmt
from zoo import latency

ensure_router()  # a deep link as the server's first request still goes through app.py

st.title("ShuffleNet v2's guidelines, measured here")
st.caption("Seed paper (Zhao) §3.2.1, Table 4 · Ma et al. 2018 (ShuffleNet V2, arXiv 1807.11164) §2, Tables 1–4 · "
           "MACs = multiply-accumulates, FLOPs = 2 × MACs · memory access = elements read + written, weights "
           "included (the paper's MAC) · times measured on this machine, batch 1")

SIZES = [56, 28]
BUDGETS = [2.0, 4.0, 8.0, 16.0]
INFO = {
    "G1": ("Equal channel width minimises memory access",
           "A 1×1 convolution from c1 to c2 channels on an h×w map costs B = hw·c1·c2 MACs and moves "
           "hw(c1 + c2) + c1·c2 elements; for a fixed B that is smallest when **c1 = c2** (Ma et al. Eq. 1). "
           "The benchmark: 10 blocks of two 1×1 convolutions (c1→c2, then c2→c1), the ratio varied with "
           "c1·c2 held constant, at the paper's ARM widths: ×1 = (32, 32), ×2 = (64, 64), ×4 = (128, 128)."),
    "G2": ("Excessive group convolution increases memory access",
           "A 1×1 convolution in g groups costs hw·c²/g MACs and moves 2hw·c + c²/g elements. Holding the MACs "
           "fixed, more groups allow a wider layer (c ≈ c₀·√g, rounded down so g divides it) and so more memory "
           "traffic. The benchmark: 10 such layers, at the paper's ARM widths ×1 (c₀ = 64) and ×2 (128)."),
    "G3": ("Network fragmentation reduces parallelism",
           "The same 1×1 work issued as one convolution, as 2 or 4 narrower ones in series (c/√k channels "
           "each, the same MACs), or as 2 or 4 branches side by side whose outputs are concatenated (exactly "
           "the MACs and weights of the single convolution, split into k kernels). 10 blocks, at the paper's "
           "ARM widths ×1 (c = 64) and ×2 (128)."),
    "G4": ("Element-wise operations are not negligible",
           "ResNet's bottleneck unit (1×1 → 3×3 → 1×1, c → c/4 → c/4 → c channels, 10 units) with and without "
           "its ReLUs and its shortcut add: identical MACs, less element-wise work. The paper's widths: "
           "c = 32, 64, 128 (×1, ×2, ×4)."),
}
WHAT = {"G1": "12 configurations", "G2": "8 configurations", "G3": "10 configurations", "G4": "12 configurations"}


def settings() -> dict:
    c = st.columns([1, 1, 1.2, 2.4])
    threads = c[0].selectbox("torch threads", [1, 2], index=0, key="threads", bind="query-params",
                             help="One thread by default, as the paper's ARM measurements; on a shared machine a "
                                  "second thread waiting for a busy core makes small layers slower and noisier.")
    size = c[1].selectbox("feature map side", SIZES, index=0, key="size", bind="query-params",
                          format_func=lambda s: f"{s}×{s}",
                          help="56×56 is the paper's input size. At 28×28 the maps fit this CPU's caches and "
                               "most differences fall within noise: try it.")
    budget = c[2].selectbox("time per guideline", BUDGETS, index=2, key="budget", bind="query-params",
                            format_func=lambda b: f"about {b:g} s",
                            help="How long the repeats of one guideline may take, all configurations together. "
                                 "Every configuration gets at least 5 repeats whatever the budget; a longer "
                                 "budget gives tighter spreads.")
    m = latency.machine(threads)
    c[3].caption(f"This machine: **{m.processor}**, {m.cpus} logical CPUs, torch {m.torch}, 1-min load now "
                 f"{m.load_1min:.2f}. The configurations take turns, so other programs slow them alike; each time "
                 f"is the median of at least {latency.MIN_REPEATS} repeats with its interquartile range (IQR). "
                 f"A difference inside the spread is called \"{latency.NOISE}\".")
    return {"threads": int(threads), "size": int(size), "budget_s": float(budget)}


def run_button(guideline: str, s: dict) -> dict | None:
    """Measure on a button press (progress bar); a result for these settings stays for the session."""
    def work(progress) -> dict:
        return X.RUNS[guideline](size=s["size"], budget_s=s["budget_s"], threads=s["threads"], progress=progress)

    entry = runs.measured(("shufflenet", guideline, s["size"], s["budget_s"], s["threads"]),
                          f"Measure {guideline} ({WHAT[guideline]}, about {s['budget_s']:g} s)", work,
                          button_key=f"run_{guideline}", start_text=f"{guideline}: counting and warming up…")
    if entry is None:
        st.caption("Not measured yet with these settings.")
        return None
    res = entry["result"]
    st.caption(f"Measured at {entry['when']} in {entry['seconds']:.1f} s on {res['machine'].label()}, "
               f"{res['size']}×{res['size']} maps.")
    return res


def paper_part(guideline: str) -> list[dict]:
    paper = L.paper_rows(guideline)
    seed = " = seed paper (Zhao), Table 4" if guideline == "G1" else ""
    st.markdown(f"**The paper's measurements**: Ma et al. 2018, Table {paper[0]['table']}{seed}")
    st.table(L.paper_table(paper), hide_index=True)
    headed = "" if guideline == "G1" else " The paper heads its ARM columns \"CPU\" in this table."
    st.caption(f"Source: Ma et al. 2018 (arXiv 1807.11164), Table {paper[0]['table']}{seed}. GPU: GTX 1080Ti, "
               f"cuDNN 7.0, batches per second; ARM: Snapdragon 810, one thread, images per second (its §2).{headed} "
               f"Widths behind the ×1 columns: {L.paper_widths(paper)}.")
    return paper


def result_part(guideline: str, res: dict, paper: list[dict]) -> None:
    rows = res["rows"]
    title, _ = INFO[guideline]
    page.chart(L.guideline_figure(rows, paper, f"{guideline}: speed relative to {rows[0]['base']}, here and in "
                                                f"the paper"), key=f"fig_{guideline}")
    table = L.guideline_table(rows, paper)
    st.table(table, hide_index=True)
    channels = ("c1, c2" if guideline == "G1" else "the unit's width c and its bottleneck c/4" if guideline == "G4"
                else "the width c")
    st.caption(f"Channels: {channels}. MACs and memory access counted by CNN Atlas on the meta device, per image "
               "(memory access: elements read + written, weights included). Time: median of "
               f"{rows[0]['repeats']} repeats, in brackets the IQR (the middle half of them). \"vs base, here\": the "
               f"speed against the base row of the same width, or \"within noise\" ({latency.NOISE}) when the two "
               "IQRs overlap. Figure: the points are medians, the bars their IQR. Paper: Ma et al. 2018, GPU = GTX "
               "1080Ti, ARM = Snapdragon 810 on one thread.")
    summary = L.guideline_summary(rows, paper, guideline)
    text = "; ".join(summary["sentences"])
    st.markdown(f"**Result:** {text[0].upper()}{text[1:]}.")
    m = res["machine"]
    busy = m.load_1min > 0.7 * m.cpus
    if summary["disagree_widths"]:
        st.warning(f"**This CPU disagrees with the paper** at {', '.join(summary['disagree_widths'])}. Likely "
                   f"reason: {L.REASONS[guideline]}")
    if summary["noise_widths"]:
        load = (f" The machine was busy (1-min load {m.load_1min:.2f} on {m.cpus} logical CPUs): measure again when "
                "it is quieter, or with more time per guideline, before reading much into this." if busy else "")
        st.info(f"**At {', '.join(summary['noise_widths'])} the difference is {latency.NOISE}**: this CPU does not "
                f"show the paper's effect there.{load} Likely reason: {L.REASONS[guideline]}")
    if not summary["noise_widths"] and not summary["disagree_widths"]:
        st.success("**This CPU agrees with the paper:** at every width measured the effect is larger than the spread.")


def guideline(g: str, s: dict) -> None:
    title, text = INFO[g]
    st.subheader(f"{g} · {title}")
    st.markdown(text)
    paper = paper_part(g)
    if g == "G1":
        h = s["size"]
        left, right = st.columns([1.3, 1])
        page.chart(L.mem_access_figure(h, h, h * h * 32 * 32), where=left, key="mem_g1")
        right.markdown(f"**What the guideline predicts.** At a fixed number of MACs B, a 1×1 convolution's memory "
                       "access hw(c1 + c2) + c1·c2 is smallest at c1 = c2 and grows as the ratio moves away from 1:1 "
                       f"(left: B = {fmt.count(h * h * 32 * 32)} MACs on {h}×{h}, the ×1 width). The benchmark "
                       "below measures whether that extra traffic costs time on this machine.")
    res = run_button(g, s)
    if res is not None:
        result_part(g, res, paper)


s = settings()
tabs = st.tabs(["G1 · channel ratio", "G2 · groups", "G3 · fragmentation", "G4 · element-wise"], key="g",
               bind="query-params")
for tab, g in zip(tabs, ("G1", "G2", "G3", "G4")):
    if tab.open:
        with tab:
            guideline(g, s)
st.caption(f"Memory access follows ShuffleNet v2's Eq. 1: e.g. one 1×1 conv 32→32 on 56×56 moves "
           f"{fmt.count(X.pointwise_mac(56, 56, 32, 32))} elements.")
