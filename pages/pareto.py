"""Accuracy against cost: published top-1 against parameters, MACs and measured CPU latency.

Top-1 figures are published ones (the paper's, or the torchvision/timm weights'), each with its
source from assets/published.csv. Parameters and MACs are computed by ``zoo.analyze`` on the meta
device at each model's registered resolution. Latency is measured on this machine, on request,
by ``zoo.latency.time_many`` (the chosen models take turns; median and IQR of at least 5 batch-1
fp32 repeats each; the thread count, processor and load are shown with the numbers); heavy models
stay on the meta device and are not timed. A second view ranks the timed models by MACs and by
latency and draws how the ranks move ("k× fewer MACs, only m× faster").
The seed paper's Tables 5 and 6 (Zhao, "A comparative study of large-scale and lightweight
convolutional neural networks for ImageNet classification") are shown with the primary sources
beside them, and where they disagree, both.
"""
from __future__ import annotations

import json
import os

import pandas as pd
import streamlit as st
import torch

import zoo
from zoo import fmt
from zoo import latency
from ui import page
from ui import explore as ux
from ui import lesson_runs as runs
from ui import measure as um
from ui import state

AXES = {"parameters": "params", "MACs": "macs", "latency (this CPU)": "latency_ms"}
ACC = {"paper": "paper", "weights (torchvision / timm)": "weights"}


def with_labels(pts: list[dict], unit: str, latency: dict) -> list[dict]:
    out = []
    for p in pts:
        q = dict(p)
        q["macs"] = fmt.ops(p["macs"], unit)
        lat = latency.get(p["name"])
        q["latency_ms"] = lat.median_ms if lat else None
        q["x_label"] = (f"{fmt.fmt_params(p['params'])} parameters · {fmt.fmt_ops(p['macs'], unit)} at "
                        f"{p['resolution']} px" + (f" · {lat.text()} here" if lat else ""))
        out.append(q)
    return out


def figure(pts: list[dict], x: str, title: str, log_x: bool, seed: bool, latency: dict, results: dict):
    """The accuracy-against-cost chart: published points, latency error bars when timed, the seed's
    Table 6 when asked on the parameters axis, and the top-1 measured here (``results``)."""
    from ui import measured as mh

    fig = ux.pareto_figure(pts, x, title, log_x=log_x)
    if x == "latency_ms":
        fig = um.add_latency_error_bars(fig, latency)
    if seed and x == "params":
        fig = ux.add_seed_table6(fig, [r for r in state.asset_csv("seed_tables.csv") if r["table"] == "6"])
    return mh.add_measured(fig, pts, results, x)


def unmeasured_figure(acc: str, unit: str, x: str, title: str, log_x: bool, seed: bool, results: str):
    """``figure`` for a session that has timed nothing: the same for every such session with these
    choices and saved results (``results``: their JSON), so the page shares it (``page.shared_chart``)."""
    return figure(with_labels(state.pareto_points(acc), unit, {}), x, title, log_x, seed, {}, json.loads(results))


def charts(pts: list[dict], unit: str, latency: dict, acc: str) -> None:
    with page.row(vertical_alignment="bottom"):
        axis = st.segmented_control("Cost axis", list(AXES), default="MACs", key="x", required=True,
                                    bind="query-params")
        log_x = st.toggle("Log cost axis", value=True, key="log", bind="query-params")
        seed = st.toggle("Seed Table 6 as printed", value=False, key="seed6", bind="query-params")
    x = AXES[axis]
    title = {"params": "parameters", "macs": unit, "latency_ms": "latency here, ms (batch 1, median and IQR)"}[x]
    if x == "latency_ms" and not any(p["latency_ms"] for p in pts):
        st.info("No latency measured yet: use **Measure latency** below, then come back to this axis.")
        return
    if seed and x != "params":
        page.note("Seed Table 6 prints parameters only: switch the cost axis to parameters to overlay it.")
    from zoo import evaluate as ev

    results = ev.best_results()
    if latency:
        page.chart(figure(pts, x, title, log_x, seed, latency, results), key=f"pareto_{x}")
    else:   # what most of a hall sees: built once per server
        page.shared_chart(unmeasured_figure, acc, unit, x, title, bool(log_x), bool(seed),
                          json.dumps(results, sort_keys=True, default=str), key=f"pareto_{x}")
    plotted = [p for p in pts if p.get(x)]
    n_front = len(ux.pareto_front([p[x] for p in plotted], [p["top1"] for p in plotted]))
    missing = len(pts) - len(plotted)
    page.cite(f"{len(plotted)} models plotted{f' ({missing} not measured yet)' if missing else ''}; {n_front} on "
              "the Pareto frontier (no other plotted model is both cheaper and more accurate), named on the chart. "
              "Parameters are those used at inference (auxiliary heads excluded). Top-1 as published (hover a point "
              "for its source); protocols differ (crops, resolutions, training recipes).")


LAT_BUDGETS = [5.0, 10.0, 20.0]


