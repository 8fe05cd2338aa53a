"""zoo.experiments at tiny sizes: the benchmarks measure what they claim, the training run runs.

Expected values are written out by hand (channel pairs, MAC formulas, layer counts); the timing
itself is only checked for being a positive, finite number.
"""
import math

import pytest
import torch
import torch.nn as nn

from zoo import experiments as X


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    with X.torch_threads(1) as used:
        assert used == 1 == torch.get_num_threads()
    assert torch.get_num_threads() == before


def test_machine_label_names_processor_and_threads():
    m = X.machine(threads=3)
    assert m["threads"] == 3 and m["processor"]
    label = X.machine_label(m)
    assert m["processor"] in label and "3 torch threads" in label


def test_conv_macs_by_hand():
    net = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, bias=False), nn.Conv2d(8, 8, 1, groups=2, bias=False))
    # 6×6 output: 36·8·4·9 + 36·8·(8/2)·1
    assert X.conv_macs(net, torch.zeros(1, 4, 6, 6)) == 36 * 8 * 4 * 9 + 36 * 8 * 4


def test_g1_channel_pairs_hold_macs_constant():
    assert [X.g1_channels(r) for r in (1, 2, 6, 12)] == [(128, 128), (90, 180), (52, 312), (36, 432)]
    for scale in (1, 2, 4):
        products = [math.prod(X.g1_channels(r, scale)) for r in (1, 2, 6, 12)]
        assert max(products) / min(products) < 1.06  # flooring c1 costs at most ~5 %


def test_run_g1_tiny():
    rows = X.run_g1(ratios=(1, 6), scales=(1,), size=4, blocks=1, budget_s=0.0, threads=1)
    assert [(r["ratio"], r["c1"], r["c2"]) for r in rows] == [("1:1", 128, 128), ("1:6", 52, 312)]
    for r in rows:
        assert r["macs"] == 2 * 4 * 4 * r["c1"] * r["c2"]                       # two 1×1 convs, 4×4 map
        assert r["mem_access"] == 2 * (16 * (r["c1"] + r["c2"]) + r["c1"] * r["c2"])
        assert r["images_per_s"] > 0 and math.isfinite(r["images_per_s"]) and r["threads"] == 1
    # equal widths move the least memory at (nearly) equal MACs: guideline 1's arithmetic
    assert rows[0]["mem_access"] < rows[1]["mem_access"]


def test_g2_widths_and_macs():
    assert [X.g2_channels(g) for g in (1, 2, 4, 8)] == [128, 180, 256, 360]
    rows = X.run_g2(groups=(1, 8), size=2, blocks=1, budget_s=0.0)
    net = X.GroupedPointwise(360, 8, blocks=1)
    assert X.conv_macs(net, torch.zeros(1, 360, 2, 2)) == rows[1]["macs"] == 2 * 4 * 360 * 360 // 8


def test_g3_parallel_split_has_the_macs_and_output_of_one_conv():
    x = torch.randn(1, 16, 5, 5)
    one, par = X.Fragmented(16, 1), X.Fragmented(16, 4, "parallel")
    assert par(x).shape == one(x).shape == (1, 16, 5, 5)
    assert X.conv_macs(par, x) == X.conv_macs(one, x) == 25 * 16 * 16
    with pytest.raises(ValueError):
        X.Fragmented(10, 4, "parallel")
    rows = X.run_g3(base=16, size=2, blocks=1, budget_s=0.0)
    assert [r["variant"] for r in rows] == ["1-fragment", "2-fragment-series", "4-fragment-series",
                                            "2-fragment-parallel", "4-fragment-parallel"]
    assert [r["kernels_launched"] for r in rows] == [1, 2, 4, 2, 4]


