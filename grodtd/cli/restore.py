"""`grodt restore FILE`: replace the SQLite store by a backup, never under a running daemon.

It takes the daemon's own store lock, so it refuses while a daemon runs and no daemon can start
while it works; the file is checked before anything is replaced. ``-`` reads standard input,
which is how ``scripts/docker-dev.sh restore`` feeds a one-off container.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import BinaryIO

from grodtd.cli.common import EXIT_CONFIG, EXIT_FATAL, EXIT_OK, Commands, load, print_problems


def cmd_restore(args: argparse.Namespace) -> int:
    from grodtd.adapters.store.backup import BackupError, restore, sqlite_database

    settings = load().settings
    try:
        db = sqlite_database(settings.effective_database_url())
        source: Path | BinaryIO
        if args.file == "-":
            if sys.stdin.isatty():
                raise BackupError(
                    "restore -: standard input is a terminal; pipe the backup in "
                    "(grodt restore - < FILE) or name the FILE"
                )
            source, shown = sys.stdin.buffer, "standard input"
        else:
            source, shown = Path(args.file), args.file
        restore(db, source)
    except BackupError as exc:
        print_problems([f"restore: {exc}"])
        return EXIT_CONFIG
    except OSError as exc:  # a full disk, an I/O error: not the operator's input
        print_problems([f"restore failed: {exc}; the database was left as it was"])
        return EXIT_FATAL
    print(
        f"grodt: {db} restored from {shown}; the daemon recovers from it at start", file=sys.stderr
    )
    return EXIT_OK


def register(commands: Commands) -> None:
    restore = commands.add_parser(
        "restore",
        help="replace the SQLite store by a backup (refused while a daemon runs on it)",
        description="Checks the backup (SQLite integrity, a GRODT store) before it replaces "
        "anything, and removes the old -wal and -shm files. Stop the daemon first. For a "
        "PostgreSQL store use pg_restore.",
    )
    restore.add_argument("file", metavar="FILE", help="the backup file (- for stdin)")
    restore.set_defaults(handler=cmd_restore)
