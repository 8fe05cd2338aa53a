"""Top-1 and top-5 measured on a folder of images, on this machine.

Every accuracy the atlas quotes is somebody else's (a paper's, or the weights' metadata). This
module measures one: a pretrained zoo model (``zoo.load_pretrained``) over a folder of labelled
images, reporting top-1 and top-5 accuracy (the ILSVRC measures, Russakovsky et al. 2015,
arXiv:1409.0575), the most frequent confusions, images per second and every image it could not
read. The protocol is the weights' own single centre crop (``zoo.pretrained``), so on the 50,000
ILSVRC-2012 validation images the figure should come close to the published one.

Two folder layouts:

- **ImageNet layout**: one sub-folder per class, named by its WordNet id (``n01440764/…``); the
  1000 ids in class-index order are assets/imagenet_synsets.txt (timm 1.0.31's list).
- **Flat**: the images plus ``labels.txt`` or ``labels.csv`` with one ``file,class`` line per
  image (comma, tab or spaces between them), the class a 0–999 index or a WordNet id; a header
  line is allowed.

Images are decoded and preprocessed in ``torch.utils.data.DataLoader`` worker processes while the
main process runs the model. Nothing is kept per image except the names of unreadable ones (the
first ``MAX_LISTED``), so memory stays flat over 50,000 images: counts per class, a sparse
confusion counter and running totals. An unreadable image (damaged, not an image, missing, a
decompression bomb) is counted and listed, never fatal.

Throughput is the number of images over the wall time of the whole pass (decoding included): one
pass over a folder is not a statement ``torch.utils.benchmark`` could repeat, so the spread given
with it is that of the per-batch rates (interquartile range, first batch excluded as warm-up),
with the threads, workers, machine and load average beside it.

Results are kept in a small JSON file (``results_path()``) so the Pareto page can show "measured
here (N images)" beside the published top-1. torch only at import; PIL where images are opened.
"""
from __future__ import annotations

import json
import math
import os
import re
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
import torch.utils.data

from . import pretrained
from .registry import info

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
LABEL_FILES = ("labels.txt", "labels.csv")
WNID = re.compile(r"^n\d{8}$")
MAX_PIXELS = 40_000_000      # as the classify page: refuse decompression bombs before decoding
MAX_LISTED = 1000            # unreadable images listed by name (all are counted)
TOP_CONFUSIONS = 25
RESULTS_ENV = "CNN_ATLAS_RESULTS"


class FolderError(ValueError):
    """A folder that cannot be evaluated (no images, no labels, unknown classes …)."""


# --- the folder ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    path: str
    label: int


def _class_index(token: str, where: str) -> int:
    wnids = {w: i for i, w in enumerate(pretrained.synsets())}
    token = token.strip()
    if WNID.match(token):
        if token not in wnids:
            raise FolderError(f"{where}: {token} is not one of the 1000 ImageNet-1k WordNet ids")
        return wnids[token]
    try:
        i = int(token)
    except ValueError:
        raise FolderError(f"{where}: the class {token!r} is neither a 0–999 index nor a WordNet id") from None
    if not 0 <= i < 1000:
        raise FolderError(f"{where}: class index {i} is outside 0–999")
    return i


def _split(line: str) -> list[str]:
    for sep in (",", "\t", ";"):
        if sep in line:
            return [p.strip() for p in line.split(sep)]
    return line.split()


def read_labels(path: Path) -> list[Item]:
    """``file,class`` lines of a labels file → items (paths relative to the file's folder)."""
    items = []
    for n, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = _split(line)
        if len(parts) < 2:
            raise FolderError(f"{path.name} line {n}: expected 'file,class', got {line[:80]!r}")
        if n == 1 and not WNID.match(parts[1]) and not parts[1].lstrip("-").isdigit():
            continue  # a header line such as "file,class_index"
        items.append(Item(str(path.parent / parts[0]), _class_index(parts[1], f"{path.name} line {n}")))
    return items


