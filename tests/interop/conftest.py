"""Fixtures of the SyncEvolution interop tests: the harness in scripts/interop/sepeer.py, a
SyncEvolution server, ``simsync operator serve`` as a real process, vCard/iCalendar helpers.

Every component is started here (bounded, stopped by PID, HOME/XDG under tmp); a missing one is
a failure, never a skip (install with scripts/interop/setup.sh)."""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("sepeer", ROOT / "scripts" / "interop" / "sepeer.py")
sepeer = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("sepeer", sepeer)
_spec.loader.exec_module(sepeer)

PASSWORD = "s3cret-pw"
free_port = sepeer.free_port
HANDSET_IDS = ("IMEI:356938035643809", "IMEI:356938035643817", "IMEI:356938035643825")
SE_IDS = ("se-client-1", "se-client-2")


def vcard(name: str, tel: str = "+491701234567", note: str = "") -> str:
    first, last = name.split(" ", 1)
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"N:{last};{first};;;", f"FN:{name}",
             f"TEL;TYPE=CELL:{tel}"]
    if note:
        lines.append(f"NOTE:{note}")
    return "\r\n".join([*lines, "END:VCARD", ""])


def vevent(uid: str, summary: str, day: int = 1, location: str = "") -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//simsync//interop//EN", "BEGIN:VEVENT",
             f"UID:{uid}", "DTSTAMP:20261101T080000Z", f"DTSTART:202612{day:02d}T090000Z",
             f"DTEND:202612{day:02d}T100000Z", f"SUMMARY:{summary}"]
    if location:
        lines.append(f"LOCATION:{location}")
    return "\r\n".join([*lines, "END:VEVENT", "END:VCALENDAR", ""])


def _prop(text: str | bytes, name: str) -> str | None:
    """The value of the first property ``name`` (parameters ignored, folding undone)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = re.sub(r"\r?\n[ \t]", "", text)
    for line in re.split(r"\r?\n", text):
        key, sep, value = line.partition(":")
        if sep and key.split(";")[0].upper() == name:
            return value
    return None


def summary(items, kind: str = "contacts") -> dict[str, tuple]:
    """What both sides must agree on, independent of re-serialisation: for contacts
    FN -> (TEL, NOTE), for calendar SUMMARY -> (DTSTART, LOCATION)."""
    out = {}
    values = items.values() if isinstance(items, dict) else items
    for text in values:
        if kind == "contacts":
            out[_prop(text, "FN")] = (_prop(text, "TEL"), _prop(text, "NOTE") or "")
        else:
            out[_prop(text, "SUMMARY")] = (_prop(text, "DTSTART"), _prop(text, "LOCATION") or "")
    assert len(out) == len(values), f"duplicate items: {values}"
    return out


def write_items(directory: Path, items: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in items.items():
        (directory / name).write_text(text)


def next_second() -> None:
    """SyncEvolution's file backend tracks changes by mtime in whole seconds: let the second of
    the last sync pass before editing its files."""
    time.sleep(1.05 - (time.time() % 1) + 0.05)


@pytest.fixture(scope="session")
def interop_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("interop")


@pytest.fixture(scope="module")
def se_server(tmp_path_factory):
    """SyncEvolution's SyncML server, user ``test`` / :data:`PASSWORD`, handset device ids."""
    srv = sepeer.PeerServer(tmp_path_factory.mktemp("se-server"), password=PASSWORD,
                            device_ids=HANDSET_IDS, max_seconds=600)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


SimsyncServer = sepeer.SimsyncServer


class RecordingProxy:
    """A loopback reverse proxy in a thread that records every exchange (request content type,
    request body, response status and content type) on its way to ``upstream_port``. The Host
    header is passed on, so RespURIs lead back through the proxy."""

    def __init__(self, upstream_port: int) -> None:
        import http.server
        import threading

        self.exchanges: list[tuple[str, bytes, int, str]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                ctype = self.headers.get("content-type", "")
                r = httpx.post(f"http://127.0.0.1:{upstream_port}{self.path}", content=body,
                               headers={"content-type": ctype, "host": self.headers["host"]},
                               timeout=60)
                proxy.exchanges.append((ctype, body, r.status_code,
                                        r.headers.get("content-type", "")))
                self.send_response(r.status_code)
                self.send_header("content-type", r.headers.get("content-type", "text/plain"))
                self.send_header("content-length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/syncml"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def make_sync_card(path: Path, server_url: str, *, account: str, password: str, device_id: str):
    """A card file with the operator's sync applet installed and personalised (install with
    parameters, then SELECT + VERIFY ADM1 + STORE DATA): contacts (vCard 3.0, server database
    ``addressbook``) and calendar (iCalendar 2.0, ``calendar``), two-way. Returns the PIN1."""
    from simsync.apdu import CommandApdu
    from simsync.card import CardProfile, SimCard
    from simsync.card.applets.sync import (
        CLASS_AID,
        INSTANCE_AID,
        PACKAGE_AID,
        DatabaseConfig,
        InstallParams,
        ProfileConfig,
        store_data_apdus,
    )
    from simsync.stk.synchronize import SyncMode

    params = InstallParams(title="Operator", entry_text="Sync now", server=server_url)
    dbs = (DatabaseConfig(1, "./contacts", "addressbook", "text/vcard", "3.0", SyncMode.TWO_WAY),
           DatabaseConfig(2, "./calendar", "calendar", "text/calendar", "2.0", SyncMode.TWO_WAY))
    profile = ProfileConfig(1, "", dbs, account=account, password=password, device_id=device_id)
    card_profile = CardProfile.random()
    with SimCard.create(path, card_profile) as card:
        card.install_applet(PACKAGE_AID, CLASS_AID, INSTANCE_AID, params.encode())
        card.power_on()
        for apdu in (CommandApdu(0x00, 0x20, 0x00, 0x0A, card_profile.adm1),
                     CommandApdu(0x00, 0xA4, 0x04, 0x00, INSTANCE_AID),
                     *store_data_apdus([profile])):
            sw = card.transmit(apdu.to_bytes())[-2:]
            assert sw == b"\x90\x00", (apdu, sw.hex())
        card.power_off()
    return card_profile.pin1
