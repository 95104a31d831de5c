"""The handset over PC/SC: pyscard -> pcscd -> vpcd -> `simsync card serve` -> the card."""

from __future__ import annotations

import pytest

from simsync.card import CardProfile, SimCard
from simsync.cli import main
from simsync.handset import events as ev
from simsync.handset.terminal import Terminal

pytestmark = pytest.mark.pcsc


def test_boot_a_plain_card_over_pcsc(serve_card, tmp_path, capsys):
    path = tmp_path / "plain.card"
    profile = CardProfile.random()
    SimCard.create(path, profile).close()
    reader = serve_card(path)
    lines: list[str] = []
    with Terminal.open(f"pcsc:{reader}", trace=lines.append) as term:
        assert term.boot(pin1=profile.pin1) is None
        assert term.cache.iccid == profile.iccid
        assert term.events(ev.PinVerified)
        (download,) = term.events(ev.ProfileDownloaded)
        assert download.sw == 0x9000
        term.run(65)  # virtual clock: two idle STATUS polls through the real stack
        assert [e.sw for e in term.events(ev.StatusPolled)] == [0x9000, 0x9000]
    assert any(x.startswith(">> 8010") for x in lines)
    assert main(["handset", "menu", f"pcsc:{reader}"]) == 0
    assert capsys.readouterr().out == "no SIM menu\n"


def test_sync_applet_over_pcsc(serve_card, tmp_path, capsys):
    from sync_card import SERVER, make_sync_card, sync_status

    import simsync.card.applets.sync  # noqa: F401
    from simsync.handset.sync import RecordingSyncService

    card = make_sync_card(tmp_path / "sync.card")
    reader = serve_card(card.path)
    service = RecordingSyncService()
    with Terminal.open(f"pcsc:{reader}", sync_service=service) as term:
        menu = term.boot(pin1=card.pin1)
        assert [i.text for i in menu.items] == ["Sync now"]
        term.select("Sync now")
        (request,) = service.requests
        assert request.server.value == SERVER
        assert term.responses()[-1].result.ok
        (status,) = sync_status(term.conn)
        assert [d.status for d in status.databases] == [200, 200]
    # the CLI over the same reader
    assert main(["handset", "select", f"pcsc:{reader}", "1", "--pin1", card.pin1]) == 0
    out = capsys.readouterr().out
    assert f"SYNCHRONIZE with {SERVER} as alice" in out
    assert "(text/x-vcard 2.1, two-way): status 200" in out


def test_timer_and_sms_pp_triggered_syncs_over_pcsc(serve_card, tmp_path):
    """The issue's other two triggers through pyscard -> pcscd -> vpcd: the applet's timer
    (virtual clock: the ENVELOPE timer expiration goes through the real stack at once) and the
    operator's trigger SMS (ENVELOPE SMS-PP data download)."""
    from sync_card import make_sync_card, sync_status

    import simsync.card.applets.sync  # noqa: F401
    from simsync.card.applets.sync import SyncTrigger, Trigger
    from simsync.handset.sms import SmsDeliver
    from simsync.handset.sync import RecordingSyncService

    card = make_sync_card(tmp_path / "timer.card", period=3600)
    reader = serve_card(card.path)
    service = RecordingSyncService()
    with Terminal.open(f"pcsc:{reader}", sync_service=service) as term:
        term.boot(pin1=card.pin1)
        assert len(service.calls) == 1  # scheduled, never synced: the power-up sync
        (timer,) = term.running_timers()
        term.run(3600)
        assert len(service.calls) == 2
        assert [e.timer for e in term.events(ev.TimerExpired)] == [timer]
        (status,) = sync_status(term.conn)
        assert status.last_trigger == Trigger.TIMER and status.attempts == 2
        resp = term.deliver_sms_pp(SmsDeliver(SyncTrigger(profile=1).encode(), "+4915100000000"))
        assert resp.sw >> 8 in (0x90, 0x91)
        assert len(service.calls) == 3
        (status,) = sync_status(term.conn)
        assert status.last_trigger == Trigger.SMS and status.attempts == 3
        assert [d.status for d in status.databases] == [200, 200]
        assert not status.in_progress
