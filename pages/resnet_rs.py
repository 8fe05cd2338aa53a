"""ResNet-RS: training recipe and scaling strategy matter as much as architecture.

The seed paper (Zhao), §3.1.1, Figures 3–6, after Bello et al. 2021, "Revisiting ResNets: Improved
Training and Scaling Strategies", arXiv 2103.07579. A ResNet-200 trained to 79.0 % top-1 reaches
82.2 % with a better training recipe alone and 83.4 % with two small architecture changes
(squeeze-and-excitation, ResNet-D); then depth, width and resolution are scaled with two rules
(abstract): scale depth where overfitting can occur (width otherwise), and raise the image
resolution more slowly than EfficientNet does.

Shown here: the waterfall (steps whose figure this project could not verify are marked), the cost
of scaling each dimension computed by ``zoo.analyze``, and the ResNet-RS table (parameters,
resolution, top-1 with sources) with MACs computed by the engine and the paper's convention
FLOPs = 2 × MACs.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from zoo import fmt
from ui import page
from ui import lessons as L
from ui import state
from ui.state import ensure_router

ensure_router()  # a deep link as the server's first request still goes through app.py

st.title("ResNet-RS: training and scaling")
page.cite("Seed paper (Zhao), §3.1.1 and Figures 3–6 · Bello et al. 2021 (arXiv 2103.07579) · "
          "MACs = multiply-accumulates, FLOPs = 2 × MACs")


def waterfall() -> None:
    st.subheader("The training-recipe waterfall (seed Figure 6)")
    rows = L.read_csv("resnet_rs_waterfall.csv")
    page.chart(L.waterfall_figure(rows))
    page.table(pd.DataFrame([{"step": r["step"], "kind": r["kind"], "top-1 %": f"{float(r['top1']):.1f} {r['mark']}".strip(),
                              "Δ": r["delta"].replace("-", "−") or fmt.DASH} for r in rows]))
    page.cite("Seed paper (Zhao), Figure 6, as printed (the list of improvements of Bello et al. 2021, Table 1); "
              "the marks † and ‡ are the seed's. Training changes alone take ResNet-200 from 79.0 to 82.2 % "
              "top-1; squeeze-and-excitation and ResNet-D add the last 1.2 points.")


def _analysis(name: str, resolution: int) -> dict:
    s = state.summary(name, resolution)
    return {"params": s["total_params"], "macs": s["total_macs"], "records": s["records"]}


def scaling() -> None:
    st.subheader("Depth vs width vs resolution")
    st.markdown("Bello et al.'s scaling rules (abstract): **scale depth in regimes where overfitting can occur "
                "(width scaling is preferable otherwise); increase image resolution more slowly than previously "
                "recommended.** What each costs, computed here for ResNet-RS-50 at 160×160 as the start:")
    base_res = 160
    try:
        base = _analysis("resnetrs50", base_res)
        rows = [{"dim": "depth", "factor": 1.0, "macs": base["macs"], "label": f"ResNet-RS-50 @ {base_res}"}]
        for d in (101, 152, 200, 270, 350, 420):
            a = _analysis(f"resnetrs{d}", base_res)
            rows.append({"dim": "depth", "factor": d / 50, "macs": a["macs"], "label": f"ResNet-RS-{d} @ {base_res}"})
        for wm in (1.0, 1.5, 2.0, 3.0, 4.0):
            rows.append({"dim": "width", "factor": wm, "macs": L.width_scaled_macs(base["records"], wm),
                         "label": f"ResNet-RS-50, every width × {wm:g} @ {base_res}"})
        for r in (160, 192, 224, 256, 320, 384, 448):
            a = _analysis("resnetrs50", r)
            rows.append({"dim": "resolution", "factor": r / base_res, "macs": a["macs"], "label": f"ResNet-RS-50 @ {r}"})
    except Exception as e:  # noqa: BLE001 - a model being rewritten must not take the page down
        st.warning(f"Could not analyse ResNet-RS: {e}")
        return
    page.chart(L.scaling_figure(rows))
    page.note("Depth: the registered ResNet-RS-101…420 (factor = layers / 50). Resolution: ResNet-RS-50 at a "
               "larger input. Width: the engine's per-layer counts of ResNet-RS-50 with every channel count "
               "multiplied (a convolution's MACs scale by width², the first convolution and the classifier by "
               "width); exact when the scaled widths are whole numbers. MACs grow about linearly with depth and "
               "quadratically with width and with resolution.")


def _rs_counts(name: str, resolution: int) -> dict:
    t = state.totals(name, resolution)
    return {"params": t["total_params"], "macs": t["total_macs"]}


def model_table() -> None:
    st.subheader("The ResNet-RS models")
    rows = L.rs_table_rows(state.published_rows().values())
    out = []
    for r in rows:
        try:
            c = _rs_counts(r["zoo"], r["resolution"])
        except Exception:  # noqa: BLE001
            c = {"params": None, "macs": None}
        out.append({"model": r["model"], "checkpoint": r["variant"], "resolution": r["resolution"],
                    "parameters (timm reference)": r["params"], "parameters (counted)": c["params"],
                    "GMACs (counted)": round(c["macs"] / 1e9, 2) if c["macs"] else None,
                    "GFLOPs = 2 × GMACs": round(2 * c["macs"] / 1e9, 2) if c["macs"] else None,
                    "top-1 %": r["top1"]})
    page.table(pd.DataFrame(out), counts=["resolution", "parameters (timm reference)", "parameters (counted)"],
               digits={"GMACs (counted)": 2, "GFLOPs = 2 × GMACs": 2, "top-1 %": 1})
    cites = sorted({r["source"] for r in rows if r["source"]})
    page.cite("Top-1: " + "; ".join(cites) + ". Reference parameters: timm 1.0.31. Counts: CNN Atlas on the "
              "meta device, at each checkpoint's resolution.")
    ok = [o for o in out if o["parameters (counted)"] is not None]
    if ok and all(o["parameters (counted)"] == o["parameters (timm reference)"] for o in ok):
        st.success(f"The atlas's parameter counts equal the reference for all {len(ok)} rows.")
    elif ok:
        st.warning("Some parameter counts differ from the reference (compare the two columns).")
    rs420 = next((o for o in out if o["model"] == "ResNet-RS-420" and o["GMACs (counted)"]), None)
    st.markdown("**FLOPs = 2 × MACs.** Bello et al. count a multiply and an add as two operations, while "
                "torchvision's \"GFLOPS\" and many papers' \"FLOPs\" are multiply-accumulates. "
                + (f"For ResNet-RS-420 at 320×320 the atlas counts **{rs420['GMACs (counted)']} GMACs = "
                   f"{rs420['GFLOPs = 2 × GMACs']} GFLOPs**." if rs420 else ""))
    fig = go.Figure(go.Scatter(
        x=[o["GMACs (counted)"] for o in out], y=[o["top-1 %"] for o in out], mode="markers+text",
        text=[f"{o['model'].replace('ResNet-RS-', 'RS-')} @ {o['resolution']}" for o in out],
        textposition=["top left" if i % 2 else "bottom right" for i in range(len(out))],
        cliponaxis=False, hovertemplate="%{text}<br>%{x} GMACs, %{y} % top-1<extra></extra>"))
    fig.update_layout(height=460, margin=L.MARGIN, xaxis_type="log", xaxis_title="GMACs (counted; FLOPs = 2 × MACs)",
                      yaxis_title="ImageNet top-1 % (published)", title="ResNet-RS: top-1 against counted cost")
    page.chart(fig)


waterfall()
scaling()
model_table()
