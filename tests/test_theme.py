"""ui.theme: chart text legible in a hall, titles clear of legends, families distinct in greyscale."""
import plotly.graph_objects as go

from ui import theme


def _fig():
    fig = go.Figure()
    fig.add_scatter(x=[1, 2], y=[3, 4], mode="markers+text", text=["a", "b"], name="s")
    fig.add_annotation(text="note", x=1, y=3, font=dict(size=9))
    fig.update_layout(title="A title", legend=dict(orientation="h", y=1.02), font=dict(size=12))
    return fig


def test_style_sizes_at_least_the_hall_minimum():
    fig = theme.style(_fig())
    assert fig.layout.font.size >= 16 and fig.layout.title.font.size >= 16
    assert fig.layout.xaxis.tickfont.size >= 14 and fig.layout.yaxis.tickfont.size >= 14
    assert fig.layout.annotations[0].font.size >= 14
    assert fig.data[0].textfont.size >= 14


def test_presentation_sizes_are_larger():
    fig = theme.style(_fig(), present=True)
    assert fig.layout.font.size >= 20 and fig.layout.xaxis.tickfont.size >= 18


def test_horizontal_legend_moves_out_of_the_title_band():
    fig = theme.style(_fig())
    assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0
    assert fig.layout.legend.yanchor == "bottom" and fig.layout.margin.t >= 60


def test_bigger_text_is_kept():
    fig = _fig()
    fig.update_layout(font=dict(size=30))
    assert theme.style(fig).layout.font.size == 30


def test_family_styles_distinct_pairs_and_at_most_ten_colours():
    fams = [f"family{i}" for i in range(17)]
    st = theme.family_styles(fams)
    pairs = {(v["color"], v["symbol"]) for v in st.values()}
    assert len(pairs) == 17
    assert len({v["color"] for v in st.values()}) <= 10
    assert theme.family_styles(reversed(fams)) == st


def test_page_table_formats_counts_dashes_and_aligns_numbers():
    import pandas as pd

    from conftest import parse_markdown_tables
    from ui.page import markdown_table, table_view
    df = pd.DataFrame({"step": ["+ Cosine LR decay", "a | b"], "n": [924_844_032, None], "x": [1.234, None],
                       "year": [2012, 2019], "share": [0.123456, 2.0]})
    text = markdown_table(df, counts=["n"], digits={"x": 2})
    lines = text.splitlines()
    assert lines[0] == "| step | n | x | year | share |"
    assert lines[1] == "| --- | ---: | ---: | --- | --- |"                   # counts and digits right-aligned
    assert lines[2] == "| + Cosine LR decay | 924,844,032 | 1.23 | 2012 | 0.1235 |"
    assert lines[3] == "| a \\| b | — | — | 2019 | 2 |"                        # a "|" stays inside its cell
    (back,) = parse_markdown_tables(f"Some text.\n\n{text}\n\nMore text.")
    assert back.values.tolist() == [["+ Cosine LR decay", "924,844,032", "1.23", "2012", "0.1235"],
                                    ["a | b", "—", "—", "2019", "2"]]
    html = table_view(df, counts=["n"], digits={"x": 2}).hide(axis="index").to_html()   # the handout's
    assert "924,844,032" in html and "text-align: right" in html and "\\+" not in html


def test_log_ticks_are_1_2_5_over_short_spans_and_decades_over_long_ones():
    assert theme.log_ticks(1.2, 40) == [1, 2, 5, 10, 20, 50]
    assert theme.log_ticks(3e7, 6e10) == [1e7, 1e8, 1e9, 1e10, 1e11]
    fig = go.Figure(go.Scatter(x=[1.5, 30], y=[1, 2]))
    fig.update_xaxes(type="log")
    assert list(theme.style(fig).layout.xaxis.tickvals) == [1, 2, 5, 10, 20, 50]


def _bars(n: int):
    import plotly.graph_objects as go
    return go.Figure(go.Bar(x=list(range(n)), y=list(range(n))))


def test_shared_figure_is_built_once_per_arguments_and_mode():
    from ui import page

    calls = []

    def build(n):
        calls.append(n)
        return _bars(n)

    key = f"{build.__code__.co_filename}:{build.__qualname__}"
    page._shared_figure.clear()
    a = page._shared_figure(key, (3,), False, build)
    assert page._shared_figure(key, (3,), False, build) is a       # the second session: no build
    b = page._shared_figure(key, (4,), False, build)
    big = page._shared_figure(key, (3,), True, build)              # presentation: its own, larger text
    assert calls == [3, 4, 3]
    assert len(b.data[0].x) == 4
    assert big.layout.font.size > a.layout.font.size


# --- Vega-Lite specs --------------------------------------------------------------------------------

def _spec():
    return {"title": "A title", "mark": "point", "data": {"values": [{"x": 1, "y": 2}]},
            "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}},
            "config": {"axis": {"labelFontSize": 9}, "text": {"fontSize": 30}}}


def test_vega_style_sizes_at_least_the_hall_minimum_and_legend_below():
    spec = _spec()
    out = theme.vega_style(spec)
    cfg = out["config"]
    assert cfg["axis"]["labelFontSize"] >= 14 and cfg["axis"]["titleFontSize"] >= 16
    assert cfg["legend"]["labelFontSize"] >= 14 and cfg["title"]["fontSize"] >= 18
    assert cfg["legend"]["orient"] == "bottom" and cfg["title"]["anchor"] == "start"
    assert cfg["text"]["fontSize"] == 30                      # larger text is kept
    assert cfg["mark"]["tooltip"] is False                    # only marks that encode a tooltip show one
    assert spec["config"]["axis"]["labelFontSize"] == 9       # the input (a shared, cached spec) is untouched
    big = theme.vega_style(spec, present=True)["config"]
    assert big["axis"]["labelFontSize"] >= 18 and big["axis"]["titleFontSize"] >= 20


def test_vega_family_scales_match_plotly_styles():
    fams = ["ResNet", "VGG", "EfficientNet", "MobileNet", "Inception", "AlexNet", "GoogLeNet", "SqueezeNet",
            "ShuffleNet", "ResNet-RS", "Lite"]
    colour, shape = theme.vega_family_scales(fams)
    styles = theme.family_styles(fams)
    assert colour["domain"] == shape["domain"] == sorted(fams)
    for i, fam in enumerate(colour["domain"]):
        assert colour["range"][i] == styles[fam]["color"]
        assert shape["range"][i] == theme.VEGA_SHAPES[theme.SYMBOLS.index(styles[fam]["symbol"])]
    assert len(set(zip(colour["range"], shape["range"]))) == len(fams)
