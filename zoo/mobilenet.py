"""MobileNet v1, v2 and v3: the depthwise-separable family.

Papers:
- v1: A. G. Howard, M. Zhu, B. Chen, D. Kalenichenko, W. Wang, T. Weyand, M. Andreetto, H. Adam,
  "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications", 2017,
  arXiv:1704.04861. ``MOBILENET_V1`` mirrors Table 1 (body architecture); the width multiplier α
  and the resolution multiplier ρ are §3.3/§3.4 (Tables 6 and 7).
- v2: M. Sandler, A. Howard, M. Zhu, A. Zhmoginov, L.-C. Chen, "MobileNetV2: Inverted Residuals and
  Linear Bottlenecks", CVPR 2018, arXiv:1801.04381. ``MOBILENET_V2`` is Table 2 (``t, c, n, s``).
- v3: A. Howard, M. Sandler, G. Chu, L.-C. Chen, B. Chen, M. Tan, W. Wang, Y. Zhu, R. Pang,
  V. Vasudevan, Q. V. Le, H. Adam, "Searching for MobileNetV3", ICCV 2019, arXiv:1905.02244.
  ``MOBILENET_V3_LARGE`` / ``MOBILENET_V3_SMALL`` are Tables 1 and 2.

The idea. A k×k convolution from M to N channels on a D×D map costs D²·M·N·k² multiply-adds. v1
factorises it into a *depthwise* k×k convolution (one filter per input channel, D²·M·k²) and a
*pointwise* 1×1 convolution that mixes channels (D²·M·N), a saving of 1/N + 1/k², about 8-9× for
3×3 kernels. Two knobs trade accuracy for cost: the width multiplier α thins every layer (cost
and parameters ∝ α²) and the resolution multiplier ρ shrinks the input (cost ∝ ρ², parameters
unchanged). v2 turns the block inside out: a thin "bottleneck" tensor is *expanded* t× by a 1×1
convolution, filtered depthwise, and projected back by a *linear* 1×1 convolution (no ReLU: a ReLU
on a thin tensor destroys information), with the shortcut joining the thin ends ("inverted
residual"). v3 keeps the v2 block, adds squeeze-and-excitation (gated by a hard sigmoid) in some
blocks, uses the cheap h-swish non-linearity x·ReLU6(x + 3)/6 in the deeper half, and was found by
platform-aware architecture search (NetAdapt + MnasNet-style search), then hand-trimmed at both ends.

Names. v2 and v3 keep torchvision's attribute names (``features``, ``classifier``, blocks
``InvertedResidual`` with ``.conv`` for v2 and ``.block`` for v3), so torchvision's weights load
with ``strict=True``. v1 has no torchvision model; its convolutions match timm's ``mobilenetv1_100``
(parameters and MACs equal ``assets/models.json``), its names follow the v2 pattern.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn as nn

from .layers import Conv2dNormActivation, SqueezeExcitation, make_divisible, on_meta
from .registry import Paper, register

PAPER_V1 = Paper(
    title="MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
    authors="Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto, Adam",
    year=2017,
    arxiv="1704.04861",
)
PAPER_V2 = Paper(
    title="MobileNetV2: Inverted Residuals and Linear Bottlenecks",
    authors="Sandler, Howard, Zhu, Zhmoginov, Chen",
    year=2018,
    arxiv="1801.04381",
)
PAPER_V3 = Paper(
    title="Searching for MobileNetV3",
    authors="Howard, Sandler, Chu, Chen, Chen, Tan, Wang, Zhu, Pang, Vasudevan, Le, Adam",
    year=2019,
    arxiv="1905.02244",
)


def init_weights(model: nn.Module) -> None:
    """He (fan-out) convolutions, unit BatchNorm, small linear layers.

    The fan-out counts each filter's outputs per group, ``k·k·C_out / groups``, as TF's and timm's
    MobileNet code does. (torch's ``kaiming_normal_`` counts ``k·k·C_out`` for a depthwise
    convolution, C times too many: a fresh network's activations then shrink ~10× per block.)
    """
    if on_meta(model):  # built for analysis: no values to fill
        return
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


# === MobileNet v1 ============================================================================

# Table 1 of the v1 paper, after the first layer (3×3 conv, 32 filters, stride 2, 224 → 112):
# one row per depthwise-separable layer ("Conv dw / s" followed by "Conv / s1" 1×1).
# stride of the 3×3 depthwise conv, output channels of the 1×1 pointwise conv
MOBILENET_V1 = (
    (1, 64),     # 112×112×32 → 112×112×64
    (2, 128),    # → 56×56×128
    (1, 128),
    (2, 256),    # → 28×28×256
    (1, 256),
    (2, 512),    # → 14×14×512
    (1, 512), (1, 512), (1, 512), (1, 512), (1, 512),  # the "5×" rows
    (2, 1024),   # → 7×7×1024
    (1, 1024),   # Table 1 prints "s2" here, but its own output sizes (7×7 in and out) and every
                 # implementation (TF-slim, timm) say stride 1.
)
MOBILENET_V1_STEM = 32  # first layer: 3×3 conv, stride 2


def scale_width(channels: int, alpha: float) -> int:
    """The width multiplier α (§3.3): ``channels · α`` rounded to a multiple of 8 (never down by
    more than 10 %), as timm and TF-slim round it; α = 1 leaves every width as in Table 1."""
    if not alpha > 0:
        raise ValueError(f"width multiplier alpha must be positive, got {alpha!r}")
    return make_divisible(channels * alpha, 8)


class DepthwiseSeparableConv(nn.Module):
    """Fig. 3 (right) of the v1 paper: 3×3 depthwise conv → BN → ReLU → 1×1 conv → BN → ReLU.

    The activation is ReLU6, as in the TF-slim reference and timm (the paper's figure says ReLU).
    ``kernel`` and ``activation`` are the design lab's knobs (3×3 and ReLU6 in the paper's net).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, kernel: int = 3,
                 activation=nn.ReLU6):
        super().__init__()
        self.depthwise = Conv2dNormActivation(in_channels, in_channels, kernel, stride, groups=in_channels,
                                              activation_layer=activation)
        self.pointwise = Conv2dNormActivation(in_channels, out_channels, 1,
                                              activation_layer=activation)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.depthwise(x)     # (B, C, H, W) -> (B, C, H/s, W/s): one 3×3 filter per channel
        return self.pointwise(x)  # -> (B, C_out, H/s, W/s): 1×1 mixes the channels


