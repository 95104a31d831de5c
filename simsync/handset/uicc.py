"""The terminal's view of a UICC: file-level access (TS 102 221) over any reader connection.

The handset (and any tool) reads the SIM's identities and phonebook through this class, whatever holds
the card: the simulator in-process (``sim:``) or a real or virtual PC/SC reader (``pcsc:``). It speaks
only APDUs; it never looks inside a simulator.

    with open_reader("sim:my.card") as conn:
        uicc = Uicc(conn)
        print(uicc.iccid(), uicc.imsi())
        uicc.verify_pin(PinRef.PIN1, "1234")
        for index, entry in uicc.phonebook(): ...
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from simsync.apdu import CommandApdu, ResponseApdu, Tlv, TlvError, ber_decode
from simsync.card.codecs import AdnRecord, AppTemplate, Iccid, Imsi, Spn
from simsync.errors import SimsyncError
from simsync.reader import CardConnection

FID_MF = 0x3F00
FID_EF_DIR = 0x2F00
FID_EF_ICCID = 0x2FE2
FID_DF_TELECOM = 0x7F10
FID_EF_ADN = 0x6F3A
FID_EF_MSISDN = 0x6F40
FID_DF_GSM = 0x7F20
FID_EF_IMSI = 0x6F07
FID_EF_SPN = 0x6F46
USIM_AID_PREFIX = bytes.fromhex("A0000000871002")


class PinRef(enum.IntEnum):
    """Key references of TS 102 221 9.5.1."""

    PIN1 = 0x01
    PIN2 = 0x81
    ADM1 = 0x0A


class UiccError(SimsyncError):
    """A card answered a file or PIN command with an error status word."""

    def __init__(self, what: str, sw: int, retries: int | None = None) -> None:
        from simsync.apdu import describe

        self.sw = sw
        self.retries = retries
        super().__init__(f"{what}: {sw:04X} ({describe(sw)})")


class FileStructure(enum.Enum):
    TRANSPARENT = "transparent"
    LINEAR_FIXED = "linear fixed"
    CYCLIC = "cyclic"
    DF = "DF"


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What a SELECT's FCP template says about a file."""

    fid: int | None
    structure: FileStructure
    size: int = 0  # transparent: file size; record files: record length * records
    record_length: int = 0
    record_count: int = 0
    df_name: bytes = b""

    @classmethod
    def from_fcp(cls, fcp: bytes) -> FileInfo:
        try:
            (tmpl,) = ber_decode(fcp)
            if tmpl.tag != 0x62:
                raise TlvError(f"FCP template tag {tmpl.tag:X}, expected 62")
            objs = {o.tag: o.value for o in tmpl.children()}
        except (TlvError, ValueError) as exc:
            raise SimsyncError(f"card returned an unreadable FCP template: {exc}") from exc
        desc = objs.get(0x82, b"")
        fid = int.from_bytes(objs[0x83], "big") if len(objs.get(0x83, b"")) == 2 else None
        if not desc:
            raise SimsyncError("FCP template has no file descriptor (82)")
        kind = desc[0] & 0x07
        if desc[0] & 0x80:
            raise SimsyncError(f"invalid file descriptor byte {desc[0]:02X}")
        if desc[0] & 0x3F == 0x38:  # b6-b4 111 (DF), b3-b1 000
            return cls(fid, FileStructure.DF, df_name=objs.get(0x84, b""))
        if desc[0] & 0x3F == 0x39:  # 111001: a BER-TLV structured EF, not a DF
            raise SimsyncError(f"BER-TLV structured EF (file descriptor {desc.hex().upper()}) "
                               "is not supported")
        size = int.from_bytes(objs.get(0x80, b"\x00"), "big")
        if kind == 0x01:
            return cls(fid, FileStructure.TRANSPARENT, size)
        if kind in (0x02, 0x06) and len(desc) >= 5:
            rec_len = int.from_bytes(desc[2:4], "big")
            count = desc[4]
            structure = FileStructure.LINEAR_FIXED if kind == 0x02 else FileStructure.CYCLIC
            return cls(fid, structure, rec_len * count, rec_len, count)
        raise SimsyncError(f"unsupported file descriptor {desc.hex().upper()}")


