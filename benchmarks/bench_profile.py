"""Time zoo.latency.profile (the explorer's "Measured here" tab) and check that its layers add up.

The issue's targets: ``profile("resnet50")`` in at most 5 s and ``profile("mobilenet_v2")`` in at
most 3 s on a 2-core machine, model building included, with the per-layer times adding up to the
whole-model time within 25 %. Each model is profiled in a fresh process (nothing cached from the
previous one), at its registered resolution, with ``profile``'s defaults (5 repeats, torch's own
thread count: every core) unless ``--threads`` says otherwise (the explorer's tab defaults to
half the logical CPUs), ``--repeat`` times; the script prints the wall time of
each call, the whole-model latency with its IQR, the sum of the per-layer medians against it
(and, per instrumented pass, of that pass's layers against it: that one holds under any load),
the layer kinds taking most time over their MACs, and the 1-min load before each run.

    python benchmarks/bench_profile.py [resnet50 mobilenet_v2 ...] [--threads 1] [--repeat 3]

Run it on a quiet machine for the figures to quote. Writes benchmarks/results/bench_profile.json.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS_S = {"resnet50": 5.0, "mobilenet_v2": 3.0}

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
from zoo import latency
t_import = time.perf_counter() - t0
load = latency.load_1min()
t0 = time.perf_counter()
p = latency.profile({name!r}, threads={threads})
sec = time.perf_counter() - t0
groups = sorted(p.by_group(), key=lambda g: g["time_share"] - g["macs_share"], reverse=True)[:3]
print(json.dumps({{"model": {name!r}, "seconds": sec, "import_s": t_import, "load_before": load,
                  "whole_ms": p.whole.median_ms, "whole_q1_ms": p.whole.q1_ms, "whole_q3_ms": p.whole.q3_ms,
                  "whole_repeats": p.whole.repeats, "layer_sum_ms": p.layer_sum_ms, "sum_ratio": p.sum_ratio,
                  "run_ratio": p.run_ratio, "layers": len(p.layers), "runs": p.runs,
                  "machine": p.machine.label(),
                  "time_over_macs": [(g["group"], round(100 * g["macs_share"], 1), round(100 * g["time_share"], 1))
                                     for g in groups]}}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=list(TARGETS_S))
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs, ok = [], True
    for name in args.models:
        for _ in range(args.repeat):
            code = CHILD.format(root=str(ROOT), name=name, threads=args.threads)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            target = TARGETS_S.get(name)
            r["target_s"] = target
            r["within_target"] = target is None or r["seconds"] <= target
            r["sum_within_25pct"] = 0.75 <= r["sum_ratio"] <= 1.25
            ok &= r["within_target"] and r["sum_within_25pct"]
            runs.append(r)
            kinds = ", ".join(f"{g} {m} % of MACs / {t} % of time" for g, m, t in r["time_over_macs"])
            print(f"{name:<20} {r['seconds']:5.2f} s (target {target or '—'} s)  whole {r['whole_ms']:.1f} ms "
                  f"(IQR {r['whole_q1_ms']:.1f}–{r['whole_q3_ms']:.1f}, {r['whole_repeats']} repeats)  "
                  f"layer medians sum to {100 * r['sum_ratio']:.0f} % of it (per pass {100 * r['run_ratio']:.0f} %)  "
                  f"load {r['load_before']}  | {kinds}")
    print(f"machine: {runs[0]['machine'] if runs else '?'}")
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "bench_profile.json"
    path.write_text(json.dumps({"threads": args.threads, "runs": runs}, indent=2))
    print(f"wrote {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
