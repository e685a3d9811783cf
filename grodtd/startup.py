"""What the composition root does once at start-up before trading: say whether orders are
real, meet the exchange, and reconcile a live account (``app.py`` calls these)."""

from __future__ import annotations

from typing import Literal

import structlog

from grodtd.adapters.brokers.live import LiveBroker
from grodtd.adapters.markets.exchange import ExchangeFeed, MarketConfigError
from grodtd.adapters.store import SqlStore
from grodtd.config import ConfigError, Settings
from grodtd.core.engine import Engine
from grodtd.live.reconcile import Reconciler, restore_rails
from grodtd.ops.metrics import Metrics
from grodtd.ops.reconcile_metrics import ReconcileCollector

log = structlog.stdlib.get_logger("grodtd.app")


def announce_trading_mode(settings: Settings) -> Literal["paper", "live"]:
    """Say at start-up whether orders are real, and why: the operator must never guess."""
    mode, why = settings.trading_mode()
    if mode == "live":
        log.warning("trading LIVE: orders go to the exchange", reason=why)
    elif settings.broker.mode == "live":
        log.warning("trading paper: no order reaches the exchange", reason=why)
    else:
        log.info("trading paper: no order reaches an exchange", reason=why)
    return mode


def first_contact(feed: ExchangeFeed) -> None:
    """Ask the exchange for its markets once, so a wrong symbol exits 2 at start-up; an
    exchange that does not answer is not an error here: the feed keeps trying in the
    background and readiness says why the daemon waits."""
    try:
        feed.connect(attempts=1)
    except MarketConfigError as exc:
        raise ConfigError([str(exc)]) from None
    except Exception as exc:
        log.warning(
            "exchange not reachable at start-up; the feed keeps trying",
            exchange=feed.exchange_id,
            error=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
        )
    else:
        log.info("market data from an exchange", exchange=feed.exchange_id, symbols=feed.symbols)


def start_reconciling(
    settings: Settings, broker: LiveBroker, store: SqlStore, engine: Engine, metrics: Metrics
) -> Reconciler:
    """Reconcile the live account before the first bar; the reconciler returned runs again
    every ``broker.reconcile_seconds`` (a chore of the runner), its findings in the metrics."""
    reconciler = Reconciler(
        broker,
        store,
        engine,
        interval_s=settings.broker.reconcile_seconds,
        held_outside=settings.broker.held_outside,
    )
    restore_rails(broker.rails, store)
    reconciler.at_start()
    metrics.registry.register(ReconcileCollector(reconciler.status))
    return reconciler
