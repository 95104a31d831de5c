"""The hook for the card application toolkit (ETSI TS 102 223 over TS 102 221 transport).

The card routes TERMINAL PROFILE (80 10), ENVELOPE (80 C2), FETCH (80 12) and TERMINAL RESPONSE
(80 14) to ``card.toolkit``, an instance of :class:`Toolkit`, and after every command that ends with
9000 asks :meth:`Toolkit.pending` for the length of a pending proactive command to answer 91xx.

This base class is "a card without toolkit": TERMINAL PROFILE is accepted and ignored (9000, as
TS 102 221 11.2.1 asks of every UICC); ENVELOPE, FETCH and TERMINAL RESPONSE are not supported
(6D00); no proactive command is ever pending. A later issue subclasses it (CAT runtime) and
installs it with ``card.toolkit = MyToolkit(card)``. Its state is volatile unless it keeps it in
an applet's ``save()``.
"""

from __future__ import annotations

from simsync.apdu import CommandApdu, ResponseApdu

from .errors import SwError


class Toolkit:
    """Default: no proactive UICC."""

    def terminal_profile(self, apdu: CommandApdu) -> ResponseApdu:
        return ResponseApdu(b"", 0x9000)

    def envelope(self, apdu: CommandApdu) -> ResponseApdu:
        raise SwError(0x6D00)

    def fetch(self, apdu: CommandApdu) -> ResponseApdu:
        raise SwError(0x6D00)

    def terminal_response(self, apdu: CommandApdu) -> ResponseApdu:
        raise SwError(0x6D00)

    def pending(self) -> int:
        """Length of the proactive command waiting for FETCH (0: none)."""
        return 0

    def reset(self) -> None:
        """Power off / warm reset: forget the session."""
        return
