"""ShuffleNet v2 at widths 0.5×, 1×, 1.5× and 2×.

Paper: N. Ma, X. Zhang, H.-T. Zheng, J. Sun, "ShuffleNet V2: Practical Guidelines for Efficient CNN
Architecture Design", ECCV 2018, arXiv:1807.11164. ``STAGES`` and ``WIDTHS`` mirror Table 5
(overall architecture); the unit is Fig. 3(c) (basic) and 3(d) (spatial down-sampling).

The idea. FLOPs are an indirect measure of speed: two networks with equal FLOPs can run at very
different speeds, because memory access cost (MAC) and parallelism matter too. From measurements
the paper draws four guidelines: G1 equal input and output widths minimise MAC (for a 1×1
convolution, MAC = hw(c1 + c2) + c1·c2 ≥ 2√(hwB) + B/hw at fixed FLOPs B, equality at c1 = c2);
G2 group convolutions raise MAC; G3 fragmented, many-branch blocks reduce parallelism; G4
elementwise operations (ReLU, add) are not free. The ShuffleNet v2 unit follows them: *channel
split* sends half the channels straight through (no add: concat instead, G4) while the other half
goes through 1×1 → 3×3 depthwise → 1×1 convolutions of equal width (G1) without groups (G2), in a
single branch (G3); a *channel shuffle* then interleaves the two halves so that information crosses
between them in the next unit. A down-sampling unit drops the split: both branches see the whole
input at stride 2, doubling the width.

Names follow torchvision's (``conv1``, ``maxpool``, ``stage2``…``stage4``, ``conv5``, ``fc``; the
unit's ``branch1`` and ``branch2``), so its weights load with ``strict=True``; torchvision calls
the unit ``InvertedResidual``, here it is ``ShuffleUnit`` (the alias keeps the other name).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .registry import Paper, register

PAPER = Paper(
    title="ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
    authors="Ma, Zhang, Zheng, Sun",
    year=2018,
    arxiv="1807.11164",
)

# Table 5: stage, repeats (the first unit of each stage has stride 2, the rest stride 1)
STAGES = (
    ("stage2", 4),   # 56×56 → 28×28
    ("stage3", 8),   # → 14×14
    ("stage4", 4),   # → 7×7
)
# Table 5's output channels per width: Conv1 (and MaxPool), Stage2, Stage3, Stage4, Conv5
WIDTHS = {
    "0.5": (24, 48, 96, 192, 1024),
    "1.0": (24, 116, 232, 464, 1024),
    "1.5": (24, 176, 352, 704, 1024),
    "2.0": (24, 244, 488, 976, 2048),
}


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups (ShuffleNet v1, Zhang et al. 2018, Fig. 1).

    Channels ``[a0 a1 … | b0 b1 …]`` become ``[a0 b0 a1 b1 …]``: reshape to (groups, C/groups),
    transpose, flatten. A pure permutation, no arithmetic.
    """
    b, c, h, w = x.shape
    if c % groups:
        raise ValueError(f"{c} channels do not split into {groups} equal groups")
    x = x.view(b, groups, c // groups, h, w)  # (B, C, H, W) -> (B, g, C/g, H, W)
    x = torch.transpose(x, 1, 2).contiguous()  # -> (B, C/g, g, H, W)
    return x.view(b, c, h, w)  # -> (B, C, H, W), groups interleaved


def depthwise_conv(channels: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, 3, stride, 1, groups=channels, bias=False)


class ShuffleUnit(nn.Module):
    """Fig. 3(c) (stride 1) and 3(d) (stride 2) of the paper.

    stride 1: split the channels in two halves; ``branch2`` (1×1 → BN → ReLU → 3×3 depthwise → BN
    → 1×1 → BN → ReLU) transforms one half, the other passes unchanged; concat; shuffle.
    stride 2: no split; ``branch1`` (3×3 depthwise /2 → BN → 1×1 → BN → ReLU) and ``branch2`` (with a
    stride-2 depthwise) both read the whole input; concat (width doubles); shuffle.
    Note the depthwise convolutions have no ReLU after them (as in the paper's figure).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError("stride must be 1 or 2")
        self.stride = stride
        branch = out_channels // 2
        if stride == 1 and in_channels != 2 * branch:
            raise ValueError("a stride-1 unit keeps its width: in_channels must equal out_channels")
        if stride > 1:
            self.branch1 = nn.Sequential(
                depthwise_conv(in_channels, stride),
                nn.BatchNorm2d(in_channels),
                nn.Conv2d(in_channels, branch, 1, bias=False),
                nn.BatchNorm2d(branch),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch1 = nn.Sequential()  # the identity half; empty, as torchvision has it
        self.branch2 = nn.Sequential(
            nn.Conv2d(in_channels if stride > 1 else branch, branch, 1, bias=False),
            nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
            depthwise_conv(branch, stride),
            nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, bias=False),
            nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)  # channel split: (B, C, H, W) -> 2 × (B, C/2, H, W)
            out = torch.cat((x1, self.branch2(x2)), dim=1)  # -> (B, C, H, W)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)  # -> (B, C_out, H/2, W/2)
        return channel_shuffle(out, 2)


InvertedResidual = ShuffleUnit  # torchvision's name for the same unit


class ShuffleNetV2(nn.Module):
    """Table 5: Conv1 3×3/2, MaxPool 3×3/2, Stages 2-4, Conv5 1×1, global pool, FC."""

    def __init__(self, widths: tuple[int, ...], num_classes: int = 1000, stages=STAGES):
        super().__init__()
        if len(widths) != len(stages) + 2:
            raise ValueError(f"expected {len(stages) + 2} widths (conv1, stages, conv5), got {widths}")
        channels = widths[0]
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, channels, 3, 2, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for (name, repeats), out in zip(stages, widths[1:-1]):
            units = [ShuffleUnit(channels, out, 2)] + [ShuffleUnit(out, out, 1) for _ in range(repeats - 1)]
            setattr(self, name, nn.Sequential(*units))
            channels = out
        self.conv5 = nn.Sequential(
            nn.Conv2d(channels, widths[-1], 1, bias=False),
            nn.BatchNorm2d(widths[-1]),
            nn.ReLU(inplace=True),
        )
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)    # (B, 3, 224, 224) -> (B, 24, 112, 112)
        x = self.maxpool(x)  # -> (B, 24, 56, 56)
        x = self.stage2(x)   # -> (B, c2, 28, 28)
        x = self.stage3(x)   # -> (B, c3, 14, 14)
        x = self.stage4(x)   # -> (B, c4, 7, 7)
        x = self.conv5(x)    # -> (B, c5, 7, 7)
        x = x.mean([2, 3])   # global average pool: -> (B, c5)
        return self.fc(x)    # -> (B, num_classes)


def _register(width: str) -> None:
    name = f"shufflenet_v2_x{width.replace('.', '_')}"

    def builder(num_classes: int = 1000) -> ShuffleNetV2:
        return ShuffleNetV2(WIDTHS[width], num_classes=num_classes)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"ShuffleNet v2 {width}× (Table 5 of the paper)."
    register(name, builder, family="ShuffleNet", paper=PAPER, resolution=224, reference=name,
             twin=True, published=("ShuffleNet-v2", f"{width}x"))


for _width in WIDTHS:
    _register(_width)
