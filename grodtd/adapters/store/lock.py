"""One daemon per store: an exclusive lock taken before the store is touched.

Two daemons on one store would both recover the same open orders and both trade them: against
a real venue that is every order twice. So the store is locked for the life of the process:

* SQLite: ``flock`` on ``<database>.lock`` beside the database file (in the data directory by
  default). The kernel drops the lock when the process dies, however it dies (SIGKILL, OOM),
  so a crashed daemon never blocks its restart; the file keeps the holder's pid and host only
  to name it in the error. Containers sharing a volume share the kernel's lock, too.
* PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection of its
  own, held open. The server drops it when that connection ends, which it does when the
  process dies. The holder is named from ``pg_stat_activity``; ``check`` re-takes the lock
  if the connection was lost, and fails if another daemon took it meanwhile.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from grodtd.adapters.store.errors import StoreError

# The advisory lock key: "GRODT" as a number. Advisory locks are per database, so the key
# only has to be the same for every GRODT daemon, and unlikely to collide with other tools.
ADVISORY_KEY = 0x47524F4454


class StoreLockedError(StoreError):
    """Another daemon holds the store; the message names it and what to do."""


class StoreLock(Protocol):
    def check(self) -> None:
        """Raise ``StoreError`` if this process no longer holds the lock."""
        ...

    def release(self) -> None: ...


def _holder() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _describe(holder: dict[str, Any]) -> str:
    pid = holder.get("pid", "?")
    host = holder.get("host", "?")
    since = holder.get("since")
    return f"grodtd pid {pid} on host {host}" + (f" (since {since})" if since else "")


class FileLock:
    """``flock`` on a file beside the SQLite database."""

    def __init__(self, db_path: Path) -> None:
        self.path = db_path.with_name(db_path.name + ".lock")
        self._fd: int | None = None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._read(fd)
            os.close(fd)
            raise StoreLockedError(
                f"the store {db_path} (data directory {db_path.parent}) is in use by "
                f"{_describe(holder)}: one daemon per store. Stop that daemon first, or give "
                "this one its own GRODT_DATA_DIR"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
        # Who holds it is only for the next daemon's message: a full disk must not stop us.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, (json.dumps(_holder()) + "\n").encode())
        self._fd = fd

    @staticmethod
    def _read(fd: int) -> dict[str, Any]:
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
            if isinstance(data, dict):
                return data
        return {}

    def check(self) -> None:
        if self._fd is None:
            raise StoreError(f"the store lock {self.path} was released")

    def release(self) -> None:
        if self._fd is not None:
            # Closing the descriptor is what releases a flock; the file stays for the next one.
            os.close(self._fd)
            self._fd = None


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a dedicated connection."""

    def __init__(self, url: URL) -> None:
        self._url = url
        application = f"grodtd pid {os.getpid()} on {socket.gethostname()}"[:63]
        self._engine: Engine = create_engine(
            url,
            poolclass=NullPool,
            connect_args={"application_name": application},
        )
        self._conn: Connection | None = None
        self._acquire()

    def _where(self) -> str:
        return f"database {self._url.render_as_string(hide_password=True)}"

    def _acquire(self) -> None:
        try:
            conn = self._engine.connect()
        except DBAPIError as exc:
            raise StoreError(
                f"cannot connect to {self._where()} to lock it ({exc.orig}): check that the "
                "server is up and the user may connect"
            ) from exc
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY})
            if not got.scalar_one():
                holder = self._holder_of(conn)
                conn.close()
                raise StoreLockedError(
                    f"the store ({self._where()}) is in use by {holder}: one daemon per store. "
                    "Stop that daemon first, or give this one its own database"
                )
            conn.commit()  # end the implicit transaction; the session lock outlives it
        except DBAPIError as exc:
            conn.close()
            raise StoreError(f"cannot lock {self._where()}: {exc.orig}") from exc
        self._conn = conn

    @staticmethod
    def _holder_of(conn: Connection) -> str:
        row = conn.execute(
            text(
                "SELECT a.application_name, a.client_addr, a.pid FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                "AND l.granted AND l.database = (SELECT oid FROM pg_database "
                "WHERE datname = current_database()) "
                "AND ((l.classid::bigint << 32) | l.objid::bigint) = :key"
            ),
            {"key": ADVISORY_KEY},
        ).first()
        if row is None:
            return "another session"
        name, addr, backend = row
        client = f" from {addr}" if addr else ""
        return f"{name or 'a session'}{client} (server backend {backend})"

    def check(self) -> None:
        """Still ours? A lost connection lost the lock: take it again, or fail if taken."""
        conn = self._conn
        if conn is not None:
            try:
                conn.execute(text("SELECT 1")).scalar_one()
                conn.commit()
                return
            except DBAPIError:
                with contextlib.suppress(DBAPIError):
                    conn.close()
                self._conn = None
        self._acquire()

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(DBAPIError):
                self._conn.close()  # ending the session releases the lock
            self._conn = None
        self._engine.dispose()
