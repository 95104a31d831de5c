"""The ``simsync`` command line: a thin layer over the Python API.

Each area registers its subcommands from its own module (``simsync.cli.card`` and so on). Errors that
users can cause (:class:`~simsync.errors.SimsyncError`, codec errors, OS errors) are printed as one line
on stderr with exit status 2; a traceback is only shown with ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from simsync import __version__
from simsync.apdu.errors import CodecError
from simsync.errors import SimsyncError

from . import card as card_cli
from . import demo as demo_cli
from . import handset as handset_cli
from . import operator as operator_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simsync",
        description="Simulated SIM with an operator-signed sync applet, its provisioning, and SyncML sync.",
    )
    parser.add_argument("--version", action="version", version=f"simsync {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="area", metavar="COMMAND")
    sub.required = True
    card_cli.register(sub)
    operator_cli.register(sub)
    handset_cli.register(sub)
    demo_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except KeyboardInterrupt:
        print("simsync: interrupted", file=sys.stderr)
        return 130
    except (SimsyncError, CodecError, OSError) as exc:
        if args.debug:
            raise
        print(f"simsync: error: {exc}", file=sys.stderr)
        return 2
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
