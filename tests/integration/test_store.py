"""SqlStore against a real SQLite file: schema, round trips, idempotency, paging, writability,
concurrency and crash safety under SIGKILL.

The PostgreSQL tests at the end run against a real server named by GRODT_TEST_POSTGRES_URL
(.ci/run starts one with scripts/ci-postgres.sh); without one they skip on a developer machine
and fail in CI.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError

from grodtd.adapters.store import SqlStore, StoreError
from grodtd.adapters.store.migrations import head_revision
from grodtd.adapters.store.schema import metadata
from grodtd.core.models import (
    Checkpoint,
    EquitySnapshot,
    Fill,
    KillSwitchReason,
    Order,
    OrderKind,
    OrderPurpose,
    OrderStatus,
    Position,
    RiskState,
    Side,
    Trade,
)
from grodtd.core.ports import UnitOfWork
from tests.support.postgres import fresh_database

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "grodt.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqlStore]:
    s = SqlStore(_url(db_path), clock=lambda: T0 + 5)
    s.migrate()
    yield s
    s.close()


def entry_order(n: int, status: OrderStatus = OrderStatus.FILLED) -> Order:
    return Order(
        client_order_id=f"s1-BTC-{T0 + 60 * n}-entry",
        symbol="BTC-USD",
        side=Side.BUY,
        kind=OrderKind.MARKET,
        purpose=OrderPurpose.ENTRY,
        qty=0.5 + n,
        created_ts=T0 + 60 * n,
        strategy="s1_trend",
        status=status,
        price=None,
        stop_price=95.25 + n,
        target_price=110.125 + n,
        reason="close > vwap, ema9 > ema21",
    )


def fill_for(order: Order, price: float = 101.5) -> Fill:
    return Fill(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        qty=order.qty,
        price=price,
        fee=0.0421,
        ts=order.created_ts + 60,
        slippage=0.013,
    )


def full_unit(n: int = 1) -> UnitOfWork:
    """A unit that touches every table, with every optional field set to something."""
    entry = entry_order(n)
    exit_order = Order(
        client_order_id=f"s1-BTC-{T0 + 60 * n}-stop",
        symbol="BTC-USD",
        side=Side.SELL,
        kind=OrderKind.STOP,
        purpose=OrderPurpose.STOP,
        qty=entry.qty,
        created_ts=entry.created_ts + 60,
        strategy="s1_trend",
        status=OrderStatus.FILLED,
        price=95.25,
    )
    pending = Order(
        client_order_id=f"s1-ETH-{T0 + 60 * n}-entry",
        symbol="ETH-USD",
        side=Side.BUY,
        kind=OrderKind.LIMIT,
        purpose=OrderPurpose.ENTRY,
        qty=3.0,
        created_ts=T0 + 60 * n,
        strategy="s1_trend",
        price=2000.5,
    )
    trade = Trade(
        symbol="BTC-USD",
        strategy="s1_trend",
        qty=entry.qty,
        entry_price=101.5,
        exit_price=95.0,
        entry_ts=entry.created_ts + 60,
        exit_ts=entry.created_ts + 120,
        fees=0.0842,
        pnl=-6.5842,
        exit_reason=OrderPurpose.STOP,
        entry_order_id=entry.client_order_id,
        exit_order_id=exit_order.client_order_id,
    )
    position = Position(
        symbol="SOL-USD",
        qty=12.5,
        avg_price=150.75,
        opened_ts=T0,
        strategy="s1_trend",
        stop_price=140.0,
        target_price=166.0,
        entry_fees=0.33,
        entry_order_id="s1-SOL-entry",
    )
    checkpoint = Checkpoint(
        last_ts={"BTC-USD": T0 + 60 * n, "ETH-USD": T0 + 60 * n - 60},
        bars_processed=n,
        cash=9_876.54321,
        realized_pnl=-6.5842,
        fees=0.1263,
        peak_equity=10_000.0,
        risk=RiskState(
            day=T0 // 86_400,
            day_start_equity=10_000.0,
            loss_streak=2,
            cooldown_until=T0 + 86_400,
            daily_halted=True,
            kill_switches=((KillSwitchReason.STALE_MARKET_DATA, "no bar for 120 s"),),
        ),
    )
    equity = EquitySnapshot(
        ts=T0 + 60 * n,
        equity=9_990.0,
        cash=9_876.54321,
        realized_pnl=-6.5842,
        unrealized_pnl=3.25,
        fees=0.1263,
        drawdown=0.001,
    )
    return UnitOfWork(
        checkpoint=checkpoint,
        orders=(entry, exit_order, pending),
        fills=(fill_for(entry), fill_for(exit_order, price=95.0)),
        trades=(trade,),
        positions=(position,),
        equity=equity,
    )


def _count(db_path: Path, table: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# -- schema -----------------------------------------------------------------------------------


def test_migrate_creates_schema_on_fresh_file_and_is_noop_second_time(db_path: Path) -> None:
    first = SqlStore(_url(db_path))
    first.migrate()
    first.close()
    with sqlite3.connect(db_path) as conn:
        schema_before = conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    tables = {name for kind, name, _ in schema_before if kind == "table"}
    assert {
        "orders",
        "fills",
        "positions",
        "trades",
        "equity_snapshots",
        "checkpoint",
        "store_heartbeat",
        "alembic_version",
    } <= tables
    assert version == [(head_revision(),)]

    second = SqlStore(_url(db_path))
    second.migrate()
    second.migrate()
    second.close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall() == (
            schema_before
        )
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == version
        assert conn.execute("SELECT count(*) FROM store_heartbeat").fetchone() == (1,)


def test_migrated_schema_matches_the_code_tables(store: SqlStore, db_path: Path) -> None:
    engine = create_engine(_url(db_path))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_runs_in_wal_with_foreign_keys(store: SqlStore, db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    # Per-connection pragmas, read through the store's own pool.
    with store._engine.connect() as conn:  # pragmas live per connection
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    assert store.integrity_check() == "ok"


# -- round trips and idempotency --------------------------------------------------------------


def test_fresh_database_loads_nothing(store: SqlStore) -> None:
    state = store.load()
    assert state.checkpoint is None
    assert state.positions == ()
    assert state.open_orders == ()
    assert state.recent_trades == ()


def test_every_model_round_trips(store: SqlStore) -> None:
    unit = full_unit()
    store.commit(unit)

    state = store.load()
    assert state.checkpoint == unit.checkpoint
    assert state.positions == unit.positions
    assert state.open_orders == (unit.orders[2],)
    assert state.recent_trades == unit.trades

    orders = store.list_orders(limit=10, offset=0)
    assert set(orders.items) == set(unit.orders)
    assert set(store.list_fills(10, 0).items) == set(unit.fills)
    assert store.list_trades(10, 0).items == unit.trades
    assert store.list_equity(10) == [unit.equity]


def test_recommitting_the_same_unit_changes_nothing(store: SqlStore, db_path: Path) -> None:
    unit = full_unit()
    store.commit(unit)
    before = {t: _count(db_path, t) for t in ("orders", "fills", "trades", "equity_snapshots")}
    state_before = store.load()
    for _ in range(3):
        store.commit(unit)
    assert {t: _count(db_path, t) for t in before} == before
    assert before == {"orders": 3, "fills": 2, "trades": 1, "equity_snapshots": 1}
    assert store.load() == state_before


def test_a_replayed_older_unit_does_not_reopen_a_finished_order(store: SqlStore) -> None:
    pending = entry_order(1, status=OrderStatus.PENDING)
    filled = entry_order(1, status=OrderStatus.FILLED)
    store.commit(UnitOfWork(checkpoint=Checkpoint(bars_processed=1), orders=(pending,)))
    assert store.load().open_orders == (pending,)
    store.commit(
        UnitOfWork(
            checkpoint=Checkpoint(bars_processed=2), orders=(filled,), fills=(fill_for(filled),)
        )
    )
    store.commit(UnitOfWork(checkpoint=Checkpoint(bars_processed=1), orders=(pending,)))
    assert store.load().open_orders == ()
    assert store.list_orders(10, 0).items == (filled,)


def test_pending_order_status_and_fields_are_updated(store: SqlStore) -> None:
    pending = entry_order(1, status=OrderStatus.PENDING)
    store.commit(UnitOfWork(checkpoint=Checkpoint(), orders=(pending,)))
    cancelled = replace(pending, status=OrderStatus.CANCELLED, reason="paused")
    store.commit(UnitOfWork(checkpoint=Checkpoint(), orders=(cancelled,)))
    assert store.list_orders(10, 0).items == (cancelled,)


def test_position_with_zero_qty_is_deleted(store: SqlStore) -> None:
    unit = full_unit()
    store.commit(unit)
    opened = unit.positions[0]
    moved = replace(opened, stop_price=145.0)
    store.commit(UnitOfWork(checkpoint=Checkpoint(bars_processed=2), positions=(moved,)))
    assert store.load().positions == (moved,)
    closed = replace(opened, qty=0.0)
    store.commit(UnitOfWork(checkpoint=Checkpoint(bars_processed=3), positions=(closed,)))
    assert store.load().positions == ()


def test_a_unit_is_all_or_nothing(store: SqlStore, db_path: Path) -> None:
    """A fill whose order was never written is refused, and nothing of its unit remains."""
    orphan = fill_for(entry_order(7))
    good_order = entry_order(8, status=OrderStatus.PENDING)
    unit = UnitOfWork(
        checkpoint=Checkpoint(bars_processed=99),
        orders=(good_order,),
        fills=(orphan,),
        equity=full_unit().equity,
    )
    with pytest.raises(IntegrityError):
        store.commit(unit)
    assert store.load().checkpoint is None
    assert [_count(db_path, t) for t in ("orders", "fills", "equity_snapshots")] == [0, 0, 0]


# -- read side --------------------------------------------------------------------------------


def test_paging_is_newest_first_with_total(store: SqlStore) -> None:
    orders = [entry_order(n, status=OrderStatus.PENDING) for n in range(25)]
    for n, order in enumerate(orders):
        store.commit(UnitOfWork(checkpoint=Checkpoint(bars_processed=n), orders=(order,)))
    newest_first = orders[::-1]

    first = store.list_orders(limit=10, offset=0)
    assert (first.total, first.limit, first.offset) == (25, 10, 0)
    assert first.items == tuple(newest_first[:10])
    assert store.list_orders(limit=10, offset=20).items == tuple(newest_first[20:])
    assert store.list_orders(limit=10, offset=30).items == ()
    assert store.list_orders(limit=0, offset=0).total == 25
    with pytest.raises(ValueError):
        store.list_orders(limit=-1, offset=0)

    fills = [fill_for(o) for o in orders[:12]]
    store.commit(UnitOfWork(checkpoint=Checkpoint(bars_processed=30), fills=tuple(fills)))
    page = store.list_fills(limit=5, offset=5)
    assert page.total == 12
    assert page.items == tuple(fills[::-1][5:10])


def test_list_equity_returns_the_latest_oldest_first(store: SqlStore) -> None:
    snaps = [
        EquitySnapshot(
            ts=T0 + 60 * (n // 2),
            equity=10_000.0 + n,
            cash=1.0,
            realized_pnl=0.0,
            unrealized_pnl=0.0,
            fees=0.0,
            drawdown=0.0,
        )
        for n in range(1, 21)
    ]  # two snapshots per bar time: several symbols share a minute
    for n, snap in enumerate(snaps, start=1):
        store.commit(UnitOfWork(checkpoint=Checkpoint(bars_processed=n), equity=snap))
    assert store.list_equity(5) == snaps[-5:]
    assert store.list_equity(100) == snaps
    assert store.list_equity(100, since_ts=T0 + 60 * 8) == snaps[15:]
    assert store.list_equity(2, since_ts=T0 + 60 * 8) == snaps[-2:]


def test_readers_run_alongside_the_writer(store: SqlStore) -> None:
    errors: list[BaseException] = []
    totals: list[int] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                page = store.list_orders(limit=5, offset=0)
                totals.append(page.total)
                assert len(page.items) == min(5, page.total)
                store.list_equity(10)
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        for n in range(1, 201):
            unit = full_unit(n)
            store.commit(unit)
    finally:
        done.set()
        for thread in readers:
            thread.join(timeout=10)
    assert errors == []
    assert totals and max(totals) <= 600
    assert store.list_orders(1, 0).total == 600


def test_commit_rate_meets_the_live_daemon_needs(store: SqlStore) -> None:
    """The live daemon commits once per bar, about 20 per second; demand far more headroom."""
    units = [full_unit(n) for n in range(1, 201)]
    started = time.perf_counter()
    for unit in units:
        store.commit(unit)
    rate = len(units) / (time.perf_counter() - started)
    assert rate > 100, f"only {rate:.0f} commits/s"


# -- writability ------------------------------------------------------------------------------


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make ``paths`` unwritable in a way that also binds root.

    Root bypasses permission bits, so as root the immutable attribute is set (``chattr +i``,
    needs CAP_LINUX_IMMUTABLE and a file system with attributes, such as ext4); otherwise the
    write bits are removed. Either way the change is undone on exit.

    Never pass the ``-shm`` file: SQLite maps it into memory, and making a mapped file
    immutable under a live connection turns its next write into SIGBUS (no real read-only
    mount can do that: Linux refuses to remount read-only while files are open for writing).
    """
    existing = [p for p in paths if p.exists()]
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None:
            pytest.skip("running as root without chattr: cannot make a file read-only to root")
        result = subprocess.run([chattr, "+i", *map(str, existing)], capture_output=True)
        if result.returncode != 0:
            subprocess.run([chattr, "-i", *map(str, existing)], capture_output=True)
            pytest.skip(f"chattr +i unsupported here: {result.stderr.decode().strip()}")
        try:
            yield
        finally:
            subprocess.run([chattr, "-i", *map(str, existing)], check=True)
    else:
        modes = {p: p.stat().st_mode for p in existing}
        for p in existing:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)


