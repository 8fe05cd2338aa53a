"""zoo.costs: the seed paper's arithmetic, against its printed numbers and against the engine."""
import math

import pytest
import torch.nn as nn

import zoo
from zoo import costs


def test_seed_table3_exactly():
    """Zhao, Table 3: 7×7×3 input, 5×5×128 output, 3×3 kernels (no padding)."""
    c = costs.depthwise_separable_cost(7, 7, 3, 128, 3)
    assert (c["out_h"], c["out_w"]) == (5, 5)
    assert c["depthwise_macs"] == 3 * (3 * 3 * 1 * 5 * 5) == 675
    assert c["pointwise_macs"] == 128 * (1 * 1 * 3 * 5 * 5) == 9_600
    assert c["macs"] == 10_275
    assert c["regular_macs"] == 128 * (3 * 3 * 3 * 5 * 5) == 86_400
    assert round(c["speedup"], 1) == 8.4
    assert c["params"] == 3 * 9 + 3 * 128 and c["regular_params"] == 128 * 3 * 9


@pytest.mark.parametrize("h,c_in,c_out,k,stride,padding", [
    (7, 3, 128, 3, 1, 0), (112, 32, 64, 3, 1, 1), (56, 128, 256, 5, 2, 2), (14, 512, 512, 7, 1, 3),
    (9, 16, 24, 3, 2, 0),
])
def test_separable_ratio_is_one_over_cout_plus_one_over_k2(h, c_in, c_out, k, stride, padding):
    c = costs.depthwise_separable_cost(h, h, c_in, c_out, k, stride, padding)
    # sep / regular = 1/C_out + 1/k²  <=>  sep · k² · C_out = regular · (k² + C_out), in integers
    assert c["macs"] * k * k * c_out == c["regular_macs"] * (k * k + c_out)
    assert math.isclose(c["ratio"], costs.separable_ratio(c_out, k))
    assert math.isclose(costs.separable_ratio(128, 3), 1 / 128 + 1 / 9)


def test_conv_cost_matches_the_engine():
    """The pure formula and the engine (shapes from a real module run) agree, groups included."""
    for (h, c_in, c_out, k, s, p, g) in [(32, 3, 16, 3, 2, 1, 1), (17, 8, 8, 3, 1, 1, 8),
                                         (20, 16, 32, 5, 1, 2, 4), (10, 6, 12, 1, 1, 0, 1)]:
        expected = costs.conv_cost(h, h, c_in, c_out, k, s, p, groups=g, bias=True)
        conv = nn.Conv2d(c_in, c_out, k, s, p, groups=g)
        a = zoo.analyze(conv, h, input_channels=c_in)
        (x,) = a.layers
        assert x.macs == expected["macs"]
        assert x.params == expected["params"]
        assert x.out_shape[2:] == (expected["out_h"], expected["out_w"])


def test_conv_cost_by_hand_and_groups():
    c = costs.conv_cost(224, 224, 3, 64, 7, stride=2, padding=3)
    assert (c["out_h"], c["macs"], c["params"], c["flops"]) == (112, 112 * 112 * 64 * 3 * 49, 9408, 2 * 118_013_952)
    full = costs.conv_cost(28, 28, 64, 128, 3, padding=1)["macs"]
    assert costs.conv_cost(28, 28, 64, 128, 3, padding=1, groups=4)["macs"] * 4 == full
    with pytest.raises(ValueError, match="groups"):
        costs.conv_cost(8, 8, 10, 12, 3, groups=4)
    with pytest.raises(ValueError, match="does not fit"):
        costs.conv_cost(2, 2, 3, 8, 5)


def test_shufflenet_v2_memory_access():
    # MAC = hw(c1 + c2) + c1·c2 ; with g groups + c1·c2/g
    assert costs.pointwise_mem_access(56, 56, 64, 128) == 56 * 56 * 192 + 64 * 128 == 610_304
    assert costs.pointwise_mem_access(56, 56, 64, 128, groups=4) == 56 * 56 * 192 + 64 * 128 // 4
    assert costs.pointwise_flops(56, 56, 64, 128, groups=4) == 56 * 56 * 64 * 128 // 4
    with pytest.raises(ValueError):
        costs.pointwise_mem_access(7, 7, 10, 12, groups=4)


def test_memory_access_lower_bound_reached_at_equal_channels():
    h = w = 28
    c = 128
    b = costs.pointwise_flops(h, w, c, c)
    assert costs.pointwise_mem_access(h, w, c, c) == 2 * h * w * c + c * c
    assert math.isclose(costs.mem_access_lower_bound(h, w, b), costs.pointwise_mem_access(h, w, c, c))
    # Table 4's ratios at a fixed cost: memory access grows as c1:c2 departs from 1:1
    macs = []
    for ratio in (1, 2, 6, 12):
        c1, c2 = costs.channels_for_ratio(h, w, b, ratio)
        assert math.isclose(h * w * c1 * c2, b) and math.isclose(c2 / c1, ratio)
        macs.append(h * w * (c1 + c2) + c1 * c2)
    assert math.isclose(macs[0], costs.mem_access_lower_bound(h, w, b))
    assert macs == sorted(macs) and macs[0] < macs[1]
    # the engine measures the same thing on a real 1×1 convolution
    a = zoo.analyze(nn.Conv2d(64, 128, 1, bias=False), 56, input_channels=64)
    assert a.layers[0].mem_access == costs.pointwise_mem_access(56, 56, 64, 128)


def test_efficientnet_cost_factor():
    assert costs.efficientnet_cost_factor(1.2, 1.1, 1.15, 0) == 1
    base = 1.2 * 1.1 ** 2 * 1.15 ** 2
    assert math.isclose(base, 1.9203, abs_tol=1e-4)  # "approximately 2" in the paper
    assert math.isclose(costs.efficientnet_cost_factor(1.2, 1.1, 1.15, 3), base ** 3)


def test_compound_rows_next_to_built_networks():
    rows = costs.compound_cost_rows(phis=range(4))
    assert [r["phi"] for r in rows] == [0, 1, 2, 3]
    assert rows[0]["measured_factor"] == 1 and rows[0]["resolution"] == 224
    assert rows[0]["macs"] == zoo.info("efficientnet_b0").figures["macs"].value  # φ = 0 is B0
    for r in rows:
        assert r["predicted_factor"] == pytest.approx(1.9203 ** r["phi"], rel=1e-3)
        assert r["measured_factor"] == r["macs"] / rows[0]["macs"]
        assert r["macs"] == zoo.analyze("efficientnet", phi=r["phi"]).total_macs
        if r["phi"]:
            # the built networks round repeats up (ceil) and channels to multiples of 8: they
            # cost more than (α·β²·γ²)^φ — 2.57× for φ = 1 (B0's 1-2-2-3-3-4-1 repeats become
            # 2-3-3-4-4-5-2), about 1.2× too much by φ = 3
            assert 1 < r["measured_factor"] / r["predicted_factor"] < 1.4
    assert [r["macs"] for r in rows] == sorted(r["macs"] for r in rows)
