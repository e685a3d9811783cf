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
    __slots__ = (
        "cash",
        "equity",
        "fees",
        "last_prices",
        "peak_equity",
        "positions",
        "realized_pnl",
    )

    def __init__(
        self, cash: float, realized_pnl: float = 0.0, fees: float = 0.0, peak_equity: float = 0.0
    ) -> None:
        self.cash = cash
        self.realized_pnl = realized_pnl
        self.fees = fees
        self.positions: dict[str, Position] = {}
        self.last_prices: dict[str, float] = {}
        self.equity = cash
        self.peak_equity = peak_equity if peak_equity > cash else cash

    def restore_position(self, position: Position) -> None:
        """A position read back from the store; marked at its entry until a bar arrives."""
        self.positions[position.symbol] = position
        self.last_prices.setdefault(position.symbol, position.avg_price)
        self.revalue()

    def mark(self, symbol: str, price: float) -> float:
        """Record ``symbol``'s last price and return the new equity (peak kept up to date)."""
        self.last_prices[symbol] = price
        if self.positions:
            self.revalue()
        else:
            self.equity = self.cash
            if self.cash > self.peak_equity:
                self.peak_equity = self.cash
        return self.equity

    def revalue(self) -> float:
        last = self.last_prices
        equity = self.cash
        for symbol, pos in self.positions.items():
            equity += pos.qty * last[symbol]
        self.equity = equity
        if equity > self.peak_equity:
            self.peak_equity = equity
        return equity

    @property
    def drawdown(self) -> float:
        """Fraction of the peak equity lost, 0..1."""
        peak = self.peak_equity
        if peak <= 0.0 or self.equity >= peak:
            return 0.0
        return (peak - self.equity) / peak

    def unrealized_of(self, position: Position) -> float:
        last = self.last_prices.get(position.symbol, position.avg_price)
        return (last - position.avg_price) * position.qty - position.entry_fees

    @property
    def unrealized_pnl(self) -> float:
        return sum((self.unrealized_of(pos) for pos in self.positions.values()), 0.0)

    def open(
        self, fill: Fill, strategy: str, stop_price: float, target_price: float, entry_order_id: str
    ) -> Position:
        signed = fill.qty if fill.side is Side.BUY else -fill.qty
        self.cash -= signed * fill.price + fill.fee
        self.fees += fill.fee
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
        self.positions[fill.symbol] = position
        self.last_prices[fill.symbol] = fill.price
        self.revalue()
        return position

    def close(self, fill: Fill, exit_reason: OrderPurpose, exit_order_id: str) -> Trade:
        """Close the whole position in ``fill.symbol`` at the fill price.

        The broker fills whole orders and protective orders carry the position's full size,
        so an exit fill always flattens the position.
        """
        position = self.positions.pop(fill.symbol)
        qty = position.qty
        self.cash += qty * fill.price - fill.fee
        self.fees += fill.fee
        fees = position.entry_fees + fill.fee
        pnl = (fill.price - position.avg_price) * qty - fees
        self.realized_pnl += pnl
        self.last_prices[fill.symbol] = fill.price
        self.revalue()
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
