"""The value types' copy helpers: spelled out for speed, so proved against ``replace``."""

from __future__ import annotations

import dataclasses

from grodtd.core.models import (
    Order,
    OrderKind,
    OrderPurpose,
    OrderStatus,
    Position,
    Side,
)


def every_field_set() -> Order:
    """An order whose every field differs from its default, so a dropped field shows."""
    return Order(
        client_order_id="s1_trend-BTC-USD-60-entry",
        symbol="BTC-USD",
        side=Side.SELL,
        kind=OrderKind.LIMIT,
        purpose=OrderPurpose.TARGET,
        qty=1.5,
        created_ts=60,
        strategy="s1_trend",
        status=OrderStatus.PENDING,
        price=101.0,
        stop_price=97.0,
        target_price=104.5,
        reason="protects s1_trend-BTC-USD-0-entry",
    )


def test_with_status_copies_every_field() -> None:
    order = every_field_set()
    assert order.with_status(OrderStatus.FILLED) == dataclasses.replace(
        order, status=OrderStatus.FILLED
    )
    assert order.with_status(OrderStatus.REJECTED, "venue down") == dataclasses.replace(
        order, status=OrderStatus.REJECTED, reason="venue down"
    )


def test_flattened_copies_every_field_but_the_quantity() -> None:
    position = Position(
        symbol="ETH-USD",
        qty=-2.0,
        avg_price=3000.0,
        opened_ts=120,
        strategy="s1_trend",
        stop_price=3100.0,
        target_price=2850.0,
        entry_fees=6.0,
        entry_order_id="s1_trend-ETH-USD-60-entry",
    )
    assert position.flattened() == dataclasses.replace(position, qty=0.0)
