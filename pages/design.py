"""Design lab: design a CNN from a stage table and see its exact cost, diagrams and speed.

Start from a template (a zoo network as a spec: ``zoo.design.templates()``), edit its stages, stem
and head, resolution and multipliers; every edit is validated (``zoo.design.validate``: a problem
is named by stage and field) and re-analysed on the meta device by ``zoo.analyze``. The design
lives in the URL (``?d=``, ``ui.design.encode``), in a JSON file, and as PyTorch source. Its
accuracy is unknown (it is not trained): on the zoo's accuracy chart it is a band at its exact cost.
"""
from __future__ import annotations

import os

import streamlit as st
import torch

import zoo
from zoo import design, fmt, latency
from ui import design as ud
from ui import explore as ux
from ui import lesson_runs as runs
from ui import page, state

DEFAULT = "resnet50"
ENGINE = "counted by CNN Atlas on the meta device"
TABS = ["Macro diagram", "Block diagram", "Stages", "Against the zoo", "Latency", "Share and export"]
SHADES = {"MACs share": "macs", "parameter share": "params", "none": None}
LATENCY_MAX_PARAMS = 150e6   # random weights held in memory while timing (600 MB of fp32)


def template_label(name: str) -> str:
    p = zoo.info(name).paper
    return f"{name} ({p.authors.split(',')[0].split()[-1]} et al. {p.year})"


# --- the design in session state -----------------------------------------------------------------
# d_base: the spec the editors were filled from; d_ver: bumped each time a spec is loaded, so the
# editors start afresh; d_pending: a spec to load at the top of the next run (set by callbacks).

def _load(spec: dict, exercise: str | None = None) -> None:
    st.session_state["d_pending"] = (design.validate(spec), exercise)


def _on_template() -> None:
    _load(design.template(st.session_state["d_template"]))


def _on_exercise(key: str) -> None:
    _load(design.template(ud.EXERCISE_KEYS[key].base), key)


def _on_leave_exercise() -> None:
    st.session_state.pop("d_ex", None)


def _apply(spec: dict, exercise: str | None) -> None:
    ss = st.session_state
    ss["d_base"] = spec
    ss["d_ver"] = ss.get("d_ver", 0) + 1
    ss["d_res"], ss["d_w"], ss["d_d"] = spec["resolution"], spec["width_mult"], spec["depth_mult"]
    ss["d_name"] = spec["name"]
    if spec.get("base"):
        ss["d_template"] = spec["base"]
    if exercise:
        ss["d_ex"] = exercise
    elif exercise is None and ss.get("d_ex") and spec.get("base") != ud.EXERCISE_KEYS[ss["d_ex"]].base:
        ss.pop("d_ex")


def _from_url() -> dict | None:
    token = st.query_params.get("d")
    if not token:
        return None
    try:
        return ud.decode(token)
    except ValueError as e:
        st.warning(f"Could not open the design in this link: {e}. "
                   + (f"Starting from {DEFAULT} instead." if "d_base" not in st.session_state
                      else "The current design is kept."))
        st.session_state["d_token"] = token    # warned once; the next valid run rewrites the URL
        return None


def start() -> None:
    """Load what a callback asked for, a design a link brings (on a session's first run, or a link
    followed from another page), else keep the session's design."""
    ss = st.session_state
    pending = ss.pop("d_pending", None)
    if pending:
        _apply(*pending)
        return
    ex = st.query_params.get("ex")
    ex = ex if ex in ud.EXERCISE_KEYS else None
    if "d_base" in ss and st.query_params.get("d") not in (None, ss.get("d_token")):
        spec = _from_url()      # e.g. "Back to the design lab" from the explorer
        if spec is not None:
            _apply(spec, ex)
            return
    if "d_base" in ss:
        # back from another page: Streamlit has dropped the widgets' state; reload the last valid design
        if stage_key() not in ss and ss.get("d_valid") not in (None, ss["d_base"]):
            _apply(ss["d_valid"], None)
        for key, field in (("d_res", "resolution"), ("d_w", "width_mult"), ("d_d", "depth_mult")):
            ss.setdefault(key, ss["d_base"][field])
        ss.setdefault("d_template", ss["d_base"].get("base") or DEFAULT)
        return
    _apply(_from_url() or design.template(DEFAULT), ex)