class Uicc:
    """File and PIN commands of TS 102 221 on one logical channel of a connection."""

    def __init__(self, conn: CardConnection, channel: int = 0) -> None:
        if not 0 <= channel <= 3:
            raise SimsyncError("Uicc supports logical channels 0..3")
        self.conn = conn
        self.cla = channel

    # -- primitives ------------------------------------------------------------------------------
    def _send(self, ins: int, p1: int = 0, p2: int = 0, data: bytes = b"", le: int | None = None,
              cla: int | None = None) -> ResponseApdu:
        cmd = CommandApdu.build(self.cla if cla is None else cla | self.cla, ins, p1, p2, data, le)
        return self.conn.transmit(cmd, check=lambda resp, cmd: None)

    def _ok(self, resp: ResponseApdu, what: str) -> ResponseApdu:
        if resp.sw != 0x9000:
            raise UiccError(what, resp.sw)
        return resp

    def select(self, path: int | Sequence[int]) -> FileInfo:
        """SELECT by FID (one int) or by path from the MF (a sequence of FIDs, MF excluded)."""
        if isinstance(path, int):
            resp = self._send(0xA4, 0x00, 0x04, path.to_bytes(2, "big"), 256)
            label = f"SELECT {path:04X}"
        else:
            fids = [f for f in path if f != FID_MF]
            data = b"".join(f.to_bytes(2, "big") for f in fids)
            if not data:
                return self.select(FID_MF)
            resp = self._send(0xA4, 0x08, 0x04, data, 256)
            label = "SELECT path 3F00/" + "/".join(f"{f:04X}" for f in fids)
        return FileInfo.from_fcp(self._ok(resp, label).data)

    def select_aid(self, aid: bytes) -> FileInfo:
        resp = self._send(0xA4, 0x04, 0x04, aid, 256)
        return FileInfo.from_fcp(self._ok(resp, f"SELECT AID {aid.hex().upper()}").data)

    def read_binary(self, info: FileInfo) -> bytes:
        out = bytearray()
        while len(out) < info.size:
            chunk = min(256, info.size - len(out))
            resp = self._send(0xB0, len(out) >> 8, len(out) & 0xFF, le=chunk)
            out += self._ok(resp, f"READ BINARY at {len(out)}").data
        return bytes(out)

    def update_binary(self, data: bytes, offset: int = 0) -> None:
        pos = 0
        while pos < len(data):
            chunk = data[pos : pos + 255]
            at = offset + pos
            self._ok(self._send(0xD6, at >> 8, at & 0xFF, chunk), f"UPDATE BINARY at {at}")
            pos += len(chunk)

    def read_record(self, number: int, info: FileInfo) -> bytes:
        resp = self._send(0xB2, number, 0x04, le=info.record_length)
        return self._ok(resp, f"READ RECORD {number}").data

    def update_record(self, number: int, data: bytes) -> None:
        self._ok(self._send(0xDC, number, 0x04, data), f"UPDATE RECORD {number}")

    def records(self, info: FileInfo) -> list[bytes]:
        return [self.read_record(n, info) for n in range(1, info.record_count + 1)]

    # -- PINs ------------------------------------------------------------------------------------
    def pin_retries(self, ref: PinRef = PinRef.PIN1) -> int | None:
        """Retries left (None when the PIN is verified already or disabled: the card answers 9000)."""
        resp = self._send(0x20, 0x00, ref)
        if resp.sw & 0xFFF0 == 0x63C0:
            return resp.sw & 0x0F
        if resp.sw == 0x6983:
            return 0
        if resp.sw == 0x9000:
            return None
        raise UiccError(f"VERIFY {ref.name} (status)", resp.sw)

    def verify_pin(self, ref: PinRef, value: str | bytes) -> None:
        """VERIFY; raises :class:`UiccError` with ``retries`` set on a wrong value.

        A PIN given as text must be 4..8 decimal digits (TS 102 221 9.5.1): anything else is
        refused here (:class:`SimsyncError`) without spending one of the card's tries."""
        if isinstance(value, str):
            if ref in (PinRef.PIN1, PinRef.PIN2) and not (
                    value.isascii() and value.isdigit() and 4 <= len(value) <= 8):
                raise SimsyncError(f"{ref.name} must be 4..8 decimal digits (not sent to the card)")
            if not value.isascii() or len(value) > 8:
                raise SimsyncError(f"{ref.name} must be at most 8 ASCII characters")
            raw = value.encode("ascii")
        else:
            raw = bytes(value)
        data = raw.ljust(8, b"\xff")
        resp = self._send(0x20, 0x00, ref, data)
        if resp.sw == 0x9000:
            return
        retries = resp.sw & 0x0F if resp.sw & 0xFFF0 == 0x63C0 else None
        raise UiccError(f"VERIFY {ref.name}", resp.sw, retries)

    # -- well-known files ----------------------------------------------------------------------
    def iccid(self) -> Iccid:
        return Iccid.decode(self.read_binary(self.select([FID_EF_ICCID])))

    def applications(self) -> list[AppTemplate]:
        info = self.select([FID_EF_DIR])
        return [t for t in (AppTemplate.decode(r) for r in self.records(info)) if t is not None]

    def select_usim(self) -> FileInfo | None:
        """Select ADF_USIM through EF_DIR; None if the card has no USIM application."""
        for app in self.applications():
            if app.aid.startswith(USIM_AID_PREFIX):
                return self.select_aid(app.aid)
        return None

    def imsi(self) -> Imsi:
        """EF_IMSI from ADF_USIM, or from DF_GSM on a card without USIM."""
        if self.select_usim() is not None:
            info = self.select(FID_EF_IMSI)
        else:
            info = self.select([FID_DF_GSM, FID_EF_IMSI])
        return Imsi.decode(self.read_binary(info))

    def spn(self) -> Spn:
        if self.select_usim() is not None:
            info = self.select(FID_EF_SPN)
        else:
            info = self.select([FID_DF_GSM, FID_EF_SPN])
        return Spn.decode(self.read_binary(info))

    def phonebook(self) -> list[tuple[int, AdnRecord]]:
        """The used EF_ADN records as (record number, entry); needs PIN1 when it is enabled."""
        info = self.select([FID_DF_TELECOM, FID_EF_ADN])
        out = []
        for n, raw in enumerate(self.records(info), start=1):
            entry = AdnRecord.decode(raw)
            if entry is not None:
                out.append((n, entry))
        return out

    def write_phonebook_entry(self, number: int, entry: AdnRecord | None) -> None:
        """Write (or, with None, free) one EF_ADN record; needs PIN1."""
        info = self.select([FID_DF_TELECOM, FID_EF_ADN])
        if not 1 <= number <= info.record_count:
            raise SimsyncError(f"EF_ADN has records 1..{info.record_count}, not {number}")
        raw = b"\xff" * info.record_length if entry is None else entry.encode(info.record_length)
        self.update_record(number, raw)

    def free_phonebook_record(self) -> int | None:
        info = self.select([FID_DF_TELECOM, FID_EF_ADN])
        for n, raw in enumerate(self.records(info), start=1):
            if AdnRecord.decode(raw) is None:
                return n
        return None


__all__ = ["FileInfo", "FileStructure", "PinRef", "Tlv", "Uicc", "UiccError"]
