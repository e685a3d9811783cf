"""``BinanceEmulator``: the whole emulated exchange behind one loopback URL.

    with BinanceEmulator(symbols=["BTC/USDT", "ETH/USDT"], speed=60.0, seed=1) as emu:
        exchange = point_ccxt_at(ccxt.binance({"apiKey": emu.api_key, "secret": emu.api_secret}),
                                 emu.url)
        emu.faults.add("429", count=3, retry_after=1, path_prefix="/api/v3/klines")

It binds 127.0.0.1 only (port 0 by default: the port is known once the constructor returns),
serves from daemon threads and, while it runs, a background ticker matches resting orders
against the market clock, so an order fills even when no client is connected.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any

from .auth import Credentials
from .candles import CandleRow, ExplicitSeries, GeneratedSeries, Series
from .clock import MINUTE_MS, Clock
from .context import ExchangeState
from .faults import FaultSchedule
from .handler import EmulatorHTTPServer
from .journal import Journal
from .ledger import Ledger
from .market import Market
from .matching import Engine
from .orders import trade_view
from .symbols import SymbolSpec

DEFAULT_API_KEY = "emulator-api-key"
DEFAULT_API_SECRET = "emulator-api-secret"
DEFAULT_BALANCES: Mapping[str, str] = {"USDT": "100000"}
DEFAULT_HISTORY_MINUTES = 7 * 24 * 60


class BinanceEmulator:
    """An emulated Binance spot exchange: market data, one account, faults on cue.

    ``speed`` paces the market clock (0 freezes it; ``emu.clock.advance`` steps it), ``seed``
    picks the generated market, ``history_minutes`` how far back before ``start_ms`` candles
    exist. ``candles`` gives a symbol explicit rows instead (parity with a CSV replay).
    ``balances`` are the account's starting free balances. Fees: 0.1% of what each fill
    receives (base on a buy, quote on a sell), as on Binance without BNB discounts.
    """

    def __init__(
        self,
        symbols: Sequence[str] = ("BTC/USDT",),
        *,
        speed: float = 1.0,
        seed: int = 0,
        start_ms: int | None = None,
        history_minutes: int = DEFAULT_HISTORY_MINUTES,
        candles: Mapping[str, Sequence[CandleRow]] | None = None,
        base_prices: Mapping[str, float] | None = None,
        balances: Mapping[str, str | float | Decimal] | None = None,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        port: int = 0,
        tick_s: float | None = 0.05,
        client_id_memory_ms: int = 24 * 60 * MINUTE_MS,
    ) -> None:
        explicit = dict(candles or {})
        names = list(dict.fromkeys([*symbols, *explicit]))
        prices = dict(base_prices or {})
        for name, rows in explicit.items():  # tick and step follow the given prices
            prices.setdefault(name, float(rows[-1][4]))
        self.clock = Clock(start_ms=start_ms, speed=speed)
        first_open = self.clock.start_ms - history_minutes * MINUTE_MS
        specs: dict[str, SymbolSpec] = {}
        series: dict[str, Series] = {}
        for name in names:
            spec = SymbolSpec.default(name, prices.get(name))
            specs[spec.market_id] = spec
            series[spec.market_id] = (
                ExplicitSeries(explicit[name])
                if name in explicit
                else GeneratedSeries(spec, seed=seed, first_open_ms=first_open)
            )
        self.market = Market(specs, series)
        assets = [a for s in specs.values() for a in (s.base, s.quote)]
        ledger = Ledger(DEFAULT_BALANCES if balances is None else balances, assets)
        self.faults = FaultSchedule()
        self.journal = Journal()
        self.credentials = Credentials(api_key, api_secret)
        self.state = ExchangeState(
            clock=self.clock,
            market=self.market,
            ledger=ledger,
            engine=Engine(self.market, ledger, client_id_memory_ms=client_id_memory_ms),
            faults=self.faults,
            journal=self.journal,
            creds=self.credentials,
        )
        self._tick_s = tick_s
        self._stopping = threading.Event()
        self._server = EmulatorHTTPServer(port, self.state, self._stopping)
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_key(self) -> str:
        return self.credentials.api_key

    @property
    def api_secret(self) -> str:
        return self.credentials.api_secret

    def start(self) -> BinanceEmulator:
        if self._threads:
            return self
        serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="binance-emulator-http",
            daemon=True,
        )
        self._threads.append(serve)
        if self._tick_s:
            self._threads.append(
                threading.Thread(target=self._tick, name="binance-emulator-tick", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open and held connections, release the port."""
        self._stopping.set()
        if self._threads:
            self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> BinanceEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _tick(self) -> None:
        assert self._tick_s is not None
        while not self._stopping.wait(self._tick_s):
            try:
                self.sync()
            except Exception:  # keep ticking; the traceback tells the test author what broke
                traceback.print_exc(file=sys.stderr)

    # -- inspection from tests, without going through HTTP ---------------------------------

    @staticmethod
    def market_id(symbol: str) -> str:
        return symbol.replace("/", "")

    def sync(self) -> None:
        """Match resting orders up to the clock's now (the ticker does this continuously)."""
        with self.state.lock:
            self.state.engine.sync(self.clock.now_ms())

    def price(self, symbol: str) -> Decimal:
        price = self.market.price(self.market_id(symbol), self.clock.now_ms())
        if price is None:
            raise LookupError(f"{symbol} has no candle yet")
        return price

    def path(self, symbol: str, after_ms: int, upto_ms: int) -> list[tuple[int, Decimal]]:
        """The price path between two times, future included: lets a test pick a price the
        market will reach (the path is fixed by the seed, whatever the clock says)."""
        return list(self.market.path(self.market_id(symbol), after_ms, upto_ms))

    def orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """Every order as ``GET /api/v3/order`` would show it, oldest first."""
        with self.state.lock:
            ids = None if symbol is None else self.market_id(symbol)
            return [o.view() for o in self.state.engine.orders(ids)]

    def order_by_client_id(self, client_id: str) -> dict[str, Any] | None:
        found = [o for o in self.orders() if o["clientOrderId"] == client_id]
        return found[-1] if found else None

    def trades(self, symbol: str | None = None) -> list[dict[str, Any]]:
        with self.state.lock:
            ids = None if symbol is None else self.market_id(symbol)
            return [trade_view(t) for t in self.state.engine.trades(ids)]

    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """asset -> (free, locked)."""
        with self.state.lock:
            return self.state.ledger.snapshot()

    def transfer(self, asset: str, amount: str | Decimal) -> None:
        """Move ``amount`` of ``asset`` into (positive) or out of (negative) the account, as a
        deposit, a withdrawal or a trade by another program would: no order explains it."""
        change = Decimal(str(amount))
        with self.state.lock:
            if change >= 0:
                self.state.ledger.credit(asset, change)
            else:
                self.state.ledger.spend(asset, -change)
