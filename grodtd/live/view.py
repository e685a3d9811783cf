"""The daemon as the web interface sees it: a read-only view and the narrow control.

It joins the engine's snapshot, the store's read side and the health checks behind the
``grodtd.web.contracts.DaemonView`` protocol, so ``web_app`` never learns what an engine or a
store is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from grodtd.core.models import EquitySnapshot, Fill, OperatorIntent, Order, OrderStatus, Trade
from grodtd.core.ports import Page, StoreReader
from grodtd.core.snapshot import EngineSnapshot
from grodtd.live.candles import CandleTape
from grodtd.ops.health import (
    HealthReport,
    Heartbeat,
    MarketDataClock,
    liveness_report,
    readiness_report,
)
from grodtd.ops.version import BuildInfo
from grodtd.web.contracts import Candle, EquityHistory, MarketSource


class HistoryReader(StoreReader, Protocol):
    """The store's read side with the dashboard's filters and the downsampled equity."""

    def list_orders(
        self,
        limit: int,
        offset: int,
        *,
        statuses: frozenset[OrderStatus] | None = None,
        symbol: str | None = None,
    ) -> Page[Order]: ...

    def list_trades(self, limit: int, offset: int, *, symbol: str | None = None) -> Page[Trade]: ...

    def equity_history(self, points: int, since_ts: int | None = None) -> list[EquitySnapshot]: ...


@dataclass
class Lifecycle:
    """Mutable facts about the process that readiness depends on, set by ``app.py``."""

    config_loaded: bool = False
    draining: bool = False
    engine_running: Callable[[], bool] = field(default=lambda: False)


class LiveDaemonView:
    def __init__(
        self,
        build: BuildInfo,
        snapshot: Callable[[], EngineSnapshot],
        store: HistoryReader,
        heartbeat: Heartbeat,
        market_clock: MarketDataClock,
        lifecycle: Lifecycle,
        *,
        store_check: Callable[[], None],
        intent: Callable[[], OperatorIntent],
        heartbeat_timeout_s: float,
        stale_after_s: float,
        market: MarketSource,
        candles: CandleTape,
        initial_cash: float,
    ) -> None:
        self._candles = candles
        self._initial_cash = initial_cash
        self._market = market
        self._build = build
        self._snapshot = snapshot
        self._store = store
        self._heartbeat = heartbeat
        self._market_clock = market_clock
        self._lifecycle = lifecycle
        self._store_check = store_check
        self._intent = intent
        self._heartbeat_timeout_s = heartbeat_timeout_s
        self._stale_after_s = stale_after_s

    def build_info(self) -> BuildInfo:
        return self._build

    def market_source(self) -> MarketSource:
        return self._market

    def snapshot(self) -> EngineSnapshot:
        return self._snapshot()

    def intent(self) -> OperatorIntent:
        return self._intent()

    def liveness(self) -> HealthReport:
        return liveness_report(self._heartbeat, self._heartbeat_timeout_s)

    def readiness(self) -> HealthReport:
        return readiness_report(
            config_loaded=self._lifecycle.config_loaded,
            store_check=self._store_check,
            market_data=self._market_clock,
            stale_after_s=self._stale_after_s,
            engine_running=self._lifecycle.engine_running(),
            heartbeat=self._heartbeat,
            heartbeat_timeout_s=self._heartbeat_timeout_s,
            draining=self._lifecycle.draining,
        )

    def orders(
        self,
        limit: int,
        offset: int,
        *,
        statuses: frozenset[OrderStatus] | None = None,
        symbol: str | None = None,
    ) -> Page[Order]:
        return self._store.list_orders(limit, offset, statuses=statuses, symbol=symbol)

    def fills(self, limit: int, offset: int) -> Page[Fill]:
        return self._store.list_fills(limit, offset)

    def trades(self, limit: int, offset: int, *, symbol: str | None = None) -> Page[Trade]:
        return self._store.list_trades(limit, offset, symbol=symbol)

    def equity_history(self, points: int, since_ts: int | None = None) -> EquityHistory:
        return EquityHistory(self._initial_cash, self._store.equity_history(points, since_ts))

    def candle_symbols(self) -> tuple[str, ...]:
        return self._candles.symbols()

    def candles(self, symbol: str, limit: int, since_ts: int | None = None) -> list[Candle]:
        return self._candles.recent(symbol, limit, since_ts)

    def equity_curve(self, limit: int, since_ts: int | None = None) -> list[EquitySnapshot]:
        return self._store.list_equity(limit, since_ts)
