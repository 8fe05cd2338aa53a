"""zoo.latency: the one timer (median, spread, threads, machine), its words, and the per-layer profile.

Statistics are checked against numbers worked out by hand; timings only for what a timer must
guarantee (repeats, threads restored, a sleep twice as long detected as slower), never for a
particular speed. The profile is checked for its structure: zoo.analyze's layer names in order,
every layer that does work timed, and the per-layer sum tracking the whole-model time.
"""
import os
import time
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

import zoo
from zoo import latency as L


def timing(times, label="t", threads=1, batch=1) -> L.Timing:
    m = L.Machine(processor="Test CPU", threads=threads, cpus=2, load_1min=0.5, torch="2.13.0")
    return L.Timing(label=label, times_ms=tuple(times), number=1, machine=m, batch=batch)


# --- machine and threads -------------------------------------------------------------------------

def test_machine_label_names_processor_threads_and_load():
    m = L.machine(threads=3)
    assert m.threads == 3 and m.processor and m.cpus >= 1 and m.torch == torch.__version__.split("+")[0]
    label = m.label()
    assert m.processor in label and "3 torch threads" in label and "1-min load" in label
    one = L.Machine("X", 1, 2, float("nan"), "2.13.0").label()
    assert "1 torch thread (" in one and "load unknown" in one


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    with L.torch_threads(1) as used:
        assert used == 1 == torch.get_num_threads()
    assert torch.get_num_threads() == before
    with L.torch_threads(None) as used:
        assert used == before


# --- a timing's statistics and words ---------------------------------------------------------------

def test_serving_threads_leave_half_the_cores_and_read_the_environment():
    assert L.serving_threads(env={}, cpus=2) == 1
    assert L.serving_threads(env={}, cpus=1) == 1
    assert L.serving_threads(env={}, cpus=16) == 8
    assert L.serving_threads(env={L.SERVING_THREADS_ENV: "3"}, cpus=2) == 3
    for bad in ("0", "-2", "lots", " "):
        assert L.serving_threads(env={L.SERVING_THREADS_ENV: bad}, cpus=8) == 4


def test_serve_threads_sets_the_count_for_threads_started_afterwards():
    """The server sets the count once; a script thread started later (Streamlit runs each script
    run in a new thread) runs with it, whatever the setting thread was."""
    import threading

    seen = []
    setter = threading.Thread(target=lambda: torch.set_num_threads(1))
    old = torch.get_num_threads()
    try:
        setter.start(); setter.join()
        later = threading.Thread(target=lambda: (torch.ones(64, 64) @ torch.ones(64, 64), seen.append(torch.get_num_threads())))
        later.start(); later.join()
    finally:
        restore = threading.Thread(target=lambda: torch.set_num_threads(old))
        restore.start(); restore.join()
    assert seen == [1]


def test_timing_median_quartiles_and_rate_by_hand():
    t = timing([3.0, 1.0, 10.0, 2.0, 4.0], batch=2)
    assert t.median_ms == 3.0 and t.q1_ms == 2.0 and t.q3_ms == 4.0 and t.iqr_ms == 2.0
    assert t.min_ms == 1.0 and t.max_ms == 10.0 and t.repeats == 5 and t.mean_ms == 4.0
    assert t.per_second == pytest.approx(2 * 1000 / 3.0)
    assert t.relative_spread == pytest.approx(2 / 3)
    # linear interpolation between order statistics, as numpy and torch.utils.benchmark do
    assert timing([1.0, 2.0, 3.0, 4.0]).q1_ms == pytest.approx(1.75)
    assert t.text() == "3.00 ms (IQR 2.00–4.00 ms, 5 repeats)"
    with pytest.raises(ValueError):
        timing([])


def test_fmt_ms():
    assert L.fmt_ms(12.345) == "12.3 ms" and L.fmt_ms(0.4123) == "0.412 ms" and L.fmt_ms(1234.0) == "1,234 ms"
    assert L.fmt_ms(float("nan")) == "—"


def test_differs_only_beyond_the_interquartile_ranges():
    a = timing([10, 10.2, 10.4, 10.6, 10.8])           # IQR 10.2–10.6
    near = timing([10.5, 10.7, 10.9, 11.1, 11.3])      # IQR 10.7–11.1: disjoint from a
    overlap = timing([10.3, 10.5, 10.7, 10.9, 11.1])   # IQR 10.5–10.9: overlaps a
    assert L.differs(a, near) and L.differs(near, a)
    assert not L.differs(a, overlap)


