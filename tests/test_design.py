"""zoo.design (the spec, its checks, its arithmetic, the build) and ui.design (table rows, the URL
encoding, JSON files, the PyTorch source, the words and figures), without Streamlit.

Expected values come from elsewhere than the code under test: the registered zoo models
(``zoo.analyze(name)``), the built network's own modules, or numbers written here by hand.
"""
import base64
import json
import random
import re
import zlib
from pathlib import Path

import pytest
import torch

import zoo
from zoo import design, fmt
from ui import design as ud
from ui import explore as ux

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ["resnet18", "resnet50", "mobilenet_v1", "mobilenet_v2", "efficientnet_b0", "shufflenet_v2_x1_0",
            "squeezenet1_1"]


def tpl(name: str) -> dict:
    return design.templates()[name]


# --- templates equal the zoo ------------------------------------------------------------------------

def test_the_required_templates_exist():
    assert set(REQUIRED) <= set(design.templates())


@pytest.mark.parametrize("name", design.TEMPLATE_NAMES)
def test_template_has_exactly_the_zoo_models_parameters_and_macs(name):
    ref = zoo.analyze(name)                  # the registered model, built by its own builder
    a = design.analyze(tpl(name))
    assert a.total_params == ref.total_params
    assert a.total_macs == ref.total_macs
    assert a.output_shape == ref.output_shape
    c = design.cost(tpl(name))                # the arithmetic used for the caps agrees too
    assert (c["params"], c["macs"]) == (ref.total_params, ref.total_macs)


def test_templates_are_fresh_copies_and_json_data():
    a = design.templates()
    a["resnet50"]["stages"][0]["repeats"] = 99
    assert design.templates()["resnet50"]["stages"][0]["repeats"] == 3
    for spec in a.values():
        assert json.loads(json.dumps(spec)) == spec



def test_one_template_is_its_canonical_form_as_a_fresh_copy():
    for name in design.TEMPLATE_NAMES:
        assert design.template(name) == design.validate(design.templates()[name])
    t = design.template("resnet50")
    t["stages"][0]["repeats"] = 99
    assert design.template("resnet50")["stages"][0]["repeats"] == 3
    with pytest.raises(KeyError):
        design.template("resnet9000")

# --- arithmetic against the built network -----------------------------------------------------------

def random_spec(rng: random.Random) -> dict:
    stages = []
    for _ in range(rng.randint(1, 5)):
        b = rng.choice(list(design.BLOCKS))
        d = design.BLOCKS[b].defaults
        row = {"block": b, "out_channels": rng.choice([16, 24, 32, 48, 64, 96]), "repeats": rng.randint(1, 3),
               "stride": rng.choice([1, 2])}
        row["kernel"] = rng.choice([1, 3, 5]) if "kernel" in d else None
        row["expand"] = rng.choice([1, 2, 4]) if "expand" in d else None
        row["se"] = rng.choice([0.0, 0.25, 0.0625]) if "se" in d else None
        row["groups"] = rng.choice([1, 2]) if "groups" in d else None
        row["activation"] = rng.choice(list(design.ACTIVATIONS)) if "activation" in d else None
        row["shortcut"] = rng.choice(design.SHORTCUTS) if "shortcut" in d else None
        stages.append(row)
    return {"resolution": rng.choice([32, 57, 96, 128]), "in_channels": rng.choice([1, 3]),
            "width_mult": rng.choice([1.0, 0.5, 1.3]), "depth_mult": rng.choice([1.0, 1.5]),
            "stem": {"channels": rng.choice([16, 24]), "kernel": rng.choice([3, 5]), "stride": rng.choice([1, 2]),
                     "activation": "relu", "norm": rng.random() < 0.8, "padding": rng.choice(design.PADDINGS),
                     "pool": rng.choice(design.STEM_POOLS)},
            "stages": stages,
            "head": {"channels": rng.choice([0, 128]), "activation": "silu", "pool": rng.choice(design.HEAD_POOLS),
                     "classifier": rng.choice(design.CLASSIFIERS), "classes": rng.choice([10, 1000]), "dropout": 0.1}}


def valid_random_specs(n: int, seed: int = 13) -> list[dict]:
    rng, out = random.Random(seed), []
    while len(out) < n:
        s = random_spec(rng)
        try:
            design.validate(s)
        except ValueError:
            continue
        out.append(s)
    return out


