"""Fixtures for the SyncML codec tests: recorded SyncEvolution messages and helpers."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

# Raw XML vectors (what SyncEvolution put on the wire with enableWBXML=0).
XML_SAMPLES = sorted(p for p in DATA.rglob("*.xml") if not p.name.endswith(".decoded.xml"))
# Raw WBXML vectors; each has a ``.decoded.xml`` twin written by wbxml2xml.
WBXML_SAMPLES = sorted(DATA.rglob("*.wbxml"))
DECODED_SAMPLES = sorted(DATA.rglob("*.decoded.xml"))


def _id(p: Path) -> str:
    return str(p.relative_to(DATA))


def strip_doctype(xml: bytes) -> bytes:
    """Drop the ``<!DOCTYPE ...>`` line that wbxml2xml adds (our parser rejects DOCTYPEs)."""
    lines = xml.split(b"\n")
    kept = [ln for ln in lines if not ln.lstrip().startswith(b"<!DOCTYPE")]
    assert len(lines) - len(kept) <= 1
    return b"\n".join(kept)


def twin_of(wbxml: Path) -> Path:
    return wbxml.with_name(wbxml.name[: -len(".wbxml")] + ".decoded.xml")


def normalize(obj):
    """Erase the difference that wbxml2xml's XML rendering introduces by design: it writes
    OPAQUE item data (CRLF vCards) as CDATA, and XML parsing normalises CRLF to LF."""
    if dataclasses.is_dataclass(obj):
        return type(obj)(**{f.name: normalize(getattr(obj, f.name))
                            for f in dataclasses.fields(obj)})
    if isinstance(obj, tuple):
        return tuple(normalize(x) for x in obj)
    if isinstance(obj, str):
        return obj.replace("\r\n", "\n")
    return obj


def content_type_of(sample: Path) -> str:
    """The Content-Type recorded in the ``.hdr`` file next to a sample."""
    stem = sample.name.split(".")[0]
    hdr = sample.with_name(stem + ".hdr").read_text()
    for line in hdr.splitlines():
        if line.lower().startswith("content-type:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no Content-Type in {sample}")


@pytest.fixture(scope="session")
def libwbxml_tools() -> tuple[str, str]:
    """Paths of libwbxml's wbxml2xml and xml2wbxml (Debian: libwbxml2-utils); required."""
    w2x, x2w = shutil.which("wbxml2xml"), shutil.which("xml2wbxml")
    if not w2x or not x2w:
        pytest.fail("libwbxml's wbxml2xml/xml2wbxml are not installed; they are part of the "
                    "test environment (apt-get install libwbxml2-utils)", pytrace=False)
    return w2x, x2w


def pytest_generate_tests(metafunc):
    if "xml_sample" in metafunc.fixturenames:
        metafunc.parametrize("xml_sample", XML_SAMPLES, ids=_id)
    if "wbxml_sample" in metafunc.fixturenames:
        metafunc.parametrize("wbxml_sample", WBXML_SAMPLES, ids=_id)
    if "decoded_sample" in metafunc.fixturenames:
        metafunc.parametrize("decoded_sample", DECODED_SAMPLES, ids=_id)


@pytest.fixture(scope="session")
def helpers():
    class H:
        strip_doctype = staticmethod(strip_doctype)
        normalize = staticmethod(normalize)
        twin_of = staticmethod(twin_of)
        content_type_of = staticmethod(content_type_of)
        data = DATA
        xml_samples = XML_SAMPLES
        wbxml_samples = WBXML_SAMPLES
    return H
