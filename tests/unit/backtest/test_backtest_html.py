"""The report's plumbing: the missing chart library, data that cannot break out, the halts
as the terminal summary lists them."""

from __future__ import annotations

from pathlib import Path

import pytest

from grodtd.backtest.html_report import ReportError, chart_library, chart_library_path
from grodtd.backtest.html_report import _inline as inline_script
from grodtd.backtest.metrics_table import cell, show
from grodtd.backtest.recorder import HaltRecord
from grodtd.backtest.report import format_halts


def test_a_missing_chart_library_names_the_script_that_fetches_it(tmp_path: Path) -> None:
    missing = tmp_path / "lightweight-charts.standalone.production.js"
    with pytest.raises(ReportError, match=r"scripts/fetch-web-assets\.sh") as caught:
        chart_library(missing)
    assert "\n" not in str(caught.value)
    assert str(missing) in str(caught.value)


def test_the_chart_library_is_looked_up_in_the_web_vendor_directory() -> None:
    path = chart_library_path()
    assert path.parts[-4:] == (
        "web",
        "static",
        "vendor",
        "lightweight-charts.standalone.production.js",
    )


def test_no_script_can_be_closed_from_inside() -> None:
    assert "</script" not in inline_script('x = "</script><script>alert(1)</SCRIPT>"').lower()


def test_cells_show_n_a_and_keep_the_exact_value() -> None:
    assert show(None, "pct") == "n/a"
    assert cell(0.123456, "pct") == '<td class="num" data-value="0.123456">12.35%</td>'
    assert cell(-3.5, "pnl") == '<td class="num neg" data-value="-3.5">-3.50</td>'
    assert cell("<b>", "text") == "<td>&lt;b&gt;</td>"


def test_terminal_halts_count_by_reason_and_list_the_trips_first() -> None:
    t0 = 1_767_225_600  # 2026-01-01 00:00 UTC
    halts = [HaltRecord(t0 + 60 * i, "entries_halted", "cooldown", "3 losses") for i in range(3)]
    halts += [
        HaltRecord(t0 + 3600 * i, "kill_switch_tripped", "stale_market_data", f"gap {i}")
        for i in range(7)
    ]
    halts.append(HaltRecord(t0 + 9000, "entries_resumed", "cooldown", ""))
    lines = format_halts(halts, limit=5)
    assert lines[0] == "cooldown x3, stale_market_data x7"
    assert lines[1] == "2026-01-01 00:00 stale_market_data: gap 0"
    assert len(lines) == 1 + 5 + 1
    assert lines[-1] == "... 2 more (see --json or --report)"
    assert format_halts([]) == ["none"]
