"""The design lab in AppTest: load designs from the URL, edit the tables, break them, share them.

The numbers on screen must equal ``zoo.analyze`` of the same network (the registered zoo model for
a template, the built design otherwise); the metrics carry the exact integer in their help text.
"""
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import zoo
from zoo import design, fmt
from ui import design as ud
from conftest import exact, metric, tables

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "design.py")


def run(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=240)
    for k, v in query.items():
        at.query_params[k] = str(v)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def again(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def assert_totals(at: AppTest, a, unit: str = "MACs"):
    factor = 2 if unit == "FLOPs" else 1
    assert exact(metric(at, "Parameters")) == a.total_params
    assert exact(metric(at, unit)) == factor * a.total_macs
    assert exact(metric(at, "Activation memory")) == a.total_act_bytes
    assert exact(metric(at, "Memory access (elements)")) == a.total_mem_access
    assert metric(at, unit).value == fmt.fmt_ops(a.total_macs, unit)


def edit(at: AppTest, table: str = "stages", **changes) -> AppTest:
    """Edit the current stage (or stem/head) table the way the browser does: its edit state."""
    ver = at.session_state["d_ver"]
    key = f"d_{table}_{ver}"
    if table == "stages":
        try:
            key += f"_{at.session_state['d_sver']}"
        except KeyError:
            key += "_0"
    at.session_state[key] = {"edited_rows": changes.get("edited", {}),
                                             "added_rows": changes.get("added", []),
                                             "deleted_rows": changes.get("deleted", [])}
    return again(at)


def url_spec(at: AppTest) -> dict:
    return ud.decode(at.query_params["d"][0] if isinstance(at.query_params["d"], list) else at.query_params["d"])


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


# --- loading -----------------------------------------------------------------------------------------

def test_default_is_resnet50_with_the_zoos_exact_totals():
    at = run()
    assert_totals(at, zoo.analyze("resnet50"))
    assert any("Identical in cost to **resnet50**" in m.value for m in at.markdown)
    assert url_spec(at) == design.validate(design.templates()["resnet50"])
    assert at.data_editor[0].value["block"].tolist() == ["bottleneck"] * 4


@pytest.mark.parametrize("name", ["mobilenet_v1", "efficientnet_b0", "squeezenet1_1", "shufflenet_v2_x1_0"])
def test_a_template_link_shows_that_zoo_model(name):
    at = run(d=name)
    assert_totals(at, zoo.analyze(name))


def test_an_edited_design_opens_from_its_link_with_the_designs_totals():
    spec = design.templates()["mobilenet_v2"]
    spec.update(width_mult=1.4, resolution=192, name="wide v2")
    spec["stages"][3]["repeats"] = 6
    at = run(d=ud.encode(spec), unit="FLOPs")
    assert_totals(at, design.analyze(spec), unit="FLOPs")
    assert at.number_input(key="d_w").value == pytest.approx(1.4)
    assert at.number_input(key="d_res").value == 192
    assert at.data_editor[0].value["repeats"].tolist()[3] == 6
    assert url_spec(at) == design.validate(spec)                     # the URL still holds it


def test_a_damaged_link_is_named_and_the_page_starts_from_resnet50():
    at = run(d="1.not-a-design")
    assert any("Could not open the design in this link" in w.value for w in at.warning)
    assert_totals(at, zoo.analyze("resnet50"))


def test_choosing_a_template_loads_it():
    at = run()
    at.selectbox(key="d_template").set_value("shufflenet_v2_x1_0")
    again(at)
    assert_totals(at, zoo.analyze("shufflenet_v2_x1_0"))
    assert url_spec(at)["base"] == "shufflenet_v2_x1_0"


# --- editing ----------------------------------------------------------------------------------------------

def test_a_cell_edit_reanalyses_and_goes_into_the_url():
    at = run(d="resnet18")
    edit(at, edited={2: {"repeats": 5}})                                # stage 3 (the table counts from 0)
    expected = design.templates()["resnet18"]
    expected["stages"][2]["repeats"] = 5
    assert_totals(at, design.analyze(expected))
    spec = url_spec(at)
    assert spec["stages"][2]["repeats"] == 5 and spec["name"] == "resnet18 (edited)"
    dm = design.analyze(expected).total_macs - zoo.analyze("resnet18").total_macs
    assert any(f"+{fmt.si(dm)}MACs" in m.value and "against **resnet18**" in m.value for m in at.markdown)
    # the round trip: a new session opened on that URL shows the same design
    fresh = run(d=at.query_params["d"])
    assert_totals(fresh, design.analyze(expected))


def test_changing_a_rows_block_clears_the_cells_that_do_not_apply_and_fills_defaults():
    at = run(d="resnet18")
    edit(at, edited={2: {"block": "mbconv"}})
    row = at.data_editor[0].value.iloc[2]
    assert row["block"] == "mbconv" and row["activation"] == "silu"       # MBConv's default activation
    assert row["shortcut"] is None or str(row["shortcut"]) == "<NA>"      # not an MBConv field: cleared
    spec = url_spec(at)
    assert spec["stages"][2]["shortcut"] is None and spec["stages"][2]["activation"] == "silu"
    assert_totals(at, design.analyze(spec))


def test_adding_and_deleting_stages():
    at = run(d="resnet18")
    edit(at, added=[{"block": "conv", "out_channels": 1024, "repeats": 1, "stride": 1}])
    spec = url_spec(at)
    assert len(spec["stages"]) == 5 and spec["stages"][4]["kernel"] == 3    # conv's defaults filled
    assert_totals(at, design.analyze(spec))
    edit(at, deleted=[0])
    spec = url_spec(at)
    assert len(spec["stages"]) == 4 and spec["stages"][0]["out_channels"] == 128


def test_multipliers_and_resolution():
    at = run(d="efficientnet_b0")
    at.number_input(key="d_res").set_value(320)
    at.number_input(key="d_w").set_value(1.2)
    again(at)
    spec = {**design.templates()["efficientnet_b0"], "resolution": 320, "width_mult": 1.2}
    assert_totals(at, design.analyze(spec))


def test_stem_and_head_tables():
    at = run(d="resnet18")
    edit(at, "head", edited={0: {"channels": 1280, "classes": 10}})
    spec = url_spec(at)
    assert spec["head"]["channels"] == 1280 and spec["head"]["classes"] == 10
    assert_totals(at, design.analyze(spec))


@pytest.mark.parametrize("change, words", [
    ({1: {"groups": 3}}, ["stage 2 (bottleneck)", "'groups' 3 must divide the inner width 128"]),
    ({0: {"out_channels": 250}}, ["stage 1 (bottleneck)", "not a multiple of 'expand' 4"]),
    ({3: {"kernel": 1, "stride": 4}}, None),   # valid: a 1×1 strided bottleneck is odd but buildable
])
def test_a_bad_edit_is_named_and_the_page_keeps_the_last_valid_design(change, words):
    at = run()
    edit(at, edited=change)
    if words is None:
        assert not errors(at)
        return
    msg = " ".join(errors(at))
    assert all(w in msg for w in words), msg
    assert "last valid design" in msg
    assert_totals(at, zoo.analyze("resnet50"))                          # still shown, still exact
    assert url_spec(at) == design.validate(design.templates()["resnet50"])   # the URL keeps the valid one


def test_too_big_a_design_is_refused_by_the_caps():
    at = run()
    at.number_input(key="d_res").set_value(2048)
    at.number_input(key="d_w").set_value(4.0)
    again(at)
    assert any("above the cap of 2 TMACs" in e for e in errors(at))


# --- the tabs ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("view", ["Macro diagram", "Block diagram", "Stages", "Against the zoo", "Latency",
                                  "Share and export"])
