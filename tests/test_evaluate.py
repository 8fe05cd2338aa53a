"""zoo.evaluate and ``python -m zoo evaluate``: folders built here from the sample photos and from
generated images, with damaged files among them.

Exact counts come from a "colour" model made for the test: an image whose red channel is r
everywhere is predicted as class r (top-5: r, r ± 1, r ± 2), so each image's label decides
whether it is a top-1 hit, a top-5 hit or a miss. The real EfficientNet-Lite0 runs on the sample
photos, whose top-1 tests/test_pretrained.py pins (espresso, tiger cat, tripod, missile).
"""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from PIL import Image

from zoo import evaluate as ev
from zoo import pretrained as P

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "assets" / "samples"
SYNSETS = (ROOT / "assets" / "imagenet_synsets.txt").read_text().split()


class ColourModel(nn.Module):
    """Class r for an image of red level r: logits fall off with |class − r|."""

    def forward(self, x):
        r = (x[:, 0].mean(dim=(1, 2)) * 255).round()                     # (B,)
        return -(torch.arange(1000, dtype=torch.float32)[None, :] - r[:, None]).abs()


COLOUR_PRE = P.Preprocess(resize=16, crop=16, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


def colour_eval(folder, **kw):
    return ev.Evaluation("colour", folder, model=ColourModel(), preprocess=COLOUR_PRE,
                         weights="colour model", **kw)


def red(path: Path, r: int, fmt="PNG"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), (r, 0, 0)).save(path, fmt)
    return path


