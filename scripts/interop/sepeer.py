#!/usr/bin/env python3
"""SyncEvolution as a third-party SyncML peer for simsync, on loopback.

Two roles (Debian 12's ``syncevolution`` 2.0.0 with the Synthesis engine; packages in
:data:`APT_PACKAGES`, installed by ``scripts/interop/setup.sh``):

* :class:`PeerServer` -- SyncEvolution as a SyncML *server*: a private D-Bus session bus
  (``dbus-daemon`` started here, by PID), ``syncevo-dbus-server`` on it, and a loopback-only
  copy of ``syncevo-http-server`` under the system Python. Stores ``addressbook`` and
  ``calendar`` are directories with one item per file. The server picks its configuration by the
  client's device id only, so every client device id is configured up front.
* :class:`SeClient` -- SyncEvolution as a SyncML *client* (``syncevolution --daemon=no``) over
  HTTP, syncing a directory of vCard or iCalendar files with any server URL. Debian's build
  crashes in its first HTTP POST (libcurl read/write callbacks left unset);
  ``se_curlfix.c`` is preloaded to fix that and is built with gcc on first use.

Every process runs in its own process group with ``HOME``/``XDG_*`` pointed into the instance's
state directory, and is stopped by its PID (process group) with TERM, then KILL.

Command line (for manual runs; the tests import this module)::

    sepeer.py server PORT DATADIR [--user U --password P --device-ids a,b]
    sepeer.py client URL MODE DIR [--kind contacts|calendar] [--user U --password P]
              [--device-id D] [--encoding wbxml|xml] [--auth md5|basic] [--state DIR]
"""

from __future__ import annotations

import argparse
import configparser
import dataclasses
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

HERE = Path(__file__).resolve().parent
CURLFIX_SRC = HERE / "se_curlfix.c"
SYSTEM_PYTHON = "/usr/bin/python3"          # has dbus, gi, twisted (a pyenv python has not)
DBUS_SERVER = "/usr/libexec/syncevo-dbus-server"
HTTP_SERVER = "/usr/bin/syncevo-http-server"

#: what the harness needs from Debian 12 (setup.sh installs exactly these)
APT_PACKAGES = (
    "syncevolution", "syncevolution-http", "syncevolution-dbus",
    "python3-twisted", "python3-dbus", "python3-gi", "python3-openssl",
    "dbus", "gcc", "libc6-dev",
)

#: SyncEvolution's names for the six OMA DS sync modes
SE_MODES = {
    "two-way": "two-way", "slow": "slow",
    "refresh-from-client": "refresh-from-local", "refresh-from-server": "refresh-from-remote",
    "one-way-from-client": "one-way-from-local", "one-way-from-server": "one-way-from-remote",
}
KINDS = {"contacts": ("addressbook", "text/vcard"), "calendar": ("calendar", "text/calendar")}


class PeerError(RuntimeError):
    """A SyncEvolution component is missing or did not behave."""


# ------------------------------------------------------------------ helpers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, deadline_s: float, proc: subprocess.Popen | None = None) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise PeerError(f"process {proc.pid} exited ({proc.returncode}) before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise PeerError(f"nothing listens on 127.0.0.1:{port} after {deadline_s} s")


