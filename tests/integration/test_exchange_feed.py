"""``ExchangeFeed`` against the Binance emulator, with the real ccxt client over real HTTP.

The emulator's market clock runs 60 times faster than the wall clock (a 1-minute candle
closes every second), so minutes of exchange behaviour fit in seconds of test. What is
checked is what the engine relies on: only closed candles, each exactly once and in order,
history first, freshness honest after an outage, and every fault survived.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest

from grodtd.adapters.markets.exchange import ExchangeFeed, MarketConfigError
from grodtd.core.models import Bar
from tests.support.exchange import BinanceEmulator

SYMBOLS = ["BTC/USDT", "ETH/USDT"]


@pytest.fixture
def emu() -> Iterator[BinanceEmulator]:
    with BinanceEmulator(symbols=SYMBOLS, speed=60.0, seed=3) as emulator:
        yield emulator


def feed_for(emu: BinanceEmulator, **options: object) -> ExchangeFeed:
    params: dict[str, object] = {"history_bars": 30, "poll_seconds": 0.1, "timeout_s": 2.0}
    params.update(options)
    return ExchangeFeed("binance", ["BTC-USDT", "ETH-USDT"], base_url=emu.url, **params)


class Reader:
    """Reads the feed on a thread, as the daemon's BarFeed does, stamping each bar on arrival."""

    def __init__(self, emu: BinanceEmulator, feed: ExchangeFeed) -> None:
        self.emu = emu
        self.feed = feed
        self.bars: list[tuple[Bar, int, bool]] = []  # bar, emulator ms at arrival, fresh
        self._thread = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        for bar in self.feed.bars():
            self.bars.append((bar, self.emu.clock.now_ms(), self.feed.fresh(bar)))

    def __enter__(self) -> Reader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.feed.stop()
        self._thread.join(10)

    def wait(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.bars) < count:
            assert time.monotonic() < deadline, f"only {len(self.bars)} bars of {count}"
            time.sleep(0.05)

    def of(self, symbol: str) -> list[Bar]:
        return [bar for bar, _, _ in self.bars if bar.symbol == symbol]


def assert_consecutive(bars: list[Bar]) -> None:
    times = [bar.ts for bar in bars]
    assert times == list(range(times[0], times[0] + 60 * len(times), 60)), "lost or repeated bar"


def truth(emu: BinanceEmulator, symbol: str, bars: list[Bar]) -> list[Bar]:
    """The same candles as the exchange serves them now that they have long closed."""
    feed = feed_for(emu)
    feed.connect()
    cursor = {symbol: bars[0].ts * 1000}
    return feed._closed_since(symbol, cursor, emu.clock.server_ms())[: len(bars)]


def test_history_first_then_live_closed_candles_in_order(emu: BinanceEmulator) -> None:
    feed = feed_for(emu)
    with Reader(emu, feed) as reader:
        reader.wait(2 * 30 + 2 * 8)
    for symbol in ("BTC-USDT", "ETH-USDT"):
        bars = reader.of(symbol)
        assert_consecutive(bars)
        assert truth(emu, symbol, bars) == bars  # the values of the closed candles, exactly
    history = reader.bars[:60]
    assert {bar.symbol for bar, _, _ in history} == {"BTC-USDT", "ETH-USDT"}
    # Never a candle that had not closed when it arrived.
    assert all(bar.ts * 1000 + 60_000 <= arrived for bar, arrived, _ in reader.bars)
    # History is for warming up; candles fetched as they close are fresh.
    assert not any(fresh for _, _, fresh in reader.bars[:50])
    assert all(fresh for _, _, fresh in reader.bars[62:])
    assert feed.problem() is None


@pytest.mark.parametrize(
    ("kind", "options", "error_kind"),
    [
        ("429", {"retry_after": 1}, "rate_limited"),
        ("500", {}, "unavailable"),
        ("503", {"json_body": True}, "unavailable"),
        ("timeout", {"seconds": 3.0}, "timeout"),
        ("drop", {}, "network"),
    ],
)
def test_request_faults_are_retried_and_no_bar_is_lost_or_repeated(
    emu: BinanceEmulator, kind: str, options: dict[str, object], error_kind: str
) -> None:
    feed = feed_for(emu)
    with Reader(emu, feed) as reader:
        reader.wait(62)
        fault = emu.faults.add(kind, count=6, path_prefix="/api/v3/klines", **options)
        reader.wait(len(reader.bars) + 12, timeout=60)
    assert fault.hits == 6
    assert feed.status.errors[error_kind] >= 1
    assert feed.status.retries >= 1
    for symbol in ("BTC-USDT", "ETH-USDT"):
        assert_consecutive(reader.of(symbol))


