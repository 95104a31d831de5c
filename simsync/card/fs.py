"""The card's file system: DFs/ADFs and transparent or linear fixed EFs with access conditions.

Nodes are mutable (they are the card's memory); they serialise to and from JSON-compatible dicts
with strict validation (:func:`tree_from_json` raises :class:`FsFormatError` with the offending
file in the message). FCP templates follow TS 102 221 11.1.1.3 and the security attributes are in
the referenced format (tag 8B) pointing into EF_ARR (2F06), whose records are derived from the
files' access conditions (TS 102 221 9.2.7 / ISO 7816-4 9.3: AM_DO 80 + SC_DO 90 always,
97 never, A4 {83 key reference, 95 usage qualifier 08} for a PIN).
"""

from __future__ import annotations

import enum
from typing import Any

from .codecs import AdnRecord, AppTemplate, Iccid, Imsi, Msisdn, Spn
from .profile import CardProfile


class FsFormatError(ValueError):
    """A file tree description that is not valid."""


class Ac(enum.Enum):
    """Access conditions for reading or updating an EF."""

    ALW = "ALW"
    PIN1 = "PIN1"
    PIN2 = "PIN2"
    ADM1 = "ADM1"
    NEV = "NEV"


KEY_REF = {Ac.PIN1: 0x01, Ac.PIN2: 0x81, Ac.ADM1: 0x0A}

LCSI_OPERATIONAL_ACTIVATED = 0x05
FDB_DF = 0x78  # shareable DF / ADF
FDB_TRANSPARENT = 0x41  # shareable working EF, transparent
FDB_LINEAR = 0x42  # shareable working EF, linear fixed
DATA_CODING = 0x21
EF_ARR_FID = 0x2F06


class Node:
    __slots__ = ("fid", "name", "parent")

    def __init__(self, fid: int, name: str) -> None:
        self.fid = fid
        self.name = name
        self.parent: Df | None = None

    def path(self) -> tuple[int, ...]:
        out = []
        node: Node | None = self
        while node is not None:
            out.append(node.fid)
            node = node.parent
        return tuple(reversed(out))

    def path_str(self) -> str:
        return "/".join(f"{f:04X}" for f in self.path())


class Df(Node):
    __slots__ = ("aid", "arr_record", "children")

    def __init__(self, fid: int, name: str, aid: bytes | None = None) -> None:
        super().__init__(fid, name)
        self.aid = aid
        self.children: dict[int, Node] = {}
        self.arr_record = 0

    @property
    def is_adf(self) -> bool:
        return self.aid is not None

    def add(self, node: Node) -> Node:
        if node.fid in self.children:
            raise FsFormatError(f"DF {self.fid:04X}: duplicate file {node.fid:04X}")
        node.parent = self
        self.children[node.fid] = node
        return node

    def walk(self):
        yield self
        for child in self.children.values():
            if isinstance(child, Df):
                yield from child.walk()
            else:
                yield child


class Ef(Node):
    __slots__ = ("arr_record", "read", "sfi", "update")

    def __init__(self, fid: int, name: str, read: Ac, update: Ac, sfi: int | None = None) -> None:
        super().__init__(fid, name)
        self.read = read
        self.update = update
        self.sfi = sfi
        self.arr_record = 0

    @property
    def size(self) -> int:
        raise NotImplementedError


class TransparentEf(Ef):
    __slots__ = ("data",)

    def __init__(self, fid: int, name: str, data: bytes, read: Ac, update: Ac,
                 sfi: int | None = None) -> None:
        super().__init__(fid, name, read, update, sfi)
        self.data = bytearray(data)

    @property
    def size(self) -> int:
        return len(self.data)


class LinearEf(Ef):
    __slots__ = ("record_len", "records")

    def __init__(self, fid: int, name: str, record_len: int, records: list[bytes], read: Ac,
                 update: Ac, sfi: int | None = None) -> None:
        super().__init__(fid, name, read, update, sfi)
        self.record_len = record_len
        self.records = [bytearray(r) for r in records]

    @property
    def size(self) -> int:
        return self.record_len * len(self.records)


# ---------------------------------------------------------------------------------------------
# EF_ARR and FCP
# ---------------------------------------------------------------------------------------------


