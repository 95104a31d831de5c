"""The vpcd socket adapter against a fake vpcd (a listening socket in the test), no pcscd needed."""

from __future__ import annotations

import io
import socket
import threading
import time

from reader_fakecard import ATR, ICCID, FakeCard

from simsync.card.vpcd import VpcdCardSession, serve_vpcd


def read_msg(conn: socket.socket) -> bytes:
    def exact(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            assert chunk, "card closed the connection"
            buf += chunk
        return buf

    return exact(int.from_bytes(exact(2), "big"))


def send_split(conn: socket.socket, payload: bytes) -> None:
    """Like Debian's vpcd: the length and the payload in two writes."""
    conn.sendall(len(payload).to_bytes(2, "big"))
    time.sleep(0.001)
    conn.sendall(payload)


def test_serve_answers_reconnects_and_stops():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    card = FakeCard()
    session = VpcdCardSession(card)
    out, err = io.StringIO(), io.StringIO()
    stop = threading.Event()
    seen: dict[str, object] = {}

    def vpcd() -> None:
        conn, _ = srv.accept()
        send_split(conn, b"\x01")                       # power on: no reply
        send_split(conn, b"\x04")                       # get ATR
        seen["atr"] = read_msg(conn)
        send_split(conn, bytes.fromhex("00A40004022FE2"))
        seen["select"] = read_msg(conn)
        send_split(conn, bytes.fromhex("00B000000A"))
        seen["read"] = read_msg(conn)
        send_split(conn, bytes.fromhex("002000010831323334FFFFFFFF"))
        seen["verify"] = read_msg(conn)
        conn.close()                                    # pcscd goes away
        conn, _ = srv.accept()                          # ... and comes back
        seen["pin_after_reconnect"] = card.pin_ok
        send_split(conn, b"\x04")
        seen["atr2"] = read_msg(conn)
        stop.set()
        time.sleep(0.3)
        conn.close()

    t = threading.Thread(target=vpcd, daemon=True)
    t.start()
    stats = serve_vpcd(session, "127.0.0.1", port, max_seconds=20, should_stop=stop.is_set,
                       out=out, err=err, poll=0.05)
    t.join(5)
    srv.close()
    assert seen == {"atr": ATR, "select": b"\x90\x00", "read": ICCID + b"\x90\x00",
                    "verify": b"\x90\x00", "pin_after_reconnect": False, "atr2": ATR}
    assert stats.connections == 2 and stats.reason == "stopped" and stats.apdus == 3
    assert out.getvalue().splitlines() == [
        f"simsync card serve: connected to vpcd at 127.0.0.1:{port}",
        f"simsync card serve: reconnected to vpcd at 127.0.0.1:{port}"]
    assert "closed the connection" in err.getvalue()
    assert card.flushes >= 2 and not card.powered


def test_serve_waits_for_vpcd_with_bounded_backoff():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    err = io.StringIO()
    t0 = time.monotonic()
    stats = serve_vpcd(VpcdCardSession(FakeCard()), "127.0.0.1", port, max_seconds=0.6,
                       out=io.StringIO(), err=err, backoff=(0.01, 0.1))
    assert 0.5 < time.monotonic() - t0 < 3
    assert stats.connections == 0 and stats.reason == "max-seconds"
    assert err.getvalue().count("waiting for vpcd") == 1


def test_quick_acks_avoid_the_nagle_stall():
    """Debian's vpcd writes the length and the payload separately, with Nagle on: unless the card
    re-arms TCP_QUICKACK before every read, each APDU waits ~40 ms for a delayed ACK (measured:
    44 ms per APDU without it, well under 1 ms with it)."""
    import statistics

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    stop = threading.Event()
    times: list[float] = []

    def vpcd() -> None:
        conn, _ = srv.accept()  # no TCP_NODELAY, like vpcd
        apdu = bytes.fromhex("00A40004022FE2")
        for _ in range(40):
            t0 = time.perf_counter()
            conn.sendall(len(apdu).to_bytes(2, "big"))
            conn.sendall(apdu)
            read_msg(conn)
            times.append(time.perf_counter() - t0)
        stop.set()
        conn.close()

    t = threading.Thread(target=vpcd, daemon=True)
    t.start()
    serve_vpcd(VpcdCardSession(FakeCard()), "127.0.0.1", port, max_seconds=20,
               should_stop=stop.is_set, out=io.StringIO(), err=io.StringIO(), poll=0.05)
    t.join(5)
    srv.close()
    assert len(times) == 40
    assert statistics.median(times[5:]) < 0.015, f"median {statistics.median(times[5:]) * 1e3:.1f} ms"
