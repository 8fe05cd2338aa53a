"""Inception-v4 / Inception-ResNet, MobileNet v1-v3 and ShuffleNet v2 against their papers.

Expected numbers come from the papers (Szegedy et al. 2017 arXiv 1602.07261; Howard et al. 2017
arXiv 1704.04861; Howard et al. 2019 arXiv 1905.02244; Ma et al. 2018 arXiv 1807.11164) or from
assets/models.json (counts measured on timm/torchvision), never from the code under test. Parameter
counts, state-dict names and golden logits of the twins are in tests/test_zoo_registry.py.
"""
import math
from collections import Counter

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import zoo
from conftest import reference_models
from zoo.shufflenet import ShuffleUnit, channel_shuffle


def build_meta(name, **overrides):
    with torch.device("meta"):
        return zoo.build(name, **overrides).eval()


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def macs(model, resolution):
    """torch FlopCounterMode total / 2 on the meta device: how models.json measured `macs`."""
    counter = FlopCounterMode(display=False)
    with torch.device("meta"), counter:
        model(torch.empty(1, 3, resolution, resolution))
    return counter.get_total_flops() // 2


def output_shapes(model, names, resolution):
    """(C, H, W) after each named submodule, batch 1, on the meta device."""
    modules = dict(model.named_modules())
    shapes = {}
    hooks = [modules[n].register_forward_hook(lambda m, i, o, n=n: shapes.__setitem__(n, tuple(o.shape[1:])))
             for n in names]
    with torch.device("meta"):
        model(torch.empty(1, 3, resolution, resolution))
    for h in hooks:
        h.remove()
    return shapes


def count_blocks(model):
    return Counter(type(m).__name__ for m in model.modules())


# --- Inception-v4 and Inception-ResNet ---------------------------------------------------------

def test_inception_resnet_v1_stages_match_figure_15():
    """Fig. 15 at 299×299: 35×35×256 after the stem, 17×17×896 after Reduction-A,
    8×8×1792 after Reduction-B; the residual stages keep their input shape."""
    model = build_meta("inception_resnet_v1")
    shapes = output_shapes(model, ["stem", "inception_resnet_a", "reduction_a", "inception_resnet_b",
                                   "reduction_b", "inception_resnet_c"], 299)
    assert shapes == {
        "stem": (256, 35, 35),
        "inception_resnet_a": (256, 35, 35),
        "reduction_a": (896, 17, 17),
        "inception_resnet_b": (896, 17, 17),
        "reduction_b": (1792, 8, 8),
        "inception_resnet_c": (1792, 8, 8),
    }


def test_inception_resnet_v1_stem_matches_figure_14():
    model = build_meta("inception_resnet_v1")
    layers = ["stem.conv1a", "stem.conv2a", "stem.conv2b", "stem.pool3a", "stem.conv3b", "stem.conv4a",
              "stem.conv4b"]
    shapes = output_shapes(model, layers, 299)
    assert [shapes[n] for n in layers] == [
        (32, 149, 149), (32, 147, 147), (64, 147, 147), (64, 73, 73), (80, 73, 73), (192, 71, 71),
        (256, 35, 35),
    ]


def test_inception_resnet_v1_block_counts_and_widths():
    """Fig. 15: 5 × IR-A, 10 × IR-B, 5 × IR-C; Table 1 k, l, m, n = 192, 192, 256, 384;
    Figs 10, 11, 13: the linear 1×1 convolutions go back to 256, 896, 1792 channels."""
    model = build_meta("inception_resnet_v1")
    blocks = count_blocks(model)
    assert (blocks["InceptionResNetA"], blocks["InceptionResNetB"], blocks["InceptionResNetC"]) == (5, 10, 5)
    assert blocks["ReductionA"] == 1 and blocks["InceptionResNetReductionB"] == 1
    ra = model.reduction_a
    assert ra.branch1[0].conv.out_channels == 192  # k
    assert ra.branch1[1].conv.out_channels == 192  # l
    assert ra.branch1[2].conv.out_channels == 256  # m
    assert ra.branch0.conv.out_channels == 384     # n
    assert [model.inception_resnet_a[0].conv.in_channels, model.inception_resnet_a[0].conv.out_channels] == [96, 256]
    assert [model.inception_resnet_b[0].conv.in_channels, model.inception_resnet_b[0].conv.out_channels] == [256, 896]
    assert [model.inception_resnet_c[0].conv.in_channels, model.inception_resnet_c[0].conv.out_channels] == [384, 1792]


