"""The desk: turns decisions into orders and fills into positions and trades.

It keeps what links orders to positions: the pending entries and the cash set aside for them,
the per-symbol ids of the live protective and exit orders, and this bar's fills, trades and
touched positions for the unit of work. The engine decides WHEN (the bar loop); the desk knows
HOW an entry, an exit or a fill changes the books. What to say about it, it returns as events.

It knows no strategy's rules: entries arrive as ``EntryDecision``s with their reason, exits
with the strategy's reason, and the levels that protect a filled entry come from the strategy
that opened it.
"""

from __future__ import annotations

from collections.abc import Callable

from grodtd.core.engine.orders import Dispatch, OrderFlow
from grodtd.core.engine.state import SymbolState
from grodtd.core.events import Event, OrderFilled, TradeClosed
from grodtd.core.models import (
    Fill,
    Order,
    OrderKind,
    OrderPurpose,
    OrderStatus,
    Position,
    Side,
    Trade,
)
from grodtd.core.portfolio import Portfolio
from grodtd.core.risk import RiskManager
from grodtd.core.strategy import EntryDecision, StrategyBook

_BUY = Side.BUY
_SELL = Side.SELL
_ENTRY = OrderPurpose.ENTRY


class Desk:
    """Places the engine's orders and books what the venue fills.

    ``record_trade`` receives every closed trade; the desk itself keeps only the current unit
    of work's trades, because a daemon that trades for months must not hold every trade it
    ever made (the store has them; a backtest passes a recorder to collect its run).
    """

    __slots__ = (
        "_fills",
        "_flow",
        "_max_open",
        "_pending",
        "_pf",
        "_record_trade",
        "_reserved",
        "_risk",
        "_states",
        "_strategies",
        "_touched",
        "_trades",
    )

    def __init__(
        self,
        flow: OrderFlow,
        portfolio: Portfolio,
        risk: RiskManager,
        strategies: StrategyBook,
        record_trade: Callable[[Trade], None] | None = None,
    ) -> None:
        self._flow = flow
        self._pf = portfolio
        self._risk = risk
        self._strategies = strategies
        self._record_trade = record_trade
        self._max_open = risk.max_open_positions
        # The state of every symbol the desk placed or adopted an order for: a fill or a
        # refusal names only the order, and this is where its symbol's links are.
        self._states: dict[str, SymbolState] = {}
        self._pending = 0
        # Cash set aside for pending long entries, so two entries cannot spend it twice.
        self._reserved = 0.0
        # This unit of work besides the orders (those live in the order flow).
        self._fills: list[Fill] = []
        self._trades: list[Trade] = []
        self._touched: list[Position] = []

    # -- reading ---------------------------------------------------------------------------

    def room_for_entry(self) -> bool:
        """True while open positions plus pending entries stay under the risk cap."""
        return self._pf.position_count() + self._pending < self._max_open

    def unit_fills(self) -> list[Fill]:
        return self._fills

    def unit_trades(self) -> list[Trade]:
        return self._trades

    def unit_positions(self) -> list[Position]:
        return self._touched

    def clear_unit(self) -> None:
        self._flow.clear_unit()
        self._fills.clear()
        self._trades.clear()
        self._touched.clear()

    # -- decisions -------------------------------------------------------------------------

    def enter(
        self,
        strategy: str,
        decision: EntryDecision,
        st: SymbolState,
        close: float,
        equity: float,
        ts: int,
    ) -> None:
        """Place the market order for ``decision``, sized by the risk manager (or nothing)."""
        pf = self._pf
        committed = self._reserved
        if self._strategies.shorts_allowed:
            committed += pf.short_exposure()
        direction = decision.direction
        stop = decision.stop
        qty = self._risk.size(equity, pf.cash, committed, close, abs(close - stop), direction)
        if qty <= 0.0:
            return
        order = Order(
            client_order_id=f"{strategy}-{st.symbol}-{ts}-entry",
            symbol=st.symbol,
            side=_BUY if direction > 0 else _SELL,
            kind=OrderKind.MARKET,
            purpose=_ENTRY,
            qty=qty,
            created_ts=ts,
            strategy=strategy,
            stop_price=stop,
            target_price=decision.target,
            reason=decision.reason,
        )
        st.entry_id = order.client_order_id
        st.reserved = _reservation(order, close)
        self._reserved += st.reserved
        self._pending += 1
        self._states[st.symbol] = st
        self._flow.add(order)

    def exit_at_market(
        self,
        st: SymbolState,
        position: Position,
        reason: str,
        ts: int,
        purpose: OrderPurpose = OrderPurpose.TREND_BREAK,
    ) -> None:
        """Close ``position`` at market for ``reason``; its protective orders are cancelled."""
        flow = self._flow
        flow.cancel(st.stop_id)
        flow.cancel(st.target_id)
        st.stop_id = st.target_id = None
        long = position.qty > 0
        order = Order(
            client_order_id=f"{position.strategy}-{st.symbol}-{ts}-{purpose.value}",
            symbol=st.symbol,
            side=_SELL if long else _BUY,
            kind=OrderKind.MARKET,
            purpose=purpose,
            qty=abs(position.qty),
            created_ts=ts,
            strategy=position.strategy,
            reason=reason,
        )
        st.exit_id = order.client_order_id
        self._states[st.symbol] = st
        flow.add(order)

    # -- the venue's answers ---------------------------------------------------------------

    def apply_fill(self, fill: Fill, ts: int) -> list[Event]:
        """Book one fill: an entry opens a position and arms its protection, an exit closes
        the trade and cancels the siblings. ``ts`` is the engine's time (new orders' time)."""
        filled = self._flow.settle(fill.client_order_id, OrderStatus.FILLED)
        if filled is None:
            return []  # not ours or already settled: never account a fill twice
        st = self._states[filled.symbol]
        self._fills.append(fill)
        direction = 1 if fill.side is _BUY else -1
        self._risk.fill_slippage(fill.symbol, fill.price, fill.slippage, direction)
        events: list[Event] = [OrderFilled(filled, fill)]
        if filled.purpose is _ENTRY:
            self._entry_filled(st, filled, fill, direction, ts)
            return events
        position = self._pf.position(fill.symbol)
        if position is None:
            return events
        trade = self._pf.close(fill, filled.purpose, filled.client_order_id)
        self._trades.append(trade)
        self._touched.append(position.flattened())
        for sibling in (st.stop_id, st.target_id, st.exit_id):
            if sibling is not None and sibling != filled.client_order_id:
                self._flow.cancel(sibling)
        st.stop_id = st.target_id = st.exit_id = None
        self._risk.trade_closed(trade.pnl, fill.ts)
        if self._record_trade is not None:
            self._record_trade(trade)
        events.append(TradeClosed(trade))
        return events

    def send(self) -> list[Event]:
        """Hand this bar's new orders and cancels to the venue (after the commit)."""
        return self._released(self._flow.send())

    def retry(self) -> list[Event]:
        """Hand the venue again what it refused or failed to cancel (before the next bar)."""
        return self._released(self._flow.retry())

    def _released(self, dispatch: Dispatch) -> list[Event]:
        for order in dispatch.refused_entries:
            self._entry_released(order)
        return dispatch.events

    def _entry_released(self, order: Order) -> None:
        """An entry that will never fill (refused by the venue): free what it held."""
        st = self._states[order.symbol]
        if st.entry_id == order.client_order_id:
            st.entry_id = None
            self._pending -= 1
            self._reserved -= st.reserved
            st.reserved = 0.0

    def _entry_filled(
        self, st: SymbolState, order: Order, fill: Fill, direction: int, ts: int
    ) -> None:
        st.entry_id = None
        self._pending -= 1
        self._reserved -= st.reserved
        st.reserved = 0.0
        strategy = self._strategies.of(order.strategy)
        # Re-anchored on the actual fill so a slipped entry keeps the 1 R it was sized for.
        stop, target = strategy.levels_on_fill(order, fill.price, direction, st.ind.atr)
        position = self._pf.open(fill, order.strategy, stop, target, order.client_order_id)
        self._touched.append(position)
        exit_side = _SELL if direction > 0 else _BUY
        prefix = f"{order.strategy}-{st.symbol}-{ts}-"
        for kind, purpose, price in (
            (OrderKind.STOP, OrderPurpose.STOP, stop),
            (OrderKind.LIMIT, OrderPurpose.TARGET, target),
        ):
            protective = Order(
                client_order_id=prefix + purpose.value,
                symbol=st.symbol,
                side=exit_side,
                kind=kind,
                purpose=purpose,
                qty=fill.qty,
                created_ts=ts,
                strategy=order.strategy,
                price=price,
                reason=f"protects {order.client_order_id}",
            )
            self._flow.add(protective)
            if purpose is OrderPurpose.STOP:
                st.stop_id = protective.client_order_id
            else:
                st.target_id = protective.client_order_id

    # -- after a restart -------------------------------------------------------------------

    def adopt(self, order: Order, st: SymbolState) -> None:
        """Re-adopt a pending order read back from the store, linked to its symbol again."""
        self._states[st.symbol] = st
        self._flow.adopt(order)
        if order.purpose is _ENTRY:
            st.entry_id = order.client_order_id
            self._pending += 1
            if order.stop_price is not None:
                sized_at = self._strategies.of(order.strategy).sizing_price(order)
                st.reserved = _reservation(order, sized_at)
                self._reserved += st.reserved
        elif order.purpose is OrderPurpose.STOP:
            st.stop_id = order.client_order_id
        elif order.purpose is OrderPurpose.TARGET:
            st.target_id = order.client_order_id
        else:
            st.exit_id = order.client_order_id

    def resubmit_all(self) -> None:
        """Hand every adopted order to the venue again: it ignores the ones it already has.

        Nothing is announced (as before the first bar nothing is); broker errors here count
        like any other and their kill switch is reported with the first bar.
        """
        self._released(self._flow.resubmit_all())


def _reservation(entry: Order, sized_at: float) -> float:
    """Cash a pending ``entry`` sized at ``sized_at`` sets aside until it fills or is refused.

    A long pays its notional. A short brings its proceeds in and owes as much back, so what
    it can cost the account is the move to its stop: without that, a long could spend the
    cash a short's stop-out buys back with (``Portfolio.short_exposure`` counts the same
    once the short is held).
    """
    if entry.side is _BUY:
        return entry.qty * sized_at
    assert entry.stop_price is not None
    return entry.qty * max(entry.stop_price - sized_at, 0.0)
