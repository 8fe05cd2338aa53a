"""Inception-v4, Inception-ResNet-v1 and Inception-ResNet-v2.

Paper: C. Szegedy, S. Ioffe, V. Vanhoucke, A. Alemi, "Inception-v4, Inception-ResNet and the Impact
of Residual Connections on Learning", AAAI 2017, arXiv:1602.07261.

Configuration mirrors the paper's figures: the stems (Fig. 3 for Inception-v4, Fig. 14 for
Inception-ResNet-v1), Inception-A/B/C (Figs 4-6), Reduction-A (Fig. 7) with its filter-bank table
``k, l, m, n`` (Table 1, ``REDUCTION_A`` below), Reduction-B (Fig. 8 for v4, Figs 12 / 18 for the
residual nets), Inception-ResNet-A/B/C (Figs 10, 11, 13 for v1; Figs 16, 17, 19 for v2) and the
overall schemas (Fig. 9 for v4, Fig. 15 for both Inception-ResNets).

The idea. Inception-v4 is the Inception-v3 recipe made uniform: one stem, then three grid sizes
(35×35, 17×17, 8×8), each a stack of one Inception module type, separated by "reduction" modules
that halve the grid while widening the channels, so nothing is downsampled by a bare pooling layer.
The Inception-ResNets put each (cheaper) Inception module on a residual branch: the branches are
concatenated, a linear 1×1 convolution restores the input width, and the result is *scaled down*
(by 0.1–0.3; the reference code uses 0.17, 0.10, 0.20) before it is added to the input:

    y = ReLU(x + s · W_1x1 · concat(branch_0(x), …, branch_k(x)))

The scaling keeps very wide residual nets (more than ~1000 filters) from "dying" early in training.
Inception-ResNet-v1 costs about as much as Inception-v3, Inception-ResNet-v2 about as much as
Inception-v4; the residual versions train markedly faster.

Reference implementation. No torchvision model exists. ``inception_v4`` and ``inception_resnet_v2``
match timm's (ported from the TF-slim checkpoints) in every convolution, so parameters and MACs
equal ``assets/models.json``. TF-slim's Inception-ResNet-v2 is *not* the network of the paper's
figures; each difference is commented where it is built (``IR_V2`` and ``STEM_SLIM``) and listed
here: a v3-style stem plus a "Mixed_5b" module (35×35×320) instead of Fig. 3's stem (35×35×384);
block widths 320 / 1088 / 2080 instead of Figs 16 / 17 / 19's 384 / 1154 / 2048; 10 / 20 / 10
residual blocks instead of Fig. 15's 5 / 10 / 5 (the last IR-C unscaled and without ReLU); and a
1×1 convolution to 1536 channels before the pooling. The paper's own IR-v2 is not built here.
Inception-ResNet-v1 has no reference implementation: it is built from the figures alone.

Details shared by all three, as in the TF-slim code: every "traditional" convolution is
conv (no bias) → BatchNorm (eps 0.001) → ReLU; the residual 1×1 "Linear" convolutions have a bias
and no BatchNorm ("batch-normalization only on top of the traditional layers, but not on top of the
summations", §3.3); "V" in the figures means no padding, every other convolution pads to keep the
grid; 3×3 average pools exclude the padding from the mean (TF's "SAME" pooling); the head is
global average pooling → dropout (keep 0.8, so p = 0.2) → fully connected.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .registry import Paper, register

PAPER = Paper(
    title="Inception-v4, Inception-ResNet and the Impact of Residual Connections on Learning",
    authors="Szegedy, Ioffe, Vanhoucke, Alemi",
    year=2017,
    arxiv="1602.07261",
)
BN_EPS = 0.001  # TF-slim's batch-norm epsilon, kept by timm

# Table 1: the number of filters of Reduction-A (Fig. 7) in each network.
# k: 1×1, l: 3×3, m: 3×3 stride 2 (the three-convolution branch); n: 3×3 stride 2 (the lone one)
#                       k,   l,   m,   n
REDUCTION_A = {
    "inception_v4":        (192, 224, 256, 384),
    "inception_resnet_v1": (192, 192, 256, 384),
    "inception_resnet_v2": (256, 256, 384, 384),
}


# --- the unit every module repeats ----------------------------------------------------------

class BasicConv2d(nn.Module):
    """conv (no bias) → BatchNorm → ReLU: the paper's "traditional" layer.

    ``padding=0`` is the figures' "V" (valid); kernels may be rectangular (1×7, 7×1, 1×3, 3×1).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride: int = 1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


