"""Every request the emulator saw and how it answered, for tests to assert on (retries, ids)."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class JournalEntry:
    """``status`` is 0 when no response was sent at all (a ``drop`` or ``lost_response``)."""

    method: str
    path: str
    params: dict[str, str]
    status: int
    code: int | None = None  # Binance's error code, when the answer was an error
    fault: str | None = None  # the fault kind that shaped the answer
    wall_s: float = 0.0
    market_ms: int = 0
    signed: bool = False


class Journal:
    """Thread-safe, append-only until ``clear``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[JournalEntry] = []

    def record(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def entries(
        self,
        *,
        path: str | None = None,
        method: str | None = None,
        status: int | None = None,
        fault: str | None = None,
    ) -> list[JournalEntry]:
        """Entries in arrival order; ``path`` matches a prefix, so ``/sapi`` finds every sapi."""
        with self._lock:
            found = list(self._entries)
        return [
            e
            for e in found
            if (path is None or e.path.startswith(path))
            and (method is None or e.method == method.upper())
            and (status is None or e.status == status)
            and (fault is None or e.fault == fault)
        ]

    def count(
        self,
        *,
        path: str | None = None,
        method: str | None = None,
        status: int | None = None,
        fault: str | None = None,
    ) -> int:
        return len(self.entries(path=path, method=method, status=status, fault=fault))

    def paths(self) -> list[str]:
        with self._lock:
            return [e.path for e in self._entries]
