"""The interop harness itself (scripts/interop/sepeer.py): missing components are an error, the
crash shim builds once, results parse."""

from __future__ import annotations

import subprocess

import pytest

from .conftest import sepeer


def test_missing_component_is_an_error(monkeypatch) -> None:
    monkeypatch.setattr(sepeer.shutil, "which", lambda name: None)
    with pytest.raises(sepeer.PeerError, match="run scripts/interop/setup.sh.*syncevolution"):
        sepeer.check_installed()


def test_installed_here() -> None:
    sepeer.check_installed()         # the interop tests need it: fail loudly, never skip


def test_curlfix_builds_once_and_exports_the_hook(tmp_path) -> None:
    so = sepeer.build_curlfix(tmp_path)
    mtime = so.stat().st_mtime_ns
    assert sepeer.build_curlfix(tmp_path) == so and so.stat().st_mtime_ns == mtime
    syms = subprocess.run(["nm", "-D", "--defined-only", str(so)], capture_output=True,
                          text=True, check=True).stdout
    assert " T curl_easy_setopt" in syms


def test_unknown_mode_and_kind_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="kind"):
        sepeer.SeClient(tmp_path, tmp_path, "http://127.0.0.1:1/syncml", kind="memo")
    with pytest.raises(ValueError, match="unknown mode"):
        sepeer.SeClient(tmp_path, tmp_path, "http://127.0.0.1:1/syncml").sync("three-way")


def test_result_counts() -> None:
    r = sepeer.SeResult(0, 200, "two-way", {"stat-remote-added-total": "3",
                                            "stat-local-any-sent": "99"}, 1.0, "")
    assert r.ok and r.stat("remote-added") == 3 and r.stat("local-any-sent") == 99
    assert r.stat("local-removed") == 0
    assert not sepeer.SeResult(0, 401, "", {}, 1.0, "").ok
