"""A one-line progress bar for terminals; silent when stderr is not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, total: int, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self._total = max(total, 1)
        self._stream = stream
        self._width = width
        self._started = time.perf_counter()

    def __call__(self, done: int) -> None:
        fraction = min(done / self._total, 1.0)
        filled = int(fraction * self._width)
        elapsed = time.perf_counter() - self._started
        rate = done / elapsed if elapsed > 0 else 0.0
        bar = "#" * filled + "-" * (self._width - filled)
        self._stream.write(f"\r[{bar}] {fraction:6.1%} {done:,} bars {rate:,.0f} bars/s")
        if done >= self._total:
            self._stream.write("\n")
        self._stream.flush()