def test_check_writable_fails_on_read_only_directory_and_recovers(
    store: SqlStore, db_path: Path
) -> None:
    store.commit(full_unit())
    store.check_writable()
    with read_only(db_path.parent, db_path, Path(f"{db_path}-wal")):
        with pytest.raises(StoreError) as failure:
            store.check_writable()
        assert str(db_path) in str(failure.value)
        assert "chown" in str(failure.value)
        assert isinstance(failure.value, OSError)
    store.check_writable()
    store.commit(full_unit(2))
    assert store.load().checkpoint == full_unit(2).checkpoint


def test_check_writable_fails_on_read_only_database_file(store: SqlStore, db_path: Path) -> None:
    store.commit(full_unit())
    with read_only(db_path), pytest.raises(StoreError, match="readonly database"):
        store.check_writable()
    store.check_writable()


def test_commit_to_a_read_only_database_raises_store_error_and_recovers(
    store: SqlStore, db_path: Path
) -> None:
    store.commit(full_unit(1))
    # Fresh connections, as after a restart: a connection that opened the file read-write keeps
    # its descriptors, which permission bits (unlike a read-only mount) do not revoke.
    store.close()
    with read_only(db_path, Path(f"{db_path}-wal")):
        with pytest.raises(StoreError, match="could not commit a unit of work") as failure:
            store.commit(full_unit(2))
        assert str(db_path) in str(failure.value)
    assert store.load().checkpoint == full_unit(1).checkpoint  # nothing of unit 2 landed
    store.commit(full_unit(3))
    assert store.load().checkpoint == full_unit(3).checkpoint
    assert store.integrity_check() == "ok"


