"""A lecture hall at once: N browser sessions opening the dashboard, and what they cost the server.

    python benchmarks/bench_hall.py                         # N = 20, then N = 50 (a fresh server each)
    python benchmarks/bench_hall.py --sessions 50 --concurrency 6
    python benchmarks/bench_hall.py --sessions 20 --profile # py-spy on the server: where a session's CPU goes
    python benchmarks/bench_hall.py --replicas 2            # through deploy/hall.py: 2 replicas behind nginx

For each N:

1. **Server.** A fresh ``streamlit run serve.py`` (the README's command: app.py with Streamlit's
   front end served from memory, ``ui.static_assets``; ``--entry app.py``: Streamlit's plain
   server, for comparison) on a free loopback port (``--replicas K > 1``: K replicas behind nginx,
   deploy/hall.py). Loopback only; nothing else is contacted.
2. **Primed as a lecturer would.** One session opens the timeline ``/`` and reloads it until the
   sidebar says "All analyses ready; …" (the background warm-up, ``ui.state.start_warm_up``), then
   closes; the server is left until its CPU is idle (< 5 % of a core over 2 s). With
   ``--no-warm-up`` (``CNN_ATLAS_WARM_UP=0``) the priming session only waits for its page.
3. **N sessions**, each a new Chromium browser context (its own cookies and cold HTTP cache, as
   a student's browser), at most ``--concurrency`` loading at once (the others wait: the hall
   arrives in waves, so two cores are not swamped by the browser), in a fixed mix of page kinds
   (``--mix``; default per 10 sessions: 2 timeline ``/``, 2 explorer ``/explorer?model=…``
   cycling through models, 2 Pareto ``/pareto``, 1 lesson ``/conv_cost``, 3 classify
   ``/classify?source=Sample+photo&sample=…`` cycling through the sample photos, the default
   model EfficientNet-Lite0 with Grad-CAM). A rendered session stays open (connected, idle)
   until all N are done. Bounded: N ≤ 400, ``--page-timeout`` per session, ``--deadline`` for
   the whole opening phase (sessions not started by then are reported as not opened).
4. **Fully rendered**, the time measured per session: from just before ``page.goto`` until,
   polled every 100 ms in the page, all of

   - the script run is finished: ``[data-testid=stApp]`` has ``data-test-script-state`` =
     ``notRunning`` and there is no ``[data-testid=stStatusWidget]`` ("Running…");
   - the page's main element is visible: timeline and Pareto: a drawn chart of non-zero height
     (Vega-Lite: ``.vega-embed`` holding its canvas; plotly: ``.js-plotly-plot`` with a trace); explorer: the
     "MACs" metric with a value; lesson: the "Regular k×k" metric with a value; classify: the
     top-1 heading ("espresso · 95.7 %") and the top-5 bars (``.atlas-top5``; the sample note of
     a photo the classifier cannot do, an error box by design, is the page's content, not a
     failure);
   - every ``st.image`` on the page is decoded (``img.complete && naturalWidth > 0``).

   Beside the time, what the page fetched (the Resource Timing API): requests, and MB on the wire.

   A **failure** is a session that shows an exception or an error box
   (``stException``, ``stAlertContentError``), loses its connection
   (``data-test-connection-state`` = ``DISCONNECTED_FOREVER``) or is not rendered within
   ``--page-timeout``.
5. **Server cost**, read from ``/proc/<pid>/stat`` (utime + stime of the server process, its
   threads and live children, + cutime + cstime of reaped ones; ÷ CLK_TCK) and
   ``/proc/<pid>/status`` (VmRSS summed over the process tree; with ``--replicas``, over every
   replica, nginx not counted): before the N sessions, once all are rendered, after 10 s with
   all N open and idle, and 5 s after they closed. CPU-seconds per new session = CPU from
   "before" to "rendered" ÷ sessions opened; memory growth per idle session = (RSS idle − RSS
   before) ÷ sessions opened. Streamlit keeps a closed session's state up to
   ``server.disconnectedSessionTTL`` (120 s), so "closed" is not yet the floor. With
   ``--concurrency 1`` the server CPU while each session loaded, alone, is reported per kind.
   Beside it, the whole machine's CPU (``/proc/stat``) from "before" to "rendered", per
   session: the browser's share is most of it, and the fully-rendered times follow it.

Times are wall-clock on this machine with the browser on the same cores: pessimistic on a busy
machine, so the 1-min load average is recorded before and after. p95 is the nearest-rank
percentile (with 4 sessions of a kind, the largest). Prints one table per N and writes
``benchmarks/results/bench_hall.json`` (git-ignored); ``--profile`` also writes py-spy's raw
stacks there and prints the top functions (own time, and inclusive time of the dashboard's own
code) of the server while the N sessions open.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

from deploy import hall as H  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEW = {"width": 1400, "height": 1000}
MAX_SESSIONS = 400
TICK = os.sysconf("SC_CLK_TCK")

EXPLORER_MODELS = ["resnet50", "efficientnet_b0", "mobilenet_v2", "vgg16", "inception_v3", "shufflenet_v2_x1_0",
                   "efficientnet_b4", "resnetrs101", "alexnet", "mobilenet_v3_large"]
SAMPLES = ["coffee", "chelsea", "astronaut"]
# kind -> (URL paths the sessions of that kind cycle through, what "main element" means)
KINDS = {
    "timeline": (["/"], {"plot": True}),
    "explorer": ([f"/explorer?model={m}" for m in EXPLORER_MODELS], {"metric": "MACs"}),
    "pareto": (["/pareto"], {"plot": True}),
    "lesson": (["/conv_cost"], {"metric": "Regular k×k"}),
    "classify": ([f"/classify?source=Sample+photo&sample={s}" for s in SAMPLES],
                 {"top1": True, "top5": True, "allow": ["the classifier cannot do this one"]}),
}
DEFAULT_MIX = "timeline=2,explorer=2,pareto=2,lesson=1,classify=3"

# Evaluated in the page every 100 ms; returns "ok", "error: …" or null (not yet).
READY_JS = """(want) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return null;
  if (app.getAttribute('data-test-connection-state') === 'DISCONNECTED_FOREVER') return 'error: connection lost';
  const bad = [...document.querySelectorAll('[data-testid="stException"], [data-testid="stAlertContentError"]')]
    .find(b => !(want.allow || []).some(text => b.innerText.includes(text)));
  if (bad) return 'error: ' + bad.innerText.trim().slice(0, 160);
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return null;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return null;
  if (want.plot && ![...document.querySelectorAll('.js-plotly-plot, .vega-embed')].some(
        p => p.querySelector('.cartesianlayer .trace, canvas, svg.marks') && p.getBoundingClientRect().height > 0)) return null;
  if (want.metric && ![...document.querySelectorAll('[data-testid="stMetric"]')].some(m => {
        const l = m.querySelector('[data-testid="stMetricLabel"]'), v = m.querySelector('[data-testid="stMetricValue"]');
        return l && v && l.innerText.includes(want.metric) && v.innerText.trim().length > 0;
      })) return null;
  if (want.top5 && !document.querySelector('.atlas-top5 li')) return null;
  if (want.top1 && ![...document.querySelectorAll('[data-testid="stMain"] h3')].some(h => /· [\d.]+\s%$/.test(h.innerText.trim())))
    return null;
  if (![...document.querySelectorAll('[data-testid="stImage"] img')].every(i => i.complete && i.naturalWidth > 0))
    return null;
  return 'ok';
}"""


# --- the server's process tree, from /proc ------------------------------------------------------

def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()     # fields from 3 (state) on; comm may hold spaces


def tree(roots: list[int]) -> list[int]:
    """``roots`` and all their live descendants."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                children.setdefault(int(_stat(int(d.name))[1]), []).append(int(d.name))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def snapshot(roots: list[int]) -> dict:
    """CPU-seconds (user + system, threads and children included) and resident MB of the tree."""
    cpu, rss = 0.0, 0.0
    for pid in tree(roots):
        try:
            f = _stat(pid)                                   # f[11..14] = utime stime cutime cstime
            cpu += sum(int(x) for x in f[11:15]) / TICK
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
        except (OSError, ValueError):
            pass                                             # exited meanwhile
    return {"t": time.monotonic(), "cpu_s": round(cpu, 2), "rss_mb": round(rss, 1),
            "load_1min": round(os.getloadavg()[0], 2), **machine_cpu()}


