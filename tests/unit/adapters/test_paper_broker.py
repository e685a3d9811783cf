"""The paper broker: fill prices, fees, slippage, stops, targets, OCO and idempotency."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grodtd.adapters.brokers.paper import PaperBroker, PaperBrokerParams
from grodtd.core.models import Bar, Fill, Order, OrderKind, OrderPurpose, Side
from grodtd.core.ports import BrokerError, SimulatedBroker

T0 = 1_767_225_600


def bar(ts: int, o: float, h: float, low: float, c: float, symbol: str = "BTC-USD") -> Bar:
    return Bar(symbol, ts, o, h, low, c, 10.0)


def shown(broker: SimulatedBroker, b: Bar) -> list[Fill]:
    """Show the venue one bar, then take the fills it reported, as the engine does."""
    broker.on_bar(b)
    return list(broker.take_fills())


def order(
    oid: str,
    side: Side = Side.BUY,
    kind: OrderKind = OrderKind.MARKET,
    purpose: OrderPurpose = OrderPurpose.ENTRY,
    *,
    qty: float = 2.0,
    price: float | None = None,
    created_ts: int = T0,
    symbol: str = "BTC-USD",
) -> Order:
    return Order(
        client_order_id=oid,
        symbol=symbol,
        side=side,
        kind=kind,
        purpose=purpose,
        qty=qty,
        created_ts=created_ts,
        strategy="s1_trend",
        price=price,
    )


def stop_sell(oid: str, price: float, *, qty: float = 2.0, symbol: str = "BTC-USD") -> Order:
    kind, purpose = OrderKind.STOP, OrderPurpose.STOP
    return order(oid, Side.SELL, kind, purpose, price=price, qty=qty, symbol=symbol)


def target_sell(oid: str, price: float, *, qty: float = 2.0, symbol: str = "BTC-USD") -> Order:
    kind, purpose = OrderKind.LIMIT, OrderPurpose.TARGET
    return order(oid, Side.SELL, kind, purpose, price=price, qty=qty, symbol=symbol)


def test_market_buy_fills_at_the_next_open_plus_slippage_and_pays_the_fee() -> None:
    broker = PaperBroker(PaperBrokerParams(fee_bps=10.0, slippage_bps=5.0))
    broker.submit(order("e1", qty=2.0))
    fills = shown(broker, bar(T0 + 60, 100.0, 101.0, 99.0, 100.5))

    assert len(fills) == 1
    fill = fills[0]
    assert fill.price == pytest.approx(100.05)  # 100 x (1 + 5 bps)
    assert fill.fee == pytest.approx(100.05 * 2.0 * 0.001)
    assert fill.slippage == pytest.approx(0.05)
    assert (fill.client_order_id, fill.side, fill.qty, fill.ts) == ("e1", Side.BUY, 2.0, T0 + 60)
    assert broker.open_orders() == []
    assert broker.is_filled("e1")


def test_market_sell_receives_less_than_the_open() -> None:
    broker = PaperBroker(PaperBrokerParams(fee_bps=0.0, slippage_bps=20.0))
    broker.submit(order("x1", Side.SELL, purpose=OrderPurpose.TREND_BREAK, qty=1.0))
    (fill,) = shown(broker, bar(T0 + 60, 200.0, 201.0, 199.0, 200.0))
    assert fill.price == pytest.approx(199.6)
    assert fill.fee == 0.0
    assert fill.slippage == pytest.approx(0.4)


def test_no_fill_on_the_bar_the_order_was_created_on() -> None:
    broker = PaperBroker()
    broker.submit(order("e1", created_ts=T0 + 60))
    assert shown(broker, bar(T0 + 60, 100.0, 101.0, 99.0, 100.0)) == []
    assert shown(broker, bar(T0 + 120, 100.0, 101.0, 99.0, 100.0))[0].client_order_id == "e1"


def test_orders_only_fill_on_their_own_symbol() -> None:
    broker = PaperBroker()
    broker.submit(order("e1", symbol="ETH-USD"))
    assert shown(broker, bar(T0 + 60, 100.0, 101.0, 99.0, 100.0, symbol="BTC-USD")) == []
    assert len(shown(broker, bar(T0 + 60, 3000.0, 3001.0, 2999.0, 3000.0, "ETH-USD"))) == 1


def test_stop_sell_fills_at_its_price_minus_slippage_when_touched() -> None:
    broker = PaperBroker(PaperBrokerParams(fee_bps=10.0, slippage_bps=10.0))
    broker.submit(stop_sell("s1", 95.0))
    assert shown(broker, bar(T0 + 60, 100.0, 101.0, 95.01, 96.0)) == []  # not touched
    (fill,) = shown(broker, bar(T0 + 120, 96.0, 97.0, 94.0, 94.5))
    assert fill.price == pytest.approx(95.0 * 0.999)
    assert fill.slippage == pytest.approx(95.0 - 95.0 * 0.999)
    assert fill.fee == pytest.approx(95.0 * 0.999 * 2.0 * 0.001)


def test_gap_through_a_stop_fills_at_the_open() -> None:
    broker = PaperBroker(PaperBrokerParams(fee_bps=0.0, slippage_bps=10.0))
    broker.submit(stop_sell("s1", 95.0))
    (fill,) = shown(broker, bar(T0 + 60, 90.0, 92.0, 89.0, 91.0))
    assert fill.price == pytest.approx(90.0 * 0.999)
    # The gap is adverse slippage against the stop price: the kill switch must see it.
    assert fill.slippage == pytest.approx(95.0 - 90.0 * 0.999)


def test_target_fills_at_its_price_or_the_better_open_without_slippage() -> None:
    broker = PaperBroker(PaperBrokerParams(fee_bps=10.0, slippage_bps=10.0))
    broker.submit(target_sell("t1", 110.0, qty=1.0))
    broker.submit(target_sell("t2", 110.0, qty=1.0, symbol="ETH-USD"))
    (touched,) = shown(broker, bar(T0 + 60, 105.0, 111.0, 104.0, 108.0))
    (gapped,) = shown(broker, bar(T0 + 60, 115.0, 116.0, 114.0, 115.0, symbol="ETH-USD"))
    assert touched.price == pytest.approx(110.0)
    assert touched.slippage == pytest.approx(0.0)
    assert touched.fee == pytest.approx(0.11)
    assert gapped.price == pytest.approx(115.0)
    assert gapped.slippage == pytest.approx(-5.0)  # price improvement is negative slippage


def test_stop_fills_before_target_when_one_bar_touches_both_and_target_never_fills() -> None:
    broker = PaperBroker(PaperBrokerParams(fee_bps=0.0, slippage_bps=0.0))
    # Target submitted first: submission order must not decide, the stop does.
    broker.submit(target_sell("t1", 110.0))
    broker.submit(stop_sell("s1", 95.0))
    fills = shown(broker, bar(T0 + 60, 100.0, 112.0, 94.0, 100.0))
    assert [f.client_order_id for f in fills] == ["s1"]
    assert fills[0].price == pytest.approx(95.0)
    assert broker.open_orders() == []
    assert shown(broker, bar(T0 + 120, 100.0, 120.0, 99.0, 115.0)) == []
    assert not broker.is_filled("t1")


def test_a_target_reached_at_the_open_comes_before_a_stop_touched_later() -> None:
    broker = PaperBroker(PaperBrokerParams(fee_bps=0.0, slippage_bps=0.0))
    broker.submit(stop_sell("s1", 95.0))
    broker.submit(target_sell("t1", 110.0))
    fills = shown(broker, bar(T0 + 60, 111.0, 112.0, 94.0, 100.0))
    assert [(f.client_order_id, f.price) for f in fills] == [("t1", 111.0)]


def test_a_filled_target_cancels_its_stop() -> None:
    broker = PaperBroker()
    broker.submit(stop_sell("s1", 95.0))
    broker.submit(target_sell("t1", 110.0))
    assert [f.client_order_id for f in shown(broker, bar(T0 + 60, 100, 111, 99, 110))] == ["t1"]
    assert shown(broker, bar(T0 + 120, 100.0, 101.0, 80.0, 85.0)) == []
    # The engine cancelling the sibling afterwards is routine, not an error.
    broker.cancel("s1")


def test_a_trend_break_exit_at_the_open_cancels_stop_and_target() -> None:
    broker = PaperBroker()
    broker.submit(stop_sell("s1", 95.0))
    broker.submit(target_sell("t1", 110.0))
    broker.submit(order("x1", Side.SELL, purpose=OrderPurpose.TREND_BREAK))
    fills = shown(broker, bar(T0 + 60, 100.0, 111.0, 90.0, 95.0))
    assert [f.client_order_id for f in fills] == ["x1"]
    assert broker.open_orders() == []


def test_stops_and_limits_of_different_symbols_are_independent() -> None:
    broker = PaperBroker()
    broker.submit(stop_sell("s1", 95.0))
    broker.submit(stop_sell("s2", 2900.0, symbol="ETH-USD"))
    assert [f.client_order_id for f in shown(broker, bar(T0 + 60, 100, 101, 94, 95))] == ["s1"]
    assert [o.client_order_id for o in broker.open_orders()] == ["s2"]


def test_buy_side_stop_and_target_protect_a_short() -> None:
    broker = PaperBroker(PaperBrokerParams(fee_bps=0.0, slippage_bps=10.0))
    broker.submit(order("s1", Side.BUY, OrderKind.STOP, OrderPurpose.STOP, price=105.0))
    broker.submit(order("t1", Side.BUY, OrderKind.LIMIT, OrderPurpose.TARGET, price=90.0))
    assert shown(broker, bar(T0 + 60, 100.0, 104.0, 91.0, 100.0)) == []
    fills = shown(broker, bar(T0 + 120, 100.0, 106.0, 89.0, 100.0))  # both touched
    assert [f.client_order_id for f in fills] == ["s1"]
    assert fills[0].price == pytest.approx(105.0 * 1.001)
    assert fills[0].slippage == pytest.approx(0.105)

    gap = PaperBroker(PaperBrokerParams(fee_bps=0.0, slippage_bps=0.0))
    gap.submit(order("s2", Side.BUY, OrderKind.STOP, OrderPurpose.STOP, price=105.0))
    assert shown(gap, bar(T0 + 60, 108.0, 109.0, 107.0, 108.0))[0].price == pytest.approx(108.0)
    target = PaperBroker(PaperBrokerParams(fee_bps=0.0, slippage_bps=10.0))
    target.submit(order("t2", Side.BUY, OrderKind.LIMIT, OrderPurpose.TARGET, price=90.0))
    (fill,) = shown(target, bar(T0 + 60, 95.0, 96.0, 89.0, 92.0))
    assert fill.price == pytest.approx(90.0)


def test_submit_is_idempotent_by_client_order_id() -> None:
    broker = PaperBroker()
    broker.submit(order("e1", qty=1.0))
    broker.submit(order("e1", qty=5.0))  # a re-submission after a crash
    assert len(broker.open_orders()) == 1
    (fill,) = shown(broker, bar(T0 + 60, 100.0, 101.0, 99.0, 100.0))
    assert fill.qty == 1.0

    broker.submit(order("e1", qty=1.0, created_ts=T0 + 60))
    assert shown(broker, bar(T0 + 120, 100.0, 101.0, 99.0, 100.0)) == []
    assert broker.open_orders() == []


def test_a_cancelled_order_never_fills_and_cannot_be_revived() -> None:
    broker = PaperBroker()
    broker.submit(stop_sell("s1", 95.0))
    broker.cancel("s1")
    broker.cancel("s1")
    broker.cancel("unknown")
    broker.submit(stop_sell("s1", 95.0))
    assert shown(broker, bar(T0 + 60, 100.0, 101.0, 90.0, 91.0)) == []


def test_memory_of_finished_orders_is_bounded_to_the_newest() -> None:
    """A daemon that trades for months must not remember every id it ever filled."""
    broker = PaperBroker(remember_finished=3)
    ts = T0
    for n in range(10):
        broker.submit(order(f"e{n}", created_ts=ts))
        ts += 60
        assert len(shown(broker, bar(ts, 100.0, 101.0, 99.0, 100.0))) == 1
    assert [broker.is_filled(f"e{n}") for n in (6, 7, 8, 9)] == [False, True, True, True]

    for n in (7, 8, 9):  # recent ids: a re-submission is still ignored
        broker.submit(order(f"e{n}", created_ts=ts))
    assert broker.open_orders() == []
    broker.submit(order("e0", created_ts=ts))  # forgotten long ago: taken as a new order
    assert [o.client_order_id for o in broker.open_orders()] == ["e0"]


def test_invalid_orders_are_refused_with_a_broker_error() -> None:
    broker = PaperBroker()
    with pytest.raises(BrokerError, match="qty must be positive"):
        broker.submit(order("bad1", qty=0.0))
    with pytest.raises(BrokerError, match="needs a positive price"):
        broker.submit(order("bad2", Side.SELL, OrderKind.STOP, OrderPurpose.STOP))
    # A refused order was never accepted, so a corrected re-submission goes through.
    broker.submit(order("bad1", qty=1.0))
    assert len(broker.open_orders()) == 1


def test_negative_costs_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        PaperBrokerParams(fee_bps=-1.0)


@st.composite
def bar_paths(draw: st.DrawFn) -> list[Bar]:
    closes = draw(st.lists(st.floats(80.0, 120.0), min_size=1, max_size=30))
    bars, previous = [], 100.0
    for i, close in enumerate(closes):
        # Opens may gap away from the previous close, as in replayed data.
        open_ = draw(st.sampled_from([previous, close, draw(st.floats(80.0, 120.0))]))
        high = max(open_, close) + draw(st.floats(0.0, 5.0))
        low = min(open_, close) - draw(st.floats(0.0, 5.0))
        bars.append(bar(T0 + 60 * (i + 1), open_, high, low, close))
        previous = close
    return bars


@settings(max_examples=300, deadline=None)
@given(
    path=bar_paths(),
    stop=st.floats(85.0, 99.0),
    target=st.floats(101.0, 115.0),
)
def test_a_protected_position_exits_exactly_once_on_the_first_touching_bar(
    path: list[Bar], stop: float, target: float
) -> None:
    broker = PaperBroker(PaperBrokerParams(fee_bps=10.0, slippage_bps=5.0))
    broker.submit(stop_sell("s", stop))
    broker.submit(target_sell("t", target))
    fills = [(b, f) for b in path for f in shown(broker, b)]
    touching = [b for b in path if b.low <= stop or b.high >= target]

    assert len(fills) == (1 if touching else 0)
    if not fills:
        assert len(broker.open_orders()) == 2
        return
    fill_bar, fill = fills[0]
    assert fill_bar is touching[0]
    assert broker.open_orders() == []
    if fill.client_order_id == "s":
        # Never better than the stop; a gap costs the gap, plus slippage.
        assert fill.price == pytest.approx(min(stop, fill_bar.open) * (1 - 0.0005))
        assert fill.slippage >= 0
        assert fill_bar.low <= stop
    else:
        assert fill.price == pytest.approx(max(target, fill_bar.open))
        assert fill_bar.high >= target
        # The target only wins a bar that also touched the stop when it was hit at the open.
        assert fill_bar.low > stop or fill_bar.open >= target
    assert fill.fee == pytest.approx(fill.price * fill.qty * 0.001)


def test_paper_broker_serves_the_broker_port() -> None:
    broker: SimulatedBroker = PaperBroker()  # checked by mypy
    broker.submit(order("e1"))
    broker.on_bar(bar(T0 + 60, 1.0, 1.0, 1.0, 1.0))
    assert [f.client_order_id for f in broker.take_fills()] == ["e1"]
    assert list(broker.take_fills()) == []  # each fill is handed over once


def test_fills_wait_to_be_taken_in_the_order_they_happened() -> None:
    broker = PaperBroker()
    broker.submit(order("e1"))
    broker.submit(order("e2", symbol="ETH-USD"))
    broker.on_bar(bar(T0 + 60, 100.0, 101.0, 99.0, 100.0))
    broker.on_bar(bar(T0 + 60, 10.0, 11.0, 9.0, 10.0, symbol="ETH-USD"))
    assert [f.client_order_id for f in broker.take_fills()] == ["e1", "e2"]
