"""The real daemon, as an operator runs it: it trades, it drains on SIGTERM, it logs JSON."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    proc = DaemonProcess(tmp_path / "data")
    yield proc
    proc.ensure_stopped()


def filled_orders(d: DaemonProcess) -> int:
    if not d.db_path.exists():
        return 0
    return d.query("SELECT COUNT(*) FROM fills")[0][0]


def test_default_run_fills_an_order_within_a_minute(daemon: DaemonProcess) -> None:
    started = time.monotonic()
    daemon.start()
    daemon.wait_ready()
    wait_for(
        lambda: filled_orders(daemon) >= 1,
        timeout=60 - (time.monotonic() - started),
        interval=0.5,
        what="a filled order in the store",
    )
    elapsed = time.monotonic() - started
    assert elapsed < 60
    # The fill is a real one: its order exists, with the unique client order id.
    rows = daemon.query(
        "SELECT o.client_order_id, o.status FROM orders o JOIN fills f "
        "ON f.client_order_id = o.client_order_id"
    )
    assert rows and all(status == "filled" for _, status in rows)


def test_sigterm_drains_cleanly_and_fast(daemon: DaemonProcess) -> None:
    daemon.start()
    daemon.wait_ready()
    wait_for(lambda: filled_orders(daemon) >= 1, timeout=60, interval=0.5, what="trading")
    orders_before = {row[0] for row in daemon.query("SELECT client_order_id FROM orders")}
    sent = time.monotonic()
    code = daemon.stop(signal.SIGTERM, timeout=15)
    drain = time.monotonic() - sent
    assert code == 0, daemon.stderr()
    assert drain < 5.0, f"drain took {drain:.2f} s"
    records = daemon.log_records()  # every line is JSON, or this raises
    assert records[-1]["event"] == "grodtd stopped"
    assert any(r["event"] == "shutdown requested" and r["signal"] == "SIGTERM" for r in records)
    # Nothing the daemon had stored is lost, and every filled order has exactly one fill.
    orders_after = {row[0] for row in daemon.query("SELECT client_order_id FROM orders")}
    assert orders_before <= orders_after
    orphans = daemon.query(
        "SELECT COUNT(*) FROM orders o WHERE o.status = 'filled' AND NOT EXISTS "
        "(SELECT 1 FROM fills f WHERE f.client_order_id = o.client_order_id)"
    )
    assert orphans == [(0,)]
    assert daemon.query("PRAGMA integrity_check") == [("ok",)]


def test_every_stdout_line_is_one_json_object(daemon: DaemonProcess) -> None:
    daemon.start()
    daemon.wait_ready()
    for path in ("/", "/health", "/api/v1/status", "/does-not-exist"):
        daemon.get(path)
    wait_for(lambda: filled_orders(daemon) >= 1, timeout=60, interval=0.5, what="trading")
    assert daemon.stop() == 0
    lines = [line for line in daemon.stdout_lines() if line.strip()]
    assert len(lines) > 5
    for line in lines:
        record = json.loads(line)
        assert isinstance(record, dict)
        for key in ("timestamp", "level", "event", "logger"):
            assert key in record, (key, line)
        assert record["timestamp"].endswith(("Z", "+00:00"))
    loggers = {json.loads(line)["logger"] for line in lines}
    # uvicorn's own loggers and our access log come through the same JSON pipeline.
    assert "grodtd.access" in loggers
    assert any(name.startswith("uvicorn") for name in loggers)
    fills = [json.loads(line) for line in lines if '"order filled"' in line]
    assert fills and {"symbol", "strategy", "order_id"} <= fills[0].keys()
