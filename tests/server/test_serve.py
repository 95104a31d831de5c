"""``simsync operator serve`` as a real process (uvicorn, two workers) and ``user`` commands."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time

import httpx

from simsync.cli import main
from simsync.operator.server import SqlStore
from simsync.syncml import WBXML, XML, decode, encode

from .conftest import Device, client_config, vcard

CLI = [sys.executable, "-m", "simsync"]


def _cli(*args: str, stdin: str | None = None, env: dict | None = None):
    return subprocess.run([*CLI, *args], check=False, input=stdin, capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_user_commands(tmp_path, capsys, monkeypatch) -> None:
    db = str(tmp_path / "ops.db")

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        rc = main(list(args))
        out = capsys.readouterr()
        return rc, out.out, out.err

    assert run("operator", "user", "add", "alice", "--password-stdin", "--db", db,
               stdin="s3cret\n")[0] == 0
    assert SqlStore(f"sqlite:///{db}").check_password("alice", "s3cret")
    rc, _, err = run("operator", "user", "add", "alice", "--password-stdin", "--db", db,
                     stdin="x\n")
    assert rc == 2 and err == "simsync: error: user 'alice' exists\n"
    assert run("operator", "user", "add", "bob", "--password-stdin", "--db", db)[0] == 2
    monkeypatch.setenv("SIMSYNC_DB", db)
    rc, out, _ = run("operator", "user", "list")
    assert rc == 0 and out.startswith("alice\tenabled") and out.count("\n") == 1
    # a login lock after failed logins is shown, and lifted by unlock
    st = SqlStore(f"sqlite:///{db}")
    for _ in range(3):
        st.login_failed("alice", time.time(), 3, 600)
    st.close()
    rc, out, _ = run("operator", "user", "list")
    assert "logins locked until" in out
    assert run("operator", "user", "unlock", "alice")[0] == 0
    rc, out, _ = run("operator", "user", "list")
    assert "locked" not in out
    rc, _, err = run("operator", "user", "unlock", "nobody")
    assert rc == 2 and err == "simsync: error: no user 'nobody'\n"
    assert run("operator", "user", "delete", "alice", "--db", db)[0] == 0
    rc, _, err = run("operator", "user", "delete", "alice", "--db", db)
    assert rc == 2 and err == "simsync: error: no user 'alice'\n"
    rc, _, err = run("operator", "user", "list", "--db", str(tmp_path / "no" / "such.db"))
    assert rc == 2 and err.count("\n") == 1
    # as a process: one line on stderr, no traceback
    r = _cli("operator", "serve", "--db", str(tmp_path / "no" / "such.db"), "--port", "1")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def _sync_over_http(url: str, dev: Device, sync_type: int) -> object:
    sess = dev.session(sync_type)
    msg = sess.start()
    urls = []
    with httpx.Client(timeout=30) as c:
        while msg is not None:
            urls.append(sess.target_url)
            r = c.post(sess.target_url, content=encode(msg, dev.ct),
                       headers={"content-type": dev.ct})
            assert r.status_code == 200, r.text
            msg = sess.receive(decode(r.content, dev.ct))
    assert urls[0] == url and all("sessionid=" in u for u in urls[1:])
    return sess


def test_serve_with_two_workers_over_real_http(tmp_path) -> None:
    db = str(tmp_path / "srv.db")
    assert _cli("operator", "user", "add", "alice", "--password-stdin", "--db", db,
                stdin="pw\n").returncode == 0
    port = _free_port()
    proc = subprocess.Popen([*CLI, "operator", "serve", "--db", db, "--port", str(port),
                             "--workers", "2", "--log-level", "info"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                if httpx.get(base + "/health", timeout=2).json() == {"status": "ok"}:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        url = base + "/syncml"
        devs = []
        for n, ct in enumerate((XML, WBXML)):
            dev = Device(client_config(ct=ct, user="alice", password="pw", url=url,
                                       device_id=f"phone-{n}",
                                       auth_type=("syncml:auth-md5", "syncml:auth-basic")[n]),
                         ct)
            for i in range(30):
                dev.store.add("./addressbook", vcard(f"Wire{n}.{i}", "W", f"+49 30 {i:04d}"))
            assert _sync_over_http(url, dev, 201).result.status == 200
            devs.append(dev)
        for dev in devs:
            luid = min(dev.items())
            dev.store.replace("./addressbook", luid, vcard("Wire", "W", "+49 30", dev.cfg.device_id))
            assert _sync_over_http(url, dev, 200).result.status == 200
        assert _sync_over_http(url, devs[0], 200).result.status == 200   # gets phone-1's edit
        store = SqlStore(f"sqlite:///{db}", migrate=False)
        server = sorted(store.items("alice", "addressbook").values())
        assert len(server) == 60
        assert sorted(devs[0].items().values()) == server
        r = httpx.post(url, content=b"<SyncML", headers={"content-type": XML})
        assert r.status_code == 400 and "Traceback" not in r.text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert "Traceback" not in err
    assert err.count("Started server process") == 2        # two uvicorn workers served it
