"""The seed paper's arithmetic as pure functions: what a convolution costs, and why.

Conventions (the same as :mod:`zoo.analysis`, whose counting core every count here comes from):
MACs are multiply-accumulates, FLOPs = 2 × MACs, parameters exclude biases unless ``bias=True``.

* **Regular vs depthwise-separable convolution** (MobileNets, Howard et al. 2017, arXiv 1704.04861,
  §3.1; the seed paper's Table 3). A k×k convolution from C_in to C_out channels on an output of
  H'×W' costs ``H'·W'·C_out·(C_in/g)·k²`` MACs. Splitting it into a depthwise k×k convolution
  (one filter per input channel) and a 1×1 pointwise one costs ``H'·W'·C_in·k² + H'·W'·C_in·C_out``,
  a fraction ``1/C_out + 1/k²`` of the regular cost. Table 3: a 7×7×3 input, a 5×5×128 output and
  3×3 kernels: 3·(3·3·1·5·5) + 128·(1·1·3·5·5) = 675 + 9,600 = 10,275 multiplications against
  128·(3·3·3·5·5) = 86,400, about 8.4× fewer.
* **Memory access cost of a 1×1 convolution** (ShuffleNet v2, Ma et al. 2018, arXiv 1807.11164,
  §2, guideline G1). On an h×w map from c1 to c2 channels, the FLOPs (their B, in MACs) are
  ``B = h·w·c1·c2`` and the memory access is ``MAC = h·w·(c1 + c2) + c1·c2``. By the AM-GM
  inequality ``MAC ≥ 2·√(h·w·B) + B/(h·w)``, with equality when c1 = c2: equal channel widths
  minimise memory access for a given cost. With g groups (G2), ``B = h·w·c1·c2/g`` and
  ``MAC = h·w·(c1 + c2) + c1·c2/g``.
* **EfficientNet's compound scaling** (Tan & Le 2019, arXiv 1905.11946, §3.3, eq. 3): depth ×α^φ,
  width ×β^φ, resolution ×γ^φ multiply the FLOPs by about ``(α·β²·γ²)^φ ≈ 2^φ`` with α = 1.2,
  β = 1.1, γ = 1.15. :func:`compound_cost_rows` sets that factor next to the exact MACs of the
  networks actually built, whose channels and repeats are rounded.
"""
from __future__ import annotations

import math

from .analysis.ops import conv2d_cost


def conv_cost(h: int, w: int, c_in: int, c_out: int, k, stride=1, padding=0, groups: int = 1,
              bias: bool = False) -> dict:
    """MACs, parameters and memory access of one k×k (or kh×kw) convolution on an h×w×c_in input.

    Returns ``dict(macs, flops, params, mem_access, out_h, out_w)``;
    MACs = out_h·out_w·c_out·(c_in/groups)·k², memory access = input + output + weights. Counted
    by the analysis engine's core (:func:`zoo.analysis.ops.conv2d_cost`), the output size by
    torch's own shape rule. Raises ``ValueError`` when groups do not divide the channels or the
    kernel does not fit.
    """
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
    try:
        return conv2d_cost(h, w, c_in, c_out, k, stride, padding, groups=groups, bias=bias)
    except RuntimeError:
        kk = f"{k}×{k}" if isinstance(k, int) else "×".join(map(str, k))
        raise ValueError(f"a {kk} kernel does not fit a {h}×{w} input with padding {padding}") from None


