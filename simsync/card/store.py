"""Atomic replacement of a file: temp file in the same directory, fsync, rename, fsync the directory.

After a crash at any point the path holds either the old bytes or the new bytes, never a mix.
"""

from __future__ import annotations

import os
import re


def _temp_name(path: str, pid: int) -> str:
    directory = os.path.dirname(os.path.abspath(path))
    return os.path.join(directory, f".{os.path.basename(path)}.{pid}.tmp")


def remove_stale_temp_files(path: str) -> int:
    """Delete temp files that writers of ``path`` left when they were killed (their pid is gone)."""
    directory = os.path.dirname(os.path.abspath(path))
    pattern = re.compile(r"^\." + re.escape(os.path.basename(path)) + r"\.(\d+)\.tmp$")
    removed = 0
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    for name in names:
        m = pattern.match(name)
        if not m:
            continue
        pid = int(m.group(1))
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # someone else's live process
        try:
            os.unlink(os.path.join(directory, name))
            removed += 1
        except OSError:
            pass
    return removed


def atomic_write(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    tmp = _temp_name(path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class CardLock:
    """An exclusive advisory lock on a card file, held while a process has the card "inserted".

    A real card sits in one reader at a time; two processes writing one card file would each commit
    atomically but the last writer would silently undo the other's changes. The lock (``flock`` on a
    ``.NAME.lock`` file beside the card file) makes the second opener fail at once with a clear
    error instead. The kernel releases it when the process ends, even on ``kill -9``.
    """

    def __init__(self, path: str) -> None:
        import fcntl

        directory = os.path.dirname(os.path.abspath(path))
        self.lock_path = os.path.join(directory, f".{os.path.basename(path)}.lock")
        self._fd: int | None = None
        try:
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise CardFileError(f"{path}: cannot lock the card file "
                                f"({exc.strerror or exc}: {self.lock_path})") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise CardInUseError(
                f"{path}: the card is in use by another process or connection "
                "(close it there first: a card sits in one reader at a time)") from None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __del__(self) -> None:
        self.release()


from .errors import CardFileError


class CardInUseError(CardFileError):
    """The card file is open in another process or connection."""
