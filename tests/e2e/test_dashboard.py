"""The dashboard in a real Chromium against a real uvicorn server whose data changes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from grodtd.web.contracts import CheckResult, HealthReport
from grodtd.web_app import create_app
from tests.e2e.conftest import WatchedPage
from tests.support.fake_daemon import FakeDaemon, sample_equity, sample_trade
from tests.support.servers import serve

pytestmark = pytest.mark.browser


@pytest.fixture
def daemon() -> FakeDaemon:
    empty = FakeDaemon()
    empty.equity_log = [sample_equity(0, 10_000.0)]
    return empty


@pytest.fixture
def base_url(daemon: FakeDaemon) -> Iterator[str]:
    with serve(create_app(daemon, daemon, control_token="browser-test-token")) as url:
        yield url


def canvas_ink(watched: WatchedPage) -> int:
    """How many pixels of the equity canvas are painted: proof the curve was drawn."""
    return watched.page.evaluate(  # type: ignore[attr-defined]
        """() => {
            const c = document.getElementById('equity-chart');
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
            return painted;
        }"""
    )


def test_dashboard_shows_live_equity_and_trades(
    base_url: str, daemon: FakeDaemon, open_watched
) -> None:  # type: ignore[no-untyped-def]
    watched: WatchedPage = open_watched(base_url + "/")
    page = watched.page

    page.wait_for_selector("#state.badge.bad", timeout=10_000)  # sample snapshot is halted
    # Waits poll through the DOM (expect), not through page-side eval: the CSP forbids eval.
    expect(page.locator("#equity-chart")).to_have_attribute("data-points", "1", timeout=10_000)
    assert page.locator("[data-testid=trade-row]").count() == 0
    assert page.locator("#equity").inner_text() == "10,050.00"

    with daemon.lock:
        daemon.equity_log.extend(sample_equity(i, 10_000.0 + 25.0 * i) for i in range(1, 40))
        daemon.trade_log.append(sample_trade(3, pnl=42.0))

    expect(page.locator("#equity-chart")).to_have_attribute("data-points", "40", timeout=10_000)
    row = page.locator("[data-testid=trade-row]")
    row.first.wait_for(timeout=10_000)
    assert row.count() == 1
    assert "ETH-USD" in row.first.inner_text()
    assert "42.00" in row.first.inner_text()
    assert "3,000.00" in row.first.inner_text(), "prices keep their cents so columns line up"
    assert canvas_ink(watched) > 500
    assert page.locator("#equity-empty").is_hidden()

    checks = page.locator("[data-testid=check-row]")
    assert checks.count() == 7  # 2 liveness + 5 readiness checks
    assert "market_data" in page.locator("[data-testid=checks]").inner_text()
    expect(page.locator("[data-testid=market-source]")).to_have_text("exchange binance")
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

    assert watched.console_errors == []
    assert watched.page_errors == []
    assert watched.foreign_requests() == []
    paths = {request.removeprefix(base_url).split("?")[0] for request in watched.requests}
    assert {"/", "/static/app.js", "/static/app.css", "/api/v1/status", "/api/v1/equity"} <= paths


def test_dashboard_shows_pause_and_failing_checks(
    base_url: str, daemon: FakeDaemon, open_watched
) -> None:  # type: ignore[no-untyped-def]
    daemon.pause("alice", "exchange maintenance")
    daemon.ready = type(daemon.ready)(
        (type(daemon.ready.checks[0])("store", False, "store is not writable: read-only"),)
    )

    watched: WatchedPage = open_watched(base_url + "/")
    page = watched.page

    page.wait_for_selector("#state.badge.warn", timeout=10_000)
    assert page.locator("#state").inner_text() == "paused"
    paused = page.locator("#paused").inner_text()
    assert "by alice: exchange maintenance" in paused and "(wall clock)" in paused
    expect(page.locator("#checks-body")).to_contain_text("read-only", timeout=10_000)
    assert "FAIL" in page.locator("[data-testid=checks]").inner_text()
    assert watched.console_errors == []
    assert watched.foreign_requests() == []
