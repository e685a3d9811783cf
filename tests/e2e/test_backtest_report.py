"""`grodt backtest --report`: the page opened offline in Chromium draws every chart and table,
and every figure on it is the one `--json` printed in the same run.

Screenshots of the page and of each chart are kept in build/test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import REPO, grodt

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "build" / "test-artifacts"
SYMBOLS = ("BTC-USD", "ETH-USD")

# Pixels of each chart box that are neither transparent nor the white background.
INK = """box => {
  let ink = 0;
  for (const canvas of box.querySelectorAll("canvas")) {
    if (!canvas.width || !canvas.height) continue;
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < pixels.length; i += 4) {
      const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
      if (a > 0 && (r < 240 || g < 240 || b < 240)) ink++;
    }
  }
  return ink;
}"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One run writes the report and prints its JSON: 45 days, two symbols, two months."""
    report = tmp_path_factory.mktemp("report") / "backtest.html"
    result = grodt(
        "backtest",
        "--days",
        "45",
        "--symbols",
        *SYMBOLS,
        "--seed",
        "7",
        "--json",
        "--no-progress",
        "--report",
        str(report),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return report, json.loads(result.stdout)


@pytest.fixture
def page(chromium: Any, generated: tuple[Path, dict[str, Any]]) -> Iterator[Any]:
    """The report in a browser with the network off: offline, and any non-file request aborted."""
    report, _ = generated
    context = chromium.new_context(offline=True, viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    errors: list[str] = []

    def only_the_file(route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_the_file)
    page = context.new_page()
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(report.as_uri(), wait_until="load")
    page.wait_for_selector("body[data-charts-ready='true']", timeout=15_000)
    page.wait_for_timeout(300)  # the charts paint on the next animation frames
    yield page
    assert errors == [], errors
    assert [url for url in requests if not url.startswith("data:")] == [report.as_uri()]
    context.close()


def cells(page: Any, table_id: str) -> list[list[dict[str, str | None]]]:
    """Every body row of a table: each cell's text and data-value."""
    rows: list[list[dict[str, str | None]]] = page.eval_on_selector_all(
        f"#{table_id} tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => ({text: c.textContent,"
        " value: c.dataset.value === undefined ? null : c.dataset.value})))",
    )
    return rows


def test_every_chart_is_drawn_with_all_its_data(
    page: Any, generated: tuple[Path, dict[str, Any]]
) -> None:
    _, data = generated
    details = data["details"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "backtest-report.png"), full_page=True)
    charts = {
        "chart-equity": len(details["curve"]["ts"]),
        "chart-drawdown": len(details["curve"]["ts"]),
        "chart-monthly": len(details["monthly_returns"]),
    }
    for i, symbol in enumerate(SYMBOLS):
        charts[f"chart-price-{i}"] = len(details["candles"][symbol]["ts"])
    assert charts["chart-monthly"] == 2
    for box_id, expected in charts.items():
        box = page.locator(f"#{box_id}")
        assert box.get_attribute("data-points") == str(expected), box_id
        assert expected > 1
        assert box.evaluate(INK) > 2_000, f"{box_id} has a canvas but nothing drawn on it"
        box.screenshot(path=str(ARTIFACTS / f"backtest-{box_id}.png"))
    # Every trade is marked on its symbol's price chart: an entry and an exit.
    per_symbol: dict[str, int] = defaultdict(int)
    for trade in details["trades"]:
        per_symbol[trade["symbol"]] += 1
    for i, symbol in enumerate(SYMBOLS):
        markers = page.locator(f"#chart-price-{i}").get_attribute("data-markers")
        assert markers == str(2 * per_symbol[symbol])
    # The drawdown chart's deepest point is the reported maximum drawdown.
    assert min(details["curve"]["drawdown"]) == pytest.approx(-data["max_drawdown"], abs=1e-12)


def test_summary_figures_are_the_json_figures(
    page: Any, generated: tuple[Path, dict[str, Any]]
) -> None:
    _, data = generated
    rows = page.eval_on_selector_all(
        "#metrics tbody tr",
        "rows => rows.map(r => [r.dataset.key, r.cells[1].textContent,"
        " r.cells[1].dataset.value === undefined ? null : r.cells[1].dataset.value])",
    )
    assert len(rows) >= 20
    for key, text, value in rows:
        expected = data[key]
        if value is None:  # a text cell: a date, or n/a
            assert text == ("n/a" if expected is None else str(expected)), key
        else:
            assert json.loads(value) == expected, key
            assert (text == "n/a") == (expected is None), key
    assert data["trades"] > 0 and data["sharpe_ratio"] is not None


def test_tables_list_every_trade_halt_and_group(
    page: Any, generated: tuple[Path, dict[str, Any]]
) -> None:
    _, data = generated
    details = data["details"]
    trades = details["trades"]
    assert len(trades) == data["trades"]
    shown = cells(page, "trades")
    assert len(shown) == len(trades)
    for row, trade in zip(shown, trades, strict=True):
        assert row[0]["text"] == trade["symbol"]
        assert row[1]["text"] == trade["entry_time"]
        assert row[3]["text"] == trade["exit_time"]
        assert row[6]["text"] == trade["exit_reason"]
        assert row[7]["text"] == trade["regime"]
        assert json.loads(str(row[9]["value"])) == trade["pnl"]
    # The per-symbol table, recomputed here from the trade list.
    by_symbol: dict[str, list[float]] = defaultdict(list)
    for trade in trades:
        by_symbol[trade["symbol"]].append(trade["pnl"])
    symbol_rows = cells(page, "by-symbol")
    assert [row[0]["text"] for row in symbol_rows] == sorted(by_symbol)
    for row in symbol_rows:
        pnls = by_symbol[str(row[0]["text"])]
        assert json.loads(str(row[1]["value"])) == len(pnls)
        assert json.loads(str(row[2]["value"])) == sum(1 for p in pnls if p > 0)
        assert json.loads(str(row[5]["value"])) == pytest.approx(sum(pnls))
    for table_id, key in (
        ("by-regime", "by_regime"),
        ("by-exit-reason", "by_exit_reason"),
        ("by-month", "by_month"),
    ):
        rows = cells(page, table_id)
        assert [row[0]["text"] for row in rows] == [r["key"] for r in details[key]], table_id
        assert sum(json.loads(str(row[1]["value"])) for row in rows) == len(trades), table_id
    months = cells(page, "monthly-returns")
    assert [row[0]["text"] for row in months] == ["2025-01", "2025-02"]
    for row, month in zip(months, details["monthly_returns"], strict=True):
        assert json.loads(str(row[1]["value"])) == month["return"]
    halts = cells(page, "halts")
    assert len(halts) == len(data["halts"]) > 0
    for row, halt in zip(halts, data["halts"], strict=True):
        assert [c["text"] for c in row] == [
            halt["time"],
            halt["event"],
            halt["reason"],
            halt["detail"],
        ]
