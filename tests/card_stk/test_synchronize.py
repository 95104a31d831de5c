"""The SYNCHRONIZE proactive command codec (simsync.stk.synchronize): vectors, round trips,
terminal profile bit, terminal response check, OMA DS SAN."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.apdu.errors import CodecError
from simsync.stk import (
    AlphaIdentifier,
    GeneralResult,
    Result,
    TerminalProfile,
    TerminalResponse,
    decode_proactive,
    profile_for,
)
from simsync.stk.errors import ResponseMismatchError, StkError
from simsync.stk.objects import decode_objects
from simsync.stk.synchronize import (
    SYNCHRONIZE_PROFILE_BIT,
    SYNCHRONIZE_TYPE,
    CredentialKind,
    SanSync,
    ServerAlertedNotification,
    SyncAccount,
    SyncCredential,
    SyncDatabase,
    SyncDeviceId,
    Synchronize,
    SyncMode,
    SyncOutcome,
    SyncSan,
    SyncServer,
    check_synchronize_response,
    san_for,
    supports_synchronize,
    sync_outcomes,
    synchronize_response,
    with_synchronize,
)
from simsync.stk.types import TypeOfCommand

CONTACTS = SyncDatabase(1, "./contacts", "card", "text/x-vcard", "2.1", SyncMode.TWO_WAY)
CALENDAR = SyncDatabase(2, "./calendar", "cal", "text/x-vcalendar", "1.0", SyncMode.SLOW)


def sample_command(**kw) -> Synchronize:
    args = {
        "server": SyncServer("http://sync.op.example/ds"),
        "databases": (CONTACTS,),
        "account": SyncAccount("alice"),
        "credential": SyncCredential(CredentialKind.REFERENCE, b"\x01"),
        "device": SyncDeviceId("IMEI:1"),
        "number": 3,
    }
    args.update(kw)
    return Synchronize(**args)


# ----------------------------------------------------------------------------------- vectors


def test_type_value_is_unallocated_in_ts_102_223() -> None:
    assert SYNCHRONIZE_TYPE == 0xE0
    assert SYNCHRONIZE_TYPE not in {int(t) for t in TypeOfCommand}


def test_command_vector() -> None:
    cmd = sample_command()
    expected = bytes.fromhex(
        "d0 67"
        " 81 03 03 e0 00"  # command details: number 3, SYNCHRONIZE, qualifier 0
        " 82 02 81 82"  # UICC -> terminal
        " 7f d3 01 19"
        + b"http://sync.op.example/ds".hex()
        + " 7f d3 02 05"
        + b"alice".hex()
        + " 7f d3 03 02 02 01"  # credential: reference 01
        " 7f d3 04 06" + b"IMEI:1".hex() + " 7f d3 05 24 01 00 c8"  # database 1, mode 200
        " 0a"
        + b"./contacts".hex()
        + " 04"
        + b"card".hex()
        + " 0c"
        + b"text/x-vcard".hex()
        + " 03"
        + b"2.1".hex()
    )
    assert cmd.encode() == expected
    assert decode_proactive(expected) == cmd


def test_qualifier_bits_and_alpha() -> None:
    cmd = sample_command(confirm=True, background=True, alpha=AlphaIdentifier("Sync"))
    raw = cmd.encode()
    assert raw[2:7] == bytes.fromhex("810303e003")
    assert raw[11:17] == bytes.fromhex("850453796e63")  # alpha (CR) before the sync objects
    back = decode_proactive(raw)
    assert isinstance(back, Synchronize) and back.confirm and back.background


def test_outcome_vector() -> None:
    o = SyncOutcome(2, 200, 1, 2, 3, 4, 5, 6, "20261124T000000Z", "20261124T010000Z")
    raw = o.encode()
    assert raw[:4] == bytes.fromhex("7fd31131")
    assert raw[4:19] == bytes.fromhex("02 00c8 0001 0002 0003 0004 0005 0006")
    assert raw[19] == 16 and raw[36] == 16
    assert SyncOutcome.decode(raw) == o
    assert o.ok and not SyncOutcome(1, 401).ok


def test_terminal_response_vector() -> None:
    cmd = sample_command()
    tr = synchronize_response(cmd, [SyncOutcome(1, 200, added_on_client=5)])
    assert tr.encode() == bytes.fromhex(
        "81 03 03 e0 00 82 02 82 81 83 01 00"
        " 7f d3 11 11 01 00c8 0005 0000 0000 0000 0000 0000 00 00"
    )
    back = TerminalResponse.decode(tr.encode())
    assert sync_outcomes(back) == (SyncOutcome(1, 200, added_on_client=5),)
    check_synchronize_response(cmd, back)


def test_md5_credential_is_b64_md5_of_account_password() -> None:
    c = SyncCredential.md5_of("alice", "secret")
    want = base64.b64encode(hashlib.md5(b"alice:secret").digest())
    assert c.kind is CredentialKind.MD5_DIGEST and c.data == want
    assert b"secret" not in c.encode()


# ----------------------------------------------------------------------------------- profile


def test_profile_bit_is_byte7_b8() -> None:
    assert SYNCHRONIZE_PROFILE_BIT == 55
    base = profile_for(TypeOfCommand.DISPLAY_TEXT)
    assert not supports_synchronize(base)
    assert not base.supports_command(sample_command())
    p = with_synchronize(base)
    raw = p.encode()
    assert len(raw) >= 7 and raw[6] & 0x80
    back = TerminalProfile.decode(raw)
    assert supports_synchronize(back) and back.supports_command(sample_command())
    # the other bits survive
    assert back.supports(TypeOfCommand.DISPLAY_TEXT)


def test_profile_bit_is_unnamed_rfu() -> None:
    from simsync.stk.profile import Capability

    assert SYNCHRONIZE_PROFILE_BIT not in {int(c) for c in Capability}


# ----------------------------------------------------------------------------------- checks


def test_check_response_requires_one_outcome_per_database() -> None:
    cmd = sample_command(databases=(CONTACTS, CALENDAR))
    ok = synchronize_response(cmd, [SyncOutcome(2, 200), SyncOutcome(1, 500)])
    check_synchronize_response(cmd, ok)
    for bad in (
        [SyncOutcome(1, 200)],
        [SyncOutcome(1, 200), SyncOutcome(1, 200)],
        [SyncOutcome(1, 200), SyncOutcome(2, 200), SyncOutcome(3, 200)],
    ):
        with pytest.raises(ResponseMismatchError):
            check_synchronize_response(cmd, synchronize_response(cmd, bad))
    # not performed: outcomes are optional
    busy = synchronize_response(cmd, [], Result.terminal_busy())
    check_synchronize_response(cmd, busy)
    # a response to another command number
    other = sample_command(number=4, databases=(CONTACTS, CALENDAR))
    with pytest.raises(ResponseMismatchError):
        check_synchronize_response(cmd, synchronize_response(other, [SyncOutcome(1, 200)]))


def test_command_validation() -> None:
    with pytest.raises(StkError):
        sample_command(databases=())
    with pytest.raises(StkError):
        sample_command(databases=(CONTACTS, CONTACTS))
    with pytest.raises(StkError):
        SyncDatabase(mode=199)
    with pytest.raises(StkError):
        SyncServer("")
    with pytest.raises(StkError):
        SyncCredential(7, b"")
    with pytest.raises(StkError):  # does not fit a proactive command
        sample_command(server=SyncServer("http://" + "x" * 250))


@pytest.mark.parametrize(
    "raw",
    [
        "7fd3050100",  # database truncated
        "7fd30503010000",  # mode 0
        "7fd305080100c8ff",  # length byte past the end
        "7fd305090100c80101410101",  # missing strings -> truncated
        "7fd30402ff00",  # device id not UTF-8
        "7fd3030100",  # empty credential value? kind 0 + no data is fine -> see below
        "7fd31103010000",  # outcome truncated
    ],
)
def test_malformed_objects_raise_codec_errors(raw: str) -> None:
    data = bytes.fromhex(raw)
    if raw == "7fd3030100":
        assert decode_objects(data) == (SyncCredential(CredentialKind.PASSWORD, b""),)
        return
    with pytest.raises(CodecError):
        decode_objects(data)


# ----------------------------------------------------------------------------------- SAN


def test_san_layout_and_digest() -> None:
    san = san_for("op-server", (CONTACTS, CALENDAR), "secret", session_id=0x1234)
    raw = san.encode()
    note = raw[16:]
    assert note[:7] == bytes.fromhex("03 08 00 00 00 12 34")  # version 12, server-initiated
    assert note[7] == 9 and note[8:17] == b"op-server"
    assert note[17] == 0x20  # two syncs
    assert note[18:22] == bytes.fromhex("60 00 00 07")  # two-way, text/x-vcard
    assert note[22] == 4 and note[23:27] == b"card"
    assert note[27:31] == bytes.fromhex("60 00 00 06")  # slow is alerted as two-way, vcalendar
    key = base64.b64encode(hashlib.md5(b"op-server:secret").digest())
    body = base64.b64encode(hashlib.md5(note).digest())
    assert raw[:16] == hashlib.md5(key + b"::" + body).digest()
    back = ServerAlertedNotification.decode(raw)
    assert back == san and back.verify("secret") and not back.verify("guess")
    assert SyncSan(raw).san == san


def test_san_rejects_future_bits() -> None:
    raw = bytearray(san_for("s", (CONTACTS,), "p").encode())
    raw[16 + 3] |= 0x01
    with pytest.raises(StkError):
        ServerAlertedNotification.decode(bytes(raw))


# ----------------------------------------------------------------------------------- round trips

utf8 = st.text(max_size=20)
nonempty = st.text(min_size=1, max_size=20)
u16 = st.integers(0, 0xFFFF)

databases = st.builds(
    SyncDatabase,
    st.integers(0, 255),
    nonempty,
    nonempty,
    utf8,
    st.text(max_size=5),
    st.sampled_from(list(SyncMode)),
    cr=st.booleans(),
)
outcomes = st.builds(
    SyncOutcome,
    st.integers(0, 255),
    u16,
    u16,
    u16,
    u16,
    u16,
    u16,
    u16,
    utf8,
    utf8,
    cr=st.booleans(),
)


@st.composite
def commands(draw):
    dbs = draw(st.lists(databases, min_size=1, max_size=3, unique_by=lambda d: d.ident))
    try:
        return Synchronize(
            server=SyncServer(draw(nonempty)),
            databases=tuple(dbs),
            account=draw(st.none() | st.builds(SyncAccount, utf8)),
            credential=draw(
                st.none()
                | st.builds(
                    SyncCredential,
                    st.just(CredentialKind.REFERENCE),
                    st.binary(max_size=8),
                )
                | st.builds(SyncCredential.md5_of, utf8, utf8)
            ),
            device=draw(st.none() | st.builds(SyncDeviceId, utf8)),
            confirm=draw(st.booleans()),
            background=draw(st.booleans()),
            number=draw(st.integers(0, 255)),
        )
    except StkError:  # over 255 bytes
        return sample_command()


@settings(max_examples=150, deadline=None)
@given(commands())
def test_command_round_trip(cmd: Synchronize) -> None:
    assert decode_proactive(cmd.encode()) == cmd


@settings(max_examples=150, deadline=None)
@given(outcomes)
def test_outcome_round_trip(o: SyncOutcome) -> None:
    assert SyncOutcome.decode(o.encode()) == o


@settings(max_examples=80, deadline=None)
@given(commands(), st.data())
def test_response_round_trip(cmd: Synchronize, data) -> None:
    outs = [data.draw(outcomes).__class__(d.ident, 200) for d in cmd.databases]
    tr = synchronize_response(cmd, outs)
    back = TerminalResponse.decode(tr.encode())
    assert back == tr
    check_synchronize_response(cmd, back)


@settings(max_examples=100, deadline=None)
@given(
    st.text(max_size=16),
    u16,
    st.lists(st.builds(SanSync, st.integers(6, 10), st.integers(0, 0xFFFFFF), utf8), max_size=4),
    st.binary(max_size=8),
    st.text(max_size=8),
)
def test_san_round_trip(server_id, session, syncs, vendor, password) -> None:
    san = ServerAlertedNotification(server_id, session, tuple(syncs), vendor=vendor).signed(
        password
    )
    assert ServerAlertedNotification.decode(san.encode()) == san
    assert san.verify(password)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_fuzz_decode_only_codec_errors(raw: bytes) -> None:
    for blob in (
        bytes.fromhex("7fd305") + bytes((len(raw),)) + raw,
        bytes.fromhex("7fd311") + bytes((len(raw),)) + raw,
    ):
        try:
            decode_objects(blob)
        except CodecError:
            pass


def test_general_result_not_performed_carries_no_outcomes() -> None:
    cmd = sample_command()
    tr = synchronize_response(cmd, [], GeneralResult.USER_DID_NOT_ACCEPT)
    back = TerminalResponse.decode(tr.encode())
    assert back.result.general == GeneralResult.USER_DID_NOT_ACCEPT
    assert sync_outcomes(back) == ()
