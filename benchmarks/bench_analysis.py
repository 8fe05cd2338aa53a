"""How long zoo.analyze takes, cold, next to torchinfo.summary on the same model.

Targets (issue 12, the engine without patches of torch): in a fresh process, with the model not
built before, ``zoo.analyze`` of efficientnet_b7 at 600, resnetrs420 at 320, vgg19 at 224 and
inception_resnet_v2 at 299 each at most 1/10 of torchinfo.summary's time asked the same way (a
fresh process, build included: "torchinfo cold" below) and under 0.5 s; the model cached, a new
resolution (the explorer's slider) within 60 ms for efficientnet_b7 at 600; the whole registry
under 10 s.

Every measurement runs in its own fresh Python process (``--child``), so nothing is warm:
- ``analyze``: ``import zoo`` (not timed), then ``zoo.analyze(name, resolution)`` timed, model build
  included.
- ``torchinfo``: ``import zoo, torchinfo`` and the model built (not timed), then
  ``torchinfo.summary(model, input_size=(1, 3, R, R), device=...)`` timed: on the meta device
  twice, cold (first call in the process) and warm (second call), and on the CPU with real
  weights once (how torchinfo is usually run: a real forward pass). A failure is reported.
- ``torchinfo cold``: the same question asked the same way as ``analyze`` is timed: a fresh
  process in which the model was not built before, so the timed span is ``zoo.build(name)`` (real
  weights on the CPU, which a torchinfo forward pass needs) plus ``torchinfo.summary``.
- ``new resolution``: ``import zoo``, ``zoo.analyze(name, R + 32)`` (builds and caches the meta
  model, not timed), then ``zoo.analyze(name, R)`` timed: a trace of the cached model.
- ``registry``: ``import zoo``, then ``zoo.analyze`` of every registered model at its own
  resolution, in one process, timed as a whole.

Wall-clock and CPU (process) time are both recorded; on a shared machine the wall clock includes
waiting for a core, so the load average at start and end is recorded too. The time Python's
garbage collector spends inside the timed span is recorded beside it (observed with
``gc.callbacks``, never changed): the first full collection after ``import torch`` walks torch's
~170k objects, and falls inside the timed span of either side. ``--settled-heap`` runs one
``gc.collect()`` just before each cold timer, analyze and torchinfo alike: the engines compared
without the interpreter's debt from ``import torch`` (reported beside, never instead of, the
plain figures).

    python benchmarks/bench_analysis.py                 # all cases, 3 cold runs each
    python benchmarks/bench_analysis.py --repeat 5 --cases resnetrs420:320

Prints a table and writes JSON to benchmarks/results/ (git-ignored).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
CASES = ["efficientnet_b7:600", "resnetrs420:320", "vgg19:224", "inception_resnet_v2:299"]
TARGET_S = 0.5
TARGET_RATIO = 1 / 10
TARGET_RETRACE_S = 0.060
REGISTRY_TARGET_S = 10.0


# --- children (each run in a fresh interpreter) -----------------------------------------------

class GcTimer:
    """Time Python's garbage collector spends in collections (observed through gc.callbacks,
    not changed): in a fresh process the first full collection after ``import torch`` walks its
    ~170k objects, and falls in whatever runs next."""

    def __init__(self):
        import gc
        self.total, self.full, self._start = 0.0, 0, 0.0
        gc.callbacks.append(self)

    def __call__(self, phase, info):
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._start
            self.full += info["generation"] == 2


def settle_heap() -> None:
    """With ``--settled-heap``: one full collection before the timer starts (on both sides), so
    the collector's debt from ``import torch`` is paid outside either timed span."""
    if os.environ.get("BENCH_SETTLED_HEAP") == "1":
        import gc
        gc.collect()


def child_analyze(name: str, res: int) -> dict:
    t = time.perf_counter()
    import zoo
    imported = time.perf_counter() - t
    settle_heap()
    gc_timer = GcTimer()
    w, c = time.perf_counter(), time.process_time()
    a = zoo.analyze(name, res)
    return {"wall_s": time.perf_counter() - w, "cpu_s": time.process_time() - c,
            "gc_s": gc_timer.total, "gc_full": gc_timer.full,
            "import_s": imported, "macs": a.total_macs, "layers": len(a.layers)}