RANDOM = valid_random_specs(40)


@pytest.mark.parametrize("i", range(len(RANDOM)))
def test_arithmetic_equals_the_analysis_of_the_built_network(i):
    spec = RANDOM[i]
    c = design.cost(spec)
    with torch.device("meta"):
        model = design.build(spec)
    a = zoo.analyze(model, spec["resolution"], input_channels=spec["in_channels"])
    assert (c["params"], c["macs"]) == (a.total_params, a.total_macs)
    assert c["params"] == sum(p.numel() for p in model.parameters())
    assert a.output_shape == (1, spec["head"]["classes"])


def _fresh_analysis(spec):
    with torch.device("meta"):
        model = design.build(spec).eval()
    return zoo.analyze(model, spec["resolution"], input_channels=spec["in_channels"])


def test_edits_analysed_with_shared_blocks_equal_a_fresh_build():
    """design.analyze reuses meta blocks of earlier designs; every layer must still be the one a
    network built afresh gives, whichever edits came before (repeats up and down, a block
    changed, widths changed, back to the start)."""
    start = design.validate(tpl("resnet152"))
    edits = [start]
    for f in (lambda s: s["stages"][2].update(repeats=37), lambda s: s["stages"][2].update(repeats=5),
              lambda s: s.update(width_mult=1.1),
              lambda s: s["stages"][1].update(block="fused_mbconv", expand=4, se=0.0, groups=None, shortcut=None,
                                              activation="silu"),
              lambda s: s.update(resolution=256)):
        s = json.loads(json.dumps(edits[-1]))
        f(s)
        edits.append(design.validate(s))
    edits.append(start)
    for spec in edits:
        a, ref = design.analyze(spec), _fresh_analysis(spec)
        assert a.layers == ref.layers
        assert (a.total_params, a.total_macs, a.block_names) == (ref.total_params, ref.total_macs, ref.block_names)
    model = design.build_for_analysis(start)
    assert len({id(b) for b in model.stage3}) == len(model.stage3) == 36     # equal blocks, distinct modules
    assert sum(p.numel() for p in model.parameters()) == zoo.analyze("resnet152").total_params


def test_builds_on_meta_and_runs_on_the_cpu():
    spec = tpl("shufflenet_v2_x0_5")
    with torch.device("meta"):
        m = design.build(spec)
    assert all(p.is_meta for p in m.parameters())
    small = {**spec, "resolution": 64}
    model = design.build(small).eval()
    with torch.no_grad():
        y = model(torch.randn(2, 3, 64, 64))
    assert y.shape == (2, 1000) and torch.isfinite(y).all()


def test_blocks_are_the_zoos_own_modules():
    spec = tpl("resnet18")
    spec["stages"][1].update(block="dwsep", kernel=3, se=None, shortcut=None, activation="relu6")
    spec["stages"][2].update(block="mbconv", expand=6, kernel=5, se=0.25, shortcut=None, activation="silu")
    spec["stages"][3].update(block="fused_mbconv", expand=4, kernel=3, se=0.0, shortcut=None, activation="silu")
    with torch.device("meta"):
        m = design.build(spec)
    assert type(m.stage1[0]) is zoo.resnet.BasicBlock
    assert type(m.stage2[0]) is zoo.mobilenet.DepthwiseSeparableConv
    assert type(m.stage3[0]) is zoo.efficientnet.MBConv
    assert type(m.stage4[0]) is zoo.efficientnet.FusedMBConv
    with torch.device("meta"):
        sq = design.build(tpl("squeezenet1_1"))
        sh = design.build(tpl("shufflenet_v2_x1_0"))
    assert type(sq.stage1[0]) is zoo.squeezenet.Fire and type(sh.stage1[0]) is zoo.shufflenet.ShuffleUnit


