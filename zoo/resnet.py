"""ResNet, its plain-net control, and the descendants that kept its skeleton.

Papers
------
- He, Zhang, Ren, Sun. *Deep Residual Learning for Image Recognition.* CVPR 2016,
  arXiv 1512.03385. Table 1 (the 18/34/50/101/152-layer architectures) is ``STAGES`` and
  ``DEPTHS`` below; Table 2 compares them with *plain* nets of the same shape.
- He, Zhang, Zhang, Zhang, Xie, Li. *Bag of Tricks for Image Classification with Convolutional
  Neural Networks.* CVPR 2019, arXiv 1812.01187. Figure 2 "ResNet-D": a deep 3×3 stem and an
  average pool in front of the 1×1 projection shortcut.
- Hu, Shen, Sun. *Squeeze-and-Excitation Networks.* CVPR 2018, arXiv 1709.01507: a channel gate at
  the end of each residual branch (Figure 3, SE-ResNet module, reduction r = 16).
- Bello, Fedus, Du, Cubuk, Srinivas, Lin, Shlens, Zoph. *Revisiting ResNets: Improved Training and
  Scaling Strategies.* NeurIPS 2021, arXiv 2103.07579. ResNet-RS = ResNet-D + SE (ratio 0.25) with
  the stem's max-pool replaced by a stride-2 3×3 convolution; depths 50…420 as in the paper's
  released models and timm's ``resnetrs*``.

The idea
--------
A stack of layers learns a residual ``F(x)`` and adds it to its input: ``y = relu(F(x) + x)``.
When the identity is already close to what a block should do, pushing ``F`` towards zero is easier
than learning the identity through a stack of non-linear layers; that is why a 34-layer plain net
trains *worse* than an 18-layer one while ResNet-34 beats ResNet-18 (He et al. Table 2). When a
block changes the shape (stride 2 or more channels), the shortcut is a 1×1 projection
``W_s x`` (option B of the paper, torchvision's choice) followed by batch norm.

Block cost, for an ``H×W×C`` input and width ``m`` (Table 1's bracketed rows)::

    BasicBlock:  two 3×3 convs              MACs = H·W·(9·C·m + 9·m·m)
    Bottleneck:  1×1 (C→m), 3×3 (m→m), 1×1 (m→4m)
                                            MACs = H·W·(C·m + 9·m² + 4m²)   (stride aside)

Every variant here is the one ``ResNet`` class with different arguments (block, repeats, stem,
shortcut kind, squeeze-excite ratio, where the stride sits, shortcuts on or off). Attribute names are
torchvision's (``conv1``, ``bn1``, ``layer1``…``layer4``, ``fc``); for the deep-stem variants they
are also timm's, so their state dicts match timm key for key.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn as nn

from .layers import SqueezeExcitation, on_meta
from .registry import Paper, register

HE_2016 = Paper("Deep Residual Learning for Image Recognition",
                "Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun", 2016, "1512.03385")
HE_2019 = Paper("Bag of Tricks for Image Classification with Convolutional Neural Networks",
                "Tong He, Zhi Zhang, Hang Zhang, Zhongyue Zhang, Junyuan Xie, Mu Li", 2019, "1812.01187")
HU_2018 = Paper("Squeeze-and-Excitation Networks", "Jie Hu, Li Shen, Gang Sun", 2018, "1709.01507")
BELLO_2021 = Paper("Revisiting ResNets: Improved Training and Scaling Strategies",
                   "Irwan Bello, William Fedus, Xianzhi Du, Ekin D. Cubuk, Aravind Srinivas, "
                   "Tsung-Yi Lin, Jonathon Shlens, Barret Zoph", 2021, "2103.07579")


# --- the architecture as data ----------------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    """One row of He et al. Table 1 (conv2_x … conv5_x)."""

    name: str    # torchvision's module name
    paper: str   # the paper's row name
    planes: int  # width of the block's 3×3 convolution(s)
    stride: int  # stride of the stage's first block
    out_size: int  # output side for a 224×224 input (Table 1, "output size")


# name, paper row, planes, first stride, output size at 224
STAGES = (
    Stage("layer1", "conv2_x", 64, 1, 56),
    Stage("layer2", "conv3_x", 128, 2, 28),
    Stage("layer3", "conv4_x", 256, 2, 14),
    Stage("layer4", "conv5_x", 512, 2, 7),
)

# depth: (block, repeats per stage). 18–152 from He et al. Table 1; 200–420 are ResNet-RS depths
# (Bello et al.), as timm builds them.
DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
    200: ("bottleneck", (3, 24, 36, 3)),
    270: ("bottleneck", (4, 29, 53, 4)),
    350: ("bottleneck", (4, 36, 72, 4)),
    420: ("bottleneck", (4, 44, 87, 4)),
}


# --- small helpers ---------------------------------------------------------------------------

def conv3x3(c_in: int, c_out: int, stride: int = 1, kernel: int = 3, groups: int = 1) -> nn.Conv2d:
    """The block's spatial convolution: 3×3 in every ResNet here; ``kernel`` (odd, padded to keep
    the side) and ``groups`` (ResNeXt, Xie et al. 2017) are the design lab's knobs."""
    return nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False)


