"""A real venue's order rules in the paper broker (``VenueRules``) and how ccxt's market
descriptions become them (``factories.venue_rules``)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from grodtd.adapters.brokers.paper import PaperBroker, PaperBrokerParams
from grodtd.adapters.brokers.rules import VenueRules, venue_rules
from grodtd.adapters.markets.exchange.client import ccxt_errors
from grodtd.core.models import Bar, Order, OrderKind, OrderPurpose, Side
from grodtd.core.ports import BrokerError

T0 = 1_767_225_600
BTC = VenueRules(qty_step=1e-5, min_qty=1e-5, min_notional=5.0, price_tick=0.01)


def order(
    qty: float,
    *,
    kind: OrderKind = OrderKind.MARKET,
    side: Side = Side.BUY,
    purpose: OrderPurpose = OrderPurpose.ENTRY,
    price: float | None = None,
    oid: str = "s1-BTC-USDT-1-entry",
    symbol: str = "BTC-USDT",
) -> Order:
    return Order(
        client_order_id=oid,
        symbol=symbol,
        side=side,
        kind=kind,
        purpose=purpose,
        qty=qty,
        created_ts=T0,
        strategy="s1_trend",
        price=price,
    )


def bar(ts: int, o: float, h: float, low: float, c: float) -> Bar:
    return Bar("BTC-USDT", ts, o, h, low, c, 10.0)


# -- VenueRules.conform -----------------------------------------------------------------------


def test_quantity_is_floored_to_the_lot_step_never_rounded_up() -> None:
    conformed = BTC.conform(order(0.123456789), reference_price=60_000.0)
    assert conformed.qty == 0.12345
    # 2.99999 lots are two lots: floored, not rounded to the nearest.
    assert VenueRules(qty_step=1e-5).conform(order(0.0000299999), None).qty == 0.00002


def test_a_whole_number_of_lots_survives_binary_floating_point() -> None:
    # 0.3 / 0.1 is 2.9999999999999996 in binary: a plain floor would lose a lot.
    rules = VenueRules(qty_step=0.1)
    assert rules.conform(order(0.3), None).qty == 0.3
    assert VenueRules(qty_step=1e-5).conform(order(0.00003), None).qty == 0.00003


def test_an_order_already_conforming_is_returned_as_it_is() -> None:
    original = order(0.5, kind=OrderKind.LIMIT, side=Side.SELL, price=61_000.25)
    assert BTC.conform(original, 60_000.0) is original


def test_price_is_rounded_to_the_nearest_tick() -> None:
    rules = VenueRules(price_tick=0.05)
    stop = order(1.0, kind=OrderKind.STOP, side=Side.SELL, price=100.123)
    assert rules.conform(stop, None).price == 100.1
    assert rules.conform(order(1.0, kind=OrderKind.LIMIT, price=100.126), None).price == 100.15
    assert BTC.conform(order(0.1, kind=OrderKind.LIMIT, price=60_000.004), None).price == 60_000.0


def test_a_quantity_under_the_minimum_is_refused_with_the_reason() -> None:
    rules = VenueRules(qty_step=1e-3, min_qty=0.01)
    with pytest.raises(BrokerError) as refused:
        rules.conform(order(0.0099), reference_price=100.0)
    message = str(refused.value)
    assert "s1-BTC-USDT-1-entry" in message
    assert "under the venue's minimum (0.01)" in message


def test_a_quantity_that_floors_to_nothing_is_refused_naming_the_lot_step() -> None:
    with pytest.raises(BrokerError, match=r"under the venue's minimum \(1e-05\)"):
        BTC.conform(order(0.000009), reference_price=60_000.0)


def test_a_market_order_under_the_minimum_notional_is_refused_at_the_last_close() -> None:
    rules = VenueRules(min_notional=10.0)
    with pytest.raises(BrokerError, match=r"notional 9\.90 is under the venue's minimum of 10"):
        rules.conform(order(0.99), reference_price=10.0)
    assert rules.conform(order(1.0), reference_price=10.0).qty == 1.0
    # Without a price to value it at (no bar seen yet), a market order is not refused.
    assert rules.conform(order(0.01), reference_price=None).qty == 0.01


def test_a_priced_order_is_valued_at_its_own_rounded_price_for_the_notional() -> None:
    rules = VenueRules(min_notional=10.0, price_tick=1.0)
    # 9.6 rounds to 10: 1 x 10 reaches the minimum although the last close says otherwise.
    limit = order(1.0, kind=OrderKind.LIMIT, side=Side.SELL, price=9.6)
    assert rules.conform(limit, reference_price=1.0).price == 10.0
    with pytest.raises(BrokerError, match=r"notional 9\.00"):
        rules.conform(order(1.0, kind=OrderKind.LIMIT, price=9.4), reference_price=100.0)


def test_no_rules_change_nothing() -> None:
    original = order(0.123456789, kind=OrderKind.LIMIT, price=1.23456789)
    assert VenueRules().conform(original, 1.0) is original


# -- the paper broker under a venue's rules ---------------------------------------------------


def test_the_paper_broker_fills_the_conformed_order_and_refuses_what_the_venue_would() -> None:
    broker = PaperBroker(PaperBrokerParams(fee_bps=10.0, slippage_bps=0.0))
    broker.set_rules({"BTC-USDT": BTC})
    broker.on_bar(bar(T0, 60_000.0, 60_010.0, 59_990.0, 60_000.0))
    broker.submit(order(0.123456789))
    assert [o.qty for o in broker.open_orders("BTC-USDT")] == [0.12345]
    with pytest.raises(BrokerError, match=r"notional 0\.60"):
        broker.submit(order(0.00001, oid="s1-BTC-USDT-2-entry"))
    assert not broker.is_filled("s1-BTC-USDT-2-entry")
    assert [o.client_order_id for o in broker.open_orders()] == ["s1-BTC-USDT-1-entry"]
    broker.on_bar(bar(T0 + 60, 60_100.0, 60_200.0, 60_000.0, 60_150.0))
    (fill,) = broker.take_fills()
    assert fill.qty == 0.12345
    assert fill.price == 60_100.0
    assert fill.fee == pytest.approx(60_100.0 * 0.12345 * 0.001)


def test_rules_apply_only_to_their_symbol() -> None:
    broker = PaperBroker()
    broker.set_rules({"BTC-USDT": BTC})
    broker.submit(order(0.123456789, symbol="ETH-USDT", oid="s1-ETH-USDT-1-entry"))
    assert [o.qty for o in broker.open_orders("ETH-USDT")] == [0.123456789]


# -- ccxt markets -> VenueRules ---------------------------------------------------------------


def ccxt_market(
    mode: int, amount: Any, price: Any, *, min_amount: Any = None, min_cost: Any = None
) -> dict[str, Any]:
    """The parts of a ccxt unified market that matter here, as ``ExchangeFeed.connect``
    hands them on (the exchange's ``precisionMode`` added to each market)."""
    return {
        "symbol": "BTC/USDT",
        "precision": {"amount": amount, "price": price},
        "limits": {
            "amount": {"min": min_amount, "max": None},
            "cost": {"min": min_cost, "max": None},
            "price": {"min": None, "max": None},
        },
        "precisionMode": mode,
    }


def precision_modes() -> Any:
    ccxt_errors()  # registers the ccxt package without importing every exchange
    return importlib.import_module("ccxt.base.decimal_to_precision")


def test_tick_size_markets_give_their_steps_as_they_are() -> None:
    modes = precision_modes()
    rules = venue_rules(ccxt_market(modes.TICK_SIZE, 1e-05, 0.01, min_amount=1e-05, min_cost=5.0))
    assert rules == VenueRules(qty_step=1e-05, min_qty=1e-05, min_notional=5.0, price_tick=0.01)


def test_decimal_places_markets_count_decimals() -> None:
    modes = precision_modes()
    rules = venue_rules(ccxt_market(modes.DECIMAL_PLACES, 5, 2, min_amount=0.0001, min_cost=10))
    assert rules.qty_step == pytest.approx(1e-5)
    assert rules.price_tick == pytest.approx(0.01)
    assert (rules.min_qty, rules.min_notional) == (0.0001, 10.0)
    assert venue_rules(ccxt_market(modes.DECIMAL_PLACES, 0, 0)).qty_step == 1.0


def test_significant_digits_markets_enforce_no_step() -> None:
    # bitfinex: amounts to 8 and prices to 5 significant digits. Read as steps they would
    # floor every quantity to a multiple of 8 units.
    modes = precision_modes()
    rules = venue_rules(ccxt_market(modes.SIGNIFICANT_DIGITS, 8, 5, min_amount=0.00004))
    assert rules == VenueRules(qty_step=0.0, min_qty=0.00004, min_notional=0.0, price_tick=0.0)
    broker = PaperBroker()
    broker.set_rules({"BTC-USDT": rules})
    broker.submit(order(0.16052848))
    assert [o.qty for o in broker.open_orders()] == [0.16052848]


def test_missing_precision_and_limits_mean_no_rule() -> None:
    assert venue_rules({"symbol": "BTC/USDT"}) == VenueRules()
    assert venue_rules({"precision": None, "limits": None, "precisionMode": 4}) == VenueRules()
    sparse = {"precision": {"amount": 0.001}, "limits": {"cost": {"min": None}}}
    assert venue_rules(sparse) == VenueRules(qty_step=0.001)