def test_width_multiplier_rounds_to_multiples_of_8_and_depth_rounds_up():
    spec = {**tpl("resnet18"), "width_mult": 0.3, "depth_mult": 1.3}
    with torch.device("meta"):
        m = design.build(spec)
    # 64·0.3 = 19.2 -> 24 (16 would be more than 10 % down); 512·0.3 = 153.6 -> 152
    assert m.stem[0][0].out_channels == 24
    assert m.stage1[0].conv1.out_channels == 24 and m.stage4[0].conv2.out_channels == 152
    assert len(m.stage1) == 3                       # ceil(2 · 1.3)
    # at ×1 the widths stay as written, even when not multiples of 8 (ShuffleNet's 116)
    with torch.device("meta"):
        s = design.build(tpl("shufflenet_v2_x1_0"))
    assert s.stage1[0].branch2[0].out_channels == 58


# --- validation: every problem named by stage and field ----------------------------------------------

def _set(path: str, value):
    """An edit of a resnet50 spec at ``path`` ("stages.1.groups", "head.classes"…)."""
    def edit(spec):
        *parents, last = path.split(".")
        node = spec
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        if value is KeyError:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value
        return spec
    return edit


INVALID = [
    # (edit of resnet50, words the message must contain)
    ("unknown block", _set("stages.1.block", "resnext"), ["stage 2", "unknown block", "resnext"]),
    ("missing field", _set("stages.2.out_channels", KeyError), ["stage 3", "missing field", "out_channels"]),
    ("not a number", _set("stages.0.repeats", "3"), ["stage 1", "repeats", "must be a number"]),
    ("not whole", _set("stages.0.repeats", 2.5), ["stage 1", "repeats", "whole number"]),
    ("non-positive", _set("stages.3.out_channels", 0), ["stage 4", "out_channels", "must be positive"]),
    ("absurd width", _set("stages.3.out_channels", 10 ** 6), ["stage 4", "out_channels", "between"]),
    ("even kernel", _set("stages.1.kernel", 4), ["stage 2", "kernel", "odd"]),
    ("groups do not divide", _set("stages.1.groups", 3), ["stage 2", "groups", "divide", "128"]),
    ("expand does not divide", _set("stages.0.out_channels", 250), ["stage 1", "out_channels", "multiple of 'expand' 4"]),
    ("field that does not apply", _set("stages.0.activation", "silu"), ["stage 1", "activation", "does not apply"]),
    ("unknown field", _set("stages.0.kernal", 3), ["stage 1", "unknown field", "kernal"]),
    ("unknown activation", _set("stem.activation", "gelu"), ["stem", "activation", "gelu"]),
    ("stride too large for the block", _set("stages.1.stride", 5), ["stage 2", "stride", "between 1 and 4"]),
    ("NaN", _set("width_mult", float("nan")), ["width multiplier", "finite"]),
    ("resolution out of range", _set("resolution", 4096), ["resolution", "between 16 and 2048"]),
    ("no stages", _set("stages", []), ["stages", "at least one stage"]),
    ("missing top-level field", _set("head", KeyError), ["missing field", "head"]),
    ("wrong version", _set("version", 7), ["version", "7"]),
    ("dropout out of range", _set("head.dropout", 1.5), ["head", "dropout"]),
    ("unknown template", _set("base", "vgg99"), ["base", "vgg99"]),
    # 32 px: stem /2, pool /2, stages /1 /2 /2 /2 -> 1 px after stage 4; stage 5 would stride a 1×1 map
    ("shrinks below 1 px", lambda s: {**s, "resolution": 32,
                                      "stages": s["stages"] + [dict(s["stages"][3]) for _ in range(3)]},
     ["stage 5", "stride", "below 1 pixel"]),
    ("stem kernel larger than the input", lambda s: {**s, "resolution": 16, "stem": {**s["stem"], "kernel": 11,
                                                                                      "padding": "valid",
                                                                                      "stride": 4}},
     ["stage", "below 1 pixel"]),
]


@pytest.mark.parametrize("label, edit, words", INVALID, ids=[x[0] for x in INVALID])
def test_invalid_spec_is_named_by_stage_and_field(label, edit, words):
    spec = edit(tpl("resnet50"))
    with pytest.raises(ValueError) as e:
        design.validate(spec)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_at_least_twelve_kinds_of_problems_are_tested():
    assert len(INVALID) >= 12


