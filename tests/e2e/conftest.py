"""Browser helpers: Debian's Chromium driven by playwright, watching what a page does.

Reusable for any dashboard test: ``chromium`` launches the system browser (``playwright
install`` cannot download one here) and ``open_watched`` opens a URL while recording every
request, console message and page error, so a test can assert "no console error" and "nothing
loaded from another host".
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.tools import unavailable

CHROMIUM = "/usr/bin/chromium"
# Screenshots a reviewer can look at after a run (git-ignored; CI keeps them as artefacts).
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
CHART_LIBRARY = (
    Path(__file__).resolve().parents[2]
    / "grodtd/web/static/vendor/lightweight-charts.standalone.production.js"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class WatchedPage:
    """A page plus everything it asked for and complained about since it was opened."""

    page: object  # playwright.sync_api.Page; typed loosely so collection works without it
    origin: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        """Requests to anything but the page's own origin (data: URLs never leave the page)."""
        return [
            url
            for url in self.requests
            if not url.startswith("data:") and _origin(url) != self.origin
        ]


# What Chromium logs for any 4xx answer to fetch(); the refused control attempt is one.
REFUSED_401 = "Failed to load resource: the server responded with a status of 401 (Unauthorized)"


def assert_only_refusals_logged(watched: WatchedPage) -> None:
    """The console holds nothing but the 401 of a deliberately refused control call: no
    script error, no CSP violation ("Refused to ..."), no other failed load."""
    assert watched.console_errors, "the refused attempt should have logged its 401"
    assert set(watched.console_errors) == {REFUSED_401}, watched.console_errors
    assert watched.page_errors == []


def chart_ink(watched: WatchedPage, element_id: str) -> int:
    """How many pixels the canvases inside ``element_id`` have painted: proof a chart was
    drawn with data, not left an empty frame (the axes alone paint far fewer)."""
    return watched.page.evaluate(  # type: ignore[attr-defined,no-any-return]
        """(id) => {
            let painted = 0;
            for (const c of document.getElementById(id).querySelectorAll('canvas')) {
                if (!c.width || !c.height) continue;
                const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
            }
            return painted;
        }""",
        element_id,
    )


def screenshot(page: object, name: str) -> Path:
    """Save a full-page PNG under build/test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# Module scope: playwright's sync API keeps an event loop running in the main thread while it
# is open, which would stop later tests from calling asyncio.run().
@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not shutil.which(CHROMIUM):
        unavailable(f"{CHROMIUM} is missing: apt-get install -y chromium")
    if not CHART_LIBRARY.exists():
        unavailable("the dashboard's chart library is missing: run scripts/fetch-web-assets.sh")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def open_watched(chromium: object) -> Iterator[object]:
    """``open_watched(url, block=globs) -> WatchedPage``; contexts are closed after the test."""
    contexts = []

    def open_(url: str, block: Sequence[str] = ()) -> WatchedPage:
        context = chromium.new_context(  # type: ignore[attr-defined]
            service_workers="block", viewport={"width": 1400, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        for pattern in block:  # as if those files were not installed: the server says 404
            page.route(pattern, lambda route: route.fulfill(status=404, body="not found"))
        watched = WatchedPage(page=page, origin=_origin(url))
        page.on("request", lambda request: watched.requests.append(request.url))
        page.on(
            "console",
            lambda message: (
                watched.console_errors.append(message.text) if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: watched.page_errors.append(str(error)))
        page.goto(url, wait_until="load")
        return watched

    yield open_
    for context in contexts:
        context.close()