def conv_chain(in_channels: int, rows) -> nn.Sequential:
    """A branch of convolutions from rows ``(out, kernel, stride, padding)``, in order."""
    layers = []
    for out, kernel, stride, padding in rows:
        layers.append(BasicConv2d(in_channels, out, kernel, stride, padding))
        in_channels = out
    return nn.Sequential(*layers)


def avg_pool_3x3() -> nn.AvgPool2d:
    # TF "SAME" average pooling: the zero padding is not counted in the mean.
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


# --- stems ----------------------------------------------------------------------------------

class Stem(nn.Module):
    """Fig. 3: the stem of Inception-v4 (and, in the paper, of Inception-ResNet-v2).

    299×299×3 → 35×35×384. Three plain convolutions, then three "mixed" steps that each run two
    branches side by side and concatenate them: pool | conv, two conv towers, conv | pool.
    """

    def __init__(self, in_channels: int = 3):
        super().__init__()
        self.conv1a = BasicConv2d(in_channels, 32, 3, stride=2)  # 149×149×32
        self.conv2a = BasicConv2d(32, 32, 3)                       # 147×147×32
        self.conv2b = BasicConv2d(32, 64, 3, padding=1)            # 147×147×64
        # mixed 3a: 3×3 max-pool /2 V | 3×3 conv 96 /2 V → 73×73×160
        self.pool3a = nn.MaxPool2d(3, stride=2)
        self.conv3a = BasicConv2d(64, 96, 3, stride=2)
        # mixed 4a: 1×1 64 → 3×3 96 V | 1×1 64 → 1×7 64 → 7×1 64 → 3×3 96 V → 71×71×192.
        # (The 7×1/1×7 pair is applied in TF-slim's order, 1×7 first; counts are the same.)
        self.branch4a_0 = conv_chain(160, [(64, 1, 1, 0), (96, 3, 1, 0)])
        self.branch4a_1 = conv_chain(160, [(64, 1, 1, 0), (64, (1, 7), 1, (0, 3)),
                                           (64, (7, 1), 1, (3, 0)), (96, 3, 1, 0)])
        # mixed 5a: 3×3 conv 192 /2 V | 3×3 max-pool /2 V → 35×35×384
        self.conv5a = BasicConv2d(192, 192, 3, stride=2)
        self.pool5a = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1a(x)  # (B, 3, 299, 299) -> (B, 32, 149, 149)
        x = self.conv2a(x)  # -> (B, 32, 147, 147)
        x = self.conv2b(x)  # -> (B, 64, 147, 147)
        x = torch.cat([self.pool3a(x), self.conv3a(x)], 1)  # -> (B, 160, 73, 73)
        x = torch.cat([self.branch4a_0(x), self.branch4a_1(x)], 1)  # -> (B, 192, 71, 71)
        x = torch.cat([self.conv5a(x), self.pool5a(x)], 1)  # -> (B, 384, 35, 35)
        return x