def test_shuffle_and_fire_shape_rules():
    s = tpl("shufflenet_v2_x1_0")
    s["stages"][1]["stride"] = 1
    with pytest.raises(ValueError, match=r"stage 2 \(shuffle\).*stride-1 shuffle stage keeps its width.*232.*116"):
        design.validate(s)
    s = tpl("squeezenet1_1")
    s["stages"][0]["out_channels"] = 129
    with pytest.raises(ValueError, match=r"stage 1 \(fire\).*'out_channels' 129 must be even"):
        design.validate(s)
    s = tpl("mobilenet_v2")
    s["stages"][1]["stride"] = 3
    with pytest.raises(ValueError, match=r"stage 2 \(mbconv\).*'stride'.*between 1 and 2"):
        design.validate(s)


def test_mac_and_parameter_caps_are_checked_before_anything_is_built(monkeypatch):
    def no_build(*a, **k):
        raise AssertionError("a module was built")
    monkeypatch.setattr(design, "instantiate", no_build)
    huge = {**tpl("resnet50"), "resolution": 2048, "width_mult": 4.0}
    with pytest.raises(ValueError, match=r"TMACs|MACs, above the cap of 2 TMACs"):
        design.build(huge)
    heavy = tpl("resnet18")
    heavy["resolution"] = 32      # stage 4 runs at 1×1: ~12 G MACs, under the MAC cap
    heavy["stages"][3].update(out_channels=8192, repeats=10)
    with pytest.raises(ValueError, match=r"parameters, above the cap of 2 B parameters"):
        design.build(heavy)
    # the arithmetic says how big: well above the caps
    assert design.MAX_MACS == 2 * 10 ** 12 and design.MAX_PARAMS == 2 * 10 ** 9


def test_a_spec_is_data_only_never_evaluated():
    s = tpl("resnet18")
    s["stages"][0]["block"] = "__import__('os').system('true')"
    with pytest.raises(ValueError, match="unknown block"):
        design.validate(s)
    s = tpl("resnet18")
    s["stages"][0]["activation"] = None
    s["stem"]["activation"] = "nn.ReLU"
    with pytest.raises(ValueError, match="unknown activation"):
        design.validate(s)
    for path in ("zoo/design.py", "ui/design.py"):
        text = (ROOT / path).read_text()
        assert not re.search(r"\b(eval|exec|compile)\(|import pickle|pickle\.|torch\.load|__import__\(", text), path


def test_validate_fills_block_defaults_and_is_idempotent():
    s = tpl("mobilenet_v2")
    for st in s["stages"]:
        st["kernel"] = None       # the block's default (3)
    c = design.validate(s)
    assert all(st["kernel"] == 3 for st in c["stages"])
    assert design.validate(c) == c
    assert design.validate(c) is not c


# --- table rows ---------------------------------------------------------------------------------------

def test_rows_to_stages_plain_values_and_cleared_cells():
    import numpy as np
    import pandas as pd
    rows = [{"block": "fire", "out_channels": np.float64(128.0), "repeats": pd.NA, "stride": 1, "kernel": 3.0,
             "expand": 8.0, "se": 0.25, "groups": float("nan"), "activation": "relu", "shortcut": "conv"},
            {k: None for k in ud.STAGE_COLUMNS}]
    out = ud.rows_to_stages(rows)
    assert len(out) == 1                                   # the empty row is dropped
    st = out[0]
    assert st["out_channels"] == 128 and type(st["out_channels"]) is int
    assert st["repeats"] is None                            # missing: validate will say so
    assert st["expand"] == 8
    # fields a fire block does not have are cleared, so switching a row's block never errors
    assert st["kernel"] is None and st["se"] is None and st["activation"] is None and st["shortcut"] is None


def test_stage_frame_types_and_back():
    spec = design.validate(tpl("efficientnet_b0"))
    df = ud.frame(ud.stage_rows(spec), ud.STAGE_COLUMNS)
    assert str(df["out_channels"].dtype) == "Int64" and str(df["se"].dtype) == "Float64"
    back = ud.rows_to_stages(df.to_dict("records"))
    assert design.validate({**spec, "stages": back}) == spec


# --- the URL encoding ----------------------------------------------------------------------------------

def edited() -> dict:
    s = tpl("efficientnet_b0")
    s.update(name="wide b0", width_mult=1.3, resolution=260)
    s["stages"][3]["repeats"] = 5
    s["stages"][5]["block"] = "fused_mbconv"
    s["stages"][5]["se"] = 0.0
    return s


