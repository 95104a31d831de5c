"""A test applet shared by the card-manager and operator tests (not registered here: each suite
registers a subclass under its own AIDs).

INS 01 returns the install parameters, INS 02 what STORE DATA (INS E2) brought, INS 03 echoes the
command data; its state survives the card file like a real applet's."""

from __future__ import annotations

from typing import Any

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.card import Applet, AppletContext, SwError


class RecordingApplet(Applet):
    def __init__(self, ctx: AppletContext, aid: bytes, params: bytes = b"", stored: bytes = b"") -> None:
        super().__init__(ctx, aid)
        self.params, self.stored = params, stored

    @classmethod
    def install(cls, ctx: AppletContext, instance_aid: bytes, params: bytes) -> Applet:
        return cls(ctx, instance_aid, params)

    def process(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        if self.selecting(apdu):
            return ResponseApdu(b"", 0x9000)
        if apdu.ins == 0x01:
            return ResponseApdu(self.params, 0x9000)
        if apdu.ins == 0x02:
            return ResponseApdu(self.stored, 0x9000)
        if apdu.ins == 0x03:
            return ResponseApdu(apdu.data, 0x9000)
        if apdu.ins == 0xE2:
            self.stored += apdu.data
            return ResponseApdu(b"", 0x9000)
        raise SwError(0x6D00)

    def save(self) -> dict[str, Any]:
        return {"params": self.params.hex(), "stored": self.stored.hex()}

    @classmethod
    def restore(cls, ctx: AppletContext, instance_aid: bytes, data: dict[str, Any]) -> Applet:
        return cls(ctx, instance_aid, bytes.fromhex(data["params"]), bytes.fromhex(data["stored"]))
