"""Architecture explorer: one model's structure and cost, layer by layer, or two side by side.

Pick a family and a model and its knobs (input resolution; width multiplier or φ where the
builder has them). Everything shown is computed by ``zoo.analyze`` on the meta device (shapes and
counts, no weights) or is a reference figure from ``zoo.info(name).figures`` shown with its source.
The view lives in the URL (``?model=resnet50&res=224``), so a copied link reopens it.
"""
from __future__ import annotations

import streamlit as st

import zoo
from zoo import fmt
from ui import page
from ui import design as ud
from ui import explore as ux
from ui import state

RES_MIN, RES_MAX = 32, 1024
SHADES = {"MACs share": "macs", "parameter share": "params", "none": None}


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
    """Family, model, resolution, knobs and unit widgets; returns (model, resolution, overrides, unit)."""
    if "design" in st.query_params:  # a network from the design lab
        return pick_design()
    fams = state.families()
    state.seed_family_from_model()
    if st.session_state.get("family") not in fams:
        st.session_state.pop("family", None)
    cols = st.columns([1.1, 1.3, 1.5, 1.3, 1.2])
    family = cols[0].selectbox("Family", list(fams), key="family", bind="query-params", on_change=_after_family)
    model = cols[1].selectbox("Model", fams[family], key="model", bind="query-params", on_change=_after_model)
    defaults = state.knobs(model)
    overrides = {}
    for knob, default in defaults.items():
        key, label, lo, hi, step = state.KNOBS[knob]
        state.clamp_query_number(key, lo, hi)
        value = cols[3].slider(label, lo, hi, value=float(default), step=step, key=key,
                               bind="query-params", on_change=_after_knob)
        if value != default:
            overrides[knob] = value
    if not defaults:
        cols[3].caption("No width multiplier or φ for this model: its variants are separate entries.")
    try:
        default_res = default_resolution(model, overrides)
    except Exception as e:
        st.error(f"Cannot build **{model}** with {overrides}: {e}")
        st.stop()
    state.clamp_query_number("res", RES_MIN, RES_MAX)
    res = cols[2].slider("Input resolution (px)", RES_MIN, RES_MAX, value=default_res, step=1,
                         key="res", bind="query-params",
                         help=f"The default for {model} is {default_res} px.")
    unit = cols[4].segmented_control("Count", fmt.UNITS, default="MACs", key="unit", required=True,
                                     bind="query-params")
    return model, res, overrides, unit


def pick_design() -> tuple[str, int, dict, str]:
    """``?design=`` (the design lab's link encoding): the design, its resolution and the unit."""
    try:
        spec = ud.decode(st.query_params["design"])
    except ValueError as e:
        st.error(f"Could not open the design in this link: {e}.")
        st.stop()
    row = st.container(horizontal=True, vertical_alignment="bottom")
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
    if mi and mi.note:
        st.caption(mi.note)
    if s.get("unused_params"):
        st.caption(f"{fmt.fmt_params(s['unused_params'])} of the parameters belong to modules that do not run "
                   "at inference (auxiliary classifiers); they are counted in the total, as the reference "
                   "implementation counts them, but carry no MACs.")
    row = st.container(horizontal=True)  # four across when there is room, two by two at 1024 px: nothing cut
    m, w = [row] * 4, 210
    m[0].metric("Parameters", fmt.fmt_params(s["total_params"]), width=w, help=f"{s['total_params']:,} (zoo.analyze)")
    m[1].metric(unit, fmt.fmt_ops(s["total_macs"], unit), width=w,
                help=f"{fmt.ops(s['total_macs'], unit):,} {unit} at {s['resolution']} px, batch 1 (zoo.analyze)")
    m[2].metric("Activation memory", fmt.fmt_bytes(s["total_act_bytes"]), width=w,
                help="Bytes of all layer outputs, fp32, batch 1 (zoo.analyze)")
    m[3].metric("Memory access (elements)", fmt.si(s["total_mem_access"]).rstrip(), width=w,
                help=f"{s['total_mem_access']:,} elements read and written, weights included "
                     "(ShuffleNet v2's memory access cost, zoo.analyze)")
    st.caption(ux.ops_convention(*_resnet50_pair()))
    figs = mi.figures if mi else {}
    if figs:
        with st.expander("Reference and published figures, with sources"):
            st.dataframe([{"figure": k, "value": f"{f.value:,.3f}".rstrip("0").rstrip("."), "unit": f.unit,
                           "source": f.source} for k, f in figs.items()], hide_index=True)


def _resnet50_pair() -> tuple[float | None, float | None]:
    """MACs of torchvision's ResNet-50 (v1.5) and the paper's layout, for the convention line."""
    try:
        return state.totals("resnet50")["total_macs"], state.totals("resnet50_paper")["total_macs"]
    except Exception:
        return None, None


def shading() -> str | None:
    label = st.radio("Shade by", list(SHADES), horizontal=True, key="shade", bind="query-params")
    return SHADES[label]


def macro_diagram(model: str, res: int, overrides: dict, s: dict) -> None:
    """The whole network as the papers' tables draw it: stem, stages (width × depth × side), head."""
    c1, c2 = st.columns([2, 1])
    with c1:
        shade = shading()
    graphviz = c2.toggle("Draw with Graphviz", key="dot", bind="query-params",
                         help="The same diagram as zoo.diagram.macro_dot's DOT text, laid out by Graphviz "
                              "in the browser (slower to redraw).")
    ov = tuple(sorted(overrides.items()))
    try:
        if graphviz:
            st.graphviz_chart(state.macro_dot(model, res, ov, shade), width="content")
        else:
            st.html(ux.macro_html(state.macro_view(model, res, ov, shade), shade, zoo.diagram.shade_color))
    except Exception as e:
        st.error(f"No macro diagram for {model}: {e}")
    st.caption("Stages as the papers' tables group them: block type × repeats, output channels × blocks × "
               "side, cost of the stage; shaded by its share of the whole network (zoo.diagram).")


