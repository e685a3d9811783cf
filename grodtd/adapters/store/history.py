"""The dashboard's read queries: filtered pages of orders and trades, equity downsampled.

Kept out of ``sql_store.py`` (the write path and recovery) because these only serve readers;
each takes a connection, so the store decides the transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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


# Cached samplings kept at once (one per distinct points/since a client asks for).
_MAX_SAMPLINGS = 8


def bucket_width(first_ts: int, last_ts: int, points: int) -> int:
    """Seconds per bucket: the smallest power of two that fits the span into ``points``.

    A power of two rather than the exact span / points, so the buckets stay the same while the
    history grows (until its span doubles) and a poll only has to add the newest rows; the
    curve then has between ``points / 2`` and ``points`` points.
    """
    width = 1
    while (last_ts - first_ts + 1) > width * points:
        width *= 2
    return width


@dataclass
class _Sampling:
    first_ts: int
    width: int
    last_seq: int
    # bucket -> (seq of its newest snapshot, that snapshot carrying the bucket's worst drawdown)
    buckets: dict[int, tuple[int, EquitySnapshot]] = field(default_factory=dict)

    def add(self, seq: int, point: EquitySnapshot) -> None:
        bucket = (point.ts - self.first_ts) // self.width
        held = self.buckets.get(bucket)
        if held is not None:
            worst = max(held[1].drawdown, point.drawdown)
            if seq < held[0]:
                seq, point = held
            point = replace(point, drawdown=worst)
        self.buckets[bucket] = (seq, point)
        self.last_seq = max(self.last_seq, seq)

    def points(self) -> list[EquitySnapshot]:
        return [self.buckets[b][1] for b in sorted(self.buckets)]


class EquitySampler:
    """The equity history in at most ``points`` time buckets, spanning everything.

    Each bucket is represented by its last snapshot (so the curve ends exactly at the current
    equity) carrying the bucket's deepest drawdown, so downsampling never hides a dip. The
    first call groups the whole table in the database; later calls with the same arguments
    read only the snapshots committed since (by primary key), so a dashboard polling a year
    of history every 2 s costs a few milliseconds, not a table scan.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samplings: dict[tuple[int, int | None], _Sampling] = {}

    def sample(self, conn: Connection, points: int, since_ts: int | None) -> list[EquitySnapshot]:
        e = schema.equity_snapshots
        window = [e.c.ts >= since_ts] if since_ts is not None else []
        # Two queries: each is one index lookup, where min and max together scan the table.
        first = conn.execute(select(func.min(e.c.ts)).where(*window)).scalar()
        last = conn.execute(select(func.max(e.c.ts)).where(*window)).scalar()
        if first is None or last is None:
            return []
        width = bucket_width(int(first), int(last), points)
        key = (points, since_ts)
        with self._lock:
            held = self._samplings.get(key)
            if held is None or held.first_ts != first or held.width != width:
                held = _grouped(conn, int(first), width, window)
            else:
                fresh = select(e).where(*window, e.c.seq > held.last_seq).order_by(e.c.seq)
                for row in conn.execute(fresh).mappings():
                    held.add(int(row["seq"]), mapping.equity_from_row(row))
            self._samplings.pop(key, None)
            self._samplings[key] = held
            while len(self._samplings) > _MAX_SAMPLINGS:
                del self._samplings[next(iter(self._samplings))]
            return held.points()


def _grouped(
    conn: Connection, first: int, width: int, window: Sequence[ColumnElement[bool]]
) -> _Sampling:
    e = schema.equity_snapshots
    bucket = (e.c.ts - first) // width
    grouped = (
        select(
            func.max(e.c.seq).label("seq"),
            func.max(e.c.drawdown).label("worst_drawdown"),
        )
        .where(*window)
        .group_by(bucket)
        .subquery()
    )
    query = select(e, grouped.c.worst_drawdown).join(grouped, grouped.c.seq == e.c.seq)
    sampling = _Sampling(first_ts=first, width=width, last_seq=-1)
    for row in conn.execute(query).mappings():
        point = replace(mapping.equity_from_row(row), drawdown=float(row["worst_drawdown"]))
        sampling.add(int(row["seq"]), point)
    return sampling
