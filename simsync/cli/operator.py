"""``simsync operator``: the operator's tools (keys, CAP, GlobalPlatform client, provisioning, server)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simsync.errors import SimsyncError


def _hex_arg(text: str) -> bytes:
    try:
        return bytes.fromhex(text.replace(":", "").replace(" ", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not hex") from None


def _int_arg(text: str) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a hex number") from None
    if not 0 <= value <= 0xFF:
        raise argparse.ArgumentTypeError(f"'{text}' is not a byte")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("operator", help="operator tools: keys, CAP build and sign, GlobalPlatform, server")
    ops = p.add_subparsers(dest="operator_cmd", metavar="SUBCOMMAND")
    ops.required = True
    _register_keys(ops)
    _register_issue(ops)
    _register_cap(ops)
    _register_gp(ops)
    _register_provision(ops)
    _register_server(ops)
    _register_data(ops)
    from .operator_trigger import register_trigger

    register_trigger(ops)


# -- keys ------------------------------------------------------------------------------------------


def _register_keys(ops: argparse._SubParsersAction) -> None:
    k = ops.add_parser("keys", help="the operator's key directory (DAP, secure channel, token, receipt keys)")
    ks = k.add_subparsers(dest="keys_cmd", metavar="ACTION")
    ks.required = True
    init = ks.add_parser("init", help="create a key directory (0700, files 0600)",
                         description="Create the operator's DAP key pair, SCP master keys (with key version "
                                     "and diversification scheme), token and receipt keys. Secrets are not "
                                     "printed unless --show-secrets.")
    init.add_argument("directory", metavar="DIR")
    init.add_argument("--dap-alg", choices=("rsa", "ecdsa"), default="rsa",
                      help="DAP / token key algorithm: RSA-2048 (default) or ECDSA P-256")
    init.add_argument("--scp", choices=("03", "02"), default="03", help="secure channel: 03 = AES (default), 02 = 3DES")
    init.add_argument("--key-length", type=int, choices=(16, 24, 32), default=16, help="AES key length (bytes)")
    init.add_argument("--kvn", type=_int_arg, default=0x30, help="key version number, hex (default 30)")
    init.add_argument("--diversification", choices=("none", "emv", "visa2", "kdf3"), default="none",
                      help="how card keys derive from the master keys (default none)")
    init.add_argument("--isd-aid", type=_hex_arg, default=None, help="the ISD AID DAP signatures name")
    init.add_argument("--force", action="store_true", help="replace existing keys")
    init.add_argument("--show-secrets", action="store_true", help="print the secret SCP keys")
    init.set_defaults(func=cmd_keys_init)
    show = ks.add_parser("show", help="print the public facts of a key directory (fingerprints, KCVs)")
    show.add_argument("directory", metavar="DIR")
    show.add_argument("--show-secrets", action="store_true", help="also print the secret SCP keys")
    show.set_defaults(func=cmd_keys_show)
    rot = ks.add_parser("rotate", help="new SCP master keys (next key version); the old set is kept as "
                                       "scp.previous.json for 'gp rotate-keys'")
    rot.add_argument("directory", metavar="DIR")
    rot.add_argument("--kvn", type=_int_arg, default=None, help="new key version (default: current + 1)")
    rot.add_argument("--show-secrets", action="store_true")
    rot.set_defaults(func=cmd_keys_rotate)


def _print_keys(desc: dict, secrets: dict | None) -> None:
    print(json.dumps(desc, indent=2, sort_keys=True))
    if secrets:
        print("SCP master keys (secret):")
        for name, value in secrets.items():
            print(f"  {name.upper()} {value}")


def cmd_keys_init(args: argparse.Namespace) -> int:
    from simsync.gp.keys import Diversification, KeyType
    from simsync.operator.keys import DEFAULT_ISD_AID, DapAlgorithm, ScpKeySet, init_keys

    scp = ScpKeySet.generate(kvn=args.kvn, key_type=KeyType.AES if args.scp == "03" else KeyType.DES,
                             key_length=args.key_length, diversification=Diversification(args.diversification))
    keys = init_keys(args.directory, dap_alg=DapAlgorithm(args.dap_alg), scp=scp,
                     isd_aid=args.isd_aid or DEFAULT_ISD_AID, force=args.force)
    print(f"created operator keys in {args.directory}")
    _print_keys(keys.describe(), keys.scp.secrets() if args.show_secrets else None)
    return 0


def cmd_keys_show(args: argparse.Namespace) -> int:
    from simsync.operator.keys import load_keys

    keys = load_keys(args.directory)
    _print_keys(keys.describe(), keys.scp.secrets() if args.show_secrets else None)
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from simsync.operator.keys import SCP_FILE, ScpKeySet, load_scp, save_scp

    d = Path(args.directory)
    old = load_scp(d / SCP_FILE)
    kvn = args.kvn if args.kvn is not None else (old.kvn % 0x7F) + 1
    if kvn == old.kvn:
        raise SimsyncError("the new key version must differ from the current one")
    new = ScpKeySet.generate(kvn=kvn, key_type=old.key_type, key_length=len(old.master.enc),
                             diversification=old.diversification)
    save_scp(old, d, "scp.previous.json")
    save_scp(new, d)
    print(f"new SCP key set {kvn:02X} in {d / SCP_FILE}; previous set {old.kvn:02X} kept in "
          f"{d / 'scp.previous.json'}; put it on cards with 'simsync operator gp rotate-keys'")
    _print_keys(new.describe(), new.secrets() if args.show_secrets else None)
    return 0


# -- issue -----------------------------------------------------------------------------------------


def _register_issue(ops: argparse._SubParsersAction) -> None:
    i = ops.add_parser("issue", help="create blank card files whose ISD holds this operator's keys",
                       description="Create card files ready for provisioning: the ISD holds the secure "
                                   "channel keys diversified for each card's own KDD and the operator's DAP key.")
    i.add_argument("cardfiles", nargs="+", metavar="CARDFILE")
    i.add_argument("--keys", required=True, metavar="DIR")
    i.add_argument("--kdd", type=_hex_arg, default=None, help="key diversification data, 10 bytes hex "
                   "(default random; only with one card file)")
    i.add_argument("--optional-dap", action="store_true", help="DAP verification without mandated DAP")
    i.add_argument("--force", action="store_true", help="overwrite existing card files")
    i.set_defaults(func=cmd_issue)


def cmd_issue(args: argparse.Namespace) -> int:
    from simsync.operator.issue import issue_card
    from simsync.operator.keys import load_keys

    if args.kdd is not None and len(args.cardfiles) > 1:
        raise SimsyncError("--kdd names one card's diversification data: give one card file")
    keys = load_keys(args.keys)
    for path in args.cardfiles:
        card = issue_card(path, keys, kdd=args.kdd, mandated_dap=not args.optional_dap, force=args.force)
        print(f"issued {card.path}: ICCID {card.iccid}, KDD {card.kdd.hex().upper()}")
    return 0


# -- cap -------------------------------------------------------------------------------------------


def _register_cap(ops: argparse._SubParsersAction) -> None:
    c = ops.add_parser("cap", help="CAP files: build, inspect, DAP sign and verify")
    cs = c.add_subparsers(dest="cap_cmd", metavar="ACTION")
    cs.required = True
    b = cs.add_parser("build", help="build an applet's CAP from the project's applet metadata")
    b.add_argument("out", metavar="OUT.cap")
    b.add_argument("--applet", default="sync", help="project applet name (default sync)")
    b.add_argument("--payload-size", type=int, default=None, help=argparse.SUPPRESS)
    b.set_defaults(func=cmd_cap_build)
    i = cs.add_parser("inspect", help="AIDs, components, sizes and the Load File Data Block SHA-256")
    i.add_argument("cap", metavar="CAP")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_cap_inspect)
    s = cs.add_parser("sign", help="DAP-sign the CAP's Load File Data Block hash for the ISD")
    s.add_argument("cap", metavar="CAP")
    s.add_argument("--keys", required=True, metavar="DIR")
    s.add_argument("-o", "--output", required=True, metavar="SIG")
    s.add_argument("--sd-aid", type=_hex_arg, default=None, help="Security Domain AID (default: the keys' ISD)")
    s.set_defaults(func=cmd_cap_sign)
    v = cs.add_parser("verify", help="check a DAP signature against a CAP and the operator's DAP key")
    v.add_argument("cap", metavar="CAP")
    v.add_argument("signature", metavar="SIG")
    v.add_argument("--keys", required=True, metavar="DIR|PEM", help="key directory or DAP public key PEM")
    v.set_defaults(func=cmd_cap_verify)


def cmd_cap_build(args: argparse.Namespace) -> int:
    from simsync.operator.applets import applet_definition
    from simsync.operator.capbuild import build_applet_cap, inspect_cap

    defn = applet_definition(args.applet)
    raw = build_applet_cap(defn, args.payload_size)
    Path(args.out).write_bytes(raw)
    info = inspect_cap(raw)
    note = " (PLACEHOLDER applet definition: the applet module does not exist yet)" if defn.placeholder else ""
    print(f"wrote {args.out}: package {info.package_aid.hex().upper()} v{info.version[0]}.{info.version[1]}, "
          f"applets {', '.join(a.hex().upper() for a in info.applet_aids)}, "
          f"LFDB {info.lfdb_size} bytes SHA-256 {info.lfdb_sha256.hex().upper()}{note}")
    return 0


def cmd_cap_inspect(args: argparse.Namespace) -> int:
    from simsync.operator.capbuild import inspect_cap, read_cap

    _raw, cap = read_cap(args.cap)
    info = inspect_cap(cap)
    if args.json:
        print(json.dumps(info.to_json(), indent=2, sort_keys=True))
        return 0
    print(f"package      {info.package_aid.hex().upper()} ({info.package_name or '-'}) "
          f"version {info.version[0]}.{info.version[1]}")
    for a in info.applet_aids:
        print(f"applet       {a.hex().upper()}")
    for aid, (ma, mi) in info.imports:
        print(f"import       {aid.hex().upper()} {ma}.{mi}")
    for name, size in info.components:
        print(f"component    {name:<20} {size:>6} bytes")
    print(f"LFDB         {info.lfdb_size} bytes, SHA-256 {info.lfdb_sha256.hex().upper()}")
    return 0


def cmd_cap_sign(args: argparse.Namespace) -> int:
    from simsync.operator.capbuild import read_cap, sign_cap
    from simsync.operator.keys import load_keys

    _, cap = read_cap(args.cap)
    sig = sign_cap(cap, load_keys(args.keys), args.sd_aid)
    sig.save(args.output)
    print(f"wrote {args.output}: {sig.algorithm} DAP for SD {sig.sd_aid.hex().upper()} over LFDB hash "
          f"{sig.lfdb_hash.hex().upper()}")
    return 0


def cmd_cap_verify(args: argparse.Namespace) -> int:
    from simsync.operator.capbuild import DapSignature, read_cap, verify_cap
    from simsync.operator.keys import load_dap_public

    _, cap = read_cap(args.cap)
    verify_cap(cap, DapSignature.load(args.signature), load_dap_public(args.keys))
    print(f"{args.signature}: valid DAP signature of {args.cap}")
    return 0


# -- gp --------------------------------------------------------------------------------------------


def _gp_parent() -> argparse.ArgumentParser:
    g = argparse.ArgumentParser(add_help=False)
    g.add_argument("--reader", required=True, metavar="READER", help="sim:CARDFILE or pcsc:NAME")
    g.add_argument("--keys", metavar="DIR", help="operator key directory (or an scp.json)")
    g.add_argument("--kvn", type=_int_arg, default=None, help="key version to authenticate with (hex)")
    g.add_argument("--level", default="cmac-cdec", help="security level: cmac, cmac-cdec (default), "
                   "cmac-rmac, cmac-cdec-rmac, cmac-cdec-rmac-renc or hex")
    g.add_argument("--diversification", choices=("none", "emv", "visa2", "kdf3"), default=None,
                   help="override the key set's diversification scheme")
    g.add_argument("--isd-aid", type=_hex_arg, default=None, help="the ISD AID (default from the keys)")
    g.add_argument("--s16", action="store_true", help="SCP03 S16 mode (16-byte challenges)")
    g.add_argument("--token-keys", metavar="DIR", default=None,
                   help="delegated management: sign INSTALL/DELETE tokens with this operator key directory's "
                        "token key and verify the card's receipts with its receipt key (address the "
                        "supplementary security domain with --isd-aid and its keys with --keys)")
    g.add_argument("--trace", action="store_true", help="print the APDUs on stderr")
    return g


def _register_gp(ops: argparse._SubParsersAction) -> None:
    gp = ops.add_parser("gp", help="GlobalPlatform card management over any reader")
    gs = gp.add_subparsers(dest="gp_cmd", metavar="ACTION")
    gs.required = True
    parent = _gp_parent()

    def add(name: str, help_: str, func) -> argparse.ArgumentParser:
        sp = gs.add_parser(name, help=help_, parents=[parent])
        sp.set_defaults(func=func, gp_action=name)
        return sp

    a = add("info", "card recognition data, key information, CPLC, IIN/CIN (no authentication)", cmd_gp)
    a.add_argument("--json", action="store_true")
    a = add("list", "GET STATUS: ISD, applications, load files and modules", cmd_gp)
    a.add_argument("--json", action="store_true")
    a = add("load", "INSTALL [for load] + LOAD of a CAP, with its DAP signature", cmd_gp)
    a.add_argument("cap", metavar="CAP")
    a.add_argument("--signature", metavar="SIG", action="append",
                   help="DAP signature file (cap sign); repeat it for the DAPs of several SDs")
    a.add_argument("--sd", type=_hex_arg, default=None, metavar="AID",
                   help="associate the load file with this security domain (default: the one "
                        "the session is open on)")
    a.add_argument("--block-size", type=int, default=None,
                   help="LOAD block size (default 239, less when the security level needs the room)")
    a = add("install", "INSTALL [for install and make selectable]", cmd_gp)
    a.add_argument("--cap", metavar="CAP", help="take the package and the first applet from this CAP")
    a.add_argument("--package", type=_hex_arg, help="load file (package) AID")
    a.add_argument("--module", type=_hex_arg, help="module (applet class) AID")
    a.add_argument("--instance", type=_hex_arg, help="instance AID (default: module AID + 01)")
    a.add_argument("--privileges", type=_hex_arg, default=b"\x00\x00\x00", help="privileges, 1 or 3 bytes hex")
    a.add_argument("--params", type=_hex_arg, default=b"", help="application parameters (C9 value), hex")
    a.add_argument("--no-selectable", action="store_true", help="INSTALL [for install] only")
    a = add("delete", "DELETE an application or load file", cmd_gp)
    a.add_argument("aid", type=_hex_arg, metavar="AID")
    a.add_argument("--related", action="store_true", help="also delete the load file's applications")
    a = add("lock", "lock an application (SET STATUS)", cmd_gp)
    a.add_argument("aid", type=_hex_arg, metavar="AID")
    a = add("unlock", "unlock an application (SET STATUS)", cmd_gp)
    a.add_argument("aid", type=_hex_arg, metavar="AID")
    a = add("set-status", "change the card life cycle state (SET STATUS on the ISD)", cmd_gp)
    a.add_argument("state", choices=("initialized", "secured", "card-locked", "terminated"))
    a = add("store-data", "INSTALL [for personalization] + STORE DATA blocks to an application", cmd_gp)
    a.add_argument("aid", type=_hex_arg, metavar="AID")
    a.add_argument("blocks", type=_hex_arg, nargs="+", metavar="HEX")
    a = add("put-key", "PUT KEY: add or replace a secure channel key set (diversified per card)", cmd_gp)
    a.add_argument("--new-keys", required=True, metavar="DIR|JSON", help="key directory or scp.json to put")
    a.add_argument("--replace", type=_int_arg, default=None, metavar="KVN",
                   help="replace this key version (default: add a new key set)")
    a = add("rotate-keys", "authenticate with DIR/scp.previous.json, replace it with DIR/scp.json, check", cmd_gp)
    a = add("create-sd", "INSTALL a supplementary security domain (Delegated Management by default)", cmd_gp)
    a.add_argument("aid", type=_hex_arg, metavar="AID")
    a.add_argument("--authorized", action="store_true",
                   help="Authorized Management instead of Delegated Management (no tokens needed)")
    a = add("put-dap-key", "PUT KEY of the operator's DAP public key into the ISD (or, with "
            "--isd-aid, into a supplementary SD with the DAP Verification privilege)", cmd_gp)
    a.add_argument("--dap-kvn", type=_int_arg, default=0x73)
    a.add_argument("--replace", action="store_true", help="replace the card's DAP key")


def _client(args: argparse.Namespace, conn, scp=None):
    from simsync.gp.keys import Diversification
    from simsync.operator.gpclient import GpClient, parse_level
    from simsync.operator.keys import DEFAULT_ISD_AID, load_keys, load_scp

    isd = args.isd_aid
    if scp is None and args.keys:
        p = Path(args.keys)
        if p.is_dir() and (p / "keys.json").exists():
            keys = load_keys(p)
            scp = keys.scp
            isd = isd or keys.isd_aid
        else:
            scp = load_scp(p)
    div = Diversification(args.diversification) if args.diversification else None
    dm: dict = {}
    if getattr(args, "token_keys", None):
        op = load_keys(args.token_keys)
        dm = {"token_key": op.token_key, "receipt_key": op.receipt_key}
    return GpClient(conn, scp, isd_aid=isd or DEFAULT_ISD_AID, level=parse_level(args.level), kvn=args.kvn,
                    s16=args.s16, diversification=div, **dm)


def _entry_line(kind: str, e) -> str:
    from simsync.gp.tlv import application_state_name

    state = application_state_name(e.life_cycle) if kind == "APP" else f"{e.life_cycle:02X}"
    if kind == "ISD":
        from simsync.gp.tlv import CardLifeCycle

        try:
            state = CardLifeCycle(e.life_cycle).name
        except ValueError:
            pass
    if kind == "PKG":
        state = "LOADED"
    out = f"{kind}  {e.aid.hex().upper():<32} {state}"
    if e.privileges:
        out += f"  privileges: {', '.join(e.privileges.names())}"
    if e.version:
        out += f"  version {'.'.join(str(b) for b in e.version)}"
    for m in e.modules:
        out += f"\n       module {m.hex().upper()}"
    if e.load_file_aid:
        out += f"  from {e.load_file_aid.hex().upper()}"
    return out


def _entry_json(e) -> dict:
    return {"aid": e.aid.hex().upper(), "life_cycle": f"{e.life_cycle:02X}",
            "privileges": e.privileges.names() if e.privileges is not None else None,
            "load_file": e.load_file_aid.hex().upper() if e.load_file_aid else None,
            "version": e.version.hex().upper() if e.version else None,
            "modules": [m.hex().upper() for m in e.modules]}


def cmd_gp(args: argparse.Namespace) -> int:
    from simsync.operator.gpclient import open_card

    trace = sys.stderr if args.trace else None
    receipts: list = []  # the client fills it with the receipts it verified
    with open_card(args.reader, trace=trace) as conn:
        rc = _run_gp(args, conn, receipts)
    for r in receipts:
        print(f"receipt: {r.step} {r.aid.hex().upper()} counter {r.counter} "
              f"{'verified' if r.verified else 'NOT verified'}")
    return rc


def _run_gp(args: argparse.Namespace, conn, receipts: list) -> int:
    from simsync.gp.tlv import CardLifeCycle, Privileges
    from simsync.operator.capbuild import DapSignature, read_cap

    action = args.gp_action
    if action == "info":
        gp = _client(args, conn)
        info = gp.info()
        if args.json:
            print(json.dumps(info.to_json(), indent=2, sort_keys=True))
        else:
            for key, value in info.to_json().items():
                print(f"{key:<17} {json.dumps(value, sort_keys=True)}")
        return 0
    if action == "rotate-keys":
        from simsync.operator.keys import load_scp

        if not args.keys:
            raise SimsyncError("rotate-keys needs --keys DIR (after 'simsync operator keys rotate DIR')")
        d = Path(args.keys)
        if not (d / "scp.previous.json").exists():
            raise SimsyncError(f"{d}: no scp.previous.json - run 'simsync operator keys rotate {d}' first")
        old, new = load_scp(d / "scp.previous.json"), load_scp(d / "scp.json")
        gp = _client(args, conn, old)
        gp.kvn = args.kvn if args.kvn is not None else old.kvn
        gp.open()
        gp.put_keys(new, replace_kvn=gp.session_info.kvn)
        check = _client(args, conn, new)
        check.kvn = new.kvn
        check.open()
        print(f"key set {old.kvn:02X} replaced by {new.kvn:02X}; authentication with the new keys works")
        return 0
    gp = _client(args, conn)
    gp.open()
    gp.receipts = receipts
    if action == "create-sd":
        privileges = Privileges.AUTHORIZED_MANAGEMENT if args.authorized else Privileges.DELEGATED_MANAGEMENT
        gp.create_security_domain(args.aid, privileges=privileges)
        print(f"created security domain {args.aid.hex().upper()} ({privileges.name.lower()})")
        return 0
    if action == "list":
        entries = gp.list_all()
        if args.json:
            print(json.dumps({k: [_entry_json(e) for e in v] for k, v in entries.items()}, indent=2))
            return 0
        for kind, key in (("ISD", "isd"), ("APP", "applications"), ("PKG", "load_files")):
            for e in entries[key]:
                print(_entry_line(kind, e))
        return 0
    if action == "load":
        _raw, cap = read_cap(args.cap)
        sigs = [DapSignature.load(p) for p in args.signature or ()]
        digest = gp.load(cap, sigs or None, block_size=args.block_size, security_domain=args.sd)
        print(f"loaded {cap.package_aid.hex().upper()} (LFDB SHA-256 {digest.hex().upper()})")
        return 0
    if action == "install":
        package, module = args.package, args.module
        if args.cap:
            _, cap = read_cap(args.cap)
            package = package or cap.package_aid
            module = module or (cap.applet_aids[0] if cap.applet_aids else None)
        if not package or not module:
            raise SimsyncError("install needs --package and --module (or --cap)")
        instance = args.instance or (module + b"\x01" if len(module) < 16 else module)
        gp.install(package, module, instance, privileges=Privileges.parse(args.privileges), params=args.params,
                   make_selectable=not args.no_selectable)
        print(f"installed {instance.hex().upper()} from {package.hex().upper()}/{module.hex().upper()}")
        return 0
    if action == "delete":
        gp.delete(args.aid, related=args.related)
        print(f"deleted {args.aid.hex().upper()}{' and related objects' if args.related else ''}")
        return 0
    if action in ("lock", "unlock"):
        gp.set_application_lock(args.aid, action == "lock")
        print(f"{action}ed {args.aid.hex().upper()}")
        return 0
    if action == "set-status":
        state = {"initialized": CardLifeCycle.INITIALIZED, "secured": CardLifeCycle.SECURED,
                 "card-locked": CardLifeCycle.CARD_LOCKED, "terminated": CardLifeCycle.TERMINATED}[args.state]
        gp.set_card_state(state)
        print(f"card life cycle is now {state.name}")
        return 0
    if action == "store-data":
        answers = gp.store_data(args.aid, list(args.blocks))
        print(f"stored {len(answers)} block(s) in {args.aid.hex().upper()}")
        return 0
    if action == "put-key":
        from simsync.operator.keys import load_scp

        new = load_scp(args.new_keys)
        out = gp.put_keys(new, replace_kvn=args.replace)
        print(f"key set {new.kvn:02X} {'replaced ' + format(args.replace, '02X') if args.replace else 'added'}; "
              f"card answered {out.hex().upper()}")
        return 0
    if action == "put-dap-key":
        from simsync.operator.keys import load_keys

        keys = load_keys(args.keys)
        gp.put_dap_key(keys.dap_public, kvn=args.dap_kvn, replace_kvn=args.dap_kvn if args.replace else 0)
        print(f"DAP key ({keys.dap_algorithm.value}) put with key version {args.dap_kvn:02X}")
        return 0
    raise SimsyncError(f"unknown gp action {action}")  # pragma: no cover


# -- provision -------------------------------------------------------------------------------------


def _register_provision(ops: argparse._SubParsersAction) -> None:
    p = ops.add_parser("provision", help="load, install and personalise many cards from one profile",
                       description="Provision every card file in --cards DIR, or every card in the PC/SC "
                                   "readers named by --readers, from PROFILE.json. Resumable: cards the audit "
                                   "log lists as done are skipped.")
    p.add_argument("profile", metavar="PROFILE.json")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--cards", metavar="DIR", help="a directory of card files (sim:)")
    src.add_argument("--readers", metavar="NAME", action="append", help="PC/SC reader name part (repeatable)")
    p.add_argument("--audit", metavar="FILE", default=None,
                   help="audit log / resume state, JSON lines (default: PROFILE.audit.jsonl)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=cmd_provision)


def cmd_provision(args: argparse.Namespace) -> int:
    from simsync.operator.provision import Profile, card_readers, pcsc_readers, provision_batch

    profile = Profile.load(args.profile)
    readers = card_readers(args.cards) if args.cards else pcsc_readers(args.readers)
    audit = args.audit or str(Path(args.profile).with_suffix(".audit.jsonl"))
    result = provision_batch(profile, readers, audit_path=audit,
                             progress=None if args.no_progress else sys.stderr)
    for r in result.results:
        if r.result == "error":
            print(f"FAILED {r.card} ({r.reader}): {r.error}", file=sys.stderr)
    print(f"provisioned {result.count('ok')}, skipped {result.count('skipped')} (already done), "
          f"failed {result.count('error')} of {len(result.results)} cards in {result.seconds:.2f} s; "
          f"audit log {audit}")
    return 0 if result.ok else 1


# -- serve, user (the SyncML server and its accounts) ----------------------------------------------


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", default=None,
                   help="database URL (sqlite:///FILE, postgresql+psycopg://...) or a SQLite file; "
                        "default $SIMSYNC_DB or ./simsync-operator.db")


def _register_server(ops: argparse._SubParsersAction) -> None:
    s = ops.add_parser("serve", help="run the SyncML server (HTTP POST /syncml, XML and WBXML)",
                       description="Serve SyncML on http://HOST:PORT/syncml with the database at --db "
                                   "(its schema is created or upgraded first). GET /health reports "
                                   "whether the database answers.")
    _db_arg(s)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    s.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    s.add_argument("--public-url", default=None, metavar="URL",
                   help="the URL clients reach /syncml at, used in RespURI (default: from each request)")
    s.add_argument("--log-level", default="warning",
                   choices=("critical", "error", "warning", "info", "debug"))
    s.add_argument("--admin-token-file", metavar="FILE", default=None,
                   help="enable the JSON admin API (/admin, bearer token) with the token in FILE "
                        "(its first line); the server keeps only its SHA-256. Default: "
                        "$SIMSYNC_ADMIN_TOKEN_SHA256, else the admin API is off")
    s.set_defaults(func=cmd_serve)
    u = ops.add_parser("user", help="the SyncML server's accounts: add, list, delete, unlock")
    us = u.add_subparsers(dest="user_cmd", metavar="ACTION")
    us.required = True
    add = us.add_parser("add", help="create an account (password asked, or read from stdin)")
    add.add_argument("user", metavar="USER")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    _db_arg(add)
    add.set_defaults(func=cmd_user_add)
    ls = us.add_parser("list", help="list the accounts")
    _db_arg(ls)
    ls.set_defaults(func=cmd_user_list)
    rm = us.add_parser("delete", help="delete an account and all of its data")
    rm.add_argument("user", metavar="USER")
    _db_arg(rm)
    rm.set_defaults(func=cmd_user_delete)
    ul = us.add_parser("unlock", help="lift the login lock set after too many failed logins")
    ul.add_argument("user", metavar="USER")
    _db_arg(ul)
    ul.set_defaults(func=cmd_user_unlock)


def _open_store(args: argparse.Namespace):
    import os

    import sqlalchemy as sa

    from simsync.operator.server import SqlStore, StoreError, db_url_from

    url = db_url_from(args.db or os.environ.get("SIMSYNC_DB"))
    try:
        return SqlStore(url), url
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"database error: {' '.join(str(exc).split())[:300]}") from None


def _db_call(fn, *a):
    import sqlalchemy as sa

    from simsync.operator.server import StoreError

    try:
        return fn(*a)
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"database error: {' '.join(str(exc).split())[:300]}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    import sqlalchemy as sa
    import uvicorn

    if args.workers < 1:
        raise SimsyncError("--workers must be at least 1")
    if not 0 < args.port < 65536:
        raise SimsyncError(f"not a TCP port: {args.port}")
    store, url = _open_store(args)          # creates / upgrades the schema (Alembic upgrade head)
    store.close()
    os.environ["SIMSYNC_DB"] = url
    os.environ["SIMSYNC_MIGRATE"] = "0"
    if args.public_url:
        os.environ["SIMSYNC_PUBLIC_URL"] = args.public_url
    if args.admin_token_file:
        os.environ["SIMSYNC_ADMIN_TOKEN_SHA256"] = _admin_token_digest(args.admin_token_file)
    admin = _admin_env_digest()
    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    print(f"simsync SyncML server on http://{args.host}:{args.port}/syncml "
          f"(database {shown}, {args.workers} worker{'s' if args.workers > 1 else ''})", flush=True)
    if admin:
        print(f"admin API on http://{args.host}:{args.port}/admin (bearer token), OpenAPI at /openapi.json",
              flush=True)
    uvicorn.run("simsync.operator.server.app:app_from_env", factory=True, host=args.host,
                port=args.port, workers=args.workers, log_level=args.log_level)
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n")
        password = password.removesuffix("\r")
    else:
        import getpass

        password = getpass.getpass(f"password for {args.user}: ")
        if getpass.getpass("again: ") != password:
            raise SimsyncError("the passwords differ")
    if not password:
        raise SimsyncError("empty password")
    store, _ = _open_store(args)
    try:
        _db_call(store.add_account, args.user, password)
    finally:
        store.close()
    print(f"user {args.user} added")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    import time

    store, _ = _open_store(args)
    try:
        accounts = _db_call(store.list_accounts)
    finally:
        store.close()
    now = time.time()
    for a in accounts:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(a.created))
        lock = ""
        if a.locked_until > now:
            until = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(a.locked_until))
            lock = f"\tlogins locked until {until} UTC (failed logins)"
        print(f"{a.user}\t{'enabled' if a.enabled else 'disabled'}\tcreated {created} UTC{lock}")
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    store, _ = _open_store(args)
    try:
        _db_call(store.unlock, args.user)
    finally:
        store.close()
    print(f"user {args.user}: logins unlocked")
    return 0


def cmd_user_delete(args: argparse.Namespace) -> int:
    store, _ = _open_store(args)
    try:
        _db_call(store.delete_account, args.user)
    finally:
        store.close()
    print(f"user {args.user} deleted with all of their data")
    return 0


# -- data export / import (a user's server database as vCard / iCalendar files) --------------------


def _register_data(ops: argparse._SubParsersAction) -> None:
    d = ops.add_parser("data", help="a user's server contacts / calendar to and from vCard / iCalendar files")
    ds = d.add_subparsers(dest="data_cmd", metavar="ACTION")
    ds.required = True
    exp = ds.add_parser("export", help="write a user's contacts (vCard 3.0) or calendar (iCalendar 2.0) to a file")
    _db_arg(exp)
    exp.add_argument("--user", required=True, metavar="USER")
    exp.add_argument("--database", required=True, choices=("contacts", "calendar"))
    exp.add_argument("-o", "--output", required=True, metavar="FILE")
    exp.set_defaults(func=cmd_data_export)
    imp = ds.add_parser("import", help="add the items of .vcf / .ics / .vcs files to a user's database "
                                       "(all or nothing; a later slow sync matches them)")
    _db_arg(imp)
    imp.add_argument("--user", required=True, metavar="USER")
    imp.add_argument("--database", required=True, choices=("contacts", "calendar"))
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.set_defaults(func=cmd_data_import)


def _admin_token_digest(path: str) -> str:
    from simsync.operator.server.admin import token_digest

    try:
        token = Path(path).read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, UnicodeDecodeError, IndexError) as exc:
        raise SimsyncError(f"{path}: cannot read an admin token: {getattr(exc, 'strerror', None) or exc}") from None
    if len(token) < 16:
        raise SimsyncError(f"{path}: the admin token must have at least 16 characters")
    return token_digest(token)


def _admin_env_digest() -> str | None:
    import os

    from simsync.operator.server.admin import check_token_digest

    try:
        return check_token_digest(os.environ.get("SIMSYNC_ADMIN_TOKEN_SHA256"))
    except ValueError as exc:
        raise SimsyncError(f"SIMSYNC_ADMIN_TOKEN_SHA256: {exc}") from None


def cmd_data_export(args: argparse.Namespace) -> int:
    from simsync.operator.server.dataio import export_file

    store, _ = _open_store(args)
    try:
        n = _db_call(export_file, store, args.user, args.database, args.output)
    finally:
        store.close()
    print(f"exported {n} item{'s' if n != 1 else ''} of {args.user}'s {args.database} to {args.output}")
    return 0


def cmd_data_import(args: argparse.Namespace) -> int:
    from simsync.operator.server.dataio import import_files

    store, _ = _open_store(args)
    try:
        res = _db_call(import_files, store, args.user, args.database, args.files)
    finally:
        store.close()
    n = len(res.guids)
    print(f"imported {n} item{'s' if n != 1 else ''} from {res.files} file{'s' if res.files != 1 else ''} "
          f"into {args.user}'s {args.database}")
    return 0
