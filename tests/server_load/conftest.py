"""Fixtures of the server load tests: ``simsync operator serve`` as a real process (its own
process group, so that SIGKILL takes all of it), DB1 files, cards, and the private PostgreSQL
cluster of tests/server (reused from its conftest)."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

_spec = importlib.util.spec_from_file_location(
    "_simsync_server_conftest", Path(__file__).parent.parent / "server" / "conftest.py")
_server_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_server_conftest)

pg_server = _server_conftest.pg_server          # the fixture: a throw-away PostgreSQL cluster
new_pg_database = _server_conftest.new_pg_database

CLI = [sys.executable, "-m", "simsync"]


def vcard(name: str, tel: str, note: str = "") -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"N:{name};Load;;;", f"FN:Load {name}",
             f"TEL;TYPE=CELL:{tel}"]
    if note:
        lines.append(f"NOTE:{note}")
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def parse(card: str | bytes) -> tuple[str, str, str]:
    """(family name, tel, note) of one of our vCards, whatever line folding or order."""
    text = card.decode() if isinstance(card, bytes) else card
    fields = {}
    for line in text.replace("\r\n ", "").splitlines():
        key, _, value = line.partition(":")
        fields[key.split(";")[0].upper()] = value
    return fields["N"].split(";")[0], fields.get("TEL", ""), fields.get("NOTE", "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``simsync operator serve`` on a free loopback port; :meth:`kill` SIGKILLs its process
    group (uvicorn's supervisor and workers), :meth:`start` starts it again on the same port."""

    def __init__(self, db_url: str, workers: int = 1, log_dir: str | None = None) -> None:
        self.db_url, self.workers = db_url, workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = self.base + "/syncml"
        self.proc: subprocess.Popen | None = None
        self.log_dir = log_dir or tempfile.mkdtemp(prefix="simsync-load-")
        self.starts = 0
        self.logs: list[str] = []

    def start(self, timeout: float = 30.0) -> float:
        t0 = time.monotonic()
        self.starts += 1
        log = os.path.join(self.log_dir, f"serve-{self.starts}.log")
        self.logs.append(log)
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [*CLI, "operator", "serve", "--db", self.db_url, "--port", str(self.port),
                 "--workers", str(self.workers), "--log-level", "warning"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = t0 + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {Path(log).read_text()}")
            try:
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    return time.monotonic() - t0
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {Path(log).read_text()}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return "".join(Path(p).read_text(errors="replace") for p in self.logs if
                       os.path.exists(p))


@pytest.fixture
def serve_factory():
    started: list[Server] = []

    def make(db_url: str, workers: int = 1) -> Server:
        s = Server(db_url, workers)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()
