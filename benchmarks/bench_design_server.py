"""The design lab's server side alone: one script run of pages/design.py per edit of a
ResNet-152-size design, in Streamlit's AppTest (no browser, no websocket).

    python benchmarks/bench_design_server.py [--repeats 6]

Each edit is new (repeats 37, 38, …; width × 1.05, 1.10, …; resolution 232, 240, …), so its
analysis is not in the page's cache, except the block change, which alternates between two
designs (from the third run on it is cached, as a student going back and forth finds it). The
invalid edit (a 'groups' that does not divide stage 1's inner width) must show its message.
Median and interquartile range per step, with the 1-minute load, are printed and written to
benchmarks/results/bench_design_server.json (git-ignored). benchmarks/bench_design.py times the
same edits in Chromium, the browser's redraw included.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"


def run(repeats: int) -> dict[str, list[float]]:
    from streamlit.testing.v1 import AppTest

    from zoo import design

    at = AppTest.from_file(str(ROOT / "pages" / "design.py"), default_timeout=240)
    at.query_params["d"] = "resnet152"
    at.run()
    assert not at.exception, [e.value for e in at.exception]

    def edit(changes: dict) -> None:
        ss = at.session_state
        sver = ss["d_sver"] if "d_sver" in ss else 0
        ss[f"d_stages_{ss['d_ver']}_{sver}"] = {"edited_rows": changes, "added_rows": [], "deleted_rows": []}

    def timed() -> float:
        t0 = time.perf_counter()
        at.run()
        dt = time.perf_counter() - t0
        assert not at.exception, [e.value for e in at.exception]
        return dt

    out: dict[str, list[float]] = {}
    for k in range(repeats):
        edit({2: {"repeats": 37 + k}})
        out.setdefault("stage 3 repeats typed (uncached)", []).append(timed())
    for k in range(repeats):
        at.number_input(key="d_w").set_value(round(1.0 + 0.05 * (k + 1), 2))
        out.setdefault("width multiplier + 0.05 (uncached)", []).append(timed())
    for k in range(repeats):
        at.number_input(key="d_res").set_value(224 + 8 * (k + 1))
        out.setdefault("resolution + 8 px (uncached)", []).append(timed())
    for k in range(repeats):
        edit({1: {"block": ("fused_mbconv", "bottleneck")[k % 2]}})
        out.setdefault("stage 2 block changed (two designs in turn)", []).append(timed())
    # a 'groups' that does not divide stage 1's inner width at the last width multiplier
    inner = design.width(design.templates()["resnet152"]["stages"][0]["out_channels"], at.number_input(key="d_w").value) // 4
    g = next(g for g in range(3, inner) if inner % g)
    for k in range(repeats):
        edit({0: {"groups": g}})
        out.setdefault("invalid edit until its message", []).append(timed())
        assert any(f"'groups' {g} must divide the inner width {inner}" in e.value for e in at.error), \
            [e.value for e in at.error]
        edit({0: {"groups": 1}})
        timed()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=6)
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    results = run(max(4, args.repeats))
    load1 = os.getloadavg()[0]
    print("Design lab, one script run per edit of a ResNet-152-size design (AppTest, no browser)")
    rows = []
    for name, ts in results.items():
        q = statistics.quantiles(ts, n=4)
        med = statistics.median(ts)
        print(f"  {name:<46} median {1000 * med:5.0f} ms (IQR {1000 * q[0]:.0f}-{1000 * q[2]:.0f} ms, n={len(ts)})")
        rows.append({"case": name, "median_s": med, "iqr_s": [q[0], q[2]], "runs_s": ts})
    print(f"load average (1 min): {load0:.1f} at the start, {load1:.1f} at the end; {os.cpu_count()} logical CPUs")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_design_server.json").write_text(json.dumps(
        {"cpus": os.cpu_count(), "load_start": load0, "load_end": load1, "cases": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
