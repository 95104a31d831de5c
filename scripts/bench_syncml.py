#!/usr/bin/env python3
"""Throughput of the SyncML codecs on realistic slow-sync messages (no timing asserts).

    python scripts/bench_syncml.py [--repeat N] [--items N] [--recorded] [--profile CASE]
                                   [--baseline DIR [--rounds N]] [--json] [--focus] [--dir DIR]

Messages (``--items`` N = 270 by default, what one 150 kB message of a 10,000-contact slow
sync holds):

* ``client-adds``: SyncHdr (MaxMsgSize/MaxObjSize), the Status of the server's SyncHdr and a
  Sync with N Add commands, each with Meta Type text/x-vcard and one Item (Source LocURI, a
  ~330-byte vCard of scripts/bench_sync.py as Data), as the simsync client writes them;
* ``server-status``: the server's reply: SyncHdr Status + N+1 Status commands (the Sync and
  each Add) with SourceRef;
* ``server-adds``: a server message with N Adds (Item Source LocURI + Meta Type at item
  level + vCard Data) in a Sync with Target/Source;
* ``se-sync``: SyncEvolution's slow-sync message (issue 6): N Adds with Meta Type
  text/vcard, Item Source LocURI cNNNNNN.vcf and a vCard with SyncEvolution's PRODID/REV;
* ``se-reply``: the server's reply to it (SyncHdr with RespURI and MaxMsgSize/MaxObjSize,
  SyncHdr Status, Sync Status, a Status with SourceRef and 201 per Add, no Final).

First the issue-6 cases alone (``--focus``: only them): decode of se-sync and encode of
se-reply in WBXML and XML, msg/s and items/s, against the general path of the same tree
(bytes <-> Node tree <-> model, ``decode_wbxml_general`` ...) and against the figures from
before the direct paths (``BEFORE_MS``). ``--dir DIR`` times captured requests (e.g. the 39
SyncEvolution messages of a 10,000-contact slow sync, /tmp/pf/semsgs/req*.wbxml) and the
replies to them (``reply_to``). Before the direct paths, that gave (commit 8514248)::

    $ PYTHONPATH=/tmp/before python scripts/bench_syncml.py --focus --dir /tmp/pf/semsgs
      decode (replies for encode):  0.138 s for all,    72958 items/s
      encode (replies for encode):  0.044 s for all,   231326 items/s

and with the direct paths (2 shared cores, figures vary by some 10 %)::

    $ python scripts/bench_syncml.py --focus --dir /tmp/pf/semsgs --rounds 5
      decode (replies for encode):  0.033 s for all,   308210 items/s | general path  0.129 s: x3.94
      encode (replies for encode):  0.007 s for all,  1509218 items/s | general path  0.039 s: x5.89
    se-sync   wbxml decode  1576.0 msg/s  428665 items/s (0.63 ms) | general 2.41 ms: x3.79
    se-sync   xml   decode   782.6 msg/s  212860 items/s (1.28 ms) | general 2.91 ms: x2.27
    se-reply  wbxml encode  6447.9 msg/s 1753838 items/s (0.16 ms) | general 1.04 ms: x6.67
    se-reply  xml   encode  3948.0 msg/s 1073851 items/s (0.25 ms) | general 1.12 ms: x4.44

For each message and codec (XML, WBXML) it prints the size and decode / encode separately
as messages per second and items (commands inside the message) per second. ``--recorded``
also times the recorded SyncEvolution messages of tests/syncml/data. ``--profile CASE``
(e.g. ``client-adds:wbxml:decode``) runs cProfile on one case and prints the top entries.
``--baseline DIR`` compares with another simsync package, e.g. the codecs before the fast
paths::

    git archive c9fe450 simsync | tar -x -C /tmp/before
    python scripts/bench_syncml.py --baseline /tmp/before --rounds 3
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import simsync.syncml as sm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import vcard  # the same ~330-byte vCards as the sync bench)

DATA = Path(__file__).resolve().parent.parent / "tests" / "syncml" / "data"
CODECS = {"xml": sm.XML, "wbxml": sm.WBXML}


def _hdr(msg_id: int, *, server: bool) -> sm.SyncHdr:
    dev, srv = sm.Location("sc-0123456789abcdef", "test"), sm.Location("http://127.0.0.1/sync")
    if server:
        return sm.SyncHdr("1a2b3c4d", msg_id, dev, srv,
                          resp_uri="http://127.0.0.1/sync?sessionid=1a2b3c4d",
                          meta=sm.Meta(max_msg_size=150000, max_obj_size=4000000))
    return sm.SyncHdr("1a2b3c4d", msg_id, srv, dev,
                      meta=sm.Meta(max_msg_size=150000, max_obj_size=4000000))


def client_adds(n: int, first: int = 0) -> sm.SyncML:
    """The client's slow-sync message: N Adds of one vCard each (engine shape)."""
    vc = sm.Meta(type="text/x-vcard")
    adds = tuple(sm.Add(i + 3, meta=vc, items=(sm.Item(
        source=sm.Location(f"{first + i + 1:d}"), data=vcard(first + i)),))
        for i in range(n))
    return sm.SyncML(_hdr(3, server=False), sm.SyncBody((
        sm.Status(1, 2, 0, "SyncHdr", 200, target_refs=("sc-0123456789abcdef",),
                  source_refs=("http://127.0.0.1/sync",)),
        sm.Sync(2, target=sm.Location("addressbook"), source=sm.Location("./addressbook"),
                commands=adds)), final=False))


