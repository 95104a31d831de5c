"""SMS-DELIVER codec and SMS-PP data download through the terminal."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simsync.handset.sms import SmsCodecError, SmsDeliver
from simsync.stk import SmsPpDownload


@given(
    ud=st.binary(max_size=140),
    originator=st.from_regex(r"\+?[0-9]{1,20}", fullmatch=True),
    pid=st.integers(0, 255),
    dcs=st.sampled_from([0x04, 0xF6, 0xF4, 0x16]),
    ts=st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31)).map(
        lambda t: t.replace(microsecond=0)),
    tz=st.integers(-79, 79),
    udhi=st.booleans(),
    more=st.booleans(),
)
def test_sms_deliver_round_trip(ud, originator, pid, dcs, ts, tz, udhi, more):
    sms = SmsDeliver(ud, originator, pid, dcs, ts, tz, udhi, more)
    assert SmsDeliver.decode(sms.encode()) == sms


def test_sms_deliver_bytes():
    sms = SmsDeliver(b"SYNC", "+4915", timestamp=dt.datetime(2026, 11, 24, 1, 2, 3),
                     tz_quarters=4)
    assert sms.encode().hex().upper() == (
        "04"            # SMS-DELIVER, no more messages
        "0491" "9451"   # TP-OA: 4 digits, international, 4915 (swapped nibbles)
        "7F" "F6"       # TP-PID (U)SIM data download, TP-DCS class 2 8-bit
        "62114210203040"  # TP-SCTS 26-11-24 01:02:03 +1h
        "04" "53594E43")


@pytest.mark.parametrize("raw", ["", "01", "0491", "04049154197FF6621124102030", "04049154197FF66211241020304005AA"])
def test_sms_deliver_rejects_garbage(raw):
    with pytest.raises(SmsCodecError):
        SmsDeliver.decode(bytes.fromhex(raw))


def test_sms_pp_download_reaches_the_card(card, make_terminal):
    card.on_envelope = lambda env: (b"\x02\x71\x00", []) if isinstance(env, SmsPpDownload) else []
    term = make_terminal()
    term.boot()
    sms = SmsDeliver(b"\x01TRIGGER", "+4915")
    resp = term.deliver_sms_pp(sms, service_centre="+491710760000")
    assert resp.sw == 0x9000 and resp.data == b"\x02\x71\x00"  # fetched with GET RESPONSE
    (env,) = card.envelopes
    assert env.address.number == "491710760000" and env.address.ton_npi == 0x91
    assert SmsDeliver.decode(env.tpdu.tpdu) == sms