class MobileNetV1(nn.Module):
    """Table 1: ``features`` (first conv + 13 depthwise-separable layers), avgpool, classifier."""

    def __init__(self, alpha: float = 1.0, num_classes: int = 1000, dropout: float = 0.0,
                 rows=MOBILENET_V1):
        super().__init__()
        channels = scale_width(MOBILENET_V1_STEM, alpha)
        layers: list[nn.Module] = [Conv2dNormActivation(3, channels, 3, 2, activation_layer=nn.ReLU6)]
        for stride, out in rows:
            out = scale_width(out, alpha)
            layers.append(DepthwiseSeparableConv(channels, out, stride))
            channels = out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # Table 1's "Avg Pool / s1, 7×7" at 224
        # Table 1's "FC / s1 1024 × 1000"; dropout is not in the paper (default off, as timm).
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels, num_classes))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)                   # (B, 3, H, W) -> (B, 1024α, H/32, W/32)
        x = torch.flatten(self.avgpool(x), 1)  # -> (B, 1024α)
        return self.classifier(x)              # -> (B, num_classes)


# === MobileNet v2 ============================================================================

# Table 2 of the v2 paper, after the first layer (conv2d 3×3, 32, stride 2).
# t: expansion factor, c: output channels, n: repeats, s: stride of the first repeat
#  t,   c,  n, s
MOBILENET_V2 = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
MOBILENET_V2_STEM = 32
MOBILENET_V2_LAST = 1280  # the final "conv2d 1×1, 1280" row of Table 2


