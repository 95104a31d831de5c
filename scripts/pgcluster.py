"""A private, throw-away PostgreSQL cluster for the tests and benchmarks (Debian's postgresql).

    with PgCluster() as pg:                  # initdb + pg_ctl start on 127.0.0.1:<free port>
        url = pg.create_database("bench")    # postgresql+psycopg://postgres@127.0.0.1:PORT/bench

As root, initdb and the server run as the ``postgres`` user (initdb refuses root). ``fast=True``
(the tests) turns fsync, synchronous commit and full-page writes off; the benchmarks keep the
defaults. A missing installation is an error (never a silent skip).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from typing import Self


class PgClusterError(RuntimeError):
    pass


def pg_bindir() -> str:
    """The directory of initdb/pg_ctl: pg_config's, else the newest /usr/lib/postgresql/*/bin."""
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                             check=False).stdout.strip()
        if out and os.path.exists(os.path.join(out, "initdb")):
            return out
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise PgClusterError("PostgreSQL is not installed (apt-get install -y postgresql)")
    return os.path.dirname(found[-1])


class PgCluster:
    """initdb + start in a temporary directory; ``stop()`` (or leaving the ``with``) removes it."""

    def __init__(self, *, fast: bool = False) -> None:
        self.bindir = pg_bindir()
        self.base = tempfile.mkdtemp(prefix="simsync-pg-")
        self.data = os.path.join(self.base, "data")
        sock = os.path.join(self.base, "sock")
        os.makedirs(sock)
        self._run_as: list[str] = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            for p in (self.base, sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            self._run_as = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        opts = f"-p {self.port} -k {sock} -c listen_addresses=127.0.0.1"
        if fast:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        try:
            self._pg("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                     "--no-sync")
            self._pg("pg_ctl", "-D", self.data, "-w", "-l", os.path.join(self.base, "log"),
                     "-o", opts, "start")
        except BaseException:
            shutil.rmtree(self.base, ignore_errors=True)
            raise
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _pg(self, tool: str, *args: str) -> None:
        r = subprocess.run([*self._run_as, os.path.join(self.bindir, tool), *args],
                           capture_output=True, text=True, timeout=120, check=False)
        if r.returncode != 0:
            raise PgClusterError(f"{tool} failed: {r.stdout}{r.stderr}")

    def create_database(self, name: str, template: str | None = None) -> str:
        """CREATE DATABASE (optionally as a copy of ``template``); returns its URL."""
        import sqlalchemy as sa

        eng = sa.create_engine(self.url + "/postgres", isolation_level="AUTOCOMMIT")
        try:
            with eng.connect() as c:
                c.exec_driver_sql(f"CREATE DATABASE {name}"
                                  + (f" TEMPLATE {template}" if template else ""))
        finally:
            eng.dispose()
        return f"{self.url}/{name}"

    def stop(self) -> None:
        subprocess.run([*self._run_as, os.path.join(self.bindir, "pg_ctl"), "-D", self.data,
                        "-m", "immediate", "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
