"""/health and /ready of the real daemon, each failure cause provoked for real and removed.

- liveness fails while the engine thread is frozen (an observer that blocks it), and the
  daemon still answers; it recovers when the engine does;
- readiness fails while market data is stale (a feed that stops delivering), while the data
  directory is read-only (a read-only bind mount over it, which stops root too), and while
  the daemon drains; it returns once the cause is gone.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from grodtd.adapters.markets.sim import SimMarket
from grodtd.app import build_daemon
from grodtd.config import load_settings
from grodtd.core.events import BarProcessed, Event
from grodtd.core.models import Bar
from grodtd.factories import sim_params
from tests.support.daemon import REPO, DaemonProcess, free_port, wait_for

pytestmark = pytest.mark.slow


def settings_for(tmp_path: Path, **extra: str) -> Any:
    env = {
        "GRODT_CONFIG_DIR": str(REPO / "configs"),
        "GRODT_DATA_DIR": str(tmp_path / "data"),
        "GRODT_WEB_PORT": str(free_port()),
        "GRODT_METRICS_PORT": str(free_port()),
        "GRODT_MARKET__SPEED_BARS_PER_SECOND": "100",
        "GRODT_HEALTH__HEARTBEAT_TIMEOUT_SECONDS": "1",
        "GRODT_HEALTH__MARKET_DATA_STALE_SECONDS": "1",
        **extra,
    }
    (tmp_path / "data").mkdir(exist_ok=True)
    return load_settings(env)


class GatedMarket:
    """The real simulator behind a gate the test can close: a feed that stops delivering."""

    def __init__(self, market: SimMarket) -> None:
        self._market = market
        self.symbols: Sequence[str] = market.symbols
        self.open = threading.Event()
        self.open.set()

    def bars(self, after: dict[str, int] | None = None) -> Iterator[Bar]:
        for bar in self._market.bars(after):
            self.open.wait()
            yield bar


class FreezingObserver:
    """Blocks the engine thread inside a bar while ``frozen`` is set: a stalled engine."""

    def __init__(self) -> None:
        self.frozen = threading.Event()
        self.released = threading.Event()

    def __call__(self, event: Event) -> None:
        if isinstance(event, BarProcessed) and self.frozen.is_set():
            self.released.wait()


async def poll(
    client: httpx.AsyncClient, path: str, want: int, timeout: float = 10
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    last: httpx.Response | None = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            last = await client.get(path)
        except httpx.TransportError:  # not listening yet
            await asyncio.sleep(0.1)
            continue
        if last.status_code == want:
            return last.json()
        await asyncio.sleep(0.1)
    raise AssertionError(
        f"{path} never answered {want}; last: {last and last.status_code} {last and last.text}"
    )


def check(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in body["checks"] if c["name"] == name)


def test_health_fails_while_engine_frozen_and_ready_fails_while_data_stale(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    market = GatedMarket(SimMarket(sim_params(settings)))
    freezer = FreezingObserver()
    daemon = build_daemon(settings, market=market, observers=[freezer])

    async def scenario() -> None:
        running = asyncio.create_task(daemon.run())
        base = f"http://127.0.0.1:{settings.web.port}"
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            await poll(client, "/ready", 200, timeout=30)
            await poll(client, "/health", 200)

            # Stale market data: readiness fails and names it; liveness does not care.
            market.open.clear()
            body = await poll(client, "/ready", 503)
            assert check(body, "market_data")["ok"] is False
            assert "old" in check(body, "market_data")["reason"]
            assert (await client.get("/health")).status_code == 200
            market.open.set()
            await poll(client, "/ready", 200)

            # Frozen engine: liveness fails while the web interface itself still answers.
            freezer.frozen.set()
            body = await poll(client, "/health", 503)
            assert not body["checks"][0]["ok"] or any(not c["ok"] for c in body["checks"])
            freezer.frozen.clear()
            freezer.released.set()
            await poll(client, "/health", 200)
            await poll(client, "/ready", 200)

            # Draining: readiness fails at once, while the engine finishes its bar.
            freezer.released.clear()
            freezer.frozen.set()
            await asyncio.sleep(0.3)
            daemon.request_stop("test")
            body = await poll(client, "/ready", 503, timeout=2)
            assert check(body, "not_draining")["ok"] is False
            freezer.frozen.clear()
            freezer.released.set()
        assert await asyncio.wait_for(running, timeout=10) == 0

    asyncio.run(scenario())


@pytest.mark.skipif(
    os.geteuid() != 0 and not os.environ.get("CI"), reason="needs root for a read-only bind mount"
)
def test_ready_fails_while_data_directory_is_read_only(tmp_path: Path) -> None:
    daemon = DaemonProcess(tmp_path / "data")
    mounted = False
    try:
        daemon.start()
        daemon.wait_ready()
        data = str(daemon.data_dir)
        subprocess.run(["mount", "--bind", data, data], check=True)
        mounted = True
        subprocess.run(["mount", "-o", "remount,ro,bind", data], check=True)

        def store_check_fails() -> dict[str, Any] | None:
            response = daemon.get("/ready")
            return response.json() if response.status_code == 503 else None

        body = wait_for(
            store_check_fails, timeout=10, what="/ready to fail on a read-only data dir"
        )
        store = check(body, "store")
        assert store["ok"] is False and str(daemon.data_dir) in store["reason"]
        assert daemon.status_code("/health") == 200
        subprocess.run(["umount", data], check=True)
        mounted = False
        daemon.wait_ready(timeout=10)
        assert daemon.stop() == 0
    finally:
        if mounted:
            subprocess.run(["umount", str(daemon.data_dir)], check=False)
        daemon.ensure_stopped()
