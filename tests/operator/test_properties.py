"""Properties of the client's command building, checked against the card role of the pure SCP03 core
(no ISD involved): what the card unwraps is exactly what GlobalPlatform specifies."""

from __future__ import annotations

import hashlib

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.gp.cap import CapFile, build_cap, join_load_commands, load_file
from simsync.gp.keys import StaticKeys
from simsync.gp.scp03 import Scp03Session
from simsync.gp.tlv import InstallForInstall, InstallForLoad, InstallParameters, Privileges
from simsync.operator.capbuild import DapSignature
from simsync.operator.gpclient import LEVELS, GpClient, parse_level
from simsync.operator.keys import ScpKeySet
from simsync.reader import CardConnection

KEYS = StaticKeys(bytes(range(16)), bytes(range(16, 32)), bytes(range(32, 48)), 0x30)


class CardRole:
    """A transport answering like a Security Domain, with only the pure SCP03 card session: it
    records the plain commands it unwraps and answers 9000."""

    name = "card-role"

    def __init__(self) -> None:
        self.session = Scp03Session.card(KEYS, i_param=0x70)
        self.plain: list[CommandApdu] = []

    def connect(self) -> bytes:
        return bytes.fromhex("3B00")

    def disconnect(self) -> None: ...
    def close(self) -> None: ...
    def reset(self) -> bytes:
        return self.connect()

    def transmit(self, raw: bytes) -> bytes:
        cmd = CommandApdu.parse(raw)
        if cmd.ins == 0xA4:
            return b"\x90\x00"
        if cmd.ins == 0x50:
            return self.session.respond_initialize_update(cmd).to_bytes()
        if cmd.ins == 0x82:
            return self.session.respond_external_authenticate(cmd).to_bytes()
        plain = self.session.unwrap_command(cmd)
        self.plain.append(plain)
        return self.session.wrap_response(ResponseApdu(b"", 0x9000)).to_bytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.integers(0, 3000), level=st.sampled_from([0x01, 0x03, 0x11, 0x13, 0x33]),
       block=st.integers(16, 239), signed=st.booleans(), params=st.binary(max_size=40))
def test_load_and_install_commands(payload, level, block, signed, params):
    raw = build_cap(bytes.fromhex("D2760001180A"), (1, 2), "org.test.p", [bytes.fromhex("D2760001180A01")],
                    payload=bytes(i & 0xFF for i in range(payload)))
    cap = CapFile.parse(raw)
    card = CardRole()
    gp = GpClient(CardConnection(card), ScpKeySet(KEYS), level=level)
    gp.open()
    block = min(block, gp.max_block_size())
    lfdb = cap.load_file_data_block()
    digest = hashlib.sha256(lfdb).digest()
    sig = DapSignature(gp.isd_aid, digest, "rsa-pkcs1v15-sha256", b"\x5a" * 64) if signed else None
    assert gp.load(cap, sig, block_size=block) == digest
    gp.install(cap.package_aid, cap.applet_aids[0], cap.applet_aids[0] + b"\x01", params=params,
               privileges=Privileges.NONE)
    first, *loads, install = card.plain
    assert (first.ins, first.p1) == (0xE6, 0x02)
    ifl = InstallForLoad.parse(first.data)
    assert ifl.load_file_aid == cap.package_aid and ifl.load_file_data_block_hash == digest
    assert ifl.security_domain_aid == gp.isd_aid
    assert all(len(c.data) <= block for c in loads)
    expected = load_file(lfdb, [sig.dap_block] if sig else [])
    assert join_load_commands(loads) == expected
    assert len(loads) == -(-len(expected) // block)
    ifi = InstallForInstall.parse(install.data)
    assert (install.p1, ifi.application_aid) == (0x0C, cap.applet_aids[0] + b"\x01")
    assert InstallParameters.parse(ifi.parameters).application == params


@given(step=st.sampled_from(["load", "install", "delete", "install-for-load", "put-key", "list", "x"]),
       sw=st.integers(0x6000, 0x6FFF), dap=st.sampled_from([None, True, False]))
@example(step="install", sw=0x6982, dap=None)  # the delegated-management branch
def test_explain_names_step_and_status_word(step, sw, dap):
    import types

    from simsync.operator.keys import DEFAULT_ISD_AID

    for token_key in (None, object()):  # explain() reads the client's delegated-management settings
        client = types.SimpleNamespace(token_key=token_key, isd_aid=DEFAULT_ISD_AID)
        text = GpClient.explain(client, step, sw, dap_sent=dap)  # type: ignore[arg-type]
        assert text.startswith(f"{step}: ") and f"{sw:04X}" in text


@given(name=st.sampled_from(sorted(LEVELS)))
def test_parse_level(name):
    assert int(parse_level(name)) == LEVELS[name]
    assert parse_level(f"{LEVELS[name]:02X}") == parse_level(name)
