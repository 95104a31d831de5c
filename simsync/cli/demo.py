"""``simsync demo``: the main job, end to end on embedded defaults."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the end-to-end demonstration on embedded defaults")
    p.set_defaults(func=lambda args: 0)