# --- editing ----------------------------------------------------------------------------------------

def _block_help() -> str:
    return "Block type: " + "; ".join(f"{k} = {b.label}" for k, b in design.BLOCKS.items())


STAGE_CONFIG = {
    "_index": st.column_config.NumberColumn("stage", disabled=True, width=52,
                                            help="Stage N is the network's module stageN in the diagrams"),
    "block": st.column_config.SelectboxColumn("block", options=list(design.BLOCKS), required=True,
                                              default="conv", help=_block_help(), width=104),
    "out_channels": st.column_config.NumberColumn("width", min_value=1, max_value=8192, step=1, width=78,
                                                  default=64, required=True, format="localized",
                                                  help="Output channels of every block in the stage (before the width multiplier)"),
    "repeats": st.column_config.NumberColumn("repeats", min_value=1, max_value=100, step=1, default=1, width=88,
                                             required=True, help="Blocks in the stage (before the depth multiplier)"),
    "stride": st.column_config.NumberColumn("stride", min_value=1, max_value=4, step=1, default=1, required=True, width=84,
                                            help="Stride of the stage's first block (MBConv, Fused-MBConv, Fire, "
                                                 "shuffle: 1 or 2; Fire strides with a 3×3/2 max-pool)"),
    "kernel": st.column_config.SelectboxColumn("kernel", options=[1, 3, 5, 7, 9, 11], width=78,
                                               help="Spatial kernel k of the block's k×k convolution(s); "
                                                    "empty where the block fixes it (Fire, shuffle: 3×3)"),
    "expand": st.column_config.NumberColumn("expand", min_value=1, max_value=32, step=1, width=86,
                                            help="Bottleneck: output / inner width (4 in ResNet). MBConv, "
                                                 "Fused-MBConv: expansion ratio t. Fire: output / squeeze width (8)"),
    "se": st.column_config.NumberColumn("SE", min_value=0.0, max_value=1.0, step=0.0001, format="%.4g", width=56,
                                        help="Squeeze-and-excitation, 0 = none. ResNet blocks: squeeze to "
                                             "ratio × output width (SE-ResNet 1/16); MBConv: ratio × input width (0.25)"),
    "groups": st.column_config.NumberColumn("groups", min_value=1, max_value=8192, step=1, width=80,
                                            help="Grouped k×k convolution (conv; bottleneck's middle conv: ResNeXt)"),
    "activation": st.column_config.SelectboxColumn("act.", options=list(design.ACTIVATIONS), width=92,
                                                   help="Activation of conv, MBConv, Fused-MBConv and dwsep blocks; ResNet, "
                                                        "Fire and shuffle blocks use ReLU"),
    "shortcut": st.column_config.SelectboxColumn("shortcut", options=list(design.SHORTCUTS), width=100,
                                                 help="ResNet blocks: conv = 1×1 projection (option B), avg = "
                                                      "ResNet-D's average pool + 1×1, none = plain net"),
}
def stage_config(present: bool) -> dict:
    """The stage table's columns; wider in presentation mode, whose type is 1.25× larger, so that no
    header is cut (the table scrolls sideways instead when the page is narrow)."""
    if not present:
        return STAGE_CONFIG
    out = {}
    for k, c in STAGE_CONFIG.items():
        c = dict(c)
        if isinstance(c.get("width"), int):
            c["width"] = round(c["width"] * 1.25)
        out[k] = c
    return out


