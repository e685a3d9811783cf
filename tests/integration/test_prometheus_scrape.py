"""A real Prometheus (Debian's package) scrapes the real daemon; every required metric answers."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.daemon import DaemonProcess, free_port, wait_for
from tests.support.tools import require_tool

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]


# One PromQL query per metric the operator surface promises (issue 3).
REQUIRED = {
    "grodt_build_info": "grodt_build_info",
    "grodt_ready": "grodt_ready",
    "grodt_equity_usd": "grodt_equity_usd",
    "grodt_cash_usd": "grodt_cash_usd",
    "grodt_realized_pnl_usd": "grodt_realized_pnl_usd",
    "grodt_unrealized_pnl_usd": "grodt_unrealized_pnl_usd",
    "grodt_drawdown_ratio": "grodt_drawdown_ratio",
    "grodt_open_positions": "grodt_open_positions",
    "grodt_orders_total": "sum by (side, status) (grodt_orders_total)",
    "grodt_trades_closed_total": "sum by (outcome) (grodt_trades_closed_total)",
    "grodt_market_events_total": "rate(grodt_market_events_total[30s])",
    "grodt_market_data_age_seconds": "max by (symbol) (grodt_market_data_age_seconds)",
    "grodt_decision_latency_seconds": (
        "histogram_quantile(0.99, sum by (le) (rate(grodt_decision_latency_seconds_bucket[30s])))"
    ),
    "grodt_regime": "grodt_regime == 1",
    "grodt_strategy_enabled": "grodt_strategy_enabled",
    "grodt_trading_halted": "grodt_trading_halted",
    "grodt_kill_switch_trips_total": "grodt_kill_switch_trips_total",
    "process metrics": "process_resident_memory_bytes",
}


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    prometheus = require_tool("prometheus", "apt-get install prometheus (Debian's package)")
    tmp = tmp_path_factory.mktemp("prom")
    daemon = DaemonProcess(tmp / "data")
    daemon.start()
    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: grodt\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{daemon.metrics_port}']}}]\n"
    )
    prom = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        daemon.wait_ready()

        def target_up() -> bool:
            try:
                targets = httpx.get(f"{base}/api/v1/targets", timeout=2).json()["data"]
            except (httpx.HTTPError, ValueError):
                return False
            return any(t["health"] == "up" for t in targets["activeTargets"])

        wait_for(target_up, 60, 0.5, "Prometheus to scrape the daemon")
        # Let a trade or two happen and rates gather enough samples.
        wait_for(lambda: daemon.query("SELECT COUNT(*) FROM fills")[0][0] > 0, 60, 0.5, "a fill")
        time.sleep(6)
        yield base
    finally:
        prom.terminate()
        prom.wait(timeout=10)
        daemon.ensure_stopped()


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_metric_has_data_in_prometheus(scraped: str, name: str) -> None:
    response = httpx.get(f"{scraped}/api/v1/query", params={"query": REQUIRED[name]}, timeout=5)
    body = response.json()
    assert body["status"] == "success", body
    assert body["data"]["result"], f"{name}: no data for {REQUIRED[name]!r}"


def test_ready_metric_says_ready(scraped: str) -> None:
    body = httpx.get(f"{scraped}/api/v1/query", params={"query": "grodt_ready"}, timeout=5).json()
    assert float(body["data"]["result"][0]["value"][1]) == 1.0


def test_scrape_is_healthy_and_labels_are_low_cardinality(scraped: str) -> None:
    series = httpx.get(
        f"{scraped}/api/v1/series", params={"match[]": '{__name__=~"grodt_.+"}'}, timeout=5
    ).json()["data"]
    label_names = {key for s in series for key in s}
    assert not label_names & {"order_id", "client_order_id", "trade_id"}
    assert len(series) < 500
