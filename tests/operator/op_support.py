"""Helpers of the operator tests (importable by name: conftest.py puts this directory on sys.path).

Importing this module registers the card-side classes a provisioned card needs in this process: the
ISD (``simsync.card.gp``), the project's applets (``simsync.card.applets``), a test applet ``APP``
whose behaviour the tests observe (install parameters and STORE DATA echoed back) and, while the
sync applet module does not exist, a stand-in under the placeholder sync AIDs (the card refuses
INSTALL for classes it does not know).
The ``card serve`` subprocess of the PC/SC tests imports it too (see :func:`serve_cmd`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from recording_applet import RecordingApplet

from simsync.card import CardProfile, SimCard, register_applet
from simsync.card.applet import lookup_applet_class
from simsync.card.gp import IsdConfig, KeySet, install_isd
from simsync.gp.keys import KeyType
from simsync.operator.applets import AppletDefinition, applet_definition, load_card_support
from simsync.operator.keys import ScpKeySet

HERE = Path(__file__).resolve().parent
load_card_support()

SYNC = applet_definition("sync")
# the applet the generic client tests install: a stand-in with behaviour the tests can observe
APP = AppletDefinition("echo", bytes.fromhex("F07373746573740A"), (bytes.fromhex("F07373746573740A01"),),
                       bytes.fromhex("F07373746573740A0101"), (1, 0), "org.simsync.test.echo")


class StandInApplet(RecordingApplet):
    """Keeps its install parameters and what STORE DATA brought; INS 01 / 02 return them."""


for _defn in (APP, SYNC):
    for _cls_aid in _defn.class_aids:
        if lookup_applet_class(_defn.package_aid, _cls_aid) is None:  # SYNC: only while it is a placeholder
            register_applet(_defn.package_aid, _cls_aid)(type(f"StandIn{_cls_aid.hex()}", (StandInApplet,), {}))


def make_card(path: Path | None, keys, *, kdd: bytes = bytes(range(10)), mandated_dap: bool = True,
              dap_key: Any = "operator", key_type: KeyType | None = None, **config: Any) -> SimCard:
    """A new card whose ISD holds the operator's keys diversified for ``kdd`` and its DAP key."""
    profile = CardProfile.random()
    card = SimCard.create(path, profile)
    scp = keys if isinstance(keys, ScpKeySet) else keys.scp
    kt = key_type or scp.key_type
    dk = (None if isinstance(keys, ScpKeySet) else keys.dap_public) if dap_key == "operator" else dap_key
    install_isd(card, IsdConfig(key_sets=(KeySet(scp.card_keys(kdd), kt),), dap_key=dk,
                                mandated_dap=mandated_dap and dk is not None, kdd=kdd, **config))
    return card


def new_card_file(path: Path, keys, **kw: Any) -> Path:
    make_card(path, keys, **kw).close()
    return path


def serve_cmd(path: Path, port: int) -> list[str]:
    """`simsync card serve` in a process that has the ISD and the stand-in applet registered."""
    code = (f"import sys; sys.path[:0] = [{str(HERE)!r}, {str(HERE.parent / 'support')!r}]; "
            "import op_support; from simsync.cli import main; "
            f"sys.exit(main(['card', 'serve', {str(path)!r}, '--vpcd', '127.0.0.1:{port}', "
            "'--max-seconds', '300']))")
    return [sys.executable, "-c", code]