def test_heartbeat_is_a_real_committed_write(store: SqlStore, db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        before = conn.execute("SELECT counter FROM store_heartbeat").fetchone()[0]
    store.check_writable()
    store.check_writable()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT counter FROM store_heartbeat").fetchone()[0] == before + 2


def test_unwritable_data_directory_is_an_operator_error(tmp_path: Path) -> None:
    data = tmp_path / "ro-data"
    data.mkdir()
    with read_only(data), pytest.raises(StoreError) as failure:
        SqlStore(_url(data / "grodt.db"))
    message = str(failure.value)
    assert str(data) in message
    assert f"chown -R {os.geteuid()}:{os.getegid()}" in message


def test_missing_data_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "grodt.db"
    store = SqlStore(_url(path))
    store.migrate()
    store.check_writable()
    store.close()
    assert path.is_file()


# -- crash safety -----------------------------------------------------------------------------

CRASH_CHILD = textwrap.dedent(
    """
    import sys
    from grodtd.adapters.store import SqlStore
    from grodtd.core.models import (Checkpoint, EquitySnapshot, Fill, Order, OrderKind,
        OrderPurpose, OrderStatus, Position, Side, Trade)
    from grodtd.core.ports import UnitOfWork

    store = SqlStore(sys.argv[1])
    store.migrate()
    cp = store.load().checkpoint
    n = cp.bars_processed if cp else 0
    cash = cp.cash if cp else 10_000.0
    fees = cp.fees if cp else 0.0
    pnl = cp.realized_pnl if cp else 0.0
    print("ready", n, flush=True)

    def order(oid, side, status, purpose, ts):
        return Order(oid, "BTC-USD", side, OrderKind.MARKET, purpose, 1.0, ts, "s1",
                     status=status)

    while True:
        n += 1
        ts = 1_767_225_600 + 60 * n
        price = 100.0 + (n % 17) * 0.37
        fee = 0.01 * (1 + n % 5)
        orders = [order(f"p{n}", Side.BUY, OrderStatus.PENDING, OrderPurpose.ENTRY, ts)]
        if n > 1:
            orders.append(order(f"p{n-1}", Side.BUY, OrderStatus.CANCELLED,
                                OrderPurpose.ENTRY, ts - 60))
        fills, trades, positions = [], [], []
        if n % 2:
            entry = order(f"e{n}", Side.BUY, OrderStatus.FILLED, OrderPurpose.ENTRY, ts)
            orders.append(entry)
            fills.append(Fill(entry.client_order_id, "BTC-USD", Side.BUY, 1.0, price, fee, ts))
            positions.append(Position("BTC-USD", 1.0, price, ts, "s1", price - 5, price + 5,
                                      fee, entry.client_order_id))
            cash -= price + fee
        else:
            exit_ = order(f"x{n}", Side.SELL, OrderStatus.FILLED, OrderPurpose.TARGET, ts)
            orders.append(exit_)
            fills.append(Fill(exit_.client_order_id, "BTC-USD", Side.SELL, 1.0, price, fee, ts))
            trades.append(Trade("BTC-USD", "s1", 1.0, 0.0, price, ts - 60, ts, fee, price,
                                OrderPurpose.TARGET, f"e{n-1}", exit_.client_order_id))
            positions.append(Position("BTC-USD", 0.0, 0.0, ts, "s1", 0.0, 0.0))
            cash += price - fee
            pnl += price
        fees += fee
        unit = UnitOfWork(
            checkpoint=Checkpoint(last_ts={"BTC-USD": ts}, bars_processed=n, cash=cash,
                                  realized_pnl=pnl, fees=fees, peak_equity=10_000.0),
            orders=tuple(orders), fills=tuple(fills), trades=tuple(trades),
            positions=tuple(positions),
            equity=EquitySnapshot(ts, cash, cash, pnl, 0.0, fees, 0.0),
        )
        store.commit(unit)
        if n % 5 == 0:
            store.commit(unit)  # a replay, as after a crash with an uncertain last commit
    """
)


def assert_consistent(db_path: Path) -> int:
    """Check that the tables hold exactly the units up to the checkpoint; return its counter.

    Run straight after a SIGKILL, before anything could replay and heal a half-written unit,
    so a commit that were not atomic would show here as rows the checkpoint does not cover.
    """
    store = SqlStore(_url(db_path))
    try:
        assert store.integrity_check() == "ok"
        state = store.load()
        assert state.checkpoint is not None
        n = state.checkpoint.bars_processed
        with sqlite3.connect(db_path) as conn:

            def q(sql: str) -> list[tuple[object, ...]]:
                return conn.execute(sql).fetchall()

            assert q("PRAGMA foreign_key_check") == []
            assert q(
                "SELECT count(*) FROM fills f LEFT JOIN orders o "
                "ON o.client_order_id = f.client_order_id WHERE o.id IS NULL"
            ) == [(0,)]
            assert q("SELECT count(*), count(DISTINCT client_order_id) FROM fills") == [(n, n)]
            assert q("SELECT count(*) FROM orders") == [(2 * n,)]
            assert q("SELECT count(*), count(DISTINCT exit_order_id) FROM trades") == [
                (n // 2, n // 2)
            ]
            assert q("SELECT count(*), min(seq), max(seq) FROM equity_snapshots") == [(n, 1, n)]
            fills = q("SELECT side, price, fee FROM fills ORDER BY id")
            pnl = q("SELECT coalesce(sum(pnl), 0) FROM trades")[0][0]

        cash, fees = 10_000.0, 0.0
        for side, price, fee in fills:
            assert isinstance(price, float) and isinstance(fee, float)
            cash += (price if side == "sell" else -price) - fee
            fees += fee
        assert state.checkpoint.cash == pytest.approx(cash, rel=1e-12)
        assert state.checkpoint.fees == pytest.approx(fees, rel=1e-12)
        assert state.checkpoint.realized_pnl == pytest.approx(pnl, rel=1e-12)
        assert state.checkpoint.last_ts == {"BTC-USD": T0 + 60 * n}
        assert [o.client_order_id for o in state.open_orders] == [f"p{n}"]
        assert [p.symbol for p in state.positions] == (["BTC-USD"] if n % 2 else [])
        assert store.list_equity(1)[0].cash == state.checkpoint.cash
        return n
    finally:
        store.close()


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_a_consistent_store(db_path: Path) -> None:
    rng = random.Random(20261127)
    db_path.parent.mkdir(parents=True)
    progress: list[int] = []
    for _ in range(12):
        child = subprocess.Popen(
            [sys.executable, "-c", CRASH_CHILD, _url(db_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stderr is not None
        line = child.stdout.readline()
        assert line.startswith("ready"), child.stderr.read()
        resumed_at = int(line.split()[1])
        time.sleep(rng.uniform(0.05, 0.4))
        assert child.poll() is None, child.stderr.read()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL
        child.stdout.close()
        child.stderr.close()
        # Resumed exactly where the previous run's last committed unit left off.
        assert resumed_at == (progress[-1] if progress else 0)
        progress.append(assert_consistent(db_path))
    # Kills are meant to land mid-commit, so the children must have been committing; a loaded
    # machine may starve one of them, hence "most rounds" rather than every round.
    advanced = sum(after > before for before, after in zip([0, *progress], progress, strict=False))
    assert advanced >= 8, progress


# -- PostgreSQL (a real server; CI starts one) ------------------------------------------------


def test_postgres_url_without_driver_tells_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As on an install without the postgres extra: importing psycopg fails.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StoreError, match=r"grodt\[postgres\]"):
        SqlStore("postgresql+psycopg://grodt@127.0.0.1:1/grodt")


@pytest.fixture
def pg_store() -> Iterator[SqlStore]:
    """A SqlStore on a brand-new database of the real PostgreSQL server (tests/support/postgres)."""
    with fresh_database() as url:
        store = SqlStore(url)
        try:
            yield store
        finally:
            store.close()


def test_postgres_round_trip_idempotency_and_paging(pg_store: SqlStore) -> None:
    assert pg_store.dialect == "postgresql"
    pg_store.migrate()
    pg_store.migrate()
    assert pg_store.load().checkpoint is None

    unit = full_unit()
    for _ in range(2):
        pg_store.commit(unit)
    state = pg_store.load()
    assert state.checkpoint == unit.checkpoint
    assert state.positions == unit.positions
    assert state.open_orders == (unit.orders[2],)
    assert state.recent_trades == unit.trades
    assert pg_store.list_fills(10, 0).total == 2
    assert pg_store.list_trades(10, 0).items == unit.trades
    assert pg_store.list_equity(10) == [unit.equity]

    for n in range(2, 12):
        pg_store.commit(full_unit(n))
    page = pg_store.list_orders(limit=4, offset=2)
    assert page.total == 33
    assert [o.created_ts for o in page.items] == sorted(
        (o.created_ts for o in page.items), reverse=True
    )

    with pytest.raises(IntegrityError):
        pg_store.commit(
            UnitOfWork(checkpoint=Checkpoint(bars_processed=99), fills=(fill_for(entry_order(99)),))
        )
    assert pg_store.load().checkpoint == full_unit(11).checkpoint
    pg_store.check_writable()
    assert pg_store.integrity_check() == "not applicable on postgresql"
