"""Property tests of the sync applet's own codecs (install parameters, STORE DATA templates, the
SMS trigger, GET SYNC STATUS) and of the SMS-DELIVER parser of the toolkit runtime."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.apdu.errors import CodecError
from simsync.card.applets.sync import (
    DatabaseConfig,
    DatabaseState,
    InstallParams,
    ProfileConfig,
    ProfileDelete,
    ProfileState,
    SyncTrigger,
    decode_status,
    encode_status,
    parse_store_data,
    store_data_apdus,
)
from simsync.card.toolkit import SmsDeliver
from simsync.stk.synchronize import CredentialKind, SyncMode

text = st.text(max_size=16)
nonempty = st.text(min_size=1, max_size=16)
url_chars = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789:/.-_", min_size=1, max_size=30)

databases = st.builds(
    DatabaseConfig,
    st.integers(0, 255),
    nonempty,
    nonempty,
    text,
    st.text(max_size=4),
    st.sampled_from(list(SyncMode)),
)


@st.composite
def profiles(draw):
    dbs = draw(st.lists(databases, min_size=1, max_size=4, unique_by=lambda d: d.ident))
    form = draw(st.sampled_from(list(CredentialKind)))
    return ProfileConfig(
        draw(st.integers(1, 255)),
        draw(st.one_of(st.just(""), url_chars)),
        tuple(dbs),
        draw(text),
        draw(st.none() | text),
        draw(st.integers(0, 359999)),
        draw(text),
        form,
        draw(st.binary(min_size=1, max_size=4)) if form == CredentialKind.REFERENCE else b"",
        draw(text),
        draw(st.binary(max_size=4)),
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(profiles(), st.builds(ProfileDelete, st.integers(1, 255))), min_size=1, max_size=3
    ),
    st.integers(8, 120),
)
def test_store_data_round_trip_through_blocks(items, block):
    apdus = store_data_apdus(items, block=block)
    assert [a.p2 for a in apdus] == list(range(len(apdus)))
    assert [a.p1 for a in apdus] == [0x00] * (len(apdus) - 1) + [0x80]
    assert parse_store_data(b"".join(a.data for a in apdus)) == tuple(items)


@settings(max_examples=100, deadline=None)
@given(profiles())
def test_profile_json_round_trip(p):
    assert ProfileConfig.from_json(p.to_json()) == p


@settings(max_examples=100, deadline=None)
@given(text, nonempty, text, st.one_of(st.just(""), url_chars))
def test_install_params_round_trip(title, entry, server, portal):
    try:
        p = InstallParams(title, entry, server, portal)
    except CodecError:
        return  # e.g. a title the SIM alphabet cannot carry
    assert InstallParams.decode(p.encode()) == p


@given(st.integers(0, 255), st.booleans(), st.booleans())
def test_trigger_round_trip(profile, confirm, background):
    t = SyncTrigger(profile, confirm, background)
    assert SyncTrigger.decode(t.encode()) == t


@settings(max_examples=100, deadline=None)
@given(profiles(), st.data())
def test_status_round_trip(cfg, data):
    dbs = {
        d.ident: DatabaseState(
            data.draw(st.none() | st.integers(0, 0xFFFF)),
            tuple(data.draw(st.lists(st.integers(0, 0xFFFF), min_size=6, max_size=6))),
            data.draw(text),
            data.draw(text),
            data.draw(st.integers(0, 255)),
        )
        for d in cfg.databases
    }
    st_ = ProfileState(
        cfg,
        dbs,
        data.draw(st.integers(0, 10**6)),
        data.draw(st.booleans()),
        data.draw(st.integers(0, 0xFFFF)),
        data.draw(st.none() | st.integers(0, 255)),
        data.draw(st.none() | st.integers(1, 4)),
    )
    (back,) = decode_status(encode_status([st_]))
    assert back.ident == cfg.ident and back.period == cfg.period
    assert back.elapsed == st_.elapsed and back.due_in == st_.due_in()
    assert back.in_progress == st_.in_progress
    assert back.credential_stored == (cfg.password is not None)
    assert (back.attempts, back.last_result, back.last_trigger) == (
        st_.attempts,
        st_.last_result,
        st_.last_trigger,
    )
    for d, s in zip(cfg.databases, back.databases, strict=True):
        want = dbs[d.ident]
        assert (s.ident, s.mode, s.status, s.counts) == (d.ident, d.mode, want.status, want.counts)
        assert (s.last_anchor, s.next_anchor, s.failures) == (
            want.last_anchor,
            want.next_anchor,
            want.failures,
        )
    # the report does not depend on the password's value (it is never returned)
    if cfg.password is not None:
        from dataclasses import replace

        other = ProfileState(
            replace(cfg, password=cfg.password + "x"),
            dbs,
            st_.elapsed,
            st_.in_progress,
            st_.attempts,
            st_.last_result,
            st_.last_trigger,
        )
        assert encode_status([other]) == encode_status([st_])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_store_data_parser_raises_only_codec_errors(raw):
    try:
        parse_store_data(raw)
    except CodecError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_sms_parser_raises_only_codec_errors(raw):
    try:
        SmsDeliver.parse(raw)
    except CodecError:
        pass


@settings(max_examples=200, deadline=None)
@given(profiles(), st.data())
def test_status_parser_raises_only_codec_errors(cfg, data):
    """GET SYNC STATUS data may come from any card (pcsc:): a damaged answer is a CodecError,
    not a KeyError / IndexError traceback."""
    raw = bytearray(encode_status([ProfileState(cfg)]))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    for blob in (bytes(raw), bytes(raw[:cut]), bytes.fromhex("E000"), bytes.fromhex("E0028400")):
        try:
            decode_status(blob)
        except CodecError:
            pass
