"""zoo.analyze: per-layer counts checked by hand on a toy net, totals against the references
(models.json), PyTorch's FlopCounterMode and torchinfo, and the outputs the engine allocates
itself against PyTorch's meta kernels.
"""
import subprocess
import sys
import threading

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import zoo
from conftest import ROOT, reference_models
from zoo.analysis import KINDS, Analysis, build_meta
from zoo.layers import SqueezeExcitation

ALL = zoo.list_models()
WITH_REFERENCE = [n for n in ALL if zoo.info(n).reference in reference_models()]


# --- a toy net with one of everything, small enough to count by hand -----------------------

class BasicBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x
        return self.relu(out)


class MBConv(nn.Module):
    def __init__(self, c_in, hidden, c_out):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU())
        self.dw = nn.Sequential(nn.Conv2d(hidden, hidden, 3, 2, 1, groups=hidden, bias=False),
                                nn.BatchNorm2d(hidden), nn.ReLU())
        self.se = SqueezeExcitation(hidden, 4)
        self.project = nn.Sequential(nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        return self.project(self.se(self.dw(self.expand(x))))


class Fire(nn.Module):
    def __init__(self, c_in, s, e):
        super().__init__()
        self.squeeze = nn.Conv2d(c_in, s, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(s, e, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(s, e, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


def channel_shuffle(x, groups):
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(b, c, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.branch2 = nn.Sequential(nn.Conv2d(c // 2, c // 2, 1, bias=False), nn.BatchNorm2d(c // 2),
                                     nn.ReLU(inplace=True))

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat((x1, self.branch2(x2)), dim=1), 2)


class Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 2, 1, bias=False)   # 32² -> 16²
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(8))
        self.layer2 = nn.Sequential(MBConv(8, 16, 16), Fire(16, 8, 8), ShuffleUnit(16))  # -> 8²
        self.grouped = nn.Conv2d(16, 16, 3, 1, 1, groups=4, bias=False)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(16, 10)
        self.aux = nn.Linear(16, 10)  # only in training, like an auxiliary classifier

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        x = self.avgpool(self.grouped(x))
        x = torch.flatten(x, 1)
        if self.training:
            return self.fc(self.dropout(x)), self.aux(x)
        return self.fc(self.dropout(x))


# Counted by hand: out positions × C_out × (C_in / groups) × k².
TOY_MACS = {
    "conv1": 16 * 16 * 8 * 3 * 9,                       # 55,296
    "layer1.0.conv1": 16 * 16 * 8 * 8 * 9,              # 147,456
    "layer1.0.conv2": 16 * 16 * 8 * 8 * 9,
    "layer2.0.expand.0": 16 * 16 * 16 * 8,              # 32,768
    "layer2.0.dw.0": 8 * 8 * 16 * 1 * 9,                # 9,216 (depthwise, stride 2)
    "layer2.0.se.fc1": 4 * 16,
    "layer2.0.se.fc2": 16 * 4,
    "layer2.0.project.0": 8 * 8 * 16 * 16,              # 16,384
    "layer2.1.squeeze": 8 * 8 * 8 * 16,                 # 8,192
    "layer2.1.expand1x1": 8 * 8 * 8 * 8,                # 4,096
    "layer2.1.expand3x3": 8 * 8 * 8 * 8 * 9,            # 36,864
    "layer2.2.branch2.0": 8 * 8 * 8 * 8,                # 4,096
    "grouped": 8 * 8 * 16 * (16 // 4) * 9,              # 36,864
    "fc": 16 * 10,
}
TOY_PARAMS = (216 + 16                                   # stem conv, bn
              + 2 * 576 + 2 * 16                         # basic block
              + 128 + 32 + 144 + 32 + (64 + 4) + (64 + 16) + 256 + 32   # MBConv with SE
              + (128 + 8) + (64 + 8) + (576 + 8)         # Fire (biases)
              + 64 + 16                                  # shuffle unit branch
              + 576 + 170                                # grouped conv, fc
              + 170)                                     # aux head (not run in eval)


@pytest.fixture(scope="module")
def toy() -> Analysis:
    return zoo.analyze(Toy(), 32)


def layer(a: Analysis, name: str):
    matches = [x for x in a.layers if x.name == name]
    assert len(matches) == 1, f"{name}: {[x.name for x in a.layers]}"
    return matches[0]


def test_toy_macs_by_hand(toy):
    for name, macs in TOY_MACS.items():
        assert layer(toy, name).macs == macs, name
    assert toy.total_macs == sum(TOY_MACS.values()) == 498_976
    assert toy.total_flops == 2 * 498_976
    assert all(x.flops == 2 * x.macs for x in toy.layers)
    # only convolutions and matrix products have MACs
    assert {x.kind for x in toy.layers if x.macs} <= {"conv", "pointwise", "depthwise", "grouped", "linear", "se"}


def test_toy_params_and_unused_aux_head(toy):
    assert toy.total_params == TOY_PARAMS == sum(p.numel() for p in Toy().parameters())
    assert toy.unused_params == 170  # the aux head does not run in eval
    assert sum(x.params for x in toy.layers) == TOY_PARAMS - 170


def test_toy_kinds(toy):
    expected = {
        "conv1": "conv", "bn1": "norm", "relu": "act", "layer1.0.add": "add",
        "layer2.0.expand.0": "pointwise", "layer2.0.dw.0": "depthwise",
        "layer2.0.se.avgpool": "se", "layer2.0.se.fc1": "se", "layer2.0.se.mul": "se",
        "layer2.1.cat": "concat", "layer2.2.cat": "concat", "layer2.2.channel_shuffle": "shuffle",
        "grouped": "grouped", "avgpool": "pool", "dropout": "other", "fc": "linear",
    }
    for name, kind in expected.items():
        assert layer(toy, name).kind == kind, name
    assert layer(toy, "layer2.0.se.fc1").base_kind == "pointwise"
    assert all(x.kind in KINDS for x in toy.layers)
    # views (flatten, chunk, the shuffle's view/transpose) are not layers of their own
    assert not [x for x in toy.layers if x.op in ("flatten", "view", "chunk", "transpose")]


def test_toy_shapes_kernels_and_groups(toy):
    c = layer(toy, "conv1")
    assert (c.in_shape, c.out_shape, c.kernel, c.stride, c.groups) == ((1, 3, 32, 32), (1, 8, 16, 16), (3, 3), (2, 2), 1)
    dw = layer(toy, "layer2.0.dw.0")
    assert (dw.out_shape, dw.groups, dw.stride) == ((1, 16, 8, 8), 16, (2, 2))
    assert layer(toy, "grouped").groups == 4
    # the shuffle reads and writes (B, C, H, W), not the 5-D view in between
    sh = layer(toy, "layer2.2.channel_shuffle")
    assert sh.in_shape == sh.out_shape == (1, 16, 8, 8)
    cat = layer(toy, "layer2.1.cat")
    assert cat.in_shapes == ((1, 8, 8, 8), (1, 8, 8, 8)) and cat.out_shape == (1, 16, 8, 8)
    assert toy.input_shape == (1, 3, 32, 32) and toy.output_shape == (1, 10)


def test_toy_dataflow(toy):
    """`inputs` name the layers whose outputs a layer read (-1: the model input)."""
    idx = {x.name: x.index for x in toy.layers}
    assert layer(toy, "conv1").inputs == (-1,)
    add = layer(toy, "layer1.0.add")
    assert set(add.inputs) == {idx["layer1.0.bn2"], idx["relu"]}  # residual: branch + identity
    fire = layer(toy, "layer2.1.cat")
    assert fire.inputs == (idx["layer2.1.expand1x1_activation"], idx["layer2.1.expand3x3_activation"])
    # ShuffleNet v2 channel split: half the input goes straight to the concat
    split = layer(toy, "layer2.2.cat")
    assert split.inputs == (idx["layer2.1.cat"], idx["layer2.2.branch2.2"])
    assert layer(toy, "layer2.2.branch2.0").inputs == (idx["layer2.1.cat"],)
    se = layer(toy, "layer2.0.se.mul")
    assert set(se.inputs) == {idx["layer2.0.se.scale_activation"], idx["layer2.0.dw.2"]}
    assert layer(toy, "fc").inputs == (idx["dropout"],)


def test_toy_memory(toy):
    # ShuffleNet v2 memory access of a 1×1 conv: hw(c1 + c2) + c1·c2
    assert layer(toy, "layer2.0.expand.0").mem_access == 16 * 16 * (8 + 16) + 8 * 16 == 6272
    # a 3×3 conv: input + output + weights
    assert layer(toy, "conv1").mem_access == 3 * 32 * 32 + 8 * 16 * 16 + 216
    # batch norm in eval reads its running statistics too
    assert layer(toy, "bn1").mem_access == 2 * 8 * 16 * 16 + 4 * 8
    # an add reads two tensors and writes one
    assert layer(toy, "layer1.0.add").mem_access == 3 * 8 * 16 * 16
    assert layer(toy, "layer1.0.add").act_bytes == 4 * 8 * 16 * 16
    # dropout in eval and flatten write nothing
    d = layer(toy, "dropout")
    assert (d.act_bytes, d.mem_access, d.macs) == (0, 0, 0)
    assert all(x.act_bytes == 4 * x.act_elems for x in toy.layers)


def test_toy_blocks_and_stages(toy):
    assert layer(toy, "conv1").stage == "stem" and layer(toy, "relu").block_type == "stem"
    c = layer(toy, "layer1.0.conv1")
    assert (c.block, c.block_type, c.stage) == ("layer1.0", "BasicBlock", "layer1")
    assert layer(toy, "layer1.0.add").block == "layer1.0"
    assert layer(toy, "layer2.0.se.fc1").block_type == "MBConv"  # SE is part of its block
    assert layer(toy, "layer2.2.channel_shuffle").block_type == "ShuffleUnit"
    assert [layer(toy, n).stage for n in ("grouped", "avgpool", "fc")] == ["head"] * 3
    assert [r["group"] for r in toy.by_stage()] == ["stem", "layer1", "layer2", "head"]
    assert toy.blocks() == ["layer1.0", "layer2.0", "layer2.1", "layer2.2"]


@pytest.mark.parametrize("name,stages,types", [
    ("resnet50", ["stem", "layer1", "layer2", "layer3", "layer4", "head"], {"Bottleneck": 16}),
    ("efficientnet_b0", ["stem", *[f"features.{i}" for i in range(1, 8)], "head"], {"MBConv": 16}),
    ("mobilenet_v2", ["stem", *[f"features.{i}" for i in range(1, 18)], "head"], {"InvertedResidual": 17}),
    ("shufflenet_v2_x1_0", ["stem", "stage2", "stage3", "stage4", "head"], {"ShuffleUnit": 16}),
    ("inception_v3", ["stem", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                      "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c", "head"],
     {"InceptionA": 3, "InceptionB": 1, "InceptionC": 4, "InceptionD": 1, "InceptionE": 2}),
    ("vgg16", ["features", "avgpool", "classifier"], {}),
])
def test_stages_and_blocks_of_real_models(name, stages, types):
    a = zoo.analyze(name)
    assert [r["group"] for r in a.by_stage()] == stages
    counts = {}
    for b in a.blocks():
        t = next(x.block_type for x in a.layers if x.block == b)
        counts[t] = counts.get(t, 0) + 1
    assert counts == types


def test_rollups_sum_to_totals(toy):
    for rows in (toy.by_stage(), toy.by_block(), toy.by_kind(), toy.by_depth(1), toy.by_depth(2)):
        assert sum(r["macs"] for r in rows) == toy.total_macs
        assert sum(r["params"] for r in rows) == toy.total_params - toy.unused_params
        assert sum(r["mem_access"] for r in rows) == toy.total_mem_access
        assert sum(r["act_bytes"] for r in rows) == toy.total_act_bytes
        assert sum(r["layers"] for r in rows) == len(toy.layers)
    kinds = {r["group"]: r for r in toy.by_kind()}
    assert list(kinds) == [k for k in KINDS if k in kinds]
    assert kinds["se"]["macs"] == 128 and kinds["depthwise"]["macs"] == 9216
    assert kinds["add"]["macs"] == 0 and kinds["add"]["mem_access"] == 3 * 8 * 16 * 16
    depth1 = {r["group"]: r for r in toy.by_depth(1)}
    assert depth1["layer1"]["type"] == "Sequential" and depth1["layer1"]["out_shape"] == (1, 8, 16, 16)
    assert depth1["layer2"]["macs"] == sum(v for k, v in TOY_MACS.items() if k.startswith("layer2"))


def test_records_are_flat_rows(toy):
    import pandas as pd

    df = pd.DataFrame(toy.records())
    assert len(df) == len(toy.layers)
    for col in ("name", "block", "block_type", "stage", "kind", "kernel", "stride", "groups",
                "in_shape", "out_shape", "params", "macs", "flops", "act_elems", "act_bytes", "mem_access"):
        assert col in df.columns
    assert df["macs"].sum() == toy.total_macs


class Functional(nn.Module):
    """Work written with torch.nn.functional in a module's own forward, weights held directly."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 3, 3, 3))
        self.register_buffer("mean", torch.zeros(4))
        self.register_buffer("var", torch.ones(4))
        self.act = nn.ReLU()

    def forward(self, x):
        x = F.conv2d(x, self.weight, padding=1)        # (1, 3, 8, 8) -> (1, 4, 8, 8)
        x = F.batch_norm(x, self.mean, self.var)
        x = F.max_pool2d(self.act(x), 2)               # -> (1, 4, 4, 4)
        return x.mean((2, 3)) * 2.0                    # -> (1, 4)


def test_functional_layers_and_weights_held_directly():
    a = zoo.analyze(Functional(), 8)
    assert [(x.name, x.kind) for x in a.layers] == [
        ("conv2d", "conv"), ("batch_norm", "norm"), ("act", "act"), ("max_pool2d", "pool"),
        ("mean", "pool"), ("mul", "mul")]
    conv, bn, act, pool, mean, mul = a.layers
    assert conv.macs == 8 * 8 * 4 * 3 * 9 and conv.kernel == (3, 3) and conv.groups == 1
    assert conv.params == 108 == a.total_params and a.unused_params == 0  # the module's own weight
    assert conv.inputs == (-1,) and bn.inputs == (0,)   # weights and statistics are not inputs...
    assert conv.mem_access == 3 * 64 + 4 * 64 + 108     # ...but they are read
    assert bn.mem_access == 2 * 4 * 64 + 2 * 4
    assert pool.kernel == (2, 2) and pool.out_shape == (1, 4, 4, 4)
    assert mean.out_shape == (1, 4) and mul.inputs == (4,)


def test_real_weights_are_left_alone():
    model = Toy()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    a = zoo.analyze(model, 32)
    assert a.total_macs == 498_976
    assert model.training  # mode restored
    after = model.state_dict()
    assert all(after[k].device.type == "cpu" and torch.equal(after[k], v) for k, v in before.items())


def test_meta_model_mode_restored():
    with torch.device("meta"):
        model = Toy()
    model.train()
    assert zoo.analyze(model, 32).total_macs == 498_976
    assert all(m.training for m in model.modules())


def torch_leaf_shapes(model: nn.Module, x: torch.Tensor) -> list:
    """(module name, output shape) of every leaf module call, from a plain forward on meta:
    PyTorch's own meta kernels, no engine."""
    seen = []
    leaves = [(n, m) for n, m in model.named_modules() if next(m.children(), None) is None]
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: seen.append((n, tuple(o.shape)))) for n, m in leaves]
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for h in hooks:
            h.remove()
    return seen, out


def engine_leaf_shapes(a: Analysis, model: nn.Module) -> list:
    leaves = {n for n, m in model.named_modules() if next(m.children(), None) is None}
    return [(x.name, x.out_shape) for x in a.layers if x.name in leaves]


def test_shapes_equal_pytorch_meta_kernels():
    """Where the engine allocates an op's output itself (elementwise ops, concatenation, means),
    every layer's shape is the one PyTorch's own meta kernels give."""
    with torch.device("meta"):
        m = Toy().eval()
    expected, out = torch_leaf_shapes(m, torch.empty(1, 3, 32, 32, device="meta"))
    a = zoo.analyze(m, 32)
    assert engine_leaf_shapes(a, m) == expected and a.output_shape == tuple(out.shape)


@pytest.mark.parametrize("name,res", [
    ("resnet18", 224), ("googlenet", 224), ("inception_v3", 299), ("squeezenet1_0", 227),
    ("mobilenet_v3_small", 224), ("shufflenet_v2_x0_5", 224), ("efficientnet_b0", 224),
    ("efficientnet_lite0", 225), ("inception_resnet_v2", 299), ("resnetrs50", 160),
    ("vgg11_bn", 64), ("alexnet", 224), ("inception_v4", 299), ("mobilenet_v1", 193),
    ("resnet50d", 161), ("seresnet50", 97), ("inception_resnet_v1", 160), ("plain18", 64),
])
def test_shapes_equal_pytorch_meta_kernels_registry(name, res):
    model = build_meta(name)
    expected, out = torch_leaf_shapes(model, torch.empty(1, 3, res, res, device="meta"))
    a = zoo.analyze(name, res)
    assert engine_leaf_shapes(a, model) == expected
    assert a.output_shape == tuple(out.shape)


def test_errors_are_clear():
    with pytest.raises(KeyError, match="unknown model"):
        zoo.analyze("resnet9000")
    with pytest.raises(ValueError, match="alexnet cannot run at 16×16"):
        zoo.analyze("alexnet", 16)
    for bad in (0, -1, 2.5, "224", (224, 0), True):
        with pytest.raises(ValueError, match="resolution"):
            zoo.analyze("resnet18", bad)
    with pytest.raises(TypeError):
        zoo.analyze(42)


def test_resolution_and_overrides():
    a = zoo.analyze("resnet18", (224, 160))
    assert a.input_shape == (1, 3, 224, 160) and a.layers[0].out_shape == (1, 64, 112, 80)
    # a builder's own resolution is used when overrides change it (EfficientNet φ = 1: 258 px)
    e = zoo.analyze("efficientnet", phi=1)
    assert e.resolution == 258 and e.input_shape == (1, 3, 258, 258)
    # resolution scales a fully convolutional trunk's MACs with the pixel count (ResNet at 448)
    small, big = zoo.analyze("vgg16", 224), zoo.analyze("vgg16", 448)
    conv = lambda a: sum(x.macs for x in a.layers if x.kind != "linear")  # noqa: E731
    assert conv(big) == 4 * conv(small)


def test_stays_off_pytorchs_slow_meta_paths():
    """Speed, without a stopwatch: on the meta device PyTorch runs weight initialisation, batch
    norm, torch.cat and means through Python reference code whose first call imports
    torch._dynamo (seconds). The engine skips initialisation and allocates those outputs itself,
    so analysing every registered model in a fresh process never imports it. (sympy is imported
    all the same: torch's own meta kernel for convolutions needs it.)"""
    code = ("import sys, zoo\n"
            "for n in zoo.list_models(): zoo.analyze(n)\n"
            "print(sorted(m for m in ('torch._dynamo', 'sympy', 'torch._refs') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "torch._dynamo" not in p.stdout, p.stdout


def test_two_threads_do_not_mix():
    results = {}

    def run(name):
        results[name] = zoo.analyze(name).total_macs

    threads = [threading.Thread(target=run, args=(n,)) for n in ("resnet50", "mobilenet_v2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ref = reference_models()
    assert results == {"resnet50": ref["resnet50"]["macs"], "mobilenet_v2": ref["mobilenet_v2"]["macs"]}


# --- the registry against the references ---------------------------------------------------

@pytest.mark.parametrize("name", WITH_REFERENCE)
def test_totals_equal_reference(name):
    ref = reference_models()[zoo.info(name).reference]
    a = zoo.analyze(name, resolution=ref["resolution"])
    assert a.total_macs == ref["macs"]
    assert a.total_params == ref["params"]


@pytest.mark.parametrize("name", ALL)
def test_every_model_analyzes(name):
    a = zoo.analyze(name)
    assert a.output_shape == (1, 1000)
    assert a.resolution == zoo.info(name).resolution
    assert sum(x.params for x in a.layers) + a.unused_params == a.total_params
    assert a.total_macs > 0 and all(x.kind in KINDS for x in a.layers)
    assert [r["group"] for r in a.by_stage()][-1] in ("head", "classifier")
    assert sum(r["macs"] for r in a.by_block()) == a.total_macs


# --- cross-checks against other counters ----------------------------------------------------

def flop_counter_macs(name: str, res: int) -> int:
    model = build_meta(name).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(torch.empty(1, 3, res, res, device="meta"))
    return fc.get_total_flops() // 2


@pytest.mark.parametrize("name,res", [
    ("alexnet", 224), ("vgg11_bn", 224), ("googlenet", 224), ("inception_v3", 299),
    ("inception_v4", 299), ("inception_resnet_v1", 299), ("resnet50_paper", 224), ("plain34", 224),
    ("resnet50", 160), ("seresnet50", 224), ("resnetrs50", 224), ("squeezenet1_1", 224),
    ("mobilenet_v1", 192), ("mobilenet_v3_large", 224), ("shufflenet_v2_x1_0", 224),
    ("efficientnet_b1", 256), ("efficientnet_lite2", 260), ("efficientnet", 240),
])
def test_macs_equal_flop_counter_mode(name, res):
    """PyTorch's FlopCounterMode counts 2 FLOPs per multiply-accumulate of convolutions and
    matrix products, exactly our convention: equal at any resolution, on models without a
    reference figure too."""
    assert zoo.analyze(name, res).total_macs == flop_counter_macs(name, res)


@pytest.mark.parametrize("name", ["resnet18", "squeezenet1_0", "alexnet", "mobilenet_v3_small"])
def test_torchinfo_difference_is_explained(name):
    """torchinfo's "mult-adds" differ from MACs systematically: for each leaf module it counts
    (weight + bias) × output positions for Conv*, and batch × all parameters for every other
    module with parameters. So it adds a convolution's bias (one add per output element), a
    linear layer's bias, and batch norm's scale and shift (2·C, though batch norm is elementwise
    work on every activation, not C multiply-adds). Ours = FlopCounterMode / 2; theirs = ours +
    those terms, exactly."""
    torchinfo = pytest.importorskip("torchinfo")
    model = build_meta(name).eval()
    res = zoo.info(name).resolution
    stats = torchinfo.summary(model, input_size=(1, 3, res, res), device="meta", verbose=0)
    a = zoo.analyze(name, res)
    modules = dict(model.named_modules())
    extra = 0
    for x in a.layers:
        m = modules.get(x.name)
        if m is None or not any(True for _ in m.parameters(recurse=False)):
            continue
        bias = getattr(m, "bias", None)
        if isinstance(m, nn.modules.conv._ConvNd):
            extra += (x.act_elems if bias is not None else 0)  # bias × output positions × C_out
        else:  # Linear bias, BatchNorm weight + bias
            extra += x.params if not isinstance(m, nn.Linear) else (bias.numel() if bias is not None else 0)
    assert extra > 0
    assert stats.total_mult_adds == a.total_macs + extra


# --- building on meta, and torch left as it was ---------------------------------------------

def _state(m: nn.Module) -> list:
    """A module's state without tensor values: its attributes in order, parameters and buffers."""
    def meta(t):
        return None if t is None else (type(t), tuple(t.shape), t.dtype, t.device.type, t.requires_grad)
    plain = [(k, v) for k, v in m.__dict__.items() if k not in ("_parameters", "_buffers", "_modules")]
    return [plain, [(k, meta(t)) for k, t in m._parameters.items()],
            [(k, meta(t)) for k, t in m._buffers.items()], sorted(m._non_persistent_buffers_set)]


@pytest.mark.parametrize("make", [
    lambda: nn.Conv2d(8, 16, 3),
    lambda: nn.Conv2d(8, 16, (1, 7), stride=(1, 2), padding=(0, 3), bias=False),
    lambda: nn.Conv2d(8, 8, 3, 2, 1, groups=8, dilation=2),
    lambda: nn.Conv2d(8, 16, 3, padding="same"),
    lambda: nn.BatchNorm2d(16),
    lambda: nn.BatchNorm2d(16, eps=1e-3, momentum=None, affine=False),
    lambda: nn.BatchNorm2d(16, track_running_stats=False, bias=False),
    lambda: nn.Linear(8, 4),
    lambda: nn.MultiheadAttention(16, 4),
    lambda: nn.ReLU(inplace=True),
])
def test_skipping_initialisation_gives_torchs_state(make):
    """Built with weight initialisation skipped (SkipInit), a module has the attributes (in order),
    parameters and buffers torch's own constructor gives on meta."""
    from zoo.analysis.trace import SkipInit
    with torch.device("meta"):
        ref = make()
    with torch.device("meta"), SkipInit():
        got = make()
    assert _state(got) == _state(ref)


def test_torch_is_left_as_it_was():
    """No attribute of a torch class or of torch.nn.init is replaced, not even while analysing,
    the garbage collector stays on, and no hook is left on a module."""
    import gc
    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.nn.modules.conv import _ConvNd

    watched = (nn.Module, nn.Conv2d, _ConvNd, _BatchNorm, nn.BatchNorm2d, nn.Linear, torch.Tensor)
    before = [dict(vars(c)) for c in watched] + [dict(vars(nn.init)), dict(vars(F))]
    during = []

    class Spy(nn.Module):
        def forward(self, x):
            during.append(([dict(vars(c)) for c in watched] + [dict(vars(nn.init)), dict(vars(F))],
                           gc.isenabled()))
            return x

    with torch.device("meta"):  # a meta model is traced in place: hooks go on its own modules
        model = nn.Sequential(Toy(), Spy())
    zoo.analyze(model, 32)
    zoo.analyze("resnet18", 64)
    assert during and all(d == before and on for d, on in during)
    assert [dict(vars(c)) for c in watched] + [dict(vars(nn.init)), dict(vars(F))] == before
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())



def test_global_hooks_last_only_as_long_as_a_trace():
    """The trace's module hooks are torch's global ones: held while a trace runs, removed after
    it, also when the model cannot run at the resolution."""
    from zoo.analysis import trace
    zoo.analyze("resnet18", 64)
    with pytest.raises(ValueError, match="cannot run"):
        zoo.analyze(nn.Sequential(nn.Conv2d(3, 4, 7)), 4)
    assert trace._hooks == {"traces": 0, "handles": ()}

class _Leaves(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding="same"), nn.BatchNorm2d(8), nn.ReLU6(inplace=True),
            nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4), nn.Hardswish(),
            nn.Conv2d(8, 8, 3, padding=1, padding_mode="reflect"), nn.SiLU(inplace=True),
            nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.Sigmoid(),
            nn.MaxPool2d(3, 2, 1, ceil_mode=True), nn.AvgPool2d(2, count_include_pad=False),
            nn.Hardsigmoid(), nn.Identity(), nn.Dropout(0.3), nn.AdaptiveAvgPool2d((2, 1)),
            nn.Flatten(), nn.Linear(16, 5), nn.ReLU())
        self.unbatched = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        return self.body(x), self.unbatched(x[0])


def test_torchs_standard_leaves_equal_its_kernels_and_flop_counter():
    """String padding, a padding mode, dilation, ceil mode, an unbatched input: every layer's
    shape is PyTorch's, and the MACs are FlopCounterMode's / 2."""
    x = torch.empty(1, 3, 19, 19, device="meta")
    with torch.device("meta"):
        m = _Leaves().eval()
    expected, out = torch_leaf_shapes(m, x)
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        m(x)
    a = zoo.analyze(m, 19)
    assert engine_leaf_shapes(a, m) == expected
    assert a.total_macs == fc.get_total_flops() // 2 and not a.uncounted
    assert [r.kind for r in a.layers][:4] == ["conv", "norm", "act", "grouped"]
    assert a.layers[-1].name == "unbatched" and a.layers[-1].out_shape == (4, 19, 19)
