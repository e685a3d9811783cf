"""Backing up and restoring the SQLite store, safely next to a running daemon.

Copying the file of a live WAL database can capture a torn state (the newest commits live in
``-wal`` until a checkpoint), so a backup goes through SQLite's online backup API: one read
transaction, which in WAL mode never blocks the daemon's writer, copies a consistent image.
The copy is one self-contained file (rollback journal); the daemon turns WAL on again when it
opens a restored one.

A restore must never replace a database under a live daemon, so it takes the daemon's own
store lock (``flock`` on ``<db>.lock``) and holds it throughout: while it runs no daemon can
start, and while a daemon runs it refuses. It checks the file before touching anything, and
removes the old ``-wal`` and ``-shm`` files, which SQLite would otherwise replay onto the
restored database.

Scratch copies are made beside their destination (the data directory, or the backup's
directory): in the container the root filesystem is read-only and ``/tmp`` is small.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from grodtd.adapters.store.engine import BUSY_TIMEOUT_MS, sqlite_path
from grodtd.adapters.store.errors import StoreError
from grodtd.adapters.store.lock import FileLock, StoreLockedError

# A GRODT store has been migrated; Alembic's table says so (and which revision it is at).
_MIGRATIONS_TABLE = "alembic_version"
_COPY_CHUNK = 1 << 20


class BackupError(StoreError):
    """The backup or restore cannot be done as asked; the message says what to do instead."""


def sqlite_database(url: str) -> Path:
    """The database file behind ``url``; ``BackupError`` for anything but a SQLite file."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise BackupError(f"the database URL is not valid ({exc})") from exc
    path = sqlite_path(parsed)
    if path is not None:
        return path
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "postgresql":
        raise BackupError(
            f"the store is PostgreSQL ({shown}): back it up with pg_dump and restore it with "
            "pg_restore (or psql); grodt backup and restore handle the SQLite store only"
        )
    raise BackupError(f"the store {shown} is not a SQLite file: there is nothing to back up")


def backup_to_file(db: Path, out: Path) -> None:
    """Write a consistent copy of ``db`` to ``out`` (replaced atomically, mode 0600)."""
    _require_database(db)
    out = out.expanduser()
    if out.resolve() == db.resolve():
        raise BackupError(f"the backup {out} would overwrite the database itself")
    if out.is_dir():
        raise BackupError(f"the backup {out} is a directory: name a file inside it")
    directory = out.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(
            f"cannot create the backup directory {directory} ({exc.strerror or exc})"
        ) from exc
    with _scratch(directory, f".{out.name}.", ".partial") as scratch:
        _online_copy(db, scratch)
        scratch.replace(out)


def backup_to_stream(db: Path, stream: BinaryIO) -> None:
    """Write a consistent copy of ``db`` to ``stream`` (how it leaves a container)."""
    _require_database(db)
    with _scratch(db.parent, ".grodt-backup-", ".db") as scratch:
        _online_copy(db, scratch)
        with scratch.open("rb") as copy:
            shutil.copyfileobj(copy, stream, _COPY_CHUNK)
        stream.flush()


def restore(db: Path, source: Path | BinaryIO) -> None:
    """Replace ``db`` by the backup ``source``, refusing while a daemon holds the store.

    Nothing changes unless the whole file arrived and is a sound GRODT store.
    """
    directory = db.parent
    if not directory.is_dir():
        raise BackupError(f"the data directory {directory} does not exist: nothing to restore into")
    with contextlib.ExitStack() as stack:
        if isinstance(source, Path):
            stream, shown = stack.enter_context(_open_backup(source)), str(source)
        else:
            stream, shown = source, "on standard input"
        stack.callback(_lock_for_restore(db).release)
        scratch = stack.enter_context(_scratch(directory, ".grodt-restore-", ".db"))
        _write(stream, scratch)
        _check_sound(scratch, shown)
        with contextlib.suppress(OSError):
            scratch.chmod(db.stat().st_mode & 0o777)
        for suffix in ("-wal", "-shm"):
            db.with_name(db.name + suffix).unlink(missing_ok=True)
        scratch.replace(db)