def scan_folder(folder: str | Path) -> tuple[str, list[Item]]:
    """(layout, items) of a folder: "labels file" when ``labels.txt``/``labels.csv`` is there,
    else "ImageNet layout" (sub-folders named by WordNet id). Raises FolderError with the reason."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FolderError(f"{root} is not a folder")
    for name in LABEL_FILES:
        if (root / name).is_file():
            items = read_labels(root / name)
            if not items:
                raise FolderError(f"{root / name} lists no images")
            return f"flat folder with {name}", items
    classes = sorted(p for p in root.iterdir() if p.is_dir() and WNID.match(p.name))
    if not classes:
        raise FolderError(f"{root} has neither {' nor '.join(LABEL_FILES)} nor sub-folders named by "
                          "WordNet id (n01440764 …)")
    items = []
    for d in classes:
        label = _class_index(d.name, str(d))
        items += [Item(str(p), label) for p in sorted(d.iterdir())
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if not items:
        raise FolderError(f"{root}'s class folders hold no images ({', '.join(IMAGE_SUFFIXES)})")
    return "ImageNet layout (one folder per WordNet id)", items


def spread_subset(items: Sequence[Item], limit: int | None) -> list[Item]:
    """At most ``limit`` items, evenly spaced over the list (so over the classes too, which the
    ImageNet layout lists one after the other); all of them when ``limit`` is None."""
    n = len(items)
    if limit is None or limit >= n:
        return list(items)
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return [items[(i * n) // limit] for i in range(limit)]


class ImageDataset(torch.utils.data.Dataset):
    """(input tensor, label, error) per item; an unreadable image gives zeros and its error."""

    def __init__(self, items: Sequence[Item], preprocess: Callable, size: tuple[int, int]):
        self.items = list(items)
        self.preprocess = preprocess
        self.size = size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        item = self.items[i]
        try:
            x = self.preprocess(open_image(item.path))[0]
            if tuple(x.shape[-2:]) != self.size:
                raise ValueError(f"preprocessing gave {tuple(x.shape)}")
            return x, item.label, ""
        except Exception as e:  # noqa: BLE001 -- any failure: counted and listed, never fatal
            msg = str(e).strip().splitlines()[0][:160] if str(e).strip() else ""
            return torch.zeros(3, *self.size), item.label, f"{type(e).__name__}: {msg}" if msg else type(e).__name__


def open_image(path: str):
    """A PIL image, fully decoded, refusing more than MAX_PIXELS before decoding."""
    import warnings

    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        img = Image.open(path)
        if img.width * img.height > MAX_PIXELS:
            raise ValueError(f"{img.width} × {img.height} pixels, more than {MAX_PIXELS:,}")
        img.load()
    return img


# --- the measurement ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    done: int          # items seen (readable or not)
    total: int
    correct1: int
    evaluated: int     # readable images so far
    unreadable: int
    seconds: float


@dataclass
class Result:
    """What one evaluation measured; ``to_dict`` is what the results file keeps."""

    model: str
    folder: str
    layout: str
    images: int                # readable images evaluated
    listed: int                # images in the folder (after --limit)
    correct1: int
    correct5: int
    unreadable: int
    unreadable_files: list[tuple[str, str]]
    confusions: list[tuple[int, int, int]]   # (true class, predicted class, count), most frequent first
    per_class: dict[int, tuple[int, int]]    # class -> (images, top-1 correct)
    seconds: float
    batch_rates: dict[str, float]            # images/s per batch: median, q1, q3
    batch: int
    workers: int
    threads: int
    device: str
    weights: str
    published_weights: bool
    stopped: bool
    machine: str
    load: tuple[float, float, float] | None
    torch_version: str = torch.__version__
    date: str = ""

    @property
    def top1(self) -> float | None:
        return self.correct1 / self.images if self.images else None

    @property
    def top5(self) -> float | None:
        return self.correct5 / self.images if self.images else None

    @property
    def images_per_s(self) -> float | None:
        return self.images / self.seconds if self.seconds > 0 and self.images else None

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(top1=self.top1, top5=self.top5, images_per_s=self.images_per_s,
                 top1_interval=list(wilson_interval(self.correct1, self.images)) if self.images else None)
        d["per_class"] = {str(k): list(v) for k, v in self.per_class.items()}
        return d


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k / n (Wilson 1927): honest for small n, where
    a top-1 measured on 20 images says little."""
    if n <= 0:
        raise ValueError("no trials")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _quartiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    if len(values) == 1:
        return {"median": values[0], "q1": values[0], "q3": values[0]}
    q1, med, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return {"median": med, "q1": q1, "q3": q3}


