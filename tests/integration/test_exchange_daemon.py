"""The real daemon paper-trading on the Binance emulator (issue 11, "Done when").

Everything here is what an operator runs: ``grodt run`` as a subprocess with
``GRODT_MARKET__SOURCE=exchange`` and ``GRODT_MARKET__BASE_URL`` pointing at the emulator on
127.0.0.1, the real ccxt client over real HTTP, a real SQLite store read from the outside,
``/health``, ``/ready``, ``/api/v1/status`` and ``/metrics`` over HTTP, SIGTERM and exit codes.

Most tests drive the emulator's market clock by hand (``speed=0``): the test closes candles two
at a time and waits until the daemon has processed them, so which candles the daemon fetched
together, and therefore which ones were fresh, is fixed by the test and not by the machine's
speed. The candles are synthetic (``CANDLES``): a steady climb that the S1 strategy trades from
its 63rd bar on, a drop that stops positions out, a second climb.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from grodtd.adapters.brokers.paper import PaperBroker
from grodtd.adapters.markets.replay import CsvReplay
from grodtd.config.loader import load_settings
from grodtd.core.engine import Engine
from grodtd.core.events import Event, OrderFilled, OrderSubmitted
from grodtd.core.models import Trade
from grodtd.factories import exchange_feed, paper_broker
from tests.support.daemon import DaemonProcess, free_port, grodt, grodt_env, wait_for
from tests.support.exchange import MINUTE_MS, BinanceEmulator, CandleRow

pytestmark = pytest.mark.slow

SYMBOLS = ("BTC-USDT", "ETH-USDT")
MARKETS = ("BTC/USDT", "ETH/USDT")
T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z, the open of the first synthetic candle
T0 = T0_MS // 1000
BARS = 200  # synthetic candles per symbol
HISTORY = 50  # market.history_bars: fewer than the regime's 60-bar warm-up, see test_parity


def _synthetic(base: float, phase: float) -> list[CandleRow]:
    """A climb with a pullback rhythm (bars 0-149), a drop (150-159), a second climb."""
    rows: list[CandleRow] = []
    price = base
    for i in range(BARS):
        drift = -0.006 if 150 <= i < 160 else 0.0006 + 0.0012 * math.sin((i + phase) / 2.5)
        o, c = price, price * (1.0 + drift)
        # Cents: a multiple of both symbols' tick, so the emulator serves exactly these numbers.
        rows.append(
            (
                T0_MS + i * MINUTE_MS,
                round(o, 2),
                round(max(o, c) * 1.0004, 2),
                round(min(o, c) * 0.9996, 2),
                round(c, 2),
                float(10 + i * 7 % 13),
            )
        )
        price = c
    return rows


CANDLES: dict[str, list[CandleRow]] = {
    "BTC/USDT": _synthetic(60_000.0, 0.0),
    "ETH/USDT": _synthetic(3_000.0, 1.3),
}


def bar_ts(index: int) -> int:
    return T0 + 60 * index


def exchange_env(url: str, **extra: str) -> dict[str, str]:
    return {
        "GRODT_MARKET__SOURCE": "exchange",
        "GRODT_MARKET__BASE_URL": url,
        "GRODT_MARKET__SYMBOLS": ",".join(SYMBOLS),
        "GRODT_MARKET__POLL_SECONDS": "0.05",
        "GRODT_MARKET__HISTORY_BARS": str(HISTORY),
        "GRODT_MARKET__REQUEST_TIMEOUT_SECONDS": "2",
        **extra,
    }


def synthetic_exchange(**options: Any) -> BinanceEmulator:
    """The synthetic candles on a frozen clock, half a minute after the history's last candle
    closed: a first start fetches exactly candles 0..HISTORY-1 as its history."""
    options.setdefault("start_ms", T0_MS + HISTORY * MINUTE_MS + 30_000)
    return BinanceEmulator(symbols=MARKETS, speed=0.0, candles=CANDLES, **options)


@contextmanager
def running(tmp_path: Path, env: Mapping[str, str], name: str = "data") -> Iterator[DaemonProcess]:
    daemon = DaemonProcess(tmp_path / name, env=env).start()
    try:
        yield daemon
    finally:
        daemon.ensure_stopped()


def status(d: DaemonProcess) -> dict[str, Any]:
    response = d.get("/api/v1/status")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def processed(d: DaemonProcess) -> dict[str, int]:
    """Open time of each symbol's last processed bar (epoch seconds)."""
    return {
        s: int(datetime.fromisoformat(t).timestamp())
        for s, t in status(d)["last_bar_times"].items()
    }


