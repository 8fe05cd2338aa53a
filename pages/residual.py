"""Residual learning: why a deeper plain network trains worse, and what the shortcut changes.

The seed paper (Zhao), §3.1, Table 1 and Figure 2, after He et al. 2016, "Deep Residual Learning
for Image Recognition", arXiv 1512.03385: a 34-layer plain network has a *higher* error than an
18-layer one (the degradation problem: an optimisation difficulty, not overfitting), while with
identity shortcuts ``y = F(x) + x`` the 34-layer network is the better one.

Three views: the table (published, cited) with the zoo's parameter and MAC counts; the gradient
norm of every layer at initialisation for plain-34 vs ResNet-34 and a deeper pair, measured on a
batch of sample photos; and a toy training run of a few seconds in which the deeper plain net
trains worse than a shallow one while its residual twin does not.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

import zoo
from ui import page
from ui import lesson_runs as runs
from ui import lessons as L
from zoo import experiments as X
from ui import state
from zoo import latency
from ui.state import ensure_router

ensure_router()  # a deep link as the server's first request still goes through app.py

st.title("Residual learning")
page.cite("Seed paper (Zhao), §3.1, Table 1 and Figure 2 · He et al. 2016 (arXiv 1512.03385), §3–4 · "
          "MACs = multiply-accumulates, FLOPs = 2 × MACs")

PAIRS = {
    "plain-34 vs ResNet-34": (("plain-34", "plain34", {}), ("ResNet-34", "resnet34", {})),
    "plain-101 vs ResNet-101": (("plain-101", "resnet101", {"shortcut": False}), ("ResNet-101", "resnet101", {})),
}


def _counts(name: str) -> dict:
    t = state.totals(name)
    return {"params": t["total_params"], "macs": t["total_macs"]}


def table() -> None:
    st.subheader("The degradation problem (seed Table 1)")
    rows = L.read_csv("seed_table1_plain_resnet.csv")
    out = []
    for r in rows:
        try:
            c = _counts(r["zoo"])
        except Exception:  # noqa: BLE001 - a model being rewritten must not take the page down
            c = {"params": None, "macs": None}
        out.append({"network": r["model"], "shortcuts": r["shortcuts"], "top-1 error % (seed)": float(r["top1_err"]),
                    "parameters (counted)": c["params"], "MACs at 224 px (counted)": c["macs"]})
    page.table(pd.DataFrame(out), counts=["parameters (counted)", "MACs at 224 px (counted)"],
               digits={"top-1 error % (seed)": 2})
    page.cite("Errors: seed paper (Zhao), Table 1, as printed (= He et al. 2016, Table 2: ImageNet val, 10-crop). "
              "Counts: CNN Atlas on the meta device. The atlas's ResNets use projection shortcuts where the shape "
              "changes (torchvision's option B), so they have a few more parameters than the plain nets; the "
              "paper's Table 2 used parameter-free option A.")
    e = {r["model"]: float(r["top1_err"]) for r in rows}
    st.markdown(
        f"- plain: 18 → 34 layers, error **{e['plain-18']:.2f} → {e['plain-34']:.2f}** (worse)\n"
        f"- ResNet: 18 → 34 layers, error **{e['ResNet-18']:.2f} → {e['ResNet-34']:.2f}** (better)\n\n"
        "The 34-layer plain net contains the 18-layer solution (extra layers could be identities), yet "
        "training finds a worse one. A residual block only has to learn the difference F(x) = H(x) − x; "
        "pushing F to zero is easy, so extra blocks no longer hurt.")
    try:
        c1, c2 = st.columns(2)
        c1.graphviz_chart(zoo.diagram.micro_dot("resnet34", block="layer1.1", shade=None))
        c2.graphviz_chart(zoo.diagram.micro_dot("plain34", block="layer1.1", shade=None))
        page.cite("Figure 2 of He et al. 2016 (the seed's Figure 2), drawn from the atlas's own models: the same "
                  "two 3×3 layers, with (left) and without (right) the identity shortcut.")
    except Exception as exc:  # noqa: BLE001
        st.info(f"Block diagrams unavailable: {exc}")


def gradients() -> None:
    st.subheader("Gradient norms at initialisation")
    st.markdown("One forward and backward pass (batch-norm in training mode, cross-entropy against seeded labels) "
                "on a batch of sample photos; then ‖∂loss/∂W‖ of every convolution and the classifier, from the "
                "input (left) to the output (right). Shortcut projections are left out.")
    c = st.columns(3)
    pair_names = c[0].multiselect("pairs", list(PAIRS), default=list(PAIRS), key="pairs")
    res = c[1].selectbox("resolution", [64, 112, 160, 224], index=1, key="gres", bind="query-params")
    value = c[2].radio("plot", ["grad_norm", "grad_rms"], horizontal=True, key="gval",
                       format_func=lambda v: "norm" if v == "grad_norm" else "RMS per weight")
    if not pair_names:
        st.info("Pick at least one pair.")
        return

    def work(progress) -> dict:
        return L.gradient_series([n for p in pair_names for n in PAIRS[p]], int(res), progress)

    entry = runs.measured(("gradnorms", tuple(pair_names), int(res)), "Compute gradient norms (~2–6 s)", work,
                          button_key="run_grads", start_text="building the networks…")
    if entry is None:
        st.caption("Not computed yet for these settings.")
        return
    r = entry["result"]
    page.chart(L.grad_norm_figure(r["series"], value), width="stretch")
    spread = pd.DataFrame([{"network": k, "weight layers": len(v),
                            "first layer": f"{v[0][value]:.3g}", "last conv": f"{v[-2][value]:.3g}",
                            "largest / smallest": f"{L.grad_spread(v, value):.3g}"} for k, v in r["series"].items()])
    st.dataframe(spread, hide_index=True, width="stretch")
    st.caption(f"Input: {r['what']}. Computed at {entry['when']} (took {entry['seconds']:.1f} s) on {r['machine']}. "
               "plain-101 is the zoo's ResNet-101 built with `shortcut=False` (no additions, no projections).")
    spreads = {k: L.grad_spread(v, value) for k, v in r["series"].items()}
    pairs = [(p, q) for p, q in (("plain-34", "ResNet-34"), ("plain-101", "ResNet-101")) if p in spreads and q in spreads]
    wider = all(spreads[p] > spreads[q] for p, q in pairs)
    grows = all(v[0][value] > v[-2][value] for k, v in r["series"].items() if k.startswith("plain"))
    facts = "; ".join(f"{p}: ×{spreads[p]:.3g} between its largest and smallest layer, {q}: ×{spreads[q]:.3g}"
                      for p, q in pairs)
    st.markdown(
        f"**What this shows** ({facts}). "
        + ("With batch normalisation the plain nets' gradients do not vanish — He et al. checked that (§4.1) — "
           "they grow layer by layer towards the input. " if grows else "")
        + ("Without shortcuts the per-layer gradient norms spread over a much wider range, so no single learning "
           "rate suits every layer; with shortcuts each block also receives the gradient directly through the "
           "identity path. " if wider else "Here the shortcut did not narrow the spread of gradient norms. ")
        + "(Exploding gradients under batch norm at initialisation: Yang et al. 2019, arXiv 1902.08129.)")


def training() -> None:
    st.subheader("A short training run")
    st.markdown("**A toy reproduction of the degradation problem — not ImageNet.** Networks in the style of "
                "He et al.'s CIFAR-10 nets (§4.2: 6n + 2 layers, three stages), 8/16/32 channels wide, trained "
                "from the same seed on the same mini-batches of a synthetic 10-class task: noisy 12×12 "
                "gratings whose orientation is the class. SGD, momentum 0.9, learning rate 0.05, batch 64, "
                "60 steps, one CPU thread.")

    def work(progress) -> dict:
        out = X.train_run(progress=progress)
        out["machine"] = latency.machine(out["settings"]["threads"]).label()
        return out

    entry = runs.measured(("train", "default"), "Train plain-8, plain-32 and ResNet-32 (~8 s)", work,
                          button_key="run_train", start_text="training…")
    if entry is None:
        st.caption("Not run yet.")
        return
    r = entry["result"]
    page.chart(L.loss_figure(r["losses"]), width="stretch")
    df = pd.DataFrame([{"network": k, "parameters": r["params"][k],
                        "final loss (mean of last 10 steps)": round(X.final_loss(v), 3),
                        "training accuracy at the end": f"{100 * r['accuracy'][k]:.1f} %"}
                       for k, v in r["losses"].items()])
    st.dataframe(df, hide_index=True, width="stretch")
    f = {k: X.final_loss(v) for k, v in r["losses"].items()}
    plain_deep, plain_shallow, res_deep = f.get("plain-32"), f.get("plain-8"), f.get("ResNet-32")
    if None not in (plain_deep, plain_shallow, res_deep):
        degrade = plain_deep > plain_shallow
        st.markdown(
            f"**Result:** plain-32 ends at loss {plain_deep:.3f} vs plain-8 {plain_shallow:.3f} "
            f"({'worse: the degradation problem' if degrade else 'not worse this time'}); ResNet-32, the same 32 "
            f"layers plus shortcuts, ends at {res_deep:.3f}. Trained at {entry['when']} (took {entry['seconds']:.1f} s) "
            f"on {r['machine']} (settings: {r['settings']['optimizer']}, seed {r['settings']['seed']}).")


table()
gradients()
training()
