"""A brand-new database on the real PostgreSQL server named by GRODT_TEST_POSTGRES_URL.

.ci/run starts a server with scripts/ci-postgres.sh and exports that variable; on a developer
machine without one the PostgreSQL tests skip loudly, in CI they fail.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.tools import unavailable


@contextmanager
def fresh_database() -> Iterator[str]:
    """The SQLAlchemy URL of a database created for the caller and dropped afterwards."""
    admin_url = os.environ.get("GRODT_TEST_POSTGRES_URL")
    if not admin_url:
        unavailable(
            "GRODT_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against "
            "(as root: export GRODT_TEST_POSTGRES_URL=$(scripts/ci-postgres.sh))"
        )
    if importlib.util.find_spec("psycopg") is None:
        unavailable("the postgres extra (psycopg) is not installed: scripts/test.sh installs it")
    from sqlalchemy import create_engine, make_url, text

    name = f"grodt_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                # WITH (FORCE): a daemon killed by a test may leave a connection behind.
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
