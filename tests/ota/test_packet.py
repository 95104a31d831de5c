"""TS 102 225 secured packets (SMS dialect): the published vectors (osmocom/pysim
tests/unittests/test_ota.py, cards of type SJA5 and sysmoUSIM) and round-trip properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simsync.ota import (
    MAX_COUNTER,
    Algorithm,
    CounterMode,
    Integrity,
    KeySet,
    OtaError,
    OtaKey,
    OtaSecurityError,
    PorRequest,
    ResponsePacket,
    ResponseStatus,
    Spi,
    counter_status,
    decode_response,
    encode_response,
    open_command,
    parse_command,
    secure_command,
)

AES = KeySet(
    OtaKey(Algorithm.AES, 2, bytes.fromhex("200102030405060708090a0b0c0d0e0f")),
    OtaKey(Algorithm.AES, 2, bytes.fromhex("201102030405060708090a0b0c0d0e0f")),
)
TDES = KeySet(
    OtaKey(Algorithm.TDES_2KEY, 3, bytes.fromhex("300102030405060708090a0b0c0d0e0f")),
    OtaKey(Algorithm.TDES_2KEY, 3, bytes.fromhex("301102030405060708090a0b0c0d0e0f")),
)
TDES_K3 = KeySet(
    OtaKey(Algorithm.TDES_2KEY, 3, bytes.fromhex("C21DD66ACAC13CB3BC8B331B24AFB57B")),
    OtaKey(Algorithm.TDES_2KEY, 3, bytes.fromhex("12110C78E678C25408233076AA033615")),
)
SELECT_MF = bytes.fromhex("00a40004023f00")
USIM_RFM = bytes.fromhex("B00011")

# (keys, SPI, command packet of SELECT MF to TAR B00011 with counter 0, PoR of that command)
VECTORS = [
    pytest.param(
        TDES, "0619",
        "00201506193535b00011ae733256918d050b87c94fbfe12e4dc402f262c41cf67f2f",
        "027100001c12b000118bb989492c632529326a2f4681feb37c825bc9021c9f6d0b",
        id="3DES-ciphered-CC-PoR-ciphered-CC",
    ),
    pytest.param(
        TDES, "0609",
        "00201506093535b00011c49ac91ab8159ba5b83a54fb6385e0a5e31694f8b215fafc",
        "027100001612b0001100000000000000b5bcd6353a421fae016132",
        id="3DES-ciphered-CC-PoR-CC",
    ),
    pytest.param(
        TDES, "0601",
        "00201506013535b000113190be334900f52b025f3f7eddfe868e96ebf310023b7769",
        "027100000e0ab0001100000000000000016132",
        id="3DES-ciphered-CC-PoR-plain",
    ),
    pytest.param(
        AES, "0619",
        "00281506192222b00011e87cceebb2d93083011ce294f93fc4d8de80da1abae8c37ca3e72ec4432e5058",
        "027100002412b00011ebc6b497e2cad7aedf36ace0e3a29b38853f0fe9ccde81913be5702b73abce1f",
        id="AES128-ciphered-CC-PoR-ciphered-CC",
    ),
]


@pytest.mark.parametrize(("keys", "spi", "command", "por"), VECTORS)
def test_command_vectors(keys, spi, command, por):
    s = Spi.decode(bytes.fromhex(spi))
    assert s.ciphered and s.integrity is Integrity.CC and s.counter is CounterMode.NONE
    assert s.por is PorRequest.ALWAYS
    raw = secure_command(s, keys, USIM_RFM, 0, SELECT_MF)
    assert raw.hex() == command
    packet = open_command(raw, keys)
    assert (packet.spi, packet.tar, packet.counter, packet.data) == (s, USIM_RFM, 0, SELECT_MF)


@pytest.mark.parametrize(("keys", "spi", "command", "por"), VECTORS)
def test_response_vectors(keys, spi, command, por):
    s = Spi.decode(bytes.fromhex(spi))
    r = decode_response(bytes.fromhex(por), s, keys)
    # TS 102 226 compact response: one command, last status word 61 32
    assert r == ResponsePacket(USIM_RFM, 0, ResponseStatus.POR_OK, bytes.fromhex("016132"))
    assert encode_response(r, s, keys).hex() == por


def test_3des_vectors_without_ciphering():
    """pySim prints these two without their CPL; the CC (computed with the CPL) is theirs."""
    ram, apdu = bytes.fromhex("b00000"), bytes.fromhex("00a40000023f00")
    signed = Spi(Integrity.CC, False, CounterMode.NONE, PorRequest.ALWAYS, Integrity.CC, True)
    raw = secure_command(signed, TDES_K3, ram, 0, apdu)
    assert raw.hex() == "001d" "1502193535b00000000000000000072ea17bdb72060e00a40000023f00"
    plain = Spi(Integrity.NONE, False, CounterMode.NONE, PorRequest.ALWAYS, Integrity.CC, True)
    raw = secure_command(plain, TDES_K3, ram, 0, apdu)
    assert raw.hex() == "0015" "0d00193535b0000000000000000000a40000023f00"
    ciphered = Spi(Integrity.NONE, True, CounterMode.NONE, PorRequest.ALWAYS, Integrity.CC, True)
    raw = secure_command(ciphered, TDES_K3, ram, 0, apdu)
    assert raw.hex() == "00180d04193535b00000e3ec80a849b554421276af3883927c20"
    assert open_command(raw, TDES_K3).data == apdu


def test_por_vectors_with_the_other_3des_keys():
    s = Spi(Integrity.CC, True, CounterMode.NONE, PorRequest.ALWAYS, Integrity.CC, True)
    r = decode_response(bytes.fromhex(
        "027100001c12b000119660ebdb81be189b5e4389e9e7ab2bc0954f963ad869ed7c"), s, TDES_K3)
    assert r.status is ResponseStatus.POR_OK and r.data == bytes.fromhex("01612f")
    signed = Spi(Integrity.CC, True, CounterMode.NONE, PorRequest.ALWAYS, Integrity.CC, False)
    good = "027100001612b000110000000000000055f47118381175fb01612f"
    assert decode_response(bytes.fromhex(good), signed, TDES_K3).data == bytes.fromhex("01612f")
    bad = good.replace("fb01612f", "fb02612f")  # one data octet changed: the CC fails
    with pytest.raises(OtaSecurityError) as e:
        decode_response(bytes.fromhex(bad), signed, TDES_K3)
    assert e.value.status is ResponseStatus.RC_CC_DS_FAILED


def test_spi_bits():
    spi = Spi(Integrity.CC, True, CounterMode.ONE_HIGHER, PorRequest.ON_ERROR, Integrity.CC,
              True, True)
    assert spi.encode() == bytes((0b0001_1110, 0b0011_1010))
    for bad in ("2000", "0040", "0003"):  # reserved bits, PoR request 11
        with pytest.raises(OtaError):
            Spi.decode(bytes.fromhex(bad))


def test_key_identifiers_and_lengths():
    assert AES.kic.identifier == 0x22 and TDES.kid.identifier == 0x35
    assert OtaKey(Algorithm.TDES_3KEY, 1, bytes(24)).identifier == 0x19
    with pytest.raises(OtaError):
        OtaKey(Algorithm.AES, 1, bytes(15))
    with pytest.raises(OtaError):
        OtaKey(Algorithm.AES, 0, bytes(16))


@pytest.mark.parametrize(
    ("mode", "received", "stored", "status"),
    [
        (CounterMode.NONE, 0, 5, ResponseStatus.POR_OK),
        (CounterMode.AVAILABLE, 3, 5, ResponseStatus.POR_OK),
        (CounterMode.HIGHER, 5, 5, ResponseStatus.CNTR_LOW),
        (CounterMode.HIGHER, 4, 5, ResponseStatus.CNTR_LOW),
        (CounterMode.HIGHER, 9, 5, ResponseStatus.POR_OK),
        (CounterMode.ONE_HIGHER, 6, 5, ResponseStatus.POR_OK),
        (CounterMode.ONE_HIGHER, 7, 5, ResponseStatus.CNTR_HIGH),
        (CounterMode.ONE_HIGHER, 5, 5, ResponseStatus.CNTR_LOW),
        (CounterMode.HIGHER, MAX_COUNTER, MAX_COUNTER, ResponseStatus.CNTR_BLOCKED),
    ],
)
def test_counter_rules(mode, received, stored, status):
    assert counter_status(mode, received, stored) is status


def test_tampering_is_detected():
    spi = Spi()
    raw = bytearray(secure_command(spi, AES, b"\xc0SY", 7, b"SIMSYNC\x01\x00\x02"))
    for i in range(10, len(raw)):  # any octet of the enciphered part
        bad = bytearray(raw)
        bad[i] ^= 0x01
        with pytest.raises(OtaSecurityError) as e:
            open_command(bytes(bad), AES)
        assert e.value.status is ResponseStatus.RC_CC_DS_FAILED
    other = KeySet(OtaKey(Algorithm.AES, 2, bytes(16)), OtaKey(Algorithm.AES, 2, bytes(16)))
    with pytest.raises(OtaSecurityError):
        open_command(bytes(raw), other)
    wrong_version = KeySet(OtaKey(Algorithm.AES, 3, AES.kic.value), AES.kid)
    with pytest.raises(OtaSecurityError) as e:
        open_command(bytes(raw), wrong_version)
    assert e.value.status is ResponseStatus.UNIDENTIFIED_SECURITY_ERROR


@pytest.mark.parametrize("raw", ["", "0001", "00100d0000", "00ff1502193535b00000"])
def test_garbage_is_a_codec_error(raw):
    with pytest.raises(OtaError):
        parse_command(bytes.fromhex(raw))


def keysets() -> st.SearchStrategy[KeySet]:
    def key(algo: Algorithm) -> st.SearchStrategy[OtaKey]:
        n = {Algorithm.AES: 16, Algorithm.TDES_2KEY: 16, Algorithm.TDES_3KEY: 24}[algo]
        return st.builds(OtaKey, st.just(algo), st.integers(1, 15), st.binary(min_size=n,
                                                                               max_size=n))

    algos = st.sampled_from(list(Algorithm))
    return st.builds(KeySet, algos.flatmap(key), algos.flatmap(key))


spis = st.builds(
    Spi,
    st.sampled_from([Integrity.NONE, Integrity.CC]),
    st.booleans(),
    st.sampled_from(list(CounterMode)),
    st.sampled_from(list(PorRequest)),
    st.sampled_from([Integrity.NONE, Integrity.CC]),
    st.booleans(),
    st.booleans(),
)


@given(spi=spis, keys=keysets(), tar=st.binary(min_size=3, max_size=3),
       counter=st.integers(0, MAX_COUNTER), data=st.binary(max_size=100))
def test_command_round_trip(spi, keys, tar, counter, data):
    raw = secure_command(spi, keys, tar, counter, data)
    assert Spi.decode(spi.encode()) == spi
    h = parse_command(raw)
    assert (h.spi, h.tar) == (spi, tar)
    p = open_command(raw, keys)
    assert (p.spi, p.tar, p.counter, p.data) == (spi, tar, counter, data)
    assert (p.kic, p.kid) == (keys.kic.identifier, keys.kid.identifier)


@given(spi=spis, keys=keysets(), tar=st.binary(min_size=3, max_size=3),
       counter=st.integers(0, MAX_COUNTER), status=st.sampled_from(list(ResponseStatus)),
       data=st.binary(max_size=60), secured=st.booleans())
def test_response_round_trip(spi, keys, tar, counter, status, data, secured):
    r = ResponsePacket(tar, counter, status, data)
    if not secured:
        spi = Spi(spi.integrity, spi.ciphered, spi.counter, spi.por)
    raw = encode_response(r, spi, keys if secured else None)
    assert decode_response(raw, spi, keys if secured else None) == r


@given(st.binary(min_size=2, max_size=2))
def test_spi_decode_is_total(raw):
    """Any two octets: an SPI that encodes back to them, or an OtaError."""
    try:
        spi = Spi.decode(raw)
    except OtaError:
        return
    assert spi.encode() == raw


@given(st.binary(max_size=80), keysets())
def test_garbage_never_escapes_as_another_error(raw, keys):
    try:
        parse_command(raw)
        open_command(raw, keys)
    except OtaError:
        pass
