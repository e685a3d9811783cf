"""The `grodt` command: run, backtest, check-config, healthcheck, version.

One module per command; this one only builds the parser and maps failures to exit codes
(see ``common``). Commands import what they need inside their handler, so that
`grodt healthcheck`, which Docker runs every few seconds, stays light.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from grodtd.cli.backtest import cmd_backtest, days
from grodtd.cli.check_config import cmd_check_config
from grodtd.cli.common import EXIT_CONFIG, EXIT_FATAL, EXIT_OK, Parser, print_problems
from grodtd.cli.healthcheck import cmd_healthcheck
from grodtd.cli.run import cmd_run
from grodtd.cli.version import cmd_version

__all__ = ["EXIT_CONFIG", "EXIT_FATAL", "EXIT_OK", "build_parser", "main"]


def build_parser() -> Parser:
    parser = Parser(
        prog="grodt",
        description="GRODT trading daemon. Configuration: configs/*.yaml, GRODT_* variables, "
        "secret files. See docs/configuration.md.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the daemon (paper trading on the simulator)")
    run.set_defaults(handler=cmd_run)

    backtest = commands.add_parser(
        "backtest", help="run the same engine over simulated days or CSV files, as fast as possible"
    )
    backtest.add_argument(
        "--days", type=days, help="simulated days, more than 0 (default 30; not with --csv)"
    )
    backtest.add_argument(
        "--symbols",
        nargs="+",
        help="simulated symbols such as BTC-USD (default: market.symbols; not with --csv)",
    )
    backtest.add_argument(
        "--seed", type=int, help="simulator seed, 0 or more (default: market.seed; not with --csv)"
    )
    backtest.add_argument(
        "--csv",
        action="append",
        default=[],
        metavar="SYMBOL=PATH",
        help="replay a CSV file for SYMBOL instead of simulating (repeatable)",
    )
    backtest.add_argument("--json", action="store_true", help="print the report as JSON")
    backtest.add_argument("--no-progress", action="store_true", help="no progress bar")
    backtest.set_defaults(handler=cmd_backtest)

    check = commands.add_parser(
        "check-config", help="validate the configuration and print it, secrets redacted"
    )
    check.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    check.add_argument(
        "--sources",
        nargs="?",
        const="",
        metavar="KEY",
        help="show where each effective value comes from (file, overlay, variable or "
        "default); KEY such as market or risk.risk_per_trade narrows the list",
    )
    check.set_defaults(handler=cmd_check_config)

    health = commands.add_parser("healthcheck", help="exit 0 only if the local daemon is healthy")
    health.add_argument("--port", type=int, help="web port (default: $GRODT_WEB_PORT or 8000)")
    health.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    health.set_defaults(handler=cmd_healthcheck)

    ver = commands.add_parser(
        "version", help="print the version, the revision and whether the core is compiled"
    )
    ver.add_argument("--json", action="store_true")
    ver.set_defaults(handler=cmd_version)
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
