"""Accuracy against cost: published top-1 against parameters, MACs and measured CPU latency.

Top-1 figures are published ones (the paper's, or the torchvision/timm weights'), each with its
source from assets/published.csv. Parameters and MACs are computed by ``zoo.analyze`` on the meta
device at each model's registered resolution. Latency is measured on this machine, on request,
by ``zoo.latency.measure`` (median of several batch-1 fp32 forward passes; the thread count and
the processor are shown with the numbers); heavy models stay on the meta device and are not timed.
The seed paper's Tables 5 and 6 (Zhao, "A review of convolutional neural networks in computer
vision") are shown with the primary sources beside them, and where they disagree, both.
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
    c1, c2, c3 = st.columns([1.4, 1.4, 1])
    axis = c1.segmented_control("Cost axis", list(AXES), default="MACs", key="x", required=True,
                                bind="query-params")
    log_x = c2.toggle("Log cost axis", value=True, key="log", bind="query-params")
    seed = c3.toggle("Seed Table 6 as printed", value=False, key="seed6", bind="query-params")
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
        st.caption("Seed Table 6 prints parameters only: switch the cost axis to parameters to overlay it.")
    measured_overlay(fig, pts, x)
    page.chart(fig, key=f"pareto_{x}")
    n_front = len(ux.pareto_front([p[x] for p in pts if p.get(x)], [p["top1"] for p in pts if p.get(x)]))
    st.caption(f"{len(pts)} models; {n_front} on the Pareto frontier (no other model is both cheaper and more "
               "accurate). Parameters are those used at inference (auxiliary heads excluded). Hover a "
               "point for the source of its top-1; protocols differ (crops, resolutions, training recipes).")


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


# --- measured here (issue 11): top-1 on a folder of images, beside the published figure ----------

def measured_overlay(fig, pts: list[dict], x: str) -> None:
    """The top-1 measured here (zoo.evaluate's saved results), joined to each published point."""
    from zoo import evaluate as ev
    from ui import measured as um

    um.add_measured(fig, pts, ev.best_results(), x)


def measured_section(pts: list[dict]) -> None:
    """Measure top-1 and top-5 of a model with weights on a folder of labelled images. The pass
    runs in a thread of its own (the page stays usable); a fragment shows its progress bar and a
    Stop button, and the finished result is kept and drawn on the chart above."""
    from zoo import evaluate as ev
    from zoo import pretrained
    from ui import measured as um

    st.subheader("Measured here")
    st.caption("Every accuracy above is published. Here a model with weights on this machine is measured "
               "on a folder of labelled images, with the weights' own single centre crop: one sub-folder "
               "per class named by its WordNet id (n01440764 …, the ImageNet layout), or the images with "
               "a labels.txt of 'file,class_index' lines. The folder is read on the machine that runs the "
               "atlas. The same from a terminal: python -m zoo evaluate MODEL FOLDER.")
    job = st.session_state.get("eval_job")
    busy = job is not None and job["thread"].is_alive()
    names = pretrained.available_pretrained()
    c1, c2 = st.columns([1, 2])
    model = c1.selectbox("Model", names, key="eval_model", disabled=busy)
    folder = c2.text_input("Folder of labelled images", key="eval_folder", placeholder="/data/imagenet/val",
                           disabled=busy)
    c3, c4, c5 = st.columns([1, 1, 1], vertical_alignment="bottom")
    limit = c3.number_input("At most, images", 0, 10_000_000, 0, step=500, key="eval_limit", disabled=busy,
                            help="0: all of them. Otherwise evenly spread over the folder, so over the classes too.")
    batch = c4.number_input("Batch", 1, 256, 32, key="eval_batch", disabled=busy)
    if c5.button("Evaluate", type="primary", disabled=busy or not folder.strip(), key="eval_go"):
        job = start_evaluation(model, folder.strip(), int(limit) or None, int(batch))
        busy = job is not None
    if job is not None:
        st.fragment(evaluation_progress, run_every=0.5 if busy else None)(job)
    rows = ev.load_results()
    if rows:
        published = {p["name"]: p["top1"] for p in pts}
        # a table (not a data grid): its cells wrap at 1024 px instead of scrolling out of sight
        st.table(pd.DataFrame(um.result_rows(rows, published)).set_index("model"))
        st.caption("Measured here by CNN Atlas: top-1 and top-5 over the readable images, with the 95 % "
                   "Wilson interval of the top-1; unreadable images are counted and left out. The chart "
                   "above draws, per model, the result on the most images.")


def start_evaluation(model: str, folder: str, limit: int | None, batch: int) -> dict | None:
    """Check the folder and load the model here (errors are shown at once), then run the pass in
    a daemon thread that never calls Streamlit; the job dict is what the fragment reads."""
    import threading

    from zoo import evaluate as ev
    from zoo import pretrained

    try:
        with st.spinner(f"Loading {model} and reading {folder}…"):
            run = ev.Evaluation(model, folder, limit=limit, batch=batch)
    except (ev.FolderError, pretrained.WeightsUnavailable, ValueError, OSError) as e:
        st.error(f"**Cannot evaluate {model} on {folder}.** {e}")
        return None
    job = {"run": run, "model": model, "progress": None, "result": None, "error": None, "shown": False}

    def work():
        try:
            for p in run.run():
                job["progress"] = p
        except Exception as e:  # noqa: BLE001 -- shown by the fragment
            job["error"] = f"{type(e).__name__}: {e}"
        r = run.result()
        if r.images:
            ev.save_result(r)
        job["result"] = r

    job["thread"] = threading.Thread(target=work, name="cnn-atlas-evaluate", daemon=True)
    st.session_state["eval_job"] = job
    job["thread"].start()
    return job


def evaluation_progress(job: dict) -> None:
    from zoo import evaluate as ev

    run, model = job["run"], job["model"]
    if job["thread"].is_alive():
        p = job["progress"]
        if p is None:
            st.progress(0.0, text=f"{model}: starting {fmt.count(len(run.items))} images…")
        else:
            top1 = f"{100 * p.correct1 / p.evaluated:.1f} %" if p.evaluated else fmt.DASH
            st.progress(p.done / p.total, text=f"{model}: {fmt.count(p.done)} of {fmt.count(p.total)} images, "
                                               f"top-1 so far {top1}, {fmt.count(p.unreadable)} unreadable")
        if st.button("Stop", key="eval_stop", help="Stops after the current batch; what was measured so far is kept."):
            run.stop()
        return
    r = job["result"]
    if job["error"]:
        st.error(f"**The evaluation of {model} failed:** {job['error']}")
    if r is not None:
        (st.warning if r.stopped else st.success)("\n\n".join(ev.describe(r, listed=5)))
    if not job["shown"]:
        job["shown"] = True
        st.rerun()  # the whole page: the chart and the table show the new result


def seed_tables(pts: list[dict]) -> None:
    st.subheader("The seed paper's Tables 5 and 6")
    rows = state.published_rows()
    by_name = {p["name"]: p for p in state.pareto_points("paper")}
    seed = state.asset_csv("seed_tables.csv")
    coef = next(r for r in seed if r["table"] == "5")
    st.markdown(f"**Table 5** (EfficientNet B0–B6, α = {coef['alpha']}, β = {coef['beta']}, γ = {coef['gamma']}). "
                "The cells below are the primary source's (Tan & Le 2019, Table 2, via assets/published.csv) "
                "with the parameters zoo counts; the seed's printed cells were not transcribed for this project.")
    t5 = []
    for i in range(7):
        r = rows.get(("EfficientNet", f"B{i}"), {})
        p = by_name.get(f"efficientnet_b{i}")
        t5.append({"model": f"EfficientNet-B{i}", "top-1 % (paper)": ux.num(r.get("top1_paper")),
                   "top-5 % (paper)": ux.num(r.get("top5_paper")), "params (paper, M)": ux.num(r.get("params_m")),
                   "params (zoo)": fmt.fmt_params(p["params"]) if p else "–"})
    st.dataframe(pd.DataFrame(t5), hide_index=True,
                 column_config={c: st.column_config.NumberColumn(format="%.1f")
                                for c in ("top-1 % (paper)", "top-5 % (paper)")})
    st.markdown("**Table 6** (as printed in the seed) beside the primary sources")
    t6 = []
    for r in (r for r in seed if r["table"] == "6"):
        prim = rows.get((r["primary_model"], r["primary_variant"]), {})
        top1, src = ux.published_top1(prim, "paper")
        p = by_name.get(r["model"])
        t6.append({"seed row": r["row"], "seed top-1 %": ux.num(r["top1"]), "seed params (M)": ux.num(r["params_m"]),
                   "primary top-1 %": top1, "params (zoo)": fmt.fmt_params(p["params"]) if p else "–",
                   "primary model": f"{r['primary_model']} {r['primary_variant']}",
                   "note": r["note"], "primary source": src})
    st.dataframe(pd.DataFrame(t6), hide_index=True,
                 column_config={"note": st.column_config.TextColumn(width="large"),
                                "primary source": st.column_config.TextColumn(width="large")})
    x2 = by_name.get("shufflenet_v2_x2_0")
    x1 = by_name.get("shufflenet_v2_x1_0")
    if x2 and x1:
        st.warning(f"Seed Table 6 prints **ShuffleNet V2: 75.4 %, 2 M parameters**. A ShuffleNet v2 at that "
                   f"accuracy is the 2× model, which has {fmt.fmt_params(x2['params'])} parameters "
                   f"({x2['params']:,} counted by zoo; 7.4 M in Ma et al. 2018, Table 5); the 1× model has "
                   f"{fmt.fmt_params(x1['params'])} and {x1['top1']:.1f} % top-1 ({x1['source'].split(':')[0]}).")

def main() -> None:
    st.title("Accuracy against cost")
    c1, c2 = st.columns(2)
    acc = c1.radio("Top-1 from", list(ACC), horizontal=True, key="acc", bind="query-params")
    unit = c2.segmented_control("Count", fmt.UNITS, default="MACs", key="unit", required=True, bind="query-params")
    pts = state.pareto_points(ACC[acc])
    if not pts:
        st.warning("No registered model has a published top-1 yet.")
        return
    chart_slot = st.container()  # filled last, so a measurement made below shows at once
    latency = latency_section(pts)
    measured_section(pts)
    with chart_slot:
        charts(with_labels(pts, unit, latency), unit)
    seed_tables(pts)

state.ensure_router()
main()
