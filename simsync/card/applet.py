"""The applet framework: a small Java Card runtime analogue for the simulated UICC.

An applet class is registered under its (package AID, class AID) with :func:`register_applet`;
the card (or the GlobalPlatform card manager, through :meth:`SimCard.install_applet`) creates
instances with :meth:`Applet.install`. Life cycle, as on Java Card:

* SELECT by AID (00 A4 04 ..) that names an instance: ``select(channel)``; if it returns False the
  card answers 6999 and nothing changes. Otherwise the SELECT APDU itself is then passed to
  ``process()`` (test :meth:`Applet.selecting`), whose response is the SELECT's response.
* While an applet is selected on a channel, every APDU on that channel goes to ``process()``
  except SELECT (any P1: the card OS handles all SELECTs, deselecting the applet when the
  selection moves), MANAGE CHANNEL, GET RESPONSE and the toolkit commands (80 10/C2/12/14).
  Applets receive CLA bytes with secure-messaging/chaining bits as sent (e.g. 84 for SCP).
* ``process()`` returns a :class:`~simsync.apdu.ResponseApdu` or raises
  :class:`~simsync.card.errors.SwError`; any other exception is an internal error: the card
  answers 6F00 and rolls back to the last committed state.
* ``deselect(channel)`` when another selection replaces it, on MANAGE CHANNEL close, and never on
  power loss (a card just loses power).

Persistent state is whatever ``save()`` returns (a JSON-serialisable dict); the card compares it
after every APDU the applet processed and commits it atomically with the rest of the card. Keep
everything else in the instance volatile. ``restore()`` rebuilds an instance from that dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from simsync.apdu import CommandApdu, ResponseApdu

from .errors import SwError

if TYPE_CHECKING:  # pragma: no cover
    from .card import SimCard

__all__ = [
    "Applet",
    "AppletContext",
    "SwError",
    "lookup_applet_class",
    "register_applet",
    "registered_applets",
]


@dataclass(frozen=True)
class AppletContext:
    """What an applet may use of its card: the card object (file system, security status)."""

    card: SimCard

    def is_verified(self, ref: int) -> bool:
        """Has PIN/ADM reference ``ref`` (01, 81, 0A) been verified since power on?"""
        return self.card.is_verified(ref)

    def pin_satisfied(self, ref: int) -> bool:
        """Is the access condition of PIN ``ref`` met: verified since power on, or disabled?"""
        return self.card.pin_satisfied(ref)

    def file(self, path: str):
        """A file of the card's file system, e.g. ``ctx.file("3F00/7F10/6F3A").records``.

        Applets that change file contents directly must call :meth:`mark_dirty` so the change is
        committed with the APDU.
        """
        return self.card.node(path)

    def mark_dirty(self) -> None:
        """Ask for a commit at the end of the current APDU (file contents changed directly)."""
        self.card.mark_dirty()


class Applet:
    """Base class. Subclasses override :meth:`process` and, if they keep state, save/restore."""

    PACKAGE_AID: ClassVar[bytes] = b""
    CLASS_AID: ClassVar[bytes] = b""

    def __init__(self, ctx: AppletContext, instance_aid: bytes) -> None:
        self.ctx = ctx
        self.aid = bytes(instance_aid)

    # -- life cycle --------------------------------------------------------------------------
    @classmethod
    def install(cls, ctx: AppletContext, instance_aid: bytes, params: bytes) -> Applet:
        """Create an instance; ``params`` are the install parameters (C9 value for GP)."""
        return cls(ctx, instance_aid)

    def select(self, channel: int) -> bool:
        return True

    def deselect(self, channel: int) -> None:
        return None

    def process(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        if self.selecting(apdu):
            return ResponseApdu(b"", 0x9000)
        raise SwError(0x6D00)

    def uninstall(self) -> None:
        return None

    # -- persistence -------------------------------------------------------------------------
    def save(self) -> dict[str, Any]:
        return {}

    @classmethod
    def restore(cls, ctx: AppletContext, instance_aid: bytes, data: dict[str, Any]) -> Applet:
        return cls(ctx, instance_aid)

    # -- helpers -----------------------------------------------------------------------------
    def selecting(self, apdu: CommandApdu) -> bool:
        """Is this the SELECT APDU that selected this applet (Java Card ``selectingApplet()``)?"""
        return apdu.ins == 0xA4 and apdu.p1 == 0x04 and (apdu.cla & 0x80) == 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.aid.hex().upper()}>"


class DormantApplet(Applet):
    """Stands in for an instance whose class is not registered in this process.

    Its saved state is kept verbatim; it refuses selection (6999), so a card file written by a
    process with more applet classes loaded can still be read, shown and written back.
    """

    def __init__(self, ctx: AppletContext, instance_aid: bytes, package_aid: bytes,
                 class_aid: bytes, data: dict[str, Any]) -> None:
        super().__init__(ctx, instance_aid)
        self.PACKAGE_AID = package_aid  # instance attributes shadow the (empty) class ones
        self.CLASS_AID = class_aid
        self.data = data

    def select(self, channel: int) -> bool:
        return False

    def save(self) -> dict[str, Any]:
        return self.data


_REGISTRY: dict[tuple[bytes, bytes], type[Applet]] = {}


def register_applet(package_aid: bytes, class_aid: bytes):
    """Class decorator: make an :class:`Applet` subclass installable under these AIDs."""
    package_aid, class_aid = bytes(package_aid), bytes(class_aid)
    for what, aid in (("package", package_aid), ("class", class_aid)):
        if not 5 <= len(aid) <= 16:
            raise ValueError(f"{what} AID must have 5..16 bytes")

    def deco(cls: type[Applet]) -> type[Applet]:
        if not (isinstance(cls, type) and issubclass(cls, Applet)):
            raise TypeError("register_applet decorates Applet subclasses")
        key = (package_aid, class_aid)
        old = _REGISTRY.get(key)
        if old is not None and old.__qualname__ != cls.__qualname__:
            raise ValueError(f"applet class {class_aid.hex().upper()} already registered to {old}")
        cls.PACKAGE_AID = package_aid
        cls.CLASS_AID = class_aid
        _REGISTRY[key] = cls
        return cls

    return deco


_BUNDLED_LOADED = False


def _load_bundled_applets() -> None:
    """Import the applets shipped in :mod:`simsync.card.applets` (once), registering them."""
    global _BUNDLED_LOADED
    if _BUNDLED_LOADED:
        return
    _BUNDLED_LOADED = True
    import importlib
    import pkgutil

    import simsync.card.applets as bundled

    for mod in pkgutil.iter_modules(bundled.__path__):
        importlib.import_module(f"{bundled.__name__}.{mod.name}")


def lookup_applet_class(package_aid: bytes, class_aid: bytes) -> type[Applet] | None:
    """The class registered under these AIDs. The bundled applets are imported on the first miss,
    so a card file holding one, or a card manager installing one, finds the live class in any
    process (``simsync card serve``, ``sim:`` readers) without an explicit import."""
    key = (bytes(package_aid), bytes(class_aid))
    cls = _REGISTRY.get(key)
    if cls is None and not _BUNDLED_LOADED:
        _load_bundled_applets()
        cls = _REGISTRY.get(key)
    return cls


def registered_applets() -> dict[tuple[bytes, bytes], type[Applet]]:
    return dict(_REGISTRY)