def test_g4_variants_share_macs_and_differ_in_elementwise_work():
    x = torch.randn(1, 32, 4, 4)
    torch.manual_seed(0)
    full = X.BottleneckUnit(32, 8)
    bare = X.BottleneckUnit(32, 8, relu=False, shortcut=False)
    bare.load_state_dict(full.state_dict())
    assert X.conv_macs(full, x) == X.conv_macs(bare, x) == 16 * (32 * 8 + 8 * 8 * 9 + 8 * 32)
    assert not torch.allclose(full(x), bare(x))
    assert torch.allclose(bare(x), bare.conv3(bare.conv2(bare.conv1(x))))
    rows = X.run_g4(c=32, mid=8, size=2, blocks=1, budget_s=0.0)
    assert [r["variant"] for r in rows] == [v[0] for v in X.G4_VARIANTS]
    assert rows[0]["time_saved"] == 0.0


@pytest.mark.parametrize("depth", [8, 20, 32])
def test_cifar_net_has_depth_weight_layers(depth):
    for shortcut in (False, True):
        net = X.cifar_net(depth, width=4, shortcut=shortcut)
        assert len(X.weight_layers(net)) == depth  # 1 conv + 6n convs + 1 fc, projections aside
        assert net(torch.randn(2, 3, 8, 8)).shape == (2, 10)
    plain = X.cifar_net(depth, width=4, shortcut=False)
    assert not any("downsample" in n for n, _ in plain.named_modules())
    with pytest.raises(ValueError):
        X.cifar_net(21)


def test_plain_and_residual_differ_only_by_shortcuts():
    torch.manual_seed(0)
    res = X.cifar_net(8, width=4, shortcut=True)
    plain = X.cifar_net(8, width=4, shortcut=False)
    shared = {k: v for k, v in res.state_dict().items() if "downsample" not in k}
    assert plain.load_state_dict(shared, strict=True)
    x = torch.randn(2, 3, 8, 8)
    res.eval(), plain.eval()
    assert not torch.allclose(res(x), plain(x))


def test_gradient_norms_one_row_per_layer_in_depth_order():
    torch.manual_seed(0)
    net = X.cifar_net(8, width=4, shortcut=False)
    rows = X.gradient_norms(net, torch.randn(4, 3, 8, 8))
    assert [r["index"] for r in rows] == list(range(1, 9))
    assert rows[0]["name"] == "conv1" and rows[-1]["name"] == "fc"
    assert all(r["grad_norm"] > 0 and math.isfinite(r["grad_norm"]) for r in rows)
    again = X.gradient_norms(net, torch.randn(4, 3, 8, 8).zero_() + 0)  # grads are cleared between calls
    assert all(p.grad is None for p in net.parameters())
    assert len(again) == 8


def test_texture_task_is_deterministic_and_balanced():
    a, la = X.texture_task(n=40, size=8, seed=3)
    b, lb = X.texture_task(n=40, size=8, seed=3)
    assert a.shape == (40, 3, 8, 8) and torch.equal(a, b) and torch.equal(la, lb)
    assert torch.bincount(la, minlength=10).tolist() == [4] * 10
    c, _ = X.texture_task(n=40, size=8, seed=4)
    assert not torch.equal(a, c)


def test_train_run_tiny_returns_per_step_losses():
    seen = []
    specs = [X.RunSpec("plain-8", 8, False), X.RunSpec("ResNet-8", 8, True)]
    out = X.train_run(specs, steps=5, batch=8, width=4, size=8, n=32, progress=lambda f, t: seen.append(f))
    assert set(out["losses"]) == {"plain-8", "ResNet-8"}
    for label, losses in out["losses"].items():
        assert len(losses) == 5 and all(math.isfinite(v) for v in losses)
        assert 0.0 <= out["accuracy"][label] <= 1.0 and out["params"][label] > 0
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    assert out["settings"]["threads"] == 1
    again = X.train_run(specs, steps=5, batch=8, width=4, size=8, n=32)
    assert again["losses"] == out["losses"]  # same seed, same batches, one thread: same run


def test_smoothed_and_final_loss():
    assert X.smoothed([4.0, 2.0, 0.0, 2.0], window=2) == [4.0, 3.0, 1.0, 1.0]
    assert X.final_loss([9.0, 1.0, 3.0], last=2) == 2.0