# Fig. 14: the stem of Inception-ResNet-v1, 299×299×3 → 35×35×256.
# name, out channels (0: 3×3 max-pool), kernel, stride, padding (0 is the figure's "V")
STEM_V1 = (
    ("conv1a", 32, 3, 2, 0),    # 149×149×32
    ("conv2a", 32, 3, 1, 0),    # 147×147×32
    ("conv2b", 64, 3, 1, 1),    # 147×147×64
    ("pool3a", 0, 3, 2, 0),     # 73×73×64
    ("conv3b", 80, 1, 1, 0),    # 73×73×80
    ("conv4a", 192, 3, 1, 0),   # 71×71×192
    ("conv4b", 256, 3, 2, 0),   # 35×35×256
)
# TF-slim's Inception-ResNet-v2 stem (timm's): not Fig. 3 but Inception-v3's stem, whose last
# step is a max-pool instead of Fig. 14's stride-2 convolution; a Mixed_5b module follows.
STEM_SLIM = STEM_V1[:-1] + (
    ("pool5a", 0, 3, 2, 0),     # 35×35×192
)


class Mixed5b(nn.Module):
    """TF-slim's Inception-ResNet-v2 "Mixed_5b" (not in the paper): 35×35×192 → 35×35×320.

    An Inception-v3 35×35 module: 1×1 96 | 1×1 48 → 5×5 64 | 1×1 64 → 3×3 96 → 3×3 96 |
    3×3 avg-pool → 1×1 64.
    """

    def __init__(self, in_channels: int = 192):
        super().__init__()
        self.branch0 = BasicConv2d(in_channels, 96, 1)
        self.branch1 = conv_chain(in_channels, [(48, 1, 1, 0), (64, 5, 1, 2)])
        self.branch2 = conv_chain(in_channels, [(64, 1, 1, 0), (96, 3, 1, 1), (96, 3, 1, 1)])
        self.branch3 = nn.Sequential(avg_pool_3x3(), BasicConv2d(in_channels, 64, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)]
        return torch.cat(branches, 1)  # (B, 192, 35, 35) -> (B, 320, 35, 35)


class PlainStem(nn.Module):
    """A stem without branches, one layer per row (``STEM_V1``, ``STEM_SLIM``).

    ``mixed_5b`` appends TF-slim's Mixed_5b module, so that the whole stem of IR-v2 is one stage.
    """

    paper_name = "Stem"  # what the figures call it (read by zoo.analysis)

    def __init__(self, rows, in_channels: int = 3, mixed_5b: bool = False):
        super().__init__()
        channels = in_channels
        for name, out, kernel, stride, padding in rows:
            if out == 0:
                self.add_module(name, nn.MaxPool2d(kernel, stride=stride, padding=padding))
            else:
                self.add_module(name, BasicConv2d(channels, out, kernel, stride, padding))
                channels = out
        if mixed_5b:
            self.mixed_5b = Mixed5b(channels)
            channels = 320
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():  # one layer per row, in the figure's order
            x = layer(x)
        return x


# --- Inception-v4 modules (Figs 4-8) --------------------------------------------------------

class InceptionA(nn.Module):
    """Fig. 4: the 35×35 module of Inception-v4, 384 → 96 + 96 + 96 + 96 = 384 channels.

    1×1 96 | 1×1 64 → 3×3 96 | 1×1 64 → 3×3 96 → 3×3 96 | 3×3 avg-pool → 1×1 96.
    """

    def __init__(self, in_channels: int = 384):
        super().__init__()
        self.branch0 = BasicConv2d(in_channels, 96, 1)
        self.branch1 = conv_chain(in_channels, [(64, 1, 1, 0), (96, 3, 1, 1)])
        self.branch2 = conv_chain(in_channels, [(64, 1, 1, 0), (96, 3, 1, 1), (96, 3, 1, 1)])
        self.branch3 = nn.Sequential(avg_pool_3x3(), BasicConv2d(in_channels, 96, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)]
        return torch.cat(branches, 1)  # (B, 384, 35, 35) -> (B, 384, 35, 35)


