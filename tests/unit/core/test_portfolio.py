"""The portfolio's accounting through its methods: marks, opens, closes, exposure."""

from __future__ import annotations

import pytest

from grodtd.core.models import Fill, OrderPurpose, Side
from grodtd.core.portfolio import Portfolio


def fill(symbol: str, side: Side, qty: float, price: float, fee: float = 0.0) -> Fill:
    return Fill(f"{symbol}-{side.value}", symbol, side, qty, price, fee, ts=60)


def test_marking_returns_equity_and_the_position_held_there() -> None:
    pf = Portfolio(10_000.0)
    assert pf.mark("BTC-USD", 100.0) == (10_000.0, None)
    position = pf.open(fill("BTC-USD", Side.BUY, 10.0, 100.0, fee=1.0), "s1", 95.0, 110.0, "e")
    equity, held = pf.mark("BTC-USD", 102.0)
    assert held == position
    assert equity == pytest.approx(10_000.0 - 1.0 + 20.0)
    assert pf.mark("ETH-USD", 5.0) == (equity, None)  # another symbol's mark: not held there
    assert pf.peak_equity == pytest.approx(equity)
    pf.mark("BTC-USD", 90.0)
    assert pf.drawdown == pytest.approx((equity - pf.equity) / equity)


def test_closing_books_the_trade_net_of_both_fees() -> None:
    pf = Portfolio(10_000.0)
    pf.open(fill("BTC-USD", Side.BUY, 10.0, 100.0, fee=1.0), "s1", 95.0, 110.0, "e")
    trade = pf.close(fill("BTC-USD", Side.SELL, 10.0, 110.0, fee=1.1), OrderPurpose.TARGET, "t")
    assert trade.pnl == pytest.approx(100.0 - 2.1)
    assert pf.realized_pnl == pytest.approx(trade.pnl) and pf.fees == pytest.approx(2.1)
    assert pf.cash == pytest.approx(10_000.0 + trade.pnl) and pf.position_count() == 0


def test_short_exposure_is_what_buying_back_every_short_costs() -> None:
    pf = Portfolio(10_000.0)
    pf.open(fill("ETH-USD", Side.SELL, 2.0, 50.0), "s1", 55.0, 45.0, "e1")
    pf.open(fill("BTC-USD", Side.BUY, 1.0, 100.0), "s1", 95.0, 110.0, "e2")
    pf.mark("ETH-USD", 60.0)
    assert pf.short_exposure() == pytest.approx(120.0)
    assert [p.symbol for p in pf.positions()] == ["BTC-USD", "ETH-USD"]
    (eth,) = [p for p in pf.positions() if p.qty < 0]
    assert pf.last_price(eth) == 60.0 and pf.unrealized_of(eth) == pytest.approx(-20.0)