def child_retrace(name: str, res: int) -> dict:
    import zoo
    zoo.analyze(name, res + 32)  # the meta model built and cached
    w, c = time.perf_counter(), time.process_time()
    a = zoo.analyze(name, res)
    return {"wall_s": time.perf_counter() - w, "cpu_s": time.process_time() - c, "macs": a.total_macs}


def child_torchinfo(name: str, res: int, device: str) -> dict:
    """torchinfo.summary of the model, built beforehand (not timed), on ``device``."""
    import torch
    import torchinfo

    import zoo
    out = {"device": device}
    if device == "cpu-cold":  # build + summary timed together, as analyze's model build is
        settle_heap()
        gc_timer = GcTimer()
        w, c = time.perf_counter(), time.process_time()
        model = zoo.build(name).eval()
        s = torchinfo.summary(model, input_size=(1, 3, res, res), device="cpu", verbose=0)
        return {"device": device, "wall_s": time.perf_counter() - w, "cpu_s": time.process_time() - c,
                "gc_s": gc_timer.total, "gc_full": gc_timer.full,
                "mult_adds": s.total_mult_adds, "threads": torch.get_num_threads()}
    if device == "meta":
        with torch.device("meta"):
            model = zoo.build(name).eval()
    else:
        model = zoo.build(name).eval()
    runs = []
    try:
        for _ in range(2 if device == "meta" else 1):
            w, c = time.perf_counter(), time.process_time()
            s = torchinfo.summary(model, input_size=(1, 3, res, res), device=device, verbose=0)
            runs.append((time.perf_counter() - w, time.process_time() - c))
    except Exception as e:  # noqa: BLE001 - reported; the CPU run is the fallback
        return {"device": device, "error": repr(e)[:300]}
    out.update({"wall_s": runs[0][0], "cpu_s": runs[0][1], "mult_adds": s.total_mult_adds,
                "threads": torch.get_num_threads()})
    if len(runs) > 1:
        out.update({"warm_wall_s": runs[1][0], "warm_cpu_s": runs[1][1]})
    return out


def child_registry() -> dict:
    import zoo
    names = zoo.list_models()
    w, c = time.perf_counter(), time.process_time()
    slowest = []
    for n in names:
        t = time.perf_counter()
        zoo.analyze(n)
        slowest.append((time.perf_counter() - t, n))
    slowest.sort(reverse=True)
    return {"wall_s": time.perf_counter() - w, "cpu_s": time.process_time() - c,
            "models": len(names), "slowest": [[n, round(s, 3)] for s, n in slowest[:5]]}


# --- parent -------------------------------------------------------------------------------------

