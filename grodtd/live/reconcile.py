"""Live trading: the store and the exchange are made to agree, at start-up and on a schedule.

Each reconciliation, on the engine's thread between bars (so no bar is half-processed):

1. the broker compares the exchange's open orders and the account's trades since the oldest
   open order (or the previous run) with what it knows (``live_reconcile``): fills it never
   reported (made while the daemon was down, or whose answer was lost) are queued, orders
   under client ids GRODT never sent are reported;
2. the engine books the queued fills at once (``Engine.settle_fills``), not with the next bar;
3. the account's balance of each traded coin is compared with the engine's position in it
   (plus what the operator holds outside GRODT: ``broker.held_outside``). A difference larger
   than what the venue would let us sell (``LiveBroker.dust``) that no order in flight
   explains trips the ``account_mismatch`` kill switch, which says what differs: no entry is
   made until a later reconciliation finds the two agreeing again. A symbol with an order in
   flight is judged at the next run.

An exchange that does not answer is not fatal: the run is counted as failed, the kill switch
keeps its last verdict, and the next run tries again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from grodtd.adapters.brokers.live import LiveBroker
from grodtd.adapters.brokers.live_reconcile import ReconcileReport
from grodtd.adapters.brokers.rails import NotionalRails
from grodtd.core.models import SECONDS_PER_DAY, Fill, Order, OrderPurpose
from grodtd.core.ports import BrokerError, StoreReader
from grodtd.core.snapshot import EngineSnapshot
from grodtd.ops.reconcile_metrics import OUTCOMES

log = structlog.stdlib.get_logger("grodtd.live.reconcile")

# How far back the first reconciliation looks when no order was open at the stop.
_RECONCILE_LOOKBACK_MS = 3_600_000
# Trades are looked for this much before the previous run started (clock skew, slow answers).
_OVERLAP_MS = 60_000
# An entry's client order id ends with its purpose (``Desk``: strategy-symbol-ts-purpose).
_ENTRY_SUFFIX = f"-{OrderPurpose.ENTRY.value}"
# How many of the store's newest orders and fills a reconciliation reads.
_RECENT = 2_000


class ReconciledEngine(Protocol):
    """What the reconciliation needs of ``grodtd.core.engine.Engine``."""

    @property
    def open_orders(self) -> tuple[Order, ...]: ...
    def snapshot(self) -> EngineSnapshot: ...
    def settle_fills(self) -> None: ...
    def report_account_mismatch(self, detail: str | None) -> None: ...


@dataclass
class ReconcileStatus:
    """What the reconciliations found so far; the metrics read it (``ops.reconcile_metrics``)."""

    runs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    missed_fills: int = 0
    foreign_orders: int = 0
    mismatch: str | None = None
    last_success: float | None = None


class Reconciler:
    """Runs the reconciliation; ``run`` is the scheduled chore (``interval_s``)."""

    def __init__(
        self,
        broker: LiveBroker,
        store: StoreReader,
        engine: ReconciledEngine,
        *,
        interval_s: float,
        held_outside: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._broker = broker
        self._store = store
        self._engine = engine
        self.interval_s = interval_s
        self._held_outside = dict(held_outside or {})
        self._clock = clock
        self.status = ReconcileStatus()
        self._previous_ms: int | None = None
        self._reported_foreign: set[str] = set()

    def at_start(self) -> None:
        """The first reconciliation, before the first bar: what happened while we were away."""
        self._count_leftovers()
        self._reconcile(while_down=True)

    def _count_leftovers(self) -> None:
        """The dust earlier exits left on the account, from the store's exits and their
        fills (the stored order keeps the engine's quantity, the fill what executed)."""
        executed = {f.client_order_id: f.qty for f in self._store.list_fills(_RECENT, 0).items}
        for order in self._store.list_orders(_RECENT, 0).items:
            if order.purpose is not OrderPurpose.ENTRY and order.client_order_id in executed:
                self._broker.left_behind(order.symbol, order.qty, executed[order.client_order_id])

    def run(self) -> None:
        """A scheduled reconciliation (call it on the engine's thread, between bars)."""
        self._reconcile(while_down=False)

    # -- one run -----------------------------------------------------------------------------

    def _since_ms(self, now_ms: int) -> int:
        """Where the trades are looked for: the oldest open order, the previous run (a little
        before it) or, the first time, an hour back; in the exchange's time, which is also
        the bars' and so the orders' time."""
        opened = [o.created_ts * 1000 for o in self._engine.open_orders]
        previous = self._previous_ms
        start = previous - _OVERLAP_MS if previous is not None else now_ms - _RECONCILE_LOOKBACK_MS
        return min([start, *opened])

    def _reconcile(self, *, while_down: bool) -> None:
        open_ids = {o.client_order_id for o in self._engine.open_orders}
        try:
            now_ms = self._broker.exchange_time_ms()
            since_ms = self._since_ms(now_ms)
            known = _recent_order_ids(self._store)
            report = self._broker.reconcile(since_ms, known=known)
            # At start-up, the recovered orders' look-ups (the engine re-submits them) have
            # queued what filled while the daemon was down too; later, only what this run found.
            found = self._broker.pending_fills() if while_down else report.missed_fills
            self._engine.settle_fills()  # what was found is booked now, not with the next bar
            balances = self._broker.balances()
        except BrokerError as exc:
            self.status.runs["failed"] += 1
            log.warning("reconciliation failed; tried again later", error=str(exc))
            return
        self._previous_ms = now_ms
        missed = [f for f in found if f.client_order_id in open_ids]
        self._tell(report, missed, while_down=while_down)
        mismatch = self._compare(balances, self._engine.snapshot())
        self.status.mismatch = mismatch
        self.status.last_success = self._clock()
        self.status.runs["mismatch" if mismatch else "clean"] += 1
        self._engine.report_account_mismatch(mismatch)
        # A clean scheduled run is routine: logged at debug, so a day is not 1,440 lines.
        say = log.warning if mismatch or missed else log.info if while_down else log.debug
        say(
            "reconciled with the exchange",
            clean=mismatch is None and not missed and not report.foreign_orders,
            missed_fills=len(missed),
            foreign_orders=len(report.foreign_orders),
            still_open=len(report.still_open),
            mismatch=mismatch,
        )

    def _tell(self, report: ReconcileReport, missed: Sequence[Fill], *, while_down: bool) -> None:
        """Log and count what the exchange did that the store had not heard of."""
        event = (
            "fill made while the daemon was down" if while_down else "fill found by reconciliation"
        )
        for fill in missed:
            self.status.missed_fills += 1
            log.warning(
                event,
                client_order_id=fill.client_order_id,
                symbol=fill.symbol,
                side=fill.side.value,
                qty=fill.qty,
                price=fill.price,
            )
        for foreign in report.foreign_orders:
            if foreign.exchange_order_id in self._reported_foreign:
                continue
            self._reported_foreign.add(foreign.exchange_order_id)
            self.status.foreign_orders += 1
            log.warning(
                "order on the exchange that GRODT never sent",
                symbol=foreign.symbol,
                exchange_order_id=foreign.exchange_order_id,
                client_id=foreign.client_id,
                side=foreign.side,
                status=foreign.status,
                qty=foreign.qty,
                filled=foreign.filled,
            )

    def _compare(self, balances: Mapping[str, float], snapshot: EngineSnapshot) -> str | None:
        """What differs between the account and the positions, or None if they agree."""
        positions = {pv.position.symbol: pv.position.qty for pv in snapshot.positions}
        pending: dict[str, float] = {}
        for fill in self._broker.pending_fills():
            signed = fill.qty if fill.side.value == "buy" else -fill.qty
            pending[fill.symbol] = pending.get(fill.symbol, 0.0) + signed
        differences = []
        for symbol in self._broker.symbols:
            if self._broker.in_flight(symbol):
                continue  # an order's outcome is not settled: judged at the next run
            base, _ = self._broker.venue.currencies(symbol)
            expected = (
                positions.get(symbol, 0.0)
                + pending.get(symbol, 0.0)
                + self._broker.leftover.get(symbol, 0.0)
            )
            held = balances.get(base, 0.0) - self._held_outside.get(base, 0.0)
            tolerance = self._broker.dust(symbol, self._broker.last_close(symbol)) + 1e-9
            if abs(held - expected) > tolerance:
                differences.append(
                    f"{symbol}: the exchange holds {held:.8g} {base} for GRODT, "
                    f"its positions {expected:.8g}"
                )
        if not differences:
            return None
        return (
            "; ".join(differences)
            + ": an order or transfer the store does not know of; settle the account (or "
            "set broker.held_outside), entries resume once the next reconciliation agrees"
        )


def _recent_order_ids(store: StoreReader, limit: int = _RECENT) -> list[str]:
    """The client ids of the store's newest orders: the ones an exchange order may belong to
    (an id the broker does not recognise is reported as foreign, so more is harmless)."""
    return [o.client_order_id for o in store.list_orders(limit, 0).items]


def restore_rails(rails: NotionalRails, store: StoreReader, now_s: float | None = None) -> None:
    """Count today's entry fills from the store towards the daily notional cap, so that a
    restart does not hand the day a fresh allowance."""
    now = time.time() if now_s is None else now_s
    day_start = int(now // SECONDS_PER_DAY) * SECONDS_PER_DAY
    offset, page = 0, 500
    while True:
        fills = store.list_fills(page, offset).items
        for fill in fills:
            if fill.ts >= day_start and fill.client_order_id.endswith(_ENTRY_SUFFIX):
                rails.bought(fill.qty * fill.price, fill.ts)
        if len(fills) < page or fills[-1].ts < day_start:
            return
        offset += page