def test_an_outage_is_caught_up_from_history_and_only_recent_candles_are_fresh(
    emu: BinanceEmulator,
) -> None:
    feed = feed_for(emu)
    with Reader(emu, feed) as reader:
        reader.wait(62)
        outage = emu.faults.add("503", path_prefix="/api/v3/")  # everything, until cleared
        time.sleep(4)  # four exchange minutes without an answer
        assert "failing" in (feed.problem() or "")
        before = len(reader.bars)
        emu.faults.remove(outage)
        reader.wait(before + 2 * 6, timeout=30)
    btc = [(bar, fresh) for bar, _, fresh in reader.bars[before:] if bar.symbol == "BTC-USDT"]
    assert_consecutive(reader.of("BTC-USDT"))
    # The candles that closed during the outage arrive, but the first ones are not fresh.
    assert not btc[0][1]
    assert feed.problem() is None


def test_a_hole_in_history_is_waited_for_until_it_fills(emu: BinanceEmulator) -> None:
    feed = feed_for(emu, gap_patience_bars=100)
    with Reader(emu, feed) as reader:
        reader.wait(62)
        now = emu.clock.now_ms()
        start = now - now % 60_000 + 60_000
        hole = emu.faults.add("gap", start_ms=start, end_ms=start + 3 * 60_000)
        time.sleep(6)  # the hole and three more minutes are served without the hole
        held = [bar.ts * 1000 for bar in reader.of("BTC-USDT")]
        assert max(held) < start, "the feed went past a hole"
        emu.faults.remove(hole)
        reader.wait(len(reader.bars) + 10)
    assert_consecutive(reader.of("BTC-USDT"))
    assert_consecutive(reader.of("ETH-USDT"))


def test_a_forming_candle_that_changes_is_never_yielded(emu: BinanceEmulator) -> None:
    feed = feed_for(emu)
    with Reader(emu, feed) as reader:
        reader.wait(62)
        emu.faults.add("reform", percent=20.0)  # the forming candle jumps 20 %
        reader.wait(len(reader.bars) + 10)
    emu.faults.clear()
    for symbol in ("BTC-USDT", "ETH-USDT"):
        bars = reader.of(symbol)
        assert truth(emu, symbol, bars) == bars


def test_a_server_clock_running_ahead_cannot_pass_off_a_forming_candle(
    emu: BinanceEmulator,
) -> None:
    emu.faults.add("skew", ms=45_000)  # the exchange says it is 45 s later than it is
    feed = feed_for(emu)
    with Reader(emu, feed) as reader:
        reader.wait(70)
    assert all(bar.ts * 1000 + 60_000 <= arrived for bar, arrived, _ in reader.bars)
    emu.faults.clear()
    bars = reader.of("BTC-USDT")
    assert truth(emu, "BTC-USDT", bars) == bars


def test_an_unknown_symbol_is_a_configuration_error_naming_it(emu: BinanceEmulator) -> None:
    feed = ExchangeFeed("binance", ["BTC-USDT", "DOGE-EUR"], base_url=emu.url, history_bars=5)
    with pytest.raises(MarketConfigError) as caught:
        next(iter(feed.bars()))
    assert "market.symbols" in str(caught.value) and "DOGE-EUR" in str(caught.value)
    with pytest.raises(MarketConfigError) as unknown:
        ExchangeFeed("no_such_exchange", ["BTC-USDT"])
    assert "market.exchange" in str(unknown.value)
    with pytest.raises(MarketConfigError):
        ExchangeFeed("binance", ["BTC-USDT"], bar_seconds=61)


def test_an_exchange_down_at_start_is_waited_for(emu: BinanceEmulator) -> None:
    outage = emu.faults.add("503", path_prefix="/api/v3/")
    feed = feed_for(emu)
    with Reader(emu, feed) as reader:
        time.sleep(2)
        assert reader.bars == []
        assert "failing" in (feed.problem() or "")
        emu.faults.remove(outage)
        reader.wait(60 + 2)
    assert_consecutive(reader.of("BTC-USDT"))
    assert list(itertools.islice((b for b, _, _ in reader.bars), 1))