def _sc_do(ac: Ac) -> bytes:
    if ac is Ac.ALW:
        return b"\x90\x00"
    if ac is Ac.NEV:
        return b"\x97\x00"
    return bytes((0xA4, 0x06, 0x83, 0x01, KEY_REF[ac], 0x95, 0x01, 0x08))


def arr_rule_for_ef(read: Ac, update: Ac) -> bytes:
    """An EF_ARR record body (without padding) for an EF with these read/update conditions."""
    if read is update:
        return b"\x80\x01\x03" + _sc_do(read)
    return b"\x80\x01\x01" + _sc_do(read) + b"\x80\x01\x02" + _sc_do(update)


ARR_RULE_DF = b"\x80\x01\x7f" + _sc_do(Ac.ADM1)  # file management in DFs: ADM1
ARR_RECORD_LEN = 32


def assign_arr(mf: Df) -> list[bytes]:
    """Number the distinct access rules of the tree and return EF_ARR's records (padded)."""
    rules = [ARR_RULE_DF]
    index = {ARR_RULE_DF: 1}
    for node in mf.walk():
        if isinstance(node, Df):
            node.arr_record = 1
            continue
        rule = arr_rule_for_ef(node.read, node.update)
        if rule not in index:
            rules.append(rule)
            index[rule] = len(rules)
        node.arr_record = index[rule]
    return [r + b"\xff" * (ARR_RECORD_LEN - len(r)) for r in rules]


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes((tag, len(value))) + value


def pin_status_template(enabled: dict[int, bool]) -> bytes:
    """C6 {90 PS_DO, 83 key ref...}: PS_DO bit 8 of byte 1 is the first key reference listed."""
    refs = (0x01, 0x81, 0x0A)
    ps = 0
    for i, ref in enumerate(refs):
        if enabled.get(ref, True):
            ps |= 0x80 >> i
    body = _tlv(0x90, bytes((ps,))) + b"".join(_tlv(0x83, bytes((r,))) for r in refs)
    return _tlv(0xC6, body)


