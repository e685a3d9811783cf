"""An operator's mistakes, caught by the real daemon: two daemons on one store, a pause that
must outlive restarts, a port in use, and a replay that ends.

Each runs `grodt run` as a process on a real SQLite file (or a real PostgreSQL database), as
an operator would, and checks exit codes, stderr lines, the store and the API.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.daemon import CONTROL_TOKEN, DaemonProcess, free_port, wait_for
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.slow
AUTH = {"Authorization": f"Bearer {CONTROL_TOKEN}"}


def one_line(daemon: DaemonProcess) -> str:
    assert "Traceback" not in daemon.stderr()
    lines = [line for line in daemon.stderr().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def exits(daemon: DaemonProcess, timeout: float = 30) -> int:
    assert daemon.proc is not None
    return daemon.proc.wait(timeout=timeout)


def assert_second_daemon_refused(first: DaemonProcess, second: DaemonProcess, *names: str) -> None:
    second.start()
    assert exits(second) == 2
    line = one_line(second)
    assert "in use by grodtd pid" in line, line
    assert first.proc is not None and str(first.proc.pid) in line, line
    for name in names:
        assert name in line, line
    # The first one never noticed.
    assert first.status_code("/ready") == 200


def test_a_second_daemon_on_one_data_directory_exits_2_and_a_killed_one_never_blocks(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first = DaemonProcess(data)
    second = DaemonProcess(data)
    third = DaemonProcess(data)
    try:
        first.start()
        first.wait_ready()
        assert_second_daemon_refused(first, second, str(data))
        first.kill()  # SIGKILL: no chance to clean anything up
        started = time.monotonic()
        third.start()
        third.wait_ready()
        assert time.monotonic() - started < 30
        assert third.stop() == 0
    finally:
        for d in (first, second, third):
            d.ensure_stopped()


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def test_a_second_daemon_on_one_postgresql_database_exits_2(
    tmp_path: Path, database_url: str
) -> None:
    secret = tmp_path / "database_url"
    secret.write_text(database_url + "\n")
    secret.chmod(0o600)
    env = {"GRODT_DATABASE_URL_FILE": str(secret)}
    # Different data directories: only the database is shared, and that is enough to refuse.
    first = DaemonProcess(tmp_path / "one", env=env)
    second = DaemonProcess(tmp_path / "two", env=env)
    third = DaemonProcess(tmp_path / "three", env=env)
    try:
        first.start()
        first.wait_ready()
        assert_second_daemon_refused(first, second, "database")
        assert "password" not in second.stderr().lower() or "***" in second.stderr()
        first.kill()
        third.start()
        third.wait_ready(timeout=30)
        assert third.stop() == 0
    finally:
        for d in (first, second, third):
            d.ensure_stopped()


def entries(d: DaemonProcess) -> int:
    return d.query("SELECT COUNT(*) FROM orders WHERE purpose = 'entry'")[0][0]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_pause_survives_a_restart_and_no_entry_is_made(tmp_path: Path, stop: int) -> None:
    data = tmp_path / "data"
    env = {"GRODT_MARKET__SPEED_BARS_PER_SECOND": "100"}
    first = DaemonProcess(data, env=env)
    second = DaemonProcess(data, env=env)
    try:
        first.start()
        first.wait_ready()
        wait_for(lambda: entries(first) > 0, 60, 0.5, "a first entry")
        body = {"by": "ops-test", "reason": "exchange maintenance"}
        paused = httpx.post(f"{first.url}/api/v1/control/pause", headers=AUTH, json=body)
        assert paused.status_code == 200 and paused.json()["durable"] is True
        # Applied from the next bar; after that not one entry more.
        wait_for(
            lambda: any(
                h["reason"] == "paused" for h in first.get("/api/v1/status").json()["halts"]
            ),
            10,
            what="the engine to apply the pause",
        )
        before = entries(first)
        if stop == signal.SIGTERM:
            assert first.stop(signal.SIGTERM) == 0
        else:
            first.kill()
        second.start()
        second.wait_ready()
        status = second.get("/api/v1/status").json()
        assert status["paused"] is True
        assert status["pause"]["by"] == "ops-test"
        assert status["pause"]["reason"] == "exchange maintenance"
        assert any(h["reason"] == "paused" for h in status["halts"])
        bars = status["bars_processed"]
        wait_for(
            lambda: second.get("/api/v1/status").json()["bars_processed"] > bars + 500,
            60,
            what="500 more bars while paused",
        )
        assert entries(second) == before, "an entry was made while paused"
        records = second.log_records()
        assert any(r["event"].startswith("starting paused") for r in records)
        # Resume is durable too, and trading picks up again.
        resumed = httpx.post(f"{second.url}/api/v1/control/resume", headers=AUTH)
        assert resumed.status_code == 200 and resumed.json()["paused"] is False
        wait_for(lambda: entries(second) > before, 90, 0.5, "an entry after resume")
        assert second.stop() == 0
    finally:
        first.ensure_stopped()
        second.ensure_stopped()


@pytest.mark.parametrize(
    ("busy", "variable"), [("web", "GRODT_WEB_PORT"), ("metrics", "GRODT_METRICS_PORT")]
)
def test_a_port_in_use_exits_1_naming_its_variable(
    tmp_path: Path, busy: str, variable: str
) -> None:
    holder = DaemonProcess(tmp_path / "holder")
    try:
        holder.start()
        holder.wait_ready()
        port = holder.web_port if busy == "web" else holder.metrics_port
        other = "GRODT_METRICS_PORT" if busy == "web" else "GRODT_WEB_PORT"
        clash = DaemonProcess(
            tmp_path / "clash", env={variable: str(port), other: str(free_port())}
        )
        clash.start()
        assert exits(clash) == 1
        line = one_line(clash)
        assert variable in line and str(port) in line, line
        # The store it had locked is free again: the same data directory starts at once.
        retry = DaemonProcess(tmp_path / "clash")
        retry.start()
        retry.wait_ready()
        assert retry.stop() == 0
    finally:
        holder.ensure_stopped()


def write_csv(path: Path, bars: int, start: int = 1_767_225_600) -> None:
    rows = ["timestamp,open,high,low,close,volume"]
    price = 100.0
    for i in range(bars):
        close = price * (1.0005 if i % 7 else 0.999)
        high, low = max(price, close) + 0.1, min(price, close) - 0.1
        rows.append(f"{start + 60 * i},{price},{high},{low},{close},5")
        price = close
    path.write_text("\n".join(rows) + "\n")


def test_the_end_of_a_replay_is_logged_shown_in_ready_and_in_a_metric(tmp_path: Path) -> None:
    csv = tmp_path / "btc.csv"
    write_csv(csv, 600)
    daemon = DaemonProcess(
        tmp_path / "data",
        env={
            "GRODT_MARKET__SOURCE": "replay",
            "GRODT_MARKET__SYMBOLS": "BTC-USD",
            "GRODT_MARKET__REPLAY_PATHS": f'{{"BTC-USD": "{csv}"}}',
            "GRODT_MARKET__SPEED_BARS_PER_SECOND": "1000",
            "GRODT_MARKET__HISTORY_BARS": "100",
        },
    )
    try:
        daemon.start()

        def ended() -> dict | None:
            try:
                body = daemon.get("/ready").json()
            except httpx.HTTPError:
                return None  # not listening yet
            market = next(c for c in body["checks"] if c["name"] == "market_data")
            return body if "has ended" in market["reason"] else None

        body = wait_for(ended, 60, 0.3, "/ready to say the replay ended")
        market = next(c for c in body["checks"] if c["name"] == "market_data")
        assert market["ok"] is False and "2026-01-01T09:59:00Z" in market["reason"], market
        assert daemon.status_code("/ready") == 503
        assert daemon.status_code("/health") == 200  # alive, just out of data
        metrics = httpx.get(daemon.metrics_url, timeout=5).text
        assert "grodt_market_data_ended 1.0" in metrics
        records = daemon.log_records()
        ended_lines = [r for r in records if r["event"] == "market data source ended"]
        assert len(ended_lines) == 1 and ended_lines[0]["level"] == "warning"
        assert ended_lines[0]["last_bar"] == "2026-01-01T09:59:00Z"
        assert daemon.stop() == 0
    finally:
        daemon.ensure_stopped()