class Stepper:
    """Closes the emulator's candles two at a time and waits for the daemon to process them.

    Two per step: the feed counts the two newest candles of a fetch as fresh, so every candle
    it receives this way is fresh (a strategy may enter on it), as in a backtest.
    """

    def __init__(self, emu: BinanceEmulator, daemon: DaemonProcess) -> None:
        self.emu = emu
        self.daemon = daemon

    def close_through(self, index: int) -> None:
        """Move the exchange's clock to where candle ``index`` is closed and taken."""
        # Half a minute into the next candle, which then shows as forming (the feed takes the
        # newest candle of an answer only a bar later); the last candle has no successor.
        later = 2 * MINUTE_MS if index == BARS - 1 else MINUTE_MS + 30_000
        self.emu.clock.advance_to(T0_MS + index * MINUTE_MS + later)

    def wait_processed(self, index: int, timeout: float = 20.0) -> None:
        def done() -> bool:
            assert self.daemon.proc is not None and self.daemon.proc.poll() is None
            seen = processed(self.daemon)
            return len(seen) == len(SYMBOLS) and min(seen.values()) >= bar_ts(index)

        wait_for(done, timeout, interval=0.01, what=f"bar {index} processed")

    def wait_history(self) -> None:
        """Until the daemon has fetched its history: its first start reaches back HISTORY bars
        from the exchange's clock, which must not move before that."""
        wait_for(
            lambda: (
                self.daemon.status_code("/health") == 200
                and self.emu.journal.count(path="/api/v3/klines", status=200) >= len(SYMBOLS)
            ),
            30,
            what="the history fetched",
        )

    def run_to(self, index: int) -> None:
        seen = processed(self.daemon)
        last = (min(seen.values()) - T0) // 60 if len(seen) == len(SYMBOLS) else HISTORY - 1
        while last < index:
            last = min(last + 2, index)
            self.close_through(last)
            self.wait_processed(last)


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(d: DaemonProcess) -> Samples:
    text = httpx.get(d.metrics_url, timeout=5).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metric(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


# -- what the store holds, and the same read from a reference run ---------------------------

OrderRow = tuple[int, str, str, str, str, float, float | None, float | None, float | None]
FillRow = tuple[int, str, str, float, float, float]
TradeRow = tuple[str, int, int, float, float, float, float, float, str, str]


def store_orders(d: DaemonProcess) -> dict[str, OrderRow]:
    rows = d.query(
        "SELECT client_order_id, created_ts, symbol, side, kind, purpose, qty, price, "
        "stop_price, target_price FROM orders"
    )
    return {r[0]: tuple(r[1:]) for r in rows}  # type: ignore[misc]


def store_fills(d: DaemonProcess) -> dict[str, FillRow]:
    rows = d.query("SELECT client_order_id, ts, symbol, side, qty, price, fee FROM fills")
    return {r[0]: tuple(r[1:]) for r in rows}  # type: ignore[misc]


def store_trades(d: DaemonProcess) -> dict[str, TradeRow]:
    rows = d.query(
        "SELECT exit_order_id, symbol, entry_ts, exit_ts, qty, entry_price, exit_price, fees, "
        "pnl, exit_reason, entry_order_id FROM trades"
    )
    return {r[0]: tuple(r[1:]) for r in rows}  # type: ignore[misc]


class Reference:
    """The backtest's own loop (``grodtd.backtest.runner``: show the venue each bar, then
    process it) over the CSV files, every bar a fresh one, observed as the store would be."""

    def __init__(self, csv_paths: Mapping[str, Path], broker: PaperBroker) -> None:
        settings = load_settings(grodt_env())
        events: list[Event] = []
        trades: list[Trade] = []
        engine = Engine(
            settings.engine_params(),
            broker,
            store=None,
            observers=[events.append],
            thread_safe=False,
            record_trade=trades.append,
        )
        for bar in CsvReplay(dict(csv_paths)).bars():
            broker.on_bar(bar)
            engine.process(bar)
        self.equity = engine.equity()
        self.orders: dict[str, OrderRow] = {}
        self.fills: dict[str, FillRow] = {}
        for event in events:
            if isinstance(event, OrderSubmitted):
                o = event.order
                self.orders[o.client_order_id] = (
                    o.created_ts,
                    o.symbol,
                    o.side.value,
                    o.kind.value,
                    o.purpose.value,
                    o.qty,
                    o.price,
                    o.stop_price,
                    o.target_price,
                )
            elif isinstance(event, OrderFilled):
                f = event.fill
                self.fills[f.client_order_id] = (
                    f.ts,
                    f.symbol,
                    f.side.value,
                    f.qty,
                    f.price,
                    f.fee,
                )
        self.trades: dict[str, TradeRow] = {
            t.exit_order_id: (
                t.symbol,
                t.entry_ts,
                t.exit_ts,
                t.qty,
                t.entry_price,
                t.exit_price,
                t.fees,
                t.pnl,
                t.exit_reason.value,
                t.entry_order_id,
            )
            for t in trades
        }

    def entries_created_in(self, first: int, last: int) -> list[str]:
        return [
            oid
            for oid, row in self.orders.items()
            if row[4] == "entry" and bar_ts(first) <= row[0] <= bar_ts(last)
        ]


def venue_broker(url: str) -> PaperBroker:
    """A paper broker under the emulator's order rules, learnt as the daemon learns them."""
    settings = load_settings(grodt_env(exchange_env(url)))
    broker = paper_broker(settings)
    exchange_feed(settings, broker).connect()
    return broker


def download_csv(tmp_path: Path) -> dict[str, Path]:
    """``grodt download`` of the synthetic candles from an emulator whose clock is past them."""
    out = tmp_path / "history"
    end = T0_MS + (BARS + 5) * MINUTE_MS
    with BinanceEmulator(symbols=MARKETS, speed=0.0, candles=CANDLES, start_ms=end) as emu:
        result = grodt(
            "download",
            "--base-url",
            emu.url,
            "--symbols",
            ",".join(MARKETS),
            "--days",
            "1",
            "--out",
            str(out),
            "--no-progress",
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    paths = {s: out / f"binance-{s}-1m.csv" for s in SYMBOLS}
    for symbol, path in paths.items():
        with path.open() as handle:
            times = [int(row["timestamp"]) for row in csv.DictReader(handle)]
        assert times == [bar_ts(i) for i in range(BARS)], f"{symbol}: not every candle"
    return paths


# -- 1. the Done-when command ---------------------------------------------------------------

# A seeded generated market where S1 finds entries in the first minutes after the default
# 400-bar warm-up (found by replaying the emulator's candles through the engine).
DONE_SEED = 8
DONE_START_MS = T0_MS + 4 * 86_400_000 + 3_600_000


def test_done_when_grodt_run_on_an_exchange_is_ready_trades_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    """``GRODT_MARKET__SOURCE=exchange GRODT_MARKET__BASE_URL=... grodt run`` with the default
    symbols (BTC-USD, ETH-USD) and the default 400-bar history: ready, orders and fills in the
    store under the venue's rules, exchange metrics, SIGTERM exits 0."""
    markets = ["BTC/USD", "ETH/USD"]
    with BinanceEmulator(
        symbols=markets, speed=120.0, seed=DONE_SEED, start_ms=DONE_START_MS + 30_000
    ) as emu:
        env = {
            "GRODT_MARKET__SOURCE": "exchange",
            "GRODT_MARKET__BASE_URL": emu.url,
            "GRODT_MARKET__POLL_SECONDS": "0.1",  # a bar closes every 0.5 s at 120x
        }
        with running(tmp_path, env) as d:
            d.wait_ready(timeout=30)
            ready = d.get("/ready").json()
            assert ready["status"] == "ok" and all(c["ok"] for c in ready["checks"]), ready

            def entry_filled() -> list[tuple[Any, ...]]:
                return d.query(
                    "SELECT f.client_order_id, f.symbol, f.qty, f.price, f.ts FROM fills f "
                    "JOIN orders o USING (client_order_id) WHERE o.purpose = 'entry'"
                )

            entries = wait_for(entry_filled, 40, interval=0.2, what="an entry filled")
            samples = scrape(d)
            code = d.stop()
        assert code == 0, d.stderr()[-2000:]
    assert any(r.get("event") == "grodtd stopped" for r in d.log_records())
    steps = {"BTC-USD": 1e-5, "ETH-USD": 1e-4}  # the emulator's lot steps at these prices
    for _, symbol, qty, price, ts in entries:
        assert symbol in steps
        # Under the venue's rules: a whole number of lots.
        assert abs(qty / steps[symbol] - round(qty / steps[symbol])) < 1e-6, qty
        # A market entry fills at the open of the next candle the exchange served, plus the
        # configured 5 bps of slippage.
        market_id = symbol.replace("-", "")
        candle = emu.market.klines(market_id, now_ms=emu.clock.now_ms(), start_ms=ts * 1000)[0]
        assert candle.open_ms == ts * 1000
        assert price == pytest.approx(float(candle.open) * 1.0005, rel=1e-9)
        # A decision on a live candle: after the 400 bars of history.
        assert ts * 1000 > DONE_START_MS
    assert metric(samples, "grodt_exchange_up") == 1
    assert metric(samples, "grodt_exchange_requests_total", outcome="ok") > 10
    assert emu.journal.count(path="/api/v3/klines", status=200) > 10


# -- 2. parity with grodt backtest ------------------------------------------------------------


def test_parity_the_daemon_on_the_exchange_decides_as_the_backtest_of_the_same_candles(
    tmp_path: Path,
) -> None:
    """The candles the emulator serves, written by ``grodt download``, replayed by
    ``grodt backtest --csv``: the daemon makes the same orders, fills and trades.

    Warm-up: the daemon feeds its first HISTORY (50) bars of each symbol to the indicators
    only, the backtest processes them, and S1 cannot enter on a symbol's first 60 bars (the
    regime classifier's warm-up), so both reach bar 50 in the same state; the reference below
    proves that no order falls in those bars. Venue rules: on the exchange the paper broker
    floors quantities to the lot step and rounds prices to the tick, which a CSV backtest does
    not know; run under the same rules, the backtest's loop matches the daemon exactly, and
    the ``grodt backtest`` report differs only by those roundings.
    """
    paths = download_csv(tmp_path)
    with synthetic_exchange() as emu, running(tmp_path, exchange_env(emu.url)) as d:
        stepper = Stepper(emu, d)
        stepper.wait_history()
        stepper.run_to(BARS - 1)
        assert d.status_code("/ready") == 200
        orders, fills, trades = store_orders(d), store_fills(d), store_trades(d)
        equity = d.query("SELECT equity, fees FROM equity_snapshots ORDER BY seq DESC LIMIT 1")
        ref = Reference(paths, venue_broker(emu.url))
        assert d.stop() == 0

    assert not [o for o in ref.orders.values() if o[0] < bar_ts(HISTORY)], "warm-up not inert"
    assert len(ref.trades) >= 20 and any(t[8] == "stop" for t in ref.trades.values())
    assert orders == ref.orders
    assert fills == ref.fills
    assert trades == ref.trades
    assert equity[0][0] == pytest.approx(ref.equity, rel=1e-12)

    # `grodt backtest --csv` of the same files: the loop above without the venue's rules.
    result = grodt(
        "backtest",
        *[arg for s in SYMBOLS for arg in ("--csv", f"{s}={paths[s]}")],
        "--json",
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    plain = Reference(paths, paper_broker(load_settings(grodt_env())))
    assert report["bars"] == BARS * len(SYMBOLS)
    assert report["trades"] == len(plain.trades)
    assert report["final_equity"] == plain.equity
    # The same decisions: every order (its id names symbol, bar and purpose) on the same bar,
    # the same side and kind, the same levels; quantities and what follows from them within
    # the lot step the exchange imposes (1e-5 BTC, 1e-4 ETH).
    lot = {"BTC-USDT": 1e-5, "ETH-USDT": 1e-4}
    assert set(plain.orders) == set(orders)
    for oid, row in orders.items():
        other = plain.orders[oid]
        assert row[:5] == other[:5], oid
        assert row[5] == pytest.approx(other[5], abs=lot[row[1]]), oid
        assert row[6:] == pytest.approx(other[6:], rel=1e-6), oid
    assert set(plain.fills) == set(fills)
    for oid, fill in fills.items():
        other_fill = plain.fills[oid]
        assert fill[:3] == other_fill[:3], oid
        assert fill[3] == pytest.approx(other_fill[3], abs=lot[fill[1]]), oid
        assert fill[4] == pytest.approx(other_fill[4], rel=1e-6), oid
        assert fill[5] == pytest.approx(other_fill[5], rel=1e-3), oid
    assert {oid: t[8] for oid, t in trades.items()} == {
        oid: t[8] for oid, t in plain.trades.items()
    }
    assert report["wins"] == sum(1 for t in trades.values() if t[7] > 0)
    assert report["losses"] == sum(1 for t in trades.values() if t[7] < 0)
    assert report["fees"] == pytest.approx(equity[0][1], rel=1e-4)
    assert report["final_equity"] == pytest.approx(equity[0][0], rel=1e-6)


# -- 3. faults at the daemon's level -----------------------------------------------------------

OUTAGE_FROM = 94  # first candle that closes while the exchange fails
OUTAGE_BARS = 8  # exchange minutes the outage lasts


def ready_body(d: DaemonProcess) -> tuple[int, dict[str, Any]]:
    response = d.get("/ready")
    return response.status_code, response.json()


def test_an_outage_is_survived_caught_up_without_entries_and_a_429_storm_is_retried(
    tmp_path: Path,
) -> None:
    """503 on every klines request for eight exchange minutes: the daemon stays alive, not
    ready, saying why; the stale-data kill switch trips; the exchange metrics count it. Once
    the exchange answers: every missed candle in order, exits on them, no entry on them, ready
    again, the kill switch cleared. Then 429s with Retry-After, honoured and counted."""
    with synthetic_exchange() as emu, running(tmp_path, exchange_env(emu.url)) as d:
        stepper = Stepper(emu, d)
        stepper.wait_history()
        stepper.run_to(OUTAGE_FROM - 1)
        before = scrape(d)

        outage = emu.faults.add("503", path_prefix="/api/v3/klines")
        last_missed = OUTAGE_FROM + OUTAGE_BARS - 1
        for index in range(OUTAGE_FROM, last_missed + 1):
            stepper.close_through(index)
            time.sleep(0.05)

        def not_ready_naming_the_exchange() -> dict[str, Any] | None:
            code, body = ready_body(d)
            text = json.dumps(body)
            return body if code == 503 and "exchange binance failing" in text else None

        body = wait_for(not_ready_naming_the_exchange, 15, what="/ready 503 naming binance")
        checks = {c["name"]: c for c in body["checks"]}
        assert checks["market_data"]["ok"] is False
        assert d.status_code("/health") == 200

        def kill_switch() -> list[dict[str, Any]]:
            return [k for k in status(d)["kill_switches"] if k["reason"] == "stale_market_data"]

        assert wait_for(kill_switch, 10, what="stale-data kill switch in /api/v1/status")
        during = scrape(d)
        assert metric(during, "grodt_exchange_up") == 0
        assert metric(during, "grodt_exchange_errors_total", kind="unavailable") > metric(
            before, "grodt_exchange_errors_total", kind="unavailable"
        )
        assert metric(during, "grodt_exchange_retries_total") > metric(
            before, "grodt_exchange_retries_total"
        )
        assert metric(during, "grodt_exchange_requests_total", outcome="error") > 0
        assert max(processed(d).values()) == bar_ts(OUTAGE_FROM - 1), "a bar during the outage"

        emu.faults.remove(outage)
        stepper.wait_processed(last_missed, timeout=30)
        wait_for(lambda: d.status_code("/ready") == 200, 15, what="/ready 200 after the outage")
        assert not kill_switch()
        assert metric(scrape(d), "grodt_exchange_up") == 1

        # A storm of 429s with Retry-After: 1 on the klines.
        retries_before = metric(scrape(d), "grodt_exchange_retries_total")
        storm = emu.faults.add("429", count=4, retry_after=1, path_prefix="/api/v3/klines")
        stepper.run_to(last_missed + 4)
        assert storm.hits == 4
        after = scrape(d)
        assert metric(after, "grodt_exchange_errors_total", kind="rate_limited") >= 4
        assert metric(after, "grodt_exchange_retries_total") >= retries_before + 3
        klines = emu.journal.entries(path="/api/v3/klines")
        for first, second in itertools.pairwise(klines):
            if first.status == 429:
                assert second.wall_s - first.wall_s >= 0.9, "Retry-After not honoured"
        assert d.status_code("/health") == 200

        orders, trades = store_orders(d), store_trades(d)
        snapshots = d.query("SELECT ts FROM equity_snapshots ORDER BY seq")
        ref = Reference(download_csv(tmp_path), venue_broker(emu.url))
        assert d.stop() == 0

    # Every bar exactly once, in order: one unit of work per symbol per minute, none missing.
    times = [ts for (ts,) in snapshots]
    assert times == [bar_ts(i) for i in range(HISTORY, last_missed + 5) for _ in SYMBOLS]
    # The candles fetched after the outage were history but for the newest two of each
    # symbol; the backtest enters on some of them, the daemon on none.
    caught_up = (OUTAGE_FROM, last_missed - 2)
    missed = ref.entries_created_in(*caught_up)
    assert missed, "the test needs an entry the backtest makes during the outage"
    daemon_entries = [o for o in orders.values() if o[4] == "entry"]
    assert not [o for o in daemon_entries if bar_ts(caught_up[0]) <= o[0] <= bar_ts(caught_up[1])]
    # Positions opened before the outage were still managed on the caught-up bars: their
    # exits are the backtest's.
    exits_in_outage = {
        oid: t
        for oid, t in ref.trades.items()
        if t[1] < bar_ts(OUTAGE_FROM) and bar_ts(OUTAGE_FROM) <= t[2] <= bar_ts(caught_up[1])
    }
    assert exits_in_outage
    for oid, trade in exits_in_outage.items():
        assert trades[oid] == trade


# -- 4. configuration errors and an exchange down at start-up -------------------------------


def test_an_unknown_symbol_exits_2_with_one_line_naming_market_symbols(tmp_path: Path) -> None:
    with synthetic_exchange() as emu:
        env = exchange_env(emu.url, GRODT_MARKET__SYMBOLS="BTC-USDT,DOGE-XYZ")
        d = DaemonProcess(tmp_path / "data", env=env).start()
        try:
            assert d.proc is not None
            code = d.proc.wait(timeout=30)
        finally:
            d.ensure_stopped()
    assert code == 2
    lines = [line for line in d.stderr().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "market.symbols" in lines[0] and "DOGE-XYZ" in lines[0], lines[0]
    assert d.query("SELECT count(*) FROM orders") == [(0,)]


def test_an_exchange_down_at_start_up_is_waited_for_then_followed(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there yet
    with running(tmp_path, exchange_env(f"http://127.0.0.1:{port}")) as d:
        wait_for(lambda: d.status_code("/health") == 200, 30, what="/health 200")

        def waiting() -> bool:
            code, body = ready_body(d)
            return code == 503 and "exchange binance" in json.dumps(body)

        wait_for(waiting, 15, what="/ready 503 naming the exchange")

        def gave_up_twice() -> list[dict[str, Any]]:
            # Each cycle's request is retried with backoff, then the cycle comes round again.
            records = d.log_records()
            return [r for r in records if r.get("event") == "exchange unavailable, will try again"]

        failures = wait_for(lambda: len(gave_up_twice()) >= 2, 20, what="two failed cycles")
        assert failures
        assert gave_up_twice()[-1]["failures"] >= 2
        assert d.proc is not None and d.proc.poll() is None
        assert d.status_code("/health") == 200
        events = [str(r.get("event", "")) for r in d.log_records()]
        assert any(e.startswith("exchange not reachable at start-up") for e in events)

        with synthetic_exchange(port=port) as emu:
            stepper = Stepper(emu, d)
            stepper.wait_history()
            stepper.run_to(HISTORY + 3)
            d.wait_ready(timeout=10)
            assert d.stop() == 0
    assert d.query("SELECT count(*) FROM equity_snapshots") == [(4 * len(SYMBOLS),)]