class InvertedResidual(nn.Module):
    """Table 1 / Fig. 3(b) of the v2 paper: the bottleneck residual block.

    1×1 expand ×t (ReLU6) → 3×3 depthwise, stride s (ReLU6) → 1×1 *linear* projection (BN only);
    the shortcut adds input to output when stride is 1 and the widths agree. ``.conv`` holds the
    three steps, as torchvision names them (no expansion conv when t = 1).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = int(round(in_channels * expand_ratio))
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(in_channels, hidden, 1, activation_layer=nn.ReLU6))
        layers += [
            Conv2dNormActivation(hidden, hidden, 3, stride, groups=hidden, activation_layer=nn.ReLU6),
            nn.Conv2d(hidden, out_channels, 1, bias=False),  # linear bottleneck: no activation
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)  # (B, C_in, H, W) -> (B, C_out, H/s, W/s)
        return x + out if self.use_res_connect else out


class MobileNetV2(nn.Module):
    """Table 2; ``width_mult`` scales every width (the last 1×1 conv only upwards), as torchvision."""

    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000, dropout: float = 0.2,
                 rows=MOBILENET_V2):
        super().__init__()
        if not width_mult > 0:
            raise ValueError(f"width_mult must be positive, got {width_mult!r}")
        channels = make_divisible(MOBILENET_V2_STEM * width_mult, 8)
        last = make_divisible(MOBILENET_V2_LAST * max(1.0, width_mult), 8)
        layers: list[nn.Module] = [Conv2dNormActivation(3, channels, 3, 2, activation_layer=nn.ReLU6)]
        for t, c, n, s in rows:
            out = make_divisible(c * width_mult, 8)
            for i in range(n):
                layers.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        layers.append(Conv2dNormActivation(channels, last, 1, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, 3, H, W) -> (B, 1280, H/32, W/32)
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)  # -> (B, 1280)
        return self.classifier(x)  # -> (B, num_classes)


# === MobileNet v3 ============================================================================

@dataclass(frozen=True)
class BneckRow:
    """One "bneck" row of Tables 1-2 of the v3 paper."""

    kernel: int
    exp: int        # "exp size": channels after the 1×1 expansion
    out: int        # "#out"
    se: bool        # squeeze-and-excite in this block
    nl: str         # non-linearity: "RE" (ReLU) or "HS" (h-swish)
    stride: int


# Table 1 (MobileNetV3-Large), bneck rows; input 224 → first conv 3×3, 16, HS, stride 2.
#        kernel, exp, out,  SE,   NL, s
MOBILENET_V3_LARGE = (
    BneckRow(3, 16, 16, False, "RE", 1),
    BneckRow(3, 64, 24, False, "RE", 2),
    BneckRow(3, 72, 24, False, "RE", 1),
    BneckRow(5, 72, 40, True, "RE", 2),
    BneckRow(5, 120, 40, True, "RE", 1),
    BneckRow(5, 120, 40, True, "RE", 1),
    BneckRow(3, 240, 80, False, "HS", 2),
    BneckRow(3, 200, 80, False, "HS", 1),
    BneckRow(3, 184, 80, False, "HS", 1),
    BneckRow(3, 184, 80, False, "HS", 1),
    BneckRow(3, 480, 112, True, "HS", 1),
    BneckRow(3, 672, 112, True, "HS", 1),
    BneckRow(5, 672, 160, True, "HS", 2),
    BneckRow(5, 960, 160, True, "HS", 1),
    BneckRow(5, 960, 160, True, "HS", 1),
)
# Table 2 (MobileNetV3-Small).
MOBILENET_V3_SMALL = (
    BneckRow(3, 16, 16, True, "RE", 2),
    BneckRow(3, 72, 24, False, "RE", 2),
    BneckRow(3, 88, 24, False, "RE", 1),
    BneckRow(5, 96, 40, True, "HS", 2),
    BneckRow(5, 240, 40, True, "HS", 1),
    BneckRow(5, 240, 40, True, "HS", 1),
    BneckRow(5, 120, 48, True, "HS", 1),
    BneckRow(5, 144, 48, True, "HS", 1),
    BneckRow(5, 288, 96, True, "HS", 2),
    BneckRow(5, 576, 96, True, "HS", 1),
    BneckRow(5, 576, 96, True, "HS", 1),
)
# The tables' last rows: 1×1 conv to 6 × the last width (HS), 7×7 pool, "conv2d 1×1, NBN" to
# 1280 (Large) / 1024 (Small) with HS, then to the classes. On a 1×1 map those NBN (no batch
# norm) convolutions are Linear layers, as torchvision writes them, with dropout 0.2 between.
# Table 2 also marks SE on Small's last 1×1 conv; torchvision has none there (followed here).
V3_STEM = 16
V3_LAST = {"large": 1280, "small": 1024}

V3_NORM = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)  # TF defaults, kept by torchvision
V3_ACTIVATION = {"RE": nn.ReLU, "HS": nn.Hardswish}


class Bneck(nn.Module):
    """The v3 "bneck" (Fig. 4): v2's inverted residual plus optional squeeze-excite and h-swish.

    torchvision calls this class ``InvertedResidual`` too; here it carries the tables' name, which
    is also what the dashboard shows for it (the v2 block holds ``InvertedResidual`` in this file).

    1×1 expand (skipped when exp = in) → k×k depthwise → [SE: pool → 1×1 → ReLU → 1×1 →
    hard-sigmoid gate, squeezing to exp/4] → 1×1 linear projection; shortcut when stride 1 and the
    widths agree. ``.block`` holds the steps, as torchvision names them.
    """

    def __init__(self, in_channels: int, row: BneckRow, width_mult: float = 1.0):
        super().__init__()
        exp = make_divisible(row.exp * width_mult, 8)
        out = make_divisible(row.out * width_mult, 8)
        act = V3_ACTIVATION[row.nl]
        self.use_res_connect = row.stride == 1 and in_channels == out
        layers: list[nn.Module] = []
        if exp != in_channels:
            layers.append(Conv2dNormActivation(in_channels, exp, 1, norm_layer=V3_NORM, activation_layer=act))
        layers.append(Conv2dNormActivation(exp, exp, row.kernel, row.stride, groups=exp,
                                           norm_layer=V3_NORM, activation_layer=act))
        if row.se:
            layers.append(SqueezeExcitation(exp, make_divisible(exp // 4, 8),
                                            scale_activation=nn.Hardsigmoid))
        layers.append(Conv2dNormActivation(exp, out, 1, norm_layer=V3_NORM, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)  # (B, C_in, H, W) -> (B, C_out, H/s, W/s)
        return x + out if self.use_res_connect else out


class MobileNetV3(nn.Module):
    """Tables 1-2: first conv, the bneck rows, 1×1 conv ×6, pool, two "NBN" 1×1 convs (Linear)."""

    def __init__(self, rows, last_channel: int, width_mult: float = 1.0, num_classes: int = 1000,
                 dropout: float = 0.2):
        super().__init__()
        if not width_mult > 0:
            raise ValueError(f"width_mult must be positive, got {width_mult!r}")
        channels = make_divisible(V3_STEM * width_mult, 8)
        layers: list[nn.Module] = [Conv2dNormActivation(3, channels, 3, 2, norm_layer=V3_NORM,
                                                        activation_layer=nn.Hardswish)]
        for row in rows:
            layers.append(Bneck(channels, row, width_mult))
            channels = layers[-1].out_channels
        layers.append(Conv2dNormActivation(channels, 6 * channels, 1, norm_layer=V3_NORM,
                                           activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last_channel = make_divisible(last_channel * width_mult, 8)
        self.classifier = nn.Sequential(
            nn.Linear(6 * channels, last_channel),
            nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True),
            nn.Linear(last_channel, num_classes),
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)                   # (B, 3, H, W) -> (B, 960 | 576, H/32, W/32)
        x = torch.flatten(self.avgpool(x), 1)  # -> (B, 960 | 576)
        return self.classifier(x)              # -> (B, num_classes)


# === builders ================================================================================

@register(
    "mobilenet_v1", family="MobileNet", paper=PAPER_V1, resolution=224, reference="mobilenetv1_100",
    published=("MobileNet-v1", "1.0-224"),
    note=("Width multiplier alpha (any positive float; channels rounded to multiples of 8 as timm) "
          "and any input resolution (the resolution multiplier rho). Convolutions as timm's "
          "mobilenetv1_100."),
)
def mobilenet_v1(alpha: float = 1.0, num_classes: int = 1000, dropout: float = 0.0) -> MobileNetV1:
    return MobileNetV1(alpha=alpha, num_classes=num_classes, dropout=dropout)


@register(
    "mobilenet_v2", family="MobileNet", paper=PAPER_V2, resolution=224, reference="mobilenet_v2",
    twin=True, published=("MobileNet-v2", "1.0-224"),
)
def mobilenet_v2(width_mult: float = 1.0, num_classes: int = 1000, dropout: float = 0.2) -> MobileNetV2:
    return MobileNetV2(width_mult=width_mult, num_classes=num_classes, dropout=dropout)


@register(
    "mobilenet_v3_large", family="MobileNet", paper=PAPER_V3, resolution=224,
    reference="mobilenet_v3_large", twin=True, published=("MobileNet-v3-Large", "1.0-224"),
)
def mobilenet_v3_large(width_mult: float = 1.0, num_classes: int = 1000,
                       dropout: float = 0.2) -> MobileNetV3:
    return MobileNetV3(MOBILENET_V3_LARGE, V3_LAST["large"], width_mult, num_classes, dropout)


@register(
    "mobilenet_v3_small", family="MobileNet", paper=PAPER_V3, resolution=224,
    reference="mobilenet_v3_small", twin=True, published=("MobileNet-v3-Small", "1.0-224"),
    note="Table 2 marks squeeze-excite on the last 1x1 conv; torchvision (followed here) has none.",
)
def mobilenet_v3_small(width_mult: float = 1.0, num_classes: int = 1000,
                       dropout: float = 0.2) -> MobileNetV3:
    return MobileNetV3(MOBILENET_V3_SMALL, V3_LAST["small"], width_mult, num_classes, dropout)