def depthwise_separable_cost(h: int, w: int, c_in: int, c_out: int, k: int, stride: int = 1,
                             padding: int = 0) -> dict:
    """A k×k depthwise convolution then a 1×1 pointwise one, against the regular k×k convolution.

    Returns ``dict(depthwise_macs, pointwise_macs, macs, regular_macs, params, regular_params,
    ratio, speedup, out_h, out_w)`` where ``ratio = macs / regular_macs = 1/c_out + 1/k²`` and
    ``speedup = regular_macs / macs``.
    """
    dw = conv_cost(h, w, c_in, c_in, k, stride, padding, groups=c_in)
    pw = conv_cost(dw["out_h"], dw["out_w"], c_in, c_out, 1)
    regular = conv_cost(h, w, c_in, c_out, k, stride, padding)
    macs = dw["macs"] + pw["macs"]
    return {
        "depthwise_macs": dw["macs"],
        "pointwise_macs": pw["macs"],
        "macs": macs,
        "regular_macs": regular["macs"],
        "params": dw["params"] + pw["params"],
        "regular_params": regular["params"],
        "ratio": macs / regular["macs"],
        "speedup": regular["macs"] / macs,
        "out_h": dw["out_h"],
        "out_w": dw["out_w"],
    }


def separable_ratio(c_out: int, k: int) -> float:
    """Cost of a depthwise-separable convolution relative to the regular one: 1/C_out + 1/k²."""
    return 1 / c_out + 1 / (k * k)


def pointwise_flops(h: int, w: int, c1: int, c2: int, groups: int = 1) -> int:
    """ShuffleNet v2's B of a 1×1 convolution: h·w·c1·c2/g multiply-accumulates."""
    return conv_cost(h, w, c1, c2, 1, groups=groups)["macs"]


def pointwise_mem_access(h: int, w: int, c1: int, c2: int, groups: int = 1) -> int:
    """Memory access cost of a 1×1 convolution (ShuffleNet v2): h·w·(c1 + c2) + c1·c2/g.

    Input read (h·w·c1), output written (h·w·c2) and weights read (c1·c2/g).
    """
    return conv_cost(h, w, c1, c2, 1, groups=groups)["mem_access"]


def mem_access_lower_bound(h: int, w: int, flops: float) -> float:
    """The least memory access of a 1×1 convolution costing ``flops`` (= B) MACs on h×w:
    2·√(h·w·B) + B/(h·w), reached when c1 = c2 (ShuffleNet v2, eq. 1)."""
    hw = h * w
    return 2 * math.sqrt(hw * flops) + flops / hw


def channels_for_ratio(h: int, w: int, flops: float, ratio: float) -> tuple[float, float]:
    """(c1, c2) with c2 = ratio·c1 and h·w·c1·c2 = flops: ShuffleNet v2 Table 4's fixed-cost
    comparison of channel ratios 1:1, 1:2, 1:6, 1:12."""
    c1 = math.sqrt(flops / (h * w * ratio))
    return c1, ratio * c1


def efficientnet_cost_factor(alpha: float, beta: float, gamma: float, phi: float) -> float:
    """FLOPs multiplier of compound scaling: (α·β²·γ²)^φ (EfficientNet eq. 3)."""
    return (alpha * beta ** 2 * gamma ** 2) ** phi


def compound_cost_rows(phis=range(8), alpha: float = 1.2, beta: float = 1.1,
                       gamma: float = 1.15) -> list[dict]:
    """For each φ: the predicted factor (α·β²·γ²)^φ next to the exact MACs of the built network.

    Builds ``zoo.build("efficientnet", phi=φ, alpha=…, beta=…, gamma=…)`` on the meta device and
    counts it with :func:`zoo.analyze`; ``measured_factor`` is its MACs over those of φ = 0.
    """
    from . import analysis, efficientnet

    rows = []
    base = None
    for phi in phis:
        width, depth, resolution = efficientnet.compound_coefficients(phi, alpha, beta, gamma)
        a = analysis.analyze("efficientnet", resolution=resolution, phi=phi, alpha=alpha,
                             beta=beta, gamma=gamma)
        if base is None:
            base = analysis.analyze("efficientnet", resolution=efficientnet.compound_coefficients(
                0, alpha, beta, gamma)[2], phi=0, alpha=alpha, beta=beta, gamma=gamma).total_macs
        rows.append({
            "phi": phi, "width": width, "depth": depth, "resolution": resolution,
            "predicted_factor": efficientnet_cost_factor(alpha, beta, gamma, phi),
            "macs": a.total_macs, "measured_factor": a.total_macs / base,
            "params": a.total_params,
        })
    return rows
