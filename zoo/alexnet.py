"""AlexNet: the network that started the ImageNet story.

Papers:
- Krizhevsky, Sutskever, Hinton, "ImageNet Classification with Deep Convolutional Neural
  Networks", NeurIPS 2012 (no arXiv id). Figure 2 and Section 3.5 give the architecture.
- Krizhevsky, "One weird trick for parallelizing convolutional neural networks", 2014,
  arXiv:1404.5997. Its single-tower network is the one torchvision (and so this file) builds.

Idea: five convolutions and three fully connected layers, trained on two GPUs with ReLU,
dropout and data augmentation, cut the ImageNet top-5 error from 26 % to 15 % in 2012. A large
first kernel (11×11, stride 4) shrinks the image fast; max pooling after conv1, conv2 and conv5
shrinks it further to 6×6×256 = 9216 features, which the three linear layers (4096, 4096, 1000)
turn into class scores. Almost all of the 61 M parameters sit in those linear layers, almost all of
the multiply-accumulates in the convolutions: a lesson the later papers act on.

Deviation from the 2012 paper (kept on purpose, because torchvision's weights are this network):
the 2012 network is split into two towers (one per GPU) with 96, 256, 384, 384, 256 kernels, local
response normalisation and grouped connections between towers. The "one weird trick" variant is a
single tower with 64, 192, 384, 256, 256 kernels and no LRN. ``FEATURES`` below is that table.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .registry import Paper, register

PAPER = Paper(
    title="ImageNet Classification with Deep Convolutional Neural Networks",
    authors="Krizhevsky, Sutskever, Hinton",
    year=2012,
    arxiv=None,
)
ONE_WEIRD_TRICK = Paper(
    title="One weird trick for parallelizing convolutional neural networks",
    authors="Krizhevsky",
    year=2014,
    arxiv="1404.5997",
)

# The convolutional part, one row per convolution (single-tower variant of arXiv:1404.5997;
# the 2012 paper's two towers have 96, 256, 384, 384, 256 kernels in all).
# out, kernel, stride, padding, max-pool after
FEATURES = (
    (64, 11, 4, 2, True),    # conv1: 224 -> 55, pool -> 27
    (192, 5, 1, 2, True),    # conv2: 27 -> 27, pool -> 13
    (384, 3, 1, 1, False),   # conv3
    (256, 3, 1, 1, False),   # conv4
    (256, 3, 1, 1, True),    # conv5: 13 -> 13, pool -> 6
)
# The fully connected part: hidden widths, then the classifier (num_classes).
HIDDEN = (4096, 4096)
POOLED = 6  # the features are pooled to 6×6 before the linear layers


def make_features(rows=FEATURES, in_channels: int = 3) -> nn.Sequential:
    """conv → ReLU (→ max-pool 3×3/2) per row, as one flat Sequential (torchvision's indices)."""
    layers: list[nn.Module] = []
    for out, kernel, stride, padding, pool in rows:
        layers.append(nn.Conv2d(in_channels, out, kernel, stride, padding))
        layers.append(nn.ReLU(inplace=True))
        if pool:
            # Overlapping pooling (window 3, stride 2): Section 3.4 of the 2012 paper.
            layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
        in_channels = out
    return nn.Sequential(*layers)


class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.features = make_features()
        self.avgpool = nn.AdaptiveAvgPool2d((POOLED, POOLED))
        c = FEATURES[-1][0] * POOLED * POOLED  # 256 * 6 * 6 = 9216
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(c, HIDDEN[0]),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(HIDDEN[0], HIDDEN[1]),
            nn.ReLU(inplace=True),
            nn.Linear(HIDDEN[1], num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)         # (B, 3, 224, 224) -> (B, 256, 6, 6)
        x = self.avgpool(x)          # (B, 256, h, w) -> (B, 256, 6, 6) for any input size
        x = torch.flatten(x, 1)      # (B, 256, 6, 6) -> (B, 9216)
        return self.classifier(x)    # (B, 9216) -> (B, num_classes)


@register(
    "alexnet",
    family="AlexNet",
    paper=PAPER,
    resolution=224,
    reference="alexnet",
    twin=True,
    published=("AlexNet", "torchvision (One-weird-trick variant)"),
    note="Single-tower variant of arXiv:1404.5997 (64/192/384/256/256 kernels, no LRN), "
         "as in torchvision; the 2012 paper's net is two towers of 48/128/192/192/128.",
)
def alexnet(num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    return AlexNet(num_classes=num_classes, dropout=dropout)
