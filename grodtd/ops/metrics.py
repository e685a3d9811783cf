"""Prometheus metrics for GRODT, in a registry this object owns.

Two sources feed it. Domain events (``observe``) move the counters and the latency histogram
as things happen, so no increment is lost between scrapes. The engine snapshot (``refresh``)
sets the gauges just before each scrape, so a gauge is never older than the scrape itself.

Label values are bounded sets (sides, statuses, outcomes, reasons, configured symbols and
strategies); an order id never becomes a label, since every new value is a new time series.
Known label combinations are created up front so that ``rate()`` and ``absent()`` queries see
zero-valued series from the first scrape instead of gaps.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any

import structlog
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from grodtd.core.events import (
    BarProcessed,
    Event,
    KillSwitchTripped,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    RegimeChanged,
    TradeClosed,
)
from grodtd.core.models import HaltReason, KillSwitchReason, Regime, Side, TradeOutcome
from grodtd.core.snapshot import EngineSnapshot
from grodtd.ops.version import BuildInfo

# Order life-cycle steps counted by grodt_orders_total{status}; one event each.
ORDER_STATUSES = ("submitted", "filled", "rejected")

# Decisions take tens of microseconds on the hot path; the tail up to 100 ms is what we alert on.
DECISION_LATENCY_BUCKETS = (
    1e-5,
    2.5e-5,
    5e-5,
    1e-4,
    2.5e-4,
    5e-4,
    1e-3,
    2.5e-3,
    5e-3,
    1e-2,
    2.5e-2,
    5e-2,
    1e-1,
)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Metrics:
    """All grodt_* metrics plus process and platform metrics, on a private registry."""

    def __init__(self, build: BuildInfo, symbols: Sequence[str], strategies: Sequence[str]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._symbols = tuple(symbols)
        self._strategies = tuple(strategies)
        r = self.registry

        self.build_info = Gauge(
            "grodt_build_info",
            "Always 1; the labels say which build is running.",
            ["version", "revision", "environment", "python"],
            registry=r,
        )
        self.build_info.labels(build.version, build.revision, build.environment, build.python).set(
            1
        )
        self.ready = Gauge("grodt_ready", "1 when /ready answers 200, else 0.", registry=r)
        self.equity = Gauge("grodt_equity_usd", "Account equity (cash + positions).", registry=r)
        self.cash = Gauge("grodt_cash_usd", "Cash balance.", registry=r)
        self.realized = Gauge("grodt_realized_pnl_usd", "Realized PnL, net of fees.", registry=r)
        self.unrealized = Gauge(
            "grodt_unrealized_pnl_usd", "Unrealized PnL of open positions.", registry=r
        )
        self.fees = Gauge("grodt_fees_usd", "Fees paid since the account started.", registry=r)
        self.drawdown = Gauge(
            "grodt_drawdown_ratio", "Fraction of equity below its peak (0..1).", registry=r
        )
        self.daily_loss = Gauge(
            "grodt_daily_loss_ratio",
            "Loss since 00:00 UTC as a fraction of start-of-day equity (0 when up).",
            registry=r,
        )
        self.open_positions = Gauge("grodt_open_positions", "Open positions.", registry=r)
        self.orders = Counter(
            "grodt_orders_total",
            "Order life-cycle steps: submitted, filled or rejected, by side.",
            ["side", "status"],
            registry=r,
        )
        self.trades_closed = Counter(
            "grodt_trades_closed_total", "Closed round trips by outcome.", ["outcome"], registry=r
        )
        self.market_events = Counter(
            "grodt_market_events_total", "Bars processed, by symbol.", ["symbol"], registry=r
        )
        self.bars_processed = Counter(
            "grodt_bars_processed_total", "Bars processed over all symbols.", registry=r
        )
        self.market_data_age = Gauge(
            "grodt_market_data_age_seconds",
            "Seconds since the last bar of the symbol arrived.",
            ["symbol"],
            registry=r,
        )
        self.market_data_ended = Gauge(
            "grodt_market_data_ended",
            "1 once a bounded source (a CSV replay) has delivered its last bar.",
            registry=r,
        )
        self.decision_latency = Histogram(
            "grodt_decision_latency_seconds",
            "Time from a bar's arrival to the engine's decision.",
            buckets=DECISION_LATENCY_BUCKETS,
            registry=r,
        )
        self.regime = Gauge(
            "grodt_regime",
            "1 for the symbol's current regime, 0 for the others.",
            ["symbol", "regime"],
            registry=r,
        )
        self.strategy_enabled = Gauge(
            "grodt_strategy_enabled", "1 when the strategy may trade.", ["strategy"], registry=r
        )
        self.trading_halted = Gauge(
            "grodt_trading_halted", "1 while new entries are refused.", registry=r
        )
        self.paused = Gauge("grodt_paused", "1 while an operator paused new entries.", registry=r)
        self.halt_active = Gauge(
            "grodt_halt_active",
            "1 for each reason currently halting entries.",
            ["reason"],
            registry=r,
        )
        self.kill_switch_active = Gauge(
            "grodt_kill_switch_active",
            "1 while the kill switch is latched.",
            ["reason"],
            registry=r,
        )
        self.kill_switch_trips = Counter(
            "grodt_kill_switch_trips_total", "Kill switch trips by reason.", ["reason"], registry=r
        )
        self.loss_streak = Gauge(
            "grodt_loss_streak",
            "Consecutive losing trades (cooldown starts at the cap).",
            registry=r,
        )
        self.heartbeat_age = Gauge(
            "grodt_engine_heartbeat_age_seconds",
            "Seconds since the engine loop last beat; liveness fails past its limit.",
            registry=r,
        )
        self._preinitialize()

    def _preinitialize(self) -> None:
        for side in Side:
            for status in ORDER_STATUSES:
                self.orders.labels(side.value, status)
        for outcome in TradeOutcome:
            self.trades_closed.labels(outcome.value)
        for reason in KillSwitchReason:
            self.kill_switch_trips.labels(reason.value)
            self.kill_switch_active.labels(reason.value).set(0)
        for symbol in self._symbols:
            self.market_events.labels(symbol)
            self.market_data_age.labels(symbol).set(0)
            for regime in Regime:
                self.regime.labels(symbol, regime.value).set(0)
        for strategy in self._strategies:
            self.strategy_enabled.labels(strategy).set(0)
        for halt in HaltReason:
            self.halt_active.labels(halt.value).set(0)

    # -- events ---------------------------------------------------------------------------

    def observe(self, event: Event) -> None:
        """An ``Observer``: count what happened. Unknown events are ignored on purpose."""
        match event:
            case BarProcessed(bar=bar, regime=regime, decision_seconds=seconds):
                self.market_events.labels(bar.symbol).inc()
                self.bars_processed.inc()
                self.decision_latency.observe(max(0.0, seconds))
                self._set_regime(bar.symbol, regime)
            case OrderSubmitted(order=order):
                self.orders.labels(order.side.value, "submitted").inc()
            case OrderFilled(order=order):
                self.orders.labels(order.side.value, "filled").inc()
            case OrderRejected(order=order):
                self.orders.labels(order.side.value, "rejected").inc()
            case TradeClosed(trade=trade):
                self.trades_closed.labels(trade.outcome.value).inc()
            case RegimeChanged(symbol=symbol, current=current):
                self._set_regime(symbol, current)
            case KillSwitchTripped(reason=reason):
                self.kill_switch_trips.labels(reason.value).inc()
                self.kill_switch_active.labels(reason.value).set(1)
            case _:
                pass

    def _set_regime(self, symbol: str, current: Regime) -> None:
        for regime in Regime:
            self.regime.labels(symbol, regime.value).set(1 if regime is current else 0)

    # -- snapshot -------------------------------------------------------------------------

    def refresh(
        self,
        snapshot: EngineSnapshot,
        ready: bool,
        market_data_age: Mapping[str, float],
        heartbeat_age: float,
        market_data_ended: bool = False,
    ) -> None:
        """Set every gauge from one consistent snapshot (call right before rendering)."""
        self.ready.set(1 if ready else 0)
        self.equity.set(snapshot.equity)
        self.cash.set(snapshot.cash)
        self.realized.set(snapshot.realized_pnl)
        self.unrealized.set(snapshot.unrealized_pnl)
        self.fees.set(snapshot.fees)
        self.drawdown.set(snapshot.drawdown)
        self.daily_loss.set(_daily_loss_ratio(snapshot))
        self.open_positions.set(len(snapshot.positions))
        self.trading_halted.set(1 if snapshot.trading_halted else 0)
        self.paused.set(1 if snapshot.paused else 0)
        self.loss_streak.set(snapshot.loss_streak)
        self.heartbeat_age.set(max(0.0, heartbeat_age))
        self.market_data_ended.set(1 if market_data_ended else 0)
        for symbol, regime in snapshot.regimes.items():
            self._set_regime(symbol, regime)
        for strategy, enabled in snapshot.strategies_enabled.items():
            self.strategy_enabled.labels(strategy).set(1 if enabled else 0)
        for symbol, age in market_data_age.items():
            self.market_data_age.labels(symbol).set(max(0.0, age))
        halted = {reason.value for reason, _ in snapshot.halts}
        for halt in HaltReason:
            self.halt_active.labels(halt.value).set(1 if halt.value in halted else 0)
        latched = {reason.value for reason, _ in snapshot.kill_switches}
        for reason in KillSwitchReason:
            self.kill_switch_active.labels(reason.value).set(1 if reason.value in latched else 0)

    # -- exposition -----------------------------------------------------------------------

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def asgi_app(self, refresh_callback: Callable[[], None] | None = None) -> ASGIApp:
        """An ASGI app answering ``GET /metrics``; it refreshes the gauges before rendering.

        Small and dependency-free on purpose: it runs on its own port (9090) beside the web
        app, and a scrape must stay cheap even while the engine is busy.
        """
        return _MetricsASGI(self, refresh_callback)


def _daily_loss_ratio(snapshot: EngineSnapshot) -> float:
    if snapshot.day_start_equity <= 0:
        return 0.0
    return max(0.0, (snapshot.day_start_equity - snapshot.equity) / snapshot.day_start_equity)


_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
)


class _MetricsASGI:
    def __init__(self, metrics: Metrics, refresh: Callable[[], None] | None) -> None:
        self._metrics = metrics
        self._refresh = refresh

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope.get("method", "GET")
        if scope.get("path") != "/metrics":
            await _respond(send, 404, b"text/plain; charset=utf-8", b"not found; try /metrics\n")
            return
        if method not in ("GET", "HEAD"):
            await _respond(
                send,
                405,
                b"text/plain; charset=utf-8",
                b"method not allowed\n",
                ((b"allow", b"GET, HEAD"),),
            )
            return
        try:
            if self._refresh is not None:
                self._refresh()
            body = self._metrics.render()
        except Exception as exc:  # a broken refresh fails this scrape, never the process
            structlog.stdlib.get_logger("grodtd.ops.metrics").error(
                "metrics_refresh_failed", error=f"{type(exc).__name__}: {exc}"
            )
            await _respond(send, 500, b"text/plain; charset=utf-8", b"metrics refresh failed\n")
            return
        # The 0.0.4 text format: every Prometheus version parses it, and our names are legacy.
        await _respond(send, 200, CONTENT_TYPE_PLAIN_0_0_4.encode(), body)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _respond(
    send: Send,
    status: int,
    content_type: bytes,
    body: bytes,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *_SECURITY_HEADERS,
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
