"""Alembic environment: runs on the connection that ``SqlStore.migrate`` hands over.

Alembic executes this file itself (it is not imported by the application). The connection comes
in through ``config.attributes`` so migrations share the store's engine, its SQLite pragmas and
its transaction; for ad-hoc use from the ``alembic`` command line, ``sqlalchemy.url`` in a
developer's own config file works too.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from grodtd.adapters.store.schema import metadata

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError(
                "no database to migrate: run migrations through SqlStore.migrate() or set "
                "sqlalchemy.url in your alembic config"
            )
        engine = create_engine(url)
        with engine.begin() as own_connection:
            _run(own_connection)
        engine.dispose()