def test_inception_resnet_v1_recorded_counts():
    """IR-v1 has no reference implementation: the registry note records what this build counts
    (22,756,328 parameters, 6,206,361,696 MACs at 299), so a change to the network shows here."""
    model = build_meta("inception_resnet_v1")
    assert n_params(model) == 22_756_328
    assert macs(model, 299) == 6_206_361_696
    note = zoo.info("inception_resnet_v1").note
    assert "22,756,328" in note and "6,206,361,696" in note


def test_inception_v4_block_counts_and_stages():
    """Fig. 9: 4 × Inception-A, 7 × Inception-B, 3 × Inception-C; 35×35×384 after the stem
    (Fig. 3), 17×17×1024 after Reduction-A, 8×8×1536 after Reduction-B."""
    model = build_meta("inception_v4")
    blocks = count_blocks(model)
    assert (blocks["InceptionA"], blocks["InceptionB"], blocks["InceptionC"]) == (4, 7, 3)
    assert (blocks["Stem"], blocks["ReductionA"], blocks["ReductionB"]) == (1, 1, 1)
    shapes = output_shapes(model, ["stem", "stem.conv1a", "stem.conv2b", "reduction_a", "reduction_b"], 299)
    assert shapes == {"stem": (384, 35, 35), "stem.conv1a": (32, 149, 149), "stem.conv2b": (64, 147, 147),
                      "reduction_a": (1024, 17, 17), "reduction_b": (1536, 8, 8)}


def test_inception_v4_table_agrees_with_the_model():
    """INCEPTION_V4 (what the dashboard may draw) says what the built model does."""
    from zoo.inception_v4 import INCEPTION_V4

    model = build_meta("inception_v4")
    shapes = output_shapes(model, [stage for stage, *_ in INCEPTION_V4], 299)
    for stage, block, repeats, out in INCEPTION_V4:
        assert shapes[stage] == out
        module = getattr(model, stage)
        blocks = list(module) if isinstance(module, torch.nn.Sequential) else [module]
        assert len(blocks) == repeats and all(type(b) is block for b in blocks)


def test_inception_resnet_v2_follows_timm_tf_slim():
    """timm's (TF-slim's) IR-v2, not Fig. 15's 5/10/5: 10 × IR-A, 20 × IR-B, 10 × IR-C (the last
    one unscaled, without ReLU), widths 320 / 1088 / 2080, a 1×1 conv to 1536 before pooling."""
    model = build_meta("inception_resnet_v2")
    blocks = count_blocks(model)
    assert (blocks["InceptionResNetA"], blocks["InceptionResNetB"], blocks["InceptionResNetC"]) == (10, 20, 10)
    shapes = output_shapes(model, ["stem", "reduction_a", "reduction_b", "conv_head"], 299)
    assert shapes == {"stem": (320, 35, 35), "reduction_a": (1088, 17, 17), "reduction_b": (2080, 8, 8),
                      "conv_head": (1536, 8, 8)}
    ra = model.reduction_a  # Table 1: k, l, m, n = 256, 256, 384, 384
    assert [ra.branch1[i].conv.out_channels for i in range(3)] + [ra.branch0.conv.out_channels] == [256, 256, 384, 384]
    last = model.inception_resnet_c[-1]
    assert last.scale == 1.0 and isinstance(last.relu, torch.nn.Identity)


