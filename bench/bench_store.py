"""Commits per second of SqlStore on a real SQLite file (a benchmark, not a test).

The live daemon commits one unit of work per processed bar, about 20 a second at the fastest
simulated speed. Two shapes are measured: a quiet bar (checkpoint and equity snapshot only,
the common case) and a busy bar (orders, fills, a trade and positions as well).

    .venv/bin/python bench/bench_store.py [--units 2000] [--dir /path/on/the/real/volume]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from grodtd.adapters.store import SqlStore
from grodtd.core.models import (
    Checkpoint,
    EquitySnapshot,
    Fill,
    Order,
    OrderKind,
    OrderPurpose,
    OrderStatus,
    Position,
    Side,
    Trade,
)
from grodtd.core.ports import UnitOfWork

T0 = 1_767_225_600


def quiet_unit(n: int) -> UnitOfWork:
    ts = T0 + 60 * n
    return UnitOfWork(
        checkpoint=Checkpoint(last_ts={"BTC-USD": ts, "ETH-USD": ts}, bars_processed=n),
        equity=EquitySnapshot(ts, 10_000.0, 9_000.0, 1.0, 2.0, 0.5, 0.01),
    )


def busy_unit(n: int) -> UnitOfWork:
    ts = T0 + 60 * n
    entry = Order(
        f"e{n}",
        "BTC-USD",
        Side.BUY,
        OrderKind.MARKET,
        OrderPurpose.ENTRY,
        1.0,
        ts,
        "s1",
        status=OrderStatus.FILLED,
        stop_price=95.0,
        target_price=110.0,
    )
    exit_ = Order(
        f"x{n}",
        "BTC-USD",
        Side.SELL,
        OrderKind.STOP,
        OrderPurpose.STOP,
        1.0,
        ts,
        "s1",
        status=OrderStatus.FILLED,
        price=95.0,
    )
    return UnitOfWork(
        checkpoint=quiet_unit(n).checkpoint,
        orders=(entry, exit_),
        fills=(
            Fill(entry.client_order_id, "BTC-USD", Side.BUY, 1.0, 100.0, 0.1, ts),
            Fill(exit_.client_order_id, "BTC-USD", Side.SELL, 1.0, 95.0, 0.1, ts),
        ),
        trades=(
            Trade(
                "BTC-USD",
                "s1",
                1.0,
                100.0,
                95.0,
                ts,
                ts,
                0.2,
                -5.2,
                OrderPurpose.STOP,
                entry.client_order_id,
                exit_.client_order_id,
            ),
        ),
        positions=(Position("ETH-USD", 2.0, 2000.0, ts, "s1", 1900.0, 2150.0),),
        equity=quiet_unit(n).equity,
    )


def measure(directory: Path, name: str, build: Callable[[int], UnitOfWork], units: int) -> float:
    store = SqlStore(f"sqlite:///{directory / f'{name}.db'}")
    store.migrate()
    work = [build(n) for n in range(1, units + 1)]
    started = time.perf_counter()
    for unit in work:
        store.commit(unit)
    elapsed = time.perf_counter() - started
    assert store.integrity_check() == "ok"
    store.close()
    return units / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        directory = Path(tmp)
        result = {
            "units": args.units,
            "quiet_commits_per_s": round(measure(directory, "quiet", quiet_unit, args.units)),
            "busy_commits_per_s": round(measure(directory, "busy", busy_unit, args.units)),
            "directory": str(directory.parent),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
