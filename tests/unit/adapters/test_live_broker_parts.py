"""The pure parts of the live broker: exchange client ids, redaction, fills from executions,
and the watched orders' trigger rule (the exchange itself: tests/integration/test_live_broker)."""

from __future__ import annotations

import re

import pytest

from grodtd.adapters.brokers.exchange_orders import (
    exchange_client_id,
    execution_of,
    fill_of,
    redact,
)
from grodtd.adapters.brokers.watchlist import Tracked, Watchlist
from grodtd.core.models import Bar, Order, OrderKind, OrderPurpose, Side

BINANCE_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
T0 = 1_767_225_600


# -- client ids -----------------------------------------------------------------------------


def test_an_id_binance_accepts_is_sent_as_it_is() -> None:
    oid = f"s1_trend-BTC-USDT-{T0}-entry"
    assert len(oid) == 34 and exchange_client_id(oid) == oid


def test_a_longer_id_is_shortened_the_same_way_every_time_and_stays_distinct() -> None:
    # 40 characters; the two share the 23 that are kept, only the hash tells them apart.
    first, later = (f"s1_trend-BTC-USDT-{ts}-trend_break" for ts in (T0, T0 + 60))
    ids = [exchange_client_id(oid) for oid in (first, later)]

    assert all(BINANCE_ID.match(xid) and len(xid) == 36 for xid in ids)
    assert ids[0] != ids[1]
    assert ids[0].startswith("s1_trend-BTC-USDT-17672")  # still readable on the exchange
    assert exchange_client_id(later) == ids[1]  # a pure function: restarts find it


def test_characters_binance_refuses_are_replaced_and_the_id_hashed() -> None:
    xid = exchange_client_id("my strategy-BTC-USDT-1-entry")
    assert BINANCE_ID.match(xid) and xid.startswith("my_strategy-")
    assert xid != exchange_client_id("my_strategy-BTC-USDT-1-entry")


# -- redaction ------------------------------------------------------------------------------


def test_redact_cuts_url_queries_and_masks_secrets() -> None:
    text = (
        "binance GET http://127.0.0.1:9/api/v3/order?timestamp=1&signature=abc123 503\n"
        "key KEY-1 secret SECRET-2"
    )
    clean = redact(text, ["KEY-1", "SECRET-2", ""])
    assert clean == (
        "binance GET http://127.0.0.1:9/api/v3/order?<query hidden> 503 key <hidden> secret "
        "<hidden>"
    )


# -- fills ----------------------------------------------------------------------------------


def trade(amount: float, price: float, fee: float, currency: str, ts: int | None = None) -> dict:
    return {
        "amount": amount,
        "price": price,
        "cost": amount * price,
        "fee": {"cost": fee, "currency": currency},
        "timestamp": ts,
    }


def test_a_buy_reports_the_quantity_received_and_its_base_fee_in_quote() -> None:
    trades = [trade(0.006, 100.0, 0.000006, "BTC"), trade(0.004, 110.0, 0.000004, "BTC", 5_000)]
    execution = execution_of(trades, "BTC", "USDT")
    fill = fill_of("e1", "BTC-USDT", Side.BUY, execution, reference=101.0, ts_ms=9_999)

    assert execution.executed == pytest.approx(0.01)
    assert execution.fee_base == pytest.approx(0.00001)
    assert fill.qty == 0.00999  # what the account holds
    assert fill.price == pytest.approx(104.0)  # volume-weighted
    assert fill.fee == pytest.approx(0.000006 * 100 + 0.000004 * 110)
    assert fill.slippage == pytest.approx(3.0)  # paid 3 over the reference: adverse
    assert execution.last_ms == 5_000 and fill.ts == 9  # epoch seconds of the given ms
    assert fill.qty * fill.price + fill.fee == pytest.approx(0.006 * 100 + 0.004 * 110, rel=1e-4)


def test_a_sell_pays_its_fee_in_quote_and_a_third_asset_fee_is_not_converted() -> None:
    sell = execution_of([trade(0.01, 100.0, 0.001, "USDT")], "BTC", "USDT")
    fill = fill_of("x", "BTC-USDT", Side.SELL, sell, reference=101.0, ts_ms=60_000)
    assert (fill.qty, fill.fee, fill.ts) == (0.01, 0.001, 60)
    assert fill.slippage == pytest.approx(1.0)  # got 1 under the reference: adverse

    bnb = execution_of([trade(0.01, 100.0, 0.0002, "BNB")], "BTC", "USDT")
    assert bnb.other_fees == (("BNB", 0.0002),) and bnb.fee_quote == 0.0
    unreferenced = fill_of("x", "BTC-USDT", Side.BUY, bnb, reference=None, ts_ms=0)
    assert unreferenced.slippage == 0.0 and unreferenced.qty == 0.01


# -- the watchlist --------------------------------------------------------------------------


def watched(kind: OrderKind, price: float, *, side: Side = Side.SELL, ts: int = T0) -> Tracked:
    purpose = OrderPurpose.STOP if kind is OrderKind.STOP else OrderPurpose.TARGET
    order = Order(
        client_order_id=f"s1-BTC-USDT-{ts}-{purpose.value}",
        symbol="BTC-USDT",
        side=side,
        kind=kind,
        purpose=purpose,
        qty=1.0,
        created_ts=ts,
        strategy="s1",
        price=price,
    )
    return Tracked(order, order.client_order_id, None)


def bar(ts: int, open_: float, high: float, low: float) -> Bar:
    return Bar("BTC-USDT", ts, open_, high, low, (high + low) / 2, 1.0)


def book(*tracks: Tracked) -> Watchlist:
    watchlist = Watchlist()
    for track in tracks:
        watchlist.add(track)
    return watchlist


def test_a_stop_triggers_on_the_low_a_target_on_the_high_never_on_their_own_bar() -> None:
    stop, target = watched(OrderKind.STOP, 95.0), watched(OrderKind.LIMIT, 110.0)
    watchlist = book(stop, target)

    assert watchlist.triggered(bar(T0, 100, 120, 90)) == []  # the bar that placed them
    assert watchlist.triggered(bar(T0 + 60, 100, 109, 96)) == []
    assert watchlist.triggered(bar(T0 + 120, 100, 110, 99)) == [target]
    assert stop.order.client_order_id not in watchlist  # one-cancels-other
    assert watchlist.orders() == []


def test_a_bar_touching_both_sends_the_stop_unless_it_opened_beyond_the_target() -> None:
    stop, target = watched(OrderKind.STOP, 95.0), watched(OrderKind.LIMIT, 110.0)
    assert book(stop, target).triggered(bar(T0 + 60, 100, 111, 94)) == [stop]

    stop, target = watched(OrderKind.STOP, 95.0), watched(OrderKind.LIMIT, 110.0)
    assert book(stop, target).triggered(bar(T0 + 60, 112, 113, 94)) == [target]  # gapped up


def test_a_buy_stop_protecting_a_short_triggers_on_the_high() -> None:
    cover = watched(OrderKind.STOP, 105.0, side=Side.BUY)
    watchlist = book(cover)
    assert watchlist.triggered(bar(T0 + 60, 100, 104, 90)) == []
    assert watchlist.triggered(bar(T0 + 120, 100, 105, 90)) == [cover]
    assert watchlist.get(cover.order.client_order_id) is None