@pytest.mark.parametrize("name", ["inception_resnet_v1", "inception_resnet_v2"])
def test_residual_scaling(name):
    """§3.3: residuals scaled before the addition (TF-slim's 0.17 / 0.10 / 0.20)."""
    model = build_meta(name)
    assert {b.scale for b in model.inception_resnet_a} == {0.17}
    assert {b.scale for b in model.inception_resnet_b} == {0.10}
    assert {b.scale for b in model.inception_resnet_c[:-1]} == {0.20}


def test_residual_block_scales_the_branch_before_adding():
    """y = ReLU(x + s · r): with zeroed branch weights and bias b, y = ReLU(x + s·b)."""
    from zoo.inception_v4 import InceptionResNetA

    block = InceptionResNetA(8, 2, (2, 2), (2, 2, 2), scale=0.17).eval()
    torch.nn.init.zeros_(block.conv.weight)
    torch.nn.init.constant_(block.conv.bias, 1.0)
    x = torch.randn(1, 8, 5, 5)
    assert torch.allclose(block(x), torch.relu(x + 0.17))


@pytest.mark.parametrize("name,ref", [("inception_v4", "inception_v4"),
                                      ("inception_resnet_v2", "inception_resnet_v2"),
                                      ("mobilenet_v1", "mobilenetv1_100")])
def test_macs_equal_reference(name, ref):
    entry = reference_models()[ref]
    assert macs(build_meta(name), entry["resolution"]) == entry["macs"]


# --- MobileNet v1: α and ρ ----------------------------------------------------------------------

# Table 6 of the v1 paper: width multiplier, million Mult-Adds, million parameters (at 224)
TABLE_6 = [(1.0, 569, 4.2), (0.75, 325, 2.6), (0.5, 149, 1.3), (0.25, 41, 0.5)]
# Table 7: resolution, million Mult-Adds (α = 1, 4.2 M parameters throughout)
TABLE_7 = [(224, 569), (192, 418), (160, 290), (128, 186)]


@pytest.mark.parametrize("alpha,mmacs,mparams", TABLE_6)
def test_mobilenet_v1_width_multiplier_matches_table_6(alpha, mmacs, mparams):
    model = build_meta("mobilenet_v1", alpha=alpha)
    assert round(macs(model, 224) / 1e6) == mmacs
    assert round(n_params(model) / 1e6, 1) == mparams


def test_mobilenet_v1_resolution_multiplier_matches_table_7():
    model = build_meta("mobilenet_v1")
    fc = model.classifier[-1]
    fc_macs = fc.in_features * fc.out_features  # the classifier sees a pooled vector at any ρ
    base = macs(model, 224) - fc_macs
    for resolution, mmacs in TABLE_7:
        m = macs(model, resolution)
        assert abs(m / 1e6 - mmacs) < 1  # the table's rounding is loose: 290.7 M prints as 290
        # every convolution scales with the number of output pixels: exactly ρ²
        assert (m - fc_macs) * 224 ** 2 == base * resolution ** 2
    assert n_params(build_meta("mobilenet_v1")) == n_params(model)  # ρ never changes parameters


