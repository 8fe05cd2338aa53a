"""EfficientNet B0–B7, the general compound-scaled model, and EfficientNet-Lite0–4.

Paper: Mingxing Tan, Quoc V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks", ICML 2019, arXiv 1905.11946. ``BASELINE`` mirrors Table 1 (the B0 network found by
architecture search); ``compound_coefficients`` is §3.3, equation 3; ``COMPOUND`` is the official
per-model table of the reference implementation (tensorflow/tpu ``efficientnet_builder.py``).
EfficientNet-Lite: the 2020 release in tensorflow/tpu ``models/official/efficientnet/lite`` (no
paper), ``LITE`` mirrors its ``efficientnet_lite_builder.py`` table.

The idea. A network can be made bigger in three ways: deeper (more layers), wider (more channels)
or fed larger images. Scaling one alone saturates quickly; the paper scales all three together
with one knob φ:

    depth d = α^φ,   width w = β^φ,   resolution r = γ^φ,   with α·β²·γ² ≈ 2,

so each step of φ roughly doubles the FLOPs (FLOPs grow with d, w² and r²). A small grid search on
B0 gave α = 1.2, β = 1.1, γ = 1.15. The official B1–B7 were *not* built from that formula: their
(width, depth, resolution) are hand-rounded values (B7 is w 2.0, d 3.1, r 600, while φ = 7 gives
w 1.95, d 3.58, r 596). ``COMPOUND`` holds the official values and ``compound_coefficients`` the
formula, so a page can show both.

The building block is MBConv (MobileNet v2's inverted residual with squeeze-and-excitation):
1×1 expand → k×k depthwise → squeeze-excite → 1×1 project, residual when shapes allow, with
stochastic depth on the residual branch (drop probability growing linearly with block index to
0.2). Channels are rounded to multiples of 8 (never down by more than 10 %), stage repeats up.

EfficientNet-Lite removes what mobile accelerators handle badly: no squeeze-excite, ReLU6 instead of
swish (SiLU), and the stem (32) and head (1280) channels and the first and last stages' repeats are
kept fixed while scaling. Its only weights were trained in TensorFlow, so it uses TF's batch-norm
eps 1e-3 and TF "SAME" padding (stride-2 convolutions pad one more pixel bottom/right).

Layout and state-dict names follow torchvision's ``efficientnet.py`` exactly (``features.0`` stem,
``features.1``–``features.7`` stages of ``MBConv`` with ``.block`` and ``.stochastic_depth``,
``features.8`` head, ``avgpool``, ``classifier`` = Dropout + Linear), so torchvision's B0–B7
weights load with ``strict=True``. Lite keeps the same names (torchvision has no Lite).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable, NamedTuple

import torch
import torch.nn as nn

from .layers import Conv2dNormActivation, SqueezeExcitation, StochasticDepth, make_divisible, on_meta
from .registry import Paper, register


# --- the tables ------------------------------------------------------------------------------

class Stage(NamedTuple):
    """One row of Table 1: a stage of identical MBConv blocks (the first one may stride)."""

    expand: int        # expansion ratio of the inverted bottleneck (MBConv1 / MBConv6)
    kernel: int        # depthwise kernel size
    stride: int        # stride of the stage's first block
    in_channels: int
    out_channels: int
    repeats: int       # number of blocks ("#Layers" in Table 1)


# Table 1 of the EfficientNet paper: the B0 baseline, stages 2–8 (stage 1 is the 3×3 stem conv
# with 32 channels, stage 9 the 1×1 conv to 1280 + pooling + FC).
BASELINE: tuple[Stage, ...] = (
    # expand, kernel, stride, in, out, repeats
    Stage(1, 3, 1, 32, 16, 1),     # MBConv1, k3×3, 112² → 112²
    Stage(6, 3, 2, 16, 24, 2),     # MBConv6, k3×3, 112² → 56²
    Stage(6, 5, 2, 24, 40, 2),     # MBConv6, k5×5, 56² → 28²
    Stage(6, 3, 2, 40, 80, 3),     # MBConv6, k3×3, 28² → 14²
    Stage(6, 5, 1, 80, 112, 3),    # MBConv6, k5×5, 14² → 14²
    Stage(6, 5, 2, 112, 192, 4),   # MBConv6, k5×5, 14² → 7²
    Stage(6, 3, 1, 192, 320, 1),   # MBConv6, k3×3, 7² → 7²
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280

# The official per-model coefficients (tensorflow/tpu efficientnet_builder.py, also torchvision):
# name: (width_mult, depth_mult, resolution, dropout)
COMPOUND: dict[str, tuple[float, float, int, float]] = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
    "b4": (1.4, 1.8, 380, 0.4),
    "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5),
    "b7": (2.0, 3.1, 600, 0.5),
}

# EfficientNet-Lite (tensorflow/tpu lite/efficientnet_lite_builder.py):
# name: (width_mult, depth_mult, resolution, dropout)
LITE: dict[str, tuple[float, float, int, float]] = {
    "lite0": (1.0, 1.0, 224, 0.2),
    "lite1": (1.0, 1.1, 240, 0.2),
    "lite2": (1.1, 1.2, 260, 0.3),
    "lite3": (1.2, 1.4, 280, 0.3),
    "lite4": (1.4, 1.8, 300, 0.3),
}
# The resolution the registry uses for Lite3/Lite4 is timm's evaluation resolution of the same
# TF weights (300 and 380; assets/models.json measured MACs there), not the TF builder's 280/300.
LITE_EVAL_RESOLUTION = {"lite0": 224, "lite1": 240, "lite2": 260, "lite3": 300, "lite4": 380}

# §3.3: the grid-searched constants (α·β²·γ² = 1.92 ≈ 2).
ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15
BASE_RESOLUTION = 224

# Bounds that keep a compound model buildable and analysable on a laptop.
MIN_MULT, MAX_MULT = 0.25, 8.0
MIN_RESOLUTION, MAX_RESOLUTION = 32, 2048
STOCHASTIC_DEPTH = 0.2


# --- small pure functions --------------------------------------------------------------------

def round_channels(channels: int, width_mult: float) -> int:
    """Scale a channel count and round to a multiple of 8, never down by more than 10 %."""
    return make_divisible(channels * width_mult, 8)


def round_repeats(repeats: int, depth_mult: float) -> int:
    """Scale a stage's number of blocks, rounding up (the reference implementations' ``ceil``)."""
    return int(math.ceil(repeats * depth_mult))


def _check_positive_finite(**values: float) -> None:
    for name, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {v!r}")
        if v <= 0:
            raise ValueError(f"{name} must be > 0, got {v!r}")


def check_multipliers(width_mult: float, depth_mult: float, resolution: int | None = None) -> None:
    """Raise ``ValueError`` with a readable message for sizes the zoo will not build."""
    _check_positive_finite(width_mult=width_mult, depth_mult=depth_mult)
    for name, v in (("width multiplier", width_mult), ("depth multiplier", depth_mult)):
        if not MIN_MULT <= v <= MAX_MULT:
            raise ValueError(f"{name} {v:.3g} is outside [{MIN_MULT}, {MAX_MULT}]; "
                             "choose a smaller |φ| or coefficients closer to 1")
    if resolution is not None:
        _check_positive_finite(resolution=resolution)
        if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
            raise ValueError(f"resolution {resolution} is outside [{MIN_RESOLUTION}, {MAX_RESOLUTION}] px; "
                             "choose a smaller |φ| or γ closer to 1")


def compound_coefficients(
    phi: float, alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA
) -> tuple[float, float, int]:
    """§3.3 compound scaling: ``(width_mult, depth_mult, resolution) = (β^φ, α^φ, 224·γ^φ)``.

    The resolution is rounded to the nearest pixel, halves up (``floor(x + 0.5)``; Python's
    ``round`` would round halves to even). φ may be negative (a model smaller than B0) as long as
    the multipliers stay in [0.25, 8] and the resolution in [32, 2048] px; otherwise ValueError.
    """
    _check_positive_finite(alpha=alpha, beta=beta, gamma=gamma)
    if isinstance(phi, bool) or not isinstance(phi, (int, float)) or not math.isfinite(phi):
        raise ValueError(f"phi must be a finite number, got {phi!r}")
    try:
        width, depth, scale = beta ** phi, alpha ** phi, gamma ** phi
    except OverflowError:
        raise ValueError(f"phi={phi} with these coefficients gives an absurdly large model") from None
    if not all(map(math.isfinite, (width, depth, scale))):
        raise ValueError(f"phi={phi} with these coefficients gives an absurdly large model")
    resolution = int(math.floor(BASE_RESOLUTION * scale + 0.5))
    check_multipliers(width, depth, resolution)
    return width, depth, resolution


def stage_table(width_mult: float = 1.0, depth_mult: float = 1.0, lite: bool = False) -> list[Stage]:
    """Table 1 scaled: channels by ``round_channels``, repeats by ``round_repeats``.

    Lite keeps the stem's 32 channels and the first and last stages' repeats fixed (timm's
    ``fix_stem`` and ``fix_first_last``, from the TF Lite builder).
    """
    check_multipliers(width_mult, depth_mult)
    rows = []
    last = len(BASELINE) - 1
    for i, s in enumerate(BASELINE):
        in_ch = STEM_CHANNELS if (lite and i == 0) else round_channels(s.in_channels, width_mult)
        fixed_depth = lite and i in (0, last)
        repeats = s.repeats if fixed_depth else round_repeats(s.repeats, depth_mult)
        rows.append(Stage(s.expand, s.kernel, s.stride, in_ch,
                          round_channels(s.out_channels, width_mult), repeats))
    return rows


def head_channels(width_mult: float = 1.0, lite: bool = False) -> int:
    """Channels of the final 1×1 conv: 1280 scaled (the TF reference), fixed at 1280 for Lite.

    torchvision computes 4 × (last stage's channels) instead; for B0–B7 both give the same.
    """
    return HEAD_CHANNELS if lite else round_channels(HEAD_CHANNELS, width_mult)


# --- blocks ----------------------------------------------------------------------------------

class MBConv(nn.Module):
    """Mobile inverted bottleneck: [1×1 expand] → k×k depthwise → [SE] → 1×1 project (+ input).

    ``block`` holds the layers in that order (the expand conv is absent when ``expand == 1``,
    squeeze-excite is absent for Lite); the residual is added only when stride is 1 and the
    channel count is unchanged. ``se_ratio``: squeeze width as a fraction of the block's input
    channels (0.25 in EfficientNet; the design lab's knob).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand: int,
        kernel: int,
        stride: int,
        stochastic_depth_prob: float,
        norm_layer: Callable[[int], nn.Module],
        activation: Callable[..., nn.Module] = nn.SiLU,
        se: bool = True,
        tf_padding: bool = False,
        se_ratio: float = 0.25,
    ):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"MBConv stride must be 1 or 2, got {stride}")
        self.use_res_connect = stride == 1 and in_channels == out_channels
        conv = partial(Conv2dNormActivation, norm_layer=norm_layer, tf_padding=tf_padding)
        expanded = make_divisible(in_channels * expand, 8)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(conv(in_channels, expanded, 1, activation_layer=activation))
        layers.append(conv(expanded, expanded, kernel, stride, groups=expanded, activation_layer=activation))
        if se:
            # squeeze to a quarter of the block's *input* channels (Tan & Le; torchvision, timm)
            layers.append(SqueezeExcitation(expanded, max(1, int(in_channels * se_ratio)),
                                            activation=partial(nn.SiLU, inplace=True)))
        layers.append(conv(expanded, out_channels, 1, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)  # (B, C_in, H, W) -> (B, C_out, H / stride, W / stride)
        if self.use_res_connect:
            out = self.stochastic_depth(out)
            out = out + x
        return out


class FusedMBConv(nn.Module):
    """Fused-MBConv (Tan & Le, "EfficientNetV2: Smaller Models and Faster Training", ICML 2021,
    arXiv 2104.00298, Fig. 2): MBConv's 1×1 expansion and k×k depthwise convolution fused into one
    regular k×k convolution, which runs better on accelerators in early, wide-map stages.

    k×k expand (stride) → [SE] → 1×1 project, residual when stride is 1 and the width is kept; with
    ``expand == 1`` a single k×k convolution to the output width. Layout and names as
    torchvision's ``FusedMBConv`` (``block``, ``stochastic_depth``); torchvision's has no SE (the
    paper's figure does): ``se_ratio`` 0 leaves it out, as the zoo's EfficientNets never use it.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand: int,
        kernel: int,
        stride: int,
        stochastic_depth_prob: float,
        norm_layer: Callable[[int], nn.Module],
        activation: Callable[..., nn.Module] = nn.SiLU,
        se_ratio: float = 0.0,
    ):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"FusedMBConv stride must be 1 or 2, got {stride}")
        self.use_res_connect = stride == 1 and in_channels == out_channels
        conv = partial(Conv2dNormActivation, norm_layer=norm_layer)
        expanded = make_divisible(in_channels * expand, 8)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(conv(in_channels, expanded, kernel, stride, activation_layer=activation))
            if se_ratio:
                layers.append(SqueezeExcitation(expanded, max(1, int(in_channels * se_ratio)),
                                                activation=partial(nn.SiLU, inplace=True)))
            layers.append(conv(expanded, out_channels, 1, activation_layer=None))
        else:
            layers.append(conv(in_channels, out_channels, kernel, stride, activation_layer=activation))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)  # (B, C_in, H, W) -> (B, C_out, H / stride, W / stride)
        if self.use_res_connect:
            out = self.stochastic_depth(out)
            out = out + x
        return out


# --- the model -------------------------------------------------------------------------------

class EfficientNet(nn.Module):
    """Stem → seven MBConv stages from ``stages`` → 1×1 head → global pool → dropout → FC."""

    def __init__(
        self,
        stages: list[Stage],
        head: int,
        dropout: float,
        num_classes: int = 1000,
        stochastic_depth_prob: float = STOCHASTIC_DEPTH,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        activation: Callable[..., nn.Module] = nn.SiLU,
        se: bool = True,
        tf_padding: bool = False,
    ):
        super().__init__()
        if not stages:
            raise ValueError("EfficientNet needs at least one stage")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if not 0.0 <= stochastic_depth_prob < 1.0:
            raise ValueError(f"stochastic_depth_prob must be in [0, 1), got {stochastic_depth_prob}")
        self.stages = list(stages)
        conv = partial(Conv2dNormActivation, norm_layer=norm_layer, activation_layer=activation,
                       tf_padding=tf_padding)

        layers: list[nn.Module] = [conv(3, stages[0].in_channels, 3, 2)]  # stem, stride 2
        total_blocks = sum(s.repeats for s in stages)
        block_id = 0
        for s in stages:
            blocks = []
            for i in range(s.repeats):
                # stochastic depth grows linearly with the block's index: 0 … p·(N-1)/N
                p = stochastic_depth_prob * block_id / total_blocks
                blocks.append(MBConv(s.in_channels if i == 0 else s.out_channels, s.out_channels,
                                     s.expand, s.kernel, s.stride if i == 0 else 1, p,
                                     norm_layer, activation, se, tf_padding))
                block_id += 1
            layers.append(nn.Sequential(*blocks))
        layers.append(conv(stages[-1].out_channels, head, 1))  # head 1×1 conv
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(head, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's initialisation (kaiming fan-out convs, uniform ±1/√out linear)
        if on_meta(self):  # built for analysis: no values to fill
            return
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                r = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -r, r)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)        # (B, 3, R, R) -> (B, head, R/32, R/32)
        x = self.avgpool(x)         # -> (B, head, 1, 1)
        x = torch.flatten(x, 1)     # -> (B, head)
        return self.classifier(x)   # -> (B, num_classes)


# --- builders --------------------------------------------------------------------------------

def _efficientnet(
    width_mult: float,
    depth_mult: float,
    resolution: int,
    dropout: float,
    *,
    lite: bool = False,
    norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
    num_classes: int = 1000,
    stochastic_depth_prob: float = STOCHASTIC_DEPTH,
) -> EfficientNet:
    check_multipliers(width_mult, depth_mult, resolution)
    model = EfficientNet(
        stage_table(width_mult, depth_mult, lite=lite),
        head_channels(width_mult, lite=lite),
        dropout,
        num_classes=num_classes,
        stochastic_depth_prob=stochastic_depth_prob,
        norm_layer=norm_layer,
        activation=nn.ReLU6 if lite else nn.SiLU,
        se=not lite,
        tf_padding=lite,
    )
    model.width_mult, model.depth_mult, model.resolution = width_mult, depth_mult, resolution
    return model


# torchvision uses PyTorch's BatchNorm defaults for B0–B4 (its weights for them were trained in
# PyTorch by timm) and TF's eps 1e-3 / momentum 0.01 for B5–B7 (weights ported from TF).
_TF_BATCHNORM = partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)
_TF_BATCHNORM_KEYS = ("b5", "b6", "b7")


def efficientnet_official(key: str, **overrides) -> EfficientNet:
    """EfficientNet-B0…B7 from the official ``COMPOUND`` row ``key`` (``"b0"``…``"b7"``)."""
    width, depth, resolution, dropout = COMPOUND[key]
    norm = _TF_BATCHNORM if key in _TF_BATCHNORM_KEYS else nn.BatchNorm2d
    overrides.setdefault("dropout", dropout)
    return _efficientnet(width, depth, resolution, norm_layer=norm, **overrides)


def efficientnet_lite(key: str, **overrides) -> EfficientNet:
    """EfficientNet-Lite0…4: no SE, ReLU6, fixed stem/head, TF padding and batch-norm eps."""
    width, depth, _, dropout = LITE[key]
    overrides.setdefault("dropout", dropout)
    return _efficientnet(width, depth, LITE_EVAL_RESOLUTION[key], lite=True,
                         norm_layer=partial(nn.BatchNorm2d, eps=1e-3), **overrides)


def efficientnet_compound(
    phi: float = 0.0,
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
    *,
    width_mult: float | None = None,
    depth_mult: float | None = None,
    resolution: int | None = None,
    dropout: float = 0.2,
    **overrides,
) -> EfficientNet:
    """The general compound-scaled model: B0 scaled by φ with (α, β, γ) per §3.3.

    ``phi=0`` is exactly B0. Alternatively give ``width_mult`` and ``depth_mult`` (and optionally
    ``resolution``) directly, e.g. a row of ``COMPOUND``. Dropout stays 0.2 (it has no parameters
    or MACs); batch norm is PyTorch's default, as in B0.
    """
    if width_mult is None and depth_mult is None:
        width_mult, depth_mult, r = compound_coefficients(phi, alpha, beta, gamma)
        resolution = r if resolution is None else resolution
    elif width_mult is None or depth_mult is None:
        raise ValueError("give both width_mult and depth_mult, or neither (and use phi)")
    elif phi != 0.0:
        raise ValueError("give either phi or width_mult/depth_mult, not both")
    resolution = BASE_RESOLUTION if resolution is None else resolution
    return _efficientnet(width_mult, depth_mult, resolution, dropout, **overrides)


_PAPER = Paper(
    title="EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
    authors="Mingxing Tan, Quoc V. Le",
    year=2019,
    arxiv="1905.11946",
)
_LITE_PAPER = Paper(
    title="EfficientNet-Lite (tensorflow/tpu models/official/efficientnet/lite release; "
          "architecture from EfficientNet, arXiv 1905.11946)",
    authors="Google (TensorFlow TPU models); EfficientNet by Mingxing Tan, Quoc V. Le",
    year=2020,
)

for _key, (_w, _d, _r, _p) in COMPOUND.items():
    register(
        f"efficientnet_{_key}",
        partial(efficientnet_official, _key),
        family="EfficientNet",
        paper=_PAPER,
        resolution=_r,
        reference=f"efficientnet_{_key}",
        twin=True,
        published=("EfficientNet", _key.upper()),
        note=f"official coefficients: width ×{_w}, depth ×{_d}, {_r}px, dropout {_p}"
             + ("; batch norm eps 1e-3 as in torchvision (TF-ported weights)" if _key in _TF_BATCHNORM_KEYS else ""),
    )

register(
    "efficientnet",
    efficientnet_compound,
    family="EfficientNet",
    paper=_PAPER,
    resolution=BASE_RESOLUTION,
    note="general compound scaling: zoo.build('efficientnet', phi=1.0, alpha=1.2, beta=1.1, gamma=1.15); "
         "phi=0 is exactly efficientnet_b0",
)

for _key, (_w, _d, _r, _p) in LITE.items():
    _eval = LITE_EVAL_RESOLUTION[_key]
    register(
        f"efficientnet_{_key}",
        partial(efficientnet_lite, _key),
        family="EfficientNet-Lite",
        paper=_LITE_PAPER,
        resolution=_eval,
        reference=f"tf_efficientnet_{_key}",
        twin=False,
        published=("EfficientNet-Lite", _key.capitalize()),
        note=f"width ×{_w}, depth ×{_d}; no squeeze-excite, ReLU6, stem/head fixed, TF 'SAME' padding"
             + (f"; TF builder resolution {_r}px, timm evaluates its weights at {_eval}px "
                "(the MACs in models.json)" if _eval != _r else ""),
    )
