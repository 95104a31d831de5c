"""``simsync card``: create, inspect and serve simulated cards."""

from __future__ import annotations

import argparse
import os

from simsync.errors import SimsyncError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("card", help="simulated SIM cards: create, inspect, serve to PC/SC")
    cs = p.add_subparsers(dest="card_cmd", metavar="SUBCOMMAND")
    cs.required = True

    new = cs.add_parser(
        "new", help="create a card file with random or given identities and secrets",
        description="Create a new simulated card. Unset values are random; the secrets (PINs, PUKs, "
                    "ADM1) are printed once, here, and never again.")
    new.add_argument("cardfile", metavar="CARDFILE", help="the card file to write (JSON)")
    new.add_argument("--iccid", metavar="N", help="ICCID, 10..20 digits (default: random 8949..., Luhn)")
    new.add_argument("--imsi", metavar="N", help="IMSI, 6..15 digits (default: random 00101...)")
    new.add_argument("--pin1", metavar="N", help="PIN1, 4..8 digits")
    new.add_argument("--puk1", metavar="N", help="PUK1, 8 digits")
    new.add_argument("--pin2", metavar="N", help="PIN2, 4..8 digits")
    new.add_argument("--puk2", metavar="N", help="PUK2, 8 digits")
    new.add_argument("--adm1", metavar="HEX", help="ADM1 key, 8 bytes as 16 hex digits")
    new.add_argument("--msisdn", metavar="N", help="the subscriber number (+ for international)")
    new.add_argument("--spn", metavar="TEXT", help="service provider name (at most 16 GSM characters)")
    new.add_argument("--no-pin1", action="store_true", help="create the card with PIN1 disabled")
    new.add_argument("--force", action="store_true", help="overwrite an existing card file")
    new.set_defaults(func=cmd_new)

    info = cs.add_parser("info", help="show a card's identities and PIN states (never its secrets)",
                         description="Show ICCID, IMSI, SPN, MSISDN, phonebook use, PIN states and "
                                     "installed applets of a card file.")
    info.add_argument("cardfile", metavar="CARDFILE", help="the card file to read")
    info.set_defaults(func=cmd_info)
    _register_serve(cs)  # reader/vpcd engineer: `simsync card serve` (simsync/card/vpcd.py)


def cmd_new(args: argparse.Namespace) -> int:
    from simsync.card import CardProfile, SimCard

    overrides: dict[str, object] = {}
    for key in ("iccid", "imsi", "pin1", "puk1", "pin2", "puk2", "msisdn", "spn"):
        value = getattr(args, key)
        if value is not None:
            overrides[key] = value
    if args.adm1 is not None:
        try:
            adm1 = bytes.fromhex(args.adm1)
        except ValueError:
            raise SimsyncError("--adm1 must be 16 hex digits") from None
        if len(adm1) != 8:
            raise SimsyncError("--adm1 must be 16 hex digits (8 bytes)")
        overrides["adm1"] = adm1
    if args.no_pin1:
        overrides["pin1_enabled"] = False
    if not args.cardfile or os.path.isdir(args.cardfile):
        # before anything is created (the card file's lock lives beside it)
        raise SimsyncError(f"'{args.cardfile}': CARDFILE must name a file, not a directory")
    if os.path.exists(args.cardfile) and not args.force:
        raise SimsyncError(f"{args.cardfile}: already exists (use --force to overwrite)")
    profile = CardProfile.random(**overrides)
    SimCard.create(args.cardfile, profile, overwrite=args.force).close()
    print(f"created {args.cardfile}")
    print(f"  ICCID   {profile.iccid}")
    print(f"  IMSI    {profile.imsi}")
    print(f"  MSISDN  {profile.msisdn or '-'}")
    print(f"  SPN     {profile.spn}")
    print("secrets (shown only now; keep them):")
    print(f"  PIN1 {profile.pin1}{'' if profile.pin1_enabled else ' (disabled)'}   PUK1 {profile.puk1}")
    print(f"  PIN2 {profile.pin2}   PUK2 {profile.puk2}")
    print(f"  ADM1 {profile.adm1.hex().upper()}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from simsync.card import SimCard

    info = SimCard.load(args.cardfile, lock=False).info()
    print(f"card file  {args.cardfile}")
    print(f"ICCID      {info.iccid or '-'}")
    print(f"IMSI       {info.imsi or '-'}")
    print(f"SPN        {info.spn if info.spn is not None else '-'}")
    print(f"MSISDN     {info.msisdn or '-'}")
    print(f"phonebook  {info.phonebook_used} of {info.phonebook_size} entries used")
    for pin in info.pins:
        state = "blocked" if pin.blocked else ("enabled" if pin.enabled else "disabled")
        puk = f", PUK {pin.puk_tries_left} tries left" if pin.puk_tries_left is not None else ""
        print(f"{pin.name:<10} {state}, {pin.tries_left} of {pin.max_tries} tries left{puk}")
    print(f"applets    {', '.join(info.applets) if info.applets else 'none'}")
    return 0


# -- `simsync card serve` (owned by the reader/vpcd engineer: simsync/card/vpcd.py) ---------------
def _register_serve(cs: argparse._SubParsersAction) -> None:
    p = cs.add_parser(
        "serve", help="insert the card into vpcd's virtual PC/SC reader (pcscd) until stopped",
        description="Connect the card in CARDFILE to vpcd (vsmartcard's virtual reader inside pcscd) "
        "so that every PC/SC application sees it. Reconnects when pcscd restarts; SIGTERM/Ctrl-C "
        "stops it with the card state saved.")
    p.add_argument("cardfile", metavar="CARDFILE")
    p.add_argument("--vpcd", metavar="HOST:PORT", default="127.0.0.1:35963",
                   help="vpcd slot address (default 127.0.0.1:35963 = 'Virtual PCD 00 00'; "
                   "port + 1 is slot 1)")
    p.add_argument("--max-seconds", type=float, default=None, metavar="S",
                   help="stop after S seconds (for bounded runs)")
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    from simsync.card.vpcd import run_serve

    return run_serve(args.cardfile, args.vpcd, max_seconds=args.max_seconds)
