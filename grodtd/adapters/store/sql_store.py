"""SqlStore: the engine's durable state and the web interface's history, in one database.

One ``commit`` per processed bar writes everything that bar changed in one transaction, and
every write in it is idempotent, so replaying a unit of work after a crash (the engine resumes
from the checkpoint and re-derives the same client order ids) changes nothing twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from grodtd.adapters.store import history, mapping, schema
from grodtd.adapters.store.engine import (
    WRITE_OPTION,
    make_engine,
    probe_directory,
    sqlite_path,
    unwritable_message,
)
from grodtd.adapters.store.errors import StoreError
from grodtd.adapters.store.lock import AdvisoryLock, FileLock, StoreLock
from grodtd.adapters.store.migrations import upgrade_to_head
from grodtd.core.models import EquitySnapshot, Fill, OperatorIntent, Order, OrderStatus, Trade
from grodtd.core.ports import Page, RecoveredState, UnitOfWork

# Order columns an upsert may change; identity and creation fields never change.
_ORDER_MUTABLE = (
    "status",
    "qty",
    "price",
    "stop_price",
    "target_price",
    "reason",
    "updated_at",
)
_POSITION_MUTABLE = tuple(c.name for c in schema.positions.columns if c.name != "symbol")
_EQUITY_MUTABLE = tuple(c.name for c in schema.equity_snapshots.columns if c.name != "seq")
_CHECKPOINT_MUTABLE = tuple(c.name for c in schema.checkpoint.columns if c.name != "id")
_INTENT_MUTABLE = tuple(c.name for c in schema.operator_intent.columns if c.name != "id")


class SqlStore:
    """``core.ports.Store`` and ``core.ports.StoreReader`` over SQLAlchemy Core.

    Thread-safe: the engine's event-loop thread commits while web threads read; each call
    checks its own connection out of the pool. ``clock`` stamps ``updated_at`` columns (wall
    time of the write, for operators), never domain timestamps.
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], float] = time.time,
        recent_trades: int = 50,
    ) -> None:
        self._url = make_url(url)
        self._clock = clock
        self._recent_trades = recent_trades
        self._db_path = sqlite_path(self._url)
        if self._db_path is not None:
            probe_directory(self._db_path)
            # Pin a relative path now, so a later change of working directory cannot move it.
            self._url = self._url.set(database=str(self._db_path))
        self._engine = make_engine(self._url)
        self._equity_sampler = history.EquitySampler()
        self._writer = self._engine.execution_options(**{WRITE_OPTION: True})
        # In-memory SQLite exists only inside its one shared connection: probe through it.
        self._probe: Engine = (
            make_engine(self._url, probe=True) if self._db_path is not None else self._engine
        )
        self._statements = _Statements(self._engine.dialect.name)
        self._lock: StoreLock | None = None

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @property
    def path(self) -> Path | None:
        """The SQLite database file, or None for PostgreSQL and in-memory databases."""
        return self._db_path

    # -- lifecycle -------------------------------------------------------------------------

    def lock_exclusive(self) -> None:
        """Take the one-daemon-per-store lock (``StoreLockedError`` names who holds it).

        Held until ``close``; an in-memory database is private to this process and needs none.
        """
        if self._lock is not None:
            return
        if self._db_path is not None:
            self._lock = FileLock(self._db_path)
        elif self.dialect == "postgresql":
            self._lock = AdvisoryLock(self._url)

    def migrate(self) -> None:
        """Run Alembic ``upgrade head``: creates the schema on a fresh database, else a no-op."""
        with self._guard("migrate the schema"), self._writer.begin() as conn:
            upgrade_to_head(conn)

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self._engine.dispose()
        if self._probe is not self._engine:
            self._probe.dispose()

    # -- write side ------------------------------------------------------------------------

    def commit(self, unit: UnitOfWork) -> None:
        """Write ``unit`` in one transaction; replaying the same unit is a no-op.

        Idempotency keys: orders by client order id (a pending order is updated, a filled,
        rejected or cancelled one is final), fills by client order id, trades by exit order
        id, the equity snapshot by ``checkpoint.bars_processed`` (so commit at most one
        snapshot per processed bar; a second one with the same counter replaces the first).
        A fill or trade whose order is in neither this unit nor the database violates a
        foreign key: the driver's ``IntegrityError`` propagates and nothing of the unit stays.
        """
        now = int(self._clock())
        st = self._statements
        with self._guard("commit a unit of work"), self._writer.begin() as conn:
            if unit.orders:
                conn.execute(st.upsert_order, [mapping.order_to_row(o, now) for o in unit.orders])
            if unit.fills:
                conn.execute(st.insert_fill, [mapping.fill_to_row(f) for f in unit.fills])
            if unit.trades:
                conn.execute(st.insert_trade, [mapping.trade_to_row(t) for t in unit.trades])
            open_positions = [p for p in unit.positions if p.qty != 0]
            closed = [p.symbol for p in unit.positions if p.qty == 0]
            if open_positions:
                conn.execute(
                    st.upsert_position,
                    [mapping.position_to_row(p, now) for p in open_positions],
                )
            if closed:
                conn.execute(delete(schema.positions).where(schema.positions.c.symbol.in_(closed)))
            if unit.equity is not None:
                seq = unit.checkpoint.bars_processed
                conn.execute(st.upsert_equity, mapping.equity_to_row(unit.equity, seq))
            conn.execute(
                st.upsert_checkpoint,
                mapping.checkpoint_to_row(unit.checkpoint, schema.CHECKPOINT_ID, now),
            )

    def save_intent(self, intent: OperatorIntent) -> None:
        """Record the operator's intent at once, in its own transaction, before it is obeyed."""
        row = mapping.intent_to_row(intent, schema.INTENT_ID, int(self._clock()))
        with self._guard("record the operator's intent"), self._writer.begin() as conn:
            conn.execute(self._statements.upsert_intent, row)

    def check_writable(self) -> None:
        """Commit a real (tiny) write through a fresh connection, or raise.

        Readiness calls this. A new connection each time, because SQLite fixes a connection's
        read-only state when it opens; the directory probe catches a read-only data directory
        that SQLite would only notice when it next has to create its ``-wal`` file.
        """
        if self._lock is not None:
            self._lock.check()
        if self._db_path is not None:
            probe_directory(self._db_path)
        hb = schema.heartbeat
        try:
            with self._probe.execution_options(**{WRITE_OPTION: True}).begin() as conn:
                written = conn.execute(
                    update(hb)
                    .where(hb.c.id == schema.HEARTBEAT_ID)
                    .values(written_at=int(self._clock()), counter=hb.c.counter + 1)
                ).rowcount
        except DBAPIError as exc:
            self._engine.dispose()  # do not keep connections opened in a read-only state
            raise StoreError(self._failure_message("write the heartbeat", exc)) from exc
        if written != 1:
            raise StoreError(
                "the store's heartbeat row is missing: the schema is not migrated; "
                "start the daemon once so it runs its migrations"
            )

    # -- recovery --------------------------------------------------------------------------

    def load(self) -> RecoveredState:
        """What a restarting engine needs; recent trades oldest first (chronological)."""
        o, p, t = schema.orders, schema.positions, schema.trades
        with self._guard("load the recovered state"), self._engine.begin() as conn:
            row = conn.execute(
                select(schema.checkpoint).where(schema.checkpoint.c.id == schema.CHECKPOINT_ID)
            ).first()
            positions = conn.execute(select(p).order_by(p.c.symbol)).mappings().all()
            open_orders = (
                conn.execute(
                    select(o)
                    .where(o.c.status == OrderStatus.PENDING.value)
                    .order_by(o.c.created_ts, o.c.id)
                )
                .mappings()
                .all()
            )
            intent = conn.execute(
                select(schema.operator_intent).where(
                    schema.operator_intent.c.id == schema.INTENT_ID
                )
            ).first()
            recent = (
                conn.execute(
                    select(t).order_by(t.c.exit_ts.desc(), t.c.id.desc()).limit(self._recent_trades)
                )
                .mappings()
                .all()
            )
        return RecoveredState(
            checkpoint=mapping.checkpoint_from_row(row._mapping) if row is not None else None,
            positions=tuple(mapping.position_from_row(r) for r in positions),
            open_orders=tuple(mapping.order_from_row(r) for r in open_orders),
            recent_trades=tuple(mapping.trade_from_row(r) for r in reversed(recent)),
            intent=(
                mapping.intent_from_row(intent._mapping) if intent is not None else OperatorIntent()
            ),
        )

    # -- read side -------------------------------------------------------------------------

    def list_orders(
        self,
        limit: int,
        offset: int,
        *,
        statuses: frozenset[OrderStatus] | None = None,
        symbol: str | None = None,
    ) -> Page[Order]:
        o = schema.orders
        where: list[ColumnElement[bool]] = [o.c.status.in_(sorted(statuses))] if statuses else []
        if symbol:
            where.append(o.c.symbol == symbol)
        return self._page(o, (o.c.created_ts, o.c.id), mapping.order_from_row, limit, offset, where)

    def list_fills(self, limit: int, offset: int) -> Page[Fill]:
        f = schema.fills
        return self._page(f, (f.c.ts, f.c.id), mapping.fill_from_row, limit, offset)

    def list_trades(self, limit: int, offset: int, *, symbol: str | None = None) -> Page[Trade]:
        t = schema.trades
        where = [t.c.symbol == symbol] if symbol else []
        return self._page(t, (t.c.exit_ts, t.c.id), mapping.trade_from_row, limit, offset, where)

    def list_equity(self, limit: int, since_ts: int | None = None) -> list[EquitySnapshot]:
        _check_window(limit, 0)
        e = schema.equity_snapshots
        query = select(e).order_by(e.c.seq.desc()).limit(limit)
        if since_ts is not None:
            query = query.where(e.c.ts >= since_ts)
        with self._guard("read equity snapshots"), self._engine.begin() as conn:
            rows = conn.execute(query).mappings().all()
        return [mapping.equity_from_row(r) for r in reversed(rows)]

    def equity_history(self, points: int, since_ts: int | None = None) -> list[EquitySnapshot]:
        """At most ``points`` snapshots spanning the whole history (see ``EquitySampler``)."""
        _check_window(points, 0)
        with self._guard("read equity history"), self._engine.begin() as conn:
            return self._equity_sampler.sample(conn, max(points, 1), since_ts)

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` ("ok" when healthy); PostgreSQL has no
        equivalent, so it answers "not applicable" rather than claim a check it did not do."""
        if self.dialect != "sqlite":
            return f"not applicable on {self.dialect}"
        with self._guard("check integrity"), self._engine.connect() as conn:
            rows = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
        return "\n".join(str(r) for r in rows)

    # -- helpers ---------------------------------------------------------------------------

    def _page[T](
        self,
        table: Table,
        order_by: tuple[Any, ...],
        build: Callable[[mapping.Row], T],
        limit: int,
        offset: int,
        where: Sequence[ColumnElement[bool]] = (),
    ) -> Page[T]:
        _check_window(limit, offset)
        # One read transaction: the total and the items come from the same snapshot.
        with self._guard(f"read {table.name}"), self._engine.begin() as conn:
            total, rows = history.filtered_rows(conn, table, order_by, where, limit, offset)
        return Page(items=tuple(build(r) for r in rows), total=total, limit=limit, offset=offset)

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn driver errors an operator can act on into StoreError; drop stale connections.

        Constraint violations (a fill without its order) are programming errors and pass
        through unchanged, so the engine's caller sees the driver's precise message.
        """
        try:
            yield
        except DBAPIError as exc:
            if _is_operational(exc):
                self._engine.dispose()  # a broken or read-only connection must not be reused
                raise StoreError(self._failure_message(action, exc)) from exc
            raise

    def _failure_message(self, action: str, exc: DBAPIError) -> str:
        problem = str(exc.orig) if exc.orig is not None else str(exc)
        if self._db_path is not None and _disk_full(problem):
            return (
                f"the data directory {self._db_path.parent} is full: could not {action} "
                f"({problem}); free space or grow the volume, then restart: the store is "
                "intact and the bar that failed is replayed"
            )
        if self._db_path is not None:
            return unwritable_message(self._db_path, f"could not {action} ({problem})")
        return (
            f"the store could not {action} on {self._url.render_as_string(hide_password=True)}"
            f" ({problem}); check that the database server is up and the user may write"
        )


def _disk_full(problem: str) -> bool:
    text = problem.lower()
    return "disk is full" in text or "no space left" in text


def _is_operational(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def _check_window(limit: int, offset: int) -> None:
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must be >= 0, got limit={limit} offset={offset}")


class _Statements:
    """The dialect's idempotent upserts, built once: the commit path runs ~20 times a second."""

    def __init__(self, dialect: str) -> None:
        if dialect == "sqlite":
            insert: Any = sqlite.insert
        elif dialect == "postgresql":
            insert = postgresql.insert
        else:
            raise StoreError(
                f"unsupported database dialect {dialect!r}: use a sqlite:/// or "
                "postgresql+psycopg:// URL in GRODT_DATABASE_URL"
            )
        o = schema.orders
        ins = insert(o)
        # A terminal status (filled, rejected, cancelled) is final: replaying an older unit of
        # work after a crash must not turn a filled order back into a pending one.
        self.upsert_order = ins.on_conflict_do_update(
            index_elements=[o.c.client_order_id],
            set_={name: ins.excluded[name] for name in _ORDER_MUTABLE},
            where=o.c.status == OrderStatus.PENDING.value,
        )
        self.insert_fill = insert(schema.fills).on_conflict_do_nothing(
            index_elements=[schema.fills.c.client_order_id]
        )
        self.insert_trade = insert(schema.trades).on_conflict_do_nothing(
            index_elements=[schema.trades.c.exit_order_id]
        )
        self.upsert_position = _upsert(insert, schema.positions, "symbol", _POSITION_MUTABLE)
        self.upsert_equity = _upsert(insert, schema.equity_snapshots, "seq", _EQUITY_MUTABLE)
        self.upsert_checkpoint = _upsert(insert, schema.checkpoint, "id", _CHECKPOINT_MUTABLE)
        self.upsert_intent = _upsert(insert, schema.operator_intent, "id", _INTENT_MUTABLE)


def _upsert(insert: Any, table: Table, key: str, mutable: tuple[str, ...]) -> Any:
    ins = insert(table)
    return ins.on_conflict_do_update(
        index_elements=[table.c[key]], set_={name: ins.excluded[name] for name in mutable}
    )
