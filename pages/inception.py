"""Inception: parallel branches, 1×1 reductions, factorized convolutions, and residual Inception.

The seed paper (Zhao), §3.1.2, Table 2, Figures 7–8, after Szegedy et al. 2015 ("Going Deeper
with Convolutions", arXiv 1409.4842, Figure 2 and Table 1), Szegedy et al. 2016 ("Rethinking the
Inception Architecture for Computer Vision", arXiv 1512.00567, §3: 5×5 → two 3×3, n×n → 1×n + n×1)
and Szegedy et al. 2017 ("Inception-v4, Inception-ResNet and the Impact of Residual Connections on
Learning", arXiv 1602.07261).

The page shows an Inception module's four branches with their cost (the zoo's GoogLeNet, traced by
``zoo.analyze``), what the 1×1 reductions save, the factorization savings computed by
``zoo.costs``, the Inception-ResNet blocks drawn from the zoo's models, and the seed's Table 2 with
its sources beside the published and computed figures.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

import zoo
from ui import page
from ui import lessons as L
from zoo import fmt
from zoo import googlenet as gnet
from ui import state
from ui.state import ensure_router

ensure_router()  # a deep link as the server's first request still goes through app.py

st.title("Inception")
page.cite("Seed paper (Zhao), §3.1.2, Table 2 and Figures 7–8 · Szegedy et al. 2015 (arXiv 1409.4842), 2016 "
          "(arXiv 1512.00567), 2017 (arXiv 1602.07261) · MACs = multiply-accumulates, FLOPs = 2 × MACs")

SIDES = {"3": 28, "4": 14, "5": 7}  # grid side of GoogLeNet's stages 3, 4, 5 at 224×224 (Table 1)


def _records(name: str) -> list[dict]:
    return state.summary(name)["records"]


def _blocks(name: str) -> list[dict]:
    return state.summary(name)["by_block"]


def module() -> None:
    st.subheader("One module, four branches")
    names = [row[0] for row in gnet.TABLE1]
    block = st.selectbox("GoogLeNet module (Table 1)", names, key="module", bind="query-params")
    row = next(r for r in gnet.TABLE1 if r[0] == block)
    try:
        branches = L.branch_costs(_records("googlenet"), block)
    except Exception as e:  # noqa: BLE001 - a model being rewritten must not take the page down
        st.warning(f"Could not analyse GoogLeNet: {e}")
        return
    page.chart(L.branch_figure(branches, f"{block}: MACs per branch (GoogLeNet, counted by CNN Atlas)"))
    page.table(pd.DataFrame([{"branch": b["branch"], "path": b["path"], "output channels": b["out_channels"],
                              "MACs": b["macs"], "parameters": b["params"], "share of MACs": f"{100 * b['share']:.1f} %"}
                             for b in branches]), counts=["output channels", "MACs", "parameters"])
    page.cite("The atlas's GoogLeNet is torchvision's twin, whose \"5×5\" branch (branch3) uses a 3×3 kernel, a "
              "bug kept for weight compatibility (torchvision issue 906). The cost comparison below uses the "
              "paper's real 5×5.")
    side = SIDES[block[len("inception")]]
    cin = gnet.in_channels_of()[block]
    naive, reduced = L.inception_module_cost(row, cin, side)
    st.markdown(
        f"**Why the 1×1 reductions** (Szegedy et al. 2015, Figure 2): on its {side}×{side}×{cin} input, the naive "
        f"module (1×1, 3×3, 5×5 on the full input, pooled input concatenated) costs **{fmt.macs_and_flops(naive['macs'])}** "
        f"and outputs {naive['out_channels']} channels; with 1×1 reductions before the 3×3 and 5×5 and a projection "
        f"after the pool it costs **{fmt.macs_and_flops(reduced['macs'])}** ({naive['macs'] / reduced['macs']:.1f}× less) "
        f"and outputs {reduced['out_channels']} — so the next module's cost does not snowball.")


def factorize() -> None:
    st.subheader("Factorizing convolutions (Inception-v3)")
    with page.row(vertical_alignment="bottom"):
        n = st.selectbox("n (kernel)", [3, 5, 7], index=2, key="n", bind="query-params", width=150)
        side = st.number_input("grid side", 1, 512, 17, key="side", bind="query-params", width=150)
        cin = st.number_input("C_in", 1, 4096, 192, key="fcin", bind="query-params", width=150)
        cout = st.number_input("C_out", 1, 4096, 192, key="fcout", bind="query-params", width=150,
                               help="Output channels, and the width between the factors")
    rows = L.factorization(int(side), int(side), int(cin), int(cout), int(n))
    df = pd.DataFrame([{"design": r["design"], "MACs": r["macs"], "FLOPs": 2 * r["macs"], "parameters": r["params"],
                        "cost vs n×n": f"{r['relative']:.3f}", "saving": f"{100 * r['saving']:.1f} %"} for r in rows])
    page.table(df, counts=["MACs", "FLOPs", "parameters"])
    page.note("Same receptive field, stride 1, 'same' padding, counted by CNN Atlas. With equal widths the "
               "ratios are exact: two 3×3 cost 2·9/25 = 72 % of a 5×5 (28 % saved); 1×n + n×1 cost 2n/n² of an "
               "n×n (1×3 + 3×1: 33 % saved; 1×7 + 7×1: 71 % saved). Szegedy et al. 2016 §3 also add a "
               "non-linearity between the factors.")
    st.markdown("The atlas's Inception-v3 uses both: InceptionA has a 5×5 branch *and* a double-3×3 branch, "
                "InceptionC factorizes 7×7 into 1×7 and 7×1 on the 17×17 grid.")


def inception_resnet() -> None:
    st.subheader("Inception-ResNet blocks (seed Figures 7–8)")
    st.markdown("Each Inception-ResNet block concatenates its branches, restores the input width with a linear "
                "1×1 convolution, scales the result (0.1–0.3) and adds it to the input: "
                "`y = ReLU(x + s · W₁ₓ₁ · concat(branches(x)))`.")
    with page.row(vertical_alignment="bottom"):
        model = st.selectbox("network", ["inception_resnet_v2", "inception_resnet_v1"], key="irmodel",
                             bind="query-params", width=260)
        kind_slot = st.container(width=260)
    try:
        blocks = _blocks(model)
    except Exception as e:  # noqa: BLE001
        st.warning(f"Could not analyse {model}: {e}")
        return
    kinds = ["InceptionResNetA", "InceptionResNetB", "InceptionResNetC"]
    kind = kind_slot.selectbox("block", kinds, key="irblock", bind="query-params")
    summary = []
    for k in kinds:
        bs = [b for b in blocks if b["block_type"] == k]
        if bs:
            summary.append({"block": k, "repeats": len(bs), "MACs each": bs[0]["macs"], "parameters each": bs[0]["params"],
                            "MACs, all repeats": sum(b["macs"] for b in bs)})
    page.table(pd.DataFrame(summary), counts=["repeats", "MACs each", "parameters each", "MACs, all repeats"])
    first = next((b["group"] for b in blocks if b["block_type"] == kind), None)
    if first:
        try:
            st.graphviz_chart(zoo.diagram.micro_dot(model, block=first, shade="macs"))
            page.cite(f"{first} of the atlas's {model}, traced by its analysis engine; shading = share of the "
                      "block's MACs.")
        except Exception as e:  # noqa: BLE001
            st.info(f"Diagram unavailable: {e}")


def _counts(name: str) -> dict:
    t = state.totals(name)
    return {"params": t["total_params"] - t["unused_params"], "macs": t["total_macs"], "resolution": t["resolution"]}


def table2() -> None:
    st.subheader("Seed Table 2: top-5 error")
    published = state.published_rows()
    rows = []
    for r in L.read_csv("seed_table2_inception.csv"):
        pub = published.get(tuple(r["published_row"].split("|"))) if r["published_row"] else None
        top5 = L.num(pub["top5_paper"]) if pub and pub["cite_paper"] else None
        try:
            c = _counts(r["zoo"])
        except Exception:  # noqa: BLE001
            c = {"params": None, "macs": None, "resolution": None}
        rows.append({"model": r["model"], "top-5 error % (seed)": float(r["top5_err"]),
                     "top-5 error % (primary)": round(100 - top5, 2) if top5 else None,
                     "parameters (counted, no aux head)": c["params"], "resolution": c["resolution"],
                     "MACs (counted)": c["macs"], "primary source": pub["cite_paper"] if top5 else None})
    page.table(pd.DataFrame(rows), counts=["parameters (counted, no aux head)", "resolution", "MACs (counted)"],
               digits={"top-5 error % (seed)": 1, "top-5 error % (primary)": 2})
    page.cite("Seed paper (Zhao), Table 2, as printed (single crop). Where the seed and a primary figure differ, "
              "both are shown; Inception-ResNet-v1 has no primary figure verified for the atlas. Counts: CNN Atlas "
              "on the meta device. The atlas's Inception-ResNet-v2 follows TF-slim's layout (as timm does), which "
              "differs in a few widths from the paper's figures.")


module()
factorize()
inception_resnet()
table2()