def test_every_tab_renders(view):
    spec = design.templates()["mobilenet_v2"]
    spec["stages"][2]["block"] = "fused_mbconv"
    at = run(d=ud.encode(spec), view=view)
    assert not errors(at), errors(at)
    s = design.analyze(spec)
    if view == "Macro diagram":
        html = " ".join(h.proto.body for h in at.get("html"))
        assert "FusedMBConv" in html and "stage3" in html
    if view == "Block diagram":
        assert at.selectbox(key="d_block").options[0] == s.blocks()[0]
        assert "digraph" in at.get("graphviz_chart")[0].proto.spec
    if view == "Stages":
        df = next(t.value for t in tables(at) if "MACs %" in t.value.columns)   # counts with separators
        assert sum(int(v.replace(",", "")) for v in df["MACs"]) == s.total_macs
        assert all("," in v for v in df["MACs"] if int(v.replace(",", "")) >= 1000)
    if view == "Against the zoo":
        spec_json = json.loads(at.get("vega_lite_chart")[0].proto.spec)
        band, = next(p for p in spec_json["layer"] if p.get("name") == "band")["data"]["values"]
        assert band["x"] < s.total_macs < band["x2"]
    if view == "Share and export":
        code = at.get("code")
        assert any("class Net(nn.Module)" in c.proto.code_text for c in code)
        token = ud.encode(url_spec(at))             # the design as shown (renamed "… (edited)")
        assert url_spec(at)["name"] == "mobilenet_v2 (edited)"
        assert any(c.proto.code_text.endswith(f"/design?d={token}") for c in code)   # the link


def test_latency_on_request_times_the_design_and_its_template():
    spec = design.templates()["squeezenet1_1"]
    spec["stages"][3]["repeats"] = 1
    at = run(d=ud.encode(spec), view="Latency")
    at.button(key="d_measure").click()
    again(at)
    assert not errors(at), errors(at)
    rows = next(t.value for t in tables(at) if "latency" in t.value.columns)
    assert rows["network"].tolist() == ["this design", "squeezenet1_1"]
    assert all(re.search(r"ms \(IQR .* ms, \d+ repeats\)", v) for v in rows["latency"])   # median and spread
    assert any("fewer MACs than squeezenet1_1" in m.value for m in at.markdown)
    assert any("Measured at" in c.value and "px, batch 1" in c.value for c in at.caption)


