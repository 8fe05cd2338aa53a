"""The ResNet family (zoo/resnet.py): shortcuts, stride placement, and the timm-built descendants.

Expected numbers come from outside the code under test: assets/models.json (measured on
torchvision/timm), assets/published.csv, tests/data (timm's state-dict shapes and logits under the
shared weight recipe), or arithmetic written out here from He et al. Table 1.
"""
import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import zoo
from conftest import golden_logits, reference_models, state_dict_shapes
from recipe import recipe_input, recipe_state_dict
from zoo import resnet as R
from zoo.registry import published_rows

FAMILY = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "plain18", "plain34",
          "resnet50_paper", "resnet50d", "seresnet50", "resnetrs50", "resnetrs101", "resnetrs152",
          "resnetrs200", "resnetrs270", "resnetrs350", "resnetrs420"]
TIMM_BUILT = ["resnet50d", "seresnet50", *R.RESNET_RS_MODELS]


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def meta_macs(name, resolution=None, **overrides):
    """MACs of one 1-image forward pass, counted by torch (FlopCounterMode total / 2)."""
    res = resolution or zoo.info(name).resolution
    with torch.device("meta"):
        model = zoo.build(name, **overrides).eval()
        with FlopCounterMode(display=False) as counter:
            model(torch.empty(1, 3, res, res))
    return counter.get_total_flops() // 2


def bottleneck_resnet_macs(layers, stride_on, res=224, num_classes=1000):
    """He et al. Table 1 by hand: MACs of a 7×7-stem bottleneck ResNet (convs and fc only)."""
    h = res // 2
    macs = 7 * 7 * 3 * 64 * h * h  # conv1, stride 2
    h //= 2  # max-pool
    c_in = 64
    for planes, first_stride, repeats in zip((64, 128, 256, 512), (1, 2, 2, 2), layers):
        for i in range(repeats):
            s = first_stride if i == 0 else 1
            h_out = h // s
            h_1x1 = h_out if stride_on == "1x1" else h  # where the reducing 1×1 runs
            macs += c_in * planes * h_1x1 * h_1x1  # 1×1 reduce
            macs += 9 * planes * planes * h_out * h_out  # 3×3
            macs += planes * 4 * planes * h_out * h_out  # 1×1 expand
            if i == 0:
                macs += c_in * 4 * planes * h_out * h_out  # projection shortcut
            c_in, h = 4 * planes, h_out
    return macs + c_in * num_classes  # fc (its bias is an addition, not a MAC)


# --- registry metadata -----------------------------------------------------------------------

@pytest.mark.parametrize("name", FAMILY)
def test_registered_with_metadata(name):
    mi = zoo.info(name)
    assert mi.paper.arxiv in {"1512.03385", "1812.01187", "1709.01507", "2103.07579"}
    if mi.published is not None:  # a typo in the (model, variant) key would silently drop figures
        assert mi.published in published_rows()


def test_families():
    fam = {n: zoo.info(n).family for n in FAMILY}
    assert fam["plain34"] == "Plain net" and fam["resnet50_paper"] == "ResNet"
    assert fam["resnet50d"] == "ResNet-D" and fam["seresnet50"] == "SE-ResNet"
    assert {fam[n] for n in R.RESNET_RS_MODELS} == {"ResNet-RS"}


@pytest.mark.parametrize("name", list(R.RESNET_RS_MODELS))
def test_resnet_rs_default_resolution_is_the_references(name):
    assert zoo.info(name).resolution == reference_models()[name]["resolution"]


# --- plain nets: the same networks without shortcuts -------------------------------------------

# downsample projections of ResNet-18/34 (layer2, 3, 4): 1×1 conv c→2c plus BN (weight, bias)
DOWNSAMPLE_PARAMS = sum(c * 2 * c + 2 * 2 * c for c in (64, 128, 256))


@pytest.mark.parametrize("depth, published", [(18, 11_515_688), (34, 21_623_848)])
def test_plain_params_are_resnet_minus_projections(depth, published):
    with torch.device("meta"):
        plain = zoo.build(f"plain{depth}")
    assert n_params(plain) == published  # assets/published.csv params_exact
    assert n_params(plain) == reference_models()[f"resnet{depth}"]["params"] - DOWNSAMPLE_PARAMS
    assert float(published_rows()[(f"plain-{depth}", "He'16 plain net (no shortcuts)")]["params_exact"]) == published
    assert not any("downsample" in k for k in plain.state_dict())


def test_plain_output_differs_from_resnet_with_same_weights():
    weights = recipe_state_dict(state_dict_shapes()["resnet18"])
    res, plain = zoo.build("resnet18").eval(), zoo.build("plain18").eval()
    res.load_state_dict(weights)
    missing, unexpected = plain.load_state_dict(weights, strict=False)
    assert missing == [] and unexpected and all(".downsample." in k for k in unexpected)
    x = recipe_input(64, batch=1)
    with torch.no_grad():
        a, b = res(x), plain(x)
    assert a.shape == b.shape == (1, 1000)
    assert (a - b).abs().max() > 1e-3 * a.abs().max()


@pytest.mark.parametrize("block_name", ["basic", "bottleneck"])
def test_a_zeroed_branch_leaves_the_identity_only_with_a_shortcut(block_name):
    """If F(x) = 0 a residual block returns relu(x); a plain block returns relu(0) = 0."""
    block_cls = R.BLOCKS[block_name]
    c = 64 * block_cls.expansion
    x = torch.rand(1, c, 8, 8)  # non-negative, so relu(x) = x
    for shortcut, expected in [(True, x), (False, torch.zeros_like(x))]:
        block = block_cls(c, 64, shortcut=shortcut).eval()
        last_bn = block.bn3 if block_name == "bottleneck" else block.bn2
        torch.nn.init.zeros_(last_bn.weight)
        torch.nn.init.zeros_(last_bn.bias)
        with torch.no_grad():
            assert torch.equal(block(x), expected)


