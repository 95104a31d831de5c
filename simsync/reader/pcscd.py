"""Start and stop pcscd with the vpcd virtual reader, for tests and benchmarks (no systemd needed).

    with PcscdLock(), Pcscd.ensure(run_dir, port=35963) as pcscd:   # reuse a compatible one, or start
        wait_slot(pcscd.reader(0), present=False)
        ... start a card on 127.0.0.1:<port> ...
        wait_slot(pcscd.reader(0), present=True)

pcscd runs in the foreground (``pcscd -f -i -c DIR``) with its own reader.conf.d in ``run_dir``, so the
vpcd port is ours to choose; vpcd listens on PORT (slot 0, "Virtual PCD 00 00") and PORT+1 (slot 1).
Only one pcscd can run per machine (its socket path is fixed): an existing one is reused only when it
serves vpcd on the expected port, otherwise :class:`PcscdError` says who owns the socket.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from .errors import ReaderError

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
PCSCD_PIDFILE = Path("/run/pcscd/pcscd.pid")
FRIENDLY_NAME = "Virtual PCD"
LOCK_PATH = Path("/tmp/simsync-pcscd.lock")
INSTALL_HINT = "run scripts/test.sh (as root) to install pcscd, vsmartcard-vpcd and the PC/SC tools"


class PcscdError(ReaderError):
    """pcscd is missing, cannot start, or another instance is in the way."""


def reader_name(slot: int) -> str:
    return f"{FRIENDLY_NAME} 00 {slot:02d}"


def check_installed() -> str:
    """Path of pcscd; raises PcscdError (with the install hint) if pcscd or the vpcd driver is missing."""
    pcscd = shutil.which("pcscd") or ("/usr/sbin/pcscd" if Path("/usr/sbin/pcscd").exists() else None)
    if pcscd is None:
        raise PcscdError(f"pcscd is not installed: {INSTALL_HINT}")
    if not VPCD_DRIVER.exists():
        raise PcscdError(f"the vpcd driver {VPCD_DRIVER} is missing: {INSTALL_HINT}")
    return pcscd


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie passes kill -0
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def running_pcscd() -> int | None:
    """PID of the live pcscd owning the system socket, if any."""
    if not PCSCD_SOCKET.exists():
        return None
    try:
        raw = PCSCD_PIDFILE.read_bytes()
    except OSError:
        return None
    digits = bytes(c for c in raw if 0x30 <= c <= 0x39)
    if not digits:
        return None
    pid = int(digits)
    return pid if _alive(pid) else None


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f[9])
    return inodes


def pid_listens_on(pid: int, port: int) -> bool:
    """Does process ``pid`` hold a listening TCP socket on ``port`` (this network namespace)?"""
    wanted = _listening_inodes(port)
    if not wanted:
        return False
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in wanted:
            return True
    return False


def port_in_use(port: int) -> bool:
    return bool(_listening_inodes(port))


@dataclass
class Pcscd:
    """A pcscd serving vpcd on ``port`` (slot 0) and ``port + 1`` (slot 1)."""

    pid: int
    port: int
    owned: bool
    log_path: Path | None = None
    _proc: subprocess.Popen | None = None

    def reader(self, slot: int = 0) -> str:
        return reader_name(slot)

    def alive(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return _alive(self.pid)

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    @classmethod
    def start(cls, run_dir: Path, port: int, *, timeout: float = 10.0, debug: bool = False) -> Pcscd:
        """Start our own pcscd; refuses if another live pcscd owns the socket or the port is taken."""
        exe = check_installed()
        other = running_pcscd()
        if other is not None:
            raise PcscdError(f"another pcscd (PID {other}) already owns {PCSCD_SOCKET}; stop it first "
                             f"(kill {other}) or let it serve vpcd on port {port}")
        for p in (port, port + 1):
            if port_in_use(p):
                raise PcscdError(f"TCP port {p} is already in use; pick another vpcd port")
        run_dir = Path(run_dir)
        conf = run_dir / "reader.conf.d"
        conf.mkdir(parents=True, exist_ok=True)
        # DEVICENAME /dev/null:PORT = vpcd listens and the card connects (the reversed mode, with a
        # host name there, crashes Debian 12's vpcd 0.8).
        (conf / "vpcd").write_text(
            f'FRIENDLYNAME "{FRIENDLY_NAME}"\nDEVICENAME   /dev/null:0x{port:X}\n'
            f"LIBPATH      {VPCD_DRIVER}\nCHANNELID    0x{port:X}\n")
        log_path = run_dir / "pcscd.log"
        log = log_path.open("wb")
        args = [exe, "-f", "-d" if debug else "-i", "-c", str(conf)]
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self = cls(proc.pid, port, True, log_path, proc)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if proc.poll() is not None:
                raise PcscdError(f"pcscd exited during start-up (status {proc.returncode}):\n"
                                 f"{self.log_tail()}")
            if PCSCD_SOCKET.exists() and b"daemon ready" in log_path.read_bytes():
                (run_dir / "pcscd.pid").write_text(f"{proc.pid}\n")
                return self
            time.sleep(0.05)
        self.stop()
        raise PcscdError(f"pcscd not ready after {timeout:.0f} s:\n{self.log_tail()}")

    @classmethod
    def ensure(cls, run_dir: Path, port: int, **kw: object) -> Pcscd:
        """Reuse a running pcscd if its vpcd listens on ``port``; start our own if none runs."""
        check_installed()
        other = running_pcscd()
        if other is not None:
            if pid_listens_on(other, port):
                return cls(other, port, False)
            raise PcscdError(f"another pcscd (PID {other}) owns {PCSCD_SOCKET} but does not serve vpcd "
                             f"on port {port}; stop it first (kill {other})")
        return cls.start(run_dir, port, **kw)  # type: ignore[arg-type]

    def stop(self, timeout: float = 5.0) -> None:
        """Stop pcscd by PID (SIGTERM, SIGKILL after ``timeout``) and reap it; no-op if not ours."""
        if not self.owned or self._proc is None:
            return
        proc = self._proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def restart(self, **kw: object) -> None:
        """Stop and start again on the same port and run dir (tests of reconnection)."""
        if not self.owned or self.log_path is None:
            raise PcscdError("only a pcscd started here can be restarted")
        self.stop()
        new = Pcscd.start(self.log_path.parent, self.port, **kw)  # type: ignore[arg-type]
        self.pid, self._proc = new.pid, new._proc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def slot_state(reader: str) -> bool | None:
    """True if a card is in ``reader``, False if it is empty, None if pcscd does not list it."""
    from smartcard import scard as S

    hr, ctx = S.SCardEstablishContext(S.SCARD_SCOPE_USER)
    if hr != S.SCARD_S_SUCCESS:
        return None
    try:
        hr, readers = S.SCardListReaders(ctx, [])
        if hr != S.SCARD_S_SUCCESS or reader not in readers:
            return None
        hr, states = S.SCardGetStatusChange(ctx, 0, [(reader, S.SCARD_STATE_UNAWARE)])
        if hr != S.SCARD_S_SUCCESS:
            return None
        return bool(states[0][1] & S.SCARD_STATE_PRESENT)
    finally:
        S.SCardReleaseContext(ctx)


def wait_slot(reader: str, present: bool, timeout: float = 10.0) -> None:
    """Wait until pcscd shows ``reader`` with (present=True) or without a card.

    pcscd polls each vpcd slot about every 0.4 s, so a card that just went away still shows for a
    moment: wait for *empty* before inserting the next card, or its first APDUs go to the dead one.
    """
    end = time.monotonic() + timeout
    state = None
    while time.monotonic() < end:
        state = slot_state(reader)
        if state is present:
            return
        time.sleep(0.05)
    want = "a card" if present else "no card"
    raise PcscdError(f"'{reader}' did not show {want} within {timeout:.0f} s (state: {state})")


class PcscdLock:
    """An exclusive lock serialising test sessions and benchmarks that use the one pcscd."""

    def __init__(self, path: Path = LOCK_PATH, timeout: float = 600.0) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> Self:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        end = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > end:
                    os.close(fd)
                    raise PcscdError(f"another test session holds {self.path} for more than "
                                     f"{self.timeout:.0f} s") from None
                time.sleep(0.2)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class ServedCard:
    """A card process (``simsync card serve``, vicc, ...) inserted into a vpcd slot.

    Entering waits for the slot to be empty, starts ``cmd`` and waits until pcscd shows the card;
    :meth:`stop` sends SIGTERM (SIGKILL after ``timeout``), reaps the process and returns its status.
    """

    def __init__(self, cmd: list[str], reader: str, *, log_path: Path, timeout: float = 10.0,
                 env: dict[str, str] | None = None) -> None:
        self.cmd = cmd
        self.reader = reader
        self.log_path = Path(log_path)
        self.timeout = timeout
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> Self:
        wait_slot(self.reader, present=False, timeout=self.timeout)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=self.env)
        end = time.monotonic() + self.timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise PcscdError(f"card process exited during start-up ({self.proc.returncode}):\n"
                                 f"{self.log()}")
            if slot_state(self.reader):
                return self
            time.sleep(0.05)
        self.stop()
        raise PcscdError(f"card not seen in '{self.reader}' after {self.timeout:.0f} s:\n{self.log()}")

    def stop(self, timeout: float = 10.0) -> int | None:
        proc = self.proc
        if proc is None:
            return self.returncode
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.returncode = proc.returncode
        self.proc = None
        return self.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m simsync.reader.pcscd [--port P] [--run-dir D] [--max-seconds S] [-- CMD...]``

    Start pcscd with vpcd on P/P+1 (or reuse a compatible one), print ``PCSCD_PID=...``, then run CMD
    (environment: PCSCD_PID, VPCD_PORT) and stop, or wait for Ctrl-C/SIGTERM/--max-seconds.
    """
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m simsync.reader.pcscd",
                                 description="pcscd + vpcd virtual reader for manual runs")
    ap.add_argument("--port", type=int, default=35963)
    ap.add_argument("--run-dir", type=Path, default=Path(".run/pcscd"))
    ap.add_argument("--debug", action="store_true", help="pcscd -d (logs every APDU; slower)")
    ap.add_argument("--max-seconds", type=float, default=3600.0)
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARGS...] to run while pcscd is up")
    a = ap.parse_args(argv)
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    stop = {"flag": False}

    def on_signal(signum: int, _frame: object) -> None:
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        daemon = Pcscd.ensure(a.run_dir, a.port, debug=a.debug)
    except ReaderError as exc:
        print(f"pcscd: {exc}", file=sys.stderr)
        return 1
    with daemon:
        print(f"PCSCD_PID={daemon.pid}", flush=True)
        print(f"pcscd {'started' if daemon.owned else 'reused'}: readers '{daemon.reader(0)}' "
              f"(vpcd 127.0.0.1:{a.port}) and '{daemon.reader(1)}' (:{a.port + 1}); "
              f"log {daemon.log_path}", file=sys.stderr, flush=True)
        if cmd:
            env = dict(os.environ, PCSCD_PID=str(daemon.pid), VPCD_PORT=str(a.port))
            proc = subprocess.Popen(cmd, env=env)
            while proc.poll() is None:
                if stop["flag"]:
                    proc.terminate()
                    proc.wait()
                    break
                time.sleep(0.1)
            return proc.returncode if proc.returncode is not None else 1
        end = time.monotonic() + a.max_seconds
        while not stop["flag"] and time.monotonic() < end and daemon.alive():
            time.sleep(0.2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
