"""Cash, positions, equity and PnL accounting.

Quantities are signed (a short position has a negative ``qty``), so one set of formulas serves
both directions: a fill moves ``cash`` by ``-signed_qty * price - fee`` and equity is always
``cash + sum(qty * last_price)``.

PnL conventions: ``realized_pnl`` is the sum of closed trades' PnL, each net of its entry and
exit fees; ``unrealized_pnl`` of an open position is its mark-to-market gain minus the entry
fee already paid. Hence ``equity == initial cash + realized_pnl + unrealized_pnl`` at all times,
and ``fees`` counts every fee paid so far, open positions included.
"""

from __future__ import annotations

from grodtd.core.models import Fill, OrderPurpose, Position, Side, Trade


class Portfolio:
    """The account: cash, open positions, their last prices, equity and PnL.

    Only fills change it (``open``, ``close``) and only bars move its marks (``mark``); the
    rest of the engine reads it through the methods below and never writes its fields.
    """

    __slots__ = (
        "_cash",
        "_equity",
        "_fees",
        "_last_prices",
        "_peak_equity",
        "_positions",
        "_realized_pnl",
    )

    def __init__(
        self, cash: float, realized_pnl: float = 0.0, fees: float = 0.0, peak_equity: float = 0.0
    ) -> None:
        self._cash = cash
        self._realized_pnl = realized_pnl
        self._fees = fees
        self._positions: dict[str, Position] = {}
        self._last_prices: dict[str, float] = {}
        self._equity = cash
        self._peak_equity = peak_equity if peak_equity > cash else cash

    # -- reading ---------------------------------------------------------------------------

    @property
    def cash(self) -> float:
        return self._cash

    @property
    def equity(self) -> float:
        return self._equity

    @property
    def realized_pnl(self) -> float:
        return self._realized_pnl

    @property
    def fees(self) -> float:
        return self._fees

    @property
    def peak_equity(self) -> float:
        return self._peak_equity

    @property
    def drawdown(self) -> float:
        """Fraction of the peak equity lost, 0..1."""
        peak = self._peak_equity
        if peak <= 0.0 or self._equity >= peak:
            return 0.0
        return (peak - self._equity) / peak

    def position(self, symbol: str) -> Position | None:
        """The open position in ``symbol``, if there is one."""
        return self._positions.get(symbol)

    def position_count(self) -> int:
        return len(self._positions)

    def positions(self) -> list[Position]:
        """Every open position, by symbol."""
        return [position for _, position in sorted(self._positions.items())]

    def last_price(self, position: Position) -> float:
        """The price ``position`` is marked at: its symbol's last price, else its entry."""
        return self._last_prices.get(position.symbol, position.avg_price)

    def last_prices(self) -> dict[str, float]:
        """A copy of every symbol's last price."""
        return dict(self._last_prices)

    def unrealized_of(self, position: Position) -> float:
        return (self.last_price(position) - position.avg_price) * position.qty - (
            position.entry_fees
        )

    @property
    def unrealized_pnl(self) -> float:
        return sum((self.unrealized_of(pos) for pos in self._positions.values()), 0.0)

    def short_exposure(self) -> float:
        """Cash it would take to buy back every short position at its stop, or at its last
        price if that is worse already: what a stop-out can take out of the account."""
        last = self._last_prices
        return sum(
            -p.qty * max(last[s], p.stop_price) for s, p in self._positions.items() if p.qty < 0.0
        )

    # -- what happened ---------------------------------------------------------------------

    def restore_position(self, position: Position) -> None:
        """A position read back from the store; marked at its entry until a bar arrives."""
        self._positions[position.symbol] = position
        self._last_prices.setdefault(position.symbol, position.avg_price)
        self._revalue()

    def mark(self, symbol: str, price: float) -> tuple[float, Position | None]:
        """Mark ``symbol`` at ``price``: the new equity (peak kept up to date) and the
        position held in ``symbol``, if any.

        Called for every bar, hence both answers at once: without positions equity is cash,
        which only fills change (and they revalue), so there is nothing to add up.
        """
        self._last_prices[symbol] = price
        positions = self._positions
        if not positions:
            return self._equity, None
        last = self._last_prices
        equity = self._cash
        for held, pos in positions.items():
            equity += pos.qty * last[held]
        self._equity = equity
        if equity > self._peak_equity:
            self._peak_equity = equity
        return equity, positions.get(symbol)

    def open(
        self, fill: Fill, strategy: str, stop_price: float, target_price: float, entry_order_id: str
    ) -> Position:
        signed = fill.qty if fill.side is Side.BUY else -fill.qty
        self._cash -= signed * fill.price + fill.fee
        self._fees += fill.fee
        position = Position(
            symbol=fill.symbol,
            qty=signed,
            avg_price=fill.price,
            opened_ts=fill.ts,
            strategy=strategy,
            stop_price=stop_price,
            target_price=target_price,
            entry_fees=fill.fee,
            entry_order_id=entry_order_id,
        )
        self._positions[fill.symbol] = position
        self._last_prices[fill.symbol] = fill.price
        self._revalue()
        return position

    def close(self, fill: Fill, exit_reason: OrderPurpose, exit_order_id: str) -> Trade:
        """Close the whole position in ``fill.symbol`` at the fill price.

        The broker fills whole orders and protective orders carry the position's full size,
        so an exit fill always flattens the position.
        """
        position = self._positions.pop(fill.symbol)
        qty = position.qty
        self._cash += qty * fill.price - fill.fee
        self._fees += fill.fee
        fees = position.entry_fees + fill.fee
        pnl = (fill.price - position.avg_price) * qty - fees
        self._realized_pnl += pnl
        self._last_prices[fill.symbol] = fill.price
        self._revalue()
        return Trade(
            symbol=fill.symbol,
            strategy=position.strategy,
            qty=abs(qty),
            entry_price=position.avg_price,
            exit_price=fill.price,
            entry_ts=position.opened_ts,
            exit_ts=fill.ts,
            fees=fees,
            pnl=pnl,
            exit_reason=exit_reason,
            entry_order_id=position.entry_order_id,
            exit_order_id=exit_order_id,
        )

    def _revalue(self) -> None:
        last = self._last_prices
        equity = self._cash
        for symbol, pos in self._positions.items():
            equity += pos.qty * last[symbol]
        self._equity = equity
        if equity > self._peak_equity:
            self._peak_equity = equity
