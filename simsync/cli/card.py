"""``simsync card``: create, inspect and serve simulated cards."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("card", help="simulated SIM cards: create, inspect, serve to PC/SC")
    cs = p.add_subparsers(dest="card_cmd", metavar="SUBCOMMAND")
    cs.required = True
