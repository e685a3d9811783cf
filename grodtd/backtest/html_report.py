"""`grodt backtest --report FILE.html`: one self-contained HTML file, readable offline.

The tables are written here, in Python, from the same dictionary ``--json`` prints; the charts
are drawn in the browser by ``report_charts.js`` from that dictionary, embedded as JSON, with
the chart library inlined. Nothing is fetched when the file is opened. Every number cell also
carries its exact value in ``data-value``, so a test can compare the page with the JSON.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from grodtd.backtest.metrics_table import METRICS, cell

CHART_LIBRARY = ("web", "static", "vendor", "lightweight-charts.standalone.production.js")
FETCH_HINT = "run scripts/fetch-web-assets.sh to fetch it"


class ReportError(Exception):
    """The report cannot be written; the message says what to do."""


def chart_library_path() -> Path:
    return Path(str(resources.files("grodtd").joinpath(*CHART_LIBRARY)))


def chart_library(path: Path | None = None) -> str:
    """The vendored chart library's source; a clear error when it was never fetched."""
    path = path or chart_library_path()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(
            f"the chart library {path} is missing, so no report can be drawn; {FETCH_HINT}"
        ) from None


def _our_script() -> str:
    return resources.files("grodtd.backtest").joinpath("report_charts.js").read_text("utf-8")


def _inline(script: str) -> str:
    """Source safe inside a <script> element: no "</script" can end it early."""
    return _SCRIPT_END.sub(r"<\\/\1", script)


_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)


def _table(
    table_id: str,
    title: str,
    columns: Sequence[tuple[str, str, str]],
    rows: Sequence[dict[str, Any]],
    empty: str,
) -> str:
    """``columns``: (key, heading, format) triples; ``format`` as in ``metrics_table``."""
    head = "".join(f"<th>{html.escape(heading)}</th>" for _, heading, _ in columns)
    body = "".join(
        "<tr>" + "".join(cell(row.get(key), kind) for key, _, kind in columns) + "</tr>"
        for row in rows
    )
    if not rows:
        body = f'<tr><td colspan="{len(columns)}" class="empty">{html.escape(empty)}</td></tr>'
    return (
        f'<section><h2>{html.escape(title)}</h2><table id="{table_id}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
    )


GROUP_COLUMNS = (
    ("trades", "trades", "int"),
    ("wins", "won", "int"),
    ("losses", "lost", "int"),
    ("win_rate", "win rate", "pct"),
    ("pnl", "net PnL", "pnl"),
    ("avg_pnl", "per trade", "pnl"),
    ("fees", "fees", "money"),
    ("profit_factor", "profit factor", "ratio"),
)
TRADE_COLUMNS = (
    ("symbol", "symbol", "text"),
    ("entry_time", "entry (UTC)", "text"),
    ("entry_price", "entry price", "price"),
    ("exit_time", "exit (UTC)", "text"),
    ("exit_price", "exit price", "price"),
    ("qty", "quantity", "qty"),
    ("exit_reason", "exit reason", "text"),
    ("regime", "regime at entry", "text"),
    ("fees", "fees", "money"),
    ("pnl", "net PnL", "pnl"),
)
MONTH_COLUMNS = (
    ("month", "month", "text"),
    ("return", "strategy", "signed_pct"),
    ("benchmark_return", "buy and hold", "signed_pct"),
    ("equity", "equity at month end", "money"),
)
HALT_COLUMNS = (
    ("time", "time (UTC)", "text"),
    ("event", "what", "text"),
    ("reason", "reason", "text"),
    ("detail", "detail", "text"),
)


def _metrics(data: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr data-key="{key}"><th>{html.escape(label)}</th>'
        f"{cell(data.get(key), kind)}"
        f"<td class='definition'>{html.escape(definition)}</td></tr>"
        for key, label, kind, definition in METRICS
    )
    return (
        '<section><h2>Summary</h2><table id="metrics"><thead><tr><th>figure</th>'
        f"<th>value</th><th>definition</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _charts(symbols: Sequence[str]) -> str:
    boxes = [
        ("chart-equity", "Equity and buy and hold of the same symbols"),
        ("chart-drawdown", "Drawdown from the running peak"),
        ("chart-monthly", "Monthly returns"),
    ] + [(f"chart-price-{i}", f"{symbol}: price and trades") for i, symbol in enumerate(symbols)]
    return "".join(
        f'<section><h2>{html.escape(title)}</h2><div class="chart" id="{box}"></div></section>'
        for box, title in boxes
    )


def _grouped(data: dict[str, Any], key: str, table_id: str, title: str, heading: str) -> str:
    rows: list[dict[str, Any]] = data["details"][key]
    return _table(table_id, title, (("key", heading, "text"), *GROUP_COLUMNS), rows, "no trades")


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.definition { color: #555; font-size: 0.9em; } td.empty { color: #777; }
.chart { height: 320px; position: relative; }
.neg { color: #b00020; } .pos { color: #00695c; }
"""


def render_html(data: dict[str, Any]) -> str:
    """The whole report page for one backtest's ``as_dict()``."""
    library = chart_library()
    symbols: list[str] = data["symbols"]
    details: dict[str, Any] = data["details"]
    title = f"GRODT backtest: {', '.join(symbols)}, {data['days']:g} days"
    sections: list[Callable[[], str]] = [
        lambda: _metrics(data),
        lambda: _table("halts", "Halts and kill switches", HALT_COLUMNS, data["halts"], "none"),
        lambda: _charts(symbols),
        lambda: _table(
            "monthly-returns", "Monthly returns", MONTH_COLUMNS, details["monthly_returns"], "none"
        ),
        lambda: _grouped(data, "by_symbol", "by-symbol", "Trades by symbol", "symbol"),
        lambda: _grouped(data, "by_regime", "by-regime", "Trades by regime at entry", "regime"),
        lambda: _grouped(
            data, "by_exit_reason", "by-exit-reason", "Trades by exit reason", "exit reason"
        ),
        lambda: _grouped(data, "by_month", "by-month", "Trades by month of exit", "month"),
        lambda: _table("trades", "Every trade", TRADE_COLUMNS, details["trades"], "no trades"),
    ]
    # "<" as its JSON escape: the data can never close its <script> element.
    payload = json.dumps(data, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        + "".join(section() for section in sections)
        + f'<script type="application/json" id="report-data">{payload}</script>'
        + f"<script>{_inline(library)}</script><script>{_inline(_our_script())}</script>"
        + "</body></html>\n"
    )


def write_report(data: dict[str, Any], path: Path) -> None:
    page = render_html(data)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
