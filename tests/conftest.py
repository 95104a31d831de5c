"""Shared fixtures for the whole suite.

``pcscd`` (session scope): a pcscd with the vpcd virtual reader, STARTED BY THE TESTS themselves
(own reader.conf.d under a tmp dir, ``pcscd -f -i -c DIR``), stopped by PID at the end. vpcd listens
on ``pcscd.port`` (slot 0, reader ``pcscd.reader(0)`` = "Virtual PCD 00 00") and ``pcscd.port + 1``
(slot 1). A running pcscd is reused only if its vpcd listens on that port; any other pcscd makes the
tests fail with a clear message. Sessions using pcscd are serialised with a lock file. Missing pcscd
or vpcd driver is a failure (run scripts/test.sh), never a skip. Mark such tests ``@pytest.mark.pcsc``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests assert behaviour, not speed (speed lives in scripts/bench_*.py): no per-example
# deadline, which a loaded 2-core machine would turn into flaky failures. In CI (CI=true) the
# examples are derandomised, so a run is reproducible; local runs keep exploring new examples.
settings.register_profile("simsync", deadline=None)
settings.register_profile("simsync-ci", deadline=None, derandomize=True, database=None)
settings.load_profile("simsync-ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "simsync")

# Test helpers shared by several test directories (--import-mode=importlib puts none on sys.path)
_SUPPORT = str(Path(__file__).resolve().parent / "support")
if _SUPPORT not in sys.path:
    sys.path.insert(0, _SUPPORT)

# A port of its own, so that a `simsync card serve` left running on the default 35963 cannot slip
# its card into the test readers.
TEST_VPCD_PORT = int(os.environ.get("SIMSYNC_TEST_VPCD_PORT", "35991"))


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from simsync.reader.pcscd import Pcscd, PcscdError, PcscdLock, check_installed

    problem = None
    try:
        check_installed()
        import smartcard  # noqa: F401  (pyscard: the PC/SC client the tests use)
    except (PcscdError, ImportError) as exc:
        problem = f"PC/SC stack missing ({exc}); run scripts/test.sh to install it"
    if problem:
        pytest.fail(problem, pytrace=False)
    with PcscdLock():
        try:
            daemon = Pcscd.ensure(tmp_path_factory.mktemp("pcscd"), TEST_VPCD_PORT)
        except PcscdError as exc:
            problem = str(exc)
        if problem:
            pytest.fail(problem, pytrace=False)
        try:
            yield daemon
        finally:
            daemon.stop()
