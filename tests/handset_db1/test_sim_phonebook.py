"""EF_ADN as a limited client datastore: real card files (sim: reader), real engines."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsync import pim
from simsync.card.codecs import AdnRecord
from simsync.handset.db1 import SqliteClientStore
from simsync.handset.simphonebook import (
    SIM,
    SimPhonebookError,
    SimPhonebookStore,
    dial_string,
    display_name,
    fit_name,
)
from simsync.handset.uicc import PinRef, Uicc
from simsync.reader import open_reader
from simsync.syncml import model as m
from simsync.syncml.engine import ClientDatabase

from .conftest import PIN1, USER, Rig, vcard

FULL = ("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane;Q.;Dr.;\r\nFN:Dr. Jane Doe\r\n"
        "TEL;TYPE=CELL:+49 151 1234567\r\nTEL;TYPE=WORK:+49 30 999\r\n"
        "EMAIL:jane@example.org\r\nADR;TYPE=HOME:;;Main St 1;Berlin;;10115;DE\r\n"
        "NOTE:keep me\r\nEND:VCARD\r\n")


def sim_rig(db1, uicc, **kw):
    sim = SimPhonebookStore(db1, uicc, pin1=PIN1)
    rig = Rig(sim, dbs=((SIM, "contacts", "text/x-vcard", "2.1"),), device_id="dev-1-sim", **kw)
    rig.devinf = sim.devinf(rig.cfg)
    return sim, rig


def card_entries(uicc) -> list[tuple[int, str, str]]:
    return [(n, e.name, e.number) for n, e in uicc.phonebook()]


def server_contacts(rig) -> list[pim.Contact]:
    return [pim.parse(v, "text/vcard") for v in rig.server_items().values()]


def test_card_entries_reach_the_server_and_card_edits_follow(db1, make_card, open_uicc, wire):
    uicc = open_uicc(make_card([("Alice Smith", "+33612345678"), ("Bob", "0123")]))
    _sim, rig = sim_rig(db1, uicc, content_type=wire)
    s = rig.sync(200)
    assert s.result.status == 200 and s.result.sync_types[SIM] == 201
    got = {c.fn: (c.n, [t.value for t in c.tels]) for c in server_contacts(rig)}
    assert got["Alice Smith"] == (pim.Name("Smith", "Alice"), ["+33612345678"])
    assert got["Bob"][1] == ["0123"]
    # nothing changed on the card: nothing to send
    s = rig.sync(200)
    assert s.result.sync_types[SIM] == 200 and s.result.sent.get(SIM, 0) == 0
    # the user edits the card in the phone's SIM editor: one edit, one delete, one new entry
    uicc.write_phonebook_entry(1, AdnRecord("Alice Smith", "+33699999999"))
    uicc.write_phonebook_entry(2, None)
    uicc.write_phonebook_entry(5, AdnRecord("Carl", "555"))
    s = rig.sync(200)
    assert s.result.status == 200 and s.result.sent[SIM] == 3
    got = {c.fn: [t.value for t in c.tels] for c in server_contacts(rig)}
    assert got == {"Alice Smith": ["+33699999999"], "Carl": ["555"]}


def test_a_renamed_contact_keeps_every_server_field(db1, make_card, open_uicc):
    """The server holds e-mail, address, two numbers, a note; the SIM holds a name and one
    number; renaming it on the SIM changes the name on the server and nothing else."""
    uicc = open_uicc(make_card([]))
    _sim, rig = sim_rig(db1, uicc)
    (guid,) = rig.server.seed(USER, "contacts", [FULL], "text/vcard")
    assert rig.sync(200).result.status == 200
    assert card_entries(uicc) == [(1, "Dr. Jane Doe", "+491511234567")]   # cut to the SIM
    # renamed on the card
    uicc.write_phonebook_entry(1, AdnRecord("Jane Roe", "+491511234567"))
    s = rig.sync(200)
    assert s.result.status == 200 and s.result.sent[SIM] == 1
    c = pim.parse(rig.server_items()[guid], "text/vcard")
    assert c.fn == "Jane Roe" and c.n.family == "Roe" and c.n.given == "Jane"
    assert [e.value for e in c.emails] == ["jane@example.org"]
    assert c.note == "keep me" and c.addresses[0].locality == "Berlin"
    assert sorted(t.value for t in c.tels) == ["+49 151 1234567", "+49 30 999"]
    # a new number on the card replaces the number the SIM showed, the other one stays; the
    # unchanged name is sent as the server had it (title and middle name are not lost)
    uicc.write_phonebook_entry(1, AdnRecord("Jane Roe", "+4917000000"))
    rig.sync(200)
    c = pim.parse(rig.server_items()[guid], "text/vcard")
    assert sorted(t.value for t in c.tels) == ["+49 30 999", "+4917000000"]
    assert [e.value for e in c.emails] == ["jane@example.org"] and c.note == "keep me"
    assert c.fn == "Jane Roe"


def test_number_only_edit_keeps_the_structured_name(db1, make_card, open_uicc):
    uicc = open_uicc(make_card([]))
    _sim, rig = sim_rig(db1, uicc)
    (guid,) = rig.server.seed(USER, "contacts", [FULL], "text/vcard")
    rig.sync(200)
    uicc.write_phonebook_entry(1, AdnRecord("Dr. Jane Doe", "+4917011111"))
    rig.sync(200)
    c = pim.parse(rig.server_items()[guid], "text/vcard")
    assert c.n == pim.Name("Doe", "Jane", "Q.", "Dr.", "") and c.fn == "Dr. Jane Doe"
    assert "+4917011111" in [t.value for t in c.tels] and c.note == "keep me"


def test_server_changes_are_written_to_the_card(db1, make_card, open_uicc, wire):
    uicc = open_uicc(make_card([], records=3, alpha_len=8))
    _sim, rig = sim_rig(db1, uicc, content_type=wire)
    guids = rig.server.seed(USER, "contacts", [
        vcard("Longfamilyname", "Maximilian", "+49 (151) 222-333"),
        vcard("Ng", "Al", "0800 1"), vcard("Özil", "Zoë", "+90 5")], "text/vcard")
    assert rig.sync(200).result.status == 200
    entries = card_entries(uicc)
    assert [(n, num) for n, _name, num in entries] == [(1, "+49151222333"), (2, "08001"),
                                                       (3, "+905")]
    names = [name for _n, name, _num in entries]
    assert names[0] == "Maximili" and names[1] == "Al Ng"          # cut to 8 GSM characters
    assert names[2] == "Zoë"              # ë is not in the GSM alphabet: UCS2, (8 - 1) // 2 = 3
    # server edit and delete
    rig.server.replace_item(USER, "contacts", guids[1], vcard("Ng", "Al", "+1 555"), "text/vcard")
    rig.server.delete_item(USER, "contacts", guids[2])
    s = rig.sync(200)
    assert s.result.status == 200 and s.result.received[SIM] == 2
    assert card_entries(uicc) == [(1, "Maximili", "+49151222333"), (2, "Al Ng", "+1555")]
    assert s.result.sent.get(SIM, 0) == 0
    # the next sync finds no change on the card: what we wrote is not taken for a user edit
    s = rig.sync(200)
    assert s.result.sent.get(SIM, 0) == 0 and s.result.received.get(SIM, 0) == 0
    # and the server's full name is still there (the SIM's cut is no edit)
    assert any("Maximilian" in v for v in rig.server_items().values())


def test_full_card_refuses_further_adds_and_loses_nothing(db1, make_card, open_uicc):
    uicc = open_uicc(make_card([("Own", "1")], records=2))
    _sim, rig = sim_rig(db1, uicc)
    rig.server.seed(USER, "contacts", [vcard(f"S{i}", "X", f"+{i}") for i in range(3)],
                    "text/vcard")
    s = rig.sync(200)
    assert s.result.status == 200
    assert len(card_entries(uicc)) == 2
    assert len(rig.server_items()) == 4            # the server keeps what did not fit
    assert len(db1.contents(SIM)) == 2
    refused = [st for msg, _r in rig.log for st in msg.body.commands
               if isinstance(st, m.Status) and st.cmd == "Add" and st.data == 420]
    assert len(refused) == 2                       # 420 device full, for the two that did not fit


def test_refresh_from_server_rewrites_the_card(db1, make_card, open_uicc):
    uicc = open_uicc(make_card([("Old", "1"), ("Older", "2")]))
    _sim, rig = sim_rig(db1, uicc)
    rig.server.seed(USER, "contacts", [vcard("New", "N", "+9")], "text/vcard")
    s = rig.sync(205)
    assert s.result.status == 200
    assert card_entries(uicc) == [(1, "N New", "+9")]
    assert len(db1.contents(SIM)) == 1 and not db1.db(SIM).changes


def test_pin1_is_needed(db1, make_card, open_uicc):
    path = make_card([("A", "1")])
    uicc = open_uicc(path)
    sim = SimPhonebookStore(db1, uicc)          # no PIN given
    with pytest.raises(SimPhonebookError, match="PIN1"):
        sim.scan()
    uicc.verify_pin(PinRef.PIN1, PIN1)          # verified by the handset already: fine
    assert sim.scan().added == 1


def test_restart_keeps_the_snapshot(db1_path, make_card, open_uicc):
    path = make_card([("A", "1"), ("B", "2")])
    db1 = SqliteClientStore(db1_path)
    with open_reader(f"sim:{path}") as conn:
        sim, rig = sim_rig(db1, Uicc(conn))
        assert rig.sync(200).result.status == 200
    db1.close()
    db1 = SqliteClientStore(db1_path)
    uicc = open_uicc(path)
    sim, rig2 = sim_rig(db1, uicc, server=rig.server)
    assert sim.scan().added == 0 and not db1.db(SIM).changes
    uicc.write_phonebook_entry(2, AdnRecord("Bee", "2"))
    s = rig2.sync(200)
    assert s.result.sync_types[SIM] == 200 and s.result.sent[SIM] == 1
    assert sorted(c.fn for c in server_contacts(rig2)) == ["A", "Bee"]
    db1.close()


def test_one_session_syncs_db1_contacts_and_the_sim(db1, make_card, open_uicc):
    uicc = open_uicc(make_card([("Simone", "+391")]))
    sim = SimPhonebookStore(db1, uicc, pin1=PIN1)
    db1.add("./contacts", vcard("Phone", "P", "+1"), "text/vcard")
    rig = Rig(sim, dbs=(("./contacts", "contacts", "text/vcard", "3.0"),
                        (SIM, "sim", "text/x-vcard", "2.1")))
    rig.devinf = sim.devinf(rig.cfg)
    assert rig.sync(200).result.status == 200
    assert [pim.parse(v, "text/vcard").fn for v in rig.server_items("sim").values()] == ["Simone"]
    assert len(rig.server_items("contacts")) == 1


def test_devinf_declares_what_a_record_holds(db1, make_card, open_uicc):
    sim = SimPhonebookStore(db1, open_uicc(make_card([], records=7, alpha_len=10)), pin1=PIN1)
    from simsync.syncml import encode_xml_devinf
    from simsync.syncml.engine import ClientConfig

    cfg = ClientConfig(databases=(ClientDatabase("./contacts"), sim.database()))
    di = sim.devinf(cfg)
    caps = pim.CtCaps.from_devinf(encode_xml_devinf(di), "text/x-vcard")
    assert caps.names == {"N", "FN", "TEL", "BEGIN", "END", "VERSION"}
    assert caps.get("TEL").max_occur == 1 and caps.get("FN").max_size == 10
    ds = {d.source_ref: d for d in di.datastores}
    assert ds[SIM].ds_mem.max_id == 7 and not ds["./contacts"].ctcaps


@pytest.mark.parametrize(("tel", "dial"), [("+49 (151) 123-45", "+4915112345"),
                                           ("tel:+1-555", "+1555"), ("0800,123", "0800p123"),
                                           ("*31#0123", "*31#0123"), ("1" * 30, "1" * 20),
                                           ("ext. only", "")])
def test_dial_string(tel, dial):
    assert dial_string(tel) == dial
    AdnRecord("x", dial)            # always a valid ADN number


def test_fit_name_uses_the_whole_alpha_identifier():
    assert fit_name("Abcdefghij", 8) == "Abcdefgh"
    assert fit_name("a{b}c", 6) == "a{b}"                # GSM extension characters take two
    assert fit_name("Zoë Özil", 8) == "Zoë"            # UCS2 (ë): 3 characters in 8 bytes
    assert fit_name("Zoé Özil", 8) == "Zoé Özil"       # GSM alphabet: one byte each
    assert fit_name("Ann 😀", 12) == "Ann ?"


# random edits on both sides: the card always shows what the server holds, and nothing the SIM
# cannot store is ever lost on the server -------------------------------------------------------
_word = st.text("abcdefghijklmnopqrstuvwxyzäöüé", min_size=1, max_size=7)
_number = st.from_regex(r"\+?[0-9]{1,10}", fullmatch=True)
_card_op = st.tuples(st.just("card"), st.integers(1, 6), st.one_of(
    st.none(), st.tuples(_word, _word, _number)))
_server_op = st.tuples(st.sampled_from(["s_add", "s_edit_name", "s_edit_note", "s_delete"]),
                       st.integers(0, 50), st.tuples(_word, _word, _number))
_round = st.lists(st.one_of(_card_op, _server_op), max_size=4)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(_round, min_size=1, max_size=4))
def test_random_edits_on_both_sides(make_card, rounds):
    path = make_card([], records=6, alpha_len=8)
    db1 = SqliteClientStore(":memory:")
    mails: dict[str, str] = {}        # GUID -> e-mail address of the server's own contacts
    with open_reader(f"sim:{path}") as conn:
        uicc = Uicc(conn)
        uicc.verify_pin(PinRef.PIN1, PIN1)
        sim, rig = sim_rig(db1, uicc)
        serial = 0
        for ops in rounds:
            for op, n, arg in ops:
                serial += 1
                items = rig.server_items()
                guids = sorted(items)
                if op == "card":
                    entry = None if arg is None else AdnRecord(f"{arg[0]} {arg[1]}"[:8].strip(),
                                                               arg[2])
                    uicc.write_phonebook_entry(n, entry)
                elif op == "s_add" and len(items) < 6:
                    mail = f"m{serial}@example.org"
                    (guid,) = rig.server.seed(USER, "contacts", [vcard(
                        arg[0], arg[1], arg[2], extra=f"EMAIL:{mail}")], "text/vcard")
                    mails[guid] = mail
                elif guids and op != "s_add":
                    guid = guids[n % len(guids)]
                    if op == "s_delete":
                        rig.server.delete_item(USER, "contacts", guid)
                        continue
                    c = pim.parse(items[guid], "text/vcard")
                    props = [p for p in c.properties if p.name not in ("N", "FN", "NOTE")
                             or (op == "s_edit_note" and p.name != "NOTE")]
                    if op == "s_edit_name":
                        props += [pim.Property("N", (), (arg[0], arg[1], "", "", "")),
                                  pim.Property("FN", (), f"{arg[1]} {arg[0]}")]
                    else:
                        props.append(pim.Property("NOTE", (), f"note {serial}"))
                    rig.server.replace_item(USER, "contacts", guid, pim.serialize(
                        pim.Contact(tuple(props)), "text/vcard"), "text/vcard")
            assert rig.sync(200).result.status == 200
            now = {g: pim.parse(v, "text/vcard") for g, v in rig.server_items().items()}
            server = list(now.values())
            # the card holds exactly the server's contacts, as far as a record can
            expected = sorted((fit_name(display_name(c), sim.alpha_len),
                               dial_string(c.tels[0].value) if c.tels else "") for c in server)
            assert sorted((name, number) for _n, name, number in card_entries(uicc)) == expected
            assert len(db1.contents(SIM)) == len(server) and not db1.db(SIM).changes
            # the server's own contacts keep their e-mail, whatever the SIM did to them
            for guid, c in now.items():
                assert [e.value for e in c.emails] == ([mails[guid]] if guid in mails else [])
    db1.close()


def test_a_failing_engine_call_puts_the_card_back(db1, make_card, open_uicc, monkeypatch):
    """The card has no transactions: records written during an engine call that then fails are
    restored, so the next scan does not take them for the user's new entries."""
    uicc = open_uicc(make_card([("Own", "1")], records=6))
    _sim, rig = sim_rig(db1, uicc)
    assert rig.sync(200).result.status == 200
    rig.server.seed(USER, "contacts", [vcard(f"S{i}", "X", f"+{i}") for i in range(3)],
                    "text/vcard")
    real = SqliteClientStore.apply_add
    calls = []

    def flaky(self, uri, content, ctype):
        calls.append(uri)
        if len(calls) == 3:                    # the third server Add: after two card writes
            raise OSError("disk full")
        return real(self, uri, content, ctype)
    monkeypatch.setattr(SqliteClientStore, "apply_add", flaky)
    with pytest.raises(OSError):
        rig.sync(200)
    assert card_entries(uicc) == [(1, "Own", "1")]
    monkeypatch.setattr(SqliteClientStore, "apply_add", real)
    s = rig.sync(200)
    assert s.result.status == 200 and s.result.sent.get(SIM, 0) == 0
    assert len(card_entries(uicc)) == 4 and len(rig.server_items()) == 4


def test_first_slow_sync_matches_the_servers_copy_and_keeps_its_fields(db1, make_card,
                                                                        open_uicc):
    """The SIM and the server both have Jane: the slow sync pairs them (name and number
    match), neither side gets a duplicate, and the server's e-mail and note stay."""
    uicc = open_uicc(make_card([("Jane Doe", "+491511234567")]))
    _sim, rig = sim_rig(db1, uicc)
    full = FULL.replace("N:Doe;Jane;Q.;Dr.;", "N:Doe;Jane;;;").replace("Dr. Jane Doe",
                                                                        "Jane Doe")
    (guid,) = rig.server.seed(USER, "contacts", [full], "text/vcard")
    s = rig.sync(200)
    assert s.result.status == 200 and s.result.sync_types[SIM] == 201
    assert list(rig.server_items()) == [guid]
    c = pim.parse(rig.server_items()[guid], "text/vcard")
    assert [e.value for e in c.emails] == ["jane@example.org"] and c.note == "keep me"
    assert len(c.tels) == 2
    assert card_entries(uicc) == [(1, "Jane Doe", "+491511234567")]
    assert len(db1.contents(SIM)) == 1
