"""Small building blocks shared by several families.

Names follow torchvision's where it has the same piece (``Conv2dNormActivation`` is a
``Sequential`` of conv ``0``, norm ``1``, activation ``2``; ``SqueezeExcitation`` has ``fc1`` and
``fc2``), because state-dict names are an interface: they let torchvision's weights load unchanged.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F


def on_meta(module: nn.Module) -> bool:
    """Whether ``module`` was built on the meta device (for analysis): its tensors have shapes and
    no values, so a model's weight initialisation has nothing to fill and returns at once."""
    p = next(module.parameters(), None)
    return p is not None and p.is_meta


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``v`` to the nearest multiple of ``divisor``, never down by more than 10 %.

    The channel rounding of MobileNet v2/v3 and EfficientNet (the reference implementations'
    ``_make_divisible``).
    """
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow "SAME" padding along one axis as (before, after): the extra pixel goes after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """A ``Conv2d`` padded like TensorFlow's "SAME": stride-2 layers pad more on the bottom/right.

    Needed for weights trained in TensorFlow (EfficientNet-Lite); the parameters and the output
    shape are those of the symmetric-padding ``Conv2d`` it replaces.
    """

    def __init__(self, *args, **kwargs):
        kwargs["padding"] = 0
        super().__init__(*args, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ph = same_padding(x.shape[-2], self.kernel_size[0], self.stride[0], self.dilation[0])
        pw = same_padding(x.shape[-1], self.kernel_size[1], self.stride[1], self.dilation[1])
        if any(ph + pw):
            x = F.pad(x, (pw[0], pw[1], ph[0], ph[1]))
        return super().forward(x)


class Conv2dNormActivation(nn.Sequential):
    """conv → norm → activation, the unit most CNNs repeat (torchvision's layout and names)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        norm_layer: Callable[[int], nn.Module] | None = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        bias: bool | None = None,
        tf_padding: bool = False,
        padding: int | None = None,
    ):
        # padding: default (k - 1) // 2 keeps the side at stride 1; SqueezeNet's conv1 uses 0.
        bias = norm_layer is None if bias is None else bias
        padding = (kernel_size - 1) // 2 if padding is None else padding
        if tf_padding:
            conv = Conv2dSame(in_channels, out_channels, kernel_size, stride, groups=groups, bias=bias)
        else:
            conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                             groups=groups, bias=bias)
        layers: list[nn.Module] = [conv]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(inplace=True))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): global pool → 1×1 reduce → 1×1 expand → gate.

    (B, C, H, W) -> (B, C, H, W), each channel rescaled by a learned gate in (0, 1).
    """

    def __init__(
        self,
        input_channels: int,
        squeeze_channels: int,
        activation: Callable[..., nn.Module] = nn.ReLU,
        scale_activation: Callable[..., nn.Module] = nn.Sigmoid,
    ):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.avgpool(x)  # (B, C, H, W) -> (B, C, 1, 1)
        scale = self.activation(self.fc1(scale))
        scale = self.scale_activation(self.fc2(scale))
        return scale * x


class StochasticDepth(nn.Module):
    """Drop a residual branch per sample while training (Huang et al. 2016); identity in eval."""

    def __init__(self, p: float, mode: str = "row"):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        shape = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(survival)
        return x * noise.div_(survival)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"
