"""Architecture explorer: one model's structure and cost, layer by layer, or two side by side.

Pick a model (its family filters the list) and its knobs (input resolution; width multiplier or φ
where the builder has them). Everything shown is counted by the atlas's analysis engine on the meta
device (shapes and counts, no weights) or is a reference figure shown with its citation. The view
lives in the URL (``?model=resnet50&res=224``; ``?model=X`` alone is enough), so a copied link
reopens it.
"""
from __future__ import annotations

import os

import streamlit as st

import zoo
from ui import design as ud
from ui import explore as ux
from zoo import latency
from ui import page
from ui import lesson_runs as runs
from ui import measure as um
from ui import state
from zoo import fmt
from zoo.analysis import KIND_LABELS, KINDS, uncounted_note

RES_MIN, RES_MAX = 32, 1024
SHADES = {"MACs share": "macs", "parameter share": "params", "none": None}
ENGINE = "counted by CNN Atlas on the meta device"


# Widgets bound to the URL re-read the address bar when their state is dropped, so a change of
# family, model or knob writes the new defaults into st.session_state instead of popping keys.

def default_resolution(model: str, overrides: dict) -> int:
    """The model's own input side; a knob may change it (φ scales it by γ^φ)."""
    res = zoo.info(model).resolution
    if overrides:
        res = int(getattr(state.meta_model(model, tuple(sorted(overrides.items()))), "resolution", res))
    return min(max(res, RES_MIN), RES_MAX)


def _defaults_for(model: str) -> None:
    knobs = state.knobs(model)
    for knob, (key, *_rest) in state.KNOBS.items():
        if knob in knobs:
            st.session_state[key] = knobs[knob]
    st.session_state["res"] = default_resolution(model, {})


def _after_family() -> None:
    model = state.families()[st.session_state["family"]][0]
    st.session_state["model"] = model
    _defaults_for(model)


def _after_model() -> None:
    _defaults_for(st.session_state["model"])


def _after_knob() -> None:
    model = st.session_state["model"]
    overrides = {k: st.session_state[key] for k, (key, *_rest) in state.KNOBS.items()
                 if k in state.knobs(model) and key in st.session_state}
    overrides = {k: v for k, v in overrides.items() if v != state.knobs(model)[k]}
    try:
        st.session_state["res"] = default_resolution(model, overrides)
    except Exception:  # an unbuildable knob: the page says why on the rerun
        pass


def pick_model() -> tuple[str, int, dict, str]:
    """Family, model, resolution, knob and unit widgets in one wrapping row; returns
    (model, resolution, overrides, unit)."""
    if "design" in st.query_params:  # a network from the design lab
        return pick_design()
    fams = state.families()
    state.model_from_url()
    if st.session_state.get("family") not in fams:
        st.session_state.pop("family", None)
    with page.row():
        # The family only filters the model list: the URL holds the model, the family follows.
        family = st.selectbox("Family", list(fams), key="family", on_change=_after_family, width=220)
        model = st.selectbox("Model", fams[family], key="model", on_change=_after_model, width=230)
        defaults = state.knobs(model)
        overrides = {}
        for knob, default in defaults.items():
            key, label, lo, hi, step = state.KNOBS[knob]
            state.clamp_query_number(key, lo, hi)
            value = st.slider(label, lo, hi, value=float(default), step=step, key=key, bind="query-params",
                              on_change=_after_knob, width=250)
            if value != default:
                overrides[knob] = value
        try:
            default_res = default_resolution(model, overrides)
        except Exception as e:
            st.error(f"Cannot build **{model}** with {overrides}: {e}")
            st.stop()
        state.clamp_query_number("res", RES_MIN, RES_MAX)
        res = st.slider("Input resolution (px)", RES_MIN, RES_MAX, value=default_res, step=1, key="res",
                        bind="query-params", help=f"The default for {model} is {default_res} px.", width=250)
        unit = st.segmented_control("Count", fmt.UNITS, default="MACs", key="unit", required=True,
                                    bind="query-params")
    # Written by hand, every run: a bound selectbox drops its value from the URL when it equals the
    # list's first entry, and here the list (the family) changes, so the link would lose the model.
    st.query_params["model"] = model
    return model, res, overrides, unit