def conv1x1(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)


def se_channels(channels: int, ratio: float, divisor: int = 8) -> int:
    """Squeeze width: ``channels · ratio`` rounded to the nearest multiple of ``divisor``.

    timm's SE rounding (``make_divisible(..., round_limit=0)``: never bumped up afterwards). For
    the widths of a ResNet (256…2048) and the ratios used here (1/16, 1/4) it is exact.
    """
    return max(divisor, int(channels * ratio + divisor / 2) // divisor * divisor)


def projection(c_in: int, c_out: int, stride: int, kind: str) -> nn.Sequential:
    """The shortcut that changes shape (option B of He et al.).

    ``"conv"``: 1×1 convolution with the stride, then BN (torchvision; it reads only one pixel in
    four when strided). ``"avg"``: ResNet-D (He et al. 2019, Fig. 2c) averages each 2×2 window
    first so no activation is thrown away, then a stride-1 1×1 convolution and BN.
    """
    if kind == "conv":
        return nn.Sequential(conv1x1(c_in, c_out, stride), nn.BatchNorm2d(c_out))
    if kind == "avg":
        # Identity when stride 1 keeps timm's indices (downsample.1 = conv, .2 = BN) in layer1.
        pool = (nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False)
                if stride > 1 else nn.Identity())
        return nn.Sequential(pool, conv1x1(c_in, c_out), nn.BatchNorm2d(c_out))
    raise ValueError(f"unknown shortcut kind {kind!r}; use 'conv' or 'avg'")


# --- blocks ----------------------------------------------------------------------------------