class ReductionA(nn.Module):
    """Fig. 7: 35×35 → 17×17. 3×3 conv n /2 V | 1×1 k → 3×3 l → 3×3 m /2 V | 3×3 max-pool /2 V.

    The same module in all three networks, with Table 1's ``k, l, m, n`` (``REDUCTION_A``).
    Output channels: n + m + in.
    """

    def __init__(self, in_channels: int, k: int, l: int, m: int, n: int):  # noqa: E741 (paper's names)
        super().__init__()
        self.branch0 = BasicConv2d(in_channels, n, 3, stride=2)
        self.branch1 = conv_chain(in_channels, [(k, 1, 1, 0), (l, 3, 1, 1), (m, 3, 2, 0)])
        self.branch2 = nn.MaxPool2d(3, stride=2)
        self.out_channels = n + m + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch0(x), self.branch1(x), self.branch2(x)]
        return torch.cat(branches, 1)  # (B, C, 35, 35) -> (B, n + m + C, 17, 17)


class InceptionB(nn.Module):
    """Fig. 5: the 17×17 module of Inception-v4, 1024 → 384 + 256 + 256 + 128 = 1024 channels.

    1×1 384 | 1×1 192 → 1×7 224 → 7×1 256 | 1×1 192 → 7×1 192 → 1×7 224 → 7×1 224 → 1×7 256 |
    3×3 avg-pool → 1×1 128. (The order of the 1×7/7×1 factors follows TF-slim; counts are equal.)
    """

    def __init__(self, in_channels: int = 1024):
        super().__init__()
        self.branch0 = BasicConv2d(in_channels, 384, 1)
        self.branch1 = conv_chain(in_channels, [(192, 1, 1, 0), (224, (1, 7), 1, (0, 3)),
                                                (256, (7, 1), 1, (3, 0))])
        self.branch2 = conv_chain(in_channels, [(192, 1, 1, 0), (192, (7, 1), 1, (3, 0)),
                                                (224, (1, 7), 1, (0, 3)), (224, (7, 1), 1, (3, 0)),
                                                (256, (1, 7), 1, (0, 3))])
        self.branch3 = nn.Sequential(avg_pool_3x3(), BasicConv2d(in_channels, 128, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)]
        return torch.cat(branches, 1)  # (B, 1024, 17, 17) -> (B, 1024, 17, 17)


class ReductionB(nn.Module):
    """Fig. 8: Inception-v4's 17×17 → 8×8 module, 1024 → 192 + 320 + 1024 = 1536 channels.

    1×1 192 → 3×3 192 /2 V | 1×1 256 → 1×7 256 → 7×1 320 → 3×3 320 /2 V | 3×3 max-pool /2 V.
    """

    def __init__(self, in_channels: int = 1024):
        super().__init__()
        self.branch0 = conv_chain(in_channels, [(192, 1, 1, 0), (192, 3, 2, 0)])
        self.branch1 = conv_chain(in_channels, [(256, 1, 1, 0), (256, (1, 7), 1, (0, 3)),
                                                (320, (7, 1), 1, (3, 0)), (320, 3, 2, 0)])
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch0(x), self.branch1(x), self.branch2(x)]
        return torch.cat(branches, 1)  # (B, 1024, 17, 17) -> (B, 1536, 8, 8)


