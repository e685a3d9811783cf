"""Downloading an exchange's closed candles into the CSV files ``grodt backtest --csv`` replays.

The file format is the replay's (``grodtd.adapters.markets.replay``): a header line
``timestamp,open,high,low,close,volume``, then one candle per line, ``timestamp`` its open
time in epoch seconds, in increasing order. Each page is appended and flushed as it arrives,
so a download killed at any instant leaves a valid file of whole lines (a torn last line is
cut on the next run), and running the same command again resumes after its last candle.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grodtd.adapters.markets.exchange.client import to_market_symbol
from grodtd.adapters.markets.exchange.edge import Edge, EdgeStatus
from grodtd.adapters.markets.exchange.feed import PAGE, TIMEFRAMES, MarketConfigError
from grodtd.adapters.markets.replay import COLUMNS

HEADER = ",".join(COLUMNS) + "\n"


@dataclass(frozen=True, slots=True)
class Download:
    symbol: str  # GRODT notation, BTC-USDT
    path: Path
    candles: int  # written by this run
    first_ts: int | None  # open time of the file's first and last candle, epoch seconds
    last_ts: int | None
    resumed: bool


def csv_path(directory: Path, exchange_id: str, symbol: str, bar_seconds: int) -> Path:
    return directory / f"{exchange_id}-{symbol}-{TIMEFRAMES[bar_seconds]}.csv"


def _last_ts(path: Path) -> tuple[int | None, int | None]:
    """(first, last) open time in a file this module wrote; a torn last line is cut off."""
    if not path.exists() or path.stat().st_size == 0:
        return None, None
    with path.open("rb+") as handle:
        data = handle.read()
        if not data.startswith(HEADER.encode()):
            raise MarketConfigError(
                f"{path}: exists but is not a candle file (its first line is not "
                f"{HEADER.strip()}): move it away or choose another --out directory"
            )
        end = data.rfind(b"\n") + 1
        if end < len(data):  # killed mid-line: keep only whole lines
            handle.truncate(end)
        lines = data[:end].splitlines()[1:]
    if not lines:
        return None, None
    return int(lines[0].split(b",")[0]), int(lines[-1].split(b",")[0])


class HistoryDownloader:
    """Fetches one exchange's candles page by page (retried at the edge) and writes CSVs."""

    def __init__(
        self,
        exchange: Any,
        exchange_id: str,
        *,
        bar_seconds: int = 60,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._exchange = exchange
        self.exchange_id = exchange_id
        self.status = EdgeStatus(exchange_id)
        self._edge = Edge(exchange, self.status, sleep=sleep, attempts=6, budget_s=120.0)
        self._bar_ms = bar_seconds * 1000
        self._bar_seconds = bar_seconds
        self._timeframe = TIMEFRAMES[bar_seconds]

    def check_symbols(self, symbols: list[str]) -> None:
        markets = self._edge.call("load_markets", self._exchange.load_markets)
        missing = [s for s in symbols if to_market_symbol(s) not in markets]
        if missing:
            raise MarketConfigError(
                f"--symbols: not a spot market of {self.exchange_id}: "
                f"{', '.join(to_market_symbol(s) for s in missing)} "
                "(use the exchange's notation, such as BTC/USDT)"
            )

    def server_ms(self) -> int:
        return int(self._edge.call("fetch_time", self._exchange.fetch_time))

    def download(
        self,
        symbol: str,
        path: Path,
        start_ms: int,
        end_ms: int,
        progress: Callable[[int], None] | None = None,
    ) -> Download:
        """Candles of ``symbol`` opening in [start_ms, end_ms) and closed by then, into ``path``."""
        first, last = _last_ts(path)
        resumed = last is not None
        cursor = start_ms if last is None else max(start_ms, (last * 1000) + self._bar_ms)
        written = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8", newline="") as out:
            if first is None and out.tell() == 0:
                out.write(HEADER)
            for page in self._pages(symbol, cursor, end_ms):
                out.write("".join(_line(row) for row in page))
                out.flush()
                os.fsync(out.fileno())
                written += len(page)
                first = first if first is not None else int(page[0][0]) // 1000
                last = int(page[-1][0]) // 1000
                if progress is not None:
                    progress(written)
        return Download(symbol, path, written, first, last, resumed)

    def _pages(self, symbol: str, cursor: int, end_ms: int) -> Iterator[list[list[Any]]]:
        market = to_market_symbol(symbol)
        while cursor < end_ms:
            rows = self._edge.call(
                "fetch_ohlcv",
                self._exchange.fetch_ohlcv,
                market,
                self._timeframe,
                since=cursor,
                limit=PAGE,
            )
            page = [r for r in rows if cursor <= int(r[0]) and int(r[0]) + self._bar_ms <= end_ms]
            if not page:
                return
            yield page
            cursor = int(page[-1][0]) + self._bar_ms


def _line(row: list[Any]) -> str:
    open_ms, o, h, low, c, v = row[:6]
    return f"{int(open_ms) // 1000},{o!r},{h!r},{low!r},{c!r},{v or 0!r}\n"
