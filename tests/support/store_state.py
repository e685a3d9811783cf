"""What a crash must never change: the store read in one transaction, and the checks that
every order, fill and trade survives exactly once (the kill and fault drills share them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tests.support.daemon import DaemonProcess

INITIAL_CASH = 100_000.0
FillRow = tuple[str, str, float, float, float, int]  # symbol, side, qty, price, fee, ts (s)


@dataclass
class StoreState:
    orders: dict[str, str] = field(default_factory=dict)  # client order id -> status
    fills: dict[str, FillRow] = field(default_factory=dict)
    trades: set[str] = field(default_factory=set)  # exit order ids
    positions: dict[str, str] = field(default_factory=dict)  # symbol -> entry order id

    @classmethod
    def read(cls, d: DaemonProcess) -> StoreState:
        orders, fills, trades, positions = d.query_snapshot(
            "SELECT client_order_id, status FROM orders",
            "SELECT client_order_id, symbol, side, qty, price, fee, ts FROM fills",
            "SELECT exit_order_id FROM trades",
            "SELECT symbol, entry_order_id FROM positions",
        )
        return cls(
            orders={r[0]: r[1] for r in orders},
            fills={r[0]: (r[1], r[2], r[3], r[4], r[5], r[6]) for r in fills},
            trades={r[0] for r in trades},
            positions={r[0]: r[1] for r in positions},
        )

    def cash_as_of(self, last_bar_ts: dict[str, int]) -> float:
        """Cash after the fills made on or before each symbol's last processed bar."""
        cash = INITIAL_CASH
        for symbol, side, qty, price, fee, ts in self.fills.values():
            if ts <= last_bar_ts.get(symbol, -1):
                cash += (-qty * price if side == "buy" else qty * price) - fee
        return cash


def last_bar_ts(status: dict[str, object]) -> dict[str, int]:
    times = status["last_bar_times"]
    assert isinstance(times, dict)
    return {s: int(datetime.fromisoformat(t).timestamp()) for s, t in times.items()}


def check_consistent(d: DaemonProcess, before: StoreState) -> StoreState:
    assert d.query("PRAGMA integrity_check") == [("ok",)]
    after = StoreState.read(d)
    assert not set(before.orders) - set(after.orders), "orders lost after a kill"
    assert not set(before.fills) - set(after.fills), "fills lost after a kill"
    assert not before.trades - after.trades, "closed trades lost after a kill"
    # A fill never changes once written: no second, different fill for the same order.
    for order_id, fill in before.fills.items():
        assert after.fills[order_id] == fill
    assert all(after.orders[oid] == "filled" for oid in after.fills)
    assert all(oid in after.fills for oid, st in after.orders.items() if st == "filled")
    for symbol, entry_id in after.positions.items():
        assert entry_id in after.fills, f"position {symbol} has no entry fill"
    return after