class InceptionC(nn.Module):
    """Fig. 6: the 8×8 module of Inception-v4, 1536 → 256 + 512 + 512 + 256 = 1536 channels.

    1×1 256 | 1×1 384 → (1×3 256 ‖ 3×1 256) | 1×1 384 → 3×1 448 → 1×3 512 → (1×3 256 ‖ 3×1 256) |
    3×3 avg-pool → 1×1 256. "‖": two convolutions on the same input, concatenated (the 3×3 split
    into an expanded filter bank). The 1×3/3×1 order of the third branch follows TF-slim.
    """

    def __init__(self, in_channels: int = 1536):
        super().__init__()
        self.branch0 = BasicConv2d(in_channels, 256, 1)
        self.branch1_0 = BasicConv2d(in_channels, 384, 1)
        self.branch1_1a = BasicConv2d(384, 256, (1, 3), padding=(0, 1))
        self.branch1_1b = BasicConv2d(384, 256, (3, 1), padding=(1, 0))
        self.branch2_0 = BasicConv2d(in_channels, 384, 1)
        self.branch2_1 = BasicConv2d(384, 448, (3, 1), padding=(1, 0))
        self.branch2_2 = BasicConv2d(448, 512, (1, 3), padding=(0, 1))
        self.branch2_3a = BasicConv2d(512, 256, (1, 3), padding=(0, 1))
        self.branch2_3b = BasicConv2d(512, 256, (3, 1), padding=(1, 0))
        self.branch3 = nn.Sequential(avg_pool_3x3(), BasicConv2d(in_channels, 256, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.branch0(x)  # (B, 1536, 8, 8) -> (B, 256, 8, 8)
        x1 = self.branch1_0(x)
        x1 = torch.cat([self.branch1_1a(x1), self.branch1_1b(x1)], 1)  # -> (B, 512, 8, 8)
        x2 = self.branch2_2(self.branch2_1(self.branch2_0(x)))
        x2 = torch.cat([self.branch2_3a(x2), self.branch2_3b(x2)], 1)  # -> (B, 512, 8, 8)
        x3 = self.branch3(x)  # -> (B, 256, 8, 8)
        return torch.cat([x0, x1, x2, x3], 1)  # -> (B, 1536, 8, 8)


# --- Inception-ResNet modules (Figs 10-13, 16-19) --------------------------------------------

class InceptionResNetA(nn.Module):
    """Figs 10 / 16: the 35×35 residual module.

    1×1 b0 | 1×1 b1[0] → 3×3 b1[1] | 1×1 b2[0] → 3×3 b2[1] → 3×3 b2[2], concatenated, then a
    linear 1×1 convolution back to ``channels``, scaled by ``scale`` and added to the input; ReLU.
    """

    def __init__(self, channels: int, b0: int, b1: tuple[int, int], b2: tuple[int, int, int],
                 scale: float):
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(channels, b0, 1)
        self.branch1 = conv_chain(channels, [(b1[0], 1, 1, 0), (b1[1], 3, 1, 1)])
        self.branch2 = conv_chain(channels, [(b2[0], 1, 1, 0), (b2[1], 3, 1, 1), (b2[2], 3, 1, 1)])
        self.conv = nn.Conv2d(b0 + b1[-1] + b2[-1], channels, 1)  # "1×1 Conv (… Linear)"
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)  # (B, C, H, W) -> (B, Σb, H, W)
        r = self.conv(r)  # -> (B, C, H, W)
        return self.relu(x + self.scale * r)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class InceptionResNetB(nn.Module):
    """Figs 11 / 17: the 17×17 residual module.

    1×1 b0 | 1×1 b1[0] → 1×7 b1[1] → 7×1 b1[2], concatenated, linear 1×1 back to ``channels``,
    scaled and added to the input; ReLU.
    """

    def __init__(self, channels: int, b0: int, b1: tuple[int, int, int], scale: float):
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(channels, b0, 1)
        self.branch1 = conv_chain(channels, [(b1[0], 1, 1, 0), (b1[1], (1, 7), 1, (0, 3)),
                                             (b1[2], (7, 1), 1, (3, 0))])
        self.conv = nn.Conv2d(b0 + b1[-1], channels, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = torch.cat([self.branch0(x), self.branch1(x)], 1)  # (B, C, 17, 17) -> (B, b0 + b1, 17, 17)
        r = self.conv(r)  # -> (B, C, 17, 17)
        return self.relu(x + self.scale * r)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class InceptionResNetC(nn.Module):
    """Figs 13 / 19: the 8×8 residual module.

    1×1 b0 | 1×1 b1[0] → 1×3 b1[1] → 3×1 b1[2], concatenated, linear 1×1 back to ``channels``,
    scaled and added to the input; ReLU unless ``relu=False`` (TF-slim's last IR-v2 block).
    """

    def __init__(self, channels: int, b0: int, b1: tuple[int, int, int], scale: float,
                 relu: bool = True):
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(channels, b0, 1)
        self.branch1 = conv_chain(channels, [(b1[0], 1, 1, 0), (b1[1], (1, 3), 1, (0, 1)),
                                             (b1[2], (3, 1), 1, (1, 0))])
        self.conv = nn.Conv2d(b0 + b1[-1], channels, 1)
        self.relu = nn.ReLU(inplace=True) if relu else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = torch.cat([self.branch0(x), self.branch1(x)], 1)  # (B, C, 8, 8) -> (B, b0 + b1, 8, 8)
        r = self.conv(r)  # -> (B, C, 8, 8)
        return self.relu(x + self.scale * r)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class InceptionResNetReductionB(nn.Module):
    """Figs 12 / 18: the Inception-ResNets' Reduction-B, 17×17 → 8×8.

    1×1 256 → 3×3 b0 /2 V | 1×1 256 → 3×3 b1 /2 V | 1×1 256 → 3×3 b2[0] → 3×3 b2[1] /2 V |
    3×3 max-pool /2 V. (Not Fig. 8's module: a separate class because the branches differ.)
    """

    paper_name = "ReductionB"  # the figures' name (read by zoo.analysis)

    def __init__(self, in_channels: int, b0: int, b1: int, b2: tuple[int, int]):
        super().__init__()
        self.branch0 = conv_chain(in_channels, [(256, 1, 1, 0), (b0, 3, 2, 0)])
        self.branch1 = conv_chain(in_channels, [(256, 1, 1, 0), (b1, 3, 2, 0)])
        self.branch2 = conv_chain(in_channels, [(256, 1, 1, 0), (b2[0], 3, 1, 1), (b2[1], 3, 2, 0)])
        self.branch3 = nn.MaxPool2d(3, stride=2)
        self.out_channels = b0 + b1 + b2[-1] + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)]
        return torch.cat(branches, 1)  # (B, C, 17, 17) -> (B, b0 + b1 + b2 + C, 8, 8)


