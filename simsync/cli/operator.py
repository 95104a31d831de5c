"""``simsync operator``: the operator's tools (keys, CAP, GlobalPlatform client, provisioning, server)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("operator", help="operator tools: keys, CAP build and sign, GlobalPlatform, server")
    ops = p.add_subparsers(dest="operator_cmd", metavar="SUBCOMMAND")
    ops.required = True
