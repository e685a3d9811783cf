"""Backup and restore of the SQLite store, on real files: what a copy holds, what is refused."""

from __future__ import annotations

import hashlib
import io
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from grodtd.adapters.store import SqlStore, StoreLockedError, sqlite_url
from grodtd.adapters.store.backup import (
    BackupError,
    backup_to_file,
    backup_to_stream,
    restore,
    sqlite_database,
)
from grodtd.adapters.store.lock import FileLock


def make_store(path: Path, marker: str) -> Path:
    """A migrated GRODT store with a marker row that tells one database from another."""
    path.parent.mkdir(parents=True, exist_ok=True)
    store = SqlStore(sqlite_url(path))
    store.migrate()
    store.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE IF NOT EXISTS marker (v TEXT)")
        conn.execute("INSERT INTO marker VALUES (?)", (marker,))
    conn.close()  # the last connection checkpoints: everything is in the main file
    return path


def markers(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT v FROM marker ORDER BY rowid")]
    finally:
        conn.close()


def fingerprint(directory: Path) -> dict[str, str]:
    """Every file of a data directory and its content hash: what "unchanged" means.

    The lock file is left out: it is bookkeeping (who last held the store), not the store.
    """
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file() and p.suffix != ".lock"
    }


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return make_store(tmp_path / "data" / "grodt.db", "live")


@pytest.fixture
def good_backup(tmp_path: Path) -> Path:
    return make_store(tmp_path / "elsewhere" / "backup.db", "from-backup")


@pytest.fixture
def writer(db: Path) -> Iterator[sqlite3.Connection]:
    """A connection like the daemon's: WAL, commits not yet checkpointed into the main file."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    yield conn
    conn.close()


def test_the_url_decides_and_postgresql_is_sent_to_pg_dump(tmp_path: Path) -> None:
    assert sqlite_database(sqlite_url(tmp_path / "x.db")) == (tmp_path / "x.db").resolve()
    with pytest.raises(BackupError, match="pg_dump") as raised:
        sqlite_database("postgresql+psycopg://grodt:hunter2@db.example/grodt")
    assert "hunter2" not in str(raised.value)
    with pytest.raises(BackupError, match="not a SQLite file"):
        sqlite_database("sqlite://")


def test_a_backup_holds_the_commits_still_in_the_wal(
    db: Path, writer: sqlite3.Connection, tmp_path: Path
) -> None:
    writer.execute("INSERT INTO marker VALUES ('only-in-the-wal')")
    assert Path(f"{db}-wal").stat().st_size > 0
    naive = tmp_path / "naive-copy.db"
    shutil.copyfile(db, naive)  # what copying the live file would give
    assert markers(naive) == ["live"]

    out = tmp_path / "backups" / "nested" / "copy.db"
    backup_to_file(db, out)

    assert markers(out) == ["live", "only-in-the-wal"]
    assert out.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in out.parent.iterdir()) == ["copy.db"], "no scratch left"

    stream = io.BytesIO()
    backup_to_stream(db, stream)
    streamed = tmp_path / "streamed.db"
    streamed.write_bytes(stream.getvalue())
    assert markers(streamed) == ["live", "only-in-the-wal"]
    assert not [p for p in db.parent.iterdir() if p.name.startswith(".grodt-backup-")]


def test_a_backup_refuses_bad_targets_and_a_missing_database(db: Path, tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="overwrite the database"):
        backup_to_file(db, db)
    with pytest.raises(BackupError, match="is a directory"):
        backup_to_file(db, tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(BackupError, match="cannot create the backup directory"):
        backup_to_file(db, blocker / "backup.db")
    with pytest.raises(BackupError, match="no database at"):
        backup_to_file(tmp_path / "nowhere" / "grodt.db", tmp_path / "out.db")
    assert not (tmp_path / "out.db").exists()


def test_restore_replaces_the_database_and_drops_its_old_wal(
    db: Path, writer: sqlite3.Connection, good_backup: Path, tmp_path: Path
) -> None:
    # A store as a killed daemon leaves it: frames in -wal that SQLite would replay.
    writer.execute("INSERT INTO marker VALUES ('old-wal-frame')")
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for suffix in ("", "-wal", "-shm"):
        shutil.copyfile(f"{db}{suffix}", crashed / f"grodt.db{suffix}")
    target = crashed / "grodt.db"

    restore(target, good_backup)

    assert not Path(f"{target}-wal").exists() and not Path(f"{target}-shm").exists()
    assert markers(target) == ["from-backup"]
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert not [p for p in crashed.iterdir() if p.name.startswith(".grodt-restore-")]

    restore(target, io.BytesIO(make_store(tmp_path / "b2" / "b.db", "streamed").read_bytes()))
    assert markers(target) == ["streamed"]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("garbage", "not a sound GRODT database"),
        ("truncated", "not a sound GRODT database"),
        ("empty", "is empty"),
        ("foreign", "not a GRODT store"),
    ],
)
def test_restore_refuses_a_damaged_or_foreign_file_and_changes_nothing(
    db: Path, good_backup: Path, tmp_path: Path, damage: str, reason: str
) -> None:
    bad = tmp_path / f"{damage}.db"
    if damage == "garbage":
        bad.write_bytes(b"SQLite format 3\x00" + b"\x13" * 8000)
    elif damage == "truncated":
        data = good_backup.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        bad.write_bytes(b"")
    else:
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.close()
    before = fingerprint(db.parent)

    with pytest.raises(BackupError, match=reason):
        restore(db, bad)

    assert fingerprint(db.parent) == before
    assert markers(db) == ["live"]


def test_restore_refuses_missing_files_and_directories(db: Path, tmp_path: Path) -> None:
    before = fingerprint(db.parent)
    with pytest.raises(BackupError, match="cannot read the backup"):
        restore(db, tmp_path / "no-such-backup.db")
    with pytest.raises(BackupError, match="is a directory"):
        restore(db, tmp_path)
    with pytest.raises(BackupError, match="does not exist"):
        restore(tmp_path / "no-dir" / "grodt.db", io.BytesIO(b"x"))
    assert fingerprint(db.parent) == before


def test_restore_is_refused_while_the_store_lock_is_held(db: Path, good_backup: Path) -> None:
    daemon_lock = FileLock(db)  # what `grodt run` holds for its whole life
    try:
        before = fingerprint(db.parent)
        with pytest.raises(BackupError, match="in use by grodtd pid") as raised:
            restore(db, good_backup)
        assert "nothing was changed" in str(raised.value)
        assert fingerprint(db.parent) == before
    finally:
        daemon_lock.release()


def test_no_daemon_can_take_the_store_while_a_restore_runs(db: Path, good_backup: Path) -> None:
    seen: list[str] = []

    class WatchingStream(io.BytesIO):
        """The backup as it arrives; meanwhile a daemon tries to start on the store."""

        def read(self, size: int | None = -1) -> bytes:
            if not seen:
                try:
                    FileLock(db).release()
                    seen.append("a daemon got the store")
                except StoreLockedError:
                    seen.append("refused")
            return super().read(size)

    restore(db, WatchingStream(good_backup.read_bytes()))

    assert seen == ["refused"]
    FileLock(db).release()  # and released afterwards