class BasicBlock(nn.Module):
    """Two 3×3 convolutions and a shortcut (ResNet-18/34; with ``shortcut=False``, plain-18/34)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, shortcut: bool = True,
                 se_ratio: float | None = None, stride_on: str = "3x3", kernel: int = 3):
        super().__init__()
        # stride_on is meaningless here: both convolutions are 3×3 and the first one strides.
        self.conv1 = conv3x3(inplanes, planes, stride, kernel)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes, kernel=kernel)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = SqueezeExcitation(planes, se_channels(planes, se_ratio)) if se_ratio else None
        self.downsample = downsample
        self.shortcut = shortcut
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)  # (B, C, H, W) -> (B, m, H/s, W/s)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.se is not None:
            out = self.se(out)
        if self.shortcut:
            identity = x if self.downsample is None else self.downsample(x)
            out += identity  # F(x) + x: the only line a plain net lacks
        return self.relu(out)


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 → 1×1 expand (×4), plus a shortcut (ResNet-50 and deeper).

    ``stride_on="3x3"`` is torchvision's "ResNet v1.5": the 3×3 convolution strides, so the 1×1
    reduction sees every pixel, at a cost (ResNet-50: 4.089 vs 3.858 GMACs).
    ``stride_on="1x1"`` is the paper's layout (He et al. 2016, Table 1 caption: downsampling "is
    performed by conv3_1, conv4_1, and conv5_1 with a stride of 2"), which drops 3 of 4 positions
    before any 3×3 convolution sees them.

    ``expansion`` (output width / ``planes``, 4 in the paper), ``kernel`` and ``groups`` of the
    middle convolution are the design lab's knobs; ``groups > 1`` is ResNeXt's bottleneck (Xie et
    al. 2017, arXiv 1611.05431, Fig. 3c).
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, shortcut: bool = True,
                 se_ratio: float | None = None, stride_on: str = "3x3", kernel: int = 3,
                 groups: int = 1, expansion: int | None = None):
        super().__init__()
        if stride_on not in ("3x3", "1x1"):
            raise ValueError(f"stride_on must be '3x3' or '1x1', not {stride_on!r}")
        s1, s3 = (stride, 1) if stride_on == "1x1" else (1, stride)
        out_planes = planes * (expansion or self.expansion)
        self.conv1 = conv1x1(inplanes, planes, s1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, s3, kernel, groups)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, out_planes)
        self.bn3 = nn.BatchNorm2d(out_planes)
        # SE on the branch's output, before the addition (Hu et al. Fig. 3; timm's place)
        self.se = SqueezeExcitation(out_planes, se_channels(out_planes, se_ratio)) if se_ratio else None
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.shortcut = shortcut
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)  # (B, C, H, W) -> (B, m, H, W)  [H/s with stride_on="1x1"]
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)  # -> (B, m, H/s, W/s)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv3(out)  # -> (B, 4m, H/s, W/s)
        out = self.bn3(out)
        if self.se is not None:
            out = self.se(out)
        if self.shortcut:
            identity = x if self.downsample is None else self.downsample(x)
            out += identity
        return self.relu(out)


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


# --- the model -------------------------------------------------------------------------------

def make_stem(stem: str, stem_width: int = 32) -> tuple[nn.Module, int]:
    """The first convolution(s) before ``bn1``; returns (module, output channels).

    ``"7x7"``: one 7×7 stride-2 convolution to 64 channels (He et al. 2016).
    ``"deep"``: three 3×3 convolutions, widths ``w, w, 2w`` (ResNet-C/D of He et al. 2019: the
    7×7 convolution's receptive field from three cheaper 3×3s).
    """
    if stem == "7x7":
        return nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), 64
    if stem == "deep":
        w = stem_width
        return nn.Sequential(
            conv3x3(3, w, 2), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            conv3x3(w, w), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            conv3x3(w, 2 * w),  # its BN is the model's bn1 (timm's layout)
        ), 2 * w
    raise ValueError(f"unknown stem {stem!r}; use '7x7' or 'deep'")


def make_stem_pool(pool: str, channels: int) -> nn.Module:
    """``"max"``: 3×3 stride-2 max-pool (He et al.). ``"conv"``: a stride-2 3×3 convolution, BN,
    ReLU in its place (ResNet-RS; the name ``maxpool`` is kept, as timm does, for its weights)."""
    if pool == "max":
        return nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    if pool == "conv":
        return nn.Sequential(conv3x3(channels, channels, 2), nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
    raise ValueError(f"unknown stem pool {pool!r}; use 'max' or 'conv'")


class ResNet(nn.Module):
    """Stem → four stages of residual blocks (``STAGES``) → global average pool → ``fc``.

    Args:
        block: ``"basic"`` or ``"bottleneck"``.
        layers: blocks per stage, e.g. ``(3, 4, 6, 3)``.
        num_classes: width of ``fc``.
        stem: ``"7x7"`` or ``"deep"`` (3×3 convs ``stem_width, stem_width, 2·stem_width``).
        stem_pool: ``"max"`` or ``"conv"`` (stride-2 3×3 conv, ResNet-RS).
        downsample: projection shortcut, ``"conv"`` (B) or ``"avg"`` (ResNet-D).
        se_ratio: squeeze-excite ratio on each block's output (None: no SE).
        shortcut: False builds the plain net of He et al. Table 2 (no addition, no projection).
        stride_on: ``"3x3"`` (torchvision, v1.5) or ``"1x1"`` (the paper) in bottlenecks.
    """

    def __init__(self, block: str = "bottleneck", layers: tuple[int, ...] = (3, 4, 6, 3), *,
                 num_classes: int = 1000, stem: str = "7x7", stem_width: int = 32,
                 stem_pool: str = "max", downsample: str = "conv", se_ratio: float | None = None,
                 shortcut: bool = True, stride_on: str = "3x3"):
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"unknown block {block!r}; use one of {sorted(BLOCKS)}")
        if len(layers) != len(STAGES):
            raise ValueError(f"layers needs {len(STAGES)} stage repeats, got {layers!r}")
        block_cls = BLOCKS[block]
        self.conv1, inplanes = make_stem(stem, stem_width)
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = make_stem_pool(stem_pool, inplanes)
        for stage, repeats in zip(STAGES, layers):
            out_planes = stage.planes * block_cls.expansion
            blocks = []
            for i in range(repeats):
                stride = stage.stride if i == 0 else 1
                proj = None
                if shortcut and (stride != 1 or inplanes != out_planes):
                    proj = projection(inplanes, out_planes, stride, downsample)
                blocks.append(block_cls(inplanes, stage.planes, stride, proj, shortcut=shortcut,
                                        se_ratio=se_ratio, stride_on=stride_on))
                inplanes = out_planes
            self.add_module(stage.name, nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(inplanes, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's initialisation (He et al. 2015 "fan_out" for convs, BN at identity)
        if on_meta(self):  # built for analysis: no values to fill
            return
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)  # (B, 3, H, W) -> (B, 64, H/2, W/2)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)  # -> (B, 64, H/4, W/4)
        x = self.layer1(x)  # -> (B, 64·e, H/4, W/4), e = 1 (basic) or 4 (bottleneck)
        x = self.layer2(x)  # -> (B, 128·e, H/8, W/8)
        x = self.layer3(x)  # -> (B, 256·e, H/16, W/16)
        x = self.layer4(x)  # -> (B, 512·e, H/32, W/32)
        x = self.avgpool(x)  # -> (B, 512·e, 1, 1)
        x = torch.flatten(x, 1)  # -> (B, 512·e)
        return self.fc(x)  # -> (B, num_classes)


def resnet(depth: int, **kwargs) -> ResNet:
    """A ResNet of a depth in ``DEPTHS``; keyword arguments as for ``ResNet``."""
    if depth not in DEPTHS:
        raise ValueError(f"no ResNet of depth {depth}; known depths {sorted(DEPTHS)}")
    block, layers = DEPTHS[depth]
    return ResNet(**{"block": block, "layers": layers, **kwargs})


# --- builders --------------------------------------------------------------------------------

RESNET_D = dict(stem="deep", stem_width=32, downsample="avg")
RESNET_RS = dict(RESNET_D, stem_pool="conv", se_ratio=0.25)

for _depth, _row in [(18, "torchvision (projection shortcuts)"), (34, "torchvision"),
                     (50, "torchvision (v1.5: stride on 3x3)"),
                     (101, "torchvision (v1.5: stride on 3x3)"),
                     (152, "torchvision (v1.5: stride on 3x3)")]:
    register(f"resnet{_depth}", partial(resnet, _depth), family="ResNet", paper=HE_2016,
             resolution=224, reference=f"resnet{_depth}", twin=True,
             published=(f"ResNet-{_depth}", _row),
             note="torchvision's layout" + (": stride on the 3×3 of each bottleneck (v1.5)"
                                            if _depth >= 50 else ""))

for _depth in (18, 34):
    register(f"plain{_depth}", partial(resnet, _depth, shortcut=False), family="Plain net",
             paper=HE_2016, resolution=224, published=(f"plain-{_depth}", "He'16 plain net (no shortcuts)"),
             note=f"ResNet-{_depth} without shortcuts (He et al. Table 2): no addition, no projection")

register("resnet50_paper", partial(resnet, 50, stride_on="1x1"), family="ResNet", paper=HE_2016,
         resolution=224,
         note="He et al.'s layout: stride on the first 1×1 of conv3_1, conv4_1, conv5_1 (3.858 GMACs "
              "vs torchvision's 4.089). Same parameters and state-dict keys as resnet50. Its "
              "published figures are the ResNet-50 row (He et al. Table 3) under resnet50.")

register("resnet50d", partial(resnet, 50, **RESNET_D), family="ResNet-D", paper=HE_2019,
         resolution=224, reference="resnet50d", published=("ResNet-50-D", "timm resnet50d"),
         note="deep 3×3 stem (32, 32, 64) and average-pooled projection shortcuts; timm's keys")

register("seresnet50", partial(resnet, 50, se_ratio=1 / 16), family="SE-ResNet", paper=HU_2018,
         resolution=224, reference="seresnet50",
         published=("SE-ResNet-50", "timm seresnet50 (stride on 3x3)"),
         note="squeeze-excite (r = 16) on each bottleneck's output, stride on the 3×3 (timm's layout)")

# name: (depth, resolution of models.json's MACs = the checkpoint's, published.csv variant).
# ResNet-RS-350 is evaluated by timm at 288 from the i256 checkpoint; published.csv has no 288 row.
RESNET_RS_MODELS = {
    "resnetrs50": (50, 160, "i160"),
    "resnetrs101": (101, 192, "i192"),
    "resnetrs152": (152, 256, "i256"),
    "resnetrs200": (200, 256, "i256"),
    "resnetrs270": (270, 256, "i256"),
    "resnetrs350": (350, 288, "i256"),
    "resnetrs420": (420, 320, "i320"),
}
for _name, (_depth, _res, _variant) in RESNET_RS_MODELS.items():
    register(_name, partial(resnet, _depth, **RESNET_RS), family="ResNet-RS", paper=BELLO_2021,
             resolution=_res, reference=_name, published=(f"ResNet-RS-{_depth}", _variant),
             note="ResNet-D (deep stem, average-pooled shortcuts) + SE ratio 0.25 + stride-2 conv "
                  "instead of the stem max-pool; timm's layout and keys")