def latency_section(pts: list[dict]) -> dict:
    """Time the chosen models together (they take turns), on a button press; {name: Timing}."""
    st.subheader("Measure latency on this machine")
    light = [p for p in pts if p["macs"] <= state.LATENCY_MAX_MACS]
    heavy = sorted(p["name"] for p in pts if p["macs"] > state.LATENCY_MAX_MACS)
    st.caption(f"Models above {fmt.fmt_ops(state.LATENCY_MAX_MACS)} stay on the meta device and are not "
               f"timed here: {', '.join(heavy) or 'none'}.")
    names = [p["name"] for p in light]
    # MobileNet v2 / EfficientNet-B0 / ResNet-18 / ResNet-50 for the pairs below; B2, GoogLeNet and B3
    # because on a CPU they run slower than models with more MACs
    default = [n for n in ("mobilenet_v2", "shufflenet_v2_x1_0", "efficientnet_b0", "resnet18", "efficientnet_b2",
                           "googlenet", "resnet50", "efficientnet_b3") if n in names]
    c1, c2, c3 = st.columns([3, 1, 1.2])
    chosen = c1.multiselect("Models to time", names, default=default, key="lat_models")
    cpus = max(1, os.cpu_count() or 1)
    threads = c2.selectbox("Threads", list(range(1, cpus + 1)), index=max(1, cpus // 2) - 1, key="lat_threads",
                           help="Half the logical CPUs by default: a thread that has to wait for a busy core "
                                "stalls the others at every layer.")
    budget = c3.selectbox("Time", LAT_BUDGETS, index=1, key="lat_budget", format_func=lambda b: f"about {b:g} s",
                          help="How long the repeats may take, all models together (at least 5 each).")
    if not chosen:
        st.info("Pick at least one model to time.")
        return {}
    res = {p["name"]: p["resolution"] for p in light}

    def work(progress) -> dict:
        fns = {}
        for i, name in enumerate(chosen):
            progress(0.1 * i / len(chosen), f"building {name} on the CPU…")
            model = zoo.build(name).eval()
            x = torch.randn(1, 3, res[name], res[name], generator=torch.Generator().manual_seed(0))
            fns[name] = (lambda m=model, x=x: m(x))
        timings = latency.time_many(fns, threads=int(threads), budget_s=float(budget),
                                    progress=lambda f, t: progress(0.1 + 0.9 * f, t), what="timing")
        return {"timings": timings, "machine": next(iter(timings.values())).machine}

    try:
        entry = runs.measured(("pareto", tuple(chosen), int(threads), float(budget)),
                              f"Measure latency ({len(chosen)} models, about {budget:g} s)", work,
                              button_key="lat_run", start_text="building the models…")
    except Exception as e:  # out of memory, a model that fails on CPU…: say so, keep the session
        st.error(f"Could not time these models: {e}")
        return {}
    if entry is None:
        st.caption("Not measured yet with these settings.")
        return {}
    r = entry["result"]
    st.table(um.timings_frame(r["timings"]), hide_index=True)
    st.caption(f"Measured at {entry['when']} in {entry['seconds']:.1f} s on {r['machine'].label()}, each model at "
               "its own resolution (224 px for most; hover a point above). Batch 1, "
               "fp32, random weights, torch.inference_mode; the models took turns, at least "
               f"{latency.MIN_REPEATS} repeats each (median, IQR = the middle half of the repeats).")
    return r["timings"]


def ranking_section(pts: list[dict], timings: dict, unit: str) -> None:
    """Counted against measured: rank by MACs vs rank by latency here, and the issue's pairs."""
    st.subheader("Counted against measured")
    if len(timings) < 2:
        st.info("Measure at least two models above to rank them by MACs and by latency here.")
        return
    rows = um.rank_rows(pts, timings)
    moved = sum(r["rank_macs"] != r["rank_time"] for r in rows)
    by_name = {r["name"]: r for r in rows}
    st.markdown(f"**{moved} of {len(rows)} models** change rank between counting {unit} and timing them here "
                "(thick lines). Counting assumes every multiply-accumulate costs the same; on a real processor "
                "depthwise convolutions, squeeze-excite and element-wise layers do little arithmetic per byte they "
                "move, so they take more time than their MACs suggest.")
    page.chart(um.slope_figure(rows, unit), key="ranking")
    for small, big in um.PAIRS:
        if small in by_name and big in by_name:
            st.markdown("- " + um.pair_sentence(by_name[small], by_name[big], unit))
    names = list(by_name)
    c1, c2, c3 = st.columns([1, 1, 2])
    a = c1.selectbox("Compare", names, index=0, key="pair_a")
    b = c2.selectbox("with", names, index=len(names) - 1, key="pair_b")
    if a != b:
        small, big = sorted((by_name[a], by_name[b]), key=lambda r: r["macs"])
        c3.markdown(um.pair_sentence(small, big, unit))
    st.caption(f"{unit}: counted by CNN Atlas on the meta device at each model's resolution. Latency: measured above; "
               f"two models whose IQRs overlap are {latency.NOISE}, and their order in the right column may swap "
               "from one measurement to the next.")


# --- measured here (issue 11): top-1 on a folder of images, beside the published figure ----------

def measured_section(pts: list[dict]) -> None:
    """Measure top-1 and top-5 of a model with weights on a folder of labelled images. The pass
    runs in a thread of its own (the page stays usable); a fragment shows its progress bar and a
    Stop button, and the finished result is kept and drawn on the chart above."""
    from zoo import evaluate as ev
    from zoo import pretrained
    from ui import measured as mh

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
        st.table(pd.DataFrame(mh.result_rows(rows, published)).set_index("model"))
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
    timings = latency_section(pts)
    measured_section(pts)
    with chart_slot:
        charts(with_labels(pts, unit, timings), unit, timings, ACC[acc])
    ranking_section(pts, timings, unit)
    seed_tables(pts)

state.ensure_router()
main()
