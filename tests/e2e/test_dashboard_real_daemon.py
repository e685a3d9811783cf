"""The dashboard of the real daemon in Chromium: equity chart drawn, a trade row appears."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import WatchedPage
from tests.support.daemon import DaemonProcess

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


def test_real_dashboard_shows_equity_and_a_trade(daemon: DaemonProcess, open_watched) -> None:  # type: ignore[no-untyped-def]
    watched: WatchedPage = open_watched(daemon.url + "/")
    page = watched.page
    expect(page.locator("#equity-chart")).not_to_have_attribute("data-points", "0", timeout=20_000)
    row = page.locator("[data-testid=trade-row]")
    row.first.wait_for(timeout=60_000)
    assert "USD" in row.first.inner_text()
    assert page.locator("#equity-empty").is_hidden()
    assert watched.console_errors == []
    assert watched.page_errors == []
    assert watched.foreign_requests() == []