def test_url_round_trip_is_exact_and_compact():
    s = edited()
    token = ud.encode(s)
    assert token.startswith("1.")
    assert ud.decode(token) == design.validate(s)
    assert len(token) < 400
    assert re.fullmatch(r"[0-9A-Za-z._-]+", token)           # safe in a URL without escaping
    for spec in RANDOM[:10]:
        assert ud.decode(ud.encode(spec)) == design.validate(spec)


def test_an_unchanged_template_is_its_name_in_the_url():
    assert ud.encode(tpl("resnet50")) == "resnet50"
    assert ud.decode("resnet50") == design.validate(tpl("resnet50"))


def _token(data) -> str:
    raw = json.dumps(data).encode()
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return "1." + base64.urlsafe_b64encode(c.compress(raw) + c.flush()).decode().rstrip("=")


@pytest.mark.parametrize("token, words", [
    ("", "no design"),
    ("vgg99", "no known template"),
    ("2.abc", "version"),
    ("1.!!!not-base64", "damaged"),
    ("1." + ud.encode(edited())[2:-10], "damaged"),                    # cut short when copied
    (_token([1, 2, 3]), "version 1 layout"),
    (_token([["x", None, 224, 3, 1.0, 1.0], [64, 7, 2, "relu", True, "same", "max"], [], [0, "relu", "avg", "linear", 1000, 0.0]]),
     "at least one stage"),
    ("1." + "A" * 9000, "longer than"),
])
def test_a_bad_link_says_why(token, words):
    with pytest.raises(ValueError, match=words):
        ud.decode(token)


def test_a_decompression_bomb_is_refused():
    raw = b"[" + b" " * (2 * 1024 * 1024) + b"]"
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    token = "1." + base64.urlsafe_b64encode(c.compress(raw) + c.flush()).decode().rstrip("=")
    assert len(token) < ud.MAX_TOKEN
    with pytest.raises(ValueError, match="damaged"):
        ud.decode(token)


# --- JSON files ------------------------------------------------------------------------------------------

def test_json_file_round_trip():
    s = edited()
    assert ud.from_json(ud.to_json(s).encode()) == design.validate(s)
    assert ud.file_name(s) == "wide_b0.json" and ud.file_name({"name": "../../etc/passwd"}) == "etc_passwd.json"


@pytest.mark.parametrize("data, words", [
    (b"{not json", "not valid JSON: .* line 1"),
    (b"\xff\xfe\x00", "not text"),
    (b"[1, 2]", "a design is a JSON object"),
    (json.dumps({**tpl("resnet18"), "stages": [{"block": "conv"}]}).encode(), "stage 1.*missing field 'out_channels'"),
    (b" " * (ud.MAX_FILE + 1), "larger than"),
])
def test_a_bad_file_says_why(data, words):
    with pytest.raises(ValueError, match=words):
        ud.from_json(data)


# --- PyTorch source ----------------------------------------------------------------------------------------

def shapes(m: torch.nn.Module) -> dict:
    return {k: tuple(v.shape) for k, v in m.state_dict().items()}


@pytest.mark.parametrize("spec", [tpl("resnet50"), tpl("squeezenet1_1"), tpl("shufflenet_v2_x1_0"),
                                  tpl("mobilenet_v1"), edited(), *RANDOM[:8]],
                         ids=["resnet50", "squeezenet1_1", "shufflenet", "mobilenet_v1", "edited",
                              *[f"random{i}" for i in range(8)]])
def test_generated_pytorch_builds_the_same_state_dict(spec):
    source = ud.pytorch_source(spec)
    ns: dict = {}
    exec(compile(source, "<generated>", "exec"), ns)  # our own generated text, in a test only
    with torch.device("meta"):
        theirs = ns["Net"]()
        ours = design.build(spec)
    assert shapes(theirs) == shapes(ours)
    a = zoo.analyze(theirs, spec["resolution"], input_channels=spec["in_channels"])
    assert a.total_macs == design.cost(spec)["macs"]


