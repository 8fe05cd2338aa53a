"""AlexNet, VGG, SqueezeNet, GoogLeNet and Inception v3: what the registry-wide test does not cover.

The registry-wide test (test_zoo_registry.py) checks the default builds against torchvision:
parameters, state-dict keys and shapes, golden logits. Here: the variants (no auxiliary heads,
training-mode outputs, transform_input, num_classes), the paper tables the code is written from
(expected values typed from the papers, not computed by the code), block counts, and small inputs.
"""
import pytest
import torch
import torch.nn as nn

import zoo
from conftest import state_dict_shapes
from recipe import recipe_state_dict
from zoo import googlenet as gl
from zoo import inception as iv3
from zoo import squeezenet as sq
from zoo import vgg

CLASSIC = ["alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn",
           "vgg19_bn", "squeezenet1_0", "squeezenet1_1", "googlenet", "inception_v3"]


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count(model: nn.Module, cls: type) -> int:
    return sum(type(m) is cls for m in model.modules())


def meta_build(name: str, **overrides) -> nn.Module:
    with torch.device("meta"):
        return zoo.build(name, **overrides)


def recipe_build(name: str, **overrides) -> nn.Module:
    """The model on the CPU with the shared recipe's weights (skips the slow random init; the
    recipe's logits are of a readable size, the default init's are ~1e-12 for GoogLeNet)."""
    model = meta_build(name, **overrides).to_empty(device="cpu")
    model.load_state_dict(recipe_state_dict(state_dict_shapes()[name]))
    return model


# --- metadata ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CLASSIC)
def test_metadata_points_at_existing_reference_rows(name):
    from zoo.registry import published_rows, reference_models
    mi = zoo.info(name)
    assert mi.twin and mi.reference == name and name in reference_models()
    assert mi.published in published_rows(), f"{mi.published} is not a row of assets/published.csv"
    assert mi.paper.arxiv or name == "alexnet"
    assert "params" in mi.figures and "top1" in mi.figures


# --- auxiliary heads -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, with_aux, without_aux", [
    ("googlenet", 13_004_888, 6_624_904),
    ("inception_v3", 27_161_264, 23_834_568),
])
def test_aux_heads_parameter_counts(name, with_aux, without_aux):
    assert n_params(meta_build(name)) == with_aux
    assert n_params(meta_build(name, aux_logits=False)) == without_aux


@pytest.mark.parametrize("name, aux_prefixes", [
    ("googlenet", ("aux1.", "aux2.")),
    ("inception_v3", ("AuxLogits.",)),
])
def test_without_aux_state_dict_is_reference_minus_aux(name, aux_prefixes):
    ours = {k: list(v.shape) for k, v in meta_build(name, aux_logits=False).state_dict().items()}
    ref = {k: v for k, v in state_dict_shapes()[name].items() if not k.startswith(aux_prefixes)}
    assert ours == ref


def test_googlenet_training_outputs_main_aux2_aux1():
    model = recipe_build("googlenet", dropout=0.0, dropout_aux=0.0).train()
    seen = {}
    model.aux1.register_forward_hook(lambda m, i, o: seen.__setitem__("aux1", o))
    model.aux2.register_forward_hook(lambda m, i, o: seen.__setitem__("aux2", o))
    out = model(torch.randn(2, 3, 128, 128))  # the heads pool adaptively: any size works
    assert isinstance(out, tuple) and out._fields == ("logits", "aux_logits2", "aux_logits1")
    assert [tuple(t.shape) for t in out] == [(2, 1000)] * 3
    # each field holds the head it names (aux1 reads inception4a, aux2 reads inception4d)
    assert torch.equal(out.aux_logits1, seen["aux1"])
    assert torch.equal(out.aux_logits2, seen["aux2"])
    assert not torch.equal(out.logits, out.aux_logits1)


def test_inception_v3_training_outputs_main_and_aux():
    model = recipe_build("inception_v3", dropout=0.0).train()
    seen = {}
    model.AuxLogits.register_forward_hook(lambda m, i, o: seen.__setitem__("aux", o))
    out = model(torch.randn(2, 3, 299, 299))
    assert isinstance(out, tuple) and out._fields == ("logits", "aux_logits")
    assert tuple(out.logits.shape) == tuple(out.aux_logits.shape) == (2, 1000)
    assert torch.equal(out.aux_logits, seen["aux"])


@pytest.mark.parametrize("name, res", [("googlenet", 224), ("inception_v3", 299)])
def test_eval_mode_and_no_aux_return_a_tensor(name, res):
    x = torch.empty(2, 3, res, res, device="meta")
    with torch.device("meta"):
        out_eval = zoo.build(name).eval()(x)
        out_train_no_aux = zoo.build(name, aux_logits=False).train()(x)
    assert type(out_eval) is torch.Tensor and tuple(out_eval.shape) == (2, 1000)
    assert type(out_train_no_aux) is torch.Tensor and tuple(out_train_no_aux.shape) == (2, 1000)


