"""Inception v3: factorised convolutions, efficient grid reduction, label smoothing.

Paper: Szegedy, Vanhoucke, Ioffe, Shlens, Wojna, "Rethinking the Inception Architecture for
Computer Vision", 2015, arXiv:1512.00567. ``STEM`` and ``MIXED`` follow Table 1 of the paper as
released in TensorFlow (the layout torchvision ported; see the deviations below).

Idea: keep Inception's parallel branches but make every branch cheaper. A 5×5 convolution is
replaced by two 3×3 (Figure 5, ``InceptionA``: 2·9 = 18 against 25 weights per channel pair); an
n×n convolution by a 1×n followed by an n×1 (Figure 6, ``InceptionC`` with n = 7: 14 against 49);
on the coarsest 8×8 grid the 1×3 and 3×1 run side by side to widen the output (Figure 7,
``InceptionE``). Grid size is halved without a representational bottleneck by running a stride-2
convolution branch and a stride-2 pooling branch in parallel and concatenating them (Figure 10,
``InceptionB`` 35 → 17 and ``InceptionD`` 17 → 8). One auxiliary classifier on the 17×17 grid
(``InceptionAux``) acts as a regulariser. Together with batch normalisation everywhere, RMSProp
and label smoothing this reaches 21.2 % top-1 error at 5 G multiply-adds and under 25 M parameters.

Deviations from the paper's Table 1 (torchvision's layout, which its weights need):
- stem: after the first pool torchvision has a 1×1 conv to 80 channels (Conv2d_3b_1x1) and a
  3×3 to 192 (Conv2d_4a_3x3) followed by a second max-pool to 35×35, where Table 1 lists only
  3×3 convolutions there (73 → 71 → 35, the second with stride 2) and no second pool;
- four Figure-6 modules (Mixed_6b … 6e) after the reduction Mixed_6a, where Table 1 lists 5×;
- batch norm eps 0.001 (TensorFlow's), ``BasicConv2d`` as in GoogLeNet.
``transform_input`` maps ImageNet-normalised input to the [-1, 1] scaling of the TF weights.
"""
from __future__ import annotations

from collections import namedtuple

import torch
import torch.nn as nn

from .googlenet import BasicConv2d, transform_input
from .layers import on_meta
from .registry import Paper, register

PAPER = Paper(
    title="Rethinking the Inception Architecture for Computer Vision",
    authors="Szegedy, Vanhoucke, Ioffe, Shlens, Wojna",
    year=2015,
    arxiv="1512.00567",
)

# The stem, one row per layer (no padding unless given; "pool" = max-pool 3×3/2).
# name, out, kernel, stride, padding                    # output at 299 px
STEM = (
    ("Conv2d_1a_3x3", 32, 3, 2, 0),                     # 149×149×32
    ("Conv2d_2a_3x3", 32, 3, 1, 0),                     # 147×147×32
    ("Conv2d_2b_3x3", 64, 3, 1, 1),                     # 147×147×64
    ("maxpool1", None, 3, 2, 0),                        # 73×73×64
    ("Conv2d_3b_1x1", 80, 1, 1, 0),                     # 73×73×80
    ("Conv2d_4a_3x3", 192, 3, 1, 0),                    # 71×71×192
    ("maxpool2", None, 3, 2, 0),                        # 35×35×192
)
# The Inception modules. The argument is pool_features (A) or channels_7x7 (C).
# name,      block, argument                          # output at 299 px
MIXED = (
    ("Mixed_5b", "A", 32),                              # 35×35×256   Figure 5
    ("Mixed_5c", "A", 64),                              # 35×35×288
    ("Mixed_5d", "A", 64),                              # 35×35×288
    ("Mixed_6a", "B", None),                            # 17×17×768   Figure 10, grid reduction
    ("Mixed_6b", "C", 128),                             # 17×17×768   Figure 6, n = 7
    ("Mixed_6c", "C", 160),                             # 17×17×768
    ("Mixed_6d", "C", 160),                             # 17×17×768
    ("Mixed_6e", "C", 192),                             # 17×17×768
    ("Mixed_7a", "D", None),                            # 8×8×1280    grid reduction
    ("Mixed_7b", "E", None),                            # 8×8×2048    Figure 7
    ("Mixed_7c", "E", None),                            # 8×8×2048
)
AUX_AFTER = "Mixed_6e"  # the auxiliary classifier reads the 17×17×768 grid

InceptionOutputs = namedtuple("InceptionOutputs", ["logits", "aux_logits"])