def isolated_env(home: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment whose HOME and XDG dirs are under ``home`` and that reaches no desktop
    session bus, keyring or display."""
    env = dict(os.environ if base is None else base)
    for k in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY", "LD_PRELOAD"):
        env.pop(k, None)
    dirs = {"HOME": home, "XDG_CONFIG_HOME": home / "config", "XDG_CACHE_HOME": home / "cache",
            "XDG_DATA_HOME": home / "data"}
    for k, d in dirs.items():
        d.mkdir(parents=True, exist_ok=True)
        env[k] = str(d)
    return env


def check_installed() -> None:
    """Raise :class:`PeerError` naming what is missing (the tests fail on it, never skip)."""
    missing = [p for p in ("syncevolution", "dbus-daemon", "gcc") if shutil.which(p) is None]
    missing += [p for p in (DBUS_SERVER, HTTP_SERVER, SYSTEM_PYTHON) if not os.path.exists(p)]
    if not missing and subprocess.run(
            [SYSTEM_PYTHON, "-c", "import dbus, gi, twisted.web"],
            capture_output=True, timeout=60, check=False).returncode != 0:
        missing.append("python3-dbus/python3-gi/python3-twisted for /usr/bin/python3")
    if missing:
        raise PeerError("SyncEvolution peer not installed (run scripts/interop/setup.sh): "
                        + ", ".join(missing))


def build_curlfix(out_dir: Path) -> Path:
    """Compile the LD_PRELOAD fix into ``out_dir`` (once per source version)."""
    tag = hashlib.sha256(CURLFIX_SRC.read_bytes()).hexdigest()[:12]
    so = out_dir / f"se_curlfix-{tag}.so"
    if not so.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = so.with_suffix(f".{os.getpid()}.tmp")
        r = subprocess.run(["gcc", "-O2", "-Wall", "-shared", "-fPIC", "-o", str(tmp),
                            str(CURLFIX_SRC), "-ldl"], capture_output=True, text=True, timeout=120, check=False)
        if r.returncode != 0:
            raise PeerError(f"building se_curlfix.so failed: {r.stderr.strip()}")
        os.replace(tmp, so)
    return so


def stop_group(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """TERM the process group led by ``proc`` (started with start_new_session), then KILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    try:                                   # helpers the leader left behind
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(grace_s)


def se_configure(env: Mapping[str, str], *args: str, log: Path) -> None:
    r = subprocess.run(["syncevolution", "--daemon=no", "--configure", *args], env=env, check=False,
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    with log.open("a") as f:
        f.write(f"$ syncevolution --configure {' '.join(args)}\n{r.stdout}{r.stderr}\n")
    if r.returncode != 0:
        raise PeerError(f"syncevolution --configure failed ({r.returncode}): "
                        f"{(r.stderr or r.stdout).strip()[-800:]}")


def read_items(directory: Path) -> dict[str, str]:
    """A file-backend store: file name -> text."""
    return {p.name: p.read_text("utf-8", "replace") for p in sorted(directory.iterdir())
            if p.is_file() and not p.name.startswith(".")}


# ------------------------------------------------------------------ server
class PeerServer:
    """SyncEvolution's SyncML server on ``http://127.0.0.1:PORT/syncml`` (context manager)."""

    def __init__(self, datadir: Path, port: int | None = None, *, user: str = "test",
                 password: str = "test", device_ids: Sequence[str] = ("interop-1",),
                 max_seconds: int = 900, loglevel: int = 1, max_msg_size: int = 150_000) -> None:
        self.datadir = Path(datadir).resolve()
        self.port = port or free_port()
        self.user, self.password = user, password
        self.device_ids = tuple(device_ids)
        self.max_seconds, self.loglevel, self.max_msg_size = max_seconds, loglevel, max_msg_size
        self.state = self.datadir / ".peer"
        self.logs = self.state / "log"
        self.procs: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/syncml"

    def store_dir(self, kind: str) -> Path:
        return self.datadir / KINDS[kind][0]

    def items(self, kind: str) -> dict[str, str]:
        return read_items(self.store_dir(kind))

    def _configure(self, env: dict[str, str]) -> None:
        log = self.logs / "configure.log"
        se_configure(env, "keyring=no",
                     "addressbook/backend=file",
                     f"addressbook/database=file://{self.store_dir('contacts')}",
                     "addressbook/databaseFormat=text/vcard",
                     "calendar/backend=file",
                     f"calendar/database=file://{self.store_dir('calendar')}",
                     "calendar/databaseFormat=text/calendar",
                     "@server", "addressbook", "calendar", log=log)
        peers = Path(env["XDG_CONFIG_HOME"]) / "syncevolution" / "server" / "peers"
        for n, dev in enumerate(self.device_ids, 1):
            name = f"client{n}"
            tmpl = [] if (peers / name).is_dir() else ["--template", "SyncEvolution_Client"]
            se_configure(env, *tmpl, "keyring=no", f"username={self.user}",
                         f"password={self.password}", f"remoteDeviceId={dev}", "PeerIsClient=1",
                         f"loglevel={self.loglevel}", "printChanges=0", "dumpData=0",
                         f"maxMsgSize={self.max_msg_size}",
                         "addressbook/sync=two-way", "calendar/sync=two-way",
                         f"{name}@server", "addressbook", "calendar", log=log)

    def _http_frontend(self) -> Path:
        """Debian's front-end: '#!@PYTHON@' shebang, listens on all interfaces, a str body for
        GET. The copy binds 127.0.0.1 and answers GET with bytes; SyncML handling unchanged."""
        src = Path(HTTP_SERVER).read_text()
        listen = "port = reactor.listenTCP(url.port, site)"
        if listen not in src:
            raise PeerError(f"{HTTP_SERVER}: unknown version (no '{listen}')")
        src = src.replace(listen, listen[:-1] + ', interface="127.0.0.1")')
        src = src.replace('return "<html>SyncEvolution SyncML Server</html>"',
                          'return b"<html>SyncEvolution SyncML Server</html>"')
        out = self.state / "syncevo-http-server-loopback.py"
        out.write_text(src.split("\n", 1)[1] if src.startswith("#!") else src)
        return out

    def _spawn(self, argv: list[str], env: Mapping[str, str], log: str) -> subprocess.Popen:
        with (self.logs / log).open("ab") as f:
            p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=f,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def start(self) -> PeerServer:
        check_installed()
        self.logs.mkdir(parents=True, exist_ok=True)
        for kind in KINDS:
            self.store_dir(kind).mkdir(parents=True, exist_ok=True)
        env = isolated_env(self.state / "home")
        self._configure(env)
        frontend = self._http_frontend()
        bus = self.state / "bus"
        bus.unlink(missing_ok=True)
        try:
            dbus = self._spawn(["timeout", str(self.max_seconds), "dbus-daemon", "--session",
                                "--nofork", "--nopidfile", f"--address=unix:path={bus}"],
                               env, "dbus-daemon.log")
            end = time.monotonic() + 10
            while not bus.exists():
                if dbus.poll() is not None or time.monotonic() > end:
                    raise PeerError(f"dbus-daemon did not come up; see {self.logs}")
                time.sleep(0.05)
            env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={bus}"
            self._spawn([DBUS_SERVER, f"--duration={self.max_seconds}", "--verbosity=2",
                         "--stdout", "--no-syslog"], env, "syncevo-dbus-server.log")
            http = self._spawn(["timeout", str(self.max_seconds), SYSTEM_PYTHON, str(frontend),
                                "--debug", self.url], env, "http-server.log")
            wait_port(self.port, 30, http)
        except BaseException:
            self.stop()
            raise
        return self

    def alive(self) -> bool:
        return bool(self.procs) and all(p.poll() is None for p in self.procs)

    def stop(self) -> None:
        for p in reversed(self.procs):
            stop_group(p)
        self.procs.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, n: int = 4000) -> str:
        out = []
        for f in sorted(self.logs.glob("*.log")):
            out.append(f"== {f.name}\n{f.read_text('utf-8', 'replace')[-n:]}")
        return "\n".join(out)


# ------------------------------------------------------------------ client
@dataclasses.dataclass(frozen=True)
class SeResult:
    """One SyncEvolution client run. ``stats`` is the session's status.ini for the store,
    without the ``source-<store>-`` prefix (e.g. ``stat-remote-added-total``, ``mode``)."""

    rc: int
    status: int
    mode: str
    stats: Mapping[str, str]
    wall_s: float
    output: str

    def stat(self, key: str) -> int:
        return int(self.stats.get(f"stat-{key}-total", self.stats.get(f"stat-{key}", 0)) or 0)

    @property
    def ok(self) -> bool:
        return self.rc == 0 and self.status == 200


class SeClient:
    """SyncEvolution as a client for one store (contacts or calendar) in directory ``data``.

    State (config, anchors, change tracking, logs) lives in ``state`` and persists between
    :meth:`sync` calls, so a later two-way sync is incremental."""

    def __init__(self, state: Path, data: Path, url: str, *, kind: str = "contacts",
                 user: str = "test", password: str = "test", device_id: str = "interop-1",
                 encoding: str = "wbxml", auth: str = "md5", remote_uri: str | None = None,
                 max_seconds: int = 300, loglevel: int = 1, sync_format: str = "",
                 syncml_version: str = "") -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}")
        if encoding not in ("wbxml", "xml") or auth not in ("md5", "basic"):
            raise ValueError("encoding must be wbxml|xml, auth md5|basic")
        self.state, self.data = Path(state).resolve(), Path(data).resolve()
        self.url, self.kind = url, kind
        self.store, self.format = KINDS[kind]
        self.user, self.password, self.device_id = user, password, device_id
        self.encoding, self.auth = encoding, auth
        self.remote_uri = remote_uri or self.store
        self.max_seconds, self.loglevel = max_seconds, loglevel
        #: pin the format offered (e.g. text/x-vcard = vCard 2.1, text/x-vcalendar = vCalendar 1.0)
        self.sync_format = sync_format
        #: "1.2", "1.1" or "1.0" ("" = SyncEvolution's default, the newest)
        self.syncml_version = syncml_version
        self._configured = False

    @property
    def config(self) -> str:
        return "peer@local"

    def _env(self) -> dict[str, str]:
        return isolated_env(self.state / "home")

    def configure(self) -> None:
        check_installed()
        self.data.mkdir(parents=True, exist_ok=True)
        (self.state / "logs").mkdir(parents=True, exist_ok=True)
        env, log = self._env(), self.state / "configure.log"
        se_configure(env, "keyring=no", f"deviceId={self.device_id}",
                     f"{self.store}/backend=file", f"{self.store}/database=file://{self.data}",
                     f"{self.store}/databaseFormat={self.format}", "@local", self.store, log=log)
        peer_dir = Path(env["XDG_CONFIG_HOME"]) / "syncevolution" / "local" / "peers" / "peer"
        tmpl = [] if peer_dir.is_dir() else ["--template", "SyncEvolution"]
        se_configure(env, *tmpl, "keyring=no", f"syncURL={self.url}",
                     f"username={self.user}", f"password={self.password}",
                     f"clientAuthType={self.auth}",
                     f"enableWBXML={1 if self.encoding == 'wbxml' else 0}",
                     "enableRefreshSync=1", "preventSlowSync=0", "printChanges=0", "dumpData=0",
                     f"loglevel={self.loglevel}", "RetryDuration=20", "RetryInterval=10",
                     f"SyncMLVersion={self.syncml_version}",
                     f"logdir={self.state / 'logs'}", "maxlogdirs=50",
                     f"{self.store}/uri={self.remote_uri}", f"{self.store}/sync=two-way",
                     f"{self.store}/syncFormat={self.sync_format}",
                     f"{self.store}/forceSyncFormat={1 if self.sync_format else 0}",
                     self.config, self.store, log=log)
        self._configured = True

    def sync(self, mode: str) -> SeResult:
        """One session in ``mode`` (one of :data:`SE_MODES`)."""
        if mode not in SE_MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if not self._configured:
            self.configure()
        env = self._env()
        env["LD_PRELOAD"] = str(build_curlfix(self.state / "curlfix"))
        logs = self.state / "logs"
        before = {p.name for p in logs.iterdir()}
        t0 = time.monotonic()
        p = subprocess.Popen(["syncevolution", "--daemon=no", "--run", "--sync", SE_MODES[mode],
                              self.config, self.store], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        try:
            out, _ = p.communicate(timeout=self.max_seconds)
        except subprocess.TimeoutExpired:
            stop_group(p)
            out = p.stdout.read() if p.stdout else b""
            raise PeerError(f"syncevolution {mode} did not finish in {self.max_seconds} s:\n"
                            f"{out.decode('utf-8', 'replace')[-3000:]}") from None
        finally:
            stop_group(p)
        wall = time.monotonic() - t0
        text = "\n".join(ln for ln in out.decode("utf-8", "replace").splitlines()
                         if not ln.startswith("Loaded backend"))
        new = sorted(d for d in logs.iterdir() if d.is_dir() and d.name not in before)
        stats: dict[str, str] = {}
        status = 0
        if new and (new[-1] / "status.ini").exists():
            cp = configparser.ConfigParser(interpolation=None)
            raw = (new[-1] / "status.ini").read_text("utf-8", "replace")
            cp.read_string("[s]\n" + raw)
            prefix = f"source-{self.store}-"
            for k, v in cp["s"].items():
                if k.startswith(prefix):
                    stats[k[len(prefix):]] = v
            status = int(cp["s"].get("status", "0") or 0)
        return SeResult(p.returncode, status, stats.get("mode", ""), stats, wall, text)

    def items(self) -> dict[str, str]:
        return read_items(self.data)


# ------------------------------------------------------------------ simsync's server
class SimsyncServer:
    """``simsync operator serve`` on a free loopback port with SQLite in ``directory`` (or the
    empty database at ``db_url``, e.g. PostgreSQL)."""

    def __init__(self, directory: Path, users: Mapping[str, str], max_seconds: int = 600,
                 python: str = sys.executable, workers: int = 1,
                 db_url: str | None = None) -> None:
        directory = Path(directory).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        self.db_url = db_url or f"sqlite:///{directory / 'operator.db'}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/syncml"
        self.log = directory / "serve.log"
        cli = [python, "-m", "simsync"]
        env = {**os.environ, "HOME": str(directory)}
        env.pop("SIMSYNC_DB", None)
        for user, pw in users.items():
            r = subprocess.run([*cli, "operator", "user", "add", user, "--password-stdin",
                                "--db", self.db_url], input=pw + "\n", capture_output=True,
                               text=True, timeout=120, env=env, check=False)
            if r.returncode != 0:
                raise PeerError(f"simsync operator user add {user}: {r.stderr.strip()}")
        with self.log.open("ab") as f:
            self.proc = subprocess.Popen(
                ["timeout", str(max_seconds), *cli, "operator", "serve", "--db", self.db_url,
                 "--port", str(self.port), "--workers", str(workers), "--log-level", "info"],
                stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, env=env,
                start_new_session=True)
        try:
            wait_port(self.port, 60, self.proc)
            deadline = time.monotonic() + 30
            while not self.healthy():
                if time.monotonic() > deadline:
                    raise PeerError(f"operator server not healthy; see {self.log}")
                time.sleep(0.2)
        except BaseException:
            self.stop()
            raise

    def healthy(self) -> bool:
        import urllib.request
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    def store(self):
        from simsync.operator.server import SqlStore
        return SqlStore(self.db_url, migrate=False)

    def items(self, user: str, database: str) -> dict[str, str | bytes]:
        st = self.store()
        try:
            return {g: st.get_item(user, database, g).content for g in st.live_guids(user, database)}
        finally:
            st.close()

    def stop(self) -> None:
        stop_group(self.proc)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self) -> str:
        return self.log.read_text("utf-8", "replace")[-4000:]



