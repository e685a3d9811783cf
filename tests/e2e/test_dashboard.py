"""The dashboard in a real Chromium against a real uvicorn server whose data changes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import expect

from grodtd.core.models import HaltReason, OrderPurpose, OrderStatus
from grodtd.web.contracts import CheckResult, HealthReport
from grodtd.web_app import create_app
from tests.e2e.conftest import WatchedPage, assert_only_refusals_logged, chart_ink, screenshot
from tests.support.fake_daemon import (
    T0,
    FakeDaemon,
    sample_candles,
    sample_equity,
    sample_order,
    sample_trade,
)
from tests.support.servers import serve

pytestmark = pytest.mark.browser

TOKEN = "browser-test-token"


@pytest.fixture
def daemon() -> FakeDaemon:
    empty = FakeDaemon()
    empty.equity_log = [sample_equity(0, 10_000.0)]
    return empty


@pytest.fixture
def base_url(daemon: FakeDaemon) -> Iterator[str]:
    with serve(create_app(daemon, daemon, control_token=TOKEN)) as url:
        yield url


def assert_clean(watched: WatchedPage) -> None:
    """No console error (a CSP violation is one), no page error, nothing from another host."""
    assert watched.console_errors == []
    assert watched.page_errors == []
    assert watched.foreign_requests() == []


def test_dashboard_shows_live_equity_and_trades(
    base_url: str, daemon: FakeDaemon, open_watched
) -> None:  # type: ignore[no-untyped-def]
    watched: WatchedPage = open_watched(base_url + "/")
    page = watched.page

    page.wait_for_selector("#state.badge.bad", timeout=10_000)  # sample snapshot is halted
    expect(page.locator("#equity-chart")).to_have_attribute("data-points", "1", timeout=10_000)
    assert page.locator("[data-testid=trade-row]").count() == 0
    assert page.locator("#equity").inner_text() == "10,050.00"
    assert page.locator("#initial-cash").inner_text() == "10,000.00"

    with daemon.lock:
        daemon.equity_log.extend(sample_equity(i, 10_000.0 + 25.0 * i) for i in range(1, 40))
        daemon.trade_log.append(sample_trade(3, pnl=42.0))

    expect(page.locator("#equity-chart")).to_have_attribute("data-points", "40", timeout=20_000)
    row = page.locator("[data-testid=trade-row]")
    row.first.wait_for(timeout=10_000)
    assert row.count() == 1
    text = row.first.inner_text()
    assert "ETH-USD" in text and "42.00" in text
    assert "3,000.00" in text, "prices keep their cents so columns line up"
    assert "0.500000" in text, "quantities have a fixed number of decimals"
    assert "10m" in text, "the trade's duration is shown"
    assert chart_ink(watched, "equity-chart") > 500
    assert page.locator("#equity-empty").is_hidden()

    checks = page.locator("[data-testid=check-row]")
    assert checks.count() == 7  # 2 liveness + 5 readiness checks
    expect(page.locator("[data-testid=market-source]")).to_have_text("exchange binance")
    expect(page.locator("[data-testid=source-badge]")).to_have_text("exchange binance · paper")
    expect(page.locator("[data-testid=trading]")).to_have_text("paper (simulated fills)")
    expect(page.locator("[data-testid=market-health]")).to_have_text("ok: market_data fine")
    # An exchange outage: the data health says why, in the refresh that follows.
    outage = "binance: ExchangeNotAvailable for 12 s (503 Service Unavailable)"
    with daemon.lock:
        daemon.ready = HealthReport(
            tuple(
                c if c.name != "market_data" else CheckResult(c.name, False, outage)
                for c in daemon.ready.checks
            )
        )
    expect(page.locator("[data-testid=market-health]")).to_have_text(outage, timeout=10_000)
    expect(page.locator("[data-testid=market-health]")).to_have_class("neg")
    assert "trending_up" in page.locator("[data-testid=regimes]").inner_text()
    assert "abnormal_slippage" in page.locator("[data-testid=kill-switches]").inner_text()
    assert page.locator("[data-testid=position-row]").count() == 1
    assert_clean(watched)
    paths = {request.removeprefix(base_url).split("?")[0] for request in watched.requests}
    assert {
        "/",
        "/static/app.js",
        "/static/vendor/lightweight-charts.standalone.production.js",
        "/api/v1/status",
        "/api/v1/equity/history",
        "/api/v1/candles",
    } <= paths


def test_price_chart_draws_candles_markers_and_levels(
    base_url: str, daemon: FakeDaemon, open_watched
) -> None:  # type: ignore[no-untyped-def]
    candles = sample_candles("BTC-USD", 120)
    with daemon.lock:
        daemon.candle_log = {"BTC-USD": candles, "ETH-USD": sample_candles("ETH-USD", 60, 3_000.0)}
        # One closed BTC trade inside the candles' span, one open position (entry, stop, target).
        closed = replace(
            sample_trade(0, pnl=-44.0),
            symbol="BTC-USD",
            entry_ts=candles[30].ts,
            exit_ts=candles[50].ts + 20,
        )
        daemon.trade_log = [closed]
        daemon.order_log = [
            replace(sample_order(1), status=OrderStatus.PENDING, purpose=OrderPurpose.STOP),
            sample_order(2),
        ]
        pos = daemon.state.positions[0]
        daemon.state = replace(
            daemon.state,
            positions=(replace(pos, position=replace(pos.position, opened_ts=candles[100].ts)),),
        )
        daemon.equity_log = [sample_equity(i, 10_000.0 - 1.1 * i) for i in range(40)]

    watched: WatchedPage = open_watched(base_url + "/")
    page = watched.page
    chart = page.locator("#price-chart")
    expect(chart).to_have_attribute("data-candles", "120", timeout=10_000)
    expect(chart).to_have_attribute("data-symbol", "BTC-USD")
    # Entry and exit of the closed trade, and the open position's entry.
    expect(chart).to_have_attribute("data-markers", "3")
    expect(chart).to_have_attribute("data-levels", "3")  # entry, stop, target
    assert chart_ink(watched, "price-chart") > 2_000
    assert page.locator("#price-empty").is_hidden()
    assert page.locator("[data-testid=order-row]").count() == 1, "only the pending order is open"
    assert "stop" in page.locator("[data-testid=orders]").inner_text()

    page.locator("#chart-symbol").select_option("ETH-USD")
    expect(chart).to_have_attribute("data-symbol", "ETH-USD", timeout=10_000)
    expect(chart).to_have_attribute("data-candles", "60")
    expect(chart).to_have_attribute("data-markers", "0")
    page.locator("#chart-symbol").select_option("BTC-USD")
    expect(chart).to_have_attribute("data-markers", "3", timeout=10_000)
    # A $44 loss on 10,000 is drawn small: the axis spans at least 1 % of the capital.
    expect(page.locator("#equity-chart")).to_have_attribute("data-points", "40", timeout=20_000)
    screenshot(page, "dashboard-fake-daemon")
    assert_clean(watched)


def test_trades_page_and_filter(base_url: str, daemon: FakeDaemon, open_watched) -> None:  # type: ignore[no-untyped-def]
    with daemon.lock:
        daemon.trade_log = [
            replace(sample_trade(i), symbol="BTC-USD" if i % 3 == 0 else "ETH-USD")
            for i in range(60)
        ]
    watched: WatchedPage = open_watched(base_url + "/")
    page = watched.page
    rows = page.locator("[data-testid=trade-row]")
    expect(page.locator("[data-testid=trades-range]")).to_have_text(
        "1 to 25 of 60 closed trade(s), newest first", timeout=10_000
    )
    assert rows.count() == 25
    assert page.locator("[data-testid=trades-newer]").is_disabled()
    page.locator("[data-testid=trades-older]").click()
    page.locator("[data-testid=trades-older]").click()
    expect(page.locator("[data-testid=trades-range]")).to_have_text(
        "51 to 60 of 60 closed trade(s), newest first", timeout=10_000
    )
    assert rows.count() == 10
    assert page.locator("[data-testid=trades-older]").is_disabled()
    page.locator("#trades-symbol").select_option("BTC-USD")
    expect(page.locator("[data-testid=trades-range]")).to_have_text(
        "1 to 20 of 20 closed trade(s), newest first", timeout=10_000
    )
    assert all("BTC-USD" in t for t in rows.all_inner_texts())
    assert_clean(watched)


def test_pause_and_resume_need_the_token(base_url: str, daemon: FakeDaemon, open_watched) -> None:  # type: ignore[no-untyped-def]
    watched: WatchedPage = open_watched(base_url + "/")
    page = watched.page
    page.wait_for_selector("#state.badge.bad", timeout=10_000)

    page.locator("[data-testid=pause]").click()
    page.locator("[data-testid=control-token]").fill("not-the-token")
    page.locator("[data-testid=control-submit]").click()
    expect(page.locator("[data-testid=control-error]")).to_contain_text(
        "wrong bearer token", timeout=10_000
    )
    assert daemon.calls == [], "a wrong token changes nothing"
    assert page.locator("[data-testid=control-dialog]").is_visible()

    page.locator("[data-testid=control-token]").fill(TOKEN)
    page.locator("[data-testid=control-by]").fill("alice")
    page.locator("[data-testid=control-reason]").fill("exchange maintenance")
    page.locator("[data-testid=control-submit]").click()
    expect(page.locator("#state")).to_have_text("paused", timeout=10_000)
    assert daemon.calls == ["pause"]
    banner = page.locator("[data-testid=pause-banner]")
    expect(banner).to_be_visible()
    text = banner.inner_text()
    assert "by alice: exchange maintenance" in text and "(wall clock)" in text
    assert page.locator("[data-testid=control-dialog]").is_hidden()
    assert page.locator("[data-testid=pause]").is_disabled()
    screenshot(page, "dashboard-paused")

    page.locator("[data-testid=resume]").click()
    page.locator("[data-testid=control-token]").fill(TOKEN)
    page.locator("[data-testid=control-submit]").click()
    expect(page.locator("#state")).to_have_text("trading", timeout=10_000)
    assert daemon.calls == ["pause", "resume"]
    expect(banner).to_be_hidden()
    # The refused attempt was a 401 answer, which Chromium logs as a failed resource load;
    # that is the only console line allowed here.
    assert_only_refusals_logged(watched)
    assert watched.page_errors == []
    assert watched.foreign_requests() == []


def test_dashboard_says_when_the_chart_library_is_missing(daemon: FakeDaemon, open_watched) -> None:  # type: ignore[no-untyped-def]
    with serve(create_app(daemon, daemon, control_token=TOKEN)) as url:
        watched: WatchedPage = open_watched(url + "/", block=["**/static/vendor/**"])
        page = watched.page
        expect(page.locator("[data-testid=charts-missing]")).to_be_visible(timeout=10_000)
        expect(page.locator("#equity")).to_have_text("10,050.00", timeout=10_000)
        assert page.locator("#price-chart").is_hidden()
        assert watched.page_errors == []


def test_cooldown_reads_as_a_time_with_its_clock(
    base_url: str, daemon: FakeDaemon, open_watched
) -> None:  # type: ignore[no-untyped-def]
    until = T0 + 86_400
    with daemon.lock:
        daemon.state = replace(
            daemon.state,
            loss_streak=0,
            cooldown_until=until,
            halts=(
                (
                    HaltReason.COOLDOWN,
                    # The core's wording (grodtd/core/risk.py): a market time, not an epoch.
                    "3 losing trades in a row; cooling down until 2026-05-29 20:26:40 UTC (market)",
                ),
            ),
        )
    watched: WatchedPage = open_watched(base_url + "/")
    page = watched.page
    expect(page.locator("[data-testid=cooldown]")).to_have_text(
        "2026-05-29 20:26:40 UTC (market)", timeout=10_000
    )
    halts = page.locator("[data-testid=halts]").inner_text()
    assert "ts " not in halts and "2026-05-29 20:26:40 UTC (market)" in halts
    assert page.locator("[data-testid=loss-streak]").inner_text() == "0 since the cooldown began"
    assert_clean(watched)
