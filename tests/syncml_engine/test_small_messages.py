"""Small MaxMsgSize: large objects are chunked from the first message on, and a MaxMsgSize
too small to carry any command is refused with 413 at once -- never answered with empty
messages for ever."""

from __future__ import annotations

import pytest

from simsync.syncml import WBXML, XML

from .conftest import USER, Harness, vcard


@pytest.mark.parametrize(("ct", "client_max", "server_max"), [
    (WBXML, 1500, 1500), (WBXML, 2000, 150_000), (WBXML, 150_000, 1500),
    (XML, 2500, 2500), (XML, 3000, 150_000)])
@pytest.mark.parametrize("n", [2000, 6000])
def test_large_items_both_ways_with_small_messages(ct, client_max, server_max, n) -> None:
    h = Harness(content_type=ct, max_msg_size=client_max, server_max_msg=server_max)
    big_s = vcard("Big", "Server", "+1", note="x" * n)
    big_c = vcard("Big", "Client", "+2", note="y" * n)
    h.store.seed(USER, "addressbook", [big_s], "text/vcard")
    h.client_store.add("./addressbook", big_c)
    s = h.sync(201)
    assert s.result.status == 200
    assert sorted(h.client_items().values()) == sorted(h.server_items().values()) == sorted(
        [big_s, big_c])
    to_server = h.sizes[0::3 if h.duplicate_requests else 2]
    assert max(to_server[1:]) <= server_max          # (the first goes before the server's)


@pytest.mark.parametrize(("ct", "client_max", "server_max"), [
    (XML, 2000, 150_000), (XML, 150_000, 1500), (WBXML, 1000, 150_000),
    (WBXML, 150_000, 900)])
def test_too_small_a_message_size_is_refused_at_once(ct, client_max, server_max) -> None:
    h = Harness(content_type=ct, max_msg_size=client_max, server_max_msg=server_max)
    h.store.seed(USER, "addressbook", [vcard("S", "S", "+1")], "text/vcard")
    h.client_store.add("./addressbook", vcard("C", "C", "+2"))
    s = h.sync(201)
    assert s.result.status == 413 and s.result.messages_sent == 1
    assert len(h.server_items()) == 1 and len(h.client_items()) == 1   # nothing half done


@pytest.mark.parametrize("ct", [XML, WBXML])
def test_the_server_refuses_to_sync_with_a_too_small_device_message_size(ct) -> None:
    """A device (not ours) announcing a MaxMsgSize nothing fits in: its sync Alerts get 413,
    so it cannot ask for server messages that would never carry an item."""
    import dataclasses

    from simsync.syncml import model as m
    from simsync.syncml.engine import ClientSession

    h = Harness(content_type=ct)
    first = ClientSession(h.client_cfg, h.client_store, sync_type=201).start()
    meta = dataclasses.replace(first.header.meta, max_msg_size=900)
    msg = dataclasses.replace(first, header=dataclasses.replace(first.header, meta=meta))
    reply = h.exchange(msg)
    alert = next(c for c in reply.body.commands if isinstance(c, m.Status) and c.cmd == "Alert")
    assert alert.data == 413
    assert not any(isinstance(c, m.Alert) for c in reply.body.commands)   # no sync started