# ------------------------------------------------------------------ command line
def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sepeer.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server", help="run SyncEvolution's SyncML server in the foreground")
    s.add_argument("port", type=int)
    s.add_argument("datadir", type=Path)
    s.add_argument("--user", default="test")
    s.add_argument("--password", default="test")
    s.add_argument("--device-ids", default="interop-1,interop-2,interop-3")
    s.add_argument("--max-seconds", type=int, default=3600)
    c = sub.add_parser("client", help="one SyncEvolution client session")
    c.add_argument("url")
    c.add_argument("mode", choices=sorted(SE_MODES))
    c.add_argument("dir", type=Path)
    c.add_argument("--kind", choices=sorted(KINDS), default="contacts")
    c.add_argument("--user", default="test")
    c.add_argument("--password", default="test")
    c.add_argument("--device-id", default="interop-1")
    c.add_argument("--encoding", choices=("wbxml", "xml"), default="wbxml")
    c.add_argument("--auth", choices=("md5", "basic"), default="md5")
    c.add_argument("--state", type=Path, default=None,
                   help="client state directory (default: DIR's sibling .NAME.sepeer)")
    a = ap.parse_args(argv)
    if a.cmd == "server":
        srv = PeerServer(a.datadir, a.port, user=a.user, password=a.password,
                         device_ids=a.device_ids.split(","), max_seconds=a.max_seconds)
        with srv:
            print(f"sepeer: server {srv.url} user={a.user} device-ids={a.device_ids} "
                  f"data={srv.datadir} logs={srv.logs}", flush=True)
            try:
                while srv.alive():
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass
        return 0
    state = a.state or a.dir.resolve().parent / f".{a.dir.name}.sepeer"
    cl = SeClient(state, a.dir, a.url, kind=a.kind, user=a.user, password=a.password,
                  device_id=a.device_id, encoding=a.encoding, auth=a.auth)
    r = cl.sync(a.mode)
    sys.stderr.write(r.output + "\n")
    print(f"SUMMARY mode={a.mode} engine_mode={r.mode} status={r.status} rc={r.rc} "
          + " ".join(f"{k}={r.stat(k)}" for k in (
              "local-added", "local-updated", "local-removed",
              "remote-added", "remote-updated", "remote-removed"))
          + f" wall_s={r.wall_s:.2f}")
    return 0 if r.ok else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
