"""``simsync card``: create, inspect and serve simulated cards."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("card", help="simulated SIM cards: create, inspect, serve to PC/SC")
    cs = p.add_subparsers(dest="card_cmd", metavar="SUBCOMMAND")
    cs.required = True
    _register_serve(cs)  # reader/vpcd engineer: `simsync card serve`


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
