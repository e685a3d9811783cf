"""The composition root and entry point of the daemon.

This is the only module that knows every part: it builds them from the settings, wires the
engine's observers (store, metrics, logs), runs the engine, the web interface and the metrics
server on one asyncio event loop, and owns SIGTERM and SIGINT.

Shutdown order matters and is why signals live here: readiness turns 503 and the engine
refuses new entries the instant a signal arrives; the trading loop then stops between two
bars (every processed bar is already committed); the HTTP servers stop last, so an
orchestrator can watch readiness fail while the daemon drains.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from grodtd.adapters.brokers.live import LiveBroker
from grodtd.adapters.brokers.paper import PaperBroker
from grodtd.adapters.markets.exchange import ExchangeFeed, MarketConfigError
from grodtd.adapters.store import SqlStore, StoreError
from grodtd.config import ConfigError, Settings, check_data_dir
from grodtd.core.engine import Engine
from grodtd.core.events import Observer
from grodtd.core.ports import MarketData, RecoveredState
from grodtd.factories import build_market, live_broker, paper_broker
from grodtd.live.candles import CandleTape
from grodtd.live.control import DurableControl
from grodtd.live.reconcile import Reconciler
from grodtd.live.runner import LiveRunner, Pacing
from grodtd.live.servers import EmbeddedServer, StartupError, embedded_server, listen
from grodtd.live.view import Lifecycle, LiveDaemonView
from grodtd.ops.event_log import EventLogger
from grodtd.ops.exchange_metrics import ExchangeCollector
from grodtd.ops.health import Heartbeat, MarketDataClock, StoreProbe
from grodtd.ops.metrics import LiveState, Metrics
from grodtd.ops.version import build_info
from grodtd.startup import announce_trading_mode, first_contact, start_reconciling
from grodtd.web.contracts import MarketSource
from grodtd.web_app import create_app

log = structlog.stdlib.get_logger("grodtd.app")


class TradingFailed(Exception):
    """The trading loop stopped on an error after start-up (a full disk...): exit 1."""


# How often the stale-data watchdog looks at the market data clock.
_WATCHDOG_SECONDS = 1.0
# How long a successful store write probe is trusted by readiness.
_STORE_PROBE_SECONDS = 1.0


@dataclass
class Daemon:
    """Every long-lived part of a running daemon, built by ``build_daemon``."""

    settings: Settings
    store: SqlStore
    engine: Engine
    runner: LiveRunner
    metrics: Metrics
    heartbeat: Heartbeat
    market_clock: MarketDataClock
    lifecycle: Lifecycle
    web: EmbeddedServer
    metrics_server: EmbeddedServer

    def __post_init__(self) -> None:
        self._stop = asyncio.Event()
        self.engine_stuck = False

    def request_stop(self, why: str = "requested") -> None:
        """Begin a graceful stop, as SIGTERM does.

        Readiness and new entries flip first, synchronously, before any await can delay them.
        """
        self.lifecycle.draining = True
        self.engine.begin_shutdown()
        self.runner.stop()
        log.info("shutdown requested", signal=why)
        self._stop.set()

    async def run(self) -> int:
        """Run until SIGTERM or SIGINT (or ``request_stop``); return the process exit code."""
        stop = self._stop
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        servers = [
            asyncio.create_task(self.web.serve(), name="web"),
            asyncio.create_task(self.metrics_server.serve(), name="metrics"),
        ]
        try:
            await self._await_servers_started(servers)
            self.lifecycle.config_loaded = True
            trading = asyncio.create_task(self.runner.run(), name="engine")
            self.lifecycle.engine_running = lambda: self.runner.running and not trading.done()
            watchdog = asyncio.create_task(self._watch_market_data(), name="watchdog")
            log.info(
                "grodtd started",
                web=f"http://{self.settings.web.host}:{self.settings.web.port}",
                metrics=f"http://{self.settings.metrics.host}:{self.settings.metrics.port}",
                environment=self.settings.environment,
            )
            stopped = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({trading, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if trading in done and not stopped.done():
                # The engine ended without being asked to: say why in one line, exit 1. Every
                # committed bar is in the store; the bar that failed is replayed on restart.
                stopped.cancel()
                self.lifecycle.draining = True
                error = trading.exception()
                if isinstance(error, MarketConfigError):
                    raise ConfigError([str(error)]) from error
                if error is None:
                    raise TradingFailed("the trading loop ended unexpectedly; restart the daemon")
                if not isinstance(error, StoreError):
                    log.error("trading loop failed", exc_info=error)
                raise TradingFailed(f"trading stopped: {error}") from error
            return await self._drain(trading, watchdog, servers)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            for server in (self.web, self.metrics_server):
                server.should_exit = True
            await asyncio.gather(*servers, return_exceptions=True)
            self.store.close()

    async def _drain(
        self,
        trading: asyncio.Task[None],
        watchdog: asyncio.Task[None],
        servers: list[asyncio.Task[None]],
    ) -> int:
        started = time.monotonic()
        timeout = self.settings.shutdown.drain_timeout_seconds
        try:
            await asyncio.wait_for(trading, timeout=timeout)
        except TimeoutError:
            # Every processed bar is committed already; what hangs is at most one bar,
            # which the next start re-processes under the same client order ids.
            log.error("engine did not stop in time; exiting anyway", timeout_s=timeout)
            self.engine_stuck = True
            return 1
        finally:
            watchdog.cancel()
        for server in (self.web, self.metrics_server):
            server.should_exit = True
        await asyncio.gather(*servers, return_exceptions=True)
        snapshot = self.runner.snapshot
        log.info(
            "grodtd stopped",
            drain_seconds=round(time.monotonic() - started, 3),
            bars_processed=snapshot.bars_processed,
            equity=round(snapshot.equity, 2),
            open_positions=len(snapshot.positions),
        )
        return 0

    async def _await_servers_started(self, servers: list[asyncio.Task[None]]) -> None:
        """Wait for both servers (their sockets are bound already, see ``build_daemon``)."""
        while not (self.web.started and self.metrics_server.started):
            for task, what in zip(servers, ("web", "metrics"), strict=True):
                if task.done():
                    error = task.exception() if not task.cancelled() else None
                    raise StartupError(f"the {what} server did not start: {error!r}")
            await asyncio.sleep(0.01)

    async def _watch_market_data(self) -> None:
        stale_after = self.settings.market_data_stale_seconds
        while True:
            await asyncio.sleep(_WATCHDOG_SECONDS)
            problem = self.market_clock.problem()
            if problem is not None and self.runner.warmed_up:
                # The source itself says it fails (an exchange down): stale at once.
                self.engine.report_stale_data(problem)
                continue
            age = self.market_clock.max_age()
            if self.runner.warmed_up and age > stale_after:
                self.engine.report_stale_data(
                    f"no market data for {age:.1f} s (limit {stale_after:g} s)"
                )


def build_daemon(
    settings: Settings,
    *,
    market: MarketData | None = None,
    observers: Sequence[Observer] = (),
) -> Daemon:
    """Wire the daemon.

    ``market`` replaces the configured data source and ``observers`` are added to the
    engine's; tests use them to stall the feed or the engine thread on purpose.

    The order is the operator's: the store is locked before anything touches it (a second
    daemon exits 2 naming the first), then migrated and read, then both ports are bound (a
    port in use exits 1 naming its variable), and only then does anything trade.
    """
    if settings.database_url is None:
        check_data_dir(settings.data_dir)
    store = SqlStore(settings.effective_database_url())
    sockets: list[socket.socket] = []
    try:
        store.lock_exclusive()
        store.migrate()
        recovered = store.load()
        sockets.append(
            listen(settings.web.host, settings.web.port, what="web", variable="GRODT_WEB_PORT")
        )
        sockets.append(
            listen(
                settings.metrics.host,
                settings.metrics.port,
                what="metrics",
                variable="GRODT_METRICS_PORT",
            )
        )
        return _assemble(settings, store, recovered, sockets, market, observers)
    except BaseException:
        for sock in sockets:
            sock.close()
        store.close()
        raise


def _assemble(
    settings: Settings,
    store: SqlStore,
    recovered: RecoveredState,
    sockets: list[socket.socket],
    market: MarketData | None,
    observers: Sequence[Observer],
) -> Daemon:
    mode = announce_trading_mode(settings)
    broker: PaperBroker | LiveBroker = (
        live_broker(settings) if mode == "live" else paper_broker(settings)
    )
    market = market or build_market(settings, broker)
    live = market if isinstance(market, ExchangeFeed) else None
    if live is not None:
        first_contact(live)
    params = settings.engine_params()
    build = build_info(settings.environment)
    metrics = Metrics(build, list(market.symbols), [s.name for s in params.strategies])
    if live is not None:
        metrics.registry.register(ExchangeCollector(live.status))
    engine = Engine(
        params,
        broker,
        store,
        observers=[metrics.observe, EventLogger().observe, *observers],
        recovered=recovered,
    )
    chores: list[Reconciler] = []
    if isinstance(broker, LiveBroker):
        chores.append(start_reconciling(settings, broker, store, engine, metrics))
    heartbeat = Heartbeat()
    market_clock = MarketDataClock()
    if live is not None:
        market_clock.problem = live.problem
    candles = CandleTape(params.indicators)
    runner = LiveRunner(
        engine,
        market,
        Pacing(
            bars_per_second=settings.market.speed_bars_per_second,
            bar_seconds=settings.market.bar_seconds,
            warmup_bars=settings.market.history_bars,
        ),
        heartbeat,
        market_clock,
        venue=broker,
        live=live,
        chores=chores,
        on_bar=candles.record,
    )
    lifecycle = Lifecycle()
    control = DurableControl(
        engine,
        store.save_intent,
        recovered.intent,
        flatten=lambda why: runner.on_engine_thread(lambda: engine.flatten(why)),
    )
    store_probe = StoreProbe(store.check_writable, max_age_s=_STORE_PROBE_SECONDS)

    view = LiveDaemonView(
        build,
        lambda: runner.snapshot,
        store,
        heartbeat,
        market_clock,
        lifecycle,
        store_check=store_probe.check,
        intent=lambda: control.intent,
        heartbeat_timeout_s=settings.health.heartbeat_timeout_seconds,
        stale_after_s=settings.market_data_stale_seconds,
        market=MarketSource(
            settings.market.source,
            settings.market.exchange if live is not None else None,
            trading=mode,
        ),
        candles=candles,
        initial_cash=params.initial_cash,
    )
    token = settings.control_token.get_secret_value() if settings.control_token else None
    web = embedded_server(create_app(view, control, control_token=token), sockets[0])

    def metrics_state() -> LiveState:
        return LiveState(
            runner.snapshot,
            ready=view.readiness().ok,
            market_data_age=market_clock.ages(),
            heartbeat_age=heartbeat.age(),
            market_data_ended=market_clock.ended is not None,
        )

    metrics.watch(metrics_state)
    metrics_server = embedded_server(metrics.asgi_app(), sockets[1])
    if recovered.checkpoint is not None:
        log.info(
            "recovered state from the store",
            bars_processed=recovered.checkpoint.bars_processed,
            open_positions=len(recovered.positions),
            open_orders=len(recovered.open_orders),
        )
    if recovered.intent.paused:
        intent = recovered.intent
        log.warning(
            "starting paused: the operator paused new entries before the restart",
            paused_since=datetime.fromtimestamp(intent.since, UTC).isoformat(),
            by=intent.by,
            reason=intent.reason,
        )
    return Daemon(
        settings=settings,
        store=store,
        engine=engine,
        runner=runner,
        metrics=metrics,
        heartbeat=heartbeat,
        market_clock=market_clock,
        lifecycle=lifecycle,
        web=web,
        metrics_server=metrics_server,
    )


async def run_daemon(settings: Settings) -> int:
    daemon = build_daemon(settings)
    code = await daemon.run()
    if daemon.engine_stuck:
        # The hung engine thread would hold the interpreter at exit; the orchestrator
        # restarts us and recovery takes over.
        logging.shutdown()
        os._exit(code)
    return code
