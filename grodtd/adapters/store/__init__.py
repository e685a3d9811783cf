"""The persistence adapter: ``SqlStore`` over SQLite (WAL) by default, PostgreSQL by URL.

PostgreSQL needs the optional ``postgres`` extra (psycopg); nothing here imports it, so the
module loads without it and only a ``postgresql+psycopg://`` URL asks for the driver.
"""

from grodtd.adapters.store.engine import sqlite_url
from grodtd.adapters.store.errors import StoreError
from grodtd.adapters.store.lock import StoreLockedError
from grodtd.adapters.store.sql_store import SqlStore

__all__ = ["SqlStore", "StoreError", "StoreLockedError", "sqlite_url"]
