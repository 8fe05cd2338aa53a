"""VGG: depth from stacks of 3×3 convolutions.

Paper: Simonyan, Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", 2014, arXiv:1409.1556. ``CONFIGS`` mirrors Table 1 (configurations A, B, D, E).

Idea: keep every convolution 3×3 with stride 1 and padding 1, and make the network deep. Two
stacked 3×3 layers see a 5×5 window and three see 7×7, with fewer weights (3·3²C² = 27C² against
7²C² = 49C² for one 7×7 layer) and a ReLU between each. Five stages, each ended by a 2×2 max-pool
that halves the image, widen 64 → 128 → 256 → 512 → 512; the configurations differ only in how
many convolutions each stage has (A: 8 in all, B: 10, D: 13, E: 16; with the three linear layers
these are VGG-11, -13, -16 and -19). The price: 138 M parameters (VGG-16), 124 M of them in the
first linear layer, and 15.5 G multiply-accumulates per 224×224 image.

Configuration C of Table 1 (D with three 1×1 layers) is not built; A-LRN neither. The ``_bn``
variants add batch normalisation (Ioffe & Szegedy 2015) after each convolution; they are not in
the paper but torchvision ships weights for them. The adaptive 7×7 average pool before the
classifier is torchvision's (a no-op at 224 px), so other input sizes work too.
"""
from __future__ import annotations

from functools import partial

import torch
import torch.nn as nn

from .layers import on_meta
from .registry import Paper, register

PAPER = Paper(
    title="Very Deep Convolutional Networks for Large-Scale Image Recognition",
    authors="Simonyan, Zisserman",
    year=2014,
    arxiv="1409.1556",
)

# Table 1: the width of each of the five stages, and per configuration the number of 3×3
# convolutions in each stage (each stage ends with a 2×2/2 max-pool).
WIDTHS = (64, 128, 256, 512, 512)
# config: convs per stage (stage 1 … stage 5)
CONFIGS = {
    "A": (1, 1, 2, 2, 2),  # VGG-11: 8 conv + 3 FC
    "B": (2, 2, 2, 2, 2),  # VGG-13: 10 conv + 3 FC
    "D": (2, 2, 3, 3, 3),  # VGG-16: 13 conv + 3 FC
    "E": (2, 2, 4, 4, 4),  # VGG-19: 16 conv + 3 FC
}
DEPTH_TO_CONFIG = {11: "A", 13: "B", 16: "D", 19: "E"}
HIDDEN = (4096, 4096)  # FC-4096, FC-4096, then FC-1000
POOLED = 7             # 224 / 2**5


def conv_count(config: str) -> int:
    """Number of 3×3 convolutions in a configuration of Table 1 (A: 8, B: 10, D: 13, E: 16)."""
    return sum(CONFIGS[config])


def make_features(config: str, batch_norm: bool = False, in_channels: int = 3) -> nn.Sequential:
    """The convolutional part as one flat Sequential, in torchvision's index order:
    conv (→ BN) → ReLU for each convolution, a max-pool after each stage."""
    layers: list[nn.Module] = []
    for width, repeats in zip(WIDTHS, CONFIGS[config]):
        for _ in range(repeats):
            layers.append(nn.Conv2d(in_channels, width, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
            in_channels = width
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, config: str = "D", batch_norm: bool = False, num_classes: int = 1000,
                 dropout: float = 0.5, init_weights: bool = True):
        super().__init__()
        if config not in CONFIGS:
            raise ValueError(f"unknown VGG configuration {config!r}; one of {sorted(CONFIGS)}")
        self.config = config
        self.features = make_features(config, batch_norm)
        self.avgpool = nn.AdaptiveAvgPool2d((POOLED, POOLED))
        c = WIDTHS[-1] * POOLED * POOLED  # 512 * 7 * 7 = 25088
        self.classifier = nn.Sequential(
            nn.Linear(c, HIDDEN[0]),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(HIDDEN[0], HIDDEN[1]),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(HIDDEN[1], num_classes),
        )
        if init_weights:
            self._init_weights()

    def _init_weights(self) -> None:
        # He initialisation for the convolutions (the paper pre-trained A and copied its layers
        # into the deeper nets; He et al. 2015 later showed this init trains E from scratch).
        if on_meta(self):  # built for analysis: no values to fill (normal_ on meta is slow)
            return
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)        # (B, 3, 224, 224) -> (B, 512, 7, 7)
        x = self.avgpool(x)         # (B, 512, h, w) -> (B, 512, 7, 7)
        x = torch.flatten(x, 1)     # (B, 512, 7, 7) -> (B, 25088)
        return self.classifier(x)   # (B, 25088) -> (B, num_classes)


def _meta(depth: int, batch_norm: bool) -> dict:
    """Registry metadata of VGG-``depth`` (``_bn``): its Table 1 configuration and reference rows."""
    config = DEPTH_TO_CONFIG[depth]
    bn = "_bn" if batch_norm else ""
    return dict(
        family="VGG",
        paper=PAPER,
        resolution=224,
        reference=f"vgg{depth}{bn}",
        twin=True,
        published=(f"VGG-{depth}{bn}", f"config {config}{'+BN' if batch_norm else ''}"),
        note=f"Configuration {config} of Table 1 ({conv_count(config)} conv + 3 FC)"
             + ("; batch norm after each convolution (not in the paper; torchvision's variant)."
                if batch_norm else "."),
    )


def vgg(config: str, batch_norm: bool, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG of a Table 1 configuration; registered below as vgg11 … vgg19 and their ``_bn`` twins."""
    return VGG(config, batch_norm=batch_norm, num_classes=num_classes, dropout=dropout)


for _depth, _config in DEPTH_TO_CONFIG.items():
    for _bn in (False, True):
        register(f"vgg{_depth}{'_bn' if _bn else ''}", partial(vgg, _config, _bn), **_meta(_depth, _bn))
