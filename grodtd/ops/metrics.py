"""Prometheus metrics for GRODT, in a registry this object owns.

Two sources feed it. Domain events (``observe``) move the counters and the latency histogram
as things happen, so no increment is lost between scrapes. The published engine snapshot is
read by a collector at scrape time (``watch``), so a gauge is never older than the scrape
itself and nothing has to remember to refresh it.

Label values are bounded sets (sides, statuses, outcomes, reasons, configured symbols and
strategies); an order id never becomes a label, since every new value is a new time series.
Known label combinations are created up front so that ``rate()`` and ``absent()`` queries see
zero-valued series from the first scrape instead of gaps.

HTTP is prometheus_client's own ASGI app inside ``metrics_endpoint.MetricsEndpoint``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    make_asgi_app,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

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
from grodtd.ops.metrics_endpoint import MetricsEndpoint
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


@dataclass(frozen=True, slots=True)
class LiveState:
    """Everything the snapshot gauges show, read once per scrape so they agree with each other."""

    snapshot: EngineSnapshot
    ready: bool
    market_data_age: Mapping[str, float]
    heartbeat_age: float
    market_data_ended: bool = False


StateSource = Callable[[], LiveState]

# Gauges with one series each: name, help text, value in a state.
_SCALAR_GAUGES: tuple[tuple[str, str, Callable[[LiveState], float]], ...] = (
    ("grodt_ready", "1 when /ready answers 200, else 0.", lambda s: 1 if s.ready else 0),
    ("grodt_equity_usd", "Account equity (cash + positions).", lambda s: s.snapshot.equity),
    ("grodt_cash_usd", "Cash balance.", lambda s: s.snapshot.cash),
    ("grodt_realized_pnl_usd", "Realized PnL, net of fees.", lambda s: s.snapshot.realized_pnl),
    (
        "grodt_unrealized_pnl_usd",
        "Unrealized PnL of open positions.",
        lambda s: s.snapshot.unrealized_pnl,
    ),
    ("grodt_fees_usd", "Fees paid since the account started.", lambda s: s.snapshot.fees),
    (
        "grodt_drawdown_ratio",
        "Fraction of equity below its peak (0..1).",
        lambda s: s.snapshot.drawdown,
    ),
    (
        "grodt_daily_loss_ratio",
        "Loss since 00:00 UTC as a fraction of start-of-day equity (0 when up).",
        lambda s: _daily_loss_ratio(s.snapshot),
    ),
    ("grodt_open_positions", "Open positions.", lambda s: len(s.snapshot.positions)),
    (
        "grodt_market_data_ended",
        "1 once a bounded source (a CSV replay) has delivered its last bar.",
        lambda s: 1 if s.market_data_ended else 0,
    ),
    (
        "grodt_trading_halted",
        "1 while new entries are refused.",
        lambda s: 1 if s.snapshot.trading_halted else 0,
    ),
    (
        "grodt_paused",
        "1 while an operator paused new entries.",
        lambda s: 1 if s.snapshot.paused else 0,
    ),
    (
        "grodt_loss_streak",
        "Consecutive losing trades (cooldown starts at the cap).",
        lambda s: s.snapshot.loss_streak,
    ),
    (
        "grodt_engine_heartbeat_age_seconds",
        "Seconds since the engine loop last beat; liveness fails past its limit.",
        lambda s: max(0.0, s.heartbeat_age),
    ),
)
_MARKET_DATA_AGE = (
    "grodt_market_data_age_seconds",
    "Seconds since the last bar of the symbol arrived.",
    ["symbol"],
)
_REGIME = (
    "grodt_regime",
    "1 for the symbol's current regime, 0 for the others.",
    ["symbol", "regime"],
)
_STRATEGY_ENABLED = ("grodt_strategy_enabled", "1 when the strategy may trade.", ["strategy"])
_HALT_ACTIVE = ("grodt_halt_active", "1 for each reason currently halting entries.", ["reason"])
_KILL_SWITCH_ACTIVE = (
    "grodt_kill_switch_active",
    "1 while the kill switch is latched.",
    ["reason"],
)
_LABELLED_GAUGES = (_MARKET_DATA_AGE, _REGIME, _STRATEGY_ENABLED, _HALT_ACTIVE, _KILL_SWITCH_ACTIVE)


class Metrics:
    """All grodt_* metrics plus process and platform metrics, on a private registry."""

    def __init__(self, build: BuildInfo, symbols: Sequence[str], strategies: Sequence[str]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._symbols = tuple(symbols)
        self._strategies = tuple(strategies)
        self._source: StateSource | None = None
        # What events said, for what no snapshot says yet: the regime of a symbol the published
        # snapshot does not carry, and kill switches tripped while nothing is watched. Written
        # on the engine thread, read at scrape time: plain dict and frozenset swaps only.
        self._event_regimes: dict[str, Regime] = {}
        self._tripped: frozenset[str] = frozenset()
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
        self.decision_latency = Histogram(
            "grodt_decision_latency_seconds",
            "Time from a bar's arrival to the engine's decision.",
            buckets=DECISION_LATENCY_BUCKETS,
            registry=r,
        )
        self.kill_switch_trips = Counter(
            "grodt_kill_switch_trips_total", "Kill switch trips by reason.", ["reason"], registry=r
        )
        r.register(_SnapshotCollector(self))
        self._preinitialize()

    def _preinitialize(self) -> None:
        for side in Side:
            for status in ORDER_STATUSES:
                self.orders.labels(side.value, status)
        for outcome in TradeOutcome:
            self.trades_closed.labels(outcome.value)
        for reason in KillSwitchReason:
            self.kill_switch_trips.labels(reason.value)
        for symbol in self._symbols:
            self.market_events.labels(symbol)

    # -- events ---------------------------------------------------------------------------

    def observe(self, event: Event) -> None:
        """An ``Observer``: count what happened. Unknown events are ignored on purpose."""
        match event:
            case BarProcessed(bar=bar, regime=regime, decision_seconds=seconds):
                self.market_events.labels(bar.symbol).inc()
                self.bars_processed.inc()
                self.decision_latency.observe(max(0.0, seconds))
                self._event_regimes[bar.symbol] = regime
            case OrderSubmitted(order=order):
                self.orders.labels(order.side.value, "submitted").inc()
            case OrderFilled(order=order):
                self.orders.labels(order.side.value, "filled").inc()
            case OrderRejected(order=order):
                self.orders.labels(order.side.value, "rejected").inc()
            case TradeClosed(trade=trade):
                self.trades_closed.labels(trade.outcome.value).inc()
            case RegimeChanged(symbol=symbol, current=current):
                self._event_regimes[symbol] = current
            case KillSwitchTripped(reason=reason):
                self.kill_switch_trips.labels(reason.value).inc()
                self._tripped = self._tripped | {reason.value}
            case _:
                pass

    # -- snapshot -------------------------------------------------------------------------

    def watch(self, source: StateSource) -> None:
        """Read the snapshot gauges from ``source`` at every scrape (the daemon's live state).

        ``source`` runs on the scraping thread, once per scrape; whatever it raises fails
        that scrape (500, logged) and nothing else.
        """
        self._source = source

    def snapshot_families(self) -> Iterator[GaugeMetricFamily]:
        """The snapshot gauges as they are right now; the collector's ``collect``."""
        state = self._source() if self._source is not None else None
        shown = state or LiveState(
            EngineSnapshot(), ready=False, market_data_age={}, heartbeat_age=0
        )
        snapshot = shown.snapshot
        for name, documentation, read in _SCALAR_GAUGES:
            yield GaugeMetricFamily(name, documentation, value=read(shown))

        ages = {symbol: 0.0 for symbol in self._symbols}
        ages.update({symbol: max(0.0, age) for symbol, age in shown.market_data_age.items()})
        yield _family(_MARKET_DATA_AGE, {(symbol,): age for symbol, age in ages.items()})

        regimes: dict[str, Regime | None] = dict.fromkeys(self._symbols)
        regimes.update(dict(self._event_regimes))
        regimes.update(snapshot.regimes)
        yield _family(
            _REGIME,
            {
                (symbol, regime.value): 1 if regime is current else 0
                for symbol, current in regimes.items()
                for regime in Regime
            },
        )

        enabled = dict.fromkeys(self._strategies, False) | snapshot.strategies_enabled
        yield _family(_STRATEGY_ENABLED, {(name,): 1 if on else 0 for name, on in enabled.items()})

        halted = {reason.value for reason, _ in snapshot.halts}
        yield _family(_HALT_ACTIVE, {(h.value,): 1 if h.value in halted else 0 for h in HaltReason})

        # A watched daemon's snapshot is the truth about latches (a resume clears them); events
        # speak only while nothing is watched.
        latched = (
            {reason.value for reason, _ in snapshot.kill_switches}
            if state is not None
            else self._tripped
        )
        yield _family(
            _KILL_SWITCH_ACTIVE,
            {(k.value,): 1 if k.value in latched else 0 for k in KillSwitchReason},
        )

    # -- exposition -----------------------------------------------------------------------

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def asgi_app(self) -> MetricsEndpoint:
        """The ASGI app of port 9090: prometheus_client's, inside this port's contract."""
        return MetricsEndpoint(make_asgi_app(self.registry, disable_compression=True))


class _SnapshotCollector(Collector):
    """Yields the snapshot gauges at collect time; ``describe`` keeps registration side-free."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return self._metrics.snapshot_families()

    def describe(self) -> Iterator[GaugeMetricFamily]:
        for name, documentation, _ in _SCALAR_GAUGES:
            yield GaugeMetricFamily(name, documentation)
        for spec in _LABELLED_GAUGES:
            yield _family(spec, {})


def _family(
    spec: tuple[str, str, list[str]], values: Mapping[tuple[str, ...], float]
) -> GaugeMetricFamily:
    name, documentation, labels = spec
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in values.items():
        family.add_metric(label_values, value)
    return family


def _daily_loss_ratio(snapshot: EngineSnapshot) -> float:
    if snapshot.day_start_equity <= 0:
        return 0.0
    return max(0.0, (snapshot.day_start_equity - snapshot.equity) / snapshot.day_start_equity)