def pick_design() -> tuple[str, int, dict, str]:
    """``?design=`` (the design lab's link encoding): the design, its resolution and the unit."""
    try:
        spec = ud.decode(st.query_params["design"])
    except ValueError as e:
        st.error(f"Could not open the design in this link: {e}.")
        st.stop()
    row = page.row(vertical_alignment="bottom")
    state.page_link(row, "pages/design.py", f"Back to the design lab: edit {spec['name']}",
                    {"d": ud.encode(spec)}, icon=":material/architecture:")
    state.clamp_query_number("res", RES_MIN, RES_MAX)
    res = row.slider("Input resolution (px)", RES_MIN, RES_MAX, step=1, key="res", bind="query-params",
                     value=min(max(spec["resolution"], RES_MIN), RES_MAX), width=260,
                     help=f"The design's own is {spec['resolution']} px.")
    unit = row.segmented_control("Count", fmt.UNITS, default="MACs", key="unit", required=True,
                                 bind="query-params", width=160)
    return state.design_name(spec), res, {}, unit


def load(model: str, res: int, overrides: dict) -> dict | None:
    try:
        return state.summary(model, res, tuple(sorted(overrides.items())))
    except Exception as e:  # a bad resolution or knob: say so and keep the session going
        st.error(f"Cannot analyse **{state.display_name(model)}** at {res} px with {overrides or 'default knobs'}: {e}")
        return None


def header(model: str, s: dict, unit: str) -> None:
    mi = None if state.is_design(model) else zoo.info(model)
    if mi is None:
        st.markdown(f"### {state.display_name(model)}  \nBuilt in the design lab from the zoo's blocks; "
                    "never trained, so it has no accuracy.")
    else:
        paper = mi.paper
        link = f" · [arXiv {paper.arxiv}]({paper.url})" if paper.arxiv else ""
        st.markdown(f"### {model}  \n{paper.authors} ({paper.year}), *{paper.title}*{link}")
        if mi.note:
            page.note(mi.note)
    if s.get("unused_params"):
        page.note(f"{fmt.fmt_params(s['unused_params'])} of the parameters belong to modules that do not run "
                  "at inference (auxiliary classifiers); they are counted in the total, as the reference "
                  "implementation counts them, but carry no MACs.")
    page.metrics(ux.total_metrics(s, unit, ENGINE))
    page.note(ux.ops_convention(*_resnet50_pair()))
    if s.get("uncounted"):  # matrix work in functions the engine does not know: said, not hidden
        page.cite(uncounted_note(s["uncounted"], s.get("uncounted_macs", 0)))
    figs = mi.figures if mi else {}
    if figs:
        with st.expander("Reference and published figures, with their sources"):
            page.table([{"figure": k.replace("_", " "), "value": _figure_value(f.value), "unit": f.unit,
                         "source": f.source} for k, f in figs.items()])


def _figure_value(v: float) -> str:
    return fmt.count(v) if float(v).is_integer() and abs(v) >= 1000 else f"{v:g}"


def _resnet50_pair() -> tuple[float | None, float | None]:
    """MACs of torchvision's ResNet-50 (v1.5) and the paper's layout, for the convention line."""
    try:
        return state.totals("resnet50")["total_macs"], state.totals("resnet50_paper")["total_macs"]
    except Exception:
        return None, None


def shading(key: str = "shade") -> str | None:
    label = st.radio("Shade by", list(SHADES), horizontal=True, key=key, bind="query-params")
    return SHADES[label]


def macro_diagram(model: str, res: int, overrides: dict, s: dict) -> None:
    """The whole network as the papers' tables draw it: stem, stages (width × depth × side), head."""
    with page.row(vertical_alignment="bottom"):
        shade = shading()
        graphviz = st.toggle("Draw with Graphviz", key="dot", bind="query-params",
                             help="The same diagram laid out by Graphviz in the browser (slower to redraw).")
    ov = tuple(sorted(overrides.items()))
    try:
        if graphviz:
            st.graphviz_chart(state.macro_dot(model, res, ov, shade), width="content")
        else:
            st.html(ux.macro_html(state.macro_view(model, res, ov, shade), shade, zoo.diagram.shade_color))
    except Exception as e:
        st.error(f"No macro diagram for {model}: {e}")
    page.note("Stages as the papers' tables group them: block type × repeats, output channels × side, cost of "
              "the stage; shaded by its share of the whole network.")


