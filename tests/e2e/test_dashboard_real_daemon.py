"""The dashboard of the real daemon in Chromium: both charts drawn with data, markers where
the store has trades, pause and resume with the control token and refused without it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import WatchedPage, assert_only_refusals_logged, chart_ink, screenshot
from tests.support.daemon import CONTROL_TOKEN, DaemonProcess, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    # Fast bars so a round trip closes within seconds.
    proc = DaemonProcess(tmp_path / "data", env={"GRODT_MARKET__SPEED_BARS_PER_SECOND": "100"})
    proc.start()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.ensure_stopped()


def first_trade(daemon: DaemonProcess) -> dict:  # type: ignore[type-arg]
    def newest() -> dict | None:  # type: ignore[type-arg]
        items = daemon.get("/api/v1/trades?limit=1").json()["items"]
        return items[0] if items else None

    return wait_for(newest, timeout=90, interval=0.5, what="a closed trade")  # type: ignore[no-any-return]


def test_real_dashboard_draws_charts_with_trade_markers(
    daemon: DaemonProcess, open_watched
) -> None:  # type: ignore[no-untyped-def]
    watched: WatchedPage = open_watched(daemon.url + "/")
    page = watched.page
    expect(page.locator("#equity-chart")).not_to_have_attribute("data-points", "0", timeout=20_000)
    expect(page.locator("#price-chart")).not_to_have_attribute("data-candles", "0", timeout=20_000)
    expect(page.locator("[data-testid=source-badge]")).to_have_text("simulator · paper")

    trade = first_trade(daemon)
    page.locator("#chart-symbol").select_option(trade["symbol"])
    chart = page.locator("#price-chart")
    expect(chart).to_have_attribute("data-symbol", trade["symbol"], timeout=10_000)
    # The store's trades of that symbol are drawn where their bars are on the chart.
    expect(chart).not_to_have_attribute("data-markers", "0", timeout=10_000)
    page.locator("[data-testid=trade-row]").first.wait_for(timeout=10_000)
    assert chart_ink(watched, "price-chart") > 2_000
    assert chart_ink(watched, "equity-chart") > 2_000
    screenshot(page, "dashboard-real-daemon")
    assert watched.console_errors == []
    assert watched.page_errors == []
    assert watched.foreign_requests() == []


def test_real_dashboard_pauses_and_resumes_with_the_token(
    daemon: DaemonProcess, open_watched
) -> None:  # type: ignore[no-untyped-def]
    watched: WatchedPage = open_watched(daemon.url + "/")
    page = watched.page
    expect(page.locator("#state")).to_have_text("trading", timeout=20_000)

    page.locator("[data-testid=pause]").click()
    page.locator("[data-testid=control-token]").fill("a-guess")
    page.locator("[data-testid=control-submit]").click()
    expect(page.locator("[data-testid=control-error]")).to_contain_text("401", timeout=10_000)
    assert daemon.get("/api/v1/status").json()["paused"] is False, "refused without the token"

    page.locator("[data-testid=control-token]").fill(CONTROL_TOKEN)
    page.locator("[data-testid=control-by]").fill("browser-operator")
    page.locator("[data-testid=control-reason]").fill("e2e test")
    page.locator("[data-testid=control-submit]").click()
    expect(page.locator("#state")).to_have_text("paused", timeout=10_000)
    status = daemon.get("/api/v1/status").json()
    assert status["paused"] is True and status["pause"]["by"] == "browser-operator"
    expect(page.locator("[data-testid=pause-banner]")).to_contain_text(
        "by browser-operator: e2e test"
    )

    page.locator("[data-testid=resume]").click()
    page.locator("[data-testid=control-token]").fill(CONTROL_TOKEN)
    page.locator("[data-testid=control-submit]").click()
    expect(page.locator("#state")).not_to_have_text("paused", timeout=10_000)
    assert daemon.get("/api/v1/status").json()["paused"] is False
    assert_only_refusals_logged(watched)
    assert watched.page_errors == []
    assert watched.foreign_requests() == []