# -- the pieces ----------------------------------------------------------------------------


def _require_database(db: Path) -> None:
    if not db.is_file():
        raise BackupError(
            f"there is no database at {db}: check GRODT_DATA_DIR (or GRODT_DATABASE_URL); the "
            "daemon creates it at its first start"
        )


def _online_copy(db: Path, out: Path) -> None:
    try:
        # mode=rw: a mistyped path must fail, not create an empty database to back up.
        src = sqlite3.connect(f"{db.as_uri()}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            dst = sqlite3.connect(out)
            try:
                src.backup(dst)  # all pages in one step: one consistent read transaction
                # The copy is one self-contained file: in WAL mode (the source's), opening it
                # read-only, e.g. from read-only media, would need side files beside it.
                dst.execute("PRAGMA journal_mode = DELETE")
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot back up {db}: {exc}") from exc


@contextlib.contextmanager
def _open_backup(source: Path) -> Iterator[BinaryIO]:
    if source.is_dir():
        raise BackupError(f"the backup {source} is a directory, not a file: nothing was changed")
    try:
        stream = source.open("rb")
    except OSError as exc:
        raise BackupError(
            f"cannot read the backup {source} ({exc.strerror or exc}): nothing was changed"
        ) from exc
    with stream:
        yield stream


def _lock_for_restore(db: Path) -> FileLock:
    try:
        return FileLock(db)
    except StoreLockedError:
        raise BackupError(
            f"the store {db} is in use by {_holder(db)}: a restore never replaces a live "
            "database. Stop the daemon first (scripts/docker-dev.sh restore does), then restore; "
            "nothing was changed"
        ) from None


def _holder(db: Path) -> str:
    with contextlib.suppress(OSError, ValueError):
        holder = json.loads(db.with_name(db.name + ".lock").read_text() or "{}")
        if isinstance(holder, dict) and "pid" in holder:
            return f"grodtd pid {holder['pid']} on host {holder.get('host', '?')}"
    return "a running daemon"


def _write(src: BinaryIO, scratch: Path) -> None:
    with scratch.open("wb") as dst:
        shutil.copyfileobj(src, dst, _COPY_CHUNK)
        dst.flush()
        os.fsync(dst.fileno())


def _check_sound(candidate: Path, shown: str) -> None:
    """Refuse anything but a complete, intact SQLite file holding a migrated GRODT store."""
    refused = f"the backup {shown} is not a sound GRODT database"
    if candidate.stat().st_size == 0:
        raise BackupError(f"the backup {shown} is empty: nothing was changed")
    try:
        conn = sqlite3.connect(f"{candidate.as_uri()}?mode=rw", uri=True)
        try:
            verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{refused} ({exc}): nothing was changed") from exc
    if verdict != ["ok"]:
        raise BackupError(f"{refused} (integrity check: {verdict[0]}): nothing was changed")
    if _MIGRATIONS_TABLE not in tables:
        raise BackupError(
            f"the backup {shown} is a SQLite database but not a GRODT store (no "
            f"{_MIGRATIONS_TABLE} table): nothing was changed"
        )


@contextlib.contextmanager
def _scratch(directory: Path, prefix: str, suffix: str) -> Iterator[Path]:
    """A private file in ``directory``, removed (with SQLite's side files) unless moved away."""
    try:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    except OSError as exc:
        raise BackupError(
            f"cannot write in {directory} ({exc.strerror or exc}): it must be writable by "
            f"uid {os.geteuid()}"
        ) from exc
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        for leftover in (path, Path(name + "-wal"), Path(name + "-shm"), Path(name + "-journal")):
            leftover.unlink(missing_ok=True)