def damaged(folder: Path) -> dict[str, Path]:
    """A truncated JPEG, a text file named .jpg, an empty file and a PNG declaring 100,000² pixels."""
    import struct
    import zlib

    buf = io.BytesIO()
    Image.effect_mandelbrot((300, 200), (-2, -1, 1, 1), 50).convert("RGB").save(buf, "JPEG")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "truncated.jpg").write_bytes(buf.getvalue()[:300])
    (folder / "notes.jpg").write_text("not a picture")
    (folder / "empty.png").write_bytes(b"")

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    (folder / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
                                      + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return {p.name: p for p in folder.iterdir()}


@pytest.fixture
def imagenet_folder(tmp_path):
    """ImageNet layout: class 10 holds red 10 (hit) and red 11 (top-5 hit); class 200 holds red
    200 (hit) and red 50 (miss); class 0 holds the four damaged files."""
    root = tmp_path / "val"
    red(root / SYNSETS[10] / "a.png", 10)
    red(root / SYNSETS[10] / "b.png", 11)
    red(root / SYNSETS[200] / "c.png", 200)
    red(root / SYNSETS[200] / "d.jpeg", 50, "JPEG")
    damaged(root / SYNSETS[0])
    (root / SYNSETS[200] / "README.txt").write_text("not an image suffix: ignored")
    return root


def run_all(evaluation):
    progress = list(evaluation.run())
    return progress, evaluation.result()


@pytest.mark.parametrize("workers", [0, 2])
def test_imagenet_layout_counts_hits_misses_and_unreadable_files(imagenet_folder, workers):
    progress, r = run_all(colour_eval(imagenet_folder, batch=3, workers=workers))
    assert r.layout.startswith("ImageNet layout") and r.listed == 8
    assert (r.images, r.correct1, r.correct5, r.unreadable) == (4, 2, 3, 4)
    assert r.top1 == 0.5 and r.top5 == 0.75 and not r.stopped
    assert sorted(Path(p).name for p, _ in r.unreadable_files) == ["bomb.png", "empty.png", "notes.jpg", "truncated.jpg"]
    assert any("100000 × 100000 pixels" in e or "DecompressionBomb" in e for p, e in r.unreadable_files if p.endswith("bomb.png"))
    # confusions: class 10 → 11 (b.png), class 200 → 50 (d.jpeg)
    assert sorted(r.confusions) == [(10, 11, 1), (200, 50, 1)]
    assert r.per_class == {10: (2, 1), 200: (2, 1)}
    assert [p.done for p in progress] == [3, 6, 8] and progress[-1].total == 8
    assert r.images_per_s > 0 and r.workers == workers and r.threads >= 1 and r.device == "cpu"


def test_flat_folder_with_labels_txt_and_csv(tmp_path):
    flat = tmp_path / "flat"
    for i, r in enumerate((5, 6, 7)):
        red(flat / f"img{i}.png", r)
    (flat / "labels.txt").write_text(f"img0.png 5\nimg1.png,{SYNSETS[6]}\n\n# a comment\nimg2.png\t9\nmissing.png,3\n")
    _, r = run_all(colour_eval(flat, batch=2, workers=0))
    assert r.layout == "flat folder with labels.txt"
    assert (r.images, r.correct1, r.correct5, r.unreadable) == (3, 2, 3, 1)
    assert r.unreadable_files[0][0].endswith("missing.png") and "FileNotFoundError" in r.unreadable_files[0][1]
    (flat / "labels.txt").unlink()
    (flat / "labels.csv").write_text("file,class_index\nimg0.png,5\nimg1.png,6\n")
    _, r = run_all(colour_eval(flat, workers=0))
    assert r.layout == "flat folder with labels.csv" and (r.images, r.correct1) == (2, 2)


@pytest.mark.parametrize("content, words", [
    ("a.png,1000\n", "outside 0–999"),
    ("a.png,n99999999\n", "not one of the 1000"),
    ("a.png,1\na.png,cat\n", "neither a 0–999 index nor a WordNet id"),
    ("justonefield\n", "expected 'file,class'"),
    ("file,class\n", "lists no images"),
])
def test_bad_labels_files_are_clear_errors(tmp_path, content, words):
    red(tmp_path / "a.png", 1)
    (tmp_path / "labels.txt").write_text(content)
    with pytest.raises(ev.FolderError, match=words):
        ev.scan_folder(tmp_path)


def test_folders_that_cannot_be_evaluated(tmp_path):
    with pytest.raises(ev.FolderError, match="is not a folder"):
        ev.scan_folder(tmp_path / "nowhere")
    (tmp_path / "cats").mkdir()
    with pytest.raises(ev.FolderError, match="sub-folders named by WordNet id"):
        ev.scan_folder(tmp_path)
    (tmp_path / SYNSETS[3]).mkdir()
    with pytest.raises(ev.FolderError, match="hold no images"):
        ev.scan_folder(tmp_path)


def test_limit_spreads_over_the_classes(imagenet_folder):
    _, items = ev.scan_folder(imagenet_folder)
    subset = ev.spread_subset(items, 4)   # items 0, 2, 4, 6 of 8: four of class 0, two each of 10 and 200
    assert [i.label for i in subset] == [0, 0, 10, 200]
    assert ev.spread_subset(items, None) == items and ev.spread_subset(items, 100) == items
    r = colour_eval(imagenet_folder, limit=3, workers=0)
    assert len(r.items) == 3


def test_stopping_keeps_what_was_measured(imagenet_folder):
    run = colour_eval(imagenet_folder, batch=2, workers=2)
    for p in run.run():
        if p.done >= 2:
            run.stop()
    r = run.result()
    assert r.stopped and r.images + r.unreadable == 2 and r.listed == 8
    # abandoning the generator (a page rerun, Ctrl-C) stops it the same way
    run = colour_eval(imagenet_folder, batch=2, workers=0)
    gen = run.run()
    next(gen)
    gen.close()
    assert run.result().stopped and run.result().images + run.result().unreadable == 2


def test_memory_stays_flat_over_many_images(tmp_path):
    """Nothing is kept per image: the Python memory a run allocates is the same for 300 and for
    3,000 images (the item list itself is built before the run and not counted)."""
    one = red(tmp_path / "one" / SYNSETS[42] / "x.png", 42)
    growth = {}
    for n in (300, 3000):
        run = colour_eval(tmp_path / "one", workers=0, batch=50)
        run.items = [ev.Item(str(one), 42 if i % 3 else 7) for i in range(n)]   # a third are misses
        tracemalloc.start()
        for _ in run.run():
            pass
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        r = run.result()
        assert r.images == n and r.confusions == [(7, 42, n // 3)]
        growth[n] = peak
    assert growth[3000] < growth[300] + 200_000, growth


def children_rss_mb(exclude: frozenset = frozenset()) -> float:
    """Resident memory of this process's children (the DataLoader workers), from /proc; children in
    ``exclude`` (a dashboard server another test started, say) are not counted."""
    me, total = os.getpid(), 0.0
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) in exclude:
            continue
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("PPid", "0").strip() or 0) == me and "VmRSS" in fields:
            total += int(fields["VmRSS"].split()[0]) / 1024
    return total


def child_pids() -> frozenset:
    me = os.getpid()
    out = set()
    for p in os.listdir("/proc"):
        try:
            if p.isdigit() and f"PPid:\t{me}\n" in Path(f"/proc/{p}/status").read_text():
                out.add(int(p))
        except OSError:
            pass
    return frozenset(out)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads worker memory from /proc (Linux)")
def test_decoding_workers_memory_stays_flat(tmp_path):
    """The workers make a 0.6 MB tensor per image (3 × 224 × 224 floats). Without the fixed mmap
    threshold set in each worker, glibc served them from a heap that grew by about one tensor per
    image (+270 MB over 640 images); with it the worker's memory does not grow."""
    photo = tmp_path / "val" / SYNSETS[3] / "p.jpeg"
    photo.parent.mkdir(parents=True)
    Image.effect_mandelbrot((500, 375), (-2, -1.2, 1, 1.2), 60).convert("RGB").save(photo, "JPEG", quality=90)
    run = ev.Evaluation("colour", tmp_path / "val", model=ColourModel(), preprocess=P.lite_preprocess(224),
                        weights="colour model", workers=1, batch=32)
    run.items = [ev.Item(str(photo), 3)] * 640
    others = child_pids()                                            # not the workers: started before
    trace = [children_rss_mb(others) for _ in run.run()]
    assert len(trace) == 20 and trace[2] > 50                       # the worker was measured
    assert trace[-1] - trace[2] < 40, trace                          # flat: not ~0.6 MB per image


def test_wilson_interval():
    # textbook values (e.g. statsmodels proportion_confint(method="wilson"))
    assert ev.wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert ev.wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert ev.wilson_interval(4, 4)[1] == 1.0


def test_results_file_keeps_one_entry_per_model_folder_and_weights(tmp_path, imagenet_folder):
    path = tmp_path / "results.json"
    _, r = run_all(colour_eval(imagenet_folder, workers=0))
    ev.save_result(r, path)
    ev.save_result(r, path)
    rows = ev.load_results(path)
    assert len(rows) == 1 and rows[0]["top1"] == 0.5 and rows[0]["images"] == 4
    assert rows[0]["top1_interval"] == pytest.approx(list(ev.wilson_interval(2, 4)))
    _, small = run_all(colour_eval(imagenet_folder, workers=0, limit=2))
    small.folder = "/elsewhere"
    ev.save_result(small, path)
    assert len(ev.load_results(path)) == 2
    assert ev.best_results(ev.load_results(path))["colour"]["folder"] == str(imagenet_folder.resolve())
    path.write_text("{broken")
    assert ev.load_results(path) == []


def sample_folder(root: Path) -> Path:
    """ImageNet layout from four sample photos whose Lite0 top-1 is pinned elsewhere, plus two
    generated images of other classes (misses) and one damaged file."""
    for file, cls in (("coffee.png", 967), ("camera.png", 872), ("chelsea.png", 282), ("rocket.jpg", 657)):
        (root / SYNSETS[cls]).mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / file, root / SYNSETS[cls] / file)
    red(root / SYNSETS[1] / "red.png", 255)
    Image.effect_mandelbrot((200, 200), (-2, -1.5, 1, 1.5), 80).convert("RGB").save(root / SYNSETS[2] / "m.png") \
        if (root / SYNSETS[2]).mkdir() is None else None
    (root / SYNSETS[2] / "broken.jpg").write_bytes(b"\xff\xd8\xff broken")
    return root