def machine_cpu() -> dict:
    """The whole machine's busy and idle CPU-seconds since boot (``/proc/stat``: user, nice,
    system, irq, softirq, steal; idle, iowait): the browser, the server and everything else."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = f
    return {"machine_busy_s": round((user + nice + system + irq + softirq + steal) / TICK, 2),
            "machine_idle_s": round((idle + iowait) / TICK, 2), "machine_steal_s": round(steal / TICK, 2)}


def wait_idle(roots: list[int], limit: float = 60, window: float = 2.0, cores: float = 0.05) -> float:
    """Wait (at most ``limit`` s) until the server uses under ``cores`` of a core over ``window``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        a = snapshot(roots)
        time.sleep(window)
        if (snapshot(roots)["cpu_s"] - a["cpu_s"]) / window < cores:
            break
    return time.monotonic() - t0


# --- the mix of sessions ---------------------------------------------------------------------------

def parse_mix(text: str) -> dict[str, int]:
    mix = {}
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        if kind.strip() not in KINDS or not weight.strip().isdigit():
            raise SystemExit(f"--mix: {part!r} is not KIND=WEIGHT with KIND in {', '.join(KINDS)}")
        mix[kind.strip()] = int(weight)
    if not sum(mix.values()):
        raise SystemExit("--mix: all weights are 0")
    return mix