def fresh(*args: str) -> dict:
    p = subprocess.run([sys.executable, __file__, "--child", *args], cwd=ROOT, capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=900)
    if p.returncode:
        raise RuntimeError(f"child {args} failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", nargs="*", default=CASES, help="name:resolution")
    ap.add_argument("--repeat", type=int, default=3, help="cold runs of zoo.analyze per case")
    ap.add_argument("--torchinfo-repeat", type=int, default=1, help="cold runs of torchinfo per case")
    ap.add_argument("--no-registry", action="store_true")
    ap.add_argument("--no-cpu", action="store_true", help="skip torchinfo on the CPU (real weights)")
    ap.add_argument("--settled-heap", action="store_true",
                    help="a full garbage collection before each cold timer, analyze and torchinfo alike")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.settled_heap:
        os.environ["BENCH_SETTLED_HEAP"] = "1"       # read by the children (fresh() passes os.environ)

    if args.child:
        kind, *rest = args.child
        if kind == "analyze":
            res = child_analyze(rest[0], int(rest[1]))
        elif kind == "retrace":
            res = child_retrace(rest[0], int(rest[1]))
        elif kind == "torchinfo":
            res = child_torchinfo(rest[0], int(rest[1]), rest[2])
        else:
            res = child_registry()
        print(json.dumps(res))
        return 0

    import torch

    load_start = os.getloadavg()
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    rows = []
    for case in args.cases:
        name, res = case.split(":")
        ours = [fresh("analyze", name, res) for _ in range(args.repeat)]
        again = [fresh("retrace", name, res) for _ in range(args.repeat)]
        meta = [fresh("torchinfo", name, res, "meta") for _ in range(args.torchinfo_repeat)]
        cpu = None if args.no_cpu else fresh("torchinfo", name, res, "cpu")
        cold = None if args.no_cpu else fresh("torchinfo", name, res, "cpu-cold")
        wall = statistics.median(r["wall_s"] for r in ours)
        cpu_s = statistics.median(r["cpu_s"] for r in ours)
        row = {
            "model": name, "resolution": int(res), "macs": ours[0]["macs"],
            "layers": ours[0]["layers"],
            "analyze_wall_s": [round(r["wall_s"], 4) for r in ours],
            "analyze_cpu_s": [round(r["cpu_s"], 4) for r in ours],
            "analyze_wall_median_s": round(wall, 4), "analyze_cpu_median_s": round(cpu_s, 4),
            "import_zoo_s": round(statistics.median(r["import_s"] for r in ours), 3),
            "analyze_gc_s": [round(r["gc_s"], 4) for r in ours],
            "analyze_gc_full_collections": [r["gc_full"] for r in ours],
            "meets_time": wall < TARGET_S,
            "retrace_wall_s": [round(r["wall_s"], 4) for r in again],
            "retrace_cpu_s": [round(r["cpu_s"], 4) for r in again],
            "retrace_wall_median_s": round(statistics.median(r["wall_s"] for r in again), 4),
            "retrace_cpu_median_s": round(statistics.median(r["cpu_s"] for r in again), 4),
        }
        row["meets_retrace"] = row["retrace_wall_median_s"] <= TARGET_RETRACE_S
        if "error" in meta[0]:
            row["torchinfo_meta_error"] = meta[0]["error"]
        else:
            ti = statistics.median(r["wall_s"] for r in meta)
            ti_warm = statistics.median(r["warm_wall_s"] for r in meta)
            row.update({
                "torchinfo_meta_cold_wall_s": round(ti, 4), "torchinfo_meta_warm_wall_s": round(ti_warm, 4),
                "torchinfo_meta_cold_cpu_s": round(statistics.median(r["cpu_s"] for r in meta), 4),
                "torchinfo_mult_adds": meta[0]["mult_adds"],
                "ratio_vs_meta_cold": round(wall / ti, 4), "ratio_vs_meta_warm": round(wall / ti_warm, 4),
                "cpu_ratio_vs_meta_cold": round(cpu_s / statistics.median(r["cpu_s"] for r in meta), 4),
                "meets_ratio_meta": wall <= TARGET_RATIO * ti,
            })
        if cpu is not None and "error" not in cpu:
            row.update({"torchinfo_cpu_wall_s": round(cpu["wall_s"], 4),
                        "torchinfo_cpu_threads": cpu["threads"],
                        "torchinfo_cpu_cpu_s": round(cpu["cpu_s"], 4),
                        "cpu_ratio_vs_cpu": round(cpu_s / cpu["cpu_s"], 4),
                        "ratio_vs_cpu": round(wall / cpu["wall_s"], 4),
                        "meets_ratio_cpu": wall <= TARGET_RATIO * cpu["wall_s"]})
        elif cpu is not None:
            row["torchinfo_cpu_error"] = cpu["error"]
        if cold is not None:
            row.update({"torchinfo_cold_wall_s": round(cold["wall_s"], 4),
                    "torchinfo_cold_gc_s": round(cold["gc_s"], 4),
                        "torchinfo_cold_cpu_s": round(cold["cpu_s"], 4),
                        "ratio_vs_cold": round(wall / cold["wall_s"], 4),
                        "cpu_ratio_vs_cold": round(cpu_s / cold["cpu_s"], 4),
                        "meets_ratio_cold": wall <= TARGET_RATIO * cold["wall_s"]})
        rows.append(row)
    registry = None if args.no_registry else fresh("registry")
    load_end = os.getloadavg()

    print(f"zoo.analyze, cold: a fresh process per run, model build included (median of {args.repeat} runs)."
          f" torchinfo.summary on the same model, each in a fresh process, model built beforehand:"
          f" on meta (cold = first call, warm = second) and on the CPU with real weights."
          + (" Heap settled: one gc.collect() before each cold timer, on both sides." if args.settled_heap else ""))
    print(f"{os.cpu_count()} CPUs, load average {load_start[0]:.1f} at start, {load_end[0]:.1f} at end; "
          f"torch {torch.__version__}, Python {platform.python_version()}")

    def ratio(r, key):
        if key not in r:
            return "-"
        return f"1/{1 / r[key]:.0f}" if r[key] < 1 else f"{r[key]:.1f}×"

    head = (f"{'model':<20}{'res':>4}{'layers':>7}{'analyze':>9}{'(cpu)':>7}{'meta cold':>10}"
            f"{'warm':>7}{'cpu':>8}  {'vs meta cold':>12}{'vs meta warm':>13}{'vs cpu':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        def sec(key):
            return f"{r[key]:.3f}" if key in r else "-"
        print(f"{r['model']:<20}{r['resolution']:>4}{r['layers']:>7}{r['analyze_wall_median_s']:>8.3f}s"
              f"{r['analyze_cpu_median_s']:>6.3f}s{sec('torchinfo_meta_cold_wall_s'):>9}s"
              f"{sec('torchinfo_meta_warm_wall_s'):>6}s{sec('torchinfo_cpu_wall_s'):>7}s  "
              f"{ratio(r, 'ratio_vs_meta_cold'):>12}{ratio(r, 'ratio_vs_meta_warm'):>13}"
              f"{ratio(r, 'ratio_vs_cpu'):>8}")
    print("CPU-time ratios (less sensitive to other load): "
          + ", ".join(f"{r['model']} {ratio(r, 'cpu_ratio_vs_meta_cold')} of meta cold, "
                      f"{ratio(r, 'cpu_ratio_vs_cpu')} of cpu" for r in rows))
    print(f"new resolution, model cached (median wall / CPU): "
          + ", ".join(f"{r['model']} {1000 * r['retrace_wall_median_s']:.0f} / {1000 * r['retrace_cpu_median_s']:.0f} ms"
                      for r in rows) + f"; target {1000 * TARGET_RETRACE_S:.0f} ms for efficientnet_b7@600")
    print(f"targets: analyze < {TARGET_S} s: "
          + ", ".join(f"{r['model']} {'yes' if r['meets_time'] else 'NO'}" for r in rows))
    print("          1/10 of torchinfo on meta (cold): "
          + ", ".join(f"{r['model']} {'yes' if r.get('meets_ratio_meta') else 'NO'}" for r in rows))
    if not args.no_cpu:
        print("          1/10 of torchinfo on the CPU: "
              + ", ".join(f"{r['model']} {'yes' if r.get('meets_ratio_cpu') else 'NO'}" for r in rows))
        print("          1/10 of torchinfo cold (fresh process, build + summary, as analyze is timed): "
              + ", ".join(f"{r['model']} {ratio(r, 'ratio_vs_cold')} "
                          f"({r.get('torchinfo_cold_wall_s', float('nan')):.2f} s) "
                          f"{'yes' if r.get('meets_ratio_cold') else 'NO'}" for r in rows))
    print("time in the garbage collector (cold, median): "
          + ", ".join(f"{r['model']} analyze {1000 * statistics.median(r['analyze_gc_s']):.0f} ms"
                      + (f", torchinfo cold {1000 * r['torchinfo_cold_gc_s']:.0f} ms" if "torchinfo_cold_gc_s" in r else "")
                      for r in rows))
    if registry:
        ok = "ok" if registry["wall_s"] < REGISTRY_TARGET_S else "slow"
        print(f"whole registry ({registry['models']} models, one process): "
              f"{registry['wall_s']:.2f} s wall, {registry['cpu_s']:.2f} s CPU  {ok}; "
              f"slowest: " + ", ".join(f"{n} {s:.2f}s" for n, s in registry["slowest"]))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"bench_analysis-{started.replace(':', '')}.json"
    out.write_text(json.dumps({
        "started": started, "cpus": os.cpu_count(), "load_start": load_start, "load_end": load_end,
        "torch": torch.__version__, "python": platform.python_version(),
        "platform": platform.platform(), "repeat": args.repeat, "settled_heap": args.settled_heap,
        "cases": rows, "registry": registry,
        "targets": {"analyze_s": TARGET_S, "ratio": TARGET_RATIO, "retrace_s": TARGET_RETRACE_S,
                    "registry_s": REGISTRY_TARGET_S},
    }, indent=1))
    print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
