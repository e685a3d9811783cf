"""The `grodt` command: run, backtest, download, check-config, backup, restore, healthcheck,
version.

One module per command; this one only builds the parser and maps failures to exit codes
(see ``common``). Commands import what they need inside their handler, so that
`grodt healthcheck`, which Docker runs every few seconds, stays light.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from grodtd.cli import (
    backtest,
    backup,
    check_config,
    download,
    flatten,
    healthcheck,
    restore,
    run,
    version,
)
from grodtd.cli.common import EXIT_CONFIG, EXIT_FATAL, EXIT_OK, Parser, print_problems

# In the order `grodt --help` lists them; each module adds its own subcommand.
COMMANDS = (run, flatten, backtest, download, check_config, healthcheck, version, backup, restore)

__all__ = ["EXIT_CONFIG", "EXIT_FATAL", "EXIT_OK", "build_parser", "main"]


def build_parser() -> Parser:
    parser = Parser(
        prog="grodt",
        description="GRODT trading daemon. Configuration: configs/*.yaml, GRODT_* variables, "
        "secret files. See docs/configuration.md.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        # Whoever read our output stopped early (`grodt backtest --json | head`): no traceback.
        # Point stdout at /dev/null so that the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FATAL
    except Exception as exc:
        # Imported only on the error path, so that `grodt healthcheck` stays light.
        from grodtd.config import ConfigError

        if isinstance(exc, ConfigError):
            print_problems(exc.problems)
            return EXIT_CONFIG
        raise
    except KeyboardInterrupt:
        return EXIT_OK
