"""``grodt run`` with ``broker.mode: live`` on the Binance emulator: real orders, reconciled.

The real daemon, the real ccxt client and signed order endpoints on 127.0.0.1; killed with
SIGKILL between submissions and restarted on the same store. What is checked is what an
operator's money depends on: every order the store holds reached the exchange once, every
exchange fill is in the store exactly once, and the store's positions equal the account's
balances.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from grodtd.adapters.brokers.exchange_orders import exchange_client_id
from tests.support.daemon import CONTROL_TOKEN, DaemonProcess, grodt, wait_for
from tests.support.exchange import BinanceEmulator
from tests.support.live import (
    assert_positions_equal_balances,
    live_emulator,
    live_env,
    store_fills,
)

pytestmark = pytest.mark.slow

KILLS = 3


@pytest.fixture
def emu() -> Iterator[BinanceEmulator]:
    with live_emulator() as emulator:
        yield emulator


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
    assert_positions_equal_balances(emu, fills)


def test_flatten_pauses_entries_and_closes_every_position_on_the_exchange(
    emu: BinanceEmulator, tmp_path: Path
) -> None:
    env = live_env(emu, tmp_path / "secrets")
    d = DaemonProcess(tmp_path / "data", env=env).start()
    try:
        d.wait_ready(timeout=40)
        wait_for(lambda: d.get("/api/v1/positions").json(), 60, 0.1, "an open position")
        cli_env = {**env, "GRODT_WEB_PORT": str(d.web_port), "GRODT_CONTROL_TOKEN": CONTROL_TOKEN}
        # Without the token, or with another one, nothing happens and the operator is told.
        no_token = grodt("flatten", env={k: v for k, v in cli_env.items() if "TOKEN" not in k})
        assert no_token.returncode == 2 and "GRODT_CONTROL_TOKEN_FILE" in no_token.stderr
        wrong = grodt("flatten", env={**cli_env, "GRODT_CONTROL_TOKEN": "not-the-token"})
        assert wrong.returncode == 1 and "401" in wrong.stderr, wrong.stderr
        assert not d.get("/api/v1/status").json()["paused"]

        for _ in range(5):
            # At 300 times real speed a position may close by itself just before the flatten
            # reaches it ("0 position(s)"): then resume, and flatten the next one.
            wait_for(lambda: d.get("/api/v1/positions").json(), 60, 0.1, "an open position")
            done = grodt("flatten", "--reason", "end of the test", env=cli_env)
            assert done.returncode == 0, done.stderr
            assert "flatten accepted" in done.stdout and "closing at market" in done.stdout
            if not done.stdout.startswith("flatten accepted: 0 position(s)"):
                break
            resumed = httpx.post(
                d.url + "/api/v1/control/resume",
                headers={"Authorization": f"Bearer {CONTROL_TOKEN}"},
                timeout=5,
            )
            assert resumed.status_code == 200
        status = d.get("/api/v1/status").json()
        assert status["paused"] and status["pause"]["reason"] == "flatten: end of the test"
        assert status["pause"]["by"].startswith("grodt flatten")
        wait_for(lambda: not d.get("/api/v1/positions").json(), 10, 0.1, "no position")
        exits = d.query("SELECT exit_reason FROM trades WHERE exit_reason = 'flatten'")
        assert exits, "no trade closed by the flatten"
        # The account holds nothing but dust of what GRODT bought, and no entry follows.
        entries = len(d.query("SELECT 1 FROM orders WHERE purpose = 'entry'"))
        time.sleep(2)
        assert len(d.query("SELECT 1 FROM orders WHERE purpose = 'entry'")) == entries
        for base in ("BTC", "ETH"):
            free, locked = emu.balances().get(base, (Decimal(0), Decimal(0)))
            assert float(free + locked) < 0.01, (base, free, locked)
        assert d.stop(signal.SIGTERM) == 0
    finally:
        d.ensure_stopped()
    # A daemon that is not running cannot flatten: said in one line, exit 1.
    gone = grodt("flatten", env=cli_env)
    assert gone.returncode == 1 and "no daemon answered" in gone.stderr


def test_run_check_asks_the_exchange_and_trades_nothing(
    emu: BinanceEmulator, tmp_path: Path
) -> None:
    env = {**live_env(emu, tmp_path / "secrets"), "GRODT_DATA_DIR": str(tmp_path / "data")}
    ok = grodt("run", "--check", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[0].startswith("trading live")
    assert any(line.startswith("ok   keys:") and "USD 100000" in line for line in lines)
    assert any(line.startswith("ok   permissions: trading allowed") for line in lines)
    assert emu.orders() == [] and not (tmp_path / "data" / "grodt.db").exists()

    secret = Path(env["GRODT_EXCHANGE_API_SECRET_FILE"])
    secret.write_text("not-the-secret\n")
    refused = grodt("run", "--check", env=env)
    assert refused.returncode == 1
    assert "FAIL keys" in refused.stdout and "not-the-secret" not in refused.stdout + refused.stderr