def plan(n: int, mix: dict[str, int]) -> list[tuple[str, str]]:
    """``n`` (kind, path) pairs: kinds interleaved in proportion to ``mix``, each kind cycling
    through its paths (explorer models, sample photos)."""
    cycle = sorted(((i + 0.5) / w, kind) for kind, w in mix.items() for i in range(w))
    kinds = [cycle[i % len(cycle)][1] for i in range(n)]
    seen: Counter = Counter()
    out = []
    for kind in kinds:
        paths = KINDS[kind][0]
        out.append((kind, paths[seen[kind] % len(paths)]))
        seen[kind] += 1
    return out


def nearest_rank(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


# --- the browser side ------------------------------------------------------------------------------

@dataclass
class Session:
    kind: str
    path: str
    outcome: str = "not opened"
    seconds: float | None = None
    cpu_s: float | None = None           # server CPU while this session loaded (alone only if concurrency 1)
    requests: int | None = None          # HTTP requests the page made, by the Resource Timing API
    mb: float | None = None              # bytes those transferred (headers and bodies), MB
    ctx: object = field(default=None, repr=False)


# The page's own request and every resource it fetched: count and bytes on the wire, MB.
TRANSFER_JS = """() => { const all = [...performance.getEntriesByType('navigation'),
                                      ...performance.getEntriesByType('resource')];
  return [all.length, Math.round(all.reduce((a, e) => a + e.transferSize, 0) / 1e4) / 100]; }"""


async def open_session(browser, base: str, s: Session, sem: asyncio.Semaphore, roots: list[int],
                       page_timeout: float, deadline: float) -> None:
    async with sem:
        if time.monotonic() > deadline:
            return
        from playwright.async_api import TimeoutError as PwTimeout

        s.ctx = await browser.new_context(viewport=VIEW)
        page = await s.ctx.new_page()
        cpu0 = snapshot(roots)["cpu_s"]
        t0 = time.perf_counter()
        try:
            await page.goto(base + s.path, wait_until="commit", timeout=page_timeout * 1000)
            left = max(1.0, page_timeout - (time.perf_counter() - t0))
            handle = await page.wait_for_function(READY_JS, arg=KINDS[s.kind][1], timeout=left * 1000, polling=100)
            s.outcome = await handle.json_value()
        except PwTimeout:
            s.outcome = f"timeout after {page_timeout:.0f} s"
        except Exception as e:  # noqa: BLE001 -- a crashed page is a failed session, the run goes on
            s.outcome = f"error: {type(e).__name__}: {e}"[:200]
        s.seconds = round(time.perf_counter() - t0, 3)
        s.cpu_s = round(snapshot(roots)["cpu_s"] - cpu0, 2)
        if s.outcome == "ok":
            try:
                s.requests, s.mb = await page.evaluate(TRANSFER_JS)
            except Exception:  # noqa: BLE001 -- a figure beside the timing; the session stays rendered
                pass


async def prime(browser, urls: list[str], warm_up: bool, timeout: float, also: list[tuple[str, str]]) -> float:
    """One session per replica on ``/``: until the warm-up is done (or the page drawn); then one
    session of each (kind, path) in ``also``, one after the other (``--prime-kinds``)."""
    t0 = time.monotonic()
    for url in urls:
        ctx = await browser.new_context(viewport=VIEW)
        page = await ctx.new_page()
        await page.goto(url + "/")
        while True:
            await page.wait_for_function(READY_JS, arg=KINDS["timeline"][1], timeout=timeout * 1000, polling=250)
            text = await page.evaluate("() => document.body.textContent")
            if not warm_up or "analyses ready" in text:
                break
            if time.monotonic() - t0 > timeout:
                raise RuntimeError(f"the warm-up did not finish within {timeout:.0f} s")
            await asyncio.sleep(5)
            await page.reload()
        await ctx.close()
        for kind, path in also:
            ctx = await browser.new_context(viewport=VIEW)
            page = await ctx.new_page()
            await page.goto(url + path)
            await page.wait_for_function(READY_JS, arg=KINDS[kind][1], timeout=timeout * 1000, polling=250)
            await ctx.close()
    return time.monotonic() - t0


# --- py-spy ------------------------------------------------------------------------------------------

PYSPY_RATE = 100


def start_profiler(pids: list[int], out_dir: Path, tag: str, gil: bool = False) -> list[tuple[subprocess.Popen, Path]]:
    """py-spy on each server process. ``gil``: only the thread holding the GIL is sampled, so a
    thread waiting for the GIL (or for a core) is not counted as busy: Python's own CPU work."""
    exe = Path(sys.executable).with_name("py-spy")
    if not exe.exists():
        raise SystemExit("--profile needs py-spy: pip install -r requirements-dev.txt")
    procs = []
    for pid in pids:
        raw = out_dir / f"bench_hall-profile-{tag}-{pid}.txt"
        cmd = [str(exe), "record", "--pid", str(pid), "--rate", str(PYSPY_RATE), "--format", "raw", "--nolineno",
               "--nonblocking", "--output", str(raw)] + (["--gil"] if gil else [])
        procs.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), raw))
    time.sleep(1.0)
    for p, _ in procs:
        if p.poll() is not None:
            raise SystemExit(f"py-spy could not attach: {p.stderr.read().decode().strip()}")
    return procs


