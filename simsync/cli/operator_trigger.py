"""``simsync operator trigger``: the secured trigger SMS for the sync applet (TS 102 225 command
packet to its TAR, docs/SYNCHRONIZE.md 7.3), printed as the SMS-DELIVER TPDU in hex for
``simsync handset sms HEX`` (or the operator's SMS centre).

Wiring (in simsync/cli/operator.py ``register``)::

    from .operator_trigger import register_trigger
    register_trigger(ops)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from simsync.errors import SimsyncError

ALGORITHMS = {"aes": 0x2, "3des2": 0x5, "3des3": 0x9}


class TriggerKeysError(SimsyncError):
    """OTA keys that cannot be used (file, hex, lengths)."""


def register_trigger(ops: argparse._SubParsersAction) -> None:
    t = ops.add_parser(
        "trigger",
        help="print a secured sync trigger SMS (TS 102 225) as SMS-DELIVER TPDU hex",
        description="Builds the command packet (ciphered, with a cryptographic checksum and a "
                    "counter) carrying the sync trigger to the sync applet's TAR, in an "
                    "SMS-DELIVER with the user data header 02 70 00. Keys: --keys FILE (JSON "
                    '{"algorithm": "aes", "version": 1, "kic": HEX, "kid": HEX}) or --kic/--kid.')
    t.add_argument("--keys", metavar="FILE", type=Path, help="the OTA keys as JSON")
    t.add_argument("--kic", metavar="HEX", help="ciphering key (instead of --keys)")
    t.add_argument("--kid", metavar="HEX", help="checksum key (instead of --keys)")
    t.add_argument("--algorithm", choices=sorted(ALGORITHMS), default=None,
                   help="with --kic/--kid (default aes)")
    t.add_argument("--key-version", type=int, default=None, metavar="N",
                   help="with --kic/--kid: key version 1..15 (default 1)")
    t.add_argument("--counter", type=int, required=True, metavar="N",
                   help="the packet's counter: higher than the last one the card accepted")
    t.add_argument("--counter-mode", choices=("higher", "one-higher"), default="higher")
    t.add_argument("--por", choices=("always", "error", "none"), default="always",
                   help="proof of receipt requested (default always, ciphered with a CC)")
    t.add_argument("--profile", type=int, default=0, metavar="ID",
                   help="the profile to sync (default 0: every profile)")
    t.add_argument("--confirm", action="store_true", help="the handset asks the user first")
    t.add_argument("--foreground", action="store_true", help="not in the background")
    t.add_argument("--originator", default="+4915100000000", metavar="N", help="TP-OA")
    t.add_argument("--packet", action="store_true",
                   help="print the command packet only (CPL onwards), not the TPDU")
    t.set_defaults(func=cmd_trigger)


def _hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text.replace(":", "").replace(" ", ""))
    except ValueError:
        raise TriggerKeysError(f"{what}: not hex") from None


def load_keys(args: argparse.Namespace):  # -> KeySet
    from simsync.ota import Algorithm, KeySet, OtaError, OtaKey

    if args.keys is not None:
        if args.kic or args.kid or args.algorithm or args.key_version is not None:
            raise TriggerKeysError("--keys or --kic/--kid/--algorithm/--key-version, not both")
        try:
            d = json.loads(args.keys.read_text())
            algo, version = str(d.get("algorithm", "aes")), int(d.get("version", 1))
            kic, kid = _hex(str(d["kic"]), "kic"), _hex(str(d["kid"]), "kid")
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as e:
            if isinstance(e, TriggerKeysError):
                raise
            raise TriggerKeysError(f"{args.keys}: not an OTA key file ({e})") from None
    else:
        if not (args.kic and args.kid):
            raise TriggerKeysError("OTA keys needed: --keys FILE, or --kic and --kid")
        algo, version = args.algorithm or "aes", 1 if args.key_version is None else args.key_version
        kic, kid = _hex(args.kic, "--kic"), _hex(args.kid, "--kid")
    if algo not in ALGORITHMS:
        raise TriggerKeysError(f"algorithm {algo!r}: one of {', '.join(sorted(ALGORITHMS))}")
    a = Algorithm(ALGORITHMS[algo])
    try:
        return KeySet(OtaKey(a, version, kic), OtaKey(a, version, kid))
    except OtaError as e:
        raise TriggerKeysError(f"OTA keys: {e}") from None


def cmd_trigger(args: argparse.Namespace) -> int:
    from simsync.card.applets.sync import (
        OTA_SPI,
        SyncTrigger,
        secured_trigger_message,
        secured_trigger_packet,
    )
    from simsync.ota import MAX_COUNTER, CounterMode, PorRequest

    keys = load_keys(args)
    if not 0 <= args.counter <= MAX_COUNTER:
        raise SimsyncError(f"--counter {args.counter}: 0..{MAX_COUNTER}")
    if not 0 <= args.profile <= 0xFF:
        raise SimsyncError(f"--profile {args.profile}: 0..255")
    mode = CounterMode.HIGHER if args.counter_mode == "higher" else CounterMode.ONE_HIGHER
    por = {"always": PorRequest.ALWAYS, "error": PorRequest.ON_ERROR,
           "none": PorRequest.NONE}[args.por]
    from dataclasses import replace

    spi = replace(OTA_SPI, counter=mode, por=por)
    trigger = SyncTrigger(args.profile, args.confirm, not args.foreground)
    if args.packet:
        out = secured_trigger_packet(trigger, keys, args.counter, spi=spi)
    else:
        out = secured_trigger_message(trigger, keys, args.counter, spi=spi,
                                      originator=args.originator)
    print(out.hex().upper())
    return 0
