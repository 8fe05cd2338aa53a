"""The lecture: every step builds from live counts, has notes with a citation, and opens from its URL."""
import re
from pathlib import Path

import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

import zoo
from ui import lecture as lec

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "lecture.py")


def test_twelve_to_sixteen_steps_each_with_notes_and_a_source():
    assert 12 <= len(lec.STEPS) <= 16
    assert len({s.key for s in lec.STEPS}) == len(lec.STEPS)
    for s in lec.STEPS:
        assert 3 <= len(s.notes) <= 6, s.key
        assert s.notes[-1].startswith("Source:"), s.key
        assert s.section.startswith("seed"), s.key          # every step is anchored in the seed paper


@pytest.mark.parametrize("i", range(len(lec.STEPS)), ids=[s.key for s in lec.STEPS])
def test_every_step_builds_a_slide(i):
    step = lec.STEPS[i]
    slide = lec.build(i)
    assert slide.lead and slide.cite
    if step.measure:                                         # measured live: the slide waits for the button
        assert "measure" in slide.lead.lower() or "measure" in step.measure_label.lower()
        measured = step.measure(step.defaults(), lambda fraction, text: None)
        slide = lec.build(i, None, measured)
        assert slide.figures and "Measured here" in slide.cite
    assert slide.figures or slide.tables
    for c in step.controls:                                  # every choice of a control builds too
        for option in c.options[:2] + c.options[-1:]:
            assert lec.build(i, {c.name: option}).lead


def test_step_numbers_are_live_counts():
    sep = lec.build(lec.step_index("separable"))
    assert "86,400" in sep.lead and "675 + 9,600 = 10,275" in sep.lead              # seed Table 3
    comp = lec.build(lec.step_index("compound"), {"phi": 5})
    official = zoo.analyze("efficientnet_b5").total_macs
    assert ("official B5", f"{official:,} MACs") in [(m[0], m[2]) for m in comp.metrics]
    assert "r = 224·γ^φ = 451 px" in comp.lead                                       # round(224 · 1.15⁵)


def test_step_index_reads_numbers_and_keys():
    assert lec.step_index("1") == 0 and lec.step_index(len(lec.STEPS)) == len(lec.STEPS) - 1
    assert lec.step_index("compound") == [s.key for s in lec.STEPS].index("compound")
    assert lec.step_index("0") is None and lec.step_index("99") is None and lec.step_index("x") is None


def test_handout_holds_every_step_and_plotly_once():
    html = lec.handout_html({"compound": {"phi": 5}})
    for i, s in enumerate(lec.STEPS):
        assert f"<section id='{s.key}'>" in html and f"{i + 1}. {s.title}" in html.replace("&amp;", "&")
        assert "Speaker notes" in html
    assert html.count("plotly.js v") <= 2 and "Plotly.newPlot" in html            # the library inlined once
    assert "vegaEmbed('#vega0'" in html and "Where the multiply-accumulates go" in html  # the Vega-Lite steps
    assert "451 px" in html                                                       # the chosen φ = 5
    assert "data:image/png;base64," in html                                       # the photo, inlined
    assert not re.search(r"<script[^>]+src=['\"]https?:", html)                    # nothing fetched from the web


@pytest.mark.parametrize("n", range(1, len(lec.STEPS) + 1))
def test_page_opens_each_step_from_the_url(n):
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.query_params["step"] = str(n)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    step = lec.STEPS[n - 1]
    assert at.title[0].value == step.title
    assert any(f"**{n} / {len(lec.STEPS)}**" == m.value for m in at.markdown)
    assert not any("Speaker notes" in m.value for m in at.markdown)               # off by default
    at.toggle(key="notes").set_value(True).run()
    notes = next(m.value for m in at.markdown if m.value.startswith("**Speaker notes**"))
    assert all(note in notes for note in step.notes)


def test_next_previous_and_jump():
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    at.button(key="lecture_next").click().run()
    assert at.title[0].value == lec.STEPS[1].title and at.query_params["step"] == "2"
    at.button(key="lecture_prev").click().run()
    assert at.title[0].value == lec.STEPS[0].title
    at.selectbox(key="lecture_jump").set_value(lec.STEPS[-1].title).run()
    assert at.title[0].value == lec.STEPS[-1].title and at.button(key="lecture_next").disabled


def test_step_controls_live_in_the_url_and_bad_values_are_reported():
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.query_params.update({"step": "compound", "compound_phi": "5"})
    at.run()
    assert at.selectbox(key="compound_phi").value == 5 and "451 px" in " ".join(m.value for m in at.markdown)
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.query_params.update({"step": "40", "compound_phi": "9"})
    at.run()
    assert not at.exception and any("step=40" in w.value for w in at.warning)
    assert at.title[0].value == lec.STEPS[0].title


