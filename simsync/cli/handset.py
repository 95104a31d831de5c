"""``simsync handset``: the terminal that powers the card, obeys its proactive commands and syncs DB1."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("handset", help="the handset: boot a card, drive its SIM menu, synchronise")
    hs = p.add_subparsers(dest="handset_cmd", metavar="SUBCOMMAND")
    hs.required = True
