"""Clocks of the terminal: a virtual one that tests advance by hand, and the real one for the CLI.

The terminal never reads the time itself; it asks its clock (``now()`` in seconds, monotonic) and
lets it wait (``sleep_until``). The wall-clock date and time it reports to the card (PROVIDE LOCAL
INFORMATION) also comes from the clock, so a virtual session is fully reproducible.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...                    # monotonic seconds
    def sleep_until(self, t: float) -> None: ...   # return once now() >= t
    def wall(self) -> dt.datetime: ...             # the local date and time (aware)


class VirtualClock:
    """A clock that only moves when told: ``sleep_until`` jumps, ``advance`` moves it by hand."""

    def __init__(self, start: float = 0.0,
                 wall_start: dt.datetime = dt.datetime(2026, 1, 1, 12, 0, 0,
                                                       tzinfo=dt.UTC)) -> None:
        self._now = float(start)
        self._start = float(start)
        self._wall_start = wall_start

    def now(self) -> float:
        return self._now

    def sleep_until(self, t: float) -> None:
        self._now = max(self._now, float(t))

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not run backwards")
        self._now += seconds

    def wall(self) -> dt.datetime:
        return self._wall_start + dt.timedelta(seconds=self._now - self._start)


class RealClock:
    """``time.monotonic`` and ``time.sleep``; the wall clock in local time."""

    def now(self) -> float:
        return time.monotonic()

    def sleep_until(self, t: float) -> None:
        delay = t - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def wall(self) -> dt.datetime:
        return dt.datetime.now().astimezone()


__all__ = ["Clock", "RealClock", "VirtualClock"]
