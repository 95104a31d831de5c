"""Real-card traces published with miketlk/omfgp (tests/omfgp/scp_test.py, scp03_test.py,
scp02_test.py): a card with the default 40..4F keys, GET STATUS under SCP03 at levels 01, 11, 13, 33
(with R-MAC and R-ENCRYPTION) and under SCP02 at levels 01 and 03. Both roles replay them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.gp.keys import DEFAULT_KEY, StaticKeys, dek_decrypt_aes, dek_encrypt_aes
from simsync.gp.scp02 import (
    CONST_C_MAC,
    CONST_ENC,
    CONST_R_MAC,
    Scp02InitializeUpdateResponse,
    Scp02Session,
    derive_session_key,
)
from simsync.gp.scp03 import (
    DERIV_CARD_CRYPTOGRAM,
    DERIV_HOST_CRYPTOGRAM,
    DERIV_S_ENC,
    DERIV_S_MAC,
    DERIV_S_RMAC,
    InitializeUpdateResponse,
    Scp03Session,
    kdf,
    pseudo_random_card_challenge,
)
from simsync.gp.tlv import RegistryEntry, parse_get_status

h = bytes.fromhex
ISD = h("A000000151000000")

ISD_RECORD = "E3264F08A0000001510000009F700101C5039EFE80C407A0000001515350CC08A000000151000000"
ELF_RECORD = "E3254F07A00000015153509F700101CE02FFFF8408A000000151535041CC08A000000151000000"


@dataclass(frozen=True)
class Step:
    p1: int
    wire: str
    response: str
    sw: int
    plain: str


@dataclass(frozen=True)
class Trace:
    name: str
    host_challenge: str
    iu_response: str
    ea_data: str
    level: int
    steps: tuple[Step, ...]


SCP03_TRACES = (
    Trace("L01_random", "68E9C8799FF8CB46", "00008048007283073469FF0300F8D89D88BA1287BF9B5C9D42D5059430",
          "F3C7624565B5894F16EF5681573C34A2", 0x01, (
              Step(0x80, "84F280020A4F004C4C51B5DFA7A181", "", 0x9000, ""),
              Step(0x40, "84F240020A4F002108D3E0BA43B673", "", 0x6A88, ""))),
    Trace("L11", "CB6DA009E0404A67", "0000013628140599538231037021428DA9468C2D5A8D05CE9657FBD5ED00001D",
          "CC606C998B98BF8AF0746E4F50D3F65E", 0x11, (
              Step(0x80, "84F280020A4F002987243A9C15F44A", ISD_RECORD + "7D5F8BBC66683F42", 0x9000, ISD_RECORD),
              Step(0x40, "84F240020A4F00EB20CB18E1CE889F", "", 0x6A88, ""),
              Step(0x10, "84F210020A4F00B334705EAFAB9FB1", ELF_RECORD + "4457D7641E95465F", 0x9000, ELF_RECORD))),
    Trace("L13", "F70E1C5D67085E4B", "000001362814059953823103707B9EAD94A8B88028F47137A2FB093F5E000021",
          "2E2057B873FCD25D175D4D63C5CD4CEB", 0x13, (
              Step(0x80, "84F2800218E9170B7D79EA80AF507247375BB3F8EDE6F54FDD858BAE89",
                   ISD_RECORD + "707D9895B36C6F6B", 0x9000, ISD_RECORD),
              Step(0x40, "84F240021804B77FFA640854E3BA8611F944C9B99F938E8E1A5FF70E98", "", 0x6A88, ""),
              Step(0x10, "84F2100218291B45B303C43B6222834BC0011A83A91BDD0CFD8BACD09B",
                   ELF_RECORD + "39B68A29F735CFCC", 0x9000, ELF_RECORD))),
    Trace("L33", "0C980267C298D194", "00000136281405995382310370730BE014C03B4558A2155798D5B2C602000023",
          "9716680D938E0CE764738F77E5E39408", 0x33, (
              Step(0x80, "84F2800218AFB12C966FF538690FA04199550D8E93AF7F2569E92DEC66",
                   "0C7A219212D7B6E7B1F602BA291660368CA6E7C959E343FDBCDA20285A5A2A52"
                   "143C8AA1ED5580A5DDB8A1D54730F461424520A6C56622FD", 0x9000, ISD_RECORD),
              Step(0x40, "84F240021851EF5596042E756C67E7A031A33F88C25E0F05398B4ADFBA", "", 0x6A88, ""),
              Step(0x10, "84F2100218CEB683FB79244285024670A969C17182CE2534871478DDA2",
                   "123AB3A33146D67BC317E3873631F83DFC1C680D88E8147DD9CB2899433878847B911D7678CA68"
                   "79E2FD674F02A778D56B563952AFA82611", 0x9000, ELF_RECORD))),
)


def get_status(p1: int) -> CommandApdu:
    return CommandApdu(0x80, 0xF2, p1, 0x02, h("4F00"))


@pytest.mark.parametrize("t", SCP03_TRACES, ids=[t.name for t in SCP03_TRACES])
def test_scp03_host_replays_trace(t: Trace) -> None:
    s = Scp03Session.host(StaticKeys.default())
    s.initialize_update(kvn=0, host_challenge=h(t.host_challenge))
    s.process_initialize_update_response(h(t.iu_response))
    assert s.external_authenticate(t.level).data == h(t.ea_data)
    for st in t.steps:
        assert s.wrap_command(get_status(st.p1)).to_bytes() == h(st.wire)
        assert s.unwrap_response(ResponseApdu(h(st.response), st.sw)) == ResponseApdu(h(st.plain), st.sw)


@pytest.mark.parametrize("t", SCP03_TRACES, ids=[t.name for t in SCP03_TRACES])
def test_scp03_card_replays_trace(t: Trace) -> None:
    iur = InitializeUpdateResponse.parse(h(t.iu_response))
    keys = StaticKeys(DEFAULT_KEY, DEFAULT_KEY, DEFAULT_KEY, iur.key_version)
    seq = (iur.sequence_counter or 1) - 1
    card = Scp03Session.card(keys, i_param=iur.i_param, key_diversification_data=iur.key_diversification_data,
                             aid=ISD, sequence_counter=seq)
    iu = CommandApdu(0x80, 0x50, 0x00, 0x00, h(t.host_challenge), 256)
    resp = card.respond_initialize_update(iu, card_challenge=iur.card_challenge)
    assert resp.data == h(t.iu_response)
    card.respond_external_authenticate(CommandApdu(0x84, 0x82, t.level, 0x00, h(t.ea_data)))
    for st in t.steps:
        assert card.unwrap_command(CommandApdu.parse(h(st.wire))) == get_status(st.p1)
        assert card.wrap_response(ResponseApdu(h(st.plain), st.sw)) == ResponseApdu(h(st.response), st.sw)


def test_scp03_derivation_vectors() -> None:
    # omfgp scp03_test.test_derive_data / test_derive_card_challenge
    ctx = h("68E9C8799FF8CB46F8D89D88BA1287BF")
    s_enc = kdf(DEFAULT_KEY, DERIV_S_ENC, ctx, 128)
    s_mac = kdf(DEFAULT_KEY, DERIV_S_MAC, ctx, 128)
    assert s_enc == h("3C64070C595D1D72BDEE692DA99B7AE4")
    assert s_mac == h("6E8468B74A707842E3D3696F338D2657")
    assert kdf(DEFAULT_KEY, DERIV_S_RMAC, ctx, 128) == h("FDD1D7C84750994815D0082734C31D88")
    assert kdf(s_mac, DERIV_CARD_CRYPTOGRAM, ctx, 64) == h("9B5C9D42D5059430")
    assert kdf(s_mac, DERIV_HOST_CRYPTOGRAM, ctx, 64) == h("F3C7624565B5894F")
    assert pseudo_random_card_challenge(DEFAULT_KEY, 0x2A, h("A000000018434D08090A0B0C000000")) == h("A3F5F144D19BE66E")
    assert pseudo_random_card_challenge(DEFAULT_KEY, 0x1D, ISD) == h("21428DA9468C2D5A")


def test_scp03_dek_vector() -> None:
    pt = h("8B37F9148DF4BB25956BE6310C73C8DC58EA9714FF49B643107B34C9BFF096A9"
           "4FEDD6823526ABC27A8E0B16616EEE254AB4567DD68E8CCD4C38AC563B13639C")
    ct = h("014E02F68B094BE48EE05AFC1B1A14D6193BDB0EDF8171115B6643A2EA4F1459"
           "9B9EE7FB0FF02C9B7FF297E96A0F4441D5B7ABC1380A54164D39F0004D4C8016")
    assert dek_encrypt_aes(DEFAULT_KEY, pt) == ct
    assert dek_decrypt_aes(DEFAULT_KEY, ct, len(ct)) == pt


def test_registry_records_from_trace() -> None:
    isd, elf = parse_get_status(h(ISD_RECORD + ELF_RECORD))
    assert isd.aid == ISD and isd.life_cycle == 0x01 and isd.load_file_aid == h("A0000001515350")
    assert isd.associated_sd == ISD and isd.privileges is not None and isd.privileges.to_bytes() == h("9EFE80")
    assert elf.version == h("FFFF") and elf.modules == (h("A000000151535041"),)
    assert RegistryEntry.parse(h(ISD_RECORD)).to_bytes() == h(ISD_RECORD)
    assert elf.to_bytes() == h(ELF_RECORD)


SCP02_TRACES = (
    ("L01", "82A3A21CB6C33429", "00008192001624074119FF0200072ECCEBB6BA1F3E30097FAD9545E1",
     "BCC41C65CCE079CBBDD151B575990774", 0x01,
     ((0x80, "84F280020A4F00985622A12C1141EB"), (0x40, "84F240020A4F00BD32ECB2EF4C8CB9"))),
    ("L03", "5D6202D0DC283771", "00008192001624074119FF020003B500CF85241ECF6C322FF0D7D73A",
     "20381F0855F50CD2A6CA647EAD03D3C8", 0x03,
     ((0x80, "84F2800210B017D0B1B05C5B30209663BB7F09789D"), (0x40, "84F2400210B017D0B1B05C5B30720DD450A0196554"))),
)


@pytest.mark.parametrize("t", SCP02_TRACES, ids=[t[0] for t in SCP02_TRACES])
def test_scp02_both_roles_replay_trace(t) -> None:
    _, hc, iu_rsp, ea, level, steps = t
    host = Scp02Session.host(StaticKeys.default(), i_param=0x15)
    host.initialize_update(kvn=0, host_challenge=h(hc))
    host.process_initialize_update_response(h(iu_rsp))
    assert host.external_authenticate(level).data == h(ea)
    iur = Scp02InitializeUpdateResponse.parse(h(iu_rsp))
    card = Scp02Session.card(StaticKeys(DEFAULT_KEY, DEFAULT_KEY, DEFAULT_KEY, 0xFF), i_param=0x15,
                             key_diversification_data=iur.key_diversification_data,
                             sequence_counter=iur.sequence_counter)
    assert card.respond_initialize_update(CommandApdu(0x80, 0x50, 0, 0, h(hc), 256),
                                          card_challenge=iur.card_challenge).data == h(iu_rsp)
    card.respond_external_authenticate(CommandApdu(0x84, 0x82, level, 0x00, h(ea)))
    for p1, wire in steps:
        assert host.wrap_command(get_status(p1)).to_bytes() == h(wire)
        assert card.unwrap_command(CommandApdu.parse(h(wire))) == get_status(p1)


def test_scp02_session_key_vector() -> None:
    # omfgp scp02_test.test_derive_key: key 40..4F, sequence counter 0007
    assert derive_session_key(DEFAULT_KEY, CONST_C_MAC, 7) == h("7A227D376A9DBE23AB50B7DCB45B2093")
    assert derive_session_key(DEFAULT_KEY, CONST_R_MAC, 7) == h("EF14C57DB4BB9015E88963D9D920A588")
    assert derive_session_key(DEFAULT_KEY, CONST_ENC, 7) == h("A2268F71917EFE0F33CC6166E1154E27")