def test_generated_pytorch_is_readable():
    src = ud.pytorch_source(tpl("resnet50"), {"total_params": 25557032, "total_macs": 4089184256})
    assert "from zoo.resnet import Bottleneck, projection" in src
    assert "*[Bottleneck(1024, 256) for _ in range(5)]," in src          # runs of equal blocks written once
    assert "25,557,032 parameters" in src and "4.09 GMACs (8.18 GFLOPs)" in src
    assert max(len(line) for line in src.splitlines()) < 130


# --- words and figures ---------------------------------------------------------------------------------------

def test_difference_in_words_uses_the_engines_numbers():
    t = ux.summarize(design.analyze(tpl("resnet50")))
    s = tpl("resnet50")
    s["stages"][3]["repeats"] = 9
    d = ux.summarize(design.analyze(s))
    text = ud.difference(d, t, "resnet50")
    dm = d["total_macs"] - t["total_macs"]
    dp = d["total_params"] - t["total_params"]
    assert dm > 0 and dp > 0
    assert f"+{fmt.si(dm)}MACs" in text and f"+{fmt.fmt_params(dp)} parameters" in text
    share = max(d["by_stage"], key=lambda g: g["macs"])
    assert share["group"] == "stage4"
    assert f"{100 * share['macs'] / d['total_macs']:.0f} % of the MACs now in stage4" in text
    was = next(g for g in t["by_stage"] if g["group"] == "stage4")
    assert f"(it was {100 * was['macs'] / t['total_macs']:.0f} %)" in text
    smaller = tpl("resnet50")
    smaller["width_mult"] = 0.5
    text = ud.difference(ux.summarize(design.analyze(smaller)), t, "resnet50")
    assert text.startswith("−") and "−" in text.split(",")[1]
    assert "Identical in cost" in ud.difference(t, t, "resnet50")


def test_the_zoo_chart_draws_the_design_as_a_band_not_a_point():
    pts = [{"name": "resnet50", "family": "ResNet", "top1": 76.1, "source": "He et al. 2016", "params": 25557032,
            "macs": 4089184256},
           {"name": "mobilenet_v2", "family": "MobileNet", "top1": 72.0, "source": "Sandler et al.",
            "params": 3504872, "macs": 300774272}]
    macs = 1.5e9
    spec = ud.zoo_band_figure(pts, macs, "macs", "MACs", base="resnet50", label="my net")
    layers = {part.get("name"): part for part in spec["layer"]}
    band, = layers["band"]["data"]["values"]
    assert band["x"] < macs < band["x2"] and layers["band"]["mark"]["type"] == "rect"
    assert band["y"] <= 72.0 - 2 and band["y2"] >= 76.1 + 2          # spans the accuracies shown
    # nothing puts the design at an accuracy: at its cost there are only the band, its rule and its label
    at_cost = [name for name, part in layers.items()
               if any(abs(v.get("x", 0) - macs) / macs < 0.07 for v in part["data"]["values"])]
    assert sorted(at_cost) == ["band", "design", "design label"]
    assert layers["design"]["mark"]["type"] == "rule" and layers["design label"]["mark"]["type"] == "text"
    ring, = layers["template"]["data"]["values"]
    assert (ring["x"], ring["y"]) == (4089184256, 76.1)
    colors = layers["points"]["encoding"]["color"]["scale"]["domain"]
    assert "my net: not trained" in colors and "template: resnet50" in colors       # in the legend
    lo, hi = layers["points"]["encoding"]["x"]["scale"]["domain"]
    assert lo < macs < hi                                          # the design is in view
    flops = ud.zoo_band_figure(pts, macs, "macs", "FLOPs")
    fband, = next(p for p in flops["layer"] if p.get("name") == "band")["data"]["values"]
    assert fband["x"] > 2 * macs / 1.1                                 # 1 MAC = 2 FLOPs


def test_neighbours_text():
    pts = [{"name": "a", "top1": 70.0, "macs": 1e9}, {"name": "b", "top1": 75.0, "macs": 1.4e9},
           {"name": "c", "top1": 80.0, "macs": 9e9}]
    text = ud.neighbours_text(pts, 1.2e9)
    assert "2 zoo models" in text and "70.0 % (a)" in text and "75.0 % top-1 (b)" in text
    assert "No zoo model" in ud.neighbours_text(pts, 1e12)