STEM_CONFIG = {
    "channels": st.column_config.NumberColumn("stem channels", min_value=1, max_value=1024, step=1, required=True),
    "kernel": st.column_config.SelectboxColumn("kernel", options=[1, 3, 5, 7, 9, 11], required=True),
    "stride": st.column_config.NumberColumn("stride", min_value=1, max_value=4, step=1, required=True),
    "activation": st.column_config.SelectboxColumn("activation", options=list(design.ACTIVATIONS), required=True),
    "norm": st.column_config.CheckboxColumn("batch norm", help="Off: the conv has a bias instead (SqueezeNet)"),
    "padding": st.column_config.SelectboxColumn("padding", options=list(design.PADDINGS), required=True,
                                                help="same: k // 2 pixels; valid: none (SqueezeNet's conv1)"),
    "pool": st.column_config.SelectboxColumn("max-pool", options=list(design.STEM_POOLS), required=True,
                                             help="max: 3×3/2 padded (ResNet); max_ceil: 3×3/2 in ceil mode "
                                                  "(SqueezeNet); none"),
}
HEAD_CONFIG = {
    "channels": st.column_config.NumberColumn("1×1 conv width", min_value=0, max_value=8192, step=1,
                                              format="localized", help="0: no 1×1 conv before pooling"),
    "activation": st.column_config.SelectboxColumn("activation", options=list(design.ACTIVATIONS), required=True),
    "pool": st.column_config.SelectboxColumn("global pool", options=list(design.HEAD_POOLS), required=True),
    "classifier": st.column_config.SelectboxColumn("classifier", options=list(design.CLASSIFIERS), required=True,
                                                   help="linear: pool → dropout → FC; conv: dropout → 1×1 conv "
                                                        "→ ReLU → pool (SqueezeNet)"),
    "classes": st.column_config.NumberColumn("classes", min_value=1, max_value=100_000, step=1, required=True,
                                             format="localized"),
    "dropout": st.column_config.NumberColumn("dropout", min_value=0.0, max_value=0.99, step=0.05, format="%.2f"),
}


def stage_key() -> str:
    """The stage table's widget key: new for each design loaded (``d_ver``) and each time the
    table is redrawn to show the cells a block change filled or cleared (``d_sver``)."""
    ss = st.session_state
    return f"d_stages_{ss['d_ver']}_{ss.get('d_sver', 0)}"


def stage_table(slot, stages: list[dict]):
    table = ud.frame(ud.stage_rows({"stages": stages}), ud.STAGE_COLUMNS)
    table.index = list(range(1, len(table) + 1))   # numbered as the messages and modules name them
    return slot.data_editor(table, key=stage_key(), column_config=stage_config(page.presenting()),
                            num_rows="dynamic", width="stretch", placeholder=fmt.DASH)