def block_diagram(model: str, res: int, overrides: dict, s: dict) -> None:
    """One block's dataflow, as in the papers' block figures."""
    types = {g["group"]: g.get("block_type", "") for g in s["by_block"]}
    blocks = s.get("blocks") or [g for g in types if types[g] not in ("stem", "head")]
    if not blocks:
        st.info("This model has no repeated blocks to zoom into.")
        return
    with page.row(vertical_alignment="bottom"):
        # no format_func: a bound selectbox keeps the formatted label in the URL, and ?block=layer3.0 reads better
        block = st.selectbox("Block", blocks, key="block", bind="query-params", width=260,
                             help="Module name of the block; its type (the paper's name) is in the diagram's title.")
        shade = shading("bshade")
    try:
        st.graphviz_chart(state.micro_dot(model, block, res, tuple(sorted(overrides.items())), shade),
                          width="content")
    except Exception as e:
        st.error(f"No block diagram for {block}: {e}")


def layer_columns(unit: str) -> dict:
    """Column headers, widths (px) and formats of the layer table: counts localized (thousands
    separators) and wide enough for their largest value, the layer name pinned; at 1024 px the cost
    columns fit before any horizontal scrolling."""
    cost = "macs" if unit == "MACs" else "flops"

    def count(label: str, w: int):
        return st.column_config.NumberColumn(label, format="localized", width=w)

    return {
        "name": st.column_config.TextColumn("layer", width=150, pinned=True),
        "block": st.column_config.TextColumn("block", width=80),
        "out_shape": st.column_config.TextColumn("output", width=110),
        "params": count("params", 100),
        cost: count(unit, 125),
        "share": st.column_config.NumberColumn(f"% of {unit}", format="%.2f %%", width=85),
        "act_bytes": count("activation bytes", 125),
        "mem_access": count("memory access", 125),
        "kind": st.column_config.TextColumn("kind", width=90),
        "in_shape": st.column_config.TextColumn("input", width=110),
        "block_type": st.column_config.TextColumn("block type", width=110),
    }


def layer_table(model: str, s: dict, unit: str) -> None:
    df = ux.layers_frame(s["records"])
    with page.row(vertical_alignment="bottom"):
        kinds = st.multiselect("Layer kinds", sorted(k for k in df["kind"].unique() if k != fmt.DASH),
                               key="kinds", bind="query-params", width=360)
        text = st.text_input("Name, block or type contains", key="q", placeholder="e.g. layer3, MBConv",
                             bind="query-params", width=300)
    view = ux.filter_layers(df, kinds, text)
    shown = view.drop(columns=["flops" if unit == "MACs" else "macs"])
    st.dataframe(shown, hide_index=True, height=440, column_config=layer_columns(unit))
    st.caption(f"{fmt.count(len(view))} of {fmt.count(len(df))} layers · {fmt.fmt_params(view['params'].sum())} "
               f"parameters · {fmt.fmt_ops(view['macs'].sum(), unit)} in the rows shown.")
    page.note("Click a column header to sort. \"—\" marks what does not apply (a ReLU has no kernel).")
    st.download_button("Download these rows as CSV", view.to_csv(index=False).encode(),
                       file_name=f"{'design' if state.is_design(model) else model}_{s['resolution']}px_layers.csv",
                       mime="text/csv")


def charts(s: dict, unit: str) -> None:
    page.chart(ux.cost_share_figure(s["by_stage"], unit, "by stage"), key="by_stage")
    page.chart(ux.cost_share_figure(s["by_kind"], unit, "by layer kind"), key="by_kind")
    df = ux.groups_frame(s["by_stage"], unit).rename(columns={"group": "stage"})
    page.table(df, counts=["params", unit, "layers"], digits={"params %": 1, f"{unit} %": 1})


def _after_partner() -> None:
    st.session_state["vsres"] = zoo.info(st.session_state["vs"]).resolution