# --- transform_input ------------------------------------------------------------------------------

def test_transform_input_maps_imagenet_normalisation_to_minus_one_one():
    pixels = torch.rand(2, 3, 8, 8)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    out = gl.transform_input((pixels - mean) / std)
    torch.testing.assert_close(out, (pixels - 0.5) / 0.5, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name, res", [("googlenet", 64), ("inception_v3", 80)])
def test_transform_input_override_changes_only_the_input(name, res):
    plain = recipe_build(name, transform_input=False).eval()
    tf = recipe_build(name, transform_input=True).eval()
    x = torch.randn(1, 3, res, res, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out_tf, out_plain = tf(x), plain(x)
        torch.testing.assert_close(out_tf, plain(gl.transform_input(x)))
    assert (out_tf - out_plain).abs().max() > 1e-3 * out_plain.abs().max()


# --- num_classes and small inputs ------------------------------------------------------------------

@pytest.mark.parametrize("name", CLASSIC)
def test_num_classes_override(name):
    model = meta_build(name, num_classes=10)
    res = zoo.info(name).resolution
    with torch.device("meta"):
        out = model.eval()(torch.empty(1, 3, res, res))
    assert tuple(out.shape) == (1, 10)
    heads = [m for m in model.modules() if isinstance(m, (gl.InceptionAux, iv3.InceptionAux))]
    for head in heads:
        last = head.fc2 if isinstance(head, gl.InceptionAux) else head.fc
        assert last.out_features == 10


# Smallest sides the layouts allow in eval mode (each pool/stride still leaves >= 1 pixel):
# AlexNet 63 (11×11/4 conv and three 3×3/2 pools), Inception v3 75 (its unpadded stem and
# reductions); the others pool with ceil mode or adaptively.
SMALL = {"alexnet": 63, "vgg11": 32, "vgg13": 32, "vgg16": 32, "vgg19": 32, "vgg11_bn": 32,
         "vgg13_bn": 32, "vgg16_bn": 32, "vgg19_bn": 32, "squeezenet1_0": 32, "squeezenet1_1": 32,
         "googlenet": 32, "inception_v3": 75}


@pytest.mark.parametrize("name", CLASSIC)
def test_small_input_forward_on_meta(name):
    side = SMALL[name]
    model = meta_build(name).eval()
    with torch.device("meta"):
        out = model(torch.empty(1, 3, side, side))
    assert tuple(out.shape) == (1, 1000)


@pytest.mark.parametrize("name", ["alexnet", "vgg11_bn", "squeezenet1_0", "squeezenet1_1",
                                  "googlenet", "inception_v3"])
def test_small_input_forward_real_values(name):
    torch.manual_seed(0)
    model = zoo.build(name).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, SMALL[name], SMALL[name]))
    assert tuple(out.shape) == (2, 1000) and torch.isfinite(out).all()
    assert not torch.equal(out[0], out[1])


def test_inception_v3_below_its_minimum_input_fails_loudly():
    with pytest.raises(RuntimeError):
        with torch.device("meta"):
            meta_build("inception_v3").eval()(torch.empty(1, 3, 64, 64))


# --- the papers' tables ------------------------------------------------------------------------

@pytest.mark.parametrize("config, convs, depth", [("A", 8, 11), ("B", 10, 13), ("D", 13, 16), ("E", 16, 19)])
def test_vgg_table1_configs(config, convs, depth):
    assert vgg.conv_count(config) == convs
    assert vgg.DEPTH_TO_CONFIG[depth] == config
    model = meta_build(f"vgg{depth}")
    assert count(model, nn.Conv2d) == convs and count(model, nn.Linear) == 3
    assert count(model, nn.MaxPool2d) == 5 and count(model, nn.BatchNorm2d) == 0
    assert count(meta_build(f"vgg{depth}_bn"), nn.BatchNorm2d) == convs
    widths = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert sorted(set(widths)) == [64, 128, 256, 512] and widths[-1] == 512


def test_vgg_all_convs_are_3x3_stride_1():
    for m in meta_build("vgg19").modules():
        if isinstance(m, nn.Conv2d):
            assert m.kernel_size == (3, 3) and m.stride == (1, 1) and m.padding == (1, 1)


def test_vgg_unknown_config_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown VGG configuration"):
        vgg.VGG("C")


def test_alexnet_parameters_sit_in_the_linear_layers():
    model = meta_build("alexnet")
    linear = sum(n_params(m) for m in model.modules() if isinstance(m, nn.Linear))
    # 9216·4096 + 4096 + 4096·4096 + 4096 + 4096·1000 + 1000
    assert linear == 58_631_144
    assert [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)] == [64, 192, 384, 256, 256]


