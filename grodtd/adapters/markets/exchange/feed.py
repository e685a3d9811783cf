"""``ExchangeFeed``: the closed candles of a real exchange, as ``MarketData``.

It polls ``fetch_ohlcv`` every ``poll_seconds`` and yields each symbol's candles strictly in
order, one per bar, and only candles that have closed:

* closed is decided on the EXCHANGE's clock (``fetch_time`` each cycle), never this
  machine's, so a skewed local clock cannot make a still-forming candle look closed; and the
  newest candle of an answer that reached the present is taken only once it is a whole bar
  old, which covers a skew of the exchange's own clock too (Binance always sends the forming
  candle last);
* a start-up reaches back ``history_bars`` (or to where the engine resumes, see
  ``LiveRunner``), so indicators are warm before the first decision;
* after an outage the cursor is still where it was: the missed candles come from history,
  in order, before any new one, so no bar is lost or repeated; ``fresh`` tells the runner
  which of them are recent enough to trade on (the newest two of each cycle), so an entry is
  never made on a candle from the middle of the outage;
* a hole in an answer (candles missing where history should have them) is waited for, up to
  ``gap_patience_bars`` of exchange time, before it is accepted as a real gap (which the
  engine's stale-data kill switch then reports).

It never raises on the exchange being down: it retries (``Edge``), reports in ``problem()``
and ``status``, and waits. It raises ``MarketConfigError`` only for what no retry can fix:
an unknown exchange, symbol or bar length.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import structlog

from grodtd.adapters.markets.exchange.client import (
    UnknownExchange,
    open_exchange,
    to_market_symbol,
)
from grodtd.adapters.markets.exchange.edge import Edge, EdgeStatus, error_kind
from grodtd.core.models import Bar

log = structlog.stdlib.get_logger("grodtd.exchange")

TIMEFRAMES = {60: "1m", 180: "3m", 300: "5m", 900: "15m", 1800: "30m", 3600: "1h", 14_400: "4h"}
# Candles per request: Binance's maximum; exchanges with a lower cap answer fewer, which the
# pagination handles (it continues until it reaches the present).
PAGE = 1000
_MAX_IDLE_S = 30.0


class MarketConfigError(ValueError):
    """The configured market cannot exist on this exchange; the message says what to change."""


class ExchangeFeed:
    """Implements ``grodtd.core.ports.MarketData`` over one ccxt exchange (REST polling)."""

    def __init__(
        self,
        exchange_id: str,
        symbols: Sequence[str],
        *,
        base_url: str | None = None,
        bar_seconds: int = 60,
        history_bars: int = 400,
        poll_seconds: float = 2.0,
        timeout_s: float = 10.0,
        gap_patience_bars: int = 5,
        exchange: Any = None,
        clock: Callable[[], float] = time.time,
        on_markets: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        if bar_seconds not in TIMEFRAMES:
            raise MarketConfigError(
                f"market.bar_seconds: {bar_seconds} has no exchange timeframe; use one of "
                f"{', '.join(str(s) for s in TIMEFRAMES)}"
            )
        try:
            self._exchange = exchange or open_exchange(
                exchange_id, base_url=base_url, timeout_s=timeout_s
            )
        except UnknownExchange as exc:
            raise MarketConfigError(f"market.exchange: {exc}") from None
        self.exchange_id = exchange_id
        self.symbols: Sequence[str] = tuple(symbols)
        self.status = EdgeStatus(exchange_id)
        self._edge = Edge(self._exchange, self.status, clock=clock)
        self._timeframe = TIMEFRAMES[bar_seconds]
        self._bar_ms = bar_seconds * 1000
        self._history_bars = history_bars
        self._poll_s = poll_seconds
        self._patience_ms = gap_patience_bars * self._bar_ms
        self._clock = clock
        self._stop = threading.Event()
        self._markets: dict[str, Any] | None = None
        self._on_markets = on_markets
        self._fresh: set[tuple[str, int]] = set()
        self._gaps: dict[str, tuple[int, int]] = {}  # symbol -> (expected open, first seen)
        self.last_candle_ms: dict[str, int] = {}
        self._server_ms = 0

    # -- what the daemon asks ------------------------------------------------------------

    def connect(self, *, attempts: int | None = None) -> dict[str, Any]:
        """Load the exchange's markets (retried) and check every symbol; the markets by symbol.

        ``on_markets`` hears them once: the paper broker learns the venue's order rules.
        """
        if self._markets is None:
            edge = (
                self._edge
                if attempts is None
                else Edge(self._exchange, self.status, clock=self._clock, attempts=attempts)
            )
            markets = edge.call("load_markets", self._exchange.load_markets)
            wanted = {symbol: to_market_symbol(symbol) for symbol in self.symbols}
            missing = [s for s, m in wanted.items() if m not in markets]
            if missing:
                raise MarketConfigError(_missing_message(self.exchange_id, missing, markets))
            mode = getattr(self._exchange, "precisionMode", None)
            self._markets = {s: {**markets[m], "precisionMode": mode} for s, m in wanted.items()}
            if self._on_markets is not None:
                self._on_markets(self._markets)
        return self._markets

    def problem(self) -> str | None:
        """Why market data cannot be relied on now (for /ready), None when it can."""
        problem = self.status.problem(self._clock())
        if problem is None and self._markets is None:
            return f"connecting to exchange {self.exchange_id} (loading its markets)"
        return problem

    def fresh(self, bar: Bar) -> bool:
        """True if ``bar`` was among the newest candles when fetched: recent enough to trade."""
        key = (bar.symbol, bar.ts)
        if key in self._fresh:
            self._fresh.discard(key)
            return True
        return False

    def stop(self) -> None:
        self._stop.set()

    # -- the stream -----------------------------------------------------------------------

    def bars(self, after: dict[str, int] | None = None) -> Iterator[Bar]:
        """Closed candles in time order, for each symbol strictly after ``after[symbol]``
        (open time, epoch seconds); without one, the newest ``history_bars`` first."""
        self._connect_patiently()
        now_ms = self._server_ms_patiently()
        floor = now_ms - now_ms % self._bar_ms
        cursor = {
            s: (after[s] * 1000 + self._bar_ms)
            if after and s in after
            else floor - self._history_bars * self._bar_ms
            for s in self.symbols
        }
        rank = {s: i for i, s in enumerate(self.symbols)}
        failures = 0
        while not self._stop.is_set():
            try:
                batch = self._cycle(cursor)
            except MarketConfigError:
                raise
            except Exception as exc:  # the exchange is down: wait, then continue from cursor
                failures += 1
                self._log_cycle_failure(exc, failures)
                self._stop.wait(self._pause(exc, self._backoff(failures)))
                continue
            failures = 0
            batch.sort(key=lambda bar: (bar.ts, rank[bar.symbol]))
            yield from batch
            if not batch or self._caught_up(cursor):
                self._stop.wait(self._poll_s)

    def _cycle(self, cursor: dict[str, int]) -> list[Bar]:
        server_ms = self._edge.call("fetch_time", self._exchange.fetch_time)
        batch: list[Bar] = []
        for symbol in self.symbols:
            bars = self._closed_since(symbol, cursor, server_ms)
            if bars:
                newest = bars[-1].ts
                self._fresh.update(
                    (symbol, b.ts) for b in bars if (newest - b.ts) * 1000 < 2 * self._bar_ms
                )
                self.last_candle_ms[symbol] = newest * 1000
            batch.extend(bars)
        self._server_ms = server_ms
        return batch

    def _caught_up(self, cursor: dict[str, int]) -> bool:
        """The next candle of every symbol is still forming: nothing to fetch until it closes."""
        return all(c + self._bar_ms > self._server_ms for c in cursor.values())

    def _closed_since(self, symbol: str, cursor: dict[str, int], server_ms: int) -> list[Bar]:
        market = to_market_symbol(symbol)
        out: list[Bar] = []
        while True:
            rows = self._edge.call(
                "fetch_ohlcv",
                self._exchange.fetch_ohlcv,
                market,
                self._timeframe,
                since=cursor[symbol],
                limit=PAGE,
            )
            rows = [r for r in rows if int(r[0]) >= cursor[symbol]]
            if not rows:
                return out
            truncated = len(rows) >= PAGE
            for i, row in enumerate(rows):
                open_ms = int(row[0])
                if not self._closed(open_ms, server_ms, last=i == len(rows) - 1 and not truncated):
                    return out
                if open_ms != cursor[symbol] and not self._accept_gap(
                    symbol, cursor[symbol], open_ms, server_ms
                ):
                    return out
                out.append(_bar(symbol, row))
                cursor[symbol] = open_ms + self._bar_ms
            if not truncated:
                return out

    def _closed(self, open_ms: int, server_ms: int, *, last: bool) -> bool:
        if open_ms + self._bar_ms > server_ms:
            return False
        # The newest candle of an answer that reached the present may be the forming one on
        # an exchange whose clock runs ahead of what it reports: take it a bar later.
        return not last or open_ms + 2 * self._bar_ms <= server_ms

    def _accept_gap(self, symbol: str, expected: int, got: int, server_ms: int) -> bool:
        seen = self._gaps.get(symbol)
        if seen is None or seen[0] != expected:
            self._gaps[symbol] = (expected, server_ms)
            log.warning(
                "candles missing, waiting for history to fill",
                exchange=self.exchange_id,
                symbol=symbol,
                missing_from_ms=expected,
                next_ms=got,
            )
            return False
        if server_ms - seen[1] < self._patience_ms:
            return False
        del self._gaps[symbol]
        log.error(
            "candles missing for good, continuing after the gap",
            exchange=self.exchange_id,
            symbol=symbol,
            missing_bars=(got - expected) // self._bar_ms,
        )
        return True

    # -- waiting for the exchange ------------------------------------------------------------

    def _connect_patiently(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self.connect()
                return
            except MarketConfigError:
                raise
            except Exception as exc:
                if error_kind(exc) == "rejected":
                    raise MarketConfigError(
                        f"exchange {self.exchange_id} refused to list its markets ({exc}): "
                        "check market.exchange and market.base_url"
                    ) from exc
                failures += 1
                self._log_cycle_failure(exc, failures)
                self._stop.wait(self._pause(exc, self._backoff(failures)))

    def _backoff(self, failures: int) -> float:
        return min(_MAX_IDLE_S, self._poll_s * 2.0 ** min(failures, 5))

    def _pause(self, exc: BaseException, backoff: float) -> float:
        """How long to wait after a failed cycle: ``backoff``, and never less than the
        ``Retry-After`` of a 429/418 that ended it. (The edge honours it between its own
        attempts, but once they ran out the cycle came back after ``poll_seconds`` only:
        asking again before Retry-After is what turns Binance's 429 into an IP ban, 418.)"""
        if error_kind(exc) != "rate_limited":
            return backoff
        return max(backoff, min(_MAX_IDLE_S, self._edge.retry_after() or 0.0))

    def _server_ms_patiently(self) -> int:
        while True:
            try:
                return int(self._edge.call("fetch_time", self._exchange.fetch_time))
            except Exception as exc:
                self._log_cycle_failure(exc, 1)
                if self._stop.wait(self._pause(exc, self._poll_s)):
                    return int(self._clock() * 1000)

    def _log_cycle_failure(self, exc: BaseException, failures: int) -> None:
        log.error(
            "exchange unavailable, will try again",
            exchange=self.exchange_id,
            kind=error_kind(exc),
            error=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
            failures=failures,
        )


def _bar(symbol: str, row: Sequence[Any]) -> Bar:
    open_ms, o, h, low, c, v = row[:6]
    return Bar(
        symbol=symbol,
        ts=int(open_ms) // 1000,
        open=float(o),
        high=float(h),
        low=float(low),
        close=float(c),
        volume=float(v or 0.0),
    )


def _missing_message(exchange: str, missing: Sequence[str], markets: dict[str, Any]) -> str:
    hints = []
    for symbol in missing:
        base = symbol.partition("-")[0]
        same_base = sorted(m.replace("/", "-") for m in markets if m.startswith(base + "/"))[:4]
        hint = f" (it has {', '.join(same_base)})" if same_base else ""
        hints.append(f"{symbol}{hint}")
    return (
        f"market.symbols: not a spot market of {exchange}: {'; '.join(hints)}: "
        "use BASE-QUOTE as the exchange lists it, such as BTC-USDT"
    )