def editors() -> tuple[dict, list[dict], str, object]:
    """The controls and the three tables; returns (the spec as edited, the stage rows as typed,
    the unit, the stage table's slot)."""
    ss = st.session_state
    base, ver = ss["d_base"], ss["d_ver"]
    row = page.row(vertical_alignment="bottom")
    row.selectbox("Start from a template", list(design.TEMPLATE_NAMES), key="d_template", on_change=_on_template,
                  format_func=template_label, width=270,
                  help="Loads the zoo network as an editable design (replaces the current one).")
    row.number_input("Resolution (px)", design.BOUNDS["resolution"][0], design.BOUNDS["resolution"][1],
                     step=8, key="d_res", width=150, help="Input side in pixels")
    row.number_input("Width ×", 0.25, 8.0, step=0.05, format="%.2f", key="d_w", width=140,
                     help="Width multiplier: every width × w, rounded to a multiple of 8 (EfficientNet's rule)")
    row.number_input("Depth ×", 0.25, 8.0, step=0.05, format="%.2f", key="d_d", width=140,
                     help="Depth multiplier: every stage's repeats × d, rounded up")
    unit = row.segmented_control("Count", fmt.UNITS, default="MACs", key="unit", required=True,
                                 bind="query-params")
    st.markdown("**Stages**: one row per stage; add a row below the table, delete one by selecting it. "
                "A dash: the field does not apply to the row's block.")
    slot = st.empty()
    rows = stage_table(slot, base["stages"])
    with st.expander("Stem and head: the first convolution, its pooling, and the classifier"):
        st.markdown("**Stem**")
        stem = st.data_editor(ud.frame([base["stem"]], design.STEM_FIELDS), key=f"d_stem_{ver}",
                              column_config=STEM_CONFIG, hide_index=True, width="stretch")
        st.markdown("**Head**")
        head = st.data_editor(ud.frame([base["head"]], design.HEAD_FIELDS), key=f"d_head_{ver}",
                              column_config=HEAD_CONFIG, hide_index=True, width="stretch")
    typed = [{k: ud._plain(v) for k, v in r.items()} for r in rows.to_dict("records")]
    spec = {**base, "resolution": ss["d_res"], "width_mult": float(ss["d_w"]), "depth_mult": float(ss["d_d"]),
            "name": ss.get("d_name") or base["name"],
            "stem": ud.section_row(stem.to_dict("records")[0], design.STEM_FIELDS),
            "stages": ud.rows_to_stages(typed),
            "head": ud.section_row(head.to_dict("records")[0], design.HEAD_FIELDS)}
    return spec, typed, unit, slot


def current() -> tuple[dict | None, str]:
    """The design as edited, validated (on a problem: the message and the last valid design),
    and the unit chosen."""
    ss = st.session_state
    spec, typed, unit, slot = editors()
    try:
        spec = design.validate(spec)
    except ValueError as e:
        st.error(f"**This design cannot be built**: {e}. The results below are for the last valid design; "
                 "fix the cell and they follow.")
        return ss.get("d_valid"), unit
    # defaults filled or cells cleared for a new block: the table is redrawn, in this same run, to
    # show what is built (a fresh editor in its slot; the stem, head and other widgets keep theirs)
    shown = [{k: ud._whole(v) for k, v in r.items()} for r in typed if any(v is not None for v in r.values())]
    if shown != ud.stage_rows(spec):
        ss["d_base"] = {**ss["d_base"], "stages": spec["stages"]}
        ss["d_sver"] = ss.get("d_sver", 0) + 1
        stage_table(slot, spec["stages"])
    base = spec.get("base")
    if base and spec["name"] == base and {**spec, "name": base} != design.template(base):
        spec["name"] = f"{base} (edited)"
    ss["d_valid"] = spec
    token = ud.encode(spec)
    ss["d_token"] = token
    if st.query_params.get("d") != token:
        st.query_params["d"] = token
    if ss.get("d_ex"):
        st.query_params["ex"] = ss["d_ex"]
    elif "ex" in st.query_params:
        del st.query_params["ex"]
    return spec, unit


# --- exercises -----------------------------------------------------------------------------------------

def exercises(unit: str) -> None:
    ss = st.session_state
    active = ud.EXERCISE_KEYS.get(ss.get("d_ex"))
    with st.expander("Guided exercises: three questions to answer with this page", expanded=active is None):
        cols = st.columns(len(ud.EXERCISES))
        for col, ex in zip(cols, ud.EXERCISES):
            col.markdown(f"**{ex.title}**  \nstarts from {ex.base}")
            col.button("Start this exercise", key=f"d_ex_{ex.key}", on_click=_on_exercise, args=(ex.key,),
                       width="stretch")
    if active is None:
        return
    box = st.container(border=True)
    box.markdown(f"**Exercise: {active.title}.** {active.question}")
    with box.expander("Show the answer (computed by CNN Atlas)"):
        try:
            start = design.template(active.base)
            s0 = state.summary(state.design_name(start))
            targets = [(label, state.summary(state.design_name(edit(start)))) for label, edit in active.targets]
            st.markdown("Start: **" + active.base + f"**, {fmt.fmt_ops(s0['total_macs'], unit)}, "
                        f"{fmt.fmt_params(s0['total_params'])} parameters, "
                        f"{fmt.fmt_bytes(s0['total_act_bytes'])} of activations.")
            for line in ud.answer_lines(s0, targets, unit):
                st.markdown("- " + line)
            page.cite(EXERCISE_NOTES[active.key])
        except Exception as e:  # an answer that cannot be computed must not take the page down
            st.error(f"Could not compute the answer: {e}")
    box.button("Leave the exercise", key="d_ex_leave", on_click=_on_leave_exercise)


