"""GP data codecs: every codec's own vectors (checked generically), hypothesis round trips, rejects."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simsync.gp
from simsync.apdu.tlv import Tlv
from simsync.gp.errors import GpCodecError
from simsync.gp.tlv import (
    ApplicationLifeCycle,
    CardLifeCycle,
    CardRecognitionData,
    Cplc,
    GetStatusQuery,
    InstallForInstall,
    InstallForLoad,
    InstallForMakeSelectable,
    InstallForPersonalization,
    InstallParameters,
    KeyInformation,
    LoadParameters,
    Privileges,
    RegistryEntry,
    SecurityDomainLifeCycle,
    application_state_name,
    encode_get_status,
    encode_key_information_template,
    parse_get_status,
    parse_key_information_template,
)


def _codecs_with_vectors() -> list[tuple[str, type, str, object]]:
    out = []
    for info in pkgutil.iter_modules(simsync.gp.__path__):
        mod = importlib.import_module(f"simsync.gp.{info.name}")
        for name, obj in vars(mod).items():
            if isinstance(obj, type) and obj.__module__ == mod.__name__ and getattr(obj, "_test_vectors", None):
                for i, (hx, decoded) in enumerate(obj._test_vectors):
                    out.append((f"{info.name}.{name}[{i}]", obj, hx, decoded))
    return out


VECTORS = _codecs_with_vectors()


def test_vector_inventory() -> None:
    names = {v[0].split("[")[0] for v in VECTORS}
    for expected in ("tlv.InstallParameters", "tlv.KeyInformation", "tlv.RegistryEntry", "tlv.Cplc",
                     "scp03.InitializeUpdateResponse", "scp02.Scp02InitializeUpdateResponse",
                     "tlv.CardRecognitionData", "tlv.InstallForLoad"):
        assert expected in names


@pytest.mark.parametrize("name,cls,hx,decoded", VECTORS, ids=[v[0] for v in VECTORS])
def test_codec_vectors(name: str, cls: type, hx: str, decoded: object) -> None:
    raw = bytes.fromhex(hx)
    assert cls.parse(raw) == decoded
    assert decoded.to_bytes() == raw


# -- privileges and life cycles -----------------------------------------------------------------

def test_privilege_coding() -> None:
    assert Privileges.DAP_VERIFICATION.to_bytes() == bytes.fromhex("C00000")
    assert Privileges.MANDATED_DAP_VERIFICATION.to_bytes() == bytes.fromhex("C10000")
    assert Privileges.DELEGATED_MANAGEMENT.to_bytes() == bytes.fromhex("A00000")
    assert Privileges.AUTHORIZED_MANAGEMENT.to_bytes() == bytes.fromhex("004000")
    assert Privileges.RECEIPT_GENERATION.to_bytes() == bytes.fromhex("000080")
    assert Privileges.SECURITY_DOMAIN.to_bytes(1) == b"\x80"
    assert Privileges.parse(b"\xc0") == Privileges.DAP_VERIFICATION
    p = Privileges.parse(bytes.fromhex("C1E000"))
    assert p.names() == ["security_domain", "dap_verification", "mandated_dap_verification",
                         "trusted_path", "authorized_management", "token_verification"]
    with pytest.raises(GpCodecError):
        Privileges.TRUSTED_PATH.to_bytes(1)
    with pytest.raises(GpCodecError):
        Privileges.parse(b"\x80\x00")
    with pytest.raises(GpCodecError):
        Privileges.parse(b"\x80\x00\x01")


def test_life_cycles() -> None:
    assert CardLifeCycle(0x0F) is CardLifeCycle.SECURED
    assert SecurityDomainLifeCycle.PERSONALIZED == 0x0F
    assert ApplicationLifeCycle.LOCKED == 0x83
    assert application_state_name(0x07) == "selectable"
    assert application_state_name(0x1F) == "application specific (1F)"
    assert application_state_name(0x87) == "locked"
    assert application_state_name(0x05).startswith("invalid")


# -- hypothesis round trips --------------------------------------------------------------------

aids = st.binary(min_size=5, max_size=16)
opt_aids = st.one_of(st.just(b""), aids)
privs = st.integers(0, 0xFFFFF0).map(lambda v: Privileges(v & ~0x0F))
quotas = st.one_of(st.none(), st.integers(0, 0xFFFFFFFF))


@settings(max_examples=60, deadline=None)
@given(aids, opt_aids, st.binary(max_size=64), st.builds(LoadParameters, quotas, quotas, quotas),
       st.binary(max_size=300))
def test_install_for_load_round_trip(elf, sd, h, lp, token) -> None:
    obj = InstallForLoad(elf, sd, h, lp.to_bytes(), token)
    assert InstallForLoad.parse(obj.to_bytes()) == obj
    assert LoadParameters.parse(obj.load_parameters) == lp


install_params = st.builds(
    InstallParameters, st.binary(max_size=200), quotas, quotas, st.one_of(st.none(), st.binary(max_size=40)),
    st.lists(st.integers(0, 255), max_size=3).map(tuple),
    st.lists(st.builds(Tlv, st.sampled_from([0xCB, 0xD7, 0xD8, 0xEA]), st.binary(max_size=8)),
             max_size=2).map(tuple),
    st.one_of(st.none(), st.binary(max_size=20)), st.one_of(st.none(), st.binary(max_size=20)),
)


@settings(max_examples=60, deadline=None)
@given(aids, aids, aids, privs, install_params, st.binary(max_size=260), st.booleans())
def test_install_for_install_round_trip(elf, mod, app, priv, params, token, sel) -> None:
    obj = InstallForInstall(elf, mod, app, priv, params.to_bytes(), token, sel)
    assert InstallForInstall.parse(obj.to_bytes(), sel) == obj
    assert InstallParameters.parse(obj.parameters) == params
    assert obj.p1 == (0x0C if sel else 0x04)


@settings(max_examples=40, deadline=None)
@given(aids, privs, st.sampled_from([1, 3]), install_params, st.binary(max_size=200))
def test_install_for_make_selectable_round_trip(aid, priv, plen, params, token) -> None:
    if plen == 1:
        priv = Privileges(priv & 0xFF0000)
    obj = InstallForMakeSelectable(aid, priv, params.to_bytes(), token, plen)
    assert InstallForMakeSelectable.parse(obj.to_bytes()) == obj


def test_memory_sizes_switch_to_four_bytes_above_32767() -> None:
    assert LoadParameters(32767).to_bytes() == bytes.fromhex("EF04C6027FFF")
    assert LoadParameters(32768).to_bytes() == bytes.fromhex("EF06C60400008000")
    with pytest.raises(GpCodecError):
        LoadParameters.parse(bytes.fromhex("EF04C6028000"))  # non-canonical


@settings(max_examples=30, deadline=None)
@given(aids)
def test_install_for_personalization_round_trip(aid) -> None:
    obj = InstallForPersonalization(aid)
    assert InstallForPersonalization.parse(obj.to_bytes()) == obj


registry_entries = st.builds(
    RegistryEntry, aids, st.integers(0, 255), st.one_of(st.none(), privs), st.one_of(st.none(), aids),
    st.one_of(st.none(), opt_aids), st.one_of(st.none(), st.binary(min_size=2, max_size=2)),
    st.lists(aids, max_size=3).map(tuple), st.lists(st.integers(0, 255), max_size=2).map(tuple),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(registry_entries, max_size=5))
def test_get_status_round_trip(entries) -> None:
    assert parse_get_status(encode_get_status(entries)) == entries


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=16), st.lists(st.sampled_from([0x4F, 0x9F70, 0xC5, 0xC4, 0xCC, 0xCE, 0x84]),
                                         max_size=6).map(tuple))
def test_get_status_query_round_trip(aid, tags) -> None:
    q = GetStatusQuery(aid, tags)
    assert GetStatusQuery.parse(q.to_bytes()) == q


@settings(max_examples=40, deadline=None)
@given(st.lists(st.builds(KeyInformation, st.integers(0, 255), st.integers(0, 255),
                          st.lists(st.tuples(st.integers(0, 0xFE), st.integers(0, 255)), min_size=1,
                                   max_size=3).map(tuple)), max_size=6))
def test_key_information_round_trip(keys) -> None:
    assert parse_key_information_template(encode_key_information_template(keys)) == keys


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 127), min_size=1, max_size=4).map(tuple), st.integers(0, 255),
       st.integers(0, 255), st.one_of(st.none(), st.binary(max_size=20)), st.one_of(st.none(), st.binary(max_size=20)))
def test_card_recognition_round_trip(version, scp, i, conf, chip) -> None:
    crd = CardRecognitionData(version, scp, i, conf, chip)
    assert CardRecognitionData.parse(crd.to_bytes()) == crd


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=42, max_size=42), st.booleans())
def test_cplc_round_trip(raw, with_tag) -> None:
    cplc = Cplc.parse(raw)
    assert cplc.to_bytes(with_tag=False) == raw
    assert Cplc.parse(cplc.to_bytes(with_tag)) == cplc


# -- rejects -----------------------------------------------------------------------------------

@pytest.mark.parametrize("cls,raw", [
    (InstallForLoad, ""), (InstallForLoad, "0501020304"), (InstallForLoad, "03010203000000"),
    (InstallForLoad, "0501020304050000000000"),
    (InstallForInstall, "050102030405"), (InstallForInstall, "0501020304050601020304050107010203040501020280000002c90000"),
    (InstallForPersonalization, "0102000501020304050000"), (InstallForPersonalization, "000005010203040500000001"),
    (InstallParameters, ""), (InstallParameters, "ef00"), (InstallParameters, "c900c900"),
    (InstallParameters, "c900ea00ea00"), (InstallParameters, "c900b600ef00"), (InstallForMakeSelectable, "0100"),
    (LoadParameters, "c9020000"), (LoadParameters, "ef03c60100"),
    (RegistryEntry, "e3039f7001"), (RegistryEntry, "e303c50100"), (RegistryEntry, "6f00"),
    (RegistryEntry, "e3064f03010203"), (KeyInformation, "c0020101"), (KeyInformation, "c006010280"),
    (KeyInformation, "c0060102ff8810"), (CardRecognitionData, "6600"), (CardRecognitionData, "66027300"),
    (Cplc, "9f7f2a00"), (Cplc, "00" * 41), (GetStatusQuery, "5c00"), (GetStatusQuery, "4f005c019f"),
])
def test_malformed_rejected(cls: type, raw: str) -> None:
    with pytest.raises(GpCodecError):
        cls.parse(bytes.fromhex(raw))


def test_aid_length_checked() -> None:
    with pytest.raises(GpCodecError):
        InstallForLoad(b"\x01\x02")
    with pytest.raises(GpCodecError):
        InstallForPersonalization(bytes(17))


# -- robustness: arbitrary bytes give a value or a GpCodecError, nothing else ---------------------

_FUZZ_TARGETS = sorted({cls for _, cls, _, _ in VECTORS}, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", _FUZZ_TARGETS, ids=lambda c: c.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=80))
def test_parsers_fail_only_with_codec_errors(cls: type, data: bytes) -> None:
    try:
        cls.parse(data)
    except GpCodecError:
        pass


@pytest.mark.parametrize("cls", _FUZZ_TARGETS, ids=lambda c: c.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_parsers_survive_mutated_vectors(cls: type, data) -> None:
    hx, _ = data.draw(st.sampled_from(list(cls._test_vectors)))
    raw = bytearray(bytes.fromhex(hx))
    if raw:
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        cls.parse(bytes(raw[:cut]))
    except GpCodecError:
        pass


@settings(max_examples=40, deadline=None)
@given(aids, st.one_of(st.none(), st.binary(max_size=30)), st.one_of(st.none(), st.binary(max_size=130)))
def test_delete_data_round_trip(aid, crt, token) -> None:
    from simsync.gp.tlv import DeleteData

    d = DeleteData(aid, crt, token)
    assert DeleteData.parse(d.to_bytes()) == d
    assert d.to_bytes().startswith(d.data_without_token())


def test_key_information_for_a_key_set() -> None:
    from simsync.gp.keys import KeyType, StaticKeys, key_information

    infos = key_information(StaticKeys.single(bytes(32), 0x32), KeyType.AES)
    raw = encode_key_information_template(infos)
    # pySim key_information.ok: ids 1..3, KVN 0x32, AES 32-byte keys
    assert raw == bytes.fromhex("E012C00401328820C00402328820C00403328820")
    assert parse_key_information_template(raw) == infos


@settings(max_examples=60, deadline=None)
@given(privs)
def test_privileges_round_trip(p: Privileges) -> None:
    assert Privileges.parse(p.to_bytes()) == p
    if not p & 0xFFFF:
        assert Privileges.parse(p.to_bytes(1)) == p
    names = p.names()
    assert ("security_domain" in names) == bool(p & Privileges.SECURITY_DOMAIN)


def test_install_parameters_accept_legacy_80_length() -> None:
    # a 128-byte parameter field with its length coded '80' (allowed for backward compatibility)
    params = InstallParameters(bytes(126)).to_bytes()
    assert len(params) == 128
    legacy = bytes.fromhex("0501020304050601020304050106010203040501" + "0100") + b"\x80" + params + b"\x00"
    got = InstallForInstall.parse(legacy)
    assert got.parameters == params and got.to_bytes() != legacy  # re-encoded canonically as '81 80'


@settings(max_examples=40, deadline=None)
@given(st.lists(registry_entries, max_size=12), st.integers(60, 256))
def test_get_status_pages(entries, limit) -> None:
    from simsync.gp.tlv import get_status_pages

    if any(len(e.to_bytes()) > limit for e in entries):
        with pytest.raises(GpCodecError):
            get_status_pages(entries, limit)
        return
    pages = get_status_pages(entries, limit)
    assert all(len(p) <= limit for p in pages)
    assert [e for p in pages for e in parse_get_status(p)] == entries
    assert all(pages[:-1]) and (len(pages) == 1 or all(pages))
