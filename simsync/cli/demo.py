"""``simsync demo``: the main job, end to end on embedded defaults (see :mod:`simsync.demo`)."""

from __future__ import annotations

import argparse
import sys
import tempfile


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="run the end-to-end demonstration on embedded defaults",
        description="Create a simulated SIM and drive it as a handset would, printing a timed report. "
                    "Exits non-zero if any step fails.")
    p.add_argument("--dir", metavar="DIR",
                   help="keep the files here (default: a new temporary directory)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from simsync.demo import run_demo

    workdir = args.dir or tempfile.mkdtemp(prefix="simsync-demo-")
    report = run_demo(workdir, out=sys.stdout)
    return 0 if report.ok else 1