EXERCISE_NOTES = {
    "separable": "Why time falls less: a depthwise convolution does few MACs per byte it moves, so it "
                 "is limited by memory traffic rather than arithmetic, and CPU kernels run it far below "
                 "peak (ShuffleNet v2's guideline: FLOPs are not latency, Ma et al. 2018, §2). Measure "
                 "both on the Latency tab to see it on this machine.",
    "width_depth": "Width multiplies every convolution's MACs by w² but its activations only by w; depth "
                   "adds whole blocks, with their activations and their sequential latency.",
    "resolution": "Parameters do not depend on the input size (a convolution's weights are k·k·C_in·C_out); "
                  "MACs and activations grow with the number of pixels.",
}


# --- results ---------------------------------------------------------------------------------------------

def metrics(spec: dict, s: dict, unit: str) -> None:
    page.metrics(ux.total_metrics(s, unit, ENGINE))


def compared(spec: dict, s: dict, unit: str) -> None:
    base = spec.get("base")
    if not base:
        return
    try:  # the template as a spec: the zoo model's exact counts, with the same stage names
        t = state.summary(state.design_name(design.template(base)))
    except Exception as e:
        page.note(f"No comparison with {base}: {e}")
        return
    st.markdown(ud.difference(s, t, base, unit))


def macro(name: str, s: dict) -> None:
    label = st.radio("Shade by", list(SHADES), horizontal=True, key="d_shade")
    shade = SHADES[label]
    st.html(ux.macro_html(state.macro_view(name, None, (), shade), shade, zoo.diagram.shade_color))
    page.note("Stages as built (after the multipliers): block type × repeats, output channels × blocks × side, "
               "cost of the stage; shaded by its share of the whole network.")


def block(name: str, s: dict) -> None:
    blocks = s.get("blocks") or []
    if not blocks:
        st.info("This design has no blocks to zoom into.")
        return
    if st.session_state.get("d_block") not in blocks:
        st.session_state.pop("d_block", None)
    c1, c2 = st.columns([1, 2])
    chosen = c1.selectbox("Block", blocks, key="d_block",
                          help="Module name of the block: stageN.i is block i of stage N")
    with c2:
        label = st.radio("Shade by", list(SHADES), horizontal=True, key="d_bshade")
    st.graphviz_chart(state.micro_dot(name, chosen, None, (), SHADES[label]), width="content")


def stages(spec: dict, s: dict, unit: str) -> None:
    page.chart(ux.cost_share_figure(s["by_stage"], unit, "by stage"), key="d_by_stage")
    page.chart(ux.cost_share_figure(s["by_kind"], unit, "by layer kind"), key="d_by_kind")
    page.table(ux.groups_frame(s["by_stage"], unit), counts=["params", unit, "layers"],
               digits={"params %": 1, f"{unit} %": 1})
    st.markdown("**As built** (after the width and depth multipliers)")
    page.table(ud.built_rows(spec))


