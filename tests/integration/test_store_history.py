"""The dashboard's read queries on a real SQLite file and a real PostgreSQL server: filtered
order and trade pages, and the equity history downsampled without hiding a drawdown."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from grodtd.adapters.store import SqlStore
from grodtd.adapters.store.history import bucket_width
from grodtd.core.models import (
    Checkpoint,
    EquitySnapshot,
    Order,
    OrderKind,
    OrderPurpose,
    OrderStatus,
    Side,
    Trade,
)
from grodtd.core.ports import UnitOfWork
from tests.support.postgres import fresh_database

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        s = SqlStore(f"sqlite:///{tmp_path / 'grodt.db'}")
        s.migrate()
        yield s
        s.close()
        return
    with fresh_database() as url:
        s = SqlStore(url)
        s.migrate()
        try:
            yield s
        finally:
            s.close()


def order(n: int, symbol: str, status: OrderStatus) -> Order:
    return Order(
        client_order_id=f"s1-{symbol}-{T0 + 60 * n}-entry",
        symbol=symbol,
        side=Side.BUY,
        kind=OrderKind.MARKET,
        purpose=OrderPurpose.ENTRY,
        qty=1.0,
        created_ts=T0 + 60 * n,
        strategy="s1_trend",
        status=status,
    )


def trade(n: int, symbol: str) -> Trade:
    return Trade(symbol, "s1_trend", 1.0, 100.0, 101.0, T0 + 60 * n, T0 + 60 * n + 300, 0.1, 0.9,
                 OrderPurpose.TARGET, f"e-{symbol}-{n}", f"x-{symbol}-{n}")  # fmt: skip


def snapshot(i: int, equity: float, drawdown: float = 0.0) -> EquitySnapshot:
    return EquitySnapshot(T0 + 60 * i, equity, equity, 0.0, 0.0, 0.0, drawdown)


def test_orders_filter_by_status_and_symbol(store: SqlStore) -> None:
    statuses = [OrderStatus.PENDING, OrderStatus.FILLED, OrderStatus.CANCELLED]
    orders = [order(n, ("BTC-USD", "ETH-USD")[n % 2], statuses[n % 3]) for n in range(30)]
    store.commit(UnitOfWork(checkpoint=Checkpoint(bars_processed=1), orders=tuple(orders)))

    pending = store.list_orders(100, 0, statuses=frozenset({OrderStatus.PENDING}))
    assert pending.total == 10
    assert pending.items == tuple(o for o in reversed(orders) if o.status is OrderStatus.PENDING)
    eth_open = store.list_orders(3, 1, statuses=frozenset({OrderStatus.PENDING}), symbol="ETH-USD")
    expected = [
        o for o in reversed(orders) if o.status is OrderStatus.PENDING and o.symbol == "ETH-USD"
    ]
    assert (eth_open.total, eth_open.items) == (5, tuple(expected[1:4]))
    two = store.list_orders(100, 0, statuses=frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED}))
    assert two.total == 20
    assert store.list_orders(100, 0).total == 30, "no filter: every order"
    assert store.list_orders(10, 0, symbol="DOGE-USD").total == 0


def test_trades_filter_by_symbol(store: SqlStore) -> None:
    trades = [trade(n, ("BTC-USD", "ETH-USD", "ETH-USD")[n % 3]) for n in range(12)]
    # A trade names its entry and exit orders, which the schema holds it to.
    orders = [
        replace(order(n, t.symbol, OrderStatus.FILLED), client_order_id=oid)
        for n, t in enumerate(trades)
        for oid in (t.entry_order_id, t.exit_order_id)
    ]
    store.commit(
        UnitOfWork(
            checkpoint=Checkpoint(bars_processed=1), orders=tuple(orders), trades=tuple(trades)
        )
    )
    page = store.list_trades(3, 2, symbol="ETH-USD")
    eth = [t for t in reversed(trades) if t.symbol == "ETH-USD"]
    assert (page.total, page.items) == (8, tuple(eth[2:5]))
    assert store.list_trades(50, 0).total == 12


def reference_sample(snaps: list[EquitySnapshot], points: int) -> list[EquitySnapshot]:
    """The sampling done the slow, obvious way: every snapshot into its bucket."""
    first = snaps[0].ts
    width = bucket_width(first, snaps[-1].ts, points)
    buckets: dict[int, list[EquitySnapshot]] = {}
    for snap in snaps:
        buckets.setdefault((snap.ts - first) // width, []).append(snap)
    return [
        replace(group[-1], drawdown=max(s.drawdown for s in group))
        for _, group in sorted(buckets.items())
    ]


def commit_equity(store: SqlStore, snaps: list[EquitySnapshot], start: int) -> None:
    for n, snap in enumerate(snaps, start=start):
        store.commit(UnitOfWork(checkpoint=Checkpoint(bars_processed=n), equity=snap))


def test_equity_history_spans_everything_in_at_most_the_points_asked(store: SqlStore) -> None:
    snaps = [snapshot(i, 10_000.0 + i, drawdown=0.0) for i in range(1000)]
    # A sharp dip in the middle of a bucket: the sample must still show its depth.
    snaps[517] = snapshot(517, 9_000.0, drawdown=0.1)
    commit_equity(store, snaps, start=1)

    sampled = store.equity_history(100)
    assert 50 <= len(sampled) <= 100
    assert sampled[0].ts < T0 + 60 * 20, "it starts at the start, not 500 bars ago"
    assert sampled[-1] == snaps[-1], "it ends exactly at the current equity"
    assert [p.ts for p in sampled] == sorted(p.ts for p in sampled)
    assert max(p.drawdown for p in sampled) == pytest.approx(0.1)
    assert sampled == reference_sample(snaps, 100)
    assert store.equity_history(5000) == snaps, "fewer points than asked: all of them"
    recent = store.equity_history(10, since_ts=T0 + 60 * 900)
    assert len(recent) <= 10 and recent[0].ts >= T0 + 60 * 900 and recent[-1] == snaps[-1]
    assert recent == reference_sample(snaps[900:], 10)
    assert store.equity_history(10, since_ts=T0 + 60 * 5000) == []


def test_equity_history_polled_as_it_grows_matches_a_fresh_sampling(store: SqlStore) -> None:
    """A poll adds only the new snapshots to the cached buckets; the answer must be what a
    sampling of the whole table gives, also when the growth widens the buckets."""
    snaps = [snapshot(i, 10_000.0 + (i % 37), drawdown=(i % 53) / 1000) for i in range(3000)]
    commit_equity(store, snaps[:700], start=1)
    assert store.equity_history(64) == reference_sample(snaps[:700], 64)
    done = 700
    for step in (1, 2, 40, 300, 957, 1000):  # some stay in the buckets, some double them
        commit_equity(store, snaps[done : done + step], start=done + 1)
        done += step
        assert store.equity_history(64) == reference_sample(snaps[:done], 64), done
