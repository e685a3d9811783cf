"""The dashboard's candle tape: bounded per symbol, the strategy's own indicator values."""

from __future__ import annotations

import threading

import pytest

from grodtd.core.indicators import IndicatorSet
from grodtd.core.models import Bar
from grodtd.core.params import IndicatorParams
from grodtd.live.candles import CandleTape

T0 = 1_767_225_600
PARAMS = IndicatorParams(ema_fast=3, ema_slow=5, atr_period=4)


def bar(i: int, symbol: str = "BTC-USD") -> Bar:
    close = 100.0 + (i % 7) - 0.5 * (i % 3)
    return Bar(symbol, T0 + 60 * i, close - 0.2, close + 1.0, close - 1.1, close, 1.0 + i % 4)


def test_values_are_the_indicator_set_s_own_and_none_while_seeding() -> None:
    tape = CandleTape(PARAMS, capacity=100)
    reference = IndicatorSet(PARAMS)
    for i in range(30):
        b = bar(i)
        tape.record(b)
        reference.update(b.ts, b.high, b.low, b.close, b.volume)
        last = tape.recent("BTC-USD", 1)[0]
        assert (last.ts, last.open, last.close) == (b.ts, b.open, b.close)
        assert last.vwap == reference.vwap
        if reference.ready:
            assert (last.ema_fast, last.ema_slow) == (reference.ema_fast, reference.ema_slow)
        else:
            assert (last.ema_fast, last.ema_slow) == (None, None)


def test_each_symbol_keeps_only_its_newest_bars() -> None:
    tape = CandleTape(PARAMS, capacity=50)
    for i in range(500):
        tape.record(bar(i, "BTC-USD"))
        if i % 2 == 0:
            tape.record(bar(i, "ETH-USD"))
    btc = tape.recent("BTC-USD", 1000)
    assert len(btc) == 50 and btc[0].ts == T0 + 60 * 450 and btc[-1].ts == T0 + 60 * 499
    assert [c.ts for c in tape.recent("BTC-USD", 3)] == [T0 + 60 * i for i in (497, 498, 499)]
    assert len(tape.recent("ETH-USD", 1000)) == 50
    assert tape.symbols() == ("BTC-USD", "ETH-USD")
    assert tape.recent("DOGE-USD", 10) == []


def test_since_returns_the_last_known_bar_and_what_came_after() -> None:
    tape = CandleTape(PARAMS, capacity=100)
    for i in range(40):
        tape.record(bar(i))
    assert [c.ts for c in tape.recent("BTC-USD", 500, since_ts=T0 + 60 * 37)] == [
        T0 + 60 * i for i in (37, 38, 39)
    ]
    assert tape.recent("BTC-USD", 500, since_ts=T0 + 60 * 40) == []
    assert len(tape.recent("BTC-USD", 2, since_ts=T0)) == 2, "limit still holds"


def test_a_reader_never_sees_the_buffer_mid_append() -> None:
    tape = CandleTape(PARAMS, capacity=200)
    errors: list[BaseException] = []

    def write() -> None:
        for i in range(20_000):
            tape.record(bar(i))

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while writer.is_alive():
            candles = tape.recent("BTC-USD", 200)
            assert [c.ts for c in candles] == sorted(c.ts for c in candles)
    except BaseException as exc:  # pragma: no cover - reported below
        errors.append(exc)
    writer.join()
    assert errors == []
    assert len(tape.recent("BTC-USD", 500)) == 200


def test_a_buffer_without_room_is_refused() -> None:
    with pytest.raises(ValueError, match="room for one bar"):
        CandleTape(PARAMS, capacity=0)
