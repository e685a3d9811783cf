"""The `grodt` command: run, backtest, check-config, healthcheck, version.

Exit codes are a contract (DESIGN.md): 0 after a clean stop, 2 for a configuration problem
(one line per problem on stderr, naming the file and the key), 1 for any other fatal error.
Configuration errors are printed plainly rather than logged as JSON because the log format is
itself configuration that could not be read.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from grodtd.config import LoadedConfig

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_CONFIG = 2
# A backtest longer than ten years of 1-minute bars is a typo, not a plan.
MAX_BACKTEST_DAYS = 3650.0


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's error contract: one line naming the option, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _print_problems(problems: Sequence[str]) -> None:
    for problem in problems:
        print(f"grodt: {problem}", file=sys.stderr)


def _load(overrides: Sequence[tuple[tuple[str, ...], Any, str]] = ()) -> LoadedConfig:
    # Imported here: `grodt healthcheck`, which Docker runs every few seconds, must start fast
    # and needs neither pydantic nor YAML.
    from grodtd.config import load_config

    return load_config(overrides=overrides)


def cmd_run(_: argparse.Namespace) -> int:
    # Imported here so that `grodt healthcheck`, run every few seconds by Docker, stays light.
    import asyncio

    import structlog

    from grodtd.adapters.store import StoreError
    from grodtd.app import StartupError, TradingFailed, run_daemon
    from grodtd.config import ConfigError
    from grodtd.logs import configure_logging

    loaded = _load()
    settings = loaded.settings
    configure_logging(settings.log.level, settings.log.format, secrets=settings.secret_values())
    if loaded.warnings:
        log = structlog.stdlib.get_logger("grodtd.config")
        for warning in loaded.warnings:
            log.warning("configuration warning", detail=warning)
    try:
        return asyncio.run(run_daemon(settings))
    except (ConfigError, StoreError) as exc:
        problems = exc.problems if isinstance(exc, ConfigError) else [str(exc)]
        _print_problems(problems)
        return EXIT_CONFIG
    except (StartupError, TradingFailed) as exc:
        _print_problems([str(exc)])
        return EXIT_FATAL


def cmd_backtest(args: argparse.Namespace) -> int:
    from grodtbt.cli import run_backtest_command

    if args.csv and (args.days is not None or args.symbols or args.seed is not None):
        given = [
            name for name, value in (("--days", args.days), ("--symbols", args.symbols)) if value
        ] + (["--seed"] if args.seed is not None else [])
        _print_problems(
            [
                f"{', '.join(given)} cannot be combined with --csv: a CSV backtest replays "
                "every bar of each file for the symbol named in SYMBOL=PATH; trim the files "
                "to choose a window"
            ]
        )
        return EXIT_CONFIG
    # The same rules as the configuration: `--symbols FOO` fails as market.symbols would.
    overrides: list[tuple[tuple[str, ...], Any, str]] = []
    if args.symbols:
        overrides.append((("market", "symbols"), args.symbols, "command-line option --symbols"))
    if args.seed is not None:
        overrides.append((("market", "seed"), args.seed, "command-line option --seed"))
    settings = _load(overrides).settings
    return run_backtest_command(settings, args)


def cmd_check_config(args: argparse.Namespace) -> int:
    import yaml

    loaded = _load()
    settings = loaded.settings
    effective = settings.redacted()
    if args.sources is not None:
        _print_sources(loaded, effective, args.sources)
    elif args.json:
        print(json.dumps(effective, indent=2, sort_keys=True, default=str))
    else:
        print(yaml.safe_dump(effective, sort_keys=True, default_flow_style=False), end="")
    for source in loaded.sources:
        print(f"grodt: read {source}", file=sys.stderr)
    for warning in loaded.warnings:
        print(f"grodt: warning: {warning}", file=sys.stderr)
    print(f"grodt: configuration in {settings.config_dir} is valid", file=sys.stderr)
    return EXIT_OK


def _print_sources(loaded: LoadedConfig, effective: dict[str, Any], prefix: str) -> None:
    """One line per effective value: key, value (secrets redacted) and where it came from."""
    rows: list[tuple[str, str, str]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict) and node:
            for key in sorted(node):
                walk(node[key], (*path, str(key)))
            return
        dotted = ".".join(path)
        if dotted == prefix or dotted.startswith(prefix + ".") or not prefix:
            source = loaded.source_of(path)
            rows.append((dotted, json.dumps(node, default=str), source))

    walk(effective, ())
    if not rows:
        _print_problems([f"check-config --sources {prefix}: no such key; try without a key"])
        raise SystemExit(EXIT_CONFIG)
    width = max(len(key) for key, _, _ in rows)
    for key, value, source in rows:
        print(f"{key:<{width}}  {value}  # {source}")


def cmd_healthcheck(args: argparse.Namespace) -> int:
    """Ask the local daemon's /health; exit 0 only on 200. Used by Docker's HEALTHCHECK.

    It reads the port from the environment rather than the YAML so that a broken config file
    cannot make the probe itself crash: the daemon's own answer is what counts.
    """
    port = args.port or int(os.environ.get("GRODT_WEB_PORT", "8000"))
    url = f"http://127.0.0.1:{port}/health"
    try:
        status = _http_status("127.0.0.1", port, "/health", args.timeout)
    except (OSError, ValueError) as exc:
        print(f"grodt: {url} did not answer: {exc}", file=sys.stderr)
        return EXIT_FATAL
    if status != 200:
        print(f"grodt: {url} answered {status}", file=sys.stderr)
        return EXIT_FATAL
    return EXIT_OK


def _http_status(host: str, port: int, path: str, timeout: float) -> int:
    """The status code of a GET, from the status line alone.

    Docker runs this probe every 2 seconds in the daemon's own container, so its CPU is taken
    from the daemon: importing urllib (http.client, email, ssl) was half of the probe's 0.1 s
    of CPU. One HTTP/1.0 request over a plain socket needs nothing beyond the status line.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode("ascii"))
        with sock.makefile("rb") as response:
            status_line = response.readline(256)
    fields = status_line.split()
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
        raise ValueError(f"not an HTTP answer: {status_line[:80]!r}")
    return int(fields[1])


def cmd_version(args: argparse.Namespace) -> int:
    from grodtd.version import core_build, revision, version

    if args.json:
        print(json.dumps({"version": version(), "revision": revision(), "core": core_build()}))
    else:
        print(f"grodt {version()} ({revision()}, {core_build()} core)")
    return EXIT_OK


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of days (got {text!r})") from None
    if not 0 < days <= MAX_BACKTEST_DAYS:  # also false for nan
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most {MAX_BACKTEST_DAYS:g} days (got {text})"
        )
    return days


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
        "--days", type=_days, help="simulated days, more than 0 (default 30; not with --csv)"
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
            _print_problems(exc.problems)
            return EXIT_CONFIG
        raise
    except KeyboardInterrupt:
        return EXIT_OK
