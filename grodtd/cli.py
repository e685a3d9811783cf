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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grodtd.config import Settings

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_CONFIG = 2


def _print_problems(problems: Sequence[str]) -> None:
    for problem in problems:
        print(f"grodt: {problem}", file=sys.stderr)


def _load() -> Settings:
    # Imported here: `grodt healthcheck`, which Docker runs every few seconds, must start fast
    # and needs neither pydantic nor YAML.
    from grodtd.config import load_settings

    return load_settings()


def cmd_run(_: argparse.Namespace) -> int:
    # Imported here so that `grodt healthcheck`, run every few seconds by Docker, stays light.
    import asyncio

    from grodtd.adapters.store import StoreError
    from grodtd.app import StartupError, run_daemon
    from grodtd.config import ConfigError
    from grodtd.logs import configure_logging

    settings = _load()
    configure_logging(settings.log.level, settings.log.format, secrets=settings.secret_values())
    try:
        return asyncio.run(run_daemon(settings))
    except (ConfigError, StoreError) as exc:
        problems = exc.problems if isinstance(exc, ConfigError) else [str(exc)]
        _print_problems(problems)
        return EXIT_CONFIG
    except StartupError as exc:
        _print_problems([str(exc)])
        return EXIT_FATAL


def cmd_backtest(args: argparse.Namespace) -> int:
    from grodtbt.cli import run_backtest_command

    settings = _load()
    return run_backtest_command(settings, args)


def cmd_check_config(args: argparse.Namespace) -> int:
    import yaml

    settings = _load()
    effective = settings.redacted()
    if args.json:
        print(json.dumps(effective, indent=2, sort_keys=True, default=str))
    else:
        print(yaml.safe_dump(effective, sort_keys=True, default_flow_style=False), end="")
    print(f"grodt: configuration in {settings.config_dir} is valid", file=sys.stderr)
    return EXIT_OK


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    backtest.add_argument("--days", type=float, default=30.0, help="simulated days (default 30)")
    backtest.add_argument("--symbols", nargs="+", help="symbols (default: the configured ones)")
    backtest.add_argument("--seed", type=int, help="simulator seed (default: the configured one)")
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
