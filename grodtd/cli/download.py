"""`grodt download`: an exchange's 1-minute history into the CSV files a backtest replays.

    grodt download --exchange binance --symbols BTC/USDT,ETH/USDT --days 30 --out data/history
    grodt backtest --csv BTC-USDT=data/history/binance-BTC-USDT-1m.csv

Killed halfway, the same command resumes after the last candle written.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from grodtd.cli.backtest import days
from grodtd.cli.common import EXIT_CONFIG, EXIT_FATAL, EXIT_OK, Commands, print_problems

_SYMBOL = re.compile(r"^[A-Z0-9]{1,20}[/-][A-Z0-9]{1,20}$")
_EXCHANGE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def _symbols(text: str) -> list[str]:
    symbols = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in symbols if not _SYMBOL.match(s)]
    if not symbols or bad:
        raise argparse.ArgumentTypeError(
            f"must be BASE/QUOTE symbols separated by commas, such as BTC/USDT,ETH/USDT "
            f"(got {text!r})"
        )
    return [s.replace("/", "-") for s in symbols]


def _exchange(text: str) -> str:
    if not _EXCHANGE.match(text):
        raise argparse.ArgumentTypeError(
            f"must be a ccxt exchange id such as binance (got {text!r})"
        )
    return text


def _base_url(text: str) -> str:
    if not re.match(r"^https?://[^/\s]+", text):
        raise argparse.ArgumentTypeError(
            f"must be an http(s) URL with a host, such as http://127.0.0.1:8123 (got {text!r})"
        )
    return text.rstrip("/")


def cmd_download(args: argparse.Namespace) -> int:
    from grodtd.adapters.markets.exchange import MarketConfigError
    from grodtd.adapters.markets.exchange.client import UnknownExchange, open_exchange
    from grodtd.adapters.markets.exchange.edge import error_kind
    from grodtd.adapters.markets.exchange.history import HistoryDownloader, csv_path
    from grodtd.backtest.progress import ProgressBar

    bar_seconds = 60
    try:
        exchange = open_exchange(args.exchange, base_url=args.base_url, timeout_s=args.timeout)
        downloader = HistoryDownloader(exchange, args.exchange, bar_seconds=bar_seconds)
        downloader.check_symbols(args.symbols)
        end_ms = downloader.server_ms()
        end_ms -= end_ms % (bar_seconds * 1000)  # the forming candle is never written
        start_ms = end_ms - int(args.days * 86_400_000)
        start_ms -= start_ms % (bar_seconds * 1000)
        for symbol in args.symbols:
            path = csv_path(args.out, args.exchange, symbol, bar_seconds)
            expected = (end_ms - start_ms) // (bar_seconds * 1000)
            progress = None
            if sys.stderr.isatty() and not args.no_progress:
                progress = ProgressBar(expected)
            started = time.monotonic()
            done = downloader.download(symbol, path, start_ms, end_ms, progress)
            verb = "resumed" if done.resumed else "wrote"
            print(
                f"grodt: {verb} {path}: {done.candles} candles in "
                f"{time.monotonic() - started:.1f} s; replay it with "
                f"grodt backtest --csv {symbol}={path}",
                file=sys.stderr,
            )
    except UnknownExchange as exc:
        print_problems([f"--exchange: {exc}"])
        return EXIT_CONFIG
    except MarketConfigError as exc:
        print_problems([str(exc)])
        return EXIT_CONFIG
    except Exception as exc:
        kind = error_kind(exc)
        if kind == "rejected":
            print_problems([f"exchange {args.exchange} refused: {type(exc).__name__}: {exc}"])
            return EXIT_CONFIG
        detail = " ".join(str(exc).split())[:200]
        print_problems(
            [
                f"exchange {args.exchange} did not answer ({kind}: {detail}); run the same "
                "command again: it resumes after the last candle written"
            ]
        )
        return EXIT_FATAL
    return EXIT_OK


def register(commands: Commands) -> None:
    download = commands.add_parser(
        "download",
        help="download an exchange's 1-minute candles into CSV files for grodt backtest --csv",
        description="Write DIR/<exchange>-<BASE>-<QUOTE>-1m.csv per symbol, in the format "
        "grodt backtest --csv reads (timestamp,open,high,low,close,volume; timestamp = open "
        "time in epoch seconds). Run again to resume an interrupted download.",
    )
    download.add_argument(
        "--exchange", type=_exchange, default="binance", help="ccxt exchange id (default binance)"
    )
    download.add_argument(
        "--symbols", type=_symbols, required=True, metavar="BTC/USDT[,..]", help="symbols"
    )
    download.add_argument("--days", type=days, default=30.0, help="days back from now (default 30)")
    download.add_argument(
        "--out", type=Path, default=Path("data/history"), help="directory (default data/history)"
    )
    download.add_argument("--base-url", type=_base_url, help="the exchange's REST host replaced")
    download.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    download.add_argument("--no-progress", action="store_true", help="no progress bar")
    download.set_defaults(handler=cmd_download)