def stop_profiler(procs) -> list[Path]:
    for p, _ in procs:
        p.send_signal(signal.SIGINT)
    for p, _ in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
    return [raw for _, raw in procs if raw.exists()]


# Innermost frames that are a thread waiting, not working: py-spy's idle detection misses some of
# them (with --nonblocking, and on a loaded machine), so their samples are dropped. The polling
# watcher's task is a time.sleep (Streamlit watches config.toml by polling whatever
# server.fileWatcherType says); _worker is an executor thread blocked in SimpleQueue.get.
IDLE_LEAVES = {"Condition.wait", "Event.wait", "EpollSelector.select", "Thread.join", "_worker",
               "PollingPathWatcher._schedule.<locals>.task", "Queue.get", "Condition._acquire_restore"}
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*)\)$")


def _ours(path: str) -> str | None:
    """The dashboard's own file (app.py, pages/, ui/, zoo/) as a repo-relative path, else None.

    py-spy names a file relative to its sys.path entry (``zoo/efficientnet.py``, ``app.py``) and a
    page script, which is not on sys.path, by its base name (``classify.py``)."""
    p = path.replace(str(ROOT) + "/", "")
    if "/" not in p and (ROOT / "pages" / p).exists():
        return f"pages/{p}"
    return p if p == "app.py" or p.split("/")[0] in ("pages", "ui", "zoo") else None