def server_status(n: int, first: int = 0) -> sm.SyncML:
    """The server's reply to ``client_adds(n)``: SyncHdr Status + a Status per command."""
    st = [sm.Status(1, 3, 0, "SyncHdr", 200, target_refs=("http://127.0.0.1/sync",),
                    source_refs=("sc-0123456789abcdef",)),
          sm.Status(2, 3, 2, "Sync", 200, target_refs=("./addressbook",),
                    source_refs=("addressbook",))]
    st += [sm.Status(i + 3, 3, i + 3, "Add", 201, source_refs=(f"{first + i + 1:d}",))
           for i in range(n)]
    return sm.SyncML(_hdr(3, server=True), sm.SyncBody(tuple(st), final=False))


def server_adds(n: int, first: int = 0) -> sm.SyncML:
    """A server message with N Adds (item-level Meta Type) in a Sync."""
    adds = tuple(sm.Add(i + 2, items=(sm.Item(
        source=sm.Location(f"{first + i + 100000:d}"), meta=sm.Meta(type="text/x-vcard"),
        data=vcard(first + i)),)) for i in range(n))
    return sm.SyncML(_hdr(4, server=True), sm.SyncBody((
        sm.Sync(1, target=sm.Location("./addressbook"), source=sm.Location("addressbook"),
                number_of_changes=n, commands=adds),), final=False))


SE_PRODID = "PRODID:-//Synthesis AG//NONSGML SyncML Engine V3.4.0.47//EN\r\n"


def se_sync(n: int, first: int = 0) -> sm.SyncML:
    """A SyncEvolution slow-sync message (as /tmp/pf/semsgs/req*.wbxml): Meta Type text/vcard
    on each Add, one Item with Source LocURI ``cNNNNNN.vcf`` and a vCard (with SyncEvolution's
    PRODID/REV lines) as Data, in a Sync with NumberOfChanges; the SyncHdr Status first."""
    vc = sm.Meta(type="text/vcard")
    adds = tuple(sm.Add(i + 3, meta=vc, items=(sm.Item(
        source=sm.Location(f"c{first + i:06d}.vcf"),
        data=vcard(first + i).replace("VERSION:3.0\r\n", "VERSION:3.0\r\n" + SE_PRODID
                                      + "REV:20100328T103410Z\r\n")),))
        for i in range(n))
    return sm.SyncML(
        sm.SyncHdr("5", 6, sm.Location("http://127.0.0.1:35339/syncml?sessionid=a040a53ed6ae"),
                   sm.Location("bench-se", "bench"),
                   meta=sm.Meta(max_msg_size=150000, max_obj_size=4000000)),
        sm.SyncBody((
            sm.Status(1, 5, 0, "SyncHdr", 200, target_refs=("bench-se",),
                      source_refs=("http://127.0.0.1:35339/syncml",)),
            sm.Sync(2, target=sm.Location("addressbook"), source=sm.Location("./addressbook"),
                    number_of_changes=10000, commands=adds)), final=False))