def test_lite0_on_the_sample_folder(tmp_path):
    r = ev.evaluate("efficientnet_lite0", sample_folder(tmp_path / "s"), batch=4, workers=1)
    assert (r.images, r.unreadable) == (6, 1)
    assert r.correct1 == 4 and r.correct5 >= 4
    assert r.weights == "efficientnet-lite0-57934424.pth" and r.published_weights


def test_cli_evaluate_with_progress_bar_saves_the_result(tmp_path):
    folder = sample_folder(tmp_path / "s")
    results = tmp_path / "results.json"
    env = {**os.environ, "CNN_ATLAS_RESULTS": str(results)}
    out = subprocess.run([sys.executable, "-m", "zoo", "evaluate", "efficientnet_lite0", str(folder), "--batch", "3"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "top-1 66.67 % (4 of 6 images; 95 % interval" in out.stdout
    assert "1 unreadable image (not counted)" in out.stdout and "broken.jpg" in out.stdout
    assert "images/s" in out.stdout and "most frequent confusions" in out.stdout
    assert "7/7" in out.stderr and "img/s" in out.stderr            # tqdm's bar
    row, = json.loads(results.read_text())
    assert row["model"] == "efficientnet_lite0" and row["images"] == 6 and row["correct1"] == 4
    limited = subprocess.run([sys.executable, "-m", "zoo", "evaluate", "efficientnet_lite0", str(folder),
                              "--limit", "2", "--no-save"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert limited.returncode == 0 and "of 2 images" in limited.stdout and "2/2" in limited.stderr


@pytest.mark.parametrize("args, words", [
    (["efficientnet_lite0", "/nonexistent/folder"], "is not a folder"),
    (["efficientnet_lite3", "."], "no pretrained ImageNet weights"),
    (["no_such_model", "."], "unknown model"),
])
def test_cli_evaluate_errors(args, words):
    out = subprocess.run([sys.executable, "-m", "zoo", "evaluate", *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and words in out.stderr, out.stderr[-2000:]


def test_cli_evaluate_stops_on_ctrl_c_and_reports_what_it_measured(tmp_path):
    import threading

    folder = tmp_path / "many"
    for i in range(400):
        red(folder / SYNSETS[i % 5] / f"{i}.png", 3)
    env = {**os.environ, "CNN_ATLAS_RESULTS": str(tmp_path / "r.json")}
    proc = subprocess.Popen([sys.executable, "-m", "zoo", "evaluate", "efficientnet_lite0", str(folder), "--batch", "4"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(iter(lambda: proc.stderr.read(1), "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and " 8/400" not in "".join(err):
        time.sleep(0.2)   # wait until the bar shows a few batches done
    os.killpg(proc.pid, signal.SIGINT)   # Ctrl-C reaches the whole process group, workers included
    out = proc.stdout.read()
    proc.wait(timeout=120)
    reader.join(timeout=10)
    assert "stopped after" in out, (out, "".join(err)[-2000:])
    assert "of 400 images" in out and "Traceback" not in "".join(err)
    assert "logical CPUs, 1-min load" in out and "Machine(" not in out   # the machine in words, not a repr
    row, = json.loads((tmp_path / "r.json").read_text())
    assert row["stopped"] and 0 < row["images"] < 400
