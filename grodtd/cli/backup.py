"""`grodt backup [FILE]`: a consistent copy of the SQLite store, taken while the daemon trades.

FILE defaults to ``<data_dir>/backups/grodt-<UTC time>.db``; ``-`` writes the copy to standard
output, which is how ``scripts/docker-dev.sh backup`` gets it out of a read-only container.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from grodtd.cli.common import EXIT_CONFIG, EXIT_FATAL, EXIT_OK, Commands, load, print_problems


def cmd_backup(args: argparse.Namespace) -> int:
    from grodtd.adapters.store.backup import (
        BackupError,
        backup_to_file,
        backup_to_stream,
        sqlite_database,
    )

    settings = load().settings
    try:
        db = sqlite_database(settings.effective_database_url())
        if args.file == "-":
            if sys.stdout.isatty():
                raise BackupError(
                    "backup -: standard output is a terminal; redirect it to a file "
                    "(grodt backup - > FILE) or name the FILE"
                )
            backup_to_stream(db, sys.stdout.buffer)
            where = "standard output"
        else:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            out = (
                Path(args.file)
                if args.file
                else settings.data_dir / "backups" / f"grodt-{stamp}.db"
            )
            backup_to_file(db, out)
            where = str(out)
    except BackupError as exc:
        print_problems([f"backup: {exc}"])
        return EXIT_CONFIG
    except OSError as exc:  # a full disk, an I/O error: not the operator's input
        print_problems([f"backup failed, no backup was written: {exc}"])
        return EXIT_FATAL
    print(f"grodt: backup of {db} written to {where}", file=sys.stderr)
    return EXIT_OK


def register(commands: Commands) -> None:
    backup = commands.add_parser(
        "backup",
        help="copy the SQLite store consistently, even while the daemon trades",
        description="An online backup through SQLite's backup API: consistent while the daemon "
        "runs, never blocking it. For a PostgreSQL store use pg_dump.",
    )
    backup.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="where to write it (default <data_dir>/backups/grodt-<UTC time>.db; - for stdout)",
    )
    backup.set_defaults(handler=cmd_backup)
