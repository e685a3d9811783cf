"""`grodt backup` and `grodt restore` against a real daemon trading on a real SQLite file.

What the operator relies on: a backup taken while the daemon trades is complete and sound,
a restore is refused while a daemon runs on the store and refuses a damaged file, and a
restored store is what the next daemon starts from. Every refusal is exit 2 and one line.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemon import REPO, DaemonProcess, grodt, grodt_env, wait_for

pytestmark = pytest.mark.slow


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    return {"GRODT_DATA_DIR": str(data_dir), **extra}


def assert_refused(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def count(db: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def store_files(data_dir: Path) -> dict[str, str]:
    """The store's files and their hashes (the lock file is bookkeeping, not the store)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data_dir.iterdir())
        if p.is_file() and p.name.startswith("grodt.db") and p.suffix != ".lock"
    }


@pytest.fixture(scope="module")
def trading(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    daemon = DaemonProcess(tmp_path_factory.mktemp("backup") / "data").start()
    try:
        daemon.wait_ready()
        wait_for(lambda: daemon.query("SELECT COUNT(*) FROM fills")[0][0] > 0, 60, 0.5, "a fill")
        yield daemon
    finally:
        daemon.ensure_stopped()


def test_backup_while_the_daemon_trades_is_complete_and_sound(
    trading: DaemonProcess, tmp_path: Path
) -> None:
    fills_before = trading.query("SELECT COUNT(*) FROM fills")[0][0]
    out = tmp_path / "copies" / "grodt.db"

    result = grodt("backup", str(out), env=env_for(trading.data_dir))

    assert result.returncode == 0, result.stderr
    assert f"written to {out}" in result.stderr
    assert count(out, "fills") >= fills_before
    assert out.stat().st_mode & 0o777 == 0o600
    assert trading.status_code("/ready") == 200, "the daemon kept trading"

    default = grodt("backup", env=env_for(trading.data_dir))
    assert default.returncode == 0, default.stderr
    (made,) = (trading.data_dir / "backups").glob("grodt-*Z.db")
    assert count(made, "orders") > 0


def test_backup_to_stdout_streams_a_sound_database(trading: DaemonProcess, tmp_path: Path) -> None:
    streamed = tmp_path / "streamed.db"
    with streamed.open("wb") as sink:
        result = subprocess.run(
            [sys.executable, "-m", "grodtd", "backup", "-"],
            cwd=REPO,
            env=grodt_env(env_for(trading.data_dir)),
            stdout=sink,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert count(streamed, "fills") > 0
    assert not list(trading.data_dir.glob(".grodt-backup-*")), "the scratch copy is gone"


def test_restore_is_refused_while_the_daemon_runs(trading: DaemonProcess, tmp_path: Path) -> None:
    backup = tmp_path / "grodt.db"
    assert grodt("backup", str(backup), env=env_for(trading.data_dir)).returncode == 0
    assert trading.proc is not None

    result = grodt("restore", str(backup), env=env_for(trading.data_dir))

    assert_refused(result, "in use by grodtd pid", str(trading.proc.pid), "nothing was changed")
    assert trading.status_code("/ready") == 200
    assert not list(trading.data_dir.glob(".grodt-restore-*"))


def test_restore_of_a_stopped_store_refuses_damage_then_brings_the_backup_back(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    daemon = DaemonProcess(data).start()
    try:
        daemon.wait_ready()
        wait_for(lambda: daemon.query("SELECT COUNT(*) FROM fills")[0][0] > 0, 60, 0.5, "a fill")
        backup = tmp_path / "grodt-backup.db"
        assert grodt("backup", str(backup), env=env_for(data)).returncode == 0
        # The daemon trades on past the backup, so the store and the backup differ.
        saved = count(backup, "orders")
        wait_for(lambda: daemon.query("SELECT COUNT(*) FROM orders")[0][0] > saved, 60, 0.5)
        assert daemon.stop() == 0
    finally:
        daemon.ensure_stopped()
    before = store_files(data)

    corrupt = tmp_path / "corrupt.db"
    raw = backup.read_bytes()
    corrupt.write_bytes(raw[:4096] + b"\xde\xad\xbe\xef" * 1024 + raw[8192:])
    assert_refused(grodt("restore", str(corrupt), env=env_for(data)), "not a sound GRODT database")
    assert_refused(grodt("restore", str(tmp_path / "missing.db"), env=env_for(data)), "missing.db")
    assert store_files(data) == before, "a refused restore changed the store"

    with backup.open("rb") as stdin:
        result = subprocess.run(
            [sys.executable, "-m", "grodtd", "restore", "-"],
            cwd=REPO,
            env=grodt_env(env_for(data)),
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert not (data / "grodt.db-wal").exists()
    assert count(data / "grodt.db", "orders") == saved

    again = DaemonProcess(data).start()
    try:
        again.wait_ready()
        recovered = again.log_records()
        assert any(r.get("event") == "recovered state from the store" for r in recovered)
        assert again.query("SELECT COUNT(*) FROM orders")[0][0] >= saved
    finally:
        again.ensure_stopped()


def test_a_postgresql_store_is_sent_to_pg_dump_and_bad_paths_are_one_line(tmp_path: Path) -> None:
    postgres = env_for(tmp_path, GRODT_DATABASE_URL="postgresql+psycopg://grodt:pw@db/grodt")
    assert_refused(grodt("backup", env=postgres), "pg_dump")
    assert_refused(grodt("restore", str(tmp_path / "x.db"), env=postgres), "pg_dump")

    assert_refused(grodt("backup", env=env_for(tmp_path)), "no database at")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    store = tmp_path / "store"
    store.mkdir()
    (store / "grodt.db").write_bytes(b"")
    assert_refused(
        grodt("backup", str(blocker / "out.db"), env=env_for(store)), "cannot create the backup"
    )
    assert_refused(grodt("restore", str(tmp_path), env=env_for(store)), "is a directory")
