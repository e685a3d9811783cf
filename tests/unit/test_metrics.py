"""Metrics: names and labels as the contract says, counters moved by real domain events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from grodtd.core.events import (
    BarProcessed,
    EntriesHalted,
    KillSwitchTripped,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    RegimeChanged,
    TradeClosed,
)
from grodtd.core.models import Bar, HaltReason, KillSwitchReason, Regime, Side
from grodtd.ops.metrics import LiveState, Metrics
from grodtd.web.contracts import BuildInfo
from tests.support.fake_daemon import sample_fill, sample_order, sample_snapshot, sample_trade
from tests.support.servers import serve

REQUIRED = {
    "grodt_build_info": "gauge",
    "grodt_ready": "gauge",
    "grodt_equity_usd": "gauge",
    "grodt_cash_usd": "gauge",
    "grodt_realized_pnl_usd": "gauge",
    "grodt_unrealized_pnl_usd": "gauge",
    "grodt_drawdown_ratio": "gauge",
    "grodt_open_positions": "gauge",
    "grodt_orders": "counter",
    "grodt_trades_closed": "counter",
    "grodt_market_events": "counter",
    "grodt_market_data_age_seconds": "gauge",
    "grodt_decision_latency_seconds": "histogram",
    "grodt_regime": "gauge",
    "grodt_strategy_enabled": "gauge",
    "grodt_trading_halted": "gauge",
    "grodt_kill_switch_trips": "counter",
    "grodt_bars_processed": "counter",
    "grodt_engine_heartbeat_age_seconds": "gauge",
    "grodt_fees_usd": "gauge",
    "grodt_daily_loss_ratio": "gauge",
    "process_resident_memory_bytes": "gauge",
    "process_cpu_seconds": "counter",
    "python_info": "gauge",
}
SYMBOLS = ("BTC-USD", "ETH-USD")
BUILD = BuildInfo("1.2.3", "deadbeef", "staging", "3.12.1")


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(BUILD, SYMBOLS, ["s1_trend"])


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = metrics.render().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, frozenset(labels.items()))]


def test_every_required_metric_is_exposed_with_its_type(metrics: Metrics) -> None:
    families = {f.name: f.type for f in text_string_to_metric_families(metrics.render().decode())}

    for name, kind in REQUIRED.items():
        assert families.get(name) == kind, name


def test_names_units_and_labels_follow_the_contract(metrics: Metrics) -> None:
    text = metrics.render().decode()
    for family in text_string_to_metric_families(text):
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples), family.name
        if family.name.startswith(("process_", "python_")):
            continue
        assert family.name.startswith("grodt_")
        for sample in family.samples:
            assert not {"order", "order_id", "client_order_id"} & set(sample.labels)
    assert "# TYPE grodt_orders_total counter" in text


def test_build_info_and_preinitialised_series(metrics: Metrics) -> None:
    assert (
        value(
            metrics,
            "grodt_build_info",
            version="1.2.3",
            revision="deadbeef",
            environment="staging",
            python="3.12.1",
        )
        == 1
    )
    found = samples(metrics)
    for side in ("buy", "sell"):
        for status in ("submitted", "filled", "rejected"):
            assert (
                found[("grodt_orders_total", frozenset({"side": side, "status": status}.items()))]
                == 0
            )
    for outcome in ("win", "loss", "breakeven"):
        assert value(metrics, "grodt_trades_closed_total", outcome=outcome) == 0
    for reason in KillSwitchReason:
        assert value(metrics, "grodt_kill_switch_trips_total", reason=reason.value) == 0
    for symbol in SYMBOLS:
        assert value(metrics, "grodt_market_events_total", symbol=symbol) == 0
        for regime in Regime:
            assert value(metrics, "grodt_regime", symbol=symbol, regime=regime.value) == 0


def test_events_move_the_counters(metrics: Metrics) -> None:
    bar = Bar("ETH-USD", 1_780_000_000, 3000, 3010, 2990, 3005, 12.0)
    buy = sample_order(1, Side.BUY)
    sell = sample_order(2, Side.SELL)
    for event in (
        BarProcessed(bar, Regime.TRENDING_UP, 0.00004),
        BarProcessed(replace(bar, ts=bar.ts + 60), Regime.TRENDING_UP, 0.003),
        OrderSubmitted(buy),
        OrderFilled(buy, sample_fill(1)),
        OrderSubmitted(sell),
        OrderRejected(sell, "insufficient funds"),
        TradeClosed(sample_trade(1, pnl=-4.0)),
        TradeClosed(sample_trade(2, pnl=9.0)),
        KillSwitchTripped(KillSwitchReason.BROKER_ERRORS, "5 errors in a row"),
        EntriesHalted(HaltReason.KILL_SWITCH, "broker errors"),
    ):
        metrics.observe(event)

    assert value(metrics, "grodt_market_events_total", symbol="ETH-USD") == 2
    assert value(metrics, "grodt_market_events_total", symbol="BTC-USD") == 0
    assert value(metrics, "grodt_bars_processed_total") == 2
    assert value(metrics, "grodt_orders_total", side="buy", status="submitted") == 1
    assert value(metrics, "grodt_orders_total", side="buy", status="filled") == 1
    assert value(metrics, "grodt_orders_total", side="sell", status="rejected") == 1
    assert value(metrics, "grodt_trades_closed_total", outcome="loss") == 1
    assert value(metrics, "grodt_trades_closed_total", outcome="win") == 1
    assert value(metrics, "grodt_kill_switch_trips_total", reason="broker_errors") == 1
    assert value(metrics, "grodt_decision_latency_seconds_count") == 2
    assert value(metrics, "grodt_decision_latency_seconds_bucket", le="5e-05") == 1
    assert value(metrics, "grodt_decision_latency_seconds_bucket", le="0.005") == 2
    assert value(metrics, "grodt_regime", symbol="ETH-USD", regime="trending_up") == 1

    metrics.observe(RegimeChanged("ETH-USD", bar.ts + 120, Regime.TRENDING_UP, Regime.RANGING))
    assert value(metrics, "grodt_regime", symbol="ETH-USD", regime="trending_up") == 0
    assert value(metrics, "grodt_regime", symbol="ETH-USD", regime="ranging") == 1


def test_gauges_show_the_watched_state_at_every_scrape(metrics: Metrics) -> None:
    snapshot = replace(sample_snapshot(), equity=9_700.0, day_start_equity=10_000.0)
    state = [LiveState(snapshot, True, {"BTC-USD": 1.5, "ETH-USD": 14.2}, heartbeat_age=0.25)]
    metrics.watch(lambda: state[0])

    assert value(metrics, "grodt_ready") == 1
    assert value(metrics, "grodt_equity_usd") == 9_700.0
    assert value(metrics, "grodt_cash_usd") == 9_050.0
    assert value(metrics, "grodt_realized_pnl_usd") == 40.0
    assert value(metrics, "grodt_unrealized_pnl_usd") == 10.0
    assert value(metrics, "grodt_drawdown_ratio") == 0.005
    assert value(metrics, "grodt_daily_loss_ratio") == pytest.approx(0.03)
    assert value(metrics, "grodt_open_positions") == 1
    assert value(metrics, "grodt_trading_halted") == 1
    assert value(metrics, "grodt_market_data_age_seconds", symbol="ETH-USD") == 14.2
    assert value(metrics, "grodt_engine_heartbeat_age_seconds") == 0.25
    assert value(metrics, "grodt_strategy_enabled", strategy="s1_trend") == 1
    assert value(metrics, "grodt_regime", symbol="BTC-USD", regime="trending_up") == 1
    assert value(metrics, "grodt_regime", symbol="BTC-USD", regime="ranging") == 0
    assert value(metrics, "grodt_kill_switch_active", reason="abnormal_slippage") == 1
    assert value(metrics, "grodt_halt_active", reason="cooldown") == 1

    calm = replace(snapshot, halts=(), kill_switches=(), regimes={"BTC-USD": Regime.RANGING})
    state[0] = LiveState(calm, False, {}, heartbeat_age=3.0)
    assert value(metrics, "grodt_ready") == 0
    assert value(metrics, "grodt_trading_halted") == 0
    assert value(metrics, "grodt_kill_switch_active", reason="abnormal_slippage") == 0
    assert value(metrics, "grodt_regime", symbol="BTC-USD", regime="trending_up") == 0
    assert value(metrics, "grodt_regime", symbol="BTC-USD", regime="ranging") == 1


def test_unwatched_gauges_are_zero_and_events_fill_what_no_snapshot_says(
    metrics: Metrics,
) -> None:
    """Before a snapshot exists every series is there at 0; regimes and latches come from events.

    Once watched, the snapshot speaks for the symbols it carries and for every kill switch
    (a resume clears a latch there), and events still speak for a symbol it does not carry.
    """
    found = samples(metrics)
    for name in ("grodt_ready", "grodt_equity_usd", "grodt_daily_loss_ratio", "grodt_paused"):
        assert found[(name, frozenset())] == 0, name
    for symbol in SYMBOLS:
        assert value(metrics, "grodt_market_data_age_seconds", symbol=symbol) == 0
    for halt in HaltReason:
        assert value(metrics, "grodt_halt_active", reason=halt.value) == 0

    metrics.observe(KillSwitchTripped(KillSwitchReason.STALE_MARKET_DATA, "no bars for 3 minutes"))
    metrics.observe(RegimeChanged("ETH-USD", 0, Regime.TRANSITION, Regime.HIGH_VOLATILITY))
    assert value(metrics, "grodt_kill_switch_active", reason="stale_market_data") == 1
    assert value(metrics, "grodt_regime", symbol="ETH-USD", regime="high_volatility") == 1

    only_btc = replace(sample_snapshot(), regimes={"BTC-USD": Regime.RANGING}, kill_switches=())
    metrics.watch(lambda: LiveState(only_btc, True, {}, heartbeat_age=0.0))
    assert value(metrics, "grodt_kill_switch_active", reason="stale_market_data") == 0
    assert value(metrics, "grodt_regime", symbol="ETH-USD", regime="high_volatility") == 1
    assert value(metrics, "grodt_regime", symbol="BTC-USD", regime="ranging") == 1


def test_registering_never_reads_the_state() -> None:
    """The collector describes itself, so building the registry cannot run a readiness check."""
    calls: list[int] = []

    def source() -> LiveState:
        calls.append(1)
        return LiveState(sample_snapshot(), True, {}, heartbeat_age=0.0)

    metrics = Metrics(BUILD, SYMBOLS, ["s1_trend"])
    metrics.watch(source)
    assert calls == []
    metrics.render()
    assert calls == [1]


def test_registry_is_private(metrics: Metrics) -> None:
    other = Metrics(BUILD, SYMBOLS, [])

    assert metrics.registry is not other.registry
    assert REGISTRY.get_sample_value("grodt_ready") is None


@pytest.fixture
def metrics_url(metrics: Metrics) -> Iterator[tuple[str, list[int]]]:
    scraped: list[int] = []
    snapshot = sample_snapshot()

    def state() -> LiveState:
        scraped.append(1)
        return LiveState(
            replace(snapshot, equity=10_000.0 + len(scraped)), True, {}, heartbeat_age=0.0
        )

    metrics.watch(state)
    with serve(metrics.asgi_app()) as url:
        yield url, scraped


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
}
# What Prometheus 2.x sends on every scrape: OpenMetrics first, gzip welcome.
PROMETHEUS_ACCEPT = {
    "accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "accept-encoding": "gzip",
}


def assert_hardened(response: httpx.Response) -> None:
    for name, expected in SECURITY_HEADERS.items():
        assert response.headers.get(name) == expected, name
    assert "server" not in response.headers
    assert int(response.headers["content-length"]) == len(response.content)


def test_asgi_app_reads_the_state_at_every_scrape(metrics_url: tuple[str, list[int]]) -> None:
    url, scraped = metrics_url

    first = httpx.get(url + "/metrics")
    second = httpx.get(url + "/metrics")

    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "server" not in first.headers
    assert len(scraped) == 2
    equity = [
        s.value
        for f in text_string_to_metric_families(second.text)
        for s in f.samples
        if s.name == "grodt_equity_usd"
    ]
    assert equity == [10_002.0]
    assert httpx.get(url + "/").status_code == 404
    assert httpx.post(url + "/metrics").status_code == 405
    assert len(scraped) == 2, "a refused request never reads the state"


def test_prometheus_gets_the_0_0_4_text_format_uncompressed(
    metrics_url: tuple[str, list[int]],
) -> None:
    """prometheus_client would answer OpenMetrics (and gzip) to Prometheus' own Accept header."""
    url, _ = metrics_url

    response = httpx.get(url + "/metrics", headers=PROMETHEUS_ACCEPT)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "content-encoding" not in response.headers
    assert "# EOF" not in response.text
    assert "# TYPE grodt_orders_total counter" in response.text
    assert_hardened(response)


