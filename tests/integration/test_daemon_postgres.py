"""The real daemon on a real PostgreSQL server: it trades, stops cleanly and resumes its state.

The URL reaches the daemon as an operator should pass one with a password: through a secret
file named by GRODT_DATABASE_URL_FILE, never in a configuration file.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.daemon import DaemonProcess, wait_for
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.slow


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def _daemon(tmp_path: Path, url: str) -> DaemonProcess:
    secret = tmp_path / "database_url"
    secret.write_text(url + "\n")
    secret.chmod(0o600)
    return DaemonProcess(tmp_path / "data", env={"GRODT_DATABASE_URL_FILE": str(secret)})


def _count(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_daemon_trades_into_postgres_and_resumes_after_a_restart(
    tmp_path: Path, database_url: str
) -> None:
    first = _daemon(tmp_path, database_url)
    try:
        first.start()
        first.wait_ready()
        wait_for(
            lambda: _count(database_url, "fills") >= 1,
            timeout=60,
            interval=0.5,
            what="a fill in PostgreSQL",
        )
        bars_before = first.get("/api/v1/status").json()["bars_processed"]
        assert first.stop(signal.SIGTERM) == 0, first.stderr()[-2000:]
    finally:
        first.ensure_stopped()
    assert not first.db_path.exists(), "the daemon wrote a SQLite file despite the URL"
    fills, orders = _count(database_url, "fills"), _count(database_url, "orders")

    second = _daemon(tmp_path, database_url)
    try:
        second.start()
        second.wait_ready()
        # Resumed from the checkpoint in PostgreSQL, not started afresh.
        assert second.get("/api/v1/status").json()["bars_processed"] >= bars_before > 0
        assert second.get("/api/v1/fills", params={"limit": 1}).json()["total"] >= fills
        assert _count(database_url, "orders") >= orders
        assert second.stop(signal.SIGTERM) == 0, second.stderr()[-2000:]
    finally:
        second.ensure_stopped()