def test_words_never_print_a_negative_saving():
    base = timing([10, 10, 10, 10, 10])
    slower = timing([13, 13, 13, 13, 13])
    faster = timing([8, 8, 8, 8, 8])
    same = timing([9.9, 10, 10.1, 10.2, 9.8])
    assert L.compare_words(base, slower, "1:1") == "1.30× slower than 1:1"
    assert L.compare_words(base, faster) == "1.25× faster"
    assert L.compare_words(base, slower, "1:1", "1:12") == "1:12 runs 1.30× slower than 1:1"
    assert L.compare_words(base, same, "A") == L.NOISE == "within noise on this machine"
    assert L.change_words(base, faster) == "saves 20 %"
    assert L.change_words(base, slower) == "costs 30 % more"
    assert L.change_words(base, same) == L.NOISE
    assert L.speed_ratio(base, faster) == pytest.approx(1.25)


# --- the timer ---------------------------------------------------------------------------------------

def test_time_many_takes_turns_and_tells_a_slower_call():
    before = torch.get_num_threads()
    seen = []
    out = L.time_many({"short": lambda: time.sleep(0.001), "long": lambda: time.sleep(0.003)},
                      threads=1, budget_s=0.4, progress=lambda f, t: seen.append((f, t)), inference=False)
    assert torch.get_num_threads() == before
    short, long_ = out["short"], out["long"]
    assert short.repeats >= L.MIN_REPEATS and long_.repeats >= L.MIN_REPEATS and short.threads == 1
    assert L.differs(short, long_) and long_.median_ms > 2 * short.median_ms
    assert "slower" in L.compare_words(short, long_)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(seen) == 2 * L.MIN_REPEATS
    assert "repeat 1 of 5" in seen[0][1]


def test_measure_a_module_restores_threads_and_refuses_meta():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
    before = torch.get_num_threads()
    t = L.measure(model, 32, threads=1, budget_s=0.1, name="tiny")
    assert torch.get_num_threads() == before
    assert t.label == "tiny" and t.threads == 1 and t.repeats >= 5 and t.batch == 1
    assert 0 < t.min_ms <= t.q1_ms <= t.median_ms <= t.q3_ms <= t.max_ms
    with torch.device("meta"):
        meta = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="meta"):
        L.measure(meta, 32)
    with pytest.raises(ValueError):
        L.measure(model, 32, batch=0)
    d = t.to_dict()
    assert d["processor"] == t.machine.processor and len(d["times_ms"]) == t.repeats


def test_measure_a_registered_model_by_name():
    t = L.measure("squeezenet1_1", 64, threads=1, budget_s=0.2)
    assert t.label == "squeezenet1_1" and t.median_ms > 0 and t.repeats >= 5


# --- the per-layer profile ------------------------------------------------------------------------

def test_canonical_function_names():
    assert L._canon("__iadd__") == "add" == L._canon("add_") == L._canon("__radd__")
    assert L._canon("__truediv__") == "div" and L._canon("cat") == "cat"
    assert L._op_matches("channel_shuffle", "transpose") and not L._op_matches("add", "mul")


def test_assign_matches_events_to_layers_by_hand():
    lay = lambda name, module, op: SimpleNamespace(name=name, module=module, op=op)  # noqa: E731
    layers = [lay("a.conv", "a.conv", "Conv2d"), lay("a.relu", "a.relu", "ReLU"), lay("a.conv", "a.conv", "Conv2d"),
              lay("a.add", "a", "add"), lay("a.channel_shuffle", "a", "channel_shuffle")]
    events = [("module", "a.conv", 2.0), ("module", "a.relu", 0.5), ("fn", "a", "size", 0.25),
              ("module", "a.conv", 3.0), ("fn", "a", "__iadd__", 1.0), ("fn", "a", "view", 0.125),
              ("fn", "a", "transpose", 0.0), ("fn", "a", "contiguous", 0.75), ("fn", "", "flatten", 0.5)]
    times, rest = L._assign(layers, {"a.conv", "a.relu"}, events)
    # the conv is called twice (k-th call -> k-th layer); the size() before the add joins the add,
    # the view after it stays with the add, the contiguous copy joins the shuffle
    assert times == [2.0, 0.5, 3.0, 1.25 + 0.125, 0.75]
    assert rest == 0.5   # flatten in the root: no analysed layer claims it


