"""Fixtures of the operator tests: operator key directories, the sync CAP and its DAP signature."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # --import-mode=importlib: make op_support importable
    sys.path.insert(0, str(HERE))

import op_support

from simsync.operator.capbuild import build_applet_cap, sign_cap
from simsync.operator.keys import DapAlgorithm, init_keys


@pytest.fixture(scope="session")
def opkeys(tmp_path_factory: pytest.TempPathFactory):
    """An RSA operator key directory (AES-128 SCP03, KVN 30, no diversification)."""
    return init_keys(tmp_path_factory.mktemp("op") / "keys")


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory):
    """Another operator's keys (ECDSA), for wrong-key tests."""
    return init_keys(tmp_path_factory.mktemp("other") / "keys", dap_alg=DapAlgorithm.ECDSA)


@pytest.fixture(scope="session")
def sync_cap() -> bytes:
    """The project's sync applet CAP, built from its metadata."""
    return build_applet_cap(op_support.SYNC)


@pytest.fixture(scope="session")
def app_cap() -> bytes:
    """The test applet's CAP (4 KB payload)."""
    return build_applet_cap(op_support.APP)


@pytest.fixture(scope="session")
def app_sig(app_cap, opkeys):
    return sign_cap(app_cap, opkeys)


@pytest.fixture
def support():
    return op_support