def fcp(node: Node, enabled: dict[int, bool]) -> bytes:
    """The FCP template (62) of a file as SELECT (P2=04) and STATUS return it."""
    arr = bytes(((EF_ARR_FID >> 8), EF_ARR_FID & 0xFF, node.arr_record))
    if isinstance(node, Df):
        body = _tlv(0x82, bytes((FDB_DF, DATA_CODING))) + _tlv(0x83, node.fid.to_bytes(2, "big"))
        if node.aid is not None:
            body += _tlv(0x84, node.aid)
        if node.parent is None:
            body += _tlv(0xA5, _tlv(0x80, b"\x71") + _tlv(0x83, (0x8000).to_bytes(4, "big")))
        else:
            body += _tlv(0xA5, _tlv(0x83, (0x8000).to_bytes(4, "big")))
        body += _tlv(0x8A, bytes((LCSI_OPERATIONAL_ACTIVATED,))) + _tlv(0x8B, arr)
        body += pin_status_template(enabled)
        total = sum(c.size + 32 if isinstance(c, Ef) else 64 for c in node.walk() if c is not node)
        # at least 2 bytes (TS 102 221 11.1.1.4.4), more when the DF holds over 64 KiB
        body += _tlv(0x81, total.to_bytes(max(2, (total.bit_length() + 7) // 8), "big"))
    else:
        assert isinstance(node, Ef)
        if isinstance(node, LinearEf):
            desc = bytes((FDB_LINEAR, DATA_CODING)) + node.record_len.to_bytes(2, "big")
            desc += bytes((len(node.records),))
        else:
            desc = bytes((FDB_TRANSPARENT, DATA_CODING))
        body = _tlv(0x82, desc) + _tlv(0x83, node.fid.to_bytes(2, "big"))
        body += _tlv(0x8A, bytes((LCSI_OPERATIONAL_ACTIVATED,))) + _tlv(0x8B, arr)
        body += _tlv(0x80, node.size.to_bytes(2, "big"))
        body += _tlv(0x81, (node.size + 32).to_bytes(2, "big"))
        body += _tlv(0x88, bytes((node.sfi << 3,)) if node.sfi is not None else b"")
    return _tlv(0x62, body)


# ---------------------------------------------------------------------------------------------
# The standard tree built from a profile
# ---------------------------------------------------------------------------------------------

ADN_RECORD_ALPHA_DEFAULT = 16
MSISDN_RECORD_LEN = 28  # 14 bytes alpha identifier + 14
DIR_RECORD_LEN = 38


def build_tree(profile: CardProfile) -> Df:
    """MF with EF_DIR, EF_ICCID, EF_ARR; DF_TELECOM (EF_ADN, EF_MSISDN); ADF_USIM; DF_GSM."""
    mf = Df(0x3F00, "MF")
    dir_rec = AppTemplate(profile.usim_aid, "USIM").encode(DIR_RECORD_LEN)
    mf.add(LinearEf(0x2F00, "EF_DIR", DIR_RECORD_LEN, [dir_rec], Ac.ALW, Ac.ADM1, sfi=0x1E))
    mf.add(TransparentEf(0x2FE2, "EF_ICCID", Iccid(profile.iccid).encode(), Ac.ALW, Ac.NEV,
                         sfi=0x02))
    arr = mf.add(LinearEf(EF_ARR_FID, "EF_ARR", ARR_RECORD_LEN, [], Ac.ALW, Ac.NEV, sfi=0x06))

    telecom = mf.add(Df(0x7F10, "DF_TELECOM"))
    assert isinstance(telecom, Df)
    adn_len = profile.adn_alpha_len + 14
    adn = [AdnRecord(n, num).encode(adn_len) for n, num in profile.phonebook]
    adn += [b"\xff" * adn_len] * (profile.adn_records - len(adn))
    telecom.add(LinearEf(0x6F3A, "EF_ADN", adn_len, adn, Ac.PIN1, Ac.PIN1))
    msisdn = [Msisdn(profile.msisdn).encode(MSISDN_RECORD_LEN) if profile.msisdn
              else b"\xff" * MSISDN_RECORD_LEN]
    telecom.add(LinearEf(0x6F40, "EF_MSISDN", MSISDN_RECORD_LEN, msisdn, Ac.PIN1, Ac.PIN1))

    imsi = Imsi(profile.imsi).encode()
    spn = Spn(profile.spn).encode()
    mnc_len = 2 if profile.imsi.startswith("001") or profile.imsi[:3] not in _MNC3_MCCS else 3
    ad = bytes((0x00, 0x00, 0x00, mnc_len))  # normal operation, no extra info, MNC length
    usim = mf.add(Df(0x7FF0, "ADF_USIM", aid=profile.usim_aid))
    assert isinstance(usim, Df)
    usim.add(TransparentEf(0x6F07, "EF_IMSI", imsi, Ac.PIN1, Ac.ADM1, sfi=0x07))
    usim.add(TransparentEf(0x6F46, "EF_SPN", spn, Ac.ALW, Ac.ADM1))
    usim.add(TransparentEf(0x6FAD, "EF_AD", ad, Ac.ALW, Ac.ADM1, sfi=0x03))

    gsm = mf.add(Df(0x7F20, "DF_GSM"))
    assert isinstance(gsm, Df)
    gsm.add(TransparentEf(0x6F07, "EF_IMSI", imsi, Ac.PIN1, Ac.ADM1))
    gsm.add(TransparentEf(0x6F46, "EF_SPN", spn, Ac.ALW, Ac.ADM1))

    assert isinstance(arr, LinearEf)
    arr.records = [bytearray(r) for r in assign_arr(mf)]
    return mf


_MNC3_MCCS = frozenset({"302", "310", "311", "312", "313", "316", "334", "348", "365", "405", "708",
                        "722", "732"})


# ---------------------------------------------------------------------------------------------
# JSON form
# ---------------------------------------------------------------------------------------------


def tree_to_json(node: Node) -> dict[str, Any]:
    if isinstance(node, Df):
        out: dict[str, Any] = {"fid": f"{node.fid:04X}", "name": node.name, "type": "DF"}
        if node.aid is not None:
            out["aid"] = node.aid.hex().upper()
        out["children"] = [tree_to_json(c) for c in node.children.values()]
        return out
    assert isinstance(node, Ef)
    out = {"fid": f"{node.fid:04X}", "name": node.name, "read": node.read.value,
           "update": node.update.value}
    if node.sfi is not None:
        out["sfi"] = node.sfi
    if isinstance(node, LinearEf):
        out["type"] = "linear"
        out["record_len"] = node.record_len
        out["records"] = [r.hex().upper() for r in node.records]
    else:
        assert isinstance(node, TransparentEf)
        out["type"] = "transparent"
        out["data"] = node.data.hex().upper()
    return out


def _fid(obj: dict[str, Any], where: str) -> int:
    raw = obj.get("fid")
    if not isinstance(raw, str) or len(raw) != 4:
        raise FsFormatError(f"{where}: file id must be 4 hex digits, got {raw!r}")
    try:
        return int(raw, 16)
    except ValueError:
        raise FsFormatError(f"{where}: file id {raw!r} is not hex") from None


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise FsFormatError(f"{what} must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise FsFormatError(f"{what} is not valid hex") from None


def _ac(obj: dict[str, Any], key: str, where: str) -> Ac:
    try:
        return Ac(obj.get(key))
    except ValueError:
        raise FsFormatError(f"{where}: {key} access condition {obj.get(key)!r} is not one of "
                            "ALW, PIN1, PIN2, ADM1, NEV") from None


def tree_from_json(obj: Any, where: str = "MF") -> Node:
    if not isinstance(obj, dict):
        raise FsFormatError(f"{where}: file entry must be an object")
    fid = _fid(obj, where)
    kind = obj.get("type")
    name = obj.get("name", "")
    if not isinstance(name, str):
        raise FsFormatError(f"{where}: name must be a string")
    if kind == "DF":
        where = f"DF {fid:04X}"
        aid = None
        if "aid" in obj:
            aid = _hex(obj["aid"], f"{where}: aid")
            if not 5 <= len(aid) <= 16:
                raise FsFormatError(f"{where}: AID must have 5..16 bytes")
        df = Df(fid, name, aid)
        children = obj.get("children")
        if not isinstance(children, list):
            raise FsFormatError(f"{where}: children must be a list")
        for child in children:
            df.add(tree_from_json(child, f"{where} child"))
        return df
    where = f"EF {fid:04X}"
    read, update = _ac(obj, "read", where), _ac(obj, "update", where)
    sfi = obj.get("sfi")
    if sfi is not None and (not isinstance(sfi, int) or isinstance(sfi, bool) or not 1 <= sfi <= 30):
        raise FsFormatError(f"{where}: SFI must be 1..30")
    if kind == "transparent":
        data = _hex(obj.get("data"), f"{where}: data")
        if not 1 <= len(data) <= 0x7FFF:
            raise FsFormatError(f"{where}: size {len(data)} out of range 1..32767")
        return TransparentEf(fid, name, data, read, update, sfi)
    if kind == "linear":
        rl = obj.get("record_len")
        if not isinstance(rl, int) or isinstance(rl, bool) or not 1 <= rl <= 255:
            raise FsFormatError(f"{where}: record_len must be 1..255")
        recs = obj.get("records")
        if not isinstance(recs, list) or len(recs) > 254:
            raise FsFormatError(f"{where}: records must be a list of at most 254 records")
        out = []
        for i, r in enumerate(recs, 1):
            raw = _hex(r, f"{where}: record {i}")
            if len(raw) != rl:
                raise FsFormatError(f"{where}: record {i} has {len(raw)} bytes, expected {rl}")
            out.append(raw)
        return LinearEf(fid, name, rl, out, read, update, sfi)
    raise FsFormatError(f"{where}: unknown file type {kind!r}")


def check_tree(mf: Node) -> None:
    """Structural rules beyond the JSON shape: an MF 3F00 with unique SFIs per DF."""
    if not isinstance(mf, Df) or mf.fid != 0x3F00:
        raise FsFormatError("the root of the file system must be the DF 3F00 (MF)")
    for node in mf.walk():
        if isinstance(node, Df):
            if node is not mf and node.fid in (0x3F00, 0x7FFF, 0x3FFF, 0xFFFF):
                raise FsFormatError(f"DF {node.fid:04X}: reserved file id")
            seen: set[int] = set()
            for child in node.children.values():
                if isinstance(child, Ef) and child.sfi is not None:
                    if child.sfi in seen:
                        raise FsFormatError(f"DF {node.fid:04X}: SFI {child.sfi} used twice")
                    seen.add(child.sfi)