def reply_to(req: sm.SyncML) -> sm.SyncML:
    """What the server answers to a Sync of Adds/Replaces in a slow sync (the shape of
    ServerSession's reply): SyncHdr Status, the Sync's Status, one Status per item with the
    item's LUID as SourceRef and 201 (Add) / 200; RespURI and MaxMsgSize/MaxObjSize; no Final."""
    h = req.header
    ref = h.msg_id
    st = [sm.Status(1, ref, 0, "SyncHdr", 200, target_refs=(h.target.loc_uri,),
                    source_refs=(h.source.loc_uri,))]
    for c in req.body.commands:
        if isinstance(c, sm.Sync):
            st.append(sm.Status(len(st) + 1, ref, c.cmd_id, "Sync", 200,
                                target_refs=(c.target.loc_uri,) if c.target else (),
                                source_refs=(c.source.loc_uri,) if c.source else ()))
            for a in c.commands:
                if isinstance(a, (sm.Add, sm.Replace)):
                    for it in a.items:
                        luid = (it.source or it.target).loc_uri
                        st.append(sm.Status(len(st) + 1, ref, a.cmd_id, type(a).__name__,
                                            201 if isinstance(a, sm.Add) else 200,
                                            source_refs=(luid,)))
    base = h.target.loc_uri.split("?")[0]
    hdr = sm.SyncHdr(h.session_id, ref, sm.Location(h.source.loc_uri, h.source.loc_name),
                     sm.Location(h.target.loc_uri), resp_uri=base + "?sessionid=a040a53ed6ae",
                     meta=sm.Meta(max_msg_size=150000, max_obj_size=4000000))
    return sm.SyncML(hdr, sm.SyncBody(tuple(st), final=False))


def se_reply(n: int, first: int = 0) -> sm.SyncML:
    """The server's reply to ``se_sync(n)``: SyncHdr Status + n+1 Statuses."""
    return reply_to(se_sync(n, first))


# The two cases of the SyncEvolution -> simsync slow sync (issue 6), before the direct
# paths (commit 8514248, the codecs through the Node tree only), measured with
#     python scripts/bench_syncml.py --baseline /tmp/before --items 270 --rounds 3
# (git archive 8514248 simsync | tar -x -C /tmp/before): ms per message, best of 3 processes
BEFORE_MS = {
    ("se-sync", "wbxml", "decode"): 2.43, ("se-sync", "xml", "decode"): 2.79,
    ("se-reply", "wbxml", "encode"): 1.03, ("se-reply", "xml", "encode"): 1.09,
}
# the cases issue 6 is about: (message, codec, operation)
FOCUS = [("se-sync", "wbxml", "decode"), ("se-sync", "xml", "decode"),
         ("se-reply", "wbxml", "encode"), ("se-reply", "xml", "encode")]


def _general(kind: str, op: str) -> Callable | None:
    """The general (Node tree) path of a codec, where this tree has one apart."""
    mod = getattr(sm, kind, None)
    return getattr(mod, f"{op}_{kind}_general", None)


def focus(items: int, repeat: int) -> list[dict]:
    """The issue-6 cases: direct path (what decode/encode do) against the general path in
    the same process, and against the recorded figures from before (BEFORE_MS)."""
    rows = []
    for name, kind, op in FOCUS:
        msg = MESSAGES[name](items)
        ct = CODECS[kind]
        body = sm.encode(msg, ct)
        n = _count(msg.body.commands)
        fn = (functools.partial(sm.decode, body, ct) if op == "decode"
              else functools.partial(sm.encode, msg, ct))
        t = _rate(fn, repeat)
        gen = _general(kind, op)
        tg = None
        if gen is not None:
            arg = body if op == "decode" else msg
            assert gen(arg) == fn()
            tg = _rate(lambda: gen(arg), repeat)  # noqa: B023
        rows.append({"label": name, "kind": kind, "op": op, "items": n, "s": t, "general_s": tg})
    return rows