def block_diagram(model: str, res: int, overrides: dict, s: dict) -> None:
    """One block's dataflow, as in the papers' block figures."""
    types = {g["group"]: g.get("block_type", "") for g in s["by_block"]}
    blocks = s.get("blocks") or [g for g in types if types[g] not in ("stem", "head")]
    if not blocks:
        st.info("This model has no repeated blocks to zoom into.")
        return
    c1, c2 = st.columns([1, 2])
    # no format_func: a bound selectbox keeps the formatted label in the URL, and ?block=layer3.0 reads better
    block = c1.selectbox("Block", blocks, key="block", bind="query-params",
                         help="Module name of the block; its type (the paper's name) is in the diagram's title.")
    with c2:
        shade = shading()
    try:
        st.graphviz_chart(state.micro_dot(model, block, res, tuple(sorted(overrides.items())), shade),
                          width="content")
    except Exception as e:
        st.error(f"No block diagram for {block}: {e}")


def layer_table(model: str, s: dict, unit: str) -> None:
    df = ux.layers_frame(s["records"])
    c1, c2 = st.columns([2, 1])
    kinds = c1.multiselect("Layer kinds", sorted(df["kind"].dropna().unique()), key="kinds", bind="query-params")
    text = c2.text_input("Name, block or type contains", key="q", placeholder="e.g. layer3, MBConv",
                         bind="query-params")
    view = ux.filter_layers(df, kinds, text)
    cost = "macs" if unit == "MACs" else "flops"
    shown = view.drop(columns=["flops" if unit == "MACs" else "macs"])
    st.dataframe(
        shown, hide_index=True, height=420,
        column_config={
            "params": st.column_config.NumberColumn("params", format="localized"),
            cost: st.column_config.NumberColumn(unit, format="localized"),
            "act_bytes": st.column_config.NumberColumn("activation bytes", format="localized"),
            "mem_access": st.column_config.NumberColumn("memory access", format="localized"),
        },
    )
    st.caption(f"{len(view)} of {len(df)} layers · {fmt.fmt_params(view['params'].sum())} parameters · "
               f"{fmt.fmt_ops(view['macs'].sum(), unit)} in the rows shown. Click a column header to sort.")
    st.download_button("Download these rows as CSV", view.to_csv(index=False).encode(),
                       file_name=f"{'design' if state.is_design(model) else model}_{s['resolution']}px_layers.csv",
                       mime="text/csv")


def charts(s: dict, unit: str) -> None:
    left, right = st.columns(2)
    page.chart(ux.cost_share_figure(s["by_stage"], unit, "by stage"), key="by_stage", where=left)
    page.chart(ux.cost_share_figure(s["by_kind"], unit, "by layer kind"), key="by_kind", where=right)
    st.dataframe(ux.groups_frame(s["by_stage"], unit), hide_index=True)


def _after_partner() -> None:
    st.session_state["vsres"] = zoo.info(st.session_state["vs"]).resolution


def compare(model: str, s: dict, unit: str) -> None:
    names = zoo.list_models()
    other_default = "efficientnet_b0" if model != "efficientnet_b0" else "resnet50"
    c1, c2 = st.columns([1, 1])
    other = c1.selectbox("Compare with (B)", names, index=names.index(other_default) if other_default in names else 0,
                         key="vs", bind="query-params", on_change=_after_partner)
    oi = zoo.info(other)
    state.clamp_query_number("vsres", RES_MIN, RES_MAX)
    ores = c2.number_input("B's resolution (px)", RES_MIN, RES_MAX, value=oi.resolution, key="vsres",
                           bind="query-params")
    b = load(other, int(ores), {})
    if b is None:
        return
    st.markdown(f"**A** = {state.display_name(model)} at {s['resolution']} px · **B** = {other} at {b['resolution']} px")
    st.dataframe(ux.compare_totals(s, b, unit), hide_index=True)
    st.markdown("**Stages** (joined on stage name)")
    st.dataframe(ux.compare_stages(s["by_stage"], b["by_stage"], unit), hide_index=True,
                 column_config={c: st.column_config.NumberColumn(format="localized")
                                for c in ("params A", "params B", f"{unit} A", f"{unit} B", "Δ params", f"Δ {unit}")})
    l, r = st.columns(2)
    page.chart(ux.cost_share_figure(s["by_stage"], unit, f"by stage: {state.display_name(model)}"), key="cmp_a", where=l)
    page.chart(ux.cost_share_figure(b["by_stage"], unit, f"by stage: {other}"), key="cmp_b", where=r)


def main() -> None:
    st.title("Architecture explorer")
    model, res, overrides, unit = pick_model()
    s = load(model, res, overrides)
    if s is None:
        return
    header(model, s, unit)
    # Tabs bound to the URL run lazily: only the open tab's section is computed.
    tabs = st.tabs(["Macro diagram", "Block diagram", "Layers", "Charts", "Compare"], key="view",
                   bind="query-params")
    sections = (lambda: macro_diagram(model, res, overrides, s), lambda: block_diagram(model, res, overrides, s),
                lambda: layer_table(model, s, unit),
                lambda: charts(s, unit), lambda: compare(model, s, unit))
    for tab, section in zip(tabs, sections):
        if tab.open:
            with tab:
                section()

state.ensure_router()
main()
