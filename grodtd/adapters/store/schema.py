"""The store's tables as SQLAlchemy Core objects: the code's view of the schema.

The migrations under ``grodtd/migrations`` are the source of truth for what is on disk; a test
compares a migrated database with this metadata so the two cannot drift apart silently.
Timestamps are integer epoch seconds, like the domain; enums are stored as their string values.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# Deterministic constraint names, so later migrations (and SQLite batch mode) can address them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# ``id`` gives a stable insertion order for newest-first listings on every dialect; the client
# order id is the natural key everything else refers to.
orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_order_id", String(128), nullable=False, unique=True),
    Column("symbol", String(64), nullable=False),
    Column("side", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("qty", Double, nullable=False),
    Column("price", Double, nullable=True),
    Column("stop_price", Double, nullable=True),
    Column("target_price", Double, nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_orders_status", "status"),
    Index("ix_orders_created_ts", "created_ts"),
)

# One fill per order, enforced by the database: a replayed unit of work can never add a second.
fills = Table(
    "fills",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "client_order_id",
        String(128),
        ForeignKey("orders.client_order_id"),
        nullable=False,
        unique=True,
    ),
    Column("symbol", String(64), nullable=False),
    Column("side", String(16), nullable=False),
    Column("qty", Double, nullable=False),
    Column("price", Double, nullable=False),
    Column("fee", Double, nullable=False),
    Column("slippage", Double, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Index("ix_fills_ts", "ts"),
)

positions = Table(
    "positions",
    metadata,
    Column("symbol", String(64), primary_key=True),
    Column("qty", Double, nullable=False),
    Column("avg_price", Double, nullable=False),
    Column("opened_ts", BigInteger, nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("stop_price", Double, nullable=False),
    Column("target_price", Double, nullable=False),
    Column("entry_fees", Double, nullable=False),
    Column("entry_order_id", String(128), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# A trade is closed by exactly one exit order, so the exit order id is its idempotency key.
trades = Table(
    "trades",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("symbol", String(64), nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("qty", Double, nullable=False),
    Column("entry_price", Double, nullable=False),
    Column("exit_price", Double, nullable=False),
    Column("entry_ts", BigInteger, nullable=False),
    Column("exit_ts", BigInteger, nullable=False),
    Column("fees", Double, nullable=False),
    Column("pnl", Double, nullable=False),
    Column("exit_reason", String(32), nullable=False),
    Column("entry_order_id", String(128), nullable=False),
    Column(
        "exit_order_id",
        String(128),
        ForeignKey("orders.client_order_id"),
        nullable=False,
        unique=True,
    ),
    Index("ix_trades_exit_ts", "exit_ts"),
)

# Keyed by the checkpoint's bar counter: several symbols share a bar time, so ``ts`` is not
# unique, but every unit of work has its own counter value, which makes a replay a no-op.
equity_snapshots = Table(
    "equity_snapshots",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", BigInteger, nullable=False),
    Column("equity", Double, nullable=False),
    Column("cash", Double, nullable=False),
    Column("realized_pnl", Double, nullable=False),
    Column("unrealized_pnl", Double, nullable=False),
    Column("fees", Double, nullable=False),
    Column("drawdown", Double, nullable=False),
    Index("ix_equity_snapshots_ts", "ts"),
)

# A single row. ``last_ts`` and ``risk`` are JSON text: both are small, always read whole, and
# new risk fields then need no migration (missing keys fall back to the dataclass defaults).
checkpoint = Table(
    "checkpoint",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("bars_processed", BigInteger, nullable=False),
    Column("cash", Double, nullable=False),
    Column("realized_pnl", Double, nullable=False),
    Column("fees", Double, nullable=False),
    Column("peak_equity", Double, nullable=False),
    Column("last_ts", Text, nullable=False),
    Column("risk", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

# Readiness proves writability by really updating this row (see SqlStore.check_writable).
heartbeat = Table(
    "store_heartbeat",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("written_at", BigInteger, nullable=False),
    Column("counter", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

# A single row: the operator's standing orders (pause), written the moment they are given.
operator_intent = Table(
    "operator_intent",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("paused", Boolean, nullable=False),
    Column("since", BigInteger, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

CHECKPOINT_ID = 1
INTENT_ID = 1
HEARTBEAT_ID = 1