class InceptionA(nn.Module):
    """Figure 5: 1×1 ‖ 1×1→5×5 ‖ 1×1→3×3→3×3 ‖ avg-pool→1×1. Out: 224 + pool_features."""

    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        # torchvision keeps a 5×5 branch beside the factorised double 3×3 (as the TF release).
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.avgpool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)
        self.out_channels = 64 + 64 + 96 + pool_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)                                    # (B, C, H, W) -> (B, 64, H, W)
        b5 = self.branch5x5_2(self.branch5x5_1(x))                # -> (B, 64, H, W)
        b3 = self.branch3x3dbl_1(x)                               # -> (B, 64, H, W)
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(b3))         # -> (B, 96, H, W)
        bp = self.branch_pool(self.avgpool(x))                    # -> (B, pool_features, H, W)
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    """Grid reduction 35 → 17 (Figure 10): 3×3/2 ‖ 1×1→3×3→3×3/2 ‖ max-pool 3×3/2. Out: C + 480."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2)
        self.out_channels = in_channels + 384 + 96

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3(x)                                    # (B, C, 35, 35) -> (B, 384, 17, 17)
        bd = self.branch3x3dbl_1(x)                               # -> (B, 64, 35, 35)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(bd))         # -> (B, 96, 17, 17)
        bp = self.maxpool(x)                                      # -> (B, C, 17, 17)
        return torch.cat([b3, bd, bp], 1)


class InceptionC(nn.Module):
    """Figure 6, n = 7: 1×1 ‖ 1×1→1×7→7×1 ‖ 1×1→7×1→1×7→7×1→1×7 ‖ avg-pool→1×1. Out: 768."""

    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.avgpool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)
        self.out_channels = 4 * 192

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)                                    # (B, 768, 17, 17) -> (B, 192, 17, 17)
        b7 = self.branch7x7_1(x)                                  # -> (B, c7, 17, 17)
        b7 = self.branch7x7_2(b7)                                 # 1×7
        b7 = self.branch7x7_3(b7)                                 # 7×1 -> (B, 192, 17, 17)
        bd = self.branch7x7dbl_1(x)                               # -> (B, c7, 17, 17)
        bd = self.branch7x7dbl_2(bd)                              # 7×1
        bd = self.branch7x7dbl_3(bd)                              # 1×7
        bd = self.branch7x7dbl_4(bd)                              # 7×1
        bd = self.branch7x7dbl_5(bd)                              # 1×7 -> (B, 192, 17, 17)
        bp = self.branch_pool(self.avgpool(x))                    # -> (B, 192, 17, 17)
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    """Grid reduction 17 → 8: 1×1→3×3/2 ‖ 1×1→1×7→7×1→3×3/2 ‖ max-pool 3×3/2. Out: C + 512."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2)
        self.out_channels = in_channels + 320 + 192

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))                # (B, C, 17, 17) -> (B, 320, 8, 8)
        b7 = self.branch7x7x3_1(x)                                # -> (B, 192, 17, 17)
        b7 = self.branch7x7x3_2(b7)                               # 1×7
        b7 = self.branch7x7x3_3(b7)                               # 7×1
        b7 = self.branch7x7x3_4(b7)                               # -> (B, 192, 8, 8)
        bp = self.maxpool(x)                                      # -> (B, C, 8, 8)
        return torch.cat([b3, b7, bp], 1)


class InceptionE(nn.Module):
    """Figure 7: 1×1 ‖ 1×1→(1×3 ‖ 3×1) ‖ 1×1→3×3→(1×3 ‖ 3×1) ‖ avg-pool→1×1. Out: 2048."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.avgpool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)
        self.out_channels = 320 + 2 * 384 + 2 * 384 + 192

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)                                    # (B, C, 8, 8) -> (B, 320, 8, 8)
        b3 = self.branch3x3_1(x)                                  # -> (B, 384, 8, 8)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)      # -> (B, 768, 8, 8)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))          # -> (B, 384, 8, 8)
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)  # -> (B, 768, 8, 8)
        bp = self.branch_pool(self.avgpool(x))                    # -> (B, 192, 8, 8)
        return torch.cat([b1, b3, bd, bp], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier on the 17×17 grid: avg-pool 5×5/3 → 1×1 (128) → 5×5 (768) → FC."""

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.avgpool = nn.AvgPool2d(kernel_size=5, stride=3)
        self.conv0 = BasicConv2d(in_channels, 128, kernel_size=1)
        self.conv1 = BasicConv2d(128, 768, kernel_size=5)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(x)            # (B, 768, 17, 17) -> (B, 768, 5, 5)
        x = self.conv0(x)              # -> (B, 128, 5, 5)
        x = self.conv1(x)              # -> (B, 768, 1, 1)
        x = self.pool(x)               # -> (B, 768, 1, 1)
        x = torch.flatten(x, 1)        # -> (B, 768)
        return self.fc(x)              # -> (B, num_classes)


BLOCKS = {"A": InceptionA, "B": InceptionB, "C": InceptionC, "D": InceptionD, "E": InceptionE}


