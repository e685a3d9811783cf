"""Run the emulator in the foreground for manual tries: ``python -m tests.support.exchange``.

The first line printed is the base URL (a test reads it when it asks for ``--port 0``).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .server import BinanceEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.exchange",
        description="An emulated Binance spot exchange on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8123, help="0 picks a free port")
    parser.add_argument(
        "--speed",
        type=float,
        default=60.0,
        help="market minutes per real minute (60: a candle a second)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--symbols", default="BTC/USDT,ETH/USDT", help="comma-separated")
    parser.add_argument("--history-minutes", type=int, default=7 * 24 * 60)
    args = parser.parse_args(argv)
    emu = BinanceEmulator(
        [s.strip() for s in args.symbols.split(",") if s.strip()],
        speed=args.speed,
        seed=args.seed,
        history_minutes=args.history_minutes,
    )
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with emu:
        print(emu.url, flush=True)
        print(f"api key: {emu.api_key}  secret: {emu.api_secret}  (test credentials)", flush=True)
        print(
            "point ccxt at it with tests.support.exchange.point_ccxt_at; Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