def against_zoo(spec: dict, s: dict, unit: str) -> None:
    axis = st.segmented_control("Cost axis", ["MACs", "parameters"], default="MACs", key="d_axis", required=True)
    pts = state.pareto_points("paper")
    x = "macs" if axis == "MACs" else "params"
    value = s["total_macs"] if x == "macs" else s["total_params"]
    page.chart(ud.zoo_band_figure(pts, value, x, unit, spec.get("base"), spec["name"]), key="d_zoo")
    st.markdown(ud.neighbours_text(pts, s["total_macs"], unit))
    page.note("Top-1 accuracies are published figures (hover a point for its source); costs are exact, "
               "counted by CNN Atlas at each model's own resolution. The design has never been trained, so "
               "its accuracy is unknown: it is drawn as a band at its cost over the whole accuracy axis.")


LAT_BUDGETS = (1.0, 2.0, 5.0)   # seconds the timed repeats may take, all networks together


def timed(spec: dict, s: dict, unit: str) -> None:
    """The design and its template timed together by the one timer (``zoo.latency.time_many``,
    taking turns, median and IQR), as the Accuracy vs cost page times the zoo."""
    base = spec.get("base")
    if s["total_macs"] > state.LATENCY_MAX_MACS or s["total_params"] > LATENCY_MAX_PARAMS:
        st.info(f"This design ({fmt.fmt_ops(s['total_macs'])}, {fmt.fmt_params(s['total_params'])} parameters) "
                f"is above what this page times ({fmt.fmt_ops(state.LATENCY_MAX_MACS)}, "
                f"{fmt.fmt_params(LATENCY_MAX_PARAMS)} parameters): it stays on the meta device.")
        return
    if spec["in_channels"] != 3:
        st.info("The timer feeds 3-channel images; this design takes "
                f"{spec['in_channels']} channels, so it is not timed here.")
        return
    what = {"this design": (spec, s)}
    tspec = design.template(base) if base else None
    if tspec is not None and state.design_name(tspec) != state.design_name(spec):
        what[base] = (tspec, state.summary(state.design_name(tspec)))
    cpus = max(1, os.cpu_count() or 1)
    with page.row(vertical_alignment="bottom"):
        threads = st.selectbox("Threads", list(range(1, cpus + 1)), index=max(1, cpus // 2) - 1, key="d_threads",
                               width=120, help="Half the logical CPUs by default, as on the Accuracy vs cost page.")
        budget = st.selectbox("Time", LAT_BUDGETS, index=1, key="d_budget", format_func=lambda b: f"about {b:g} s",
                              width=140, help="How long the repeats may take, all networks together (at least "
                                              f"{latency.MIN_REPEATS} each).")
    r = spec["resolution"]

    def work(progress) -> dict:
        fns = {}
        for i, (label, (sp, _)) in enumerate(what.items()):
            progress(0.1 * i / len(what), f"building {label} on the CPU…")
            model = design.build(sp).eval()
            x = torch.randn(1, 3, r, r, generator=torch.Generator().manual_seed(0))
            fns[label] = (lambda m=model, x=x: m(x))
        return latency.time_many(fns, threads=int(threads), budget_s=float(budget),
                                 progress=lambda f, t: progress(0.1 + 0.9 * f, t), what="timing")

    key = ("design", state.design_name(spec), tuple(what), int(threads), float(budget))
    try:
        entry = runs.measured(key, "Measure latency" + (f" (this design and {base})" if len(what) > 1 else ""),
                              work, button_key="d_measure", start_text="building on the CPU…")
    except Exception as e:  # out of memory, a kernel missing on this CPU…: say so, keep the session
        st.error(f"Could not time this design: {e}")
        return
    if entry is None:
        page.note("Not measured yet with these settings. Batch 1, fp32, random weights, on this machine's CPU; "
                  "the design and its template take turns, so a change in the machine's load reaches both.")
        return
    timings = entry["result"]
    page.table([{"network": label, "latency": timings[label].text(), unit: fmt.fmt_ops(summ["total_macs"], unit)}
                for label, (_, summ) in what.items()])
    page.cite(f"Measured at {entry['when']} on {timings['this design'].machine.label()}, at {r} px, batch 1, "
              "fp32, random weights, torch.inference_mode (median and IQR of the repeats).")
    if len(what) > 1:
        st.markdown(ud.latency_comparison(timings["this design"], timings[base], s["total_macs"],
                                          what[base][1]["total_macs"], base))


def _on_name() -> None:
    st.session_state["d_name"] = st.session_state.get("d_name_box") or "design"


def share(spec: dict, s: dict, unit: str) -> None:
    token = ud.encode(spec)
    here = (st.context.url or "").split("?")[0] or "/design"
    st.markdown("**Link to this design** (the whole design is in it; the address bar holds it too)")
    st.code(f"{here}?d={token}", language=None, wrap_lines=True)
    c1, c2, c3 = st.columns(3)
    st.session_state.setdefault("d_name_box", spec["name"])
    c1.text_input("Name of the design", key="d_name_box", on_change=_on_name, max_chars=design.MAX_NAME)
    c2.download_button("Download as JSON", ud.to_json(spec), file_name=ud.file_name(spec), mime="application/json",
                       width="stretch")
    state.page_link(c3, "pages/explorer.py", "Open in the explorer", {"design": token}, icon=":material/account_tree:")
    upload(c1)
    st.markdown("**As PyTorch** (copy with the button at the code's corner; it imports the CNN Atlas zoo's "
                "blocks, so run it from this repository)")
    source = ud.pytorch_source(spec, s)
    st.download_button("Download as Python", source, file_name=ud.file_name(spec, "py"), mime="text/x-python")
    st.code(source, language="python", wrap_lines=True)


def upload(where) -> None:
    """A design file replaces the current design once it validates; a bad one is named and ignored."""
    ss = st.session_state
    f = where.file_uploader("Open a design file (JSON)", type=["json"], key="d_upload", max_upload_size=1)
    if f is None:
        return
    if ss.get("d_upload_done") != f.file_id:
        ss["d_upload_done"] = f.file_id
        try:
            spec = ud.from_json(f.getvalue())
        except ValueError as e:
            ss["d_upload_msg"] = (f"**{f.name}** is not a design this page can open: {e}. "
                                  "The current design is unchanged.")
        else:
            ss["d_upload_msg"] = None
            _load(spec)
            st.rerun()
    if ss.get("d_upload_msg"):
        where.error(ss["d_upload_msg"])
    else:
        where.success(f"Opened **{f.name}**.")


def results(spec: dict, unit: str) -> None:
    name = state.design_name(spec)
    try:
        s = state.summary(name)
    except Exception as e:  # the engine refusing a valid spec would be a bug; say so, keep the page
        st.error(f"Could not analyse this design: {e}")
        return
    metrics(spec, s, unit)
    compared(spec, s, unit)
    tabs = st.tabs(TABS, key="view", bind="query-params")
    sections = (lambda: macro(name, s), lambda: block(name, s), lambda: stages(spec, s, unit),
                lambda: against_zoo(spec, s, unit), lambda: timed(spec, s, unit), lambda: share(spec, s, unit))
    for tab, section in zip(tabs, sections):
        if tab.open:
            with tab:
                try:
                    section()
                except Exception as e:  # one section failing must not take the others down
                    st.error(f"This section could not be drawn: {e}")


def main() -> None:
    st.title("Design lab")
    start()
    page.note("Design a network from the zoo's own blocks and see its exact cost at once: parameters, "
              "MACs, memory, diagrams, its place among the zoo, its speed here. Every number is counted "
              "by CNN Atlas on the meta device; the whole design lives in the URL.")
    exercises(st.query_params.get("unit", "MACs") if st.query_params.get("unit") in fmt.UNITS else "MACs")
    spec, unit = current()
    if spec is None:
        return
    results(spec, unit)


state.ensure_router()
main()
