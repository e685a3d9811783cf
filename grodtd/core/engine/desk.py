"""The desk: turns decisions into orders and fills into positions and trades.

It keeps what links orders to positions: the pending entries and the cash set aside for them,
the per-symbol ids of the live protective and exit orders, and this bar's fills, trades and
touched positions for the unit of work. The engine decides WHEN (the bar loop); the desk knows
HOW an entry, an exit or a fill changes the books.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from grodtd.core.engine.orders import OrderFlow
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
from grodtd.core.ports import RecoveredState
from grodtd.core.risk import RiskManager
from grodtd.core.strategy import Strategy, stop_distance_of

_BUY = Side.BUY
_SELL = Side.SELL
_ENTRY = OrderPurpose.ENTRY


class Desk:
    __slots__ = (
        "_by_name",
        "_default",
        "_events",
        "_pf",
        "_risk",
        "_shorts_allowed",
        "_symbol_of",
        "fills",
        "flow",
        "pending_entries",
        "reserved_cash",
        "touched",
        "trades",
        "unit_trades",
    )

    def __init__(
        self,
        flow: OrderFlow,
        portfolio: Portfolio,
        risk: RiskManager,
        strategies: Mapping[str, Strategy],
        default: Strategy,
        symbol_of: Callable[[str], SymbolState],
        events: list[Event],
    ) -> None:
        self.flow = flow
        self._pf = portfolio
        self._risk = risk
        self._by_name = strategies
        # Orders of a strategy no longer configured are still managed, with the first one's
        # parameters, rather than dropped.
        self._default = default
        self._shorts_allowed = any(s.params.allow_short for s in strategies.values())
        self._symbol_of = symbol_of
        self._events = events
        self.pending_entries = 0
        # Cash set aside for pending long entries, so two entries cannot spend it twice.
        self.reserved_cash = 0.0
        self.trades: list[Trade] = []
        # This bar's unit of work besides the orders (those live in the order flow).
        self.fills: list[Fill] = []
        self.unit_trades: list[Trade] = []
        self.touched: list[Position] = []

    def clear_unit(self) -> None:
        self.flow.changed.clear()
        self.fills.clear()
        self.unit_trades.clear()
        self.touched.clear()

    def enter(
        self,
        strategy: Strategy,
        st: SymbolState,
        direction: int,
        close: float,
        equity: float,
        ts: int,
    ) -> None:
        stop, target = strategy.protective_levels(close, st.ind.atr, direction)
        pf = self._pf
        committed = self.reserved_cash
        if self._shorts_allowed:
            committed += sum(
                -p.qty * pf.last_prices[s] for s, p in pf.positions.items() if p.qty < 0.0
            )
        qty = self._risk.size(equity, pf.cash, committed, close, abs(close - stop), direction)
        if qty <= 0.0:
            return
        order = Order(
            client_order_id=f"{strategy.name}-{st.symbol}-{ts}-entry",
            symbol=st.symbol,
            side=_BUY if direction > 0 else _SELL,
            kind=OrderKind.MARKET,
            purpose=_ENTRY,
            qty=qty,
            created_ts=ts,
            strategy=strategy.name,
            stop_price=stop,
            target_price=target,
            reason=f"trend entry in {st.regime.value}",
        )
        st.entry_id = order.client_order_id
        st.reserved = qty * close if direction > 0 else 0.0
        self.reserved_cash += st.reserved
        self.pending_entries += 1
        self.flow.add(order)

    def entry_released(self, order: Order) -> None:
        """An entry that will never fill (refused by the broker): free what it held."""
        st = self._symbol_of(order.symbol)
        if st.entry_id == order.client_order_id:
            st.entry_id = None
            self.pending_entries -= 1
            self.reserved_cash -= st.reserved
            st.reserved = 0.0

    def exit_at_market(self, st: SymbolState, position: Position, ts: int) -> None:
        self.flow.cancel(st.stop_id)
        self.flow.cancel(st.target_id)
        st.stop_id = st.target_id = None
        long = position.qty > 0
        order = Order(
            client_order_id=f"{position.strategy}-{st.symbol}-{ts}-trend_break",
            symbol=st.symbol,
            side=_SELL if long else _BUY,
            kind=OrderKind.MARKET,
            purpose=OrderPurpose.TREND_BREAK,
            qty=abs(position.qty),
            created_ts=ts,
            strategy=position.strategy,
            reason="trend break: close beyond EMA fast and VWAP",
        )
        st.exit_id = order.client_order_id
        self.flow.add(order)

    def apply_fill(self, fill: Fill, ts: int, observing: bool) -> None:
        filled = self.flow.settle(fill.client_order_id, OrderStatus.FILLED)
        if filled is None:
            return  # not ours or already settled: never account a fill twice
        st = self._symbol_of(filled.symbol)
        self.fills.append(fill)
        direction = 1 if fill.side is _BUY else -1
        self._risk.fill_slippage(fill.symbol, fill.price, fill.slippage, direction)
        if observing:
            self._events.append(OrderFilled(filled, fill))
        if filled.purpose is _ENTRY:
            self._entry_filled(st, filled, fill, direction, ts)
            return
        position = self._pf.positions.get(fill.symbol)
        if position is None:
            return
        trade = self._pf.close(fill, filled.purpose, filled.client_order_id)
        self.unit_trades.append(trade)
        self.touched.append(replace(position, qty=0.0))
        for sibling in (st.stop_id, st.target_id, st.exit_id):
            if sibling is not None and sibling != filled.client_order_id:
                self.flow.cancel(sibling)
        st.stop_id = st.target_id = st.exit_id = None
        self._risk.trade_closed(trade.pnl, fill.ts)
        self.trades.append(trade)
        if observing:
            self._events.append(TradeClosed(trade))

    def _entry_filled(
        self, st: SymbolState, order: Order, fill: Fill, direction: int, ts: int
    ) -> None:
        st.entry_id = None
        self.pending_entries -= 1
        self.reserved_cash -= st.reserved
        st.reserved = 0.0
        params = self._by_name.get(order.strategy, self._default).params
        r_multiple = params.target_r_multiple
        if order.stop_price is not None and order.target_price is not None:
            distance = stop_distance_of(order.stop_price, order.target_price, r_multiple)
        else:
            distance = params.stop_atr_multiple * st.ind.atr
        # Re-anchored on the actual fill so a slipped entry keeps the 1 R it was sized for.
        stop = fill.price - direction * distance
        target = fill.price + direction * r_multiple * distance
        position = self._pf.open(fill, order.strategy, stop, target, order.client_order_id)
        self.touched.append(position)
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
            self.flow.add(protective)
            if purpose is OrderPurpose.STOP:
                st.stop_id = protective.client_order_id
            else:
                st.target_id = protective.client_order_id

    def recover(self, recovered: RecoveredState) -> None:
        """Re-adopt the stored positions and live orders, and hand every order to the broker.

        Entries pending at the crash are re-submitted under their ids (the broker ignores one
        it already has), armed stops and targets likewise, so nothing is lost or doubled.
        Broker errors here count like any other and are reported with the first bar.
        """
        for position in recovered.positions:
            if position.qty != 0.0:
                self._pf.restore_position(position)
                self._symbol_of(position.symbol)
        for order in recovered.open_orders:
            if order.status is not OrderStatus.PENDING:
                continue
            st = self._symbol_of(order.symbol)
            self.flow.adopt(order)
            if order.purpose is _ENTRY:
                st.entry_id = order.client_order_id
                self.pending_entries += 1
                if order.side is _BUY and order.stop_price is not None:
                    st.reserved = order.qty * self._reference_price(order)
                    self.reserved_cash += st.reserved
            elif order.purpose is OrderPurpose.STOP:
                st.stop_id = order.client_order_id
            elif order.purpose is OrderPurpose.TARGET:
                st.target_id = order.client_order_id
            else:
                st.exit_id = order.client_order_id
        for order in self.flow.resubmit_all():
            self.entry_released(order)

    def _reference_price(self, order: Order) -> float:
        """The close an entry was sized at, recovered from its protective levels."""
        assert order.stop_price is not None and order.target_price is not None
        strategy = self._by_name.get(order.strategy, self._default)
        distance = stop_distance_of(
            order.stop_price, order.target_price, strategy.params.target_r_multiple
        )
        return order.stop_price + (distance if order.side is _BUY else -distance)