def _where(path: str) -> str:
    """A frame's package: ``CNN Atlas: ui``, ``streamlit``, ``torch``, ``asyncio``, ``threading``…"""
    mine = _ours(path)
    if mine:
        return "CNN Atlas: " + mine.split("/")[0].removesuffix(".py")
    m = re.search(r"(?:site|dist)-packages/([^/]+)", path)
    name = m.group(1) if m else path.lstrip("<").split("/")[0]
    return name.removesuffix(".py").removesuffix(">")


def summarize_profile(raws: list[Path], top: int = 20) -> dict:
    """Own time per function, inclusive time of the dashboard's own functions, own time per package."""
    own: Counter = Counter()
    incl: Counter = Counter()
    pkg: Counter = Counter()
    total = script = 0
    for raw in raws:
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            frames = [f for f in stack.split(";") if f]
            parsed = [(m.group("func"), m.group("file")) for f in frames if (m := FRAME.match(f))]
            if not parsed or parsed[-1][0] in IDLE_LEAVES:
                continue
            total += n
            script += n if any(fn == "ScriptRunner._run_script" for fn, _ in parsed) else 0
            func, file = parsed[-1]
            own[f"{func} ({_where(file)}: {Path(file).name})"] += n
            pkg[_where(file)] += n
            for key in {f"{fn} ({_ours(fl)})" for fn, fl in parsed if _ours(fl)}:
                incl[key] += n
    to_s = lambda c: round(c / PYSPY_RATE, 2)  # noqa: E731
    return {"rate_hz": PYSPY_RATE, "samples": total, "cpu_s_sampled": to_s(total), "script_runs_s": to_s(script),
            "own_by_package": [(k, to_s(v)) for k, v in pkg.most_common(top)],
            "own_by_function": [(k, to_s(v)) for k, v in own.most_common(top)],
            "inclusive_by_page": [(k.removeprefix("<module> (").removesuffix(")"), to_s(v))
                                  for k, v in incl.most_common() if k.startswith("<module> (pages/")],
            "inclusive_atlas_functions": [(k, to_s(v)) for k, v in incl.most_common(top)]}


def print_profile(p: dict) -> None:
    """Sampled seconds are wall time of threads py-spy found busy (running, or runnable and
    waiting for a core or the GIL): on a loaded machine more than the CPU-seconds from /proc, so
    read the shares; torch's own worker threads are counted in the Python frame that called."""
    total = max(1, p["samples"])
    print(f"\npy-spy, {p['rate_hz']} Hz, {p['samples']} busy samples ({p['cpu_s_sampled']} s of busy threads, "
          "wall time) while the sessions opened")
    print(f"  in script runs (ScriptRunner._run_script): {p['script_runs_s']} s "
          f"({100 * p['script_runs_s'] * p['rate_hz'] / total:.1f} %); the rest is the server's event loop "
          "(HTTP, static files, websocket), its worker threads and the warm-up")
    for title, key in (("inclusive time by page script", "inclusive_by_page"),
                       ("own time by package", "own_by_package"), ("own time by function", "own_by_function"),
                       ("inclusive time, CNN Atlas functions", "inclusive_atlas_functions")):
        print(f"  {title}:")
        for name, s in p[key]:
            print(f"    {s:8.2f} s {100 * s * p['rate_hz'] / total:5.1f} %  {name}")


