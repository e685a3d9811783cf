"""The live broker's notional rails: per entry and per UTC day, never on exits."""

from __future__ import annotations

import pytest

from grodtd.adapters.brokers.rails import NotionalRails
from grodtd.core.models import Order, OrderKind, OrderPurpose, Side
from grodtd.core.ports import BrokerError

DAY = 86_400
NOON = 20_000 * DAY + DAY // 2


def order(qty: float, purpose: OrderPurpose = OrderPurpose.ENTRY) -> Order:
    return Order(
        client_order_id=f"s1_trend-BTC-USDT-{NOON}-{purpose.value}",
        symbol="BTC-USDT",
        side=Side.BUY if purpose is OrderPurpose.ENTRY else Side.SELL,
        kind=OrderKind.MARKET,
        purpose=purpose,
        qty=qty,
        created_ts=NOON,
        strategy="s1_trend",
    )


def test_an_entry_over_the_order_rail_is_refused_with_both_amounts() -> None:
    rails = NotionalRails(max_order=1_000.0)
    rails.check(order(0.01), 100_000.0, NOON)  # 1,000: at the rail, allowed
    with pytest.raises(BrokerError, match=r"1001\.00 is over broker.max_order_notional 1000"):
        rails.check(order(0.01001), 100_000.0, NOON)


def test_the_daily_cap_counts_filled_entries_and_resets_at_midnight_utc() -> None:
    rails = NotionalRails(daily_cap=2_500.0)
    rails.bought(1_000.0, NOON)
    rails.bought(1_000.0, NOON + 60)
    rails.check(order(0.005), 100_000.0, NOON + 120)  # 2,500 in all: allowed
    with pytest.raises(BrokerError, match=r"today's entries to 2600\.00.*until 00:00 UTC"):
        rails.check(order(0.006), 100_000.0, NOON + 120)
    tomorrow = NOON + DAY
    assert rails.spent_today(tomorrow) == 0.0
    rails.check(order(0.02), 100_000.0, tomorrow)


def test_exits_are_never_held_back() -> None:
    rails = NotionalRails(max_order=10.0, daily_cap=10.0)
    rails.bought(10.0, NOON)
    for purpose in (OrderPurpose.STOP, OrderPurpose.TREND_BREAK, OrderPurpose.FLATTEN):
        rails.check(order(5.0, purpose), 100_000.0, NOON)
