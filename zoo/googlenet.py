"""GoogLeNet (Inception v1): width by parallel branches, cost held down by 1×1 reductions.

Paper: Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke, Rabinovich, "Going Deeper
with Convolutions", 2014, arXiv:1409.4842. ``TABLE1`` mirrors Table 1 of the paper (the columns
#1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj of each Inception module).

Idea: an *Inception module* looks at the same input through 1×1, 3×3 and 5×5 convolutions and a
3×3 max-pool side by side and concatenates the four results along channels, so the network
chooses per layer which scale matters. Done naively the 3×3 and 5×5 branches on hundreds of
channels cost too much; a 1×1 "reduce" convolution in front of them (and a 1×1 "pool proj" after
the pool) first shrinks the channels, which is where the budget of 1.5 G multiply-adds comes from.
Nine such modules, 22 layers with parameters, no large fully connected layer (global average
pooling feeds one linear layer), and 12× fewer parameters than AlexNet. Two auxiliary
classifiers (``InceptionAux``, on inception4a and inception4d) add gradient to the middle of the
network while training and are dropped at inference.

Deviations, all torchvision's (its weights were ported from TensorFlow and need this layout):
- every convolution is followed by batch normalisation (eps 0.001) and the stem has no local
  response normalisation (the 2014 net has LRN and no BN);
- the "5×5" branch uses a 3×3 kernel, a known bug kept for weight compatibility
  (pytorch/vision issue #906): ``FIVE_BY_FIVE_KERNEL``;
- maxpool4 is 2×2/2 instead of the paper's 3×3/2 (same 14 → 7 output size);
- each auxiliary head pools adaptively to 4×4 (the paper's 5×5/3 average pool gives 4×4 at 14×14).
"""
from __future__ import annotations

from collections import namedtuple

import torch
import torch.nn as nn

from .layers import on_meta
from .registry import Paper, register

PAPER = Paper(
    title="Going Deeper with Convolutions",
    authors="Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke, Rabinovich",
    year=2014,
    arxiv="1409.4842",
)

# Table 1: the nine Inception modules. A 3×3/2 max-pool (2×2/2 before 5a, see above) sits
# between stages 3 → 4 and 4 → 5. The output has #1×1 + #3×3 + #5×5 + pool proj channels.
# name,          #1×1, #3×3 red, #3×3, #5×5 red, #5×5, pool proj   # output size
TABLE1 = (
    ("inception3a",   64,   96,  128,  16,  32,  32),   # 28×28×256
    ("inception3b",  128,  128,  192,  32,  96,  64),   # 28×28×480
    ("inception4a",  192,   96,  208,  16,  48,  64),   # 14×14×512
    ("inception4b",  160,  112,  224,  24,  64,  64),   # 14×14×512
    ("inception4c",  128,  128,  256,  24,  64,  64),   # 14×14×512
    ("inception4d",  112,  144,  288,  32,  64,  64),   # 14×14×528
    ("inception4e",  256,  160,  320,  32, 128, 128),   # 14×14×832
    ("inception5a",  256,  160,  320,  32, 128, 128),   # 7×7×832
    ("inception5b",  384,  192,  384,  48, 128, 128),   # 7×7×1024
)
STEM_CHANNELS = 192       # conv3's output, the input of inception3a
AUX_AFTER = {"aux1": "inception4a", "aux2": "inception4d"}  # where the auxiliary heads attach
# torchvision's branch3 ("5×5") kernel: 3, a bug kept for weight compatibility (vision#906).
FIVE_BY_FIVE_KERNEL = 3

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


def out_channels(row) -> int:
    """Output channels of an Inception module of Table 1: #1×1 + #3×3 + #5×5 + pool proj."""
    _, c1, _, c3, _, c5, pool_proj = row
    return c1 + c3 + c5 + pool_proj


def in_channels_of(table=TABLE1, stem: int = STEM_CHANNELS) -> dict[str, int]:
    """Input channels of each Inception module: the previous module's concatenated output."""
    out: dict[str, int] = {}
    c = stem
    for row in table:
        out[row[0]] = c
        c = out_channels(row)
    return out