# --- one run -----------------------------------------------------------------------------------------

class Server:
    """One ``streamlit run app.py`` (replicas = 1) or deploy/hall.py's replicas behind nginx."""

    def __init__(self, replicas: int, env: dict, entry: str = "serve.py"):
        self.hall = H.Hall(replicas=replicas, env=env, proxy=replicas > 1, timeout=180, entry=entry)

    def __enter__(self):
        self.hall.__enter__()
        return self

    def __exit__(self, *exc):
        self.hall.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.hall.url if self.hall.proxy else self.hall.members[0].url

    @property
    def replica_urls(self) -> list[str]:
        return [r.url for r in self.hall.members]

    @property
    def pids(self) -> list[int]:
        return self.hall.pids()

    def proxy_log(self) -> dict | None:
        """With nginx: responses per status and replica, and nginx's errors (not its warnings)."""
        if not self.hall.proxy:
            return None
        rows = self.hall.requests()
        errors = [line for line in (self.hall.run_dir / "error.log").read_text().splitlines()
                  if "[warn]" not in line and "[notice]" not in line]
        # Streamlit's front end looks for its base path by trying <page>/_stcore/health and
        # host-config before /_stcore/…: those 404s happen without nginx too.
        probe = re.compile(r"^GET /.+/_stcore/(health|host-config)$")
        failed = [r for r in rows if r["status"] >= 400 and not (r["status"] == 404 and probe.match(r["request"]))]
        return {"status": dict(Counter(r["status"] for r in rows)),
                "replica": dict(Counter(r["replica"] for r in rows)),
                "failed_requests": failed[:20], "errors": errors[:20]}


async def run_once(n: int, args, mix: dict[str, int]) -> dict:
    from playwright.async_api import async_playwright

    env = {} if args.warm_up else {"CNN_ATLAS_WARM_UP": "0"}
    sessions = [Session(kind, path) for kind, path in plan(n, mix)]
    load_start = os.getloadavg()
    t_start = time.monotonic()
    with Server(args.replicas, env, args.entry) as server:
        pids = server.pids
        t_health = time.monotonic() - t_start
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            also = [(kind, KINDS[kind][0][0]) for kind in mix if mix[kind]] if args.prime_kinds else []
            t_prime = await prime(browser, server.replica_urls, args.warm_up, args.prime_timeout, also)
            t_quiet = wait_idle(pids)
            before = snapshot(pids)
            profiler = start_profiler(pids, RESULTS, f"n{n}", args.profile_gil) if args.profile else None
            if profiler:
                before = snapshot(pids)
            sem = asyncio.Semaphore(args.concurrency)
            deadline = time.monotonic() + args.deadline
            t0 = time.monotonic()
            await asyncio.gather(*(open_session(browser, server.url, s, sem, pids, args.page_timeout, deadline)
                                   for s in sessions))
            wall = time.monotonic() - t0
            rendered = snapshot(pids)
            profile = summarize_profile(stop_profiler(profiler)) if profiler else None
            await asyncio.sleep(10)
            idle = snapshot(pids)
            for s in sessions:
                if s.ctx is not None:
                    await s.ctx.close()
            await asyncio.sleep(5)
            closed = snapshot(pids)
            await browser.close()
        proxy = server.proxy_log()
    r = report(n, args, mix, sessions, before, rendered, idle, closed, wall, load_start,
               {"server_start_s": round(t_health, 1), "prime_s": round(t_prime, 1), "quiet_s": round(t_quiet, 1)},
               profile)
    r["proxy"] = proxy
    return r


