"""Safety rails of live trading: how much one entry and one UTC day's entries may buy.

They sit in the broker, beneath the risk manager, on purpose: whatever the strategy or the
sizing decides (a bug, a wrong price, a config with a zero too many), no entry worth more than
``max_order`` leaves the daemon, nor entries worth more than ``daily_cap`` in one UTC day.
Exits are never held back: a rail that kept a position open would be the danger it guards
against. Notional is quantity times the last close (what the engine sized the order on).
"""

from __future__ import annotations

from grodtd.core.models import Order, OrderPurpose
from grodtd.core.ports import BrokerError

_DAY = 86_400


class NotionalRails:
    """Refuses entries over the per-order or the daily notional; counts what entries bought."""

    def __init__(self, max_order: float | None = None, daily_cap: float | None = None) -> None:
        self.max_order = max_order
        self.daily_cap = daily_cap
        self._day = -1
        self._spent = 0.0

    def check(self, order: Order, price: float | None, now_s: float) -> None:
        """Raise ``BrokerError`` (with the rail and the amounts) if ``order`` may not go out."""
        if order.purpose is not OrderPurpose.ENTRY or price is None:
            return
        notional = order.qty * price
        if self.max_order is not None and notional > self.max_order:
            raise BrokerError(
                f"order {order.client_order_id}: entry worth {notional:.2f} is over "
                f"broker.max_order_notional {self.max_order:g}; refused"
            )
        spent = self.spent_today(now_s)
        if self.daily_cap is not None and spent + notional > self.daily_cap:
            raise BrokerError(
                f"order {order.client_order_id}: entry worth {notional:.2f} would take today's "
                f"entries to {spent + notional:.2f}, over broker.daily_notional_cap "
                f"{self.daily_cap:g}; refused until 00:00 UTC"
            )

    def bought(self, notional: float, ts_s: float) -> None:
        """An entry filled for ``notional`` at ``ts_s``: it counts towards its day's cap."""
        day = int(ts_s // _DAY)
        if day > self._day:
            self._day, self._spent = day, 0.0
        if day == self._day:
            self._spent += notional

    def spent_today(self, now_s: float) -> float:
        return self._spent if int(now_s // _DAY) == self._day else 0.0
