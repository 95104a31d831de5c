"""Status-word checkers, chained like pyscard's error-checking chains.

A checker is any callable ``checker(response, command) -> bool | None`` that raises
:class:`~simsync.reader.errors.CardStatusError` to refuse a response. Returning ``True`` accepts the
response and stops the chain (a filter); ``None``/``False`` passes it on to the next checker.

    check(resp)                                 # default: refuse ISO 7816-4 errors (64xx-6Fxx, ...)
    check(resp, Allow(0x6A82), Iso7816Checker())  # a missing file is fine, other errors are not
    check(resp, ExpectSw(0x9000))               # anything but 9000 raises
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from simsync.apdu.apdu import CommandApdu, ResponseApdu

from .errors import CardStatusError

Checker = Callable[[ResponseApdu, "CommandApdu | None"], "bool | None"]

# SW1 values that mean "command failed" in ISO 7816-4 and TS 102 221 / GSM 11.11.
_ERROR_SW1 = frozenset({0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F,
                        0x94, 0x98})
_WARNING_SW1 = frozenset({0x62, 0x63})


@dataclass(frozen=True, slots=True)
class SwPattern:
    """A status word with a mask: ``SwPattern(0x6100, 0xFF00)`` matches every 61xx."""

    value: int
    mask: int = 0xFFFF

    def matches(self, sw: int) -> bool:
        return (sw & self.mask) == (self.value & self.mask)

    @classmethod
    def of(cls, spec: int | str | SwPattern) -> SwPattern:
        """From an int (exact), a pattern, or a string such as ``"9000"``, ``"61XX"``, ``"63CX"``."""
        if isinstance(spec, SwPattern):
            return spec
        if isinstance(spec, int):
            return cls(spec)
        s = spec.strip().upper()
        if len(s) != 4 or any(c not in "0123456789ABCDEFX" for c in s):
            raise ValueError(f"bad status-word pattern {spec!r} (want 4 hex digits, X = any)")
        value = int(s.replace("X", "0"), 16)
        mask = int("".join("0" if c == "X" else "F" for c in s), 16)
        return cls(value, mask)


def _patterns(specs: Iterable[int | str | SwPattern]) -> tuple[SwPattern, ...]:
    return tuple(SwPattern.of(s) for s in specs)


class Iso7816Checker:
    """Refuse the ISO 7816-4 / TS 102 221 error families; warnings (62xx/63xx) too if ``strict``."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict

    def __call__(self, resp: ResponseApdu, command: CommandApdu | None = None) -> None:
        if resp.sw1 in _ERROR_SW1 or (self.strict and resp.sw1 in _WARNING_SW1):
            raise CardStatusError(resp, command)
        if not (0x61 <= resp.sw1 <= 0x6F or 0x90 <= resp.sw1 <= 0x9F):
            raise CardStatusError(resp, command, "not a valid status word")


class ExpectSw:
    """Refuse every status word that matches none of the given ones (ints or ``"61XX"`` patterns)."""

    def __init__(self, *sws: int | str | SwPattern) -> None:
        if not sws:
            raise ValueError("ExpectSw needs at least one status word")
        self.patterns = _patterns(sws)

    def __call__(self, resp: ResponseApdu, command: CommandApdu | None = None) -> None:
        if not any(p.matches(resp.sw) for p in self.patterns):
            expected = ", ".join(f"{p.value:04X}" if p.mask == 0xFFFF else f"{p.value:04X}/{p.mask:04X}"
                                 for p in self.patterns)
            raise CardStatusError(resp, command, f"expected {expected}")


class Allow:
    """A filter: accept the given status words and stop the chain (later checkers do not see them)."""

    def __init__(self, *sws: int | str | SwPattern) -> None:
        self.patterns = _patterns(sws)

    def __call__(self, resp: ResponseApdu, command: CommandApdu | None = None) -> bool:
        return any(p.matches(resp.sw) for p in self.patterns)


class CheckerChain:
    """Checkers run in order; the first that raises wins, the first that returns True accepts."""

    def __init__(self, *checkers: Checker) -> None:
        self.checkers: list[Checker] = list(checkers)

    def append(self, checker: Checker) -> None:
        self.checkers.append(checker)

    def __call__(self, resp: ResponseApdu, command: CommandApdu | None = None) -> bool:
        for checker in self.checkers:
            if checker(resp, command):
                return True
        return False


DEFAULT_CHAIN = CheckerChain(Iso7816Checker())


def check(resp: ResponseApdu, *checkers: Checker, command: CommandApdu | None = None) -> ResponseApdu:
    """Run ``checkers`` (default: :class:`Iso7816Checker`) on ``resp``; return it or raise."""
    chain: Sequence[Checker] = checkers or (DEFAULT_CHAIN,)
    for checker in chain:
        if checker(resp, command):
            break
    return resp
