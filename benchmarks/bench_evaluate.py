"""Throughput and memory of ``python -m zoo evaluate`` for the three offline EfficientNet-Lites.

    python benchmarks/bench_evaluate.py [--images 400] [--batch 32] [--workers N] [--models a,b]

Builds a folder in the ImageNet layout of ``--images`` JPEGs the size of ILSVRC validation photos
(500 × 375, quality 90: random crops of the sample photos, so decoding costs what it does on the
real set), then runs ``zoo.evaluate.Evaluation`` on it for each model: images per second over the
whole pass (decoding included) with the per-batch median and IQR, and the resident memory of the
main process and its decoding workers sampled after every batch (its growth from the first
quarter to the end is what "flat for 50,000 images" means in practice). The 1-minute load average
is recorded before and after: on a shared machine the figures are pessimistic. Results go to
benchmarks/results/bench_evaluate.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"


def build_folder(root: Path, n: int, seed: int = 0) -> Path:
    from PIL import Image

    from zoo import pretrained

    rng = random.Random(seed)
    samples = sorted((ROOT / "assets" / "samples").glob("*.*g"))
    photos = [Image.open(p).convert("RGB") for p in samples]
    synsets = pretrained.synsets()
    for i in range(n):
        img = photos[i % len(photos)]
        w, h = img.size
        s = rng.uniform(0.6, 1.0)
        cw, ch = int(w * s), int(h * s)
        left, top = rng.randint(0, w - cw), rng.randint(0, h - ch)
        out = img.crop((left, top, left + cw, top + ch)).resize((500, 375), Image.BILINEAR)
        d = root / synsets[(i * 7) % 1000]
        d.mkdir(parents=True, exist_ok=True)
        out.save(d / f"{i:06d}.jpeg", "JPEG", quality=90)
    return root


def rss_mb(pid: int | None = None, own: bool = True) -> float:
    """Resident memory (MB) of ``pid`` (default: this process) plus its children (without the
    process itself when ``own`` is False)."""
    pid = pid or os.getpid()

    def one(p):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    total = one(pid) if own else 0.0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                for line in open(f"/proc/{p}/status"):
                    if line.startswith("PPid:"):
                        if int(line.split()[1]) == pid:
                            total += one(p)
                        break
            except OSError:
                pass
    return total


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=400)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--models", default="efficientnet_lite0,efficientnet_lite1,efficientnet_lite2")
    args = ap.parse_args()

    import torch

    from zoo import evaluate as ev

    out = {"images": args.images, "batch": args.batch, "torch": torch.__version__, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        folder = build_folder(Path(tmp) / "val", args.images)
        out["build_s"] = time.perf_counter() - t0
        for name in args.models.split(","):
            run = ev.Evaluation(name, folder, batch=args.batch, workers=args.workers)
            load_before = os.getloadavg()
            trace = []
            for p in run.run():
                trace.append((p.done, rss_mb(), rss_mb(own=False)))
            r = run.result()
            q = max(1, len(trace) // 4)
            rec = {"model": name, "images_per_s": r.images_per_s, "seconds": r.seconds,
                   "batch_rates": r.batch_rates, "workers": r.workers, "threads": r.threads,
                   "top1_on_crops": r.top1, "rss_mb_first_quarter": trace[q - 1][1], "rss_mb_end": trace[-1][1],
                   "rss_mb_max": max(m for _, m, _ in trace), "workers_rss_mb_first_quarter": trace[q - 1][2],
                   "workers_rss_mb_end": trace[-1][2], "load_before": load_before,
                   "load_after": os.getloadavg(), "machine": r.machine}
            out["runs"].append(rec)
            print(f"{name}: {r.images_per_s:.1f} images/s over {r.seconds:.1f} s (per batch median "
                  f"{r.batch_rates.get('median', 0):.1f}, IQR {r.batch_rates.get('q1', 0):.1f}–"
                  f"{r.batch_rates.get('q3', 0):.1f}); {r.workers} workers, {r.threads} threads; RSS "
                  f"{rec['rss_mb_first_quarter']:.0f} → {rec['rss_mb_end']:.0f} MB (workers "
                  f"{rec['workers_rss_mb_first_quarter']:.0f} → {rec['workers_rss_mb_end']:.0f}); load "
                  f"{load_before[0]:.2f} → {rec['load_after'][0]:.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "bench_evaluate.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