def test_only_get_and_head_of_metrics_are_answered(metrics_url: tuple[str, list[int]]) -> None:
    url, _ = metrics_url

    head = httpx.head(url + "/metrics")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"].startswith("text/plain; version=0.0.4")
    for path in ("/", "/metrics/", "/metricsx", "/favicon.ico"):
        response = httpx.get(url + path)
        assert response.status_code == 404, path
        assert_hardened(response)
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
        response = httpx.request(method, url + "/metrics")
        assert response.status_code == 405, method
        assert response.headers["allow"] == "GET, HEAD"
        assert_hardened(response)
    assert_hardened(httpx.get(url + "/metrics"))


def test_a_failing_state_fails_the_scrape_not_the_server(metrics: Metrics) -> None:
    calls: list[int] = []

    def broken() -> LiveState:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("snapshot unavailable")
        return LiveState(sample_snapshot(), True, {}, heartbeat_age=0.0)

    metrics.watch(broken)
    with serve(metrics.asgi_app()) as url, capture_logs() as logs:
        failed = httpx.get(url + "/metrics")
        assert failed.status_code == 500
        assert failed.text == "metrics refresh failed\n"
        assert_hardened(failed)
        assert httpx.get(url + "/metrics").status_code == 200
    assert [
        (entry["event"], entry["log_level"], entry["error"])
        for entry in logs
        if entry["event"] == "metrics_refresh_failed"
    ] == [("metrics_refresh_failed", "error", "RuntimeError: snapshot unavailable")]
