"""SqueezeNet: AlexNet accuracy with 50× fewer parameters.

Paper: Iandola, Han, Moskewicz, Ashraf, Dally, Keutzer, "SqueezeNet: AlexNet-level accuracy with
50x fewer parameters and <0.5MB model size", 2016, arXiv:1602.07360. ``V1_0`` mirrors Table 1;
``V1_1`` is the v1.1 of the authors' repository (forresti/SqueezeNet, SqueezeNet_v1.1/README.md):
a 3×3 conv1 with 64 filters and the pools moved earlier, 2.4× less computation at the same accuracy.

Idea: three strategies shrink a CNN. (1) Replace most 3×3 filters by 1×1 (9× fewer weights each).
(2) Feed the 3×3 filters fewer input channels, through a *squeeze* layer of 1×1 convolutions.
(3) Downsample late, so the convolutions see large activation maps. The ``Fire`` module does (1)
and (2): a 1×1 squeeze to s channels, then an *expand* layer of e1 1×1 and e3 3×3 filters side by
side, concatenated to e1 + e3 channels (s < e1 + e3). Eight Fire modules between a conv1 and a 1×1
conv10 that outputs one channel per class, then global average pooling: no fully connected
layer at all, 1.25 M parameters against AlexNet's 61 M.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .layers import on_meta
from .registry import Paper, register

PAPER = Paper(
    title="SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size",
    authors="Iandola, Han, Moskewicz, Ashraf, Dally, Keutzer",
    year=2016,
    arxiv="1602.07360",
)

# Table 1 of the paper, one row per layer before conv10:
#   ("conv", out, kernel, stride)       conv1 with ReLU
#   ("pool",)                           max-pool 3×3 / 2 (ceil mode: 111 -> 55 -> 27 -> 13)
#   ("fire", s1x1, e1x1, e3x3)          Fire module: squeeze, expand 1×1, expand 3×3
V1_0 = (
    ("conv", 96, 7, 2),         # conv1
    ("pool",),                  # maxpool1
    ("fire", 16, 64, 64),       # fire2
    ("fire", 16, 64, 64),       # fire3
    ("fire", 32, 128, 128),     # fire4
    ("pool",),                  # maxpool4
    ("fire", 32, 128, 128),     # fire5
    ("fire", 48, 192, 192),     # fire6
    ("fire", 48, 192, 192),     # fire7
    ("fire", 64, 256, 256),     # fire8
    ("pool",),                  # maxpool8
    ("fire", 64, 256, 256),     # fire9
)
# v1.1 (authors' repository): conv1 3×3 with 64 filters, pools after conv1, fire3 and fire5.
V1_1 = (
    ("conv", 64, 3, 2),         # conv1
    ("pool",),                  # maxpool1
    ("fire", 16, 64, 64),       # fire2
    ("fire", 16, 64, 64),       # fire3
    ("pool",),                  # maxpool3
    ("fire", 32, 128, 128),     # fire4
    ("fire", 32, 128, 128),     # fire5
    ("pool",),                  # maxpool5
    ("fire", 48, 192, 192),     # fire6
    ("fire", 48, 192, 192),     # fire7
    ("fire", 64, 256, 256),     # fire8
    ("fire", 64, 256, 256),     # fire9
)
VERSIONS = {"1_0": V1_0, "1_1": V1_1}


class Fire(nn.Module):
    """squeeze 1×1 (s) → [expand 1×1 (e1) ‖ expand 3×3 (e3)], concatenated: e1 + e3 channels."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int, expand3x3_planes: int):
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze_activation(self.squeeze(x))             # (B, C, H, W) -> (B, s, H, W)
        e1 = self.expand1x1_activation(self.expand1x1(s))        # (B, s, H, W) -> (B, e1, H, W)
        e3 = self.expand3x3_activation(self.expand3x3(s))        # (B, s, H, W) -> (B, e3, H, W)
        return torch.cat([e1, e3], 1)                            # -> (B, e1 + e3, H, W)


def make_features(rows, in_channels: int = 3) -> nn.Sequential:
    """Everything before conv10 as one flat Sequential (torchvision's indices)."""
    layers: list[nn.Module] = []
    for row in rows:
        if row[0] == "conv":
            _, out, kernel, stride = row
            layers += [nn.Conv2d(in_channels, out, kernel_size=kernel, stride=stride), nn.ReLU(inplace=True)]
            in_channels = out
        elif row[0] == "pool":
            layers.append(nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True))
        elif row[0] == "fire":
            _, s, e1, e3 = row
            layers.append(Fire(in_channels, s, e1, e3))
            in_channels = e1 + e3
        else:
            raise ValueError(f"unknown SqueezeNet row {row!r}")
    return nn.Sequential(*layers)


class SqueezeNet(nn.Module):
    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        if version not in VERSIONS:
            raise ValueError(f"unknown SqueezeNet version {version!r}; one of {sorted(VERSIONS)}")
        self.num_classes = num_classes
        self.features = make_features(VERSIONS[version])
        # conv10: one 1×1 filter per class, then global average pooling replaces the FC layers.
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),  # the paper's dropout after fire9
            final_conv,
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, 1)),
        )
        self._init_weights(final_conv)

    def _init_weights(self, final_conv: nn.Conv2d) -> None:
        if on_meta(self):  # built for analysis: no values to fill
            return
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)          # (B, 3, 224, 224) -> (B, 512, 13, 13)
        x = self.classifier(x)        # (B, 512, 13, 13) -> (B, num_classes, 1, 1)
        return torch.flatten(x, 1)    # (B, num_classes, 1, 1) -> (B, num_classes)


@register(
    "squeezenet1_0",
    family="SqueezeNet",
    paper=PAPER,
    resolution=224,
    reference="squeezenet1_0",
    twin=True,
    published=("SqueezeNet-1.0", "torchvision"),
    note="Table 1 of the paper (conv1 7×7/2 with 96 filters; pools after conv1, fire4, fire8).",
)
def squeezenet1_0(num_classes: int = 1000, dropout: float = 0.5) -> SqueezeNet:
    return SqueezeNet("1_0", num_classes=num_classes, dropout=dropout)


@register(
    "squeezenet1_1",
    family="SqueezeNet",
    paper=PAPER,
    resolution=224,
    reference="squeezenet1_1",
    twin=True,
    published=("SqueezeNet-1.1", "torchvision"),
    note="v1.1 from the authors' repository (not in the paper): conv1 3×3/2 with 64 filters, "
         "pools after conv1, fire3, fire5; 2.4× fewer MACs than v1.0 at the same accuracy.",
)
def squeezenet1_1(num_classes: int = 1000, dropout: float = 0.5) -> SqueezeNet:
    return SqueezeNet("1_1", num_classes=num_classes, dropout=dropout)