# --- the networks ---------------------------------------------------------------------------

# Fig. 9: Inception-v4 = stem, 4 × Inception-A, Reduction-A, 7 × Inception-B, Reduction-B,
# 3 × Inception-C, average pooling, dropout (keep 0.8), softmax.
# stage, module, repeats, output at 299×299 input
INCEPTION_V4 = (
    ("stem", Stem, 1, (384, 35, 35)),
    ("inception_a", InceptionA, 4, (384, 35, 35)),
    ("reduction_a", ReductionA, 1, (1024, 17, 17)),
    ("inception_b", InceptionB, 7, (1024, 17, 17)),
    ("reduction_b", ReductionB, 1, (1536, 8, 8)),
    ("inception_c", InceptionC, 3, (1536, 8, 8)),
)


class InceptionV4(nn.Module):
    """Fig. 9. Stage attributes are named after the figure's boxes (``INCEPTION_V4``)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2, in_channels: int = 3):
        super().__init__()
        repeats = {stage: n for stage, _, n, _ in INCEPTION_V4}
        self.stem = Stem(in_channels)
        self.inception_a = nn.Sequential(*[InceptionA(384) for _ in range(repeats["inception_a"])])
        self.reduction_a = ReductionA(384, *REDUCTION_A["inception_v4"])
        self.inception_b = nn.Sequential(*[InceptionB(1024) for _ in range(repeats["inception_b"])])
        self.reduction_b = ReductionB(1024)
        self.inception_c = nn.Sequential(*[InceptionC(1536) for _ in range(repeats["inception_c"])])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1536, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)         # (B, 3, 299, 299) -> (B, 384, 35, 35)
        x = self.inception_a(x)  # -> (B, 384, 35, 35)
        x = self.reduction_a(x)  # -> (B, 1024, 17, 17)
        x = self.inception_b(x)  # -> (B, 1024, 17, 17)
        x = self.reduction_b(x)  # -> (B, 1536, 8, 8)
        x = self.inception_c(x)  # -> (B, 1536, 8, 8)
        x = torch.flatten(self.avgpool(x), 1)  # -> (B, 1536)
        x = self.dropout(x)
        return self.fc(x)        # -> (B, num_classes)


@dataclass(frozen=True)
class InceptionResNetSpec:
    """The widths and depths of one Inception-ResNet, as its figures give them."""

    stem: tuple            # rows of a PlainStem
    mixed_5b: bool         # TF-slim's extra 35×35 module after the stem (IR-v2 only)
    # repeats, channels, branch widths, residual scale of the three residual stages
    block_a: tuple         # (repeats, channels, b0, (b1), (b2), scale)
    block_b: tuple         # (repeats, channels, b0, (b1), scale)
    block_c: tuple         # (repeats, channels, b0, (b1), scale)
    reduction_a: tuple     # Table 1: k, l, m, n
    reduction_b: tuple     # b0, b1, (b2): the stride-2 convolutions' widths
    last_unscaled: bool    # TF-slim: the last IR-C block has scale 1.0 and no ReLU
    head_channels: int     # TF-slim: 1×1 conv to this width before pooling; 0 for none


# Figs 14, 10, 7/Table 1, 11, 12, 13, 15. The residual scales 0.17 / 0.10 / 0.20 are TF-slim's;
# the paper says only "between 0.1 and 0.3" (§3.3), and gives them for neither net.
IR_V1 = InceptionResNetSpec(
    stem=STEM_V1,                                       # Fig. 14: 35×35×256
    mixed_5b=False,
    block_a=(5, 256, 32, (32, 32), (32, 32, 32), 0.17),  # Fig. 10
    block_b=(10, 896, 128, (128, 128, 128), 0.10),      # Fig. 11
    block_c=(5, 1792, 192, (192, 192, 192), 0.20),      # Fig. 13
    reduction_a=REDUCTION_A["inception_resnet_v1"],     # Table 1 → 17×17×896
    reduction_b=(384, 256, (256, 256)),                 # Fig. 12 → 8×8×1792
    last_unscaled=False,
    head_channels=0,
)
# TF-slim's (and timm's) Inception-ResNet-v2; the paper's figures, where they differ, in comments.
IR_V2 = InceptionResNetSpec(
    stem=STEM_SLIM,                                     # paper: Fig. 3's stem, 35×35×384
    mixed_5b=True,                                      # not in the paper; → 35×35×320
    block_a=(10, 320, 32, (32, 32), (32, 48, 64), 0.17),  # paper Fig. 16: 5×, 1×1 to 384
    block_b=(20, 1088, 192, (128, 160, 192), 0.10),     # paper Fig. 17: 10×, 1×1 to 1154
    block_c=(10, 2080, 192, (192, 224, 256), 0.20),     # paper Fig. 19: 5×, 1×1 to 2048
    reduction_a=REDUCTION_A["inception_resnet_v2"],     # Table 1 → 17×17×1088
    reduction_b=(384, 288, (288, 320)),                 # Fig. 18 → 8×8×2080
    last_unscaled=True,                                 # not in the paper
    head_channels=1536,                                 # not in the paper
)


class InceptionResNet(nn.Module):
    """Fig. 15: stem, A × IR-A, Reduction-A, B × IR-B, Reduction-B, C × IR-C, pool, dropout, FC."""

    def __init__(self, spec: InceptionResNetSpec, num_classes: int = 1000, dropout: float = 0.2,
                 in_channels: int = 3):
        super().__init__()
        n_a, ch_a, a0, a1, a2, scale_a = spec.block_a
        n_b, ch_b, b0, b1, scale_b = spec.block_b
        n_c, ch_c, c0, c1, scale_c = spec.block_c

        self.stem = PlainStem(spec.stem, in_channels, mixed_5b=spec.mixed_5b)
        assert self.stem.out_channels == ch_a
        self.inception_resnet_a = nn.Sequential(
            *[InceptionResNetA(ch_a, a0, a1, a2, scale_a) for _ in range(n_a)])
        self.reduction_a = ReductionA(ch_a, *spec.reduction_a)
        assert self.reduction_a.out_channels == ch_b
        self.inception_resnet_b = nn.Sequential(
            *[InceptionResNetB(ch_b, b0, b1, scale_b) for _ in range(n_b)])
        self.reduction_b = InceptionResNetReductionB(ch_b, *spec.reduction_b)
        assert self.reduction_b.out_channels == ch_c
        blocks_c = [InceptionResNetC(ch_c, c0, c1, scale_c) for _ in range(n_c)]
        if spec.last_unscaled:
            blocks_c[-1] = InceptionResNetC(ch_c, c0, c1, scale=1.0, relu=False)
        self.inception_resnet_c = nn.Sequential(*blocks_c)
        if spec.head_channels:
            self.conv_head = BasicConv2d(ch_c, spec.head_channels, 1)  # TF-slim's Conv2d_7b_1x1
            features = spec.head_channels
        else:
            self.conv_head = nn.Identity()
            features = ch_c
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)                # (B, 3, 299, 299) -> (B, 256 | 320, 35, 35)
        x = self.inception_resnet_a(x)  # same shape
        x = self.reduction_a(x)         # -> (B, 896 | 1088, 17, 17)
        x = self.inception_resnet_b(x)  # same shape
        x = self.reduction_b(x)         # -> (B, 1792 | 2080, 8, 8)
        x = self.inception_resnet_c(x)  # same shape
        x = self.conv_head(x)           # IR-v2: -> (B, 1536, 8, 8)
        x = torch.flatten(self.avgpool(x), 1)  # -> (B, features)
        x = self.dropout(x)
        return self.fc(x)               # -> (B, num_classes)


# --- builders -------------------------------------------------------------------------------

@register(
    "inception_v4", family="Inception", paper=PAPER, resolution=299, reference="inception_v4",
    published=("Inception-v4", "timm tf port"),
    note="Every convolution as in timm's inception_v4 (TF-slim port); blocks per Figs 3-9.",
)
def inception_v4(num_classes: int = 1000, dropout: float = 0.2) -> InceptionV4:
    return InceptionV4(num_classes=num_classes, dropout=dropout)


@register(
    "inception_resnet_v1", family="Inception-ResNet", paper=PAPER, resolution=299, reference=None,
    published=("Inception-ResNet-v1", "paper only"),
    note=("No reference implementation exists: built from the paper's Figs 10-15 and Table 1 "
          "(5 × IR-A, 10 × IR-B, 5 × IR-C; residual scales 0.17/0.10/0.20 borrowed from TF-slim's "
          "IR-v2). As built here: 22,756,328 parameters and 6,206,361,696 MACs at 299 (CNN Atlas's "
          "own count, torch FlopCounterMode / 2; no published figure to check it against)."),
)
def inception_resnet_v1(num_classes: int = 1000, dropout: float = 0.2) -> InceptionResNet:
    return InceptionResNet(IR_V1, num_classes=num_classes, dropout=dropout)


@register(
    "inception_resnet_v2", family="Inception-ResNet", paper=PAPER, resolution=299,
    reference="inception_resnet_v2", published=("Inception-ResNet-v2", "timm tf port"),
    note=("TF-slim's network (as timm): 10/20/10 residual blocks of widths 320/1088/2080, a v3-style "
          "stem with Mixed_5b and a 1536-channel 1×1 head conv, where the paper's figures have "
          "5/10/5 blocks of widths 384/1154/2048 after Fig. 3's stem."),
)
def inception_resnet_v2(num_classes: int = 1000, dropout: float = 0.2) -> InceptionResNet:
    return InceptionResNet(IR_V2, num_classes=num_classes, dropout=dropout)
