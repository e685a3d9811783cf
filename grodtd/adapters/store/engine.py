"""Building the SQLAlchemy engine: SQLite tuned for one writer and many readers, or PostgreSQL.

SQLite settings, applied to every new connection by a ``connect`` listener:

- ``journal_mode=WAL``: readers (web threads) never block the writer (the engine) and the
  writer never blocks readers; a commit appends to the WAL instead of rewriting pages.
- ``synchronous=NORMAL``: in WAL mode a committed transaction is in the WAL file as soon as
  ``COMMIT`` returns, so it survives the process being killed at any instant (SIGKILL, OOM,
  ``docker kill``), which is the failure this daemon is built against. What NORMAL gives up
  against FULL is an fsync per commit: after a power cut or kernel crash the last few commits
  may roll back, but the database stays consistent, and the engine replays those bars from the
  checkpoint with the same deterministic client order ids. FULL would put an fsync on every bar.
- ``foreign_keys=ON``: a fill or trade whose order is missing is refused by the database.
- ``busy_timeout``: a second writer (the readiness probe) waits for the lock instead of failing.

The driver's own transaction handling is switched off and the store issues ``BEGIN`` itself:
``BEGIN IMMEDIATE`` for writes, so the write lock is taken up front (a deferred transaction that
upgrades from read to write can fail with "database is locked" without waiting), and a plain
``BEGIN`` for reads, so a count and its page come from one snapshot.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import NullPool, StaticPool

from grodtd.adapters.store.errors import StoreError

BUSY_TIMEOUT_MS = 5_000

# Execution option that makes the SQLite ``begin`` hook take the write lock up front.
WRITE_OPTION = "grodt_write"


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for PostgreSQL and in-memory databases."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite database file (the default is one in the data dir)."""
    return f"sqlite:///{path.expanduser().resolve()}"


def make_engine(url: str | URL, *, probe: bool = False) -> Engine:
    """An engine for ``url``; ``probe=True`` gives a pool-less engine for writability checks.

    A probe opens a brand-new connection every time: SQLite decides once, at open, whether a
    connection is read-write, so a pooled connection cannot tell that the file became read-only
    (or writable again) afterwards.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        try:
            # pool_pre_ping drops connections that died with the server, so readiness recovers.
            return create_engine(parsed, pool_pre_ping=True, poolclass=NullPool if probe else None)
        except ImportError as exc:
            raise StoreError(
                f"no database driver for {parsed.drivername!r} ({exc}): for PostgreSQL install "
                "the postgres extra (pip install 'grodt[postgres]') and use a "
                "postgresql+psycopg:// URL, or use a sqlite:/// URL"
            ) from exc

    connect_args: dict[str, Any] = {
        # Web threads read while the event loop thread writes: connections move between
        # threads through the pool, never used by two at once, so the check is unnecessary.
        "check_same_thread": False,
        "timeout": BUSY_TIMEOUT_MS / 1000,
    }
    if sqlite_path(parsed) is None:
        # One shared in-memory database for tests; nothing of it survives, by design.
        engine = create_engine(parsed, connect_args=connect_args, poolclass=StaticPool)
    else:
        engine = create_engine(
            parsed,
            connect_args=connect_args,
            poolclass=NullPool if probe else None,
        )
    _install_sqlite_hooks(engine)
    return engine


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see module doc
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            # A read-only file cannot switch modes; reads still work and the write path
            # (and readiness) reports the real problem with an actionable message.
            with contextlib.suppress(sqlite3.OperationalError):
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def unwritable_message(path: Path, problem: str) -> str:
    uid, gid = os.geteuid(), os.getegid()
    return (
        f"the store cannot write {path}: {problem}. The process runs as uid {uid} gid {gid}; "
        f"make the data directory and its files writable, e.g. `chown -R {uid}:{gid} "
        f"{path.parent}` on the host volume, and make sure the volume is not mounted read-only"
    )


def probe_directory(db_path: Path) -> None:
    """Raise StoreError unless files can be created in the database's directory.

    The database file itself is never opened here: closing any descriptor of a SQLite file
    drops every POSIX lock this process holds on it, which lets another process rebuild the
    shared-memory index under the live connection (the daemon then dies of SIGBUS). Whether
    the file accepts writes is proven by a real write through a connection instead.

    Real operations rather than ``os.access``: root passes every permission check yet still
    fails on a read-only mount or an immutable file, and SQLite needs to create its ``-wal``
    and ``-shm`` files next to the database.
    """
    directory = db_path.parent
    if not directory.is_dir():
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                unwritable_message(db_path, f"cannot create directory {directory} ({exc})")
            ) from exc
    marker = directory / f".grodt-write-probe-{uuid.uuid4().hex}"
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        os.unlink(marker)
    except OSError as exc:
        raise StoreError(
            unwritable_message(db_path, f"directory {directory} is not writable ({exc})")
        ) from exc
