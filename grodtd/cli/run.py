"""`grodt run`: the daemon, until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse

from grodtd.cli.common import EXIT_CONFIG, EXIT_FATAL, Commands, load, print_problems


def cmd_run(args: argparse.Namespace) -> int:
    # Imported here so that `grodt healthcheck`, run every few seconds by Docker, stays light.
    import asyncio

    import structlog

    from grodtd.adapters.store import StoreError
    from grodtd.app import TradingFailed, run_daemon
    from grodtd.config import ConfigError
    from grodtd.live.servers import StartupError
    from grodtd.ops.logs import configure_logging

    loaded = load()
    settings = loaded.settings
    configure_logging(settings.log.level, settings.log.format, secrets=settings.secret_values())
    if loaded.warnings:
        log = structlog.stdlib.get_logger("grodtd.config")
        for warning in loaded.warnings:
            log.warning("configuration warning", detail=warning)
    if args.check:
        from grodtd.cli.run_check import check_venue

        return check_venue(settings)
    try:
        return asyncio.run(run_daemon(settings))
    except (ConfigError, StoreError) as exc:
        problems = exc.problems if isinstance(exc, ConfigError) else [str(exc)]
        print_problems(problems)
        return EXIT_CONFIG
    except (StartupError, TradingFailed) as exc:
        print_problems([str(exc)])
        return EXIT_FATAL


def register(commands: Commands) -> None:
    run = commands.add_parser("run", help="run the daemon (paper trading on the simulator)")
    run.add_argument(
        "--check",
        action="store_true",
        help="ask the exchange whether the keys, permissions and symbols can trade, then exit "
        "(no order, no store)",
    )
    run.set_defaults(handler=cmd_run)
