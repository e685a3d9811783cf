"""An emulated Binance spot exchange on 127.0.0.1 for tests: real HTTP, real ccxt, faults on cue.

See ``server.BinanceEmulator`` for the entry point and ``ccxt_setup.point_ccxt_at`` for how a
ccxt client is pointed at it. ``python -m tests.support.exchange`` runs one in the foreground.
"""

from .auth import Credentials
from .candles import CandleRow
from .ccxt_setup import point_ccxt_at
from .clock import MINUTE_MS, Clock
from .faults import Fault, FaultSchedule
from .journal import Journal, JournalEntry
from .orders import FEE_RATE
from .server import DEFAULT_API_KEY, DEFAULT_API_SECRET, BinanceEmulator
from .symbols import SymbolSpec

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "FEE_RATE",
    "MINUTE_MS",
    "BinanceEmulator",
    "CandleRow",
    "Clock",
    "Credentials",
    "Fault",
    "FaultSchedule",
    "Journal",
    "JournalEntry",
    "SymbolSpec",
    "point_ccxt_at",
]