def report(n, args, mix, sessions, before, rendered, idle, closed, wall, load_start, setup, profile) -> dict:
    opened = [s for s in sessions if s.seconds is not None]
    kinds = {}
    for kind in list(mix) + ["all"]:
        mine = [s for s in opened if kind in ("all", s.kind)]
        if not mine:
            continue
        ok = [s.seconds for s in mine if s.outcome == "ok"]
        row = {"sessions": len(mine), "rendered": len(ok), "failures": len(mine) - len(ok),
               "median_s": round(statistics.median(ok), 2) if ok else None,
               "p95_s": round(nearest_rank(ok, 0.95), 2) if ok else None,
               "max_s": round(max(ok), 2) if ok else None}
        sent = [s for s in mine if s.mb is not None]
        if sent:
            row["requests_median"] = statistics.median(s.requests for s in sent)
            row["mb_median"] = round(statistics.median(s.mb for s in sent), 2)
        if args.concurrency == 1:
            row["cpu_s_per_session"] = round(statistics.mean(s.cpu_s for s in mine), 2)
        kinds[kind] = row
    k = max(1, len(opened))
    return {
        "sessions": n, "opened": len(opened), "not_opened": n - len(opened), "concurrency": args.concurrency,
        "replicas": args.replicas, "entry": args.entry, "warm_up": args.warm_up, "primed_kinds": args.prime_kinds, "mix": mix, "wall_s": round(wall, 1),
        "load_1min": {"start": round(load_start[0], 2), "before": before["load_1min"], "end": closed["load_1min"]},
        "setup": setup,
        "server": {"before": before, "rendered": rendered, "idle_10s": idle, "closed_5s": closed,
                   "cpu_s_per_new_session": round((rendered["cpu_s"] - before["cpu_s"]) / k, 3),
                   "cpu_s_idle_10s": round(idle["cpu_s"] - rendered["cpu_s"], 2),
                   "machine_cpu_s_per_new_session": round((rendered["machine_busy_s"] - before["machine_busy_s"]) / k, 2),
                   "machine_idle_s_while_opening": round(rendered["machine_idle_s"] - before["machine_idle_s"], 1),
                   "machine_steal_s_while_opening": round(rendered["machine_steal_s"] - before["machine_steal_s"], 1),
                   "rss_mb_growth_per_idle_session": round((idle["rss_mb"] - before["rss_mb"]) / k, 2)},
        "kinds": kinds,
        "failures": [{"kind": s.kind, "path": s.path, "outcome": s.outcome} for s in opened if s.outcome != "ok"],
        "per_session": [{"kind": s.kind, "path": s.path, "outcome": s.outcome, "seconds": s.seconds,
                         "server_cpu_s_during": s.cpu_s, "requests": s.requests, "mb": s.mb} for s in sessions],
        "profile": profile,
    }