def _timing(times) -> "latency.Timing":
    from zoo import latency
    return latency.Timing(label="t", times_ms=tuple(times), number=1, machine=latency.machine(1))


def test_latency_words_call_a_difference_inside_the_spread_noise():
    design_t = _timing([10.0, 10.2, 9.8, 10.1, 9.9])          # IQR 9.9–10.1
    close = _timing([10.05, 10.3, 9.95, 10.2, 10.4])          # IQR overlaps: noise
    assert "within noise on this machine" in ud.latency_comparison(design_t, close, 1e9, 4e9, "resnet50")
    slow = _timing([20.0, 20.5, 19.5, 20.2, 19.8])             # the template, twice as slow
    text = ud.latency_comparison(design_t, slow, 1e9, 4e9, "resnet50")
    assert text.startswith("4.00× fewer MACs than resnet50")
    assert "runs 2.00× faster than resnet50" in text
    assert "more MACs" in ud.latency_comparison(slow, design_t, 4e9, 1e9, "resnet18")


def test_exercises_start_from_templates_and_their_answers_compute():
    assert len(ud.EXERCISES) == 3
    for ex in ud.EXERCISES:
        start = design.validate(tpl(ex.base))
        s0 = ux.summarize(design.analyze(start))
        targets = [(label, ux.summarize(design.analyze(edit(start)))) for label, edit in ex.targets]
        lines = ud.answer_lines(s0, targets)
        assert len(lines) == len(ex.targets) and all("×" in line for line in lines)
    sep = ud.EXERCISE_KEYS["separable"]
    start = design.validate(tpl("resnet18"))
    after = sep.targets[0][1](start)
    assert after["stages"][2]["block"] == "dwsep"
    assert design.analyze(after).total_macs < design.analyze(start).total_macs
    res = ud.EXERCISE_KEYS["resolution"].targets[0][1](design.validate(tpl("efficientnet_b0")))
    ratio = design.analyze(res).total_macs / zoo.analyze("efficientnet_b0").total_macs
    assert 1.9 < ratio < 2.2                                # (320/224)² ≈ 2.04, as the question says


def test_built_rows_show_the_multipliers_effect():
    rows = ud.built_rows({**tpl("resnet18"), "width_mult": 0.5, "depth_mult": 2.0})
    assert rows[1] == {"stage": "stage1", "block": "basic", "width": "32", "blocks": "4", "output side": "56 px"}
    assert rows[-1]["width"] == "256" and rows[-1]["output side"] == "7 px"


# --- the command line --------------------------------------------------------------------------------------

def test_cli_design_templates_lists_the_zoo_counts(capsys):
    from zoo.__main__ import main
    assert main(["design", "templates"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("resnet50 "))
    ref = zoo.analyze("resnet50")
    assert fmt.count(ref.total_params) in line and fmt.count(ref.total_macs) in line


def test_cli_summary_of_a_spec_file(tmp_path, capsys):
    from zoo.__main__ import main
    assert main(["design", "show", "mobilenet_v2"]) == 0
    spec = json.loads(capsys.readouterr().out)
    spec.update(name="v2 at 160", resolution=160)
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(spec))
    assert main(["summary", "--spec", str(path), "--format", "json", "--by", "stage"]) == 0
    out = json.loads(capsys.readouterr().out)
    a = design.analyze(spec)
    assert out["totals"]["params"] == a.total_params == zoo.analyze("mobilenet_v2").total_params
    assert out["totals"]["macs"] == a.total_macs == zoo.analyze("mobilenet_v2", 160).total_macs
    assert out["model"].startswith("v2 at 160") and [r["name"] for r in out["rows"]][:2] == ["stem", "stage1"]
    assert main(["summary", "--spec", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"v2 at 160 (design spec {path}) at 160×160")


@pytest.mark.parametrize("content, words", [
    ("{oops", "is not JSON"),
    (json.dumps({"resolution": 224, "stem": {}, "stages": [], "head": {}}), "stem: missing field 'channels'"),
])
def test_cli_refuses_a_bad_spec_file(tmp_path, capsys, content, words):
    from zoo.__main__ import main
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["summary", "--spec", str(path)]) == 2
    assert words in capsys.readouterr().err
    assert main(["summary"]) == 2                      # neither a name nor a spec
