"""EfficientNet: the scaling arithmetic (§3.3, Table 1), the official table, and Lite.

Expected values are worked out by hand from the paper's formulas or taken from the reference
measurements in assets/models.json and assets/published.csv, never from the code under test.
"""
import csv
import math

import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

import zoo
from conftest import ROOT, reference_models
from zoo import efficientnet as E
from zoo.layers import Conv2dSame, SqueezeExcitation


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def meta_build(name, **kw):
    with torch.device("meta"):
        return zoo.build(name, **kw)


def meta_macs(model, resolution):
    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        model.eval()(torch.empty(1, 3, resolution, resolution))
    return counter.get_total_flops() // 2


# --- the tables --------------------------------------------------------------------------------

def test_baseline_is_table_1():
    # expand, kernel, stride, in, out, repeats: Table 1 of Tan & Le (2019), stages 2–8
    assert [tuple(s) for s in E.BASELINE] == [
        (1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
        (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1),
    ]


def test_compound_table_is_the_official_one():
    assert E.COMPOUND == {
        "b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
        "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
        "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5),
    }
    assert [v[:3] for v in E.LITE.values()] == [
        (1.0, 1.0, 224), (1.0, 1.1, 240), (1.1, 1.2, 260), (1.2, 1.4, 280), (1.4, 1.8, 300)]


# --- pure functions ----------------------------------------------------------------------------

@pytest.mark.parametrize("channels, mult, expected", [
    (32, 1.0, 32), (32, 1.1, 32),     # 35.2 -> 32 (within 10 %)
    (16, 1.2, 24),                    # 19.2 -> 16 would lose > 10 %, so 24
    (112, 1.2, 136), (192, 1.2, 232), (1280, 1.1, 1408), (320, 1.8, 576),
])
def test_round_channels(channels, mult, expected):
    assert E.round_channels(channels, mult) == expected


@pytest.mark.parametrize("repeats, mult, expected", [(1, 1.0, 1), (3, 1.1, 4), (2, 1.4, 3), (4, 3.1, 13), (1, 3.1, 4)])
def test_round_repeats_is_ceil(repeats, mult, expected):
    assert E.round_repeats(repeats, mult) == expected


def test_compound_coefficients_formula():
    assert E.compound_coefficients(0) == (1.0, 1.0, 224)
    w, d, r = E.compound_coefficients(1)
    assert (w, d, r) == (pytest.approx(1.1), pytest.approx(1.2), 258)          # 224·1.15 = 257.6
    w, d, r = E.compound_coefficients(2)
    assert (w, d, r) == (pytest.approx(1.21), pytest.approx(1.44), 296)        # 224·1.3225 = 296.24
    w, d, r = E.compound_coefficients(7)  # vs official B7 (2.0, 3.1, 600)
    assert (w, d, r) == (pytest.approx(1.9487171), pytest.approx(3.5831808), 596)
    w, d, r = E.compound_coefficients(-1)  # smaller than B0 is allowed
    assert (w, d, r) == (pytest.approx(1 / 1.1), pytest.approx(1 / 1.2), 195)  # 224/1.15 = 194.8
    # custom coefficients
    assert E.compound_coefficients(2, alpha=2.0, beta=1.5, gamma=1.25) == (2.25, 4.0, 350)


def test_resolution_rounds_half_up():
    # 224 · 67/64 = 234.5 exactly in binary floating point: half up gives 235 (round() would give 234)
    assert E.compound_coefficients(1, gamma=67 / 64)[2] == 235


@pytest.mark.parametrize("kwargs, words", [
    (dict(phi=1, alpha=0), "alpha"), (dict(phi=1, beta=-1.1), "beta"), (dict(phi=1, gamma=0.0), "gamma"),
    (dict(phi=1, alpha=float("nan")), "alpha"), (dict(phi=float("inf")), "phi"), (dict(phi=float("nan")), "phi"),
    (dict(phi="2"), "phi"), (dict(phi=30), "outside"), (dict(phi=-20), "outside"), (dict(phi=1e6), "phi"),
])
def test_bad_coefficients_raise_clear_errors(kwargs, words):
    with pytest.raises(ValueError, match=words):
        E.compound_coefficients(**kwargs)
    with pytest.raises(ValueError, match=words):
        meta_build("efficientnet", **kwargs)


def test_bad_direct_multipliers_raise():
    with pytest.raises(ValueError, match="width"):
        meta_build("efficientnet", width_mult=0.0, depth_mult=1.0)
    with pytest.raises(ValueError, match="both"):
        meta_build("efficientnet", width_mult=1.1)
    with pytest.raises(ValueError, match="not both"):
        meta_build("efficientnet", phi=1, width_mult=1.1, depth_mult=1.2)
    with pytest.raises(ValueError, match="resolution"):
        meta_build("efficientnet", width_mult=1.0, depth_mult=1.0, resolution=4)


def test_stage_table_scales_channels_and_repeats():
    assert E.stage_table(1.0, 1.0) == list(E.BASELINE)
    b3 = E.stage_table(1.2, 1.4)  # worked by hand: make_divisible(c·1.2, 8), ceil(n·1.4)
    assert [s.in_channels for s in b3] == [40, 24, 32, 48, 96, 136, 232]
    assert [s.out_channels for s in b3] == [24, 32, 48, 96, 136, 232, 384]
    assert [s.repeats for s in b3] == [2, 3, 3, 5, 5, 6, 2]
    b7 = E.stage_table(2.0, 3.1)
    assert [s.out_channels for s in b7] == [32, 48, 80, 160, 224, 384, 640]
    assert [s.repeats for s in b7] == [4, 7, 7, 10, 10, 13, 4]
    assert [(s.expand, s.kernel, s.stride) for s in b7] == [(s.expand, s.kernel, s.stride) for s in E.BASELINE]


def test_lite_stage_table_fixes_stem_and_first_last_repeats():
    lite4 = E.stage_table(1.4, 1.8, lite=True)
    assert lite4[0].in_channels == 32                      # stem not scaled
    assert [s.repeats for s in lite4] == [1, 4, 4, 6, 6, 8, 1]
    assert [s.out_channels for s in lite4] == [24, 32, 56, 112, 160, 272, 448]
    assert E.head_channels(1.4, lite=True) == 1280 and E.head_channels(1.4) == 1792


# --- models ------------------------------------------------------------------------------------

def test_phi_zero_is_exactly_b0():
    torch.manual_seed(0)
    general, b0 = zoo.build("efficientnet", phi=0), zoo.build("efficientnet_b0")
    sd_g, sd_b = general.state_dict(), b0.state_dict()
    assert {k: v.shape for k, v in sd_g.items()} == {k: v.shape for k, v in sd_b.items()}
    assert n_params(general) == n_params(b0) == 5288548
    assert (general.width_mult, general.depth_mult, general.resolution) == (1.0, 1.0, 224)
    general.load_state_dict(sd_b)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(general.eval()(x), b0.eval()(x))


@pytest.mark.parametrize("key", list(E.COMPOUND))
def test_official_table_reproduces_b0_to_b7(key):
    """width/depth of COMPOUND through the general builder give torchvision's exact counts."""
    w, d, r, _ = E.COMPOUND[key]
    model = meta_build("efficientnet", width_mult=w, depth_mult=d, resolution=r)
    assert n_params(model) == reference_models()[f"efficientnet_{key}"]["params"]
    assert model.resolution == r == zoo.info(f"efficientnet_{key}").resolution


def test_phi_one_model_exposes_its_multipliers():
    model = meta_build("efficientnet", phi=1.0, alpha=1.2, beta=1.1, gamma=1.15)
    assert (model.width_mult, model.depth_mult, model.resolution) == (1.1, 1.2, 258)
    # phi = 1 is not B1 (1.0, 1.1, 240): the official table is hand-rounded
    assert n_params(model) != reference_models()["efficientnet_b1"]["params"]


LITE_PARAMS = {"lite0": 4652008, "lite1": 5416680, "lite2": 6092072, "lite3": 8197096, "lite4": 13006568}


@pytest.mark.parametrize("key", list(LITE_PARAMS))
def test_lite_parameter_counts_and_layout(key):
    model = meta_build(f"efficientnet_{key}")
    assert n_params(model) == LITE_PARAMS[key]
    assert not any(isinstance(m, SqueezeExcitation) for m in model.modules())
    assert not any(isinstance(m, nn.SiLU) for m in model.modules())
    assert any(isinstance(m, nn.ReLU6) for m in model.modules())
    assert all(m.eps == 1e-3 for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert isinstance(model.features[0][0], Conv2dSame)                    # TF "SAME" stem
    assert model.features[0][0].out_channels == 32 and model.classifier[1].in_features == 1280


@pytest.mark.parametrize("name, eps", [("efficientnet_b0", 1e-5), ("efficientnet_b4", 1e-5),
                                       ("efficientnet_b5", 1e-3), ("efficientnet_b7", 1e-3)])
def test_batchnorm_eps_follows_torchvision(name, eps):
    bns = [m for m in meta_build(name).modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(m.eps == eps for m in bns)


def test_b0_layout_and_stochastic_depth():
    model = meta_build("efficientnet_b0")
    assert type(model.features[0][0]) is nn.Conv2d and model.features[0][0].padding == (1, 1)
    blocks = [b for stage in model.features[1:8] for b in stage]
    assert len(blocks) == 16
    # linear in block index, 0 … 0.2·15/16
    assert [b.stochastic_depth.p for b in blocks] == pytest.approx([0.2 * i / 16 for i in range(16)])
    assert isinstance(blocks[0].block[1], SqueezeExcitation) and len(blocks[0].block) == 3  # MBConv1: no expand
    assert isinstance(blocks[1].block[2], SqueezeExcitation) and len(blocks[1].block) == 4
    assert blocks[1].block[2].fc1.out_channels == 4   # squeeze to a quarter of the block's input (16)


@pytest.mark.parametrize("name", [n for n in zoo.list_models("efficientnet_*")])
def test_macs_equal_reference_at_its_resolution(name):
    ref = reference_models()[zoo.info(name).reference]
    assert zoo.info(name).resolution == ref["resolution"]
    assert meta_macs(meta_build(name), ref["resolution"]) == ref["macs"]


def test_lite3_lite4_macs_at_tf_builder_resolution_match_published():
    with open(ROOT / "assets" / "published.csv", newline="") as f:
        rows = {r["variant"]: r for r in csv.DictReader(f) if r["model"] == "EfficientNet-Lite"}
    for key, res in (("lite3", 280), ("lite4", 300)):
        row = rows[key.capitalize()]
        assert int(row["resolution"]) == res == E.LITE[key][2]
        gmacs = meta_macs(meta_build(f"efficientnet_{key}"), res) / 1e9
        assert round(gmacs, 3) == float(row["gmacs"])


def test_training_step_on_cpu():
    torch.manual_seed(0)
    model = zoo.build("efficientnet", phi=-1, num_classes=10).train()
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    out.sum().backward()
    assert model.features[0][0].weight.grad is not None


def test_b7_at_600_is_cheap_on_meta():
    model = meta_build("efficientnet_b7")
    with torch.device("meta"):
        out = model.eval()(torch.empty(1, 3, 600, 600))
    assert out.shape == (1, 1000) and out.is_meta
    assert math.isclose(model.width_mult, 2.0) and model.resolution == 600
