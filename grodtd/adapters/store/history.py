"""The dashboard's read queries: filtered pages of orders and trades, equity downsampled.

Kept out of ``sql_store.py`` (the write path and recovery) because these only serve readers;
each takes a connection, so the store decides the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, func, select

from grodtd.adapters.store import mapping, schema
from grodtd.core.models import EquitySnapshot


def filtered_rows(
    conn: Connection,
    table: Table,
    order_by: tuple[Any, ...],
    where: Sequence[ColumnElement[bool]],
    limit: int,
    offset: int,
) -> tuple[int, Sequence[mapping.Row]]:
    """The matching total and one newest-first page of ``table``, in the caller's transaction."""
    total = conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
    query = (
        select(table)
        .where(*where)
        .order_by(*(c.desc() for c in order_by))
        .limit(limit)
        .offset(offset)
    )
    return int(total), conn.execute(query).mappings().all()


def sampled_equity(conn: Connection, points: int, since_ts: int | None) -> list[EquitySnapshot]:
    """At most ``points`` snapshots spread evenly over the whole history, oldest first.

    The span is cut into ``points`` equal time buckets; each bucket is represented by its last
    snapshot (so the curve ends exactly at the current equity) carrying the bucket's deepest
    drawdown, so downsampling never hides a dip the operator must see.
    """
    e = schema.equity_snapshots
    window = [e.c.ts >= since_ts] if since_ts is not None else []
    first, last = conn.execute(select(func.min(e.c.ts), func.max(e.c.ts)).where(*window)).one()
    if first is None:
        return []
    width = max(1, -(-(int(last) - int(first) + 1) // points))  # ceiling division
    bucket = (e.c.ts - int(first)) // width
    grouped = (
        select(
            func.max(e.c.seq).label("seq"),
            func.max(e.c.drawdown).label("worst_drawdown"),
        )
        .where(*window)
        .group_by(bucket)
        .subquery()
    )
    query = (
        select(e, grouped.c.worst_drawdown)
        .join(grouped, grouped.c.seq == e.c.seq)
        .order_by(e.c.seq)
    )
    return [
        replace(mapping.equity_from_row(row), drawdown=float(row["worst_drawdown"]))
        for row in conn.execute(query).mappings()
    ]
