"""zoo.experiments at tiny sizes: the benchmarks measure what they claim, the training run runs.

Expected values are written out by hand (the paper's channel pairs, MAC and memory-access
formulas, layer counts); the timing itself is only checked for its structure (repeats, spread,
words), never for a particular speed.
"""
import json
import math

import pytest
import torch
import torch.nn as nn

from zoo import experiments as X


def test_conv_macs_by_hand():
    net = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, bias=False), nn.Conv2d(8, 8, 1, groups=2, bias=False))
    # 6×6 output: 36·8·4·9 + 36·8·(8/2)·1
    assert X.conv_macs(net, torch.zeros(1, 4, 6, 6)) == 36 * 8 * 4 * 9 + 36 * 8 * 4


# --- ShuffleNet v2's guidelines ----------------------------------------------------------------

def test_g1_channel_pairs_are_the_papers_and_hold_macs_constant():
    # Ma et al. 2018 Table 1: ARM ×1 pairs and GPU ×1 pairs
    assert [X.g1_channels(r) for r in (1, 2, 6, 12)] == [(32, 32), (22, 44), (13, 78), (9, 108)]
    assert [X.g1_channels(r, base=128) for r in (1, 2, 6, 12)] == [(128, 128), (90, 180), (52, 312), (36, 432)]
    for scale in (1, 2, 4):
        products = [math.prod(X.g1_channels(r, scale)) for r in (1, 2, 6, 12)]
        assert max(products) / min(products) < 1.1  # flooring c1 costs at most ~8 % at the narrowest


def test_run_g1_tiny_counts_by_the_engine_and_times_with_spread():
    seen = []
    res = X.run_g1(size=4, ratios=(1, 6), scales=(1,), blocks=1, budget_s=0.05, threads=1,
                   progress=lambda f, t: seen.append(f))
    rows = res["rows"]
    assert [(r["ratio"], r["c1"], r["c2"]) for r in rows] == [("1:1", 32, 32), ("1:6", 13, 78)]
    for r in rows:
        assert r["macs"] == 2 * 4 * 4 * r["c1"] * r["c2"]                       # two 1×1 convs, 4×4 map
        assert r["mem_access"] == 2 * X.pointwise_mac(4, 4, r["c1"], r["c2"])   # ShuffleNet v2 Eq. 1
        assert r["repeats"] >= 5 and r["q1_ms"] <= r["median_ms"] <= r["q3_ms"]
        assert r["images_per_s"] == pytest.approx(1000 / r["median_ms"])
    base, other = rows
    assert base["speed_vs_base"] == 1.0 and base["verdict"] == "" and not base["differs"]
    assert other["verdict"] and "-" not in other["verdict"]
    assert res["machine"].threads == 1 and res["size"] == 4
    assert seen and seen[-1] == 1.0
    # equal widths move the least memory at (nearly) equal MACs: guideline 1's arithmetic
    assert base["mem_access"] < other["mem_access"]
    assert json.loads(json.dumps(X.rows_for_json(res)))["rows"][0]["timing"]["repeats"] >= 5


def test_g2_widths_and_macs():
    assert [X.g2_channels(g, 128) for g in (1, 2, 4, 8)] == [128, 180, 256, 360]   # Ma et al. Table 2, GPU
    assert [X.g2_channels(g) for g in (1, 2, 4, 8)] == [64, 90, 128, 176]           # divisible by g, never more MACs
    res = X.run_g2(size=2, groups=(1, 8), scales=(1,), blocks=1, budget_s=0.05)
    net = X.GroupedPointwise(176, 8, layers=1)
    assert X.conv_macs(net, torch.zeros(1, 176, 2, 2)) == res["rows"][1]["macs"] == 4 * 176 * 176 // 8
    assert res["rows"][1]["macs"] <= res["rows"][0]["macs"]                       # never more work
    assert res["rows"][1]["mem_access"] > res["rows"][0]["mem_access"]            # but more memory traffic


def test_g3_parallel_split_has_the_macs_and_output_of_one_conv():
    x = torch.randn(1, 16, 5, 5)
    one, par = X.Fragmented(16, 1), X.Fragmented(16, 4, "parallel")
    assert par(x).shape == one(x).shape == (1, 16, 5, 5)
    assert X.conv_macs(par, x) == X.conv_macs(one, x) == 25 * 16 * 16
    with pytest.raises(ValueError):
        X.Fragmented(10, 4, "parallel")
    rows = X.run_g3(base=16, size=2, scales=(1,), blocks=1, budget_s=0.05)["rows"]
    assert [r["config"] for r in rows] == list(X.G3_STRUCTURES)
    assert [r["kernels_launched"] for r in rows] == [1, 2, 4, 2, 4]
    # each parallel branch reads the whole input again: more memory access for the same MACs
    one_row, par4 = rows[0], rows[-1]
    assert par4["macs"] == one_row["macs"] and par4["mem_access"] > one_row["mem_access"]


def test_g4_variants_share_macs_and_differ_in_elementwise_work():
    x = torch.randn(1, 32, 4, 4)
    torch.manual_seed(0)
    full = X.BottleneckUnit(32, 8)
    bare = X.BottleneckUnit(32, 8, relu=False, shortcut=False)
    bare.load_state_dict(full.state_dict())
    assert X.conv_macs(full, x) == X.conv_macs(bare, x) == 16 * (32 * 8 + 8 * 8 * 9 + 8 * 32)
    assert not torch.allclose(full(x), bare(x))
    assert torch.allclose(bare(x), bare.conv3(bare.conv2(bare.conv1(x))))
    rows = X.run_g4(size=4, scales=(1,), blocks=1, budget_s=0.05)["rows"]
    assert [r["config"] for r in rows] == [v[0] for v in X.G4_VARIANTS]
    assert [(r["channels"], r["bottleneck"]) for r in rows] == [(32, 8)] * 4      # Ma et al.'s c = 32
    assert len({r["macs"] for r in rows}) == 1
    mem = {r["config"]: r["mem_access"] for r in rows}
    assert mem["neither"] < mem["no ReLU"] < mem["ReLU + shortcut"] and mem["neither"] < mem["no shortcut"]
    assert rows[0]["speed_vs_base"] == 1.0


def test_benchmark_weights_keep_activations_in_range():
    """Seeded weights with std 1/√fan_in: after 10 units no variant has vanished or exploded
    (tiny values would fall into slow denormal arithmetic and time something else)."""
    for case in X.g4_cases(scales=(1,)):
        with torch.no_grad():
            out = case.net(torch.randn(1, case.in_channels, 8, 8))
        assert 1e-4 < out.abs().mean().item() < 1e4, case.config


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
