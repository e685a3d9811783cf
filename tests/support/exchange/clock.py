"""The emulated exchange's virtual clock.

Market time runs at ``speed`` times real time (60 turns one real second into one emulated minute)
so a test sees candles close without waiting for them, and ``advance`` jumps it by hand, so a test
with ``speed=0`` is fully deterministic. ``skew_ms`` is separate: it shifts only what the server
*reports* about its clock, which is what a client/server clock difference looks like from outside.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MINUTE_MS = 60_000


class Clock:
    """Thread-safe virtual milliseconds since the epoch; the real clocks can be injected."""

    def __init__(
        self,
        *,
        start_ms: int | None = None,
        speed: float = 1.0,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self._lock = threading.Lock()
        self._wall = wall
        self._monotonic = monotonic
        self._start_ms = int(wall() * 1000) if start_ms is None else int(start_ms)
        # Elapsed time is measured on the monotonic clock, so a wall-clock step on the host
        # (NTP) never moves the market backwards.
        self._anchor = monotonic()
        self._base_ms = float(self._start_ms)
        self._speed = float(speed)
        self._skew_ms = 0

    @property
    def start_ms(self) -> int:
        return self._start_ms

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        """Change the pace from now on; time already elapsed keeps the old pace."""
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        with self._lock:
            self._rebase()
            self._speed = float(speed)

    def now_ms(self) -> int:
        """Market time: what decides which candles exist and when resting orders fill."""
        with self._lock:
            return self._now_locked()

    def advance(self, ms: int) -> int:
        """Step market time forward by ``ms`` and return the new time."""
        if ms < 0:
            raise ValueError("the market clock never goes backwards")
        with self._lock:
            self._base_ms += ms
            return self._now_locked()

    def advance_to(self, target_ms: int) -> int:
        """Step market time forward to ``target_ms`` (no-op when already past it)."""
        with self._lock:
            now = self._now_locked()
            if target_ms > now:
                self._base_ms += target_ms - now
            return self._now_locked()

    @property
    def skew_ms(self) -> int:
        return self._skew_ms

    @skew_ms.setter
    def skew_ms(self, value: int) -> None:
        with self._lock:
            self._skew_ms = int(value)

    def server_ms(self, extra_skew_ms: int = 0) -> int:
        """What ``/api/v3/time`` reports: market time plus the skew."""
        return self.now_ms() + self._skew_ms + extra_skew_ms

    def auth_ms(self, extra_skew_ms: int = 0) -> int:
        """The clock a signed request's ``timestamp`` is checked against.

        Clients stamp signed requests with their own wall clock (ccxt: ``milliseconds()``), so
        the check uses the real wall clock plus the skew; checking against market time would
        reject every signed request as soon as ``speed`` is not 1 or the clock was advanced.
        With ``start_ms=None`` and ``speed=1`` both clocks agree, which is what a test of a
        client's clock-skew correction needs.
        """
        return int(self._wall() * 1000) + self._skew_ms + extra_skew_ms

    def _now_locked(self) -> int:
        return int(self._base_ms + (self._monotonic() - self._anchor) * 1000.0 * self._speed)

    def _rebase(self) -> None:
        now = self._monotonic()
        self._base_ms += (now - self._anchor) * 1000.0 * self._speed
        self._anchor = now
