"""PINs, PUKs and the administrative key with their retry counters (TS 102 221 9.5, 11.1.9-13).

Persistent: values, counters, enabled flags. Volatile (the card's security status, reset on power
off and warm reset): which references are verified, kept by :class:`~simsync.card.card.SimCard`.

Retry counters: PIN1/PIN2 3, PUK1/PUK2 10 (the values TS 102 221 and TS 31.102 personalisation
commonly use), ADM1 10 (operator key; enough for an operator tool's mistakes, a real
card issuer chooses).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PIN_MAX_TRIES = 3
PUK_MAX_TRIES = 10
ADM_MAX_TRIES = 10

REF_PIN1 = 0x01
REF_PIN2 = 0x81
REF_ADM1 = 0x0A
REFS = (REF_PIN1, REF_PIN2, REF_ADM1)
REF_NAMES = {REF_PIN1: "PIN1", REF_PIN2: "PIN2", REF_ADM1: "ADM1"}


def pin_block(digits: str) -> bytes:
    """A PIN as it travels in VERIFY: ASCII digits padded with FF to 8 bytes."""
    raw = digits.encode("ascii")
    return raw + b"\xff" * (8 - len(raw))


def valid_pin_block(block: bytes) -> bool:
    """4..8 ASCII digits followed only by FF padding."""
    body = block.rstrip(b"\xff")
    return len(block) == 8 and 4 <= len(body) <= 8 and all(0x30 <= b <= 0x39 for b in body)


@dataclass
class Secret:
    """One verification reference: its value (8 bytes), counter, and (for PINs) PUK and flags."""

    ref: int
    value: bytes
    tries: int
    max_tries: int
    enabled: bool = True
    disableable: bool = False
    puk: bytes | None = None
    puk_tries: int = PUK_MAX_TRIES

    @property
    def blocked(self) -> bool:
        return self.tries == 0

    @property
    def puk_blocked(self) -> bool:
        return self.puk is not None and self.puk_tries == 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value.hex().upper(), "tries": self.tries,
                               "max_tries": self.max_tries, "enabled": self.enabled,
                               "disableable": self.disableable}
        if self.puk is not None:
            out["puk"] = self.puk.hex().upper()
            out["puk_tries"] = self.puk_tries
        return out

    @classmethod
    def from_json(cls, ref: int, obj: Any) -> Secret:
        name = REF_NAMES[ref]
        if not isinstance(obj, dict):
            raise TypeError(f"{name}: must be an object")

        def raw(key: str) -> bytes:
            try:
                v = bytes.fromhex(obj[key])
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"{name}: {key} must be 8 bytes of hex") from None
            if len(v) != 8:
                raise ValueError(f"{name}: {key} must be 8 bytes of hex")
            return v

        def count(key: str, hi: int) -> int:
            v = obj.get(key)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= hi:
                raise ValueError(f"{name}: {key} must be an integer 0..{hi}")
            return v

        max_tries = count("max_tries", 15)
        if max_tries == 0:
            raise ValueError(f"{name}: max_tries must be at least 1")
        s = cls(ref, raw("value"), count("tries", max_tries), max_tries)
        for flag in ("enabled", "disableable"):
            if not isinstance(obj.get(flag), bool):
                raise TypeError(f"{name}: {flag} must be true or false")
            setattr(s, flag, obj[flag])
        if "puk" in obj:
            s.puk = raw("puk")
            s.puk_tries = count("puk_tries", 15)
        return s
