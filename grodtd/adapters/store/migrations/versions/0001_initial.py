"""Initial schema: orders, fills, positions, trades, equity snapshots, checkpoint, heartbeat.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-27

Written out by hand rather than imported from ``schema.py``: a revision is a frozen record of
what the database looked like at that point, and must not change when the code's tables do.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("client_order_id", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("qty", sa.Double, nullable=False),
        sa.Column("price", sa.Double, nullable=True),
        sa.Column("stop_price", sa.Double, nullable=True),
        sa.Column("target_price", sa.Double, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("client_order_id", name="uq_orders_client_order_id"),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_created_ts", "orders", ["created_ts"])

    op.create_table(
        "fills",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("client_order_id", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("qty", sa.Double, nullable=False),
        sa.Column("price", sa.Double, nullable=False),
        sa.Column("fee", sa.Double, nullable=False),
        sa.Column("slippage", sa.Double, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fills"),
        sa.UniqueConstraint("client_order_id", name="uq_fills_client_order_id"),
        sa.ForeignKeyConstraint(
            ["client_order_id"],
            ["orders.client_order_id"],
            name="fk_fills_client_order_id_orders",
        ),
    )
    op.create_index("ix_fills_ts", "fills", ["ts"])

    op.create_table(
        "positions",
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("qty", sa.Double, nullable=False),
        sa.Column("avg_price", sa.Double, nullable=False),
        sa.Column("opened_ts", sa.BigInteger, nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("stop_price", sa.Double, nullable=False),
        sa.Column("target_price", sa.Double, nullable=False),
        sa.Column("entry_fees", sa.Double, nullable=False),
        sa.Column("entry_order_id", sa.String(128), nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("symbol", name="pk_positions"),
    )

    op.create_table(
        "trades",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("qty", sa.Double, nullable=False),
        sa.Column("entry_price", sa.Double, nullable=False),
        sa.Column("exit_price", sa.Double, nullable=False),
        sa.Column("entry_ts", sa.BigInteger, nullable=False),
        sa.Column("exit_ts", sa.BigInteger, nullable=False),
        sa.Column("fees", sa.Double, nullable=False),
        sa.Column("pnl", sa.Double, nullable=False),
        sa.Column("exit_reason", sa.String(32), nullable=False),
        sa.Column("entry_order_id", sa.String(128), nullable=False),
        sa.Column("exit_order_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trades"),
        sa.UniqueConstraint("exit_order_id", name="uq_trades_exit_order_id"),
        sa.ForeignKeyConstraint(
            ["exit_order_id"],
            ["orders.client_order_id"],
            name="fk_trades_exit_order_id_orders",
        ),
    )
    op.create_index("ix_trades_exit_ts", "trades", ["exit_ts"])

    op.create_table(
        "equity_snapshots",
        sa.Column("seq", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("equity", sa.Double, nullable=False),
        sa.Column("cash", sa.Double, nullable=False),
        sa.Column("realized_pnl", sa.Double, nullable=False),
        sa.Column("unrealized_pnl", sa.Double, nullable=False),
        sa.Column("fees", sa.Double, nullable=False),
        sa.Column("drawdown", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_equity_snapshots"),
    )
    op.create_index("ix_equity_snapshots_ts", "equity_snapshots", ["ts"])

    op.create_table(
        "checkpoint",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("bars_processed", sa.BigInteger, nullable=False),
        sa.Column("cash", sa.Double, nullable=False),
        sa.Column("realized_pnl", sa.Double, nullable=False),
        sa.Column("fees", sa.Double, nullable=False),
        sa.Column("peak_equity", sa.Double, nullable=False),
        sa.Column("last_ts", sa.Text, nullable=False),
        sa.Column("risk", sa.Text, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_checkpoint"),
        sa.CheckConstraint("id = 1", name=op.f("ck_checkpoint_single_row")),
    )

    heartbeat = op.create_table(
        "store_heartbeat",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("written_at", sa.BigInteger, nullable=False),
        sa.Column("counter", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_store_heartbeat"),
        sa.CheckConstraint("id = 1", name=op.f("ck_store_heartbeat_single_row")),
    )
    op.bulk_insert(heartbeat, [{"id": 1, "written_at": 0, "counter": 0}])


def downgrade() -> None:
    for table in (
        "store_heartbeat",
        "checkpoint",
        "equity_snapshots",
        "trades",
        "positions",
        "fills",
        "orders",
    ):
        op.drop_table(table)
