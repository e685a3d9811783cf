"""Alembic migrations of the store, shipped inside the package and run without alembic.ini.

``upgrade_to_head`` is what ``SqlStore.migrate`` calls at start-up. Developers who want the
``alembic`` command line can point a throw-away config at this directory (see ``env.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

# Alembic is imported inside the functions: it is only needed once, at start-up, and importing
# it eagerly would double the import time of every process that merely reads the store.

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None) -> Config:
    """A programmatic Alembic config; ``connection`` is handed to ``env.py`` if given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_to_head(connection: Connection) -> None:
    """Bring the schema to the newest revision; a no-op when it is already there."""
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this build."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