class Evaluation:
    """One pass of a model over a folder; ``run()`` yields Progress after every batch and can be
    abandoned at any point (``stop()``, Ctrl-C, a page rerun): ``result()`` then holds what was
    measured so far, marked ``stopped``."""

    def __init__(self, name: str, folder: str | Path, *, limit: int | None = None, batch: int = 32,
                 workers: int | None = None, model=None, preprocess=None, weights: str | None = None,
                 device: str | torch.device | None = None):
        if batch < 1:
            raise ValueError("batch must be at least 1")
        if model is None:
            ok, why = pretrained.weights_status(name)   # cheap: before scanning a large folder
            if not ok:
                raise pretrained.WeightsUnavailable(f"{name}: {why}")
        self.name = name
        self.folder = str(Path(folder).expanduser().resolve())
        self.layout, items = scan_folder(self.folder)
        self.items = spread_subset(items, limit)
        self.batch = batch
        self.workers = default_workers() if workers is None else max(0, int(workers))
        if model is None:
            model, preprocess, _ = pretrained.load_pretrained(name)
            path = pretrained.weights_file(name)
            weights = path.name if path else name
            published = (name in pretrained.PACKAGED) or (path is not None and path.name == pretrained.published_file(name))
        else:
            published = False
        self.device = torch.device(device) if device is not None else default_device()
        self.model = model.eval().to(self.device)
        self.preprocess = preprocess
        self.weights = weights or "given model"
        self.published = published
        probe = preprocess(_blank())
        self.size = tuple(int(s) for s in probe.shape[-2:])
        self._stop = threading.Event()
        self._reset()

    def _reset(self) -> None:
        self.done = self.correct1 = self.correct5 = self.evaluated = 0
        self.unreadable: list[tuple[str, str]] = []
        self.n_unreadable = 0
        self.confusions: Counter = Counter()
        self.class_total = torch.zeros(1000, dtype=torch.long)
        self.class_correct = torch.zeros(1000, dtype=torch.long)
        self.rates: list[float] = []
        self.seconds = 0.0
        self.finished = False

    def stop(self) -> None:
        self._stop.set()

    def loader(self) -> torch.utils.data.DataLoader:
        ds = ImageDataset(self.items, self.preprocess, self.size)
        kw = dict(prefetch_factor=2) if self.workers else {}
        return torch.utils.data.DataLoader(ds, batch_size=self.batch, shuffle=False, num_workers=self.workers,
                                           collate_fn=_collate, pin_memory=self.device.type == "cuda",
                                           worker_init_fn=_worker_init if self.workers else None, **kw)

    def run(self) -> Iterator[Progress]:
        self._reset()
        start = time.perf_counter()
        last = start
        loader = iter(self.loader())
        try:
            for first, (x, labels, errors) in enumerate(loader):
                if self._stop.is_set():
                    break
                ok = torch.tensor([not e for e in errors], dtype=torch.bool)
                base = self.done
                for j, e in enumerate(errors):
                    if e:
                        self.n_unreadable += 1
                        if len(self.unreadable) < MAX_LISTED:
                            self.unreadable.append((self.items[base + j].path, e))
                if ok.any():
                    with torch.inference_mode():
                        logits = self.model(x[ok].to(self.device, non_blocking=True)).float().cpu()
                    self._count(logits, labels[ok])
                self.done += len(errors)
                now = time.perf_counter()
                if first > 0 and now > last:
                    self.rates.append(int(ok.sum()) / (now - last))
                last = now
                self.seconds = now - start
                yield Progress(self.done, len(self.items), self.correct1, self.evaluated,
                               self.n_unreadable, self.seconds)
            else:
                self.finished = True
        finally:
            self.seconds = time.perf_counter() - start if not self.finished else self.seconds
            del loader  # shuts the worker processes down

    def _count(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        top5 = logits.topk(min(5, logits.shape[1]), dim=1).indices        # (B, 5)
        pred = top5[:, 0]
        hit1 = pred == labels
        self.correct1 += int(hit1.sum())
        self.correct5 += int((top5 == labels[:, None]).any(dim=1).sum())
        self.evaluated += len(labels)
        self.class_total += torch.bincount(labels, minlength=1000)[:1000]
        self.class_correct += torch.bincount(labels[hit1], minlength=1000)[:1000]
        for t, p in zip(labels[~hit1].tolist(), pred[~hit1].tolist()):
            self.confusions[(t, p)] += 1

    def result(self) -> Result:
        present = torch.nonzero(self.class_total).flatten().tolist()
        return Result(
            model=self.name, folder=self.folder, layout=self.layout, images=self.evaluated,
            listed=len(self.items), correct1=self.correct1, correct5=self.correct5,
            unreadable=self.n_unreadable, unreadable_files=list(self.unreadable),
            confusions=[(t, p, c) for (t, p), c in self.confusions.most_common(TOP_CONFUSIONS)],
            per_class={i: (int(self.class_total[i]), int(self.class_correct[i])) for i in present},
            seconds=self.seconds, batch_rates=_quartiles(self.rates), batch=self.batch,
            workers=self.workers, threads=torch.get_num_threads(), device=self.device.type, weights=self.weights,
            published_weights=self.published, stopped=not self.finished, machine=_machine(),
            load=_load(), date=time.strftime("%Y-%m-%d %H:%M"))


M_MMAP_THRESHOLD = -3   # glibc mallopt parameter


def _worker_init(_worker_id: int) -> None:
    """Keep a decoding worker's memory flat. glibc raises its mmap threshold each time a large
    block is freed, so the 0.6 MB image tensors soon come from the heap, which then grows by about
    one image per image (measured: 247 → 522 MB over 640 images, still growing). A fixed 128 kB
    threshold (which also turns the adjustment off) keeps the worker at ~200 MB
    (benchmarks/bench_evaluate.py). Not glibc (macOS, musl): nothing to do."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError):
        pass


def _collate(batch):
    xs, labels, errors = zip(*batch)
    return torch.stack(xs), torch.tensor(labels, dtype=torch.long), list(errors)


def _blank():
    from PIL import Image

    return Image.new("RGB", (320, 320))


def default_device() -> torch.device:
    """CUDA when torch sees an NVIDIA/AMD GPU, Apple's MPS on a Mac, the CPU otherwise."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def default_workers(cpus: int | None = None) -> int:
    """Decoding workers: one per core beyond the first, at most 4 (the model uses the cores too)."""
    cpus = cpus or os.cpu_count() or 1
    return max(1, min(4, cpus - 1))


def _machine() -> str:
    """This machine in words (``zoo.latency.Machine.label``): processor, threads, CPUs, load, torch."""
    from .latency import machine
    return machine().label()


def _load() -> tuple[float, float, float] | None:
    try:
        return tuple(round(v, 2) for v in os.getloadavg())
    except OSError:
        return None


def evaluate(name: str, folder: str | Path, *, limit: int | None = None, batch: int = 32,
             workers: int | None = None, progress: Callable[[Progress], None] | None = None) -> Result:
    """Run an Evaluation to the end (or until ``progress`` raises, e.g. KeyboardInterrupt, in
    which case the partial result is returned marked ``stopped``)."""
    ev = Evaluation(name, folder, limit=limit, batch=batch, workers=workers)
    try:
        for p in ev.run():
            if progress:
                progress(p)
    except KeyboardInterrupt:
        pass
    return ev.result()


# --- the results file -------------------------------------------------------------------------------

def results_path() -> Path:
    """``$CNN_ATLAS_RESULTS``, else ``~/.cache/cnn-atlas/evaluations.json``."""
    env = os.environ.get(RESULTS_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME", "") or Path.home() / ".cache")
    return base / "cnn-atlas" / "evaluations.json"


def load_results(path: Path | None = None) -> list[dict]:
    """Every saved result (newest last); an unreadable file counts as none."""
    path = path or results_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [r for r in data if isinstance(r, dict) and "model" in r and "images" in r] if isinstance(data, list) else []


def save_result(result: Result, path: Path | None = None) -> Path:
    """Keep ``result``: one entry per (model, folder, weights), the newest replacing the older."""
    path = path or results_path()
    rec = result.to_dict()
    rec.pop("per_class", None)  # up to 1000 entries: the page needs the totals only
    key = (rec["model"], rec["folder"], rec["weights"])
    rows = [r for r in load_results(path) if (r.get("model"), r.get("folder"), r.get("weights")) != key]
    rows.append(rec)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".evaluations-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(rows, f, indent=1)
    os.replace(tmp, path)
    return path


def best_results(rows: list[dict] | None = None) -> dict[str, dict]:
    """Per model, the saved result on the most images (newest on a tie): what the Pareto page plots."""
    out: dict[str, dict] = {}
    for r in rows if rows is not None else load_results():
        if not r.get("images"):
            continue
        cur = out.get(r["model"])
        if cur is None or r["images"] >= cur["images"]:
            out[r["model"]] = r
    return out


def _n(k: int, word: str) -> str:
    from . import fmt
    return f"{fmt.count(k)} {word}{'' if k == 1 else 's'}"


def describe(result: Result, names: Sequence[str] | None = None, listed: int = 10) -> list[str]:
    """The result as lines of text, for the CLI."""
    from . import fmt

    names = names or pretrained.class_names()
    lines = [f"{result.model} on {result.folder} ({result.layout}), weights {result.weights}"]
    if result.stopped:
        lines.append(f"stopped after {fmt.count(result.images + result.unreadable)} of {fmt.count(result.listed)} images")
    if result.images:
        lo, hi = wilson_interval(result.correct1, result.images)
        lines.append(f"top-1 {100 * result.top1:.2f} % ({fmt.count(result.correct1)} of {fmt.count(result.images)} "
                     f"images; 95 % interval {100 * lo:.1f}–{100 * hi:.1f} %)")
        lines.append(f"top-5 {100 * result.top5:.2f} % ({fmt.count(result.correct5)} of {fmt.count(result.images)})")
        r = result.batch_rates
        spread = f"; per batch median {r['median']:.1f}, IQR {r['q1']:.1f}–{r['q3']:.1f}" if r else ""
        load = f", load {result.load[0]:.2f}" if result.load else ""
        where = f"{_n(result.threads, 'thread')}" if result.device == "cpu" else result.device.upper()
        lines.append(f"{result.images_per_s:.1f} images/s over {result.seconds:.1f} s{spread} (batch {result.batch}, "
                     f"{_n(result.workers, 'decoding worker')}, {where}{load}; {result.machine})")
    else:
        lines.append("no image could be evaluated")
    if result.unreadable:
        lines.append(f"{_n(result.unreadable, 'unreadable image')} (not counted):")
        lines += [f"  {p}: {e}" for p, e in result.unreadable_files[:listed]]
        if result.unreadable > listed:
            lines.append(f"  … and {fmt.count(result.unreadable - min(listed, len(result.unreadable_files)))} more")
    if result.confusions:
        lines.append("most frequent confusions (true → predicted: images):")
        lines += [f"  {names[t]} → {names[p]}: {fmt.count(c)}" for t, p, c in result.confusions[:listed]]
    return lines


def published_top1(name: str) -> float | None:
    """The top-1 (%) quoted for ``name``'s weights, from the registry's figures."""
    figs = info(name).figures
    for key in ("top1", "top1_paper"):
        if key in figs:
            return float(figs[key].value)
    return None