def test_a_too_heavy_design_is_not_timed():
    at = run(d="resnet152", view="Latency")
    assert any("stays on the meta device" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "d_measure"]


# --- sharing -------------------------------------------------------------------------------------------------

def test_json_upload_replaces_the_design_and_a_bad_file_keeps_it():
    at = run(d="resnet18", view="Share and export")
    at.file_uploader[0].set_value(("broken.json", b'{"resolution": 224, "stages": []', "application/json"))
    again(at)
    assert any("broken.json" in e and "not valid JSON" in e and "unchanged" in e for e in errors(at))
    assert_totals(at, zoo.analyze("resnet18"))
    bad = design.templates()["resnet18"]
    bad["stages"][1]["block"] = "transformer"
    at.file_uploader[0].set_value(("bad.json", json.dumps(bad).encode(), "application/json"))
    again(at)
    assert any("stage 2" in e and "unknown block 'transformer'" in e for e in errors(at))
    assert_totals(at, zoo.analyze("resnet18"))
    good = design.templates()["mobilenet_v2"]
    good.update(name="from a file", width_mult=0.75)
    at.file_uploader[0].set_value(("good.json", ud.to_json(good).encode(), "application/json"))
    again(at)
    assert_totals(at, design.analyze(good))
    assert url_spec(at)["name"] == "from a file"


def test_the_json_download_is_the_design():
    spec = design.templates()["efficientnet_b0"]
    spec.update(resolution=256, name="b0 at 256")
    at = run(d=ud.encode(spec), view="Share and export")
    dl = next(b for b in at.get("download_button") if "JSON" in b.proto.label)
    assert dl.proto.label == "Download as JSON"
    # the file's content is ud.to_json of the spec on screen; it opens again as the same design
    assert ud.from_json(ud.to_json(url_spec(at)).encode()) == design.validate(spec)


def test_open_in_explorer_shows_the_design_there():
    spec = design.templates()["resnet18"]
    spec.update(name="deep18", depth_mult=2.0)
    token = ud.encode(spec)
    at = run(d=token, view="Share and export")
    links = [m.value for m in at.markdown if "Open in the explorer" in m.value]
    assert links and f"design={token}" in links[0]
    ex = AppTest.from_file(str(ROOT / "pages" / "explorer.py"), default_timeout=240)
    ex.query_params["design"] = token
    ex.query_params["view"] = "Layers"
    ex.run()
    assert not ex.exception, [e.value for e in ex.exception]
    a = design.analyze(spec)
    assert exact(ex.metric[0]) == a.total_params
    assert any("deep18 (design lab)" in m.value for m in ex.markdown)
    assert any(f"{len(a.layers)} of {len(a.layers)} layers" in c.value for c in ex.caption)


def test_a_bad_design_link_in_the_explorer_is_named():
    ex = AppTest.from_file(str(ROOT / "pages" / "explorer.py"), default_timeout=240)
    ex.query_params["design"] = "1.xx"
    ex.run()
    assert not ex.exception
    assert any("Could not open the design" in e.value for e in ex.error)


# --- exercises ------------------------------------------------------------------------------------------------

def test_an_exercise_loads_its_start_and_its_question_with_computed_answers():
    at = run()
    at.button(key="d_ex_separable").click()
    again(at)
    assert_totals(at, zoo.analyze("resnet18"))
    assert at.query_params["ex"] in ("separable", ["separable"])
    text = " ".join(m.value for m in at.markdown)
    assert "Exercise: Depthwise-separable convolutions" in text
    start = design.validate(design.templates()["resnet18"])
    after = design.analyze(ud.EXERCISE_KEYS["separable"].targets[0][1](start))
    assert fmt.fmt_ops(after.total_macs) in text                    # the answer's number, from the engine
    at.button(key="d_ex_leave").click()
    again(at)
    assert "Exercise:" not in " ".join(m.value for m in at.markdown)


def test_an_exercise_link_opens_it():
    at = run(ex="resolution", d="efficientnet_b0")
    assert any("Exercise: Resolution 224 → 320 px" in m.value for m in at.markdown)


def test_a_link_followed_within_the_session_opens_its_design():
    """"Back to the design lab" from the explorer keeps the session: the link's design wins."""
    at = run(d="resnet18")
    edit(at, edited={0: {"repeats": 3}})
    other = design.templates()["mobilenet_v1"]
    other.update(name="thin v1", width_mult=0.5)
    at.query_params["d"] = ud.encode(other)
    again(at)
    assert_totals(at, design.analyze(other))
    at.query_params["d"] = "1.garbage"
    again(at)
    assert any("The current design is kept" in w.value for w in at.warning)
    assert_totals(at, design.analyze(other))
    edit(at, edited={0: {"repeats": 2}})            # the next edit works and fixes the URL
    assert url_spec(at)["stages"][0]["repeats"] == 2