# --- where the stride sits -------------------------------------------------------------------

def test_stride_position_torchvision_vs_paper():
    with torch.device("meta"):
        v15, paper = zoo.build("resnet50"), zoo.build("resnet50_paper")
    for stage in ("layer2", "layer3", "layer4"):
        b15, bp = getattr(v15, stage)[0], getattr(paper, stage)[0]
        assert (b15.conv1.stride, b15.conv2.stride) == ((1, 1), (2, 2))
        assert (bp.conv1.stride, bp.conv2.stride) == ((2, 2), (1, 1))
    # same parameters and keys: only where the stride sits differs
    assert {k: v.shape for k, v in v15.state_dict().items()} == {k: v.shape for k, v in paper.state_dict().items()}


def test_hand_arithmetic_reproduces_torchvision_resnet50():
    """Checks the hand formula itself against the reference's measured count."""
    assert bottleneck_resnet_macs((3, 4, 6, 3), "3x3") == reference_models()["resnet50"]["macs"]


def test_resnet50_paper_macs():
    expected = bottleneck_resnet_macs((3, 4, 6, 3), "1x1")
    assert expected == 3_857_973_248
    assert round(expected / 1e9, 3) == 3.858  # published.csv ResNet-50 row: "COMPUTED 3.858 GMACs"
    assert meta_macs("resnet50_paper") == expected
    assert meta_macs("resnet50") == reference_models()["resnet50"]["macs"]  # 4.089 G


@pytest.mark.parametrize("depth", [101, 152])
def test_paper_layout_deeper(depth):
    """published.csv: the stride-on-1×1 layout gives 7.57 / 11.282 GMACs for ResNet-101/152."""
    layers = R.DEPTHS[depth][1]
    macs = meta_macs(f"resnet{depth}", stride_on="1x1")
    assert macs == bottleneck_resnet_macs(layers, "1x1")
    assert abs(macs / 1e9 - {101: 7.57, 152: 11.282}[depth]) < 0.005


# --- the timm-built descendants: ResNet-D, SE-ResNet, ResNet-RS ---------------------------------

@pytest.mark.parametrize("name", TIMM_BUILT)
def test_params_macs_and_state_dict_equal_timm(name):
    with torch.device("meta"):
        model = zoo.build(name)
    ref = reference_models()[name]
    assert n_params(model) == ref["params"]
    assert meta_macs(name, ref["resolution"]) == ref["macs"]
    assert {k: list(v.shape) for k, v in model.state_dict().items()} == state_dict_shapes()[name]


# ResNet-RS-101 and deeper are not checked against timm's logits: under the recipe their forward
# pass is numerically chaotic (errors double every few blocks of layer3), so the same model differs
# from itself by ~20 % between float32 and float64, or between 1 and 2 CPU threads. Their layout is
# ResNet-RS-50's with more repeats; parameters, MACs and every state-dict shape are checked above.
@pytest.mark.parametrize("name", ["resnet50d", "seresnet50", "resnetrs50"])
def test_reproduces_timm_logits(name):
    golden = golden_logits()[name]
    model = zoo.build(name)
    model.load_state_dict(recipe_state_dict(state_dict_shapes()[name]), strict=True)
    with torch.no_grad():
        out = model.eval()(recipe_input(golden["resolution"]))
    expected = torch.tensor(golden["logits"], dtype=torch.float32)
    scale = expected.abs().max().item()
    assert math.isfinite(scale)
    assert (out - expected).abs().max().item() <= 1e-4 * scale


def test_resnet_rs_layout():
    with torch.device("meta"):
        rs = zoo.build("resnetrs50")
    assert [m.out_channels for m in rs.conv1 if isinstance(m, torch.nn.Conv2d)] == [32, 32, 64]
    assert isinstance(rs.maxpool[0], torch.nn.Conv2d) and rs.maxpool[0].stride == (2, 2)
    assert isinstance(rs.layer2[0].downsample[0], torch.nn.AvgPool2d)
    assert rs.layer4[0].se.fc1.out_channels == 2048 // 4
    with torch.device("meta"):
        se = zoo.build("seresnet50")
    assert se.layer4[0].se.fc1.out_channels == 2048 // 16


def test_se_channels():
    assert R.se_channels(256, 0.25) == 64
    assert R.se_channels(2048, 1 / 16) == 128
    assert R.se_channels(100, 1 / 16) == 8  # 6.25 rounds to the divisor, never to 0


# --- overrides and bad arguments ---------------------------------------------------------------

def test_num_classes_override_and_cpu_forward():
    model = zoo.build("resnet50", num_classes=10).eval()
    assert model.fc.out_features == 10
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_meta_build_allocates_nothing():
    with torch.device("meta"):
        model = zoo.build("resnetrs420")
    assert all(p.is_meta for p in model.parameters())


@pytest.mark.parametrize("kwargs", [dict(stride_on="2x2"), dict(downsample="max"), dict(stem="5x5"),
                                    dict(stem_pool="avg"), dict(layers=(3, 4, 6))])
def test_bad_arguments_raise_clear_errors(kwargs):
    with pytest.raises(ValueError):
        with torch.device("meta"):
            zoo.build("resnet50", **kwargs)


def test_unknown_depth():
    with pytest.raises(ValueError, match="depth"):
        R.resnet(42)
