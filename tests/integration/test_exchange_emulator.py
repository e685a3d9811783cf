"""The exchange emulator, driven by the real sync ccxt binance client over real loopback HTTP.

No mocks: each test starts a ``BinanceEmulator`` on an ephemeral 127.0.0.1 port and points a
``ccxt.binance`` at it with ``point_ccxt_at``, the same helper the daemon's adapter mirrors.
The market clock is frozen (``speed=0``) and stepped by hand, so every candle and every fill is
deterministic; signed requests are checked against the real wall clock, as ccxt stamps them.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import httpx
import pytest

from tests.support.exchange import MINUTE_MS, BinanceEmulator, point_ccxt_at

REPO = Path(__file__).resolve().parents[2]
SYMBOLS = ["BTC/USDT", "ETH/USDT"]
MINUTE_OPEN = 28_333_334 * MINUTE_MS  # the candle forming when the tests start
START_MS = MINUTE_OPEN + 30_000  # half-way into it
HISTORY_MINUTES = 3 * 24 * 60
HOUR_MS = 60 * MINUTE_MS


def client(emu: BinanceEmulator, **config: Any) -> ccxt.binance:
    exchange = ccxt.binance(
        {
            "apiKey": emu.api_key,
            "secret": emu.api_secret,
            "enableRateLimit": False,  # the emulator does not mind; the tests finish sooner
            "timeout": 5_000,
            **config,
        }
    )
    exchange.session.trust_env = False  # no proxy from the environment: loopback only
    return point_ccxt_at(exchange, emu.url)


@pytest.fixture
def emu() -> Iterator[BinanceEmulator]:
    with BinanceEmulator(
        SYMBOLS, speed=0.0, seed=1, start_ms=START_MS, history_minutes=HISTORY_MINUTES
    ) as emulator:
        yield emulator


@pytest.fixture
def exchange(emu: BinanceEmulator) -> ccxt.binance:
    ex = client(emu)
    ex.load_markets()
    return ex


def last_candle(exchange: ccxt.binance) -> list[float]:
    return exchange.fetch_ohlcv("BTC/USDT", "1m", limit=3)[-1]


def rounded(emu: BinanceEmulator, price: Decimal) -> float:
    return float(emu.market.spec("BTCUSDT").round_price(float(price)))


# -- markets and time ----------------------------------------------------------------------


def test_load_markets_is_one_spot_exchange_info_call_with_precision_from_filters(
    emu: BinanceEmulator,
) -> None:
    markets = client(emu).load_markets()

    assert set(markets) == set(SYMBOLS)
    btc = markets["BTC/USDT"]
    assert btc["spot"] and btc["active"] and btc["id"] == "BTCUSDT"
    assert btc["precision"]["price"] == 0.01
    assert btc["precision"]["amount"] == 0.00001
    assert btc["limits"]["amount"]["min"] == 0.00001
    assert btc["limits"]["cost"]["min"] == 5.0
    assert markets["ETH/USDT"]["precision"] == {
        "price": 0.001,
        "amount": 0.0001,
        "base": 1e-08,
        "quote": 1e-08,
    }
    assert emu.journal.paths() == ["/api/v3/exchangeInfo"]


def test_without_the_spot_only_options_load_markets_asks_for_futures(
    emu: BinanceEmulator,
) -> None:
    ex = client(emu)
    ex.options["fetchMarkets"] = {"types": ["spot", "linear", "inverse"]}

    with pytest.raises(ccxt.ExchangeNotAvailable, match="/fapi/v1/exchangeInfo"):
        ex.load_markets()


def test_point_ccxt_at_keeps_paths_and_a_proxy_prefix() -> None:
    ex = point_ccxt_at(ccxt.binance(), "http://127.0.0.1:9/prefix/")

    assert ex.urls["api"]["public"] == "http://127.0.0.1:9/prefix/api/v3"
    assert ex.urls["api"]["sapi"] == "http://127.0.0.1:9/prefix/sapi/v1"
    assert all(url.startswith("http://127.0.0.1:9/") for url in ex.urls["api"].values())
    assert ccxt.binance().urls["api"]["public"] == "https://api.binance.com/api/v3"


def test_fetch_time_follows_the_clock_and_shows_the_skew(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    assert exchange.fetch_time() == START_MS
    emu.clock.advance(1_234)
    assert exchange.fetch_time() == START_MS + 1_234

    skew = emu.faults.add("skew", ms=90_000)
    assert exchange.fetch_time() == START_MS + 1_234 + 90_000
    emu.faults.remove(skew)
    assert exchange.fetch_time() == START_MS + 1_234
    assert skew.hits == 1

    emu.clock.skew_ms = -5_000
    assert exchange.fetch_time() == START_MS + 1_234 - 5_000


# -- klines ------------------------------------------------------------------------------


def test_fetch_ohlcv_paginates_every_minute_once_up_to_the_forming_candle(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    first_open = emu.market.first_open_ms("BTCUSDT")
    since = first_open - 10 * MINUTE_MS  # before the first candle: starts at the first one
    rows: list[list[float]] = []
    while True:
        batch = exchange.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=1000)
        if not batch:
            break
        rows += batch
        since = int(batch[-1][0]) + MINUTE_MS

    opens = [int(r[0]) for r in rows]
    assert opens[0] == first_open
    assert opens[-1] == MINUTE_OPEN  # the forming candle is the last one
    assert len(opens) == HISTORY_MINUTES + 1
    assert all(b - a == MINUTE_MS for a, b in itertools.pairwise(opens))
    for _, o, h, low, c, v in rows:
        assert 0 < low <= min(o, c) <= max(o, c) <= h
        assert v > 0
    assert emu.journal.count(path="/api/v3/klines") == 6  # 4 full pages, 321 rows, none


def test_the_forming_candle_changes_until_its_minute_is_over(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    before = last_candle(exchange)
    emu.clock.advance(20_000)
    later = last_candle(exchange)

    assert later[0] == before[0] == MINUTE_OPEN
    assert later[5] > before[5]  # volume keeps accumulating
    assert later[1:5] != before[1:5]
    assert later[2] >= before[2] and later[3] <= before[3]

    emu.clock.advance(15_000)  # the minute is over: it is final, and a new one forms
    closed, forming = exchange.fetch_ohlcv("BTC/USDT", "1m", limit=2)
    assert closed[0] == MINUTE_OPEN and forming[0] == MINUTE_OPEN + MINUTE_MS
    assert forming[1] == closed[4]  # the new candle opens where the last one closed
    emu.clock.advance(40_000)
    assert exchange.fetch_ohlcv("BTC/USDT", "1m", since=MINUTE_OPEN, limit=1) == [closed]


def test_klines_and_exchange_info_refuse_what_binance_refuses(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    with httpx.Client(base_url=emu.url, trust_env=False) as http:
        unknown = http.get("/api/v3/klines", params={"symbol": "NOPEUSDT", "interval": "1m"})
        hourly = http.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1h"})
        info = http.get("/api/v3/exchangeInfo", params={"symbol": "ETHUSDT"})
        capped = http.get(
            "/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": 5000}
        )

    assert (unknown.status_code, unknown.json()) == (400, {"code": -1121, "msg": "Invalid symbol."})
    assert (hourly.status_code, hourly.json()["code"]) == (400, -1120)
    assert [s["symbol"] for s in info.json()["symbols"]] == ["ETHUSDT"]
    assert int(info.headers["X-MBX-USED-WEIGHT-1M"]) > 0
    assert len(capped.json()) == 1000
    with pytest.raises(ccxt.BadSymbol):
        exchange.publicGetKlines({"symbol": "NOPEUSDT", "interval": "1m"})


def test_candles_depend_on_seed_and_open_time_only() -> None:
    later = START_MS + 2 * HOUR_MS
    with (
        BinanceEmulator(["BTC/USDT"], speed=0.0, seed=1, start_ms=START_MS) as a,
        BinanceEmulator(["BTC/USDT"], speed=0.0, seed=1, start_ms=later) as b,
        BinanceEmulator(["BTC/USDT"], speed=0.0, seed=2, start_ms=START_MS) as c,
    ):
        since = MINUTE_OPEN - HOUR_MS
        rows_a = client(a).fetch_ohlcv("BTC/USDT", "1m", since=since, limit=60)
        rows_b = client(b).fetch_ohlcv("BTC/USDT", "1m", since=since, limit=60)
        rows_c = client(c).fetch_ohlcv("BTC/USDT", "1m", since=since, limit=60)

    assert rows_a == rows_b  # another start, the same history
    assert rows_a != rows_c


def test_explicit_candles_are_served_exactly_once_closed() -> None:
    rows = [
        (MINUTE_OPEN - 3 * MINUTE_MS, "100.0", "101.5", "99.5", "101.0", "12.5"),
        (MINUTE_OPEN - 2 * MINUTE_MS, "101.0", "102.0", "100.5", "100.75", "8"),
        (MINUTE_OPEN - 1 * MINUTE_MS, "100.75", "100.9", "98.0", "98.5", "20"),
        (MINUTE_OPEN, "98.5", "99.0", "97.0", "98.0", "5"),
    ]
    with BinanceEmulator([], candles={"SOL/USDT": rows}, speed=0.0, start_ms=START_MS) as emu:
        got = client(emu).fetch_ohlcv("SOL/USDT", "1m", since=rows[0][0])

    assert [r[0] for r in got] == [r[0] for r in rows]
    assert got[:3] == [[r[0], *map(float, r[1:])] for r in rows[:3]]
    forming = got[3]  # half-way: open, then the low (a down candle), not yet the close
    assert forming[1:5] == [98.5, 99.0, 97.0, 97.0] and forming[5] < 5


# -- faults on market data ----------------------------------------------------------------


def test_429_and_418_surface_as_ddos_protection_with_retry_after(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    emu.faults.add("429", count=2, retry_after=3, path_prefix="/api/v3/klines")
    for _ in range(2):
        with pytest.raises(ccxt.DDoSProtection) as caught:
            last_candle(exchange)
        # ccxt's binance raises DDoSProtection for 429, never its sibling RateLimitExceeded.
        assert not isinstance(caught.value, ccxt.RateLimitExceeded)
        assert isinstance(caught.value, ccxt.NetworkError)
    assert last_candle(exchange)[0] == MINUTE_OPEN
    assert emu.journal.count(path="/api/v3/klines", status=429) == 2

    emu.faults.add("418", count=1, retry_after=120)
    with pytest.raises(ccxt.DDoSProtection):
        exchange.fetch_time()

    emu.faults.add("429", count=1)
    with httpx.Client(base_url=emu.url, trust_env=False) as http:
        answer = http.get("/api/v3/ping")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["code"] == -1003


@pytest.mark.parametrize("status", ["500", "503"])
def test_5xx_surfaces_as_exchange_not_available(
    emu: BinanceEmulator, exchange: ccxt.binance, status: str
) -> None:
    emu.faults.add(status, count=1)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        last_candle(exchange)
    assert last_candle(exchange)[0] == MINUTE_OPEN


def test_a_5xx_with_binance_json_is_operation_failed_not_a_network_error(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    emu.faults.add("500", count=1, json_body=True)
    with pytest.raises(ccxt.OperationFailed) as caught:
        last_candle(exchange)
    assert not isinstance(caught.value, ccxt.NetworkError)


def test_a_held_request_is_a_request_timeout(emu: BinanceEmulator) -> None:
    impatient = client(emu, timeout=300)
    emu.faults.add("timeout", count=1, seconds=3.0, path_prefix="/api/v3/time")
    started = time.monotonic()
    with pytest.raises(ccxt.RequestTimeout):
        impatient.fetch_time()
    assert time.monotonic() - started < 2.0
    assert impatient.fetch_time() == START_MS  # the next request is answered at once


def test_a_dropped_connection_is_a_network_error(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    emu.faults.add("drop", count=1, path_prefix="/api/v3/klines")
    with pytest.raises(ccxt.NetworkError) as caught:
        last_candle(exchange)
    assert not isinstance(caught.value, ccxt.RequestTimeout)
    assert emu.journal.entries(path="/api/v3/klines")[-1].status == 0
    assert last_candle(exchange)[0] == MINUTE_OPEN


def test_a_fault_with_after_lets_that_many_requests_through_first(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    exchange.create_order("BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "after-1"})
    outage = emu.faults.add("503", count=2, after=1, path_prefix="/api/v3/order", method="GET")

    def look_up() -> dict[str, Any]:
        return exchange.fetch_order(None, "BTC/USDT", params={"clientOrderId": "after-1"})

    assert look_up()["status"] == "closed"  # let through
    for _ in range(2):
        with pytest.raises(ccxt.ExchangeNotAvailable):
            look_up()
    assert look_up()["status"] == "closed"  # its count is used up
    assert outage.hits == 2 and outage.after == 0
    assert emu.journal.count(path="/api/v3/order", method="GET", status=503) == 2


def test_a_gap_hides_candles_until_it_is_cleared(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    since = MINUTE_OPEN - 60 * MINUTE_MS
    full = exchange.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=100)
    hole_start, hole_end = MINUTE_OPEN - 30 * MINUTE_MS, MINUTE_OPEN - 20 * MINUTE_MS
    emu.faults.add("gap", start_ms=hole_start, end_ms=hole_end)

    holed = exchange.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=100)
    assert len(full) == 61 and len(holed) == 51
    assert holed == [r for r in full if not hole_start <= r[0] < hole_end]

    emu.faults.clear("gap")
    assert exchange.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=100) == full


def test_reform_moves_the_forming_candle_while_active(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    before = exchange.fetch_ohlcv("BTC/USDT", "1m", limit=3)
    emu.faults.add("reform", count=1, percent=5.0)
    jumped = exchange.fetch_ohlcv("BTC/USDT", "1m", limit=3)

    assert jumped[:2] == before[:2]
    assert jumped[2][0] == before[2][0]
    assert jumped[2][4] == pytest.approx(before[2][4] * 1.05, abs=0.01)
    assert jumped[2][2] == jumped[2][4]  # the jump is the new high
    assert exchange.fetch_ohlcv("BTC/USDT", "1m", limit=3) == before

    emu.faults.add("reform", count=1, percent=-2.0, depth=2)  # a just-closed candle changes too
    revised = exchange.fetch_ohlcv("BTC/USDT", "1m", limit=3)
    assert revised[0] == before[0] and revised[1][4] < before[1][4]


# -- orders ---------------------------------------------------------------------------------


def test_a_market_order_fills_at_once_and_moves_the_balance(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    price = emu.price("BTC/USDT")
    order = exchange.create_order(
        "BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "grodt-buy-1"}
    )

    assert order["status"] == "closed" and order["filled"] == 0.01
    assert order["clientOrderId"] == "grodt-buy-1"
    assert order["average"] == float(price)
    assert order["fee"] == {"currency": "BTC", "cost": 0.00001}
    balance = exchange.fetch_balance()
    assert balance["BTC"]["free"] == pytest.approx(0.00999)
    assert balance["USDT"]["free"] == pytest.approx(100_000 - 0.01 * float(price))

    by_client_id = exchange.fetch_order(None, "BTC/USDT", params={"clientOrderId": "grodt-buy-1"})
    assert by_client_id["id"] == order["id"] and by_client_id["status"] == "closed"

    exchange.create_order(
        "BTC/USDT", "market", "sell", 0.005, params={"newClientOrderId": "grodt-sell-1"}
    )
    trades = exchange.fetch_my_trades("BTC/USDT")
    assert [t["side"] for t in trades] == ["buy", "sell"]
    assert trades[0]["order"] == order["id"] and trades[0]["takerOrMaker"] == "taker"
    assert exchange.fetch_balance()["USDT"]["free"] == pytest.approx(
        100_000 - 0.01 * float(price) + 0.005 * float(price) * 0.999
    )


def test_a_duplicate_client_order_id_is_refused(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    low = rounded(emu, emu.price("BTC/USDT") * Decimal("0.8"))
    first = exchange.create_order(
        "BTC/USDT", "limit", "buy", 0.001, low, params={"clientOrderId": "dup-1"}
    )
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        exchange.create_order(
            "BTC/USDT", "limit", "buy", 0.001, low, params={"clientOrderId": "dup-1"}
        )
    exchange.cancel_order(first["id"], "BTC/USDT")
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):  # recent, not only open
        exchange.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "dup-1"})
    assert [o["clientOrderId"] for o in emu.orders()] == ["dup-1"]


def test_a_resting_limit_order_locks_funds_until_canceled(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    low = rounded(emu, emu.price("BTC/USDT") * Decimal("0.9"))
    order = exchange.create_order("BTC/USDT", "limit", "buy", 0.01, low)

    assert order["status"] == "open" and order["filled"] == 0
    assert exchange.fetch_balance()["USDT"]["used"] == pytest.approx(0.01 * low)
    assert [o["id"] for o in exchange.fetch_open_orders("BTC/USDT")] == [order["id"]]

    canceled = exchange.cancel_order(order["id"], "BTC/USDT")
    assert canceled["status"] == "canceled"
    assert exchange.fetch_open_orders("BTC/USDT") == []
    assert exchange.fetch_balance()["USDT"] == {"free": 100_000.0, "used": 0.0, "total": 100_000.0}
    with pytest.raises(ccxt.OrderNotFound):
        exchange.cancel_order(order["id"], "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order("999999", "BTC/USDT")


def test_a_resting_limit_order_fills_while_no_client_is_connected(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    now = emu.clock.now_ms()
    ahead = emu.path("BTC/USDT", now, now + 6 * HOUR_MS)
    current, lowest = emu.price("BTC/USDT"), min(p for _, p in ahead)
    assert lowest < current
    limit = emu.market.spec("BTCUSDT").round_price(float((current + lowest) / 2))
    fill_time = next(t for t, p in ahead if p <= limit)
    order = exchange.create_order("BTC/USDT", "limit", "buy", 0.01, float(limit))
    assert order["status"] == "open"
    requests_so_far = len(emu.journal.entries())

    emu.clock.advance(6 * HOUR_MS)  # six market hours pass with no client request at all
    deadline = time.monotonic() + 3.0
    while emu.orders()[-1]["status"] != "FILLED" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert emu.orders()[-1]["status"] == "FILLED"  # the emulator's ticker filled it
    assert len(emu.journal.entries()) == requests_so_far

    done = exchange.fetch_order(order["id"], "BTC/USDT")
    assert done["status"] == "closed" and done["average"] == float(limit)
    (trade,) = exchange.fetch_my_trades("BTC/USDT")
    assert trade["timestamp"] == fill_time and trade["takerOrMaker"] == "maker"
    assert exchange.fetch_balance()["BTC"]["total"] == pytest.approx(0.00999)


def test_spot_stop_orders_are_sent_as_stop_limit_kinds_and_trigger(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    exchange.create_order("BTC/USDT", "market", "buy", 0.02)  # 0.01998 BTC after the fee
    now = emu.clock.now_ms()
    ahead = emu.path("BTC/USDT", now, now + 6 * HOUR_MS)
    current, lowest = emu.price("BTC/USDT"), min(p for _, p in ahead)
    stop = rounded(emu, (current + lowest) / 2)
    limit = rounded(emu, lowest * Decimal("0.99"))  # below anything ahead: fills on trigger

    with pytest.raises(ccxt.OrderImmediatelyFillable):
        exchange.create_order(
            "BTC/USDT", "limit", "sell", 0.0199, limit, params={"takeProfitPrice": stop}
        )
    order = exchange.create_order(
        "BTC/USDT", "limit", "sell", 0.0199, limit, params={"stopLossPrice": stop}
    )
    placed = emu.orders()[-1]
    assert placed["type"] == "STOP_LOSS_LIMIT" and placed["stopPrice"] == f"{stop:.8f}"
    assert placed["isWorking"] is False and order["status"] == "open"
    assert exchange.fetch_balance()["BTC"]["used"] == pytest.approx(0.0199)

    emu.clock.advance(6 * HOUR_MS)
    done = exchange.fetch_order(order["id"], "BTC/USDT")
    assert done["status"] == "closed" and done["filled"] == 0.0199
    assert limit < done["average"] <= stop
    assert done["triggerPrice"] == stop


def test_a_lost_response_leaves_an_order_that_a_retry_with_its_id_cannot_double(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    emu.faults.add("lost_response", count=1)
    with pytest.raises(ccxt.NetworkError):
        exchange.create_order(
            "BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "grodt-lost-1"}
        )

    on_exchange = emu.order_by_client_id("grodt-lost-1")
    assert on_exchange is not None and on_exchange["status"] == "FILLED"
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        exchange.create_order(
            "BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "grodt-lost-1"}
        )
    found = exchange.fetch_order(None, "BTC/USDT", params={"clientOrderId": "grodt-lost-1"})
    assert found["status"] == "closed" and found["filled"] == 0.01
    assert exchange.fetch_balance()["BTC"]["total"] == pytest.approx(0.00999)
    assert emu.journal.count(path="/api/v3/order", method="POST", status=0) == 1


def test_partial_fills_expire_a_market_order_and_leave_a_limit_order_open(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    emu.faults.add("partial", count=1, fraction=0.4)
    market = exchange.create_order("BTC/USDT", "market", "buy", 0.01)
    assert market["status"] == "expired" and market["filled"] == 0.004

    emu.faults.add("partial", count=1, fraction=0.25)
    high = rounded(emu, emu.price("BTC/USDT") * Decimal("1.02"))  # marketable: fills at once
    limit = exchange.create_order("BTC/USDT", "limit", "buy", 0.02, high)
    assert limit["status"] == "open" and limit["filled"] == 0.005 and limit["remaining"] == 0.015

    emu.clock.advance(5 * MINUTE_MS)  # the rest fills in a later minute
    rest = exchange.fetch_order(limit["id"], "BTC/USDT")
    assert rest["status"] == "closed" and rest["filled"] == 0.02
    assert len(exchange.fetch_my_trades("BTC/USDT")) == 3


def test_a_rejected_order_is_insufficient_funds(
    emu: BinanceEmulator, exchange: ccxt.binance
) -> None:
    emu.faults.add("reject", count=1)
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    with pytest.raises(ccxt.InsufficientFunds):  # 10 BTC cost far more than 100 000 USDT
        exchange.create_order("BTC/USDT", "market", "buy", 10)
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        exchange.privatePostOrder(
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.0000123"}
        )


def test_a_wrong_secret_or_key_is_refused(emu: BinanceEmulator) -> None:
    with pytest.raises(ccxt.AuthenticationError):
        client(emu, secret="not-the-secret").fetch_balance()
    assert emu.journal.entries()[-1].code == -1022

    with pytest.raises(ccxt.AuthenticationError):
        client(emu, apiKey="not-the-key").fetch_balance()
    last = emu.journal.entries()[-1]
    assert (last.status, last.code) == (401, -2015)
    assert client(emu).fetch_balance()["USDT"]["free"] == 100_000.0


def test_a_skewed_server_refuses_signed_requests_until_the_client_adjusts() -> None:
    with BinanceEmulator(["BTC/USDT"], speed=1.0) as live:  # market clock = wall clock
        exchange = client(live)
        exchange.load_markets()
        live.faults.add("skew", ms=60_000)
        with pytest.raises(ccxt.InvalidNonce):
            exchange.fetch_balance()

        exchange.load_time_difference()  # ccxt's own correction, from /api/v3/time
        assert exchange.options["timeDifference"] == pytest.approx(-60_000, abs=1_000)
        assert exchange.fetch_balance()["USDT"]["free"] == 100_000.0


# -- standalone ---------------------------------------------------------------------------


def test_the_module_runs_standalone_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.exchange", "--port", "0", "--speed", "60"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, trust_env=False) as http:
            assert http.get("/api/v3/ping").json() == {}
            rows = http.get("/api/v3/klines", params={"symbol": "ETHUSDT", "interval": "1m"})
            assert len(rows.json()) == 500
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