def make_mixed(block: str, in_channels: int, arg: int | None) -> nn.Module:
    """One row of ``MIXED`` as a module."""
    cls = BLOCKS[block]
    return cls(in_channels) if arg is None else cls(in_channels, arg)


class Inception3(nn.Module):
    def __init__(self, num_classes: int = 1000, aux_logits: bool = True, transform_input: bool = False,
                 dropout: float = 0.5, init_weights: bool = True):
        super().__init__()
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        c = 3
        for name, out, kernel, stride, padding in STEM:
            if out is None:
                setattr(self, name, nn.MaxPool2d(kernel_size=kernel, stride=stride))
            else:
                setattr(self, name, BasicConv2d(c, out, kernel_size=kernel, stride=stride, padding=padding))
                c = out
        self.AuxLogits: nn.Module | None = None
        for name, block, arg in MIXED:
            mixed = make_mixed(block, c, arg)
            setattr(self, name, mixed)
            c = mixed.out_channels
            if name == AUX_AFTER and aux_logits:
                self.AuxLogits = InceptionAux(c, num_classes)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(c, num_classes)
        if init_weights:
            self._init_weights()

    def _init_weights(self) -> None:
        # torchvision: truncated normal, std 0.1 (bounds ±2 absolute), 0.001 for the aux FC.
        # (It also tags AuxLogits.conv1 with std 0.01, but on the BasicConv2d wrapper, which its
        # loop never reads; we reproduce what it does.) Batch norm: weight 1, bias 0.
        if on_meta(self):  # built for analysis: no values to fill
            return
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                std = 0.001 if self.AuxLogits is not None and m is self.AuxLogits.fc else 0.1
                nn.init.trunc_normal_(m.weight, mean=0.0, std=std, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor):
        """Eval mode (or no aux head): the logits. Training with the aux head:
        InceptionOutputs(logits, aux_logits)."""
        if self.transform_input:
            x = transform_input(x)
        x = self.Conv2d_1a_3x3(x)    # (B, 3, 299, 299) -> (B, 32, 149, 149)
        x = self.Conv2d_2a_3x3(x)    # -> (B, 32, 147, 147)
        x = self.Conv2d_2b_3x3(x)    # -> (B, 64, 147, 147)
        x = self.maxpool1(x)         # -> (B, 64, 73, 73)
        x = self.Conv2d_3b_1x1(x)    # -> (B, 80, 73, 73)
        x = self.Conv2d_4a_3x3(x)    # -> (B, 192, 71, 71)
        x = self.maxpool2(x)         # -> (B, 192, 35, 35)
        x = self.Mixed_5b(x)         # -> (B, 256, 35, 35)
        x = self.Mixed_5c(x)         # -> (B, 288, 35, 35)
        x = self.Mixed_5d(x)         # -> (B, 288, 35, 35)
        x = self.Mixed_6a(x)         # -> (B, 768, 17, 17)
        x = self.Mixed_6b(x)         # -> (B, 768, 17, 17)
        x = self.Mixed_6c(x)         # -> (B, 768, 17, 17)
        x = self.Mixed_6d(x)         # -> (B, 768, 17, 17)
        x = self.Mixed_6e(x)         # -> (B, 768, 17, 17)
        with_aux = self.training and self.AuxLogits is not None
        aux = self.AuxLogits(x) if with_aux else None   # (B, 768, 17, 17) -> (B, num_classes)
        x = self.Mixed_7a(x)         # -> (B, 1280, 8, 8)
        x = self.Mixed_7b(x)         # -> (B, 2048, 8, 8)
        x = self.Mixed_7c(x)         # -> (B, 2048, 8, 8)
        x = self.avgpool(x)          # -> (B, 2048, 1, 1)
        x = self.dropout(x)
        x = torch.flatten(x, 1)      # -> (B, 2048)
        x = self.fc(x)               # -> (B, num_classes)
        if with_aux:
            return InceptionOutputs(x, aux)
        return x


@register(
    "inception_v3",
    family="Inception",
    paper=PAPER,
    resolution=299,
    reference="inception_v3",
    twin=True,
    published=("Inception-v3", "torchvision (AuxLogits included)"),
    note="torchvision's layout of the TensorFlow release (stem 1×1→80, 3×3→192, pool; four "
         "17×17 modules). Built with the auxiliary head (27.2 M parameters; 23.8 M without, "
         "aux_logits=False); it runs only in training mode.",
)
def inception_v3(num_classes: int = 1000, aux_logits: bool = True, transform_input: bool = False,
                 dropout: float = 0.5) -> Inception3:
    return Inception3(num_classes=num_classes, aux_logits=aux_logits, transform_input=transform_input,
                      dropout=dropout)