class Block(nn.Module):
    """A toy design: functional add and concatenation in its own forward, as a lab design has."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(3, 8, 1)
        self.act = nn.ReLU()
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        y = self.act(self.a(x)) + self.b(x)
        z = torch.cat([y, self.b(x)], dim=1)
        return self.head(z.mean((2, 3)))


def test_profile_of_a_design_has_the_analysis_layers_in_order():
    p = L.profile(Block(), 32, threads=1, runs=5)
    a = zoo.analyze(Block(), 32)
    assert [layer.name for layer in p.layers] == [layer.name for layer in a.layers]
    assert [layer.kind for layer in p.layers] == [layer.kind for layer in a.layers]
    assert [layer.macs for layer in p.layers] == [layer.macs for layer in a.layers]
    assert {"add", "cat"} <= {layer.op for layer in p.layers}
    assert all(len(layer.times_ms) == 5 and layer.median_ms > 0 for layer in p.layers)
    assert p.runs == 5 and p.whole.repeats >= 5 and p.machine.threads == 1


def tracking_profile(name, res, attempts=3):
    """A profile whose layers add up to the whole within the issue's 25 %.

    Within each instrumented pass the layers must account for the pass (``run_ratio``): that holds
    whatever else the machine runs. The sum of the per-layer medians (``sum_ratio``) is held to
    the same bound when the machine is not busy: under load each layer's median drops the time
    slices other programs take, which every whole pass keeps. A timing is a sample, so one
    attempt hit by a burst is retried; a systematic error fails all three.
    """
    quiet = L.load_1min() < 0.5 * (os.cpu_count() or 1)
    for _ in range(attempts):
        p = L.profile(name, res, threads=1, runs=5)
        if 0.75 <= p.run_ratio <= 1.25 and (not quiet or 0.75 <= p.sum_ratio <= 1.25):
            return p
    raise AssertionError(f"{name}: layers sum to {p.run_ratio:.2f} × the whole within a pass, "
                         f"medians to {p.sum_ratio:.2f} × (quiet machine: {quiet})")


@pytest.mark.parametrize("name, res", [("mobilenet_v2", 160), ("shufflenet_v2_x1_0", 160), ("resnet18", 160)])
def test_profile_names_match_analyze_and_the_sum_tracks_the_whole(name, res):
    p = tracking_profile(name, res)
    a = zoo.analyze(name, res)
    assert [layer.name for layer in p.layers] == [layer.name for layer in a.layers]
    assert sum(layer.mem_access for layer in p.layers) == a.total_mem_access
    assert p.total_macs == a.total_macs
    working = [layer for layer in p.layers if layer.kind != "other"]
    assert all(layer.median_ms > 0 for layer in working), [la.name for la in working if la.median_ms <= 0]
    groups = p.by_group()
    assert sum(g["time_share"] for g in groups) == pytest.approx(1.0)
    assert sum(g["macs_share"] for g in groups) == pytest.approx(1.0)
    top = p.excess(10)
    assert len(top) == 10 and [r["excess"] for r in top] == sorted((r["excess"] for r in top), reverse=True)
    if name == "shufflenet_v2_x1_0":
        assert any(layer.kind == "shuffle" and layer.median_ms > 0 for layer in p.layers)


def test_mobilenet_v2_depthwise_takes_more_time_than_its_macs_share():
    """The explorer's lesson, as a property of this CPU's kernels rather than of its load."""
    p = L.profile("mobilenet_v2", 160, threads=1, runs=5)
    dw = next(g for g in p.by_group() if g["group"] == "depthwise")
    assert dw["macs_share"] < 0.1 and dw["time_share"] > 1.5 * dw["macs_share"]


def test_kind_groups_cover_every_analysis_kind():
    from zoo.analysis import KINDS
    assert {L.kind_group(k) for k in KINDS} <= set(L.GROUP_ORDER)
    assert L.kind_group("add") == L.kind_group("shuffle") == "elementwise"