class BasicConv2d(nn.Module):
    """conv (no bias) → batch norm (eps 0.001, as TensorFlow) → ReLU; torchvision's names."""

    def __init__(self, in_channels: int, out_channels: int, **conv_kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv_kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four branches on the same input, concatenated along channels (Figure 2b of the paper)."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int,
                 ch5x5red: int, ch5x5: int, pool_proj: int):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        k = FIVE_BY_FIVE_KERNEL
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=k, padding=k // 2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1(x)   # (B, C, H, W) -> (B, #1×1, H, W)
        b2 = self.branch2(x)   # -> (B, #3×3, H, W)
        b3 = self.branch3(x)   # -> (B, #5×5, H, W)
        b4 = self.branch4(x)   # -> (B, pool proj, H, W)
        return torch.cat([b1, b2, b3, b4], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: pool to 4×4, 1×1 conv to 128, FC 1024, dropout 0.7, FC classes."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(p=dropout)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(x)              # (B, C, 14, 14) -> (B, C, 4, 4)
        x = self.conv(x)                 # -> (B, 128, 4, 4)
        x = torch.flatten(x, 1)          # -> (B, 2048)
        x = self.relu(self.fc1(x))       # -> (B, 1024)
        x = self.dropout(x)
        return self.fc2(x)               # -> (B, num_classes)


def transform_input(x: torch.Tensor) -> torch.Tensor:
    """Re-normalise an ImageNet-normalised input ((x - mean) / std) to the [-1, 1] scaling
    ((x - 0.5) / 0.5) the TensorFlow-trained weights expect. Shared with Inception v3."""
    mean = (0.485, 0.456, 0.406)
    std = (0.229, 0.224, 0.225)
    chans = [x[:, i:i + 1] * (s / 0.5) + (m - 0.5) / 0.5 for i, (m, s) in enumerate(zip(mean, std))]
    return torch.cat(chans, 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes: int = 1000, aux_logits: bool = True, transform_input: bool = False,
                 dropout: float = 0.2, dropout_aux: float = 0.7, init_weights: bool = True):
        super().__init__()
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        # Stem (Table 1 rows "convolution 7×7/2" … "max pool 3×3/2"), without LRN.
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, STEM_CHANNELS, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        # The nine Inception modules of Table 1, with the pools between stages.
        in_ch = in_channels_of()
        rows = {row[0]: row for row in TABLE1}
        for name in ("inception3a", "inception3b"):
            setattr(self, name, Inception(in_ch[name], *rows[name][1:]))
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for name in ("inception4a", "inception4b", "inception4c", "inception4d", "inception4e"):
            setattr(self, name, Inception(in_ch[name], *rows[name][1:]))
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)  # paper: 3×3/2
        for name in ("inception5a", "inception5b"):
            setattr(self, name, Inception(in_ch[name], *rows[name][1:]))
        if aux_logits:
            self.aux1 = InceptionAux(out_channels(rows["inception4a"]), num_classes, dropout_aux)
            self.aux2 = InceptionAux(out_channels(rows["inception4d"]), num_classes, dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(out_channels(TABLE1[-1]), num_classes)
        if init_weights:
            self._init_weights()

    def _init_weights(self) -> None:
        # torchvision draws from a normal (std 0.01) truncated at ±2 (absolute, so ±200 std:
        # effectively untruncated); torch.nn.init.trunc_normal_ instead of scipy keeps it fast
        # and meta-device friendly.
        if on_meta(self):  # built for analysis: no values to fill
            return
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor):
        """Eval mode (or no aux heads): the logits. Training with aux heads: GoogLeNetOutputs
        (logits, aux_logits2, aux_logits1), where aux_logits1 comes from ``aux1`` (after
        inception4a) and aux_logits2 from ``aux2`` (after inception4d)."""
        if self.transform_input:
            x = transform_input(x)
        x = self.conv1(x)            # (B, 3, 224, 224) -> (B, 64, 112, 112)
        x = self.maxpool1(x)         # -> (B, 64, 56, 56)
        x = self.conv2(x)            # -> (B, 64, 56, 56)
        x = self.conv3(x)            # -> (B, 192, 56, 56)
        x = self.maxpool2(x)         # -> (B, 192, 28, 28)
        x = self.inception3a(x)      # -> (B, 256, 28, 28)
        x = self.inception3b(x)      # -> (B, 480, 28, 28)
        x = self.maxpool3(x)         # -> (B, 480, 14, 14)
        x = self.inception4a(x)      # -> (B, 512, 14, 14)
        with_aux = self.training and self.aux1 is not None
        aux1 = self.aux1(x) if with_aux else None   # (B, 512, 14, 14) -> (B, num_classes)
        x = self.inception4b(x)      # -> (B, 512, 14, 14)
        x = self.inception4c(x)      # -> (B, 512, 14, 14)
        x = self.inception4d(x)      # -> (B, 528, 14, 14)
        aux2 = self.aux2(x) if with_aux else None   # (B, 528, 14, 14) -> (B, num_classes)
        x = self.inception4e(x)      # -> (B, 832, 14, 14)
        x = self.maxpool4(x)         # -> (B, 832, 7, 7)
        x = self.inception5a(x)      # -> (B, 832, 7, 7)
        x = self.inception5b(x)      # -> (B, 1024, 7, 7)
        x = self.avgpool(x)          # -> (B, 1024, 1, 1)
        x = torch.flatten(x, 1)      # -> (B, 1024)
        x = self.dropout(x)
        x = self.fc(x)               # -> (B, num_classes)
        if with_aux:
            # torchvision's namedtuple has these fields in this order; note that its eager
            # forward swaps the two heads' outputs between the fields, here each field holds
            # the head it names.
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


@register(
    "googlenet",
    family="GoogLeNet",
    paper=PAPER,
    resolution=224,
    reference="googlenet",
    twin=True,
    published=("GoogLeNet", "Inception v1, torchvision (no aux heads)"),
    note="torchvision's layout: BN after every conv, no LRN, 3×3 kernel in the '5×5' branch "
         "(vision#906). Built with the two auxiliary heads (13.0 M parameters; 6.6 M without, "
         "aux_logits=False); they run only in training mode.",
)
def googlenet(num_classes: int = 1000, aux_logits: bool = True, transform_input: bool = False,
              dropout: float = 0.2, dropout_aux: float = 0.7) -> GoogLeNet:
    return GoogLeNet(num_classes=num_classes, aux_logits=aux_logits, transform_input=transform_input,
                     dropout=dropout, dropout_aux=dropout_aux)