def _focus_line(row: dict, items: int) -> str:
    t, n = row["s"], row["items"]
    line = (f"{row['label']:9s} {row['kind']:5s} {row['op']:6s} {1 / t:7.1f} msg/s "
            f"{n / t:8.0f} items/s ({t * 1e3:5.2f} ms)")
    if row["general_s"] is not None:
        line += f" | general path {row['general_s'] * 1e3:5.2f} ms: x{row['general_s'] / t:4.2f}"
    before = BEFORE_MS.get((row["label"], row["kind"], row["op"])) if items == 270 else None
    if before is not None:
        line += f" | before {before:5.2f} ms: x{before / (t * 1e3):4.2f}"
    return line


def real_messages(directory: Path, repeat: int) -> None:
    """Decode the captured requests of ``directory`` (req*.wbxml / *.xml) and encode the
    reply to each, all of them once per round: seconds for the lot, direct and general."""
    files = sorted(p for p in directory.iterdir() if p.suffix in (".wbxml", ".xml"))
    bodies = [(p.read_bytes(), sm.WBXML if p.suffix == ".wbxml" else sm.XML) for p in files]
    msgs = [sm.decode(b, ct) for b, ct in bodies]
    replies = [(reply_to(mg), ct) for mg, (_b, ct) in zip(msgs, bodies)]
    items = sum(_count(mg.body.commands) for mg in msgs)
    print(f"{len(files)} messages of {directory} ({items} commands):")
    for op, cases in (("decode", bodies), ("encode", replies)):
        t = _rate(lambda: [getattr(sm, op)(x, ct) for x, ct in cases], 1, rounds=repeat)  # noqa: B023
        line = f"  {op} (replies for encode): {t:6.3f} s for all, {items / t:8.0f} items/s"
        gens = {ct: _general("wbxml" if ct == sm.WBXML else "xml", op) for _x, ct in cases}
        if all(g is not None for g in gens.values()):
            tg = _rate(lambda: [gens[ct](x) for x, ct in cases], 1, rounds=repeat)  # noqa: B023
            line += f" | general path {tg:6.3f} s: x{tg / t:4.2f}"
        print(line)


def _count(cmds) -> int:
    return sum(1 for _ in sm.iter_commands(cmds))