def test_squeezenet_fire_modules_table1():
    for name in ("squeezenet1_0", "squeezenet1_1"):
        fires = [m for m in meta_build(name).modules() if isinstance(m, sq.Fire)]
        assert len(fires) == 8
        # Table 1 of the paper: fire2 … fire9 output (e1x1 + e3x3) channels and squeeze widths
        outs = [f.expand1x1.out_channels + f.expand3x3.out_channels for f in fires]
        assert outs == [128, 128, 256, 256, 384, 384, 512, 512]
        assert [f.squeeze.out_channels for f in fires] == [16, 16, 32, 32, 48, 48, 64, 64]
    conv1 = {n: meta_build(n).features[0] for n in ("squeezenet1_0", "squeezenet1_1")}
    assert conv1["squeezenet1_0"].kernel_size == (7, 7) and conv1["squeezenet1_0"].out_channels == 96
    assert conv1["squeezenet1_1"].kernel_size == (3, 3) and conv1["squeezenet1_1"].out_channels == 64


def test_squeezenet_has_no_fully_connected_layer():
    assert count(meta_build("squeezenet1_0"), nn.Linear) == 0


def test_googlenet_nine_inception_modules_with_table1_outputs():
    model = meta_build("googlenet")
    assert count(model, gl.Inception) == 9 and count(model, gl.InceptionAux) == 2
    assert count(meta_build("googlenet", aux_logits=False), gl.InceptionAux) == 0
    # Table 1 of the paper, "output size" depth of inception (3a) … (5b)
    depths = [256, 480, 512, 512, 512, 528, 832, 832, 1024]
    assert [gl.out_channels(row) for row in gl.TABLE1] == depths
    seen = []
    for name, _ in ((row[0], row) for row in gl.TABLE1):
        getattr(model, name).register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape[1:])))
    with torch.device("meta"):
        model.eval()(torch.empty(1, 3, 224, 224))
    sides = [28, 28, 14, 14, 14, 14, 14, 7, 7]
    assert seen == [(c, s, s) for c, s in zip(depths, sides)]


def test_inception_v3_block_counts_and_grid_sizes():
    model = meta_build("inception_v3")
    counts = {cls.__name__: count(model, cls) for cls in
              (iv3.InceptionA, iv3.InceptionB, iv3.InceptionC, iv3.InceptionD, iv3.InceptionE, iv3.InceptionAux)}
    assert counts == {"InceptionA": 3, "InceptionB": 1, "InceptionC": 4, "InceptionD": 1,
                      "InceptionE": 2, "InceptionAux": 1}
    assert all(m.bn.eps == 0.001 for m in model.modules() if isinstance(m, gl.BasicConv2d))
    seen = {}
    for name, _, _ in iv3.MIXED:
        getattr(model, name).register_forward_hook(
            lambda m, i, o, name=name: seen.__setitem__(name, tuple(o.shape[1:])))
    with torch.device("meta"):
        model.eval()(torch.empty(1, 3, 299, 299))
    # 35×35 → 17×17 → 8×8 grids (Table 1 of the paper; channels as in the TF release)
    assert seen == {
        "Mixed_5b": (256, 35, 35), "Mixed_5c": (288, 35, 35), "Mixed_5d": (288, 35, 35),
        "Mixed_6a": (768, 17, 17), "Mixed_6b": (768, 17, 17), "Mixed_6c": (768, 17, 17),
        "Mixed_6d": (768, 17, 17), "Mixed_6e": (768, 17, 17), "Mixed_7a": (1280, 8, 8),
        "Mixed_7b": (2048, 8, 8), "Mixed_7c": (2048, 8, 8),
    }


def test_inception_v3_factorised_kernels():
    model = meta_build("inception_v3")
    c = model.Mixed_6b
    assert c.branch7x7_2.conv.kernel_size == (1, 7) and c.branch7x7_3.conv.kernel_size == (7, 1)
    e = model.Mixed_7b
    assert e.branch3x3_2a.conv.kernel_size == (1, 3) and e.branch3x3_2b.conv.kernel_size == (3, 1)


# --- multiply-accumulates -------------------------------------------------------------------------

@pytest.mark.parametrize("name", CLASSIC)
def test_macs_equal_reference(name):
    """torch FlopCounterMode total / 2 on the meta device, at the reference resolution: the way
    assets/models.json measured torchvision's models (aux heads skipped in eval mode)."""
    from torch.utils.flop_counter import FlopCounterMode
    from zoo.registry import reference_models
    ref = reference_models()[name]
    model = meta_build(name).eval()
    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, ref["resolution"], ref["resolution"]))
    assert counter.get_total_flops() // 2 == ref["macs"]
