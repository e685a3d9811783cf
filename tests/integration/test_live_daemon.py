"""``grodt run`` with ``broker.mode: live`` on the Binance emulator: real orders, reconciled.

The real daemon, the real ccxt client and signed order endpoints on 127.0.0.1; killed with
SIGKILL between submissions and restarted on the same store. What is checked is what an
operator's money depends on: every order the store holds reached the exchange once, every
exchange fill is in the store exactly once, and the store's positions equal the account's
balances.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from grodtd.adapters.brokers.exchange_orders import exchange_client_id
from tests.support.daemon import DaemonProcess, wait_for
from tests.support.exchange import BinanceEmulator

pytestmark = pytest.mark.slow

MARKETS = ["BTC/USD", "ETH/USD"]
START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC: the generated market's start
KILLS = 3


@pytest.fixture
def emu() -> Iterator[BinanceEmulator]:
    # 300x: a candle closes every 0.2 s; the account holds what the engine thinks it holds.
    with BinanceEmulator(
        symbols=MARKETS,
        speed=300.0,
        seed=5,
        start_ms=START_MS + 30_000,
        balances={"USD": "100000"},
    ) as emulator:
        yield emulator


def live_env(emu: BinanceEmulator, secrets: Path) -> dict[str, str]:
    secrets.mkdir(exist_ok=True)
    env = {
        "GRODT_MARKET__SOURCE": "exchange",
        "GRODT_MARKET__BASE_URL": emu.url,
        "GRODT_MARKET__POLL_SECONDS": "0.05",
        "GRODT_BROKER__MODE": "live",
    }
    for name, value in (("API_KEY", emu.api_key), ("API_SECRET", emu.api_secret)):
        path = secrets / name.lower()
        path.write_text(value + "\n")
        path.chmod(0o600)
        env[f"GRODT_EXCHANGE_{name}_FILE"] = str(path)
    return env


def store_fills(d: DaemonProcess) -> list[tuple[str, str, str, float]]:
    rows = d.query("SELECT client_order_id, symbol, side, qty FROM fills ORDER BY ts")
    return [(str(a), str(b), str(c), float(q)) for a, b, c, q in rows]


def test_live_orders_reach_the_exchange_once_and_positions_equal_balances(
    emu: BinanceEmulator, tmp_path: Path
) -> None:
    env = live_env(emu, tmp_path / "secrets")
    data = tmp_path / "data"
    fills_seen = 0
    for life in range(KILLS + 1):
        d = DaemonProcess(data, env=env).start()
        try:
            d.wait_ready(timeout=40)
            market = d.get("/api/v1/status").json()["market"]
            assert market == {"source": "exchange", "venue": "binance", "trading": "live"}
            # Trade until a new fill lands, then die at once: often with an order in flight.
            before = fills_seen
            fills_seen = len(
                wait_for(
                    lambda d=d, before=before: f if len(f := store_fills(d)) > before else None,
                    60,
                    0.1,
                    f"a fill in life {life}",
                )
            )
            if life < KILLS:
                d.kill()
            else:
                assert d.stop(signal.SIGTERM) == 0, d.stderr()[-2000:]
        finally:
            d.ensure_stopped()
        records = d.log_records()
        assert any(r.get("event") == "trading LIVE: orders go to the exchange" for r in records)
        if life > 0:
            assert any(r.get("event") == "reconciled with the exchange" for r in records)

    final = DaemonProcess(data, env=env)
    fills = store_fills(final)
    orders = final.query("SELECT client_order_id, kind FROM orders")
    exchange = emu.orders()
    by_client: Counter[str] = Counter(o["clientOrderId"] for o in exchange)
    # No exchange order twice, and none the store does not know.
    assert max(by_client.values()) == 1, by_client.most_common(3)
    ours = {exchange_client_id(str(oid)): str(oid) for oid, _ in orders}
    assert set(by_client) <= set(ours), set(by_client) - set(ours)
    # Every exchange execution is in the store exactly once, and nothing else is.
    filled = {o["clientOrderId"] for o in exchange if Decimal(o["executedQty"]) > 0}
    assert sorted(exchange_client_id(f[0]) for f in fills) == sorted(filled)
    # Positions equal the account's balances, coin by coin.
    held: dict[str, float] = {}
    for _, symbol, side, qty in fills:
        base = symbol.split("-")[0]
        held[base] = held.get(base, 0.0) + (qty if side == "buy" else -qty)
    balances = emu.balances()
    for base in ("BTC", "ETH"):
        free, locked = balances.get(base, (Decimal(0), Decimal(0)))
        assert float(free + locked) == pytest.approx(held.get(base, 0.0), abs=1e-9), base