def _rate(fn: Callable[[], object], repeat: int, rounds: int = 7) -> float:
    """Seconds per call: best of ``rounds`` rounds of ``repeat`` calls (the machine is shared,
    the best round is the least disturbed one)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeat)
    return best


def _line(label: str, kind: str, size: int, n_items: int, dec: float, enc: float) -> str:
    return (f"{label:44s} {kind:5s} {size:7d} B {n_items:4d} cmds | decode "
            f"{1 / dec:7.1f} msg/s {n_items / dec:8.0f} items/s ({dec * 1e3:6.2f} ms) | "
            f"encode {1 / enc:7.1f} msg/s {n_items / enc:8.0f} items/s ({enc * 1e3:6.2f} ms)")


def bench(label: str, msg: sm.SyncML, repeat: int, quiet: bool = False) -> list[dict]:
    n_items = _count(msg.body.commands)
    out = []
    for kind, ct in CODECS.items():
        body = sm.encode(msg, ct)
        assert sm.decode(body, ct) == msg or label.startswith("rec:")
        dec = _rate(lambda: sm.decode(body, ct), repeat)  # noqa: B023
        enc = _rate(lambda: sm.encode(msg, ct), repeat)  # noqa: B023
        out.append({"label": label, "kind": kind, "size": len(body), "items": n_items,
                    "decode_s": dec, "encode_s": enc})
        if not quiet:
            print(_line(label, kind, len(body), n_items, dec, enc))
    return out


def compare(baseline: Path, items: int, repeat: int, rounds: int) -> None:
    """Interleaved A/B: this tree and ``baseline`` (a directory holding another ``simsync``
    package, e.g. ``git archive <commit> simsync | tar -x -C DIR``), each in a fresh process
    per round, the best time per cell kept."""
    trees = {"before": baseline.resolve(), "after": Path(__file__).resolve().parent.parent}
    best: dict[str, dict[tuple[str, str], dict]] = {"before": {}, "after": {}}
    for _ in range(rounds):
        for which, root in trees.items():
            env = {**os.environ, "PYTHONPATH": str(root)}
            r = subprocess.run([sys.executable, __file__, "--json", "--items", str(items),
                                "--repeat", str(repeat)], env=env, cwd=tempfile.gettempdir(),
                               capture_output=True, text=True, check=True)
            for row in json.loads(r.stdout):
                key = (row["label"], row["kind"])
                old = best[which].get(key)
                if old is None:
                    best[which][key] = row
                else:
                    old["decode_s"] = min(old["decode_s"], row["decode_s"])
                    old["encode_s"] = min(old["encode_s"], row["encode_s"])
    for which in ("before", "after"):
        print(f"{which} ({trees[which]}), best of {rounds} interleaved processes:")
        for row in best[which].values():
            print(_line(row["label"], row["kind"], row["size"], row["items"], row["decode_s"],
                        row["encode_s"]))
    print("speed-up (before time / after time):")
    for key, a in best["after"].items():
        b = best["before"][key]
        print(f"{key[0]:44s} {key[1]:5s} decode x{b['decode_s'] / a['decode_s']:4.2f}  "
              f"encode x{b['encode_s'] / a['encode_s']:4.2f}")


def profile(case: str, items: int, repeat: int) -> None:
    name, kind, op = case.split(":")
    msg = MESSAGES[name](items)
    ct = CODECS[kind]
    body = sm.encode(msg, ct)
    fn = (lambda: sm.decode(body, ct)) if op == "decode" else (lambda: sm.encode(msg, ct))
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeat):
        fn()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


MESSAGES: dict[str, Callable[[int], sm.SyncML]] = {
    "client-adds": client_adds, "server-status": server_status, "server-adds": server_adds,
    "se-sync": se_sync, "se-reply": se_reply,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--items", type=int, default=270)
    ap.add_argument("--recorded", action="store_true",
                    help="also time the recorded SyncEvolution messages")
    ap.add_argument("--profile", metavar="MSG:CODEC:OP",
                    help="cProfile one case, e.g. client-adds:wbxml:decode")
    ap.add_argument("--baseline", type=Path, metavar="DIR",
                    help="compare with the simsync package in DIR (interleaved processes)")
    ap.add_argument("--rounds", type=int, default=3, help="processes per tree with --baseline")
    ap.add_argument("--json", action="store_true", help="print the measurements as JSON")
    ap.add_argument("--focus", action="store_true",
                    help="only the issue-6 cases (se-sync decode, se-reply encode)")
    ap.add_argument("--dir", type=Path, metavar="DIR",
                    help="also time captured requests (req*.wbxml) of DIR and their replies")
    args = ap.parse_args()
    if args.profile:
        profile(args.profile, args.items, args.repeat)
        return
    if args.baseline:
        compare(args.baseline, args.items, args.repeat, args.rounds)
        return
    if args.dir:
        real_messages(args.dir, args.rounds)
    if not args.json:
        print(f"issue-6 cases, {args.items} items (best of 7 rounds of {args.repeat}):")
        for row in focus(args.items, args.repeat):
            print(_focus_line(row, args.items))
    if args.focus:
        return
    rows = [row for name, make in MESSAGES.items()
            for row in bench(f"{name} ({args.items})", make(args.items), args.repeat,
                             quiet=args.json)]
    if args.json:
        print(json.dumps(rows))
        return
    total = {"xml": [0.0, 0.0], "wbxml": [0.0, 0.0]}
    for row in rows:
        total[row["kind"]][0] += row["decode_s"]
        total[row["kind"]][1] += row["encode_s"]
    for kind, (dec, enc) in total.items():
        print(f"sum of the three messages, {kind:5s}: decode {dec * 1e3:6.2f} ms, "
              f"encode {enc * 1e3:6.2f} ms")
    if args.recorded:
        for name in ["01_client_init_put-get-devinf_alert201.wbxml",
                     "02_server_reply_212-chal_results-devinf_alert201.wbxml",
                     "exchanges/xml-large-object/002_req.xml"]:
            raw = (DATA / name).read_bytes()
            msg = sm.decode_wbxml(raw) if name.endswith(".wbxml") else sm.decode_xml(raw)
            bench(f"rec:{name[-40:]}", msg, args.repeat)


if __name__ == "__main__":
    main()