def test_mobilenet_v1_width_rounds_to_multiples_of_8_and_accepts_any_alpha():
    model = build_meta("mobilenet_v1", alpha=0.3)
    widths = [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(w % 8 == 0 for w in widths)
    # 1024·0.3 = 307.2 → 304, the nearest multiple of 8; 32·0.3 = 9.6 would round to 8, more
    # than 10 % below 9.6, so it goes up to 16
    assert widths[0] == 16 and widths[-1] == 304
    with torch.device("meta"):
        assert model(torch.empty(1, 3, 200, 200)).shape == (1, 1000)
    with pytest.raises(ValueError):
        zoo.build("mobilenet_v1", alpha=0)


def test_mobilenet_v1_has_13_depthwise_separable_layers():
    """Table 1: 1 full convolution, 13 depthwise-separable layers (26 conv layers), 1 FC."""
    model = build_meta("mobilenet_v1")
    assert count_blocks(model)["DepthwiseSeparableConv"] == 13
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 27
    assert sum(c.groups == c.in_channels > 1 for c in convs) == 13


# --- MobileNet v2 / v3 ---------------------------------------------------------------------------

def test_mobilenet_v2_table_2_block_count():
    """Table 2: n = 1, 2, 3, 4, 3, 3, 1 → 17 bottleneck blocks, 10 with a shortcut."""
    model = build_meta("mobilenet_v2")
    blocks = [m for m in model.modules() if type(m).__name__ == "InvertedResidual"]
    assert len(blocks) == 17
    assert sum(b.use_res_connect for b in blocks) == 10


@pytest.mark.parametrize("name,n_bneck,n_se", [("mobilenet_v3_large", 15, 8), ("mobilenet_v3_small", 11, 9)])
def test_mobilenet_v3_tables_1_2(name, n_bneck, n_se):
    """Table 1 (Large): 15 bneck rows, 8 with SE; Table 2 (Small): 11 rows, 9 with SE (the
    table's SE mark on Small's last 1×1 conv is not in the reference implementation);
    SE gates with a hard sigmoid; BN eps 0.001."""
    model = build_meta(name)
    blocks = count_blocks(model)
    assert blocks["Bneck"] == n_bneck
    assert blocks["SqueezeExcitation"] == n_se
    assert blocks["Hardsigmoid"] == n_se
    assert {m.eps for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)} == {0.001}


@pytest.mark.parametrize("name", ["inception_v4", "inception_resnet_v1", "inception_resnet_v2", "mobilenet_v1",
                                  "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
                                  "shufflenet_v2_x0_5", "shufflenet_v2_x2_0"])
def test_num_classes_override(name):
    model = build_meta(name, num_classes=10)
    res = zoo.info(name).resolution
    with torch.device("meta"):
        assert model(torch.empty(2, 3, res, res)).shape == (2, 10)


# --- ShuffleNet v2 -------------------------------------------------------------------------------

def test_channel_shuffle_interleaves_groups():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]
    assert channel_shuffle(x, 3).flatten().tolist() == [0, 2, 4, 1, 3, 5]
    assert channel_shuffle(x, 1).flatten().tolist() == [0, 1, 2, 3, 4, 5]
    # a permutation: spatial content moves with its channel, nothing is computed
    y = torch.randn(2, 8, 3, 3)
    z = channel_shuffle(y, 2)
    assert torch.equal(z[:, 1], y[:, 4]) and torch.equal(z[:, 6], y[:, 3])
    assert torch.equal(z.sort(dim=1).values, y.sort(dim=1).values)
    with pytest.raises(ValueError):
        channel_shuffle(y, 3)


def test_shuffle_unit_passes_half_the_channels_through():
    """Fig. 3(c): channel split; the first half is untouched and, after the shuffle, sits at the
    even channel positions."""
    unit = ShuffleUnit(8, 8, stride=1).eval()
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        out = unit(x)
    assert out.shape == x.shape
    assert torch.equal(out[:, 0::2], x[:, :4])
    down = ShuffleUnit(8, 16, stride=2).eval()
    with torch.no_grad():
        assert down(x).shape == (2, 16, 3, 3)


# Table 5: FLOPs (the paper's "FLOPs" are multiply-adds) and parameters of each width
TABLE_5 = [("shufflenet_v2_x0_5", 41e6, 1.4e6), ("shufflenet_v2_x1_0", 146e6, 2.3e6),
           ("shufflenet_v2_x1_5", 299e6, 3.5e6), ("shufflenet_v2_x2_0", 591e6, 7.4e6)]


@pytest.mark.parametrize("name,paper_macs,paper_params", TABLE_5)
def test_shufflenet_v2_table_5(name, paper_macs, paper_params):
    """Parameters round to Table 5's; MACs within 2 % of its FLOPs column (the paper's counts run
    up to 1.4 % higher than the convolutions and FC alone: 583 M vs 591 M at 2×)."""
    model = build_meta(name)
    assert round(n_params(model) / 1e5) == round(paper_params / 1e5)
    assert math.isclose(macs(model, 224), paper_macs, rel_tol=0.02)
    assert count_blocks(model)["ShuffleUnit"] == 4 + 8 + 4
