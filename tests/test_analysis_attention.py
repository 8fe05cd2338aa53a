"""Attention and hybrid conv-attention networks, built by hand: the engine's MACs equal PyTorch's
FlopCounterMode / 2, and what it does not count is said (Analysis.uncounted), never hidden.
Also the engine's caches, and how the CLI shows what was not counted (the explorer's summary:
tests/test_ui_explore.py). Only torch and zoo are needed: CI runs this file on a second torch.
"""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import zoo
from zoo.__main__ import main, summary_header
from zoo.analysis import ops


def flop_counter_macs(make, res: int) -> int:
    """FlopCounterMode's total / 2 for one (1, 3, res, res) forward of ``make()`` built on meta,
    attention's fused fast path off (torch's kernel for it has no flop formula: FlopCounterMode
    would miss it)."""
    with torch.device("meta"):
        model = make().eval()
    was = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            model(torch.empty(1, 3, res, res, device="meta"))
    finally:
        torch.backends.mha.set_fastpath_enabled(was)
    return fc.get_total_flops() // 2


class Attention(nn.Module):
    """Self-attention over tokens, written one of four ways: ``sdpa``, ``matmul`` (q @ kᵀ,
    softmax, @ v), ``einsum``, ``bmm`` (baddbmm for the scores, as Megatron does)."""

    def __init__(self, dim: int, heads: int, how: str):
        super().__init__()
        self.heads, self.how = heads, how
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):                                   # (B, N, C)
        b, n, c = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        scale = 1 / math.sqrt(c // self.heads)
        if self.how == "sdpa":
            o = F.scaled_dot_product_attention(q, k, v)     # (B, h, N, d)
        elif self.how == "matmul":
            o = ((q @ k.transpose(-2, -1)) * scale).softmax(-1) @ v
        elif self.how == "einsum":
            o = torch.einsum("bhnm,bhmd->bhnd", torch.einsum("bhnd,bhmd->bhnm", q, k).softmax(-1), v)
        else:
            q, k, v = (t.reshape(b * self.heads, n, -1) for t in (q, k, v))
            scores = torch.baddbmm(torch.zeros(1, 1, 1, device=x.device), q, k.transpose(1, 2), alpha=scale)
            o = torch.bmm(scores.softmax(-1), v).view(b, self.heads, n, -1)
        return self.proj(o.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    """A pre-norm transformer block: attention, then an MLP, each with a residual add."""

    def __init__(self, dim: int, heads: int, how: str):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.how = how
        self.attn = (nn.MultiheadAttention(dim, heads, batch_first=True) if how == "mha"
                     else Attention(dim, heads, how))
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        y = self.norm1(x)
        x = x + (self.attn(y, y, y)[0] if self.how == "mha" else self.attn(y))
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    """Patches (a 8×8 convolution, stride 8), a class token, position embeddings, two blocks."""

    def __init__(self, how: str, dim: int = 32, res: int = 32, classes: int = 10):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 8, 8)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, (res // 8) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*[Block(dim, 4, how) for _ in range(2)])
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)        # (B, 3, H, W) -> (B, N, dim)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos
        return self.head(self.blocks(x)[:, 0])


class Hybrid(nn.Module):
    """Convolutions, then attention over the feature map's positions (BoTNet, CoAtNet), then
    convolutions again."""

    def __init__(self, how: str, c: int = 16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.block = Block(c, 2, how)
        self.conv = nn.Conv2d(c, 2 * c, 3, 2, 1)
        self.fc = nn.Linear(2 * c, 10)

    def forward(self, x):
        x = self.stem(x)                                    # (B, c, H/2, W/2)
        b, c, h, w = x.shape
        x = self.block(x.flatten(2).transpose(1, 2))        # (B, HW/4, c)
        x = self.conv(x.transpose(1, 2).reshape(b, c, h, w))
        return self.fc(x.mean((2, 3)))


HOWS = ["sdpa", "matmul", "einsum", "bmm", "mha"]


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("net", [TinyViT, Hybrid])
def test_attention_macs_equal_flop_counter_mode(net, how):
    model = net(how)
    a = zoo.analyze(model, 32)
    assert a.total_macs == flop_counter_macs(lambda: net(how), 32) > 0
    assert a.uncounted == {} and a.uncounted_macs == 0
    # the attention's matrix products are layers of their own kind, and carry the MACs
    attn = [x for x in a.layers if x.kind == "matmul"]
    assert attn and all(x.macs > 0 for x in attn)
    assert a.unused_params == 0 and a.total_params == sum(p.numel() for p in model.parameters())


def test_attention_by_hand():
    """One sdpa layer: QKᵀ (N·N·d per head) and the weighted sum of V (the same again)."""
    a = zoo.analyze(TinyViT("sdpa"), 32)
    sdpa = [x for x in a.layers if x.op == "scaled_dot_product_attention"]
    n, d, heads = 16 + 1, 32 // 4, 4
    assert len(sdpa) == 2 and all(x.macs == 2 * heads * n * n * d for x in sdpa)
    assert sdpa[0].in_shapes == ((1, heads, n, d),) * 3 and sdpa[0].out_shape == (1, heads, n, d)


def test_class_token_and_position_embedding_are_counted_once():
    a = zoo.analyze(TinyViT("sdpa"), 32)
    assert layer_names_with_params(a)[:3] == ["patch", "cat", "add"]
    assert sum(x.params for x in a.layers) == a.total_params


def layer_names_with_params(a):
    return [x.name for x in a.layers if x.params]


class Unknown(nn.Module):  # also used by tests/test_ui_explore.py
    """Matrix work through a function the engine does not know (torch.linalg.multi_dot)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.a = nn.Parameter(torch.zeros(8, 8))
        self.b = nn.Parameter(torch.zeros(8, 4))

    def forward(self, x):
        x = self.conv(x).mean((2, 3))                       # (B, 8)
        return torch.linalg.multi_dot([x, self.a, self.b])  # (B, 8) -> (B, 4)


def test_what_is_not_counted_is_said():
    model = Unknown()
    a = zoo.analyze(model, 16)
    conv = 16 * 16 * 8 * 3 * 9
    assert a.total_macs == conv                             # the convolution only...
    assert a.uncounted == {"linalg_multi_dot": 1}           # ...and the rest is named,
    assert a.uncounted_macs == 8 * 8 + 8 * 4                # with what FlopCounterMode finds in it
    assert a.total_macs + a.uncounted_macs == flop_counter_macs(Unknown, 16)
    line = "\n".join(summary_header(a))
    assert "not counted: linalg_multi_dot × 1" in line and "96 MACs" in line
    assert zoo.analyze("resnet18").uncounted == {}


def test_cli_json_carries_uncounted(capsys):
    assert main(["summary", "resnet18", "--format", "json"]) == 0
    import json
    out = json.loads(capsys.readouterr().out)
    assert out["totals"]["uncounted"] == {} and out["totals"]["uncounted_macs"] == 0


# --- the shortcuts' outputs are torch's -----------------------------------------------------

M = torch.device("meta")
X = torch.empty(2, 8, 5, 7, device=M)
CASES = [
    ("act", F.relu, (X,), {}), ("act", F.hardswish, (X,), {}), ("act", F.gelu, (X,), {}),
    ("act", torch.sigmoid, (X,), {}), ("act", torch.softmax, (X, -1), {}),
    ("norm", F.batch_norm, (X, torch.empty(8, device=M), torch.empty(8, device=M)), {}),
    ("norm", F.layer_norm, (X, (5, 7)), {}), ("norm", F.group_norm, (X, 4), {}),
    ("add", torch.add, (X, torch.empty(8, 1, 1, device=M)), {}), ("mul", torch.mul, (X, 2.0), {}),
    ("mul", torch.Tensor.__mul__, (X, torch.empty(1, 8, 1, 1, device=M)), {}),
    ("pool", F.adaptive_avg_pool2d, (X, (3, None)), {}), ("pool", torch.mean, (X, (2, 3)), {"keepdim": True}),
    ("pool", torch.amax, (X, -1), {}),
    ("concat", torch.cat, ([X, torch.empty(2, 3, 5, 7, device=M)], 1), {}),
    ("concat", torch.stack, ([X, X], 2), {}),
]


@pytest.mark.parametrize("kind,func,args,kwargs", CASES, ids=[f"{c[1].__name__}-{i}" for i, c in enumerate(CASES)])
def test_allocated_outputs_equal_torchs(kind, func, args, kwargs):
    got = ops.allocate(func, func.__name__, kind, args, kwargs)
    want = func(*args, **kwargs)
    assert got is not None and (got.shape, got.dtype, got.device) == (want.shape, want.dtype, want.device)


def test_mismatched_shapes_still_raise_torchs_error():
    with pytest.raises(ValueError, match="cannot run"):
        zoo.analyze(nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(5)), 8)
    bad = ([X, torch.empty(2, 3, 4, 7, device=M)], 1)
    assert ops.allocate(torch.cat, "cat", "concat", bad, {}) is None  # torch raises, not us



# conv{1,2,3}d, pooling windows and linear: the shape torch documents, compared with its kernel
W = {d: torch.empty(6, 8, *(3,) * d, device=M) for d in (1, 2, 3)}
WINDOWED = [
    ("conv", F.conv2d, (X, W[2]), {}), ("conv", F.conv2d, (X, W[2], torch.empty(6, device=M), 2, 1), {}),
    ("conv", F.conv2d, (X, torch.empty(8, 1, 3, 3, device=M)), {"stride": (2, 1), "padding": 2, "groups": 8}),
    ("conv", F.conv2d, (X, torch.empty(4, 2, 2, 5, device=M)), {"padding": (1, 0), "dilation": (2, 1), "groups": 4}),
    ("conv", F.conv2d, (X, torch.empty(6, 8, 3, 5, device=M)), {"padding": "same"}),
    ("conv", F.conv2d, (X, W[2]), {"padding": "valid", "stride": 3}),
    ("conv", F.conv1d, (torch.empty(2, 8, 11, device=M), W[1], None, 2, 1), {}),
    ("conv", F.conv3d, (torch.empty(1, 8, 4, 9, 6, device=M), W[3]), {"stride": (1, 2, 2), "padding": 1}),
    ("pool", F.max_pool2d, (X, 3), {"stride": 2, "padding": 1}),
    ("pool", F.max_pool2d, (X, 3), {"stride": 2, "ceil_mode": True}),
    ("pool", F.max_pool2d, (X, (2, 3)), {"stride": (2, 2), "dilation": (2, 1), "ceil_mode": True}),
    ("pool", F.max_pool2d, (torch.empty(8, 9, 9, device=M), 2), {}),
    ("pool", F.avg_pool2d, (X, 3, 1, 1), {}), ("pool", F.avg_pool2d, (X, 2, None, 0, True), {}),
    ("pool", F.max_pool1d, (torch.empty(2, 8, 11, device=M), 3, 2), {"ceil_mode": True}),
    ("pool", F.avg_pool3d, (torch.empty(1, 2, 5, 6, 7, device=M), 2, 2), {"padding": 1, "ceil_mode": True}),
]


@pytest.mark.parametrize("kind,func,args,kwargs", WINDOWED, ids=[f"{c[1].__name__}-{i}" for i, c in enumerate(WINDOWED)])
def test_windowed_outputs_equal_torchs(kind, func, args, kwargs):
    got = ops.allocate(func, func.__name__, kind, args, kwargs)
    want = func(*args, **kwargs)
    assert got is not None and (got.shape, got.dtype, got.device) == (want.shape, want.dtype, want.device)


def test_linear_output_and_broadcast_equal_torchs():
    for x in (torch.empty(2, 8, device=M), torch.empty(2, 5, 8, device=M)):
        w, b = torch.empty(3, 8, device=M), torch.empty(3, device=M)
        assert ops.linear(x, w, b).shape == F.linear(x, w, b).shape
    for a, b in [((2, 1, 5), (3, 1)), ((8, 1, 1), (1, 8, 4, 4)), ((), (3, 2)), ((4, 3), (4, 3))]:
        assert ops.broadcast(a, b) == tuple(torch.broadcast_shapes(a, b))
    assert ops.broadcast((2, 3), (4, 3)) is None


def test_what_does_not_fit_is_left_to_torch():
    """An output of size 0, mismatched channels, padding over half the window, a transposed
    convolution: the shortcut declines, torch's kernel runs (and raises its own error)."""
    assert ops.allocate(F.conv2d, "conv2d", "conv", (X, torch.empty(6, 8, 6, 6, device=M)), {}) is None
    assert ops.allocate(F.conv2d, "conv2d", "conv", (X, torch.empty(6, 4, 3, 3, device=M)), {}) is None
    assert ops.allocate(F.conv2d, "conv2d", "conv", (X, W[2]), {"padding": "same", "stride": 2}) is None
    assert ops.allocate(F.max_pool2d, "max_pool2d", "pool", (X, 3), {"padding": 2}) is None
    assert ops.allocate(F.max_pool2d, "max_pool2d", "pool", (X, 9), {}) is None
    assert ops.allocate(F.conv_transpose2d, "conv_transpose2d", "conv", (X, W[2]), {}) is None
    assert ops.linear(X, torch.empty(3, 6, device=M), None) is None
    with pytest.raises(ValueError, match="cannot run"):
        zoo.analyze(nn.Sequential(nn.Conv2d(3, 4, 7), nn.MaxPool2d(3)), 8)


def test_a_cnn_analysis_does_not_import_symbolic_shapes():
    """torch's meta kernels check shapes with torch._check, whose first call imports
    torch.fx.experimental.symbolic_shapes and sympy (0.5-1 s): a CNN's analysis needs none."""
    import subprocess
    import sys
    code = ("import sys, zoo; before = set(sys.modules); zoo.analyze('efficientnet_b0', 240); "
            "zoo.analyze('inception_v3'); zoo.analyze('resnet50', 161); "
            "print(sorted(m for m in set(sys.modules) - before if 'symbolic_shapes' in m or m == 'sympy'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "[]"

# --- caches -----------------------------------------------------------------------------------

def test_a_new_resolution_reuses_the_meta_model():
    from zoo import analysis as A
    A.clear_cache()
    first = zoo.analyze("resnet18", 64)
    assert zoo.analyze("resnet18", 64) is first                      # the analysis is cached
    built = A._meta_model.cache_info().misses
    other = zoo.analyze("resnet18", 96)
    assert A._meta_model.cache_info().misses == built                # not built again
    assert other.layers[0].out_shape == (1, 64, 48, 48) and first.layers[0].out_shape == (1, 64, 32, 32)
    assert A._meta_model.cache_info().maxsize == A.MODELS_CACHED
    assert A._cached.cache_info().maxsize == A.ANALYSES_CACHED
    # overrides are part of the key
    assert zoo.analyze("resnet18", 64, num_classes=10).output_shape == (1, 10)
    assert zoo.analyze("resnet18", 64).output_shape == (1, 1000)


def test_two_threads_trace_one_cached_model():
    """The cached model's hooks record into the calling thread's trace only."""
    import threading
    from zoo import analysis as A

    expected = {r: (a.total_macs, len(a.layers)) for r in (64, 96) for a in [zoo.analyze("resnet18", r)]}
    A._cached.cache_clear()  # the model stays cached: both threads trace the same one
    got, errors = [], []

    def run(r):
        try:
            for _ in range(5):
                A._cached.cache_clear()
                a = zoo.analyze("resnet18", r)
                got.append((r, (a.total_macs, len(a.layers))))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(r,)) for r in (64, 96)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(got) == 10 and all(v == expected[r] for r, v in got)
