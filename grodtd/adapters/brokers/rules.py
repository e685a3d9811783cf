"""What a real venue requires of an order in one market, and how ccxt describes it.

Both brokers obey these rules: the paper broker on live data must not fill what the venue
would refuse, and the live broker refuses it before sending, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from grodtd.core.models import Order
from grodtd.core.ports import BrokerError

# ccxt's precision modes (ccxt.base.decimal_to_precision): a count of decimals, a count of
# significant digits, or a step.
_DECIMAL_PLACES = 2
_SIGNIFICANT_DIGITS = 3
_TICK_SIZE = 4


@dataclass(frozen=True, slots=True)
class VenueRules:
    """What a real venue requires of an order in one market (from ccxt's ``load_markets``).

    Paper trading on live data must not fill what the venue would refuse: quantities are cut
    down to the lot step (as a live client's ``amount_to_precision`` does), prices rounded to
    the tick, and an order under the minimum quantity or notional is refused with the reason.
    """

    qty_step: float = 0.0  # 0: any quantity
    min_qty: float = 0.0
    min_notional: float = 0.0
    price_tick: float = 0.0

    def conform(self, order: Order, reference_price: float | None) -> Order:
        qty = order.qty
        if self.qty_step > 0:
            qty = math.floor(qty / self.qty_step + 1e-9) * self.qty_step
            qty = float(f"{qty:.12g}")
        if qty <= 0 or qty < self.min_qty:
            raise BrokerError(
                f"order {order.client_order_id}: quantity {order.qty:.8g} {order.symbol} is "
                f"under the venue's minimum ({max(self.min_qty, self.qty_step):.8g})"
            )
        price = order.price
        if price is not None and self.price_tick > 0:
            price = float(f"{round(price / self.price_tick) * self.price_tick:.12g}")
        notional_price = price if price is not None else reference_price
        if notional_price is not None and qty * notional_price < self.min_notional:
            raise BrokerError(
                f"order {order.client_order_id}: notional {qty * notional_price:.2f} is under "
                f"the venue's minimum of {self.min_notional:g}"
            )
        if qty == order.qty and price == order.price:
            return order
        return replace(order, qty=qty, price=price)


def venue_rules(market: Mapping[str, Any]) -> VenueRules:
    """A ccxt market's precision and limits as the paper broker's ``VenueRules``."""
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    mode = market.get("precisionMode", _TICK_SIZE)

    def step(value: Any) -> float:
        if value is None:
            return 0.0
        if mode == _DECIMAL_PLACES:
            return float(10.0 ** -int(value))
        if mode == _SIGNIFICANT_DIGITS:
            # A count of significant digits (bitfinex, bithumb) is no fixed step: the step
            # depends on the number's size. Read as a step, bitfinex's 8 digits floored every
            # quantity to a multiple of 8 units and refused every order; no step is enforced.
            return 0.0
        return float(value)

    def limit(name: str) -> float:
        value = (limits.get(name) or {}).get("min")
        return float(value) if value is not None else 0.0

    return VenueRules(
        qty_step=step(precision.get("amount")),
        min_qty=limit("amount"),
        min_notional=limit("cost"),
        price_tick=step(precision.get("price")),
    )