def compare(model: str, s: dict, unit: str) -> None:
    names = zoo.list_models()
    other_default = "efficientnet_b0" if model != "efficientnet_b0" else "resnet50"
    with page.row(vertical_alignment="bottom"):
        other = st.selectbox("Compare with (B)", names, key="vs", bind="query-params", on_change=_after_partner,
                             index=names.index(other_default) if other_default in names else 0, width=260)
        oi = zoo.info(other)
        state.clamp_query_number("vsres", RES_MIN, RES_MAX)
        ores = st.number_input("B's resolution (px)", RES_MIN, RES_MAX, value=oi.resolution, key="vsres",
                               bind="query-params", width=200)
    b = load(other, int(ores), {})
    if b is None:
        return
    st.markdown(f"**A** = {state.display_name(model)} at {s['resolution']} px · **B** = {other} at {b['resolution']} px")
    page.table(ux.compare_totals(s, b, unit))
    cols = ["params A", "params B", f"{unit} A", f"{unit} B", f"Δ {unit} (B − A)"]
    st.markdown("**By feature-map size** (the input downsampled 2×, 4× … 32×, whatever the input side)")
    levels = ux.compare_groups(ux.by_feature_map(s["records"], s["resolution"]),
                               ux.by_feature_map(b["records"], b["resolution"]), unit, "feature map",
                               order=[f"1/{2 ** i}" for i in range(0, 8)] + ["pooled and head"])
    page.table(levels, counts=cols)
    st.markdown("**By layer kind**")
    kind_rows = lambda g: [{**r, "group": KIND_LABELS.get(r["group"], r["group"])} for r in g]  # noqa: E731
    page.table(ux.compare_groups(kind_rows(s["by_kind"]), kind_rows(b["by_kind"]), unit, "layer kind",
                                 order=[KIND_LABELS[k] for k in KINDS]), counts=cols)
    page.note("A dash: that model has no such layers. Δ = B − A. Both counted at the resolutions shown.")


def measured_here(model: str, res: int, overrides: dict, s: dict) -> None:
    """Per layer kind: share of the MACs, of the memory access and of the time measured here."""
    st.markdown("Counted cost is not time. Each layer of this network is timed in real forward passes on this "
                "machine (batch 1, random weights) and set beside its share of the MACs and of the memory access.")
    if s["total_macs"] > state.LATENCY_MAX_MACS:
        st.info(f"{model} at {s['resolution']} px needs {fmt.fmt_ops(s['total_macs'])}: above "
                f"{fmt.fmt_ops(state.LATENCY_MAX_MACS)} it is only analysed on the meta device, not timed here.")
        return
    cpus = max(1, os.cpu_count() or 1)
    c1, c2 = st.columns([1, 3])
    threads = c1.selectbox("torch threads", list(range(1, cpus + 1)), index=max(1, cpus // 2) - 1, key="mthreads",
                           bind="query-params")
    key = ("profile", model, int(res), tuple(sorted(overrides.items())), int(threads))

    def work(progress):
        return latency.profile(model, int(res), int(threads), progress=progress, **overrides)

    with c2:
        try:
            entry = runs.measured(key, "Time every layer (a few seconds)", work, button_key="profile_run",
                                  start_text=f"building {model} on the CPU…")
        except Exception as e:  # a model or resolution the CPU cannot run: say so, keep the session
            st.error(f"Could not time {model} at {res} px: {e}")
            return
    if entry is None:
        st.caption("Not measured yet with these settings.")
        return
    p = entry["result"]
    st.markdown(f"**{um.lesson_sentence(p)}**")
    page.chart(um.share_figure(p.by_group(), f"{model} at {p.resolution} px: counted against measured"),
               key="measured_shares")
    st.table(um.group_frame(p.by_group()), hide_index=True)
    st.markdown("**The ten layers whose share of the time most exceeds their share of the MACs**")
    st.table(um.excess_frame(p.excess(10)), hide_index=True)
    st.caption(f"{um.sum_sentence(p)} Measured at {entry['when']} on {p.machine.label()}.")
    with st.expander("How each layer is timed"):
        st.markdown(p.method)
    st.download_button("Download every layer's time as CSV", um.profile_csv(p).encode(),
                       file_name=f"{model}_{p.resolution}px_layer_times.csv", mime="text/csv")


def main() -> None:
    st.title("Architecture explorer")
    model, res, overrides, unit = pick_model()
    s = load(model, res, overrides)
    if s is None:
        return
    header(model, s, unit)
    # Tabs bound to the URL run lazily: only the open tab's section is computed.
    tabs = st.tabs(["Macro diagram", "Block diagram", "Layers", "Charts", "Compare", "Measured here"], key="view",
                   bind="query-params")
    sections = (lambda: macro_diagram(model, res, overrides, s), lambda: block_diagram(model, res, overrides, s),
                lambda: layer_table(model, s, unit),
                lambda: charts(s, unit), lambda: compare(model, s, unit),
                lambda: measured_here(model, res, overrides, s))
    for tab, section in zip(tabs, sections):
        if tab.open:
            with tab:
                section()


state.ensure_router()
main()
