"""The domain's event loop: one bar in, orders out.

Per bar of symbol S at time t (the order matters, see the numbered steps in ``process``):

1. pending control commands; retries of orders the broker refused earlier; the broker's fills
   for this bar, applied to the portfolio (an entry fill arms a stop and a target, an exit fill
   closes the trade and cancels the sibling protective order);
2. indicators and regime of S, mark to market, daily loss cap;
3. the strategy: a trend-break exit for an open position, else an entry sized by the risk
   manager;
4. the unit of work (orders, fills, trades, positions, equity, checkpoint) is committed to the
   store BEFORE anything new reaches the broker, so every order intent is durable first;
5. new orders go to the broker, cancelled ones are cancelled there;
6. events go to the observers (never built when nobody observes: backtests run bare).

Client order ids are ``{strategy}-{symbol}-{bar ts}-{purpose}``: re-processing a bar whose
unit of work was lost in a crash yields the same ids, the store upserts them and the broker's
idempotent ``submit`` ignores the duplicate.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from grodtd.core.engine.desk import Desk
from grodtd.core.engine.orders import OrderFlow
from grodtd.core.engine.state import SymbolState, build_snapshot, build_unit
from grodtd.core.events import (
    BarProcessed,
    EntriesHalted,
    EntriesResumed,
    Event,
    KillSwitchTripped,
    Observer,
    RegimeChanged,
)
from grodtd.core.models import (
    SECONDS_PER_DAY,
    Bar,
    HaltReason,
    Order,
    Trade,
)
from grodtd.core.params import EngineParams
from grodtd.core.portfolio import Portfolio
from grodtd.core.ports import Broker, RecoveredState, Store
from grodtd.core.risk import (
    COOLDOWN_BIT,
    DAILY_BIT,
    KILL_BIT,
    PAUSED_BIT,
    SHUTDOWN_BIT,
    RiskManager,
)
from grodtd.core.snapshot import EngineSnapshot
from grodtd.core.strategy import Strategy, build_strategy

_HALT_BITS = (
    (PAUSED_BIT, HaltReason.PAUSED),
    (DAILY_BIT, HaltReason.DAILY_LOSS_CAP),
    (COOLDOWN_BIT, HaltReason.COOLDOWN),
    (KILL_BIT, HaltReason.KILL_SWITCH),
    (SHUTDOWN_BIT, HaltReason.SHUTTING_DOWN),
)


class Engine:
    """Strategy, risk and portfolio for every symbol; implements ``core.snapshot.Control``.

    ``process(bar)`` is bound at construction: behind a re-entrant lock by default (the live
    runner processes bars on a worker thread while the event loop shuts down, reports stale
    data or reads snapshots), or bare with ``thread_safe=False`` for single-threaded backtests.
    """

    def __init__(
        self,
        params: EngineParams,
        broker: Broker,
        store: Store | None = None,
        observers: Sequence[Observer] = (),
        clock: Callable[[], float] = time.perf_counter,
        recovered: RecoveredState | None = None,
        *,
        thread_safe: bool = True,
    ) -> None:
        """``thread_safe=False`` drops the per-bar lock: for single-threaded backtests only."""
        if not params.strategies:
            raise ValueError("no strategy configured: add one to configs/strategies.yaml")
        self._params = params
        self._on_bar = broker.on_bar
        self._store = store
        self._observers = tuple(observers)
        self._observing = bool(self._observers)
        self._clock = clock
        self._strategies: tuple[Strategy, ...] = tuple(build_strategy(p) for p in params.strategies)
        self._by_name = {s.name: s for s in self._strategies}
        self._active = tuple(s for s in self._strategies if s.params.enabled)
        self._max_gap = params.risk.max_bar_gap_seconds
        self._max_open = params.risk.max_open_positions
        checkpoint = recovered.checkpoint if recovered is not None else None
        if checkpoint is not None:
            self._pf = Portfolio(
                checkpoint.cash, checkpoint.realized_pnl, checkpoint.fees, checkpoint.peak_equity
            )
            self._risk = RiskManager(params.risk, checkpoint.risk)
            self._last_ts = dict(checkpoint.last_ts)
            self._bars_processed = checkpoint.bars_processed
        else:
            self._pf = Portfolio(params.initial_cash)
            self._risk = RiskManager(params.risk)
            self._last_ts = {}
            self._bars_processed = 0
        if recovered is not None and recovered.intent.paused:
            # The operator's pause outlives restarts: no entry before an explicit resume.
            self._risk.pause()
        self._next_day_ts = (self._risk.day + 1) * SECONDS_PER_DAY
        self._symbols: dict[str, SymbolState] = {}
        self._events: list[Event] = []
        self._flow = OrderFlow(broker, self._risk, self._events)
        self._desk = Desk(
            self._flow,
            self._pf,
            self._risk,
            self._by_name,
            self._strategies[0],
            self._symbol_of,
            self._events,
        )
        # Control commands from other threads (web, signals); deque appends are atomic.
        self._commands: deque[Callable[[], None]] = deque()
        # The live runner processes bars on a worker thread while the event loop may shut the
        # engine down, report stale data or read a snapshot: one re-entrant lock serialises
        # them (re-entrant so an observer may read the snapshot from inside ``process``).
        self._lock = threading.RLock()
        self.process: Callable[[Bar], None] = self._process_locked if thread_safe else self._process
        self._snapshot: EngineSnapshot | None = None
        self._ts = max(self._last_ts.values(), default=0)
        self._halt_mask = self._risk.halt_mask(self._ts)
        if recovered is not None:
            self._desk.recover(recovered)

    # -- Control ------------------------------------------------------------------------

    def pause(self) -> None:
        self._commands.append(self._risk.pause)

    def resume(self) -> None:
        self._commands.append(self._risk.resume)

    def begin_shutdown(self) -> None:
        """No new entries from now on; never waits for a bar in progress (signal handlers).

        The halt is set at once without the lock, then applied again (idempotently) and
        announced under the lock: right now if no bar is being processed, else at the start of
        the next one.
        """
        risk = self._risk
        risk.shutting_down = True
        risk.blocked = True
        self._snapshot = None
        self._locked_or_later(risk.begin_shutdown)

    def report_stale_data(self, detail: str) -> None:
        """Wall-clock staleness seen by the live runner; fresh consecutive bars clear it."""
        self._snapshot = None
        self._locked_or_later(lambda: self._risk.report_stale_data(detail))

    def _locked_or_later(self, command: Callable[[], None]) -> None:
        if self._lock.acquire(blocking=False):
            try:
                command()
                self._snapshot = None
                self._emit_state_events(self._ts)
            finally:
                self._lock.release()
        else:
            self._commands.append(command)

    # -- reading ------------------------------------------------------------------------

    @property
    def resume_after(self) -> dict[str, int]:
        return dict(self._last_ts)

    def equity(self) -> float:
        """Current equity, without building a snapshot (cheap enough to call every bar)."""
        return self._pf.equity

    @property
    def trades(self) -> tuple[Trade, ...]:
        return tuple(self._desk.trades)

    @property
    def open_orders(self) -> tuple[Order, ...]:
        return tuple(self._flow.open.values())

    def snapshot(self) -> EngineSnapshot:
        snap = self._snapshot
        if snap is None:
            with self._lock:
                snap = build_snapshot(
                    self._ts,
                    self._bars_processed,
                    self._pf,
                    self._risk,
                    self._symbols,
                    self._last_ts,
                    {s.name: s.params.enabled for s in self._strategies},
                )
                self._snapshot = snap
        return snap

    # -- the bar loop -------------------------------------------------------------------

    def warm_up(self, bar: Bar) -> None:
        """Feed indicators and regime only: rebuilds their state after a restart."""
        with self._lock:
            st = self._symbol_of(bar.symbol)
            st.ind.update(bar.ts, bar.high, bar.low, bar.close, bar.volume)
            st.regime = st.classifier.update(bar.close, st.ind.atr)
            self._pf.mark(bar.symbol, bar.close)
            self._snapshot = None

    def _process_locked(self, bar: Bar) -> None:
        with self._lock:
            self._process(bar)

    def _process(self, bar: Bar) -> None:
        """One bar in, orders out (``process`` is this, behind the lock when thread safe)."""
        # The hot path of every backtest: locals over attributes, no events without observers.
        symbol = bar.symbol
        st = self._symbols.get(symbol)
        if st is None:
            st = self._symbol(symbol)
        ts = bar.ts
        prev_ts = st.last_ts
        if ts <= prev_ts:
            return  # already processed before a restart: replays are idempotent
        observing = self._observing
        started = self._clock() if observing else 0.0
        self._snapshot = None
        risk = self._risk
        pf = self._pf
        flow = self._flow
        desk = self._desk

        # 1. commands and retries, the day boundary, then this bar's fills.
        if self._commands or flow.retrying:
            self._between_bars(observing)
        if ts >= self._next_day_ts:
            day = ts // SECONDS_PER_DAY
            if day > risk.day:
                risk.start_day(day, pf.equity)
            self._next_day_ts = (day + 1) * SECONDS_PER_DAY
        fills = self._on_bar(bar)
        if fills:
            for fill in fills:
                desk.apply_fill(fill, ts, observing)

        # 2. market state.
        if prev_ts >= 0 and (ts - prev_ts > self._max_gap or risk.kill_switches):
            risk.bar_gap(symbol, ts - prev_ts)
        st.last_ts = ts
        self._last_ts[symbol] = ts
        if ts > self._ts:
            self._ts = ts
        close = bar.close
        ind = st.ind
        ind.update(ts, bar.high, bar.low, close, bar.volume)
        regime = st.classifier.update(close, ind.atr)
        if regime is not st.regime:
            if observing:
                self._events.append(RegimeChanged(symbol, ts, st.regime, regime))
            st.regime = regime
        pf.last_prices[symbol] = close
        positions = pf.positions
        # Without positions equity is cash, which only fills change (and they revalue).
        equity = pf.revalue() if positions else pf.equity
        if equity <= risk.daily_floor and not risk.daily_halted:
            risk.check_daily_loss(equity)

        # 3. strategy.
        position = positions.get(symbol) if positions else None
        if position is not None:
            if st.exit_id is None:
                strategy = self._by_name.get(position.strategy, self._strategies[0])
                if strategy.trend_broken(close, ind, 1 if position.qty > 0 else -1):
                    desk.exit_at_market(st, position, ts)
        elif (
            st.entry_id is None
            and not risk.blocked
            and ts >= risk.cooldown_until
            and len(positions) + desk.pending_entries < self._max_open
        ):
            for strategy in self._active:
                direction = strategy.entry_direction(close, ind, regime)
                if direction:
                    desk.enter(strategy, st, direction, close, equity, ts)
                    break
        decided = self._clock() if observing else 0.0
        self._bars_processed += 1

        # 4. durable first.
        if self._store is not None:
            self._commit(ts)
        if flow.changed:
            desk.clear_unit()
        # 5. then the broker; a rejection found now is recorded with the next bar's unit.
        if flow.new or flow.cancels:
            for order in flow.send(observing):
                desk.entry_released(order)
        # 6. tell the observers.
        if observing:
            self._events.append(BarProcessed(bar, regime, decided - started))
            self._emit_state_events(ts)
        elif risk.new_trips:
            risk.new_trips.clear()

    # -- steps ----------------------------------------------------------------------------

    def _symbol(self, symbol: str) -> SymbolState:
        st = SymbolState(symbol, self._params, self._last_ts.get(symbol, -1))
        self._symbols[symbol] = st
        return st

    def _symbol_of(self, symbol: str) -> SymbolState:
        return self._symbols.get(symbol) or self._symbol(symbol)

    def _between_bars(self, observing: bool) -> None:
        commands = self._commands
        while commands:
            commands.popleft()()
        if self._flow.retrying:
            for order in self._flow.retry(observing):
                self._desk.entry_released(order)

    def _commit(self, ts: int) -> None:
        assert self._store is not None
        self._store.commit(
            build_unit(
                ts,
                self._bars_processed,
                self._pf,
                self._risk,
                self._last_ts,
                self._flow.changed.values(),
                self._desk.fills,
                self._desk.unit_trades,
                self._desk.touched,
            )
        )

    def _emit_state_events(self, ts: int) -> None:
        """Deliver queued events plus kill-switch trips and halt changes to the observers."""
        risk = self._risk
        events = self._events
        for reason, detail in risk.new_trips:
            events.append(KillSwitchTripped(reason, detail))
        risk.new_trips.clear()
        mask = risk.halt_mask(ts)
        previous = self._halt_mask
        if mask != previous:
            self._halt_mask = mask
            details = dict(reversed(risk.halts(ts)))
            for bit, halt in _HALT_BITS:
                if mask & bit and not previous & bit:
                    events.append(EntriesHalted(halt, details.get(halt, "")))
                elif previous & bit and not mask & bit:
                    events.append(EntriesResumed(halt))
        if not events:
            return
        for observer in self._observers:
            for event in events:
                observer(event)
        events.clear()
