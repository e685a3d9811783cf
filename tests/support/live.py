"""What the live-trading tests share: the emulator's markets and a live daemon's environment."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess
from tests.support.exchange import BinanceEmulator

MARKETS = ["BTC/USD", "ETH/USD"]
START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC: the generated market's start


def live_emulator() -> BinanceEmulator:
    """The live tests' exchange (not started: use it in a ``with``): at 300 times real speed
    a candle closes every 0.2 s, and the account holds cash only, so its coins are GRODT's."""
    return BinanceEmulator(
        symbols=MARKETS, speed=300.0, seed=5, start_ms=START_MS + 30_000, balances={"USD": "100000"}
    )


def live_env(emu: BinanceEmulator, secrets: Path) -> dict[str, str]:
    """``broker.mode: live`` on ``emu``, its key pair in secret files under ``secrets``."""
    secrets.mkdir(exist_ok=True)
    env = {
        "GRODT_MARKET__SOURCE": "exchange",
        "GRODT_MARKET__BASE_URL": emu.url,
        "GRODT_MARKET__POLL_SECONDS": "0.05",
        "GRODT_BROKER__MODE": "live",
        # These tests are about orders, kills and reconciliation, and need orders to keep
        # coming: at 300 times real speed three losses in a row would halt entries for a day
        # of market time (5 minutes), and the drills would wait in vain. The halts themselves
        # are proved in tests/unit/core/test_engine_risk.py.
        "GRODT_RISK__LOSS_STREAK_LIMIT": "1000",
        "GRODT_RISK__DAILY_LOSS_CAP": "0.5",
    }
    for name, value in (("API_KEY", emu.api_key), ("API_SECRET", emu.api_secret)):
        path = secrets / name.lower()
        path.write_text(value + "\n")
        path.chmod(0o600)
        env[f"GRODT_EXCHANGE_{name}_FILE"] = str(path)
    return env


def store_fills(d: DaemonProcess) -> list[tuple[str, str, str, float]]:
    """(client order id, symbol, side, qty) of every fill in ``d``'s store, oldest first."""
    rows = d.query("SELECT client_order_id, symbol, side, qty FROM fills ORDER BY ts")
    return [(str(a), str(b), str(c), float(q)) for a, b, c, q in rows]


def assert_positions_equal_balances(
    emu: BinanceEmulator, fills: list[tuple[str, str, str, float]]
) -> None:
    """The positions the store's fills add up to equal the account's coins, one by one."""
    held: dict[str, float] = {}
    for _, symbol, side, qty in fills:
        base = symbol.split("-")[0]
        held[base] = held.get(base, 0.0) + (qty if side == "buy" else -qty)
    balances = emu.balances()
    for base in ("BTC", "ETH"):
        free, locked = balances.get(base, (Decimal(0), Decimal(0)))
        assert float(free + locked) == pytest.approx(held.get(base, 0.0), abs=1e-9), base