def print_run(r: dict) -> None:
    srv = r["server"]
    print(f"\nN = {r['sessions']} sessions ({r['opened']} opened), concurrency {r['concurrency']}, "
          f"{r['replicas']} replica(s) of {r['entry']}, {r['wall_s']} s; load (1 min) {r['load_1min']['before']} before → "
          f"{r['load_1min']['end']} after; {os.cpu_count()} cores")
    per_kind_cpu = r["concurrency"] == 1
    head = f"  {'page':<10}{'n':>4}{'ok':>5}{'fail':>6}{'median s':>10}{'p95 s':>8}{'max s':>8}{'requests':>10}{'MB':>7}"
    print(head + ("  CPU-s each" if per_kind_cpu else ""))
    for kind, row in r["kinds"].items():
        f = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
        line = (f"  {kind:<10}{row['sessions']:>4}{row['rendered']:>5}{row['failures']:>6}{f(row['median_s']):>10}"
                f"{f(row['p95_s']):>8}{f(row['max_s']):>8}{row.get('requests_median', '—'):>10}"
                f"{f(row.get('mb_median')):>7}")
        print(line + (f"  {row['cpu_s_per_session']:.2f}" if per_kind_cpu else ""))
    b, re_, i, c = srv["before"], srv["rendered"], srv["idle_10s"], srv["closed_5s"]
    print(f"  server CPU: {b['cpu_s']} s before → {re_['cpu_s']} s rendered: "
          f"{srv['cpu_s_per_new_session']:.3f} CPU-s per new session; {srv['cpu_s_idle_10s']} s in 10 s idle")
    print(f"  machine CPU while opening (browser, server and all): {srv['machine_cpu_s_per_new_session']:.2f} "
          f"CPU-s per new session; {srv['machine_idle_s_while_opening']} s idle, "
          f"{srv['machine_steal_s_while_opening']} s stolen by the host")
    print(f"  server RSS: {b['rss_mb']} MB before → {re_['rss_mb']} rendered → {i['rss_mb']} with all idle "
          f"({srv['rss_mb_growth_per_idle_session']:+.2f} MB per idle session) → {c['rss_mb']} 5 s after closing")
    for f_ in r["failures"][:10]:
        print(f"  FAILED {f_['kind']} {f_['path']}: {f_['outcome']}")
    if r.get("proxy"):
        px = r["proxy"]
        print(f"  nginx: responses by status {px['status']}, by replica {px['replica']}")
        for line in px["errors"][:5] + [str(x) for x in px["failed_requests"][:5]]:
            print(f"    {line[:220]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, nargs="+", default=[20, 50], help="N per run (default 20 50)")
    ap.add_argument("--concurrency", type=int, default=4, help="sessions loading at once (default 4)")
    ap.add_argument("--mix", default=DEFAULT_MIX, help=f"page kinds and weights (default {DEFAULT_MIX})")
    ap.add_argument("--replicas", type=int, default=1, help="K > 1: K replicas behind nginx (deploy/hall.py)")
    ap.add_argument("--entry", default="serve.py", choices=["serve.py", "app.py"],
                    help="what the server runs: serve.py (the README's command; Streamlit's front end from "
                         "memory, gzipped) or app.py (Streamlit's plain server, for comparison)")
    ap.add_argument("--no-warm-up", dest="warm_up", action="store_false", help="CNN_ATLAS_WARM_UP=0")
    ap.add_argument("--prime-kinds", action="store_true",
                    help="also prime with one session of each kind: the cost of a session whose pages "
                         "others have viewed before")
    ap.add_argument("--page-timeout", type=float, default=120, help="seconds per session (default 120)")
    ap.add_argument("--deadline", type=float, default=900, help="seconds for opening all N (default 900)")
    ap.add_argument("--prime-timeout", type=float, default=900, help="seconds for the warm-up (default 900)")
    ap.add_argument("--profile", action="store_true", help="py-spy on the server while the sessions open")
    ap.add_argument("--profile-gil", action="store_true",
                    help="with --profile: sample only the thread holding the GIL (py-spy --gil): Python's CPU work, "
                         "without the threads that wait for the GIL or a core")
    ap.add_argument("--out", type=Path, default=RESULTS / "bench_hall.json")
    args = ap.parse_args(argv)
    if any(not 1 <= n <= MAX_SESSIONS for n in args.sessions):
        ap.error(f"--sessions: between 1 and {MAX_SESSIONS}")
    if not 1 <= args.concurrency <= 32 or args.replicas < 1:
        ap.error("--concurrency 1…32, --replicas ≥ 1")
    if not Path(CHROMIUM).exists():
        ap.error(f"{CHROMIUM} is missing (apt-get install chromium)")
    mix = parse_mix(args.mix)
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in args.sessions:
        r = asyncio.run(run_once(n, args, mix))
        print_run(r)
        if r["profile"]:
            print_profile(r["profile"])
        runs.append(r)
    from importlib.metadata import version

    import streamlit

    args.out.write_text(json.dumps({
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "streamlit": streamlit.__version__, "playwright": version("playwright")},
        "runs": runs}, indent=2, default=str))
    print(f"\nwrote {args.out}")
    return 0 if all(not r["failures"] and not r["not_opened"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
