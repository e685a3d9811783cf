"""The domain's event loop: one bar in, orders out.

Per bar of symbol S at time t (the order matters, see the numbered steps in ``_process``):

1. pending control commands; retries of orders the venue refused earlier; the fills the venue
   reported since the last bar (the paper venue was shown bar t just before), applied to the
   portfolio (an entry fill arms a stop and a target, an exit fill closes the trade and cancels
   the sibling protective order);
2. indicators and regime of S, mark to market, the risk rules of the bar (stale data, daily
   loss cap);
3. the strategy: a trend-break exit for an open position, else an entry sized by the risk
   manager;
4. the unit of work (orders, fills, trades, positions, equity, checkpoint) is committed to the
   store BEFORE anything new reaches the venue, so every order intent is durable first;
5. new orders go to the venue, cancelled ones are cancelled there;
6. events go to the observers; nobody observing, none is kept and the per-bar ones are not
   even built: backtests run bare.

Fills can also be taken between bars (``settle_fills``), for a live venue that reports them
whenever they happen: steps 1 (fills only), 4, 5 and 6 then run without a bar.

Client order ids are ``{strategy}-{symbol}-{bar ts}-{purpose}``: re-processing a bar whose
unit of work was lost in a crash yields the same ids, the store upserts them and the venue's
idempotent ``submit`` ignores the duplicate.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from grodtd.core.engine.desk import Desk
from grodtd.core.engine.news import HaltNews
from grodtd.core.engine.orders import OrderFlow
from grodtd.core.engine.state import SymbolState, build_snapshot, build_unit
from grodtd.core.events import BarProcessed, Event, Observer, RegimeChanged
from grodtd.core.models import (
    SECONDS_PER_DAY,
    Bar,
    Fill,
    Order,
    OrderPurpose,
    OrderStatus,
    Regime,
    Trade,
)
from grodtd.core.params import EngineParams
from grodtd.core.portfolio import Portfolio
from grodtd.core.ports import Broker, RecoveredState, Store
from grodtd.core.risk import RiskManager
from grodtd.core.snapshot import EngineSnapshot
from grodtd.core.strategy import StrategyBook


class Engine:
    """Strategy, risk and portfolio for every symbol; implements ``core.snapshot.Control``.

    ``process(bar)`` is bound at construction: behind a re-entrant lock by default (the live
    runner processes bars on a worker thread while the event loop shuts down, reports stale
    data or reads snapshots), or bare with ``thread_safe=False`` for single-threaded backtests.

    The engine keeps no history: closed trades go to the store with their bar's unit of work
    and to ``record_trade`` if given (a backtest collects its run there), so a daemon that
    trades for months holds only the current bar's changes.
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
        record_trade: Callable[[Trade], None] | None = None,
        bar_events: bool = True,
    ) -> None:
        """``thread_safe=False`` drops the per-bar lock: for single-threaded backtests only.

        ``bar_events=False`` spares observers the ``BarProcessed`` event of every bar (and the
        two clock reads that time it): a backtest's recorder wants orders, regimes and halts,
        and a timed event per bar cost it a third of its speed.
        """
        self._strategies = StrategyBook(params.strategies)
        self._active = self._strategies.active
        self._params = params
        self._take_fills = broker.take_fills
        self._store = store
        self._observers = tuple(observers)
        self._observing = bool(self._observers)
        self._timing = self._observing and bar_events
        self._clock = clock
        checkpoint = recovered.checkpoint if recovered is not None else None
        if checkpoint is not None:
            self._pf = Portfolio(
                checkpoint.cash, checkpoint.realized_pnl, checkpoint.fees, checkpoint.peak_equity
            )
            self._risk = RiskManager(params.risk, checkpoint.risk)
            # Open time of the last processed bar per symbol: the one record of bar time.
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
        # The first bar at or after this is the risk manager's next UTC day.
        self._next_day_ts = (self._risk.state().day + 1) * SECONDS_PER_DAY
        self._symbols: dict[str, SymbolState] = {}
        self._flow = OrderFlow(broker, self._risk)
        self._desk = Desk(self._flow, self._pf, self._risk, self._strategies, record_trade)
        # This bar's events, filled only while someone observes; only the engine holds it.
        self._outbox: list[Event] = []
        # Control commands from other threads (web, signals); deque appends are atomic.
        self._commands: deque[Callable[[], None]] = deque()
        # The live runner processes bars on a worker thread while the event loop may shut the
        # engine down, report stale data or read a snapshot: one re-entrant lock serialises
        # them (re-entrant so an observer may read the snapshot from inside ``process``).
        self._lock = threading.RLock()
        self.process: Callable[[Bar], None] = self._process_locked if thread_safe else self._process
        self._snapshot: EngineSnapshot | None = None
        self._news = HaltNews(self._risk.halted(self._newest_ts()))
        if recovered is not None:
            self._recover(recovered)

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
        risk.begin_shutdown()
        self._snapshot = None
        self._locked_or_later(risk.begin_shutdown)

    def report_stale_data(self, detail: str) -> None:
        """Wall-clock staleness seen by the live runner; fresh consecutive bars clear it."""
        self._snapshot = None
        self._locked_or_later(lambda: self._risk.report_stale_data(detail))

    def report_account_mismatch(self, detail: str | None) -> None:
        """The live reconciliation's verdict: what differs between the exchange's balances and
        the positions (entries halt), or None once they agree (the halt clears)."""
        self._snapshot = None
        self._locked_or_later(lambda: self._risk.report_account_mismatch(detail))

    def _locked_or_later(self, command: Callable[[], None]) -> None:
        if self._lock.acquire(blocking=False):
            try:
                command()
                self._snapshot = None
                self._tell(self._news.since_last(self._risk, self._newest_ts()))
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
    def open_orders(self) -> tuple[Order, ...]:
        return self._flow.live_orders()

    def snapshot(self) -> EngineSnapshot:
        snap = self._snapshot
        if snap is None:
            with self._lock:
                snap = build_snapshot(
                    self._bars_processed,
                    self._pf,
                    self._risk,
                    self._symbols,
                    self._last_ts,
                    self._strategies.enabled(),
                )
                self._snapshot = snap
        return snap

    # -- driving ------------------------------------------------------------------------

    def warm_up(self, bar: Bar) -> None:
        """Feed indicators and regime only: rebuilds their state after a restart."""
        with self._lock:
            st = self._symbol_of(bar.symbol)
            st.ind.update(bar.ts, bar.high, bar.low, bar.close, bar.volume)
            st.regime = st.classifier.update(bar.close, st.ind.atr)
            self._pf.mark(bar.symbol, bar.close)
            self._snapshot = None

    def settle_fills(self) -> None:
        """Book the fills the venue reported since the last bar now, not with the next bar.

        For a venue that reports fills as they happen: they are applied, committed and the
        protective orders they arm are sent, as at the start of a bar; new orders carry the
        time of the newest processed bar. Call it on the thread that drives the engine.
        """
        with self._lock:
            fills = self._take_fills()
            if not fills:
                return
            ts = self._newest_ts()
            self._snapshot = None
            self._apply_fills(fills, ts)
            self._between_bars(ts)

    def flatten(self, reason: str) -> int:
        """The operator's flatten: pause entries, then close every open position at market
        now, its stop and target cancelled; a position whose exit is already on its way is
        left to it. Returns how many exits were sent. Call it on the thread that drives the
        engine (as ``settle_fills``); the pause is the operator's and lasts until a resume."""
        with self._lock:
            self._risk.pause()
            ts = self._newest_ts()
            self._snapshot = None
            sent = 0
            for position in self._pf.positions():
                st = self._symbol_of(position.symbol)
                if st.exit_id is None:
                    self._desk.exit_at_market(st, position, reason, ts, OrderPurpose.FLATTEN)
                    sent += 1
            self._between_bars(ts)
            return sent

    def _between_bars(self, ts: int) -> None:
        """Finish a change made between bars as a bar would: durable first, then the venue,
        then the observers (under the lock; ``ts`` is the newest bar's)."""
        if self._store is not None:
            self._commit(ts)
        if self._flow.busy:
            self._after_commit()
        self._outbox.extend(self._news.since_last(self._risk, ts))
        self._tell(self._outbox)

    def catch_up(self, bar: Bar) -> None:
        """``process`` for a bar that is already history when it arrives (after an outage of
        the feed): fills, stops, targets and exits run as usual, no position is opened on it.
        """
        with self._lock:
            self._process(bar, fresh=False)

    def _process_locked(self, bar: Bar) -> None:
        with self._lock:
            self._process(bar)

    def _process(self, bar: Bar, fresh: bool = True) -> None:
        """One bar in, orders out (``process`` is this, behind the lock when thread safe)."""
        # The hot path of every backtest: locals over attributes, no events without observers.
        symbol = bar.symbol
        ts = bar.ts
        last_ts = self._last_ts
        prev_ts = last_ts.get(symbol, -1)
        if ts <= prev_ts:
            return  # already processed before a restart: replays are idempotent
        observing = self._observing
        timing = self._timing
        started = self._clock() if timing else 0.0
        self._snapshot = None
        flow = self._flow

        # 1. commands and retries, the day boundary, then the venue's fills.
        if self._commands or flow.retrying or ts >= self._next_day_ts:
            self._before_bar(ts)
        fills = self._take_fills()
        if fills:
            self._apply_fills(fills, ts)

        # 2. market state, then the risk rules of this bar.
        st = self._symbols.get(symbol) or self._symbol(symbol)
        last_ts[symbol] = ts
        close = bar.close
        ind = st.ind
        ind.update(ts, bar.high, bar.low, close, bar.volume)
        regime = st.classifier.update(close, ind.atr)
        if regime is not st.regime:
            self._regime_changed(st, regime, ts)
        equity, position = self._pf.mark(symbol, close)
        allowed = self._risk.review(symbol, ts, prev_ts, equity)

        # 3. strategy: an exit for an open position, else perhaps an entry. Strategies are
        # pure and almost always say no, so they are asked before the desk counts its room.
        if position is not None:
            if st.exit_id is None:
                direction = 1 if position.qty > 0 else -1
                reason = self._strategies.of(position.strategy).exit_reason(close, ind, direction)
                if reason is not None:
                    self._desk.exit_at_market(st, position, reason, ts)
        elif allowed and fresh and st.entry_id is None:
            for strategy in self._active:
                decision = strategy.entry(close, ind, regime)
                if decision is not None:
                    if self._desk.room_for_entry():
                        self._desk.enter(strategy.name, decision, st, close, equity, ts)
                    break
        decided = self._clock() if timing else 0.0
        self._bars_processed += 1

        # 4. durable first; 5. then the venue (a rejection found now joins the next unit).
        if self._store is not None:
            self._commit(ts)
        if flow.busy:
            self._after_commit()
        # 6. tell the observers.
        if observing:
            self._announce(bar, regime, decided - started)

    # -- steps ----------------------------------------------------------------------------

    def _announce(self, bar: Bar, regime: Regime, seconds: float) -> None:
        """This bar's events to the observers, timed by a ``BarProcessed`` if they want it."""
        outbox = self._outbox
        if self._timing:
            outbox.append(BarProcessed(bar, regime, seconds))
        outbox.extend(self._news.since_last(self._risk, bar.ts))
        self._tell(outbox)

    def _symbol(self, symbol: str) -> SymbolState:
        st = SymbolState(symbol, self._params)
        self._symbols[symbol] = st
        return st

    def _symbol_of(self, symbol: str) -> SymbolState:
        return self._symbols.get(symbol) or self._symbol(symbol)

    def _newest_ts(self) -> int:
        """Open time of the newest bar processed: the engine's notion of now."""
        return max(self._last_ts.values(), default=0)

    def _before_bar(self, ts: int) -> None:
        """What waits for the next bar: commands, then retries, then a new UTC day."""
        commands = self._commands
        while commands:
            commands.popleft()()
        if self._flow.retrying:
            events = self._desk.retry()
            if self._observing:
                self._outbox.extend(events)
        if ts >= self._next_day_ts:
            day = ts // SECONDS_PER_DAY
            self._risk.start_day(day, self._pf.equity)
            self._next_day_ts = (day + 1) * SECONDS_PER_DAY

    def _apply_fills(self, fills: Sequence[Fill], ts: int) -> None:
        desk = self._desk
        outbox = self._outbox
        observing = self._observing
        for fill in fills:
            events = desk.apply_fill(fill, ts)
            if observing:
                outbox.extend(events)

    def _regime_changed(self, st: SymbolState, regime: Regime, ts: int) -> None:
        if self._observing:
            self._outbox.append(RegimeChanged(st.symbol, ts, st.regime, regime))
        st.regime = regime

    def _commit(self, ts: int) -> None:
        assert self._store is not None
        desk = self._desk
        self._store.commit(
            build_unit(
                ts,
                self._bars_processed,
                self._pf,
                self._risk,
                self._last_ts,
                self._flow.changed(),
                desk.unit_fills(),
                desk.unit_trades(),
                desk.unit_positions(),
            )
        )

    def _after_commit(self) -> None:
        desk = self._desk
        desk.clear_unit()
        events = desk.send()
        if self._observing:
            self._outbox.extend(events)

    def _tell(self, events: list[Event]) -> None:
        """Deliver ``events`` to every observer, then forget them."""
        if not events:
            return
        for observer in self._observers:
            for event in events:
                observer(event)
        events.clear()

    def _recover(self, recovered: RecoveredState) -> None:
        """Re-adopt the stored positions and live orders, and hand every order to the venue.

        Entries pending at the crash are re-submitted under their ids (the venue ignores one
        it already has), armed stops and targets likewise, so nothing is lost or doubled.
        """
        for position in recovered.positions:
            if position.qty != 0.0:
                self._pf.restore_position(position)
                self._symbol_of(position.symbol)
        for order in recovered.open_orders:
            if order.status is OrderStatus.PENDING:
                self._desk.adopt(order, self._symbol_of(order.symbol))
        self._desk.resubmit_all()
