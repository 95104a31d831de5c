"""The project's applets as the operator sees them: package AID, applet class AIDs, instance AID, version.

:func:`applet_definition` reads the metadata from the applet's own module (``simsync.card.applets.<name>``)
so a CAP built here names exactly what the card registers. A module provides either module-level
``PACKAGE_AID``, ``CLASS_AID`` (or ``CLASS_AIDS``), optional ``INSTANCE_AID``, ``VERSION`` and
``PACKAGE_NAME``, or an :class:`~simsync.card.applet.Applet` subclass registered with
``register_applet`` (its ``PACKAGE_AID`` / ``CLASS_AID`` class attributes).

Until the sync applet module exists, ``sync`` resolves to :data:`PLACEHOLDER_SYNC` (a proprietary
``F0`` AID range) and :attr:`AppletDefinition.placeholder` is True, so tools can say so.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import zlib
from dataclasses import dataclass
from types import ModuleType

from .errors import OperatorError

MAX_PAYLOAD = 0xF000  # what fits in the Method component with the install stubs


@dataclass(frozen=True)
class AppletDefinition:
    """What the CAP of one applet package holds and how its instance is named."""

    name: str
    package_aid: bytes
    class_aids: tuple[bytes, ...]
    instance_aid: bytes
    version: tuple[int, int]
    package_name: str
    module: str | None = None  # the Python module implementing it (card side)
    placeholder: bool = False

    def __post_init__(self) -> None:
        for what, aid in (("package", self.package_aid), ("instance", self.instance_aid),
                          *(("class", a) for a in self.class_aids)):
            if not 5 <= len(aid) <= 16:
                raise OperatorError(f"applet {self.name}: {what} AID must be 5..16 bytes")
        if not self.class_aids:
            raise OperatorError(f"applet {self.name}: no applet class")

    def payload(self, size: int | None = None) -> bytes:
        """The bytes carried in the CAP's Method component: the compressed source of the applet's
        module (so the Load File changes whenever the applet does), or for a placeholder ``size``
        deterministic bytes (4 KB by default)."""
        if self.module is not None and size is None:
            mod = importlib.import_module(self.module)
            try:
                src = inspect.getsource(mod).encode()
            except (OSError, TypeError):
                src = repr(sorted(vars(mod))).encode()
            data = zlib.compress(src, 9)
            if len(data) > MAX_PAYLOAD:
                raise OperatorError(f"applet {self.name}: module too large for one CAP ({len(data)} bytes)")
            return data
        n = 4096 if size is None else size
        if not 0 <= n <= MAX_PAYLOAD:
            raise OperatorError(f"payload size must be 0..{MAX_PAYLOAD}")
        out = bytearray()
        counter = 0
        seed = self.package_aid + bytes(self.version)
        while len(out) < n:
            out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
            counter += 1
        return bytes(out[:n])


PLACEHOLDER_SYNC = AppletDefinition(
    name="sync",
    package_aid=bytes.fromhex("F073696D73796E63"),          # F0 'simsync'
    class_aids=(bytes.fromhex("F073696D73796E6301"),),
    instance_aid=bytes.fromhex("F073696D73796E630101"),
    version=(1, 0),
    package_name="org.simsync.sync",
    placeholder=True,
)

_PLACEHOLDERS = {"sync": PLACEHOLDER_SYNC}


def _aid(value: object, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    raise OperatorError(f"{what} is not an AID")


def _version(value: object) -> tuple[int, int]:
    if isinstance(value, tuple) and len(value) >= 2 and all(isinstance(v, int) for v in value[:2]):
        return (value[0], value[1])
    if isinstance(value, str) and value.count(".") >= 1:
        major, minor = value.split(".")[:2]
        if major.isdigit() and minor.isdigit():
            return (int(major), int(minor))
    return (1, 0)


def definition_from_module(name: str, mod: ModuleType) -> AppletDefinition:
    """Read an applet's metadata from its module (see the module docstring for the conventions)."""
    package = getattr(mod, "PACKAGE_AID", None)
    classes = getattr(mod, "CLASS_AIDS", None)
    if classes is None and getattr(mod, "CLASS_AID", None) is not None:
        classes = (mod.CLASS_AID,)
    if package is None or classes is None:
        from simsync.card.applet import Applet

        found = [c for c in vars(mod).values()
                 if isinstance(c, type) and issubclass(c, Applet) and c.__module__ == mod.__name__
                 and c.PACKAGE_AID and c.CLASS_AID]
        if not found:
            raise OperatorError(f"{mod.__name__}: no applet metadata (PACKAGE_AID / CLASS_AID)")
        package = package or found[0].PACKAGE_AID
        classes = classes or tuple(c.CLASS_AID for c in found)
    class_aids = tuple(_aid(c, "class AID") for c in classes)
    instance = getattr(mod, "INSTANCE_AID", None)
    instance_aid = _aid(instance, "instance AID") if instance is not None else class_aids[0] + b"\x01"
    if len(instance_aid) > 16:
        instance_aid = class_aids[0]
    pname = getattr(mod, "PACKAGE_NAME", None) or f"org.simsync.{name}"
    return AppletDefinition(name, _aid(package, "package AID"), class_aids, instance_aid,
                            _version(getattr(mod, "VERSION", (1, 0))), str(pname), mod.__name__)


def applet_definition(name: str = "sync") -> AppletDefinition:
    """The named project applet, from ``simsync.card.applets.<name>`` when that module exists."""
    modname = f"simsync.card.applets.{name}"
    try:
        mod = importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        if exc.name not in (modname, "simsync.card.applets"):
            raise
        if name in _PLACEHOLDERS:
            return _PLACEHOLDERS[name]
        raise OperatorError(f"no applet named '{name}' (no module {modname})") from None
    return definition_from_module(name, mod)


def load_card_support() -> None:
    """Import the card-side modules that register applet classes (the ISD, the project's applets), so
    an in-process card file that holds them can be opened."""
    for modname in ("simsync.card.gp", "simsync.card.applets"):
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name != modname:
                raise
            continue
        if modname == "simsync.card.applets" and hasattr(mod, "__path__"):
            import pkgutil
            import warnings

            for info in pkgutil.iter_modules(mod.__path__):
                try:
                    importlib.import_module(f"{modname}.{info.name}")
                except Exception as exc:  # noqa: BLE001  (a broken applet module must not stop card management)
                    warnings.warn(f"applet module {modname}.{info.name} not loaded: {exc}", stacklevel=2)