def _vega_spec(families: int) -> dict:
    names = [f"f{i}" for i in range(families)]
    return {"height": 600, "mark": "point", "data": {"values": [{"x": i, "f": n} for i, n in enumerate(names)]},
            "encoding": {"x": {"field": "x", "type": "quantitative"},
                         "color": {"field": "f", "scale": {"domain": names, "range": ["#000"] * families}}}}


def test_fit_to_slide_caps_height_and_drops_a_long_legend_for_both_libraries():
    few, many = _vega_spec(3), _vega_spec(9)
    assert lec.fit_to_slide(few)["height"] == 370 and "disable" not in lec.fit_to_slide(few).get("config", {}).get("legend", {})
    assert lec.fit_to_slide(many)["config"]["legend"]["disable"] is True
    assert many["height"] == 600 and "config" not in many                          # the (shared) spec is untouched
    fig = go.Figure([go.Scatter(x=[i], y=[i]) for i in range(9)]).update_layout(height=640)
    lec.fit_to_slide(fig)
    assert fig.layout.height == 370 and fig.layout.showlegend is False


def test_vega_chart_html_inlines_the_libraries_once_and_escapes_the_spec():
    spec = _vega_spec(2)
    spec["title"] = "</script><b>x"
    first, second = lec._vega_html(spec, 0, with_js=True), lec._vega_html(spec, 1, with_js=False)
    assert "vegaEmbed('#vega0'" in first and "vegaEmbed('#vega1'" in second
    assert first.count("<script>") == 4 and second.count("<script>") == 1          # vega, vega-lite, embed + the call
    assert "</script><b>" not in first.split("vegaEmbed('#vega0'")[1]              # the title cannot end the script
    assert '"labelFontSize": 14' in second                                        # styled for the hall
    assert '"width": "container"' in second                                       # as wide as the handout
    panels = lec._vega_html({"hconcat": [{"width": 160, **spec}]}, 2, with_js=False)
    assert '"width": "container"' not in panels                                   # panels keep their widths


def test_convolution_steps_draw_vega_lite_specs_that_fit_a_slide():
    """The separable and pointwise steps show the convolution lesson's charts as Vega-Lite (no plotly.js)."""
    sep = lec.build(lec.step_index("separable")).figures
    assert len(sep) == 1 and isinstance(sep[0], dict)
    labels = {(v["case"], v["quantity"]): v["label"] for v in sep[0]["layer"][1]["data"]["values"]}
    assert labels[("depthwise-separable", "MACs")] == "0.12×"                    # 10,275 / 86,400 (seed Table 3)
    split = lec.build(lec.step_index("pointwise")).figures
    assert len(split) == 1 and isinstance(split[0], dict)
    models = split[0]["layer"][0]["encoding"]["y"]["sort"]
    assert models == ["mobilenet_v1", "mobilenet_v2", "shufflenet_v2_x1_0", "efficientnet_b0"]
    fitted = lec.fit_to_slide(split[0])
    assert fitted["height"] == 360 and not fitted.get("config", {}).get("legend", {}).get("disable")  # 5 kinds: legend kept
    assert lec.fit_to_slide(sep[0])["height"] == 370


def test_results_step_draws_the_zoo_and_the_seeds_table_6_in_vega_lite():
    slide = lec.build(lec.step_index("results"))
    spec, = slide.figures
    assert isinstance(spec, dict) and "data" not in spec           # Vega-Lite, values inside the layers
    layers = {part.get("name"): part["data"]["values"] for part in spec["layer"]}
    assert layers["labels"] == []                                  # the zoo's points are told apart by family
    seed = {r["row"]: r for r in layers["seed"]}
    assert (seed["ShuffleNet v2"]["x"], seed["ShuffleNet v2"]["y"]) == (2e6, 75.4)   # seed paper, Table 6
    x2 = next(r for r in layers["points"] if r["name"] == "shufflenet_v2_x2_0")
    assert x2["x"] == zoo.analyze("shufflenet_v2_x2_0").total_params
    # a slide has no room for seventeen families: fit_to_slide turns the legend off, and no layer's
    # encoding brings its own legend back (an encoding-level legend overrides config's "disable")
    slid = lec.fit_to_slide(spec)
    assert slid["config"]["legend"]["disable"] is True
    assert not [c for part in slid["layer"] for c in part.get("encoding", {}).values() if c and "legend" in c]
