"""The web app through a real uvicorn server on an ephemeral port and a real HTTP client."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
import structlog

from grodtd.core.models import OrderStatus
from grodtd.web.chart_schemas import (
    CandleOut,
    CandlesOut,
    EquityHistoryOut,
    candles_json,
    equity_history_json,
)
from grodtd.web.contracts import CheckResult, EquityHistory, HealthReport
from grodtd.web.middleware import CONTENT_SECURITY_POLICY
from grodtd.web.schemas import equity_out
from grodtd.web_app import create_app
from tests.support.fake_daemon import T0, FakeDaemon, populated_daemon
from tests.support.servers import serve
from tests.support.tools import unavailable

TOKEN = "s3cret-control-token"


@pytest.fixture(autouse=True)
def plain_logs() -> Iterator[None]:
    """JSON lines like the daemon's; structlog's default pretty traceback is slow to render."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        cache_logger_on_first_use=False,
    )
    yield
    structlog.reset_defaults()


@pytest.fixture
def daemon() -> FakeDaemon:
    return populated_daemon()


@pytest.fixture
def client(daemon: FakeDaemon) -> Iterator[httpx.Client]:
    with (
        serve(create_app(daemon, daemon, control_token=TOKEN)) as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        yield http


def assert_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    for directive in ("default-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"):
        assert directive in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert "server" not in headers
    assert headers["x-request-id"]


@pytest.mark.parametrize(
    ("method", "path", "status", "no_store"),
    [
        ("GET", "/", 200, False),
        ("GET", "/static/app.js", 200, False),
        ("GET", "/api/v1/status", 200, True),
        ("GET", "/health", 200, True),
        ("GET", "/ready", 200, True),
        ("GET", "/no/such/page", 404, False),
        ("GET", "/api/v1/nothing-here", 404, True),
        ("POST", "/api/v1/control/pause", 401, True),
        ("GET", "/api/v1/trades?limit=0", 422, True),
        ("DELETE", "/api/v1/status", 405, True),
    ],
)
def test_security_headers_on_every_response(
    client: httpx.Client, method: str, path: str, status: int, no_store: bool
) -> None:
    response = client.request(method, path)

    assert response.status_code == status
    assert_security_headers(response)
    assert (response.headers.get("cache-control") == "no-store") is no_store
    if status >= 400:
        assert response.headers["content-type"] == "application/json"
        assert "detail" in response.json()


def test_dashboard_is_self_contained(client: httpx.Client) -> None:
    page = client.get("/")

    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<script>" not in html and "style=" not in html  # the CSP forbids inline code
    # Nothing is loaded from elsewhere; the one outside address is the chart library's credit
    # link, which its licence asks for and which the browser only follows when clicked.
    assert "//" not in html.split("<body")[0]
    assert re.findall(r"https?://[^\"]+", html) == ["https://www.tradingview.com/"]
    assert re.findall(r'src="([^"]+)"', html) == [
        "static/vendor/lightweight-charts.standalone.production.js",
        "static/format.js",
        "static/charts.js",
        "static/control.js",
        "static/app.js",
    ]
    for asset in ("static/app.js", "static/app.css", "static/favicon.svg"):
        assert asset in html
        assert client.get("/" + asset).status_code == 200
    for name in ("app.js", "charts.js", "control.js", "format.js"):
        script = client.get("/static/" + name).text
        assert ".innerHTML" not in script and "://" not in script, name


def test_request_id_is_taken_when_sane_and_replaced_when_not(client: httpx.Client) -> None:
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    hostile = "x" * 300
    replaced = client.get("/health", headers={"X-Request-ID": hostile}).headers["x-request-id"]
    assert replaced != hostile and len(replaced) == 32
    first = client.get("/health").headers["x-request-id"]
    assert first != client.get("/health").headers["x-request-id"]


def test_health_and_ready_report_every_check(client: httpx.Client, daemon: FakeDaemon) -> None:
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok"
    assert [c["name"] for c in body["checks"]] == [
        "config",
        "store",
        "market_data",
        "engine",
        "not_draining",
    ]

    daemon.ready = HealthReport(
        (
            CheckResult("store", True, "fine"),
            CheckResult("market_data", False, "market data for ETH-USD is 14.2 s old (limit 10 s)"),
        )
    )
    stale = client.get("/ready")
    assert stale.status_code == 503
    assert stale.json() == {
        "status": "fail",
        "checks": [
            {"name": "store", "ok": True, "reason": "fine"},
            {
                "name": "market_data",
                "ok": False,
                "reason": "market data for ETH-USD is 14.2 s old (limit 10 s)",
            },
        ],
    }

    daemon.live = HealthReport((CheckResult("engine_heartbeat", False, "stuck for 31 s"),))
    assert client.get("/health").status_code == 503
    assert client.get("/health").json()["status"] == "fail"
    # The dashboard's combined view stays 200 and carries both verdicts.
    combined = client.get("/api/v1/checks")
    assert combined.status_code == 200
    assert combined.json()["liveness"]["status"] == "fail"
    assert combined.json()["readiness"]["status"] == "fail"


def test_status_summarises_the_snapshot(client: httpx.Client, daemon: FakeDaemon) -> None:
    body = client.get("/api/v1/status").json()

    assert body["equity"] == 10_050.0
    assert body["drawdown"] == 0.005
    assert body["open_positions"] == 1
    assert body["regimes"] == {"BTC-USD": "trending_up", "ETH-USD": "ranging"}
    assert body["last_bar_times"]["BTC-USD"] == "2026-05-28T20:36:40Z"
    assert body["last_bar_at"] == "2026-05-28T20:36:40Z"
    assert body["trading_halted"] is True
    assert body["halts"] == [{"reason": "cooldown", "detail": "3 losses in a row"}]
    assert body["kill_switches"] == [
        {"reason": "abnormal_slippage", "detail": "slippage 4x normal"}
    ]
    assert body["build"] == {
        "version": "0.1.0",
        "revision": "abc1234",
        "environment": "test",
        "python": "3.12",
    }
    assert body["market"] == {"source": "exchange", "venue": "binance", "trading": "paper"}
    daemon.state = replace(daemon.state, bars_processed=43, halts=(), kill_switches=())
    after = client.get("/api/v1/status").json()
    assert after["bars_processed"] == 43
    assert after["trading_halted"] is False


def test_positions_come_from_the_snapshot(client: httpx.Client) -> None:
    (position,) = client.get("/api/v1/positions").json()

    assert position["symbol"] == "BTC-USD"
    assert position["unrealized_pnl"] == 10.0
    assert position["opened_at"] == "2026-05-28T20:26:40Z"


@pytest.mark.parametrize(("path", "total"), [("orders", 7), ("fills", 5), ("trades", 3)])
def test_listings_are_paged_newest_first(client: httpx.Client, path: str, total: int) -> None:
    default = client.get(f"/api/v1/{path}").json()
    assert (default["total"], default["limit"], default["offset"]) == (total, 50, 0)
    assert len(default["items"]) == total

    page = client.get(f"/api/v1/{path}", params={"limit": 2, "offset": 1}).json()
    assert (page["limit"], page["offset"], page["total"]) == (2, 1, total)
    assert page["items"] == default["items"][1:3]
    assert client.get(f"/api/v1/{path}", params={"offset": total}).json()["items"] == []


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 501}, {"limit": -3}, {"limit": "ten"}, {"offset": -1}],
)
def test_bad_paging_is_rejected_with_422(client: httpx.Client, params: dict[str, object]) -> None:
    response = client.get("/api/v1/trades", params=params)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_trades_carry_outcome_and_iso_times(client: httpx.Client) -> None:
    newest = client.get("/api/v1/trades", params={"limit": 1}).json()["items"][0]

    assert newest["outcome"] == "win"
    assert newest["exit_at"] == "2026-05-28T20:38:40Z"
    assert newest["exit_reason"] == "target"


def test_equity_curve_filters_by_epoch_or_iso_since(client: httpx.Client) -> None:
    everything = client.get("/api/v1/equity").json()
    assert len(everything) == 30
    assert [p["ts"] for p in everything] == sorted(p["ts"] for p in everything)

    since = T0 + 60 * 25
    by_epoch = client.get("/api/v1/equity", params={"since": since}).json()
    by_iso = client.get("/api/v1/equity", params={"since": "2026-05-28T20:51:40Z"}).json()
    assert [p["ts"] for p in by_epoch] == [since + 60 * i for i in range(5)]
    assert by_iso == by_epoch
    assert len(client.get("/api/v1/equity", params={"limit": 3}).json()) == 3
    for bad in ("yesterday", "-5", "2026-13-01", "1.5", "-2.2e-309", "nan"):
        assert client.get("/api/v1/equity", params={"since": bad}).status_code == 422


def test_orders_filter_by_status_and_symbol(client: httpx.Client, daemon: FakeDaemon) -> None:
    daemon.order_log[2] = replace(daemon.order_log[2], status=OrderStatus.PENDING)
    daemon.order_log[5] = replace(daemon.order_log[5], status=OrderStatus.PENDING, symbol="ETH-USD")

    open_orders = client.get("/api/v1/orders", params={"status": "pending"}).json()
    assert open_orders["total"] == 2
    assert [o["client_order_id"] for o in open_orders["items"]] == [
        daemon.order_log[5].client_order_id,
        daemon.order_log[2].client_order_id,
    ]
    eth = client.get("/api/v1/orders", params={"status": "pending", "symbol": "ETH-USD"}).json()
    assert [o["symbol"] for o in eth["items"]] == ["ETH-USD"]
    both = client.get("/api/v1/orders", params=[("status", "pending"), ("status", "filled")])
    assert both.json()["total"] == 7
    assert client.get("/api/v1/orders", params={"status": "open"}).status_code == 422


def test_trades_filter_by_symbol_and_carry_their_duration(
    client: httpx.Client, daemon: FakeDaemon
) -> None:
    daemon.trade_log[1] = replace(daemon.trade_log[1], symbol="BTC-USD")

    btc = client.get("/api/v1/trades", params={"symbol": "BTC-USD"}).json()
    assert (btc["total"], [t["symbol"] for t in btc["items"]]) == (1, ["BTC-USD"])
    assert btc["items"][0]["duration_s"] == 600
    assert client.get("/api/v1/trades", params={"symbol": "DOGE-USD"}).json()["total"] == 0
    for bad in ("", "BTC USD", "x" * 65, "<script>"):
        assert client.get("/api/v1/trades", params={"symbol": bad}).status_code == 422, bad


def test_equity_history_is_downsampled_with_its_baseline(
    client: httpx.Client, daemon: FakeDaemon
) -> None:
    history = client.get("/api/v1/equity/history", params={"points": 10}).json()
    assert history["initial_cash"] == 10_000.0
    assert history["points"] == 10
    assert 1 <= len(history["items"]) <= 10
    assert history["items"][-1]["ts"] == daemon.equity_log[-1].ts, "it ends at the newest"
    everything = client.get("/api/v1/equity/history").json()["items"]
    assert len(everything) == 30
    since = client.get("/api/v1/equity/history", params={"since": T0 + 60 * 25}).json()
    assert [p["ts"] for p in since["items"]] == [T0 + 60 * i for i in range(25, 30)]
    for bad in ({"points": 0}, {"points": 10_001}, {"since": "soon"}):
        assert client.get("/api/v1/equity/history", params=bad).status_code == 422


def test_candles_carry_indicators_and_poll_with_since(client: httpx.Client) -> None:
    first = client.get("/api/v1/candles").json()
    assert (first["symbol"], first["symbols"]) == ("BTC-USD", ["BTC-USD", "ETH-USD"])
    assert len(first["items"]) == 50
    seeding, seeded = first["items"][0], first["items"][-1]
    assert seeding["ema_fast"] is None and seeding["ema_slow"] is None
    assert seeded["vwap"] > 0 and seeded["ema_fast"] is not None
    assert seeded["ts"] == T0 + 600

    newest = client.get("/api/v1/candles", params={"since": seeded["ts"] - 60}).json()["items"]
    assert [c["ts"] for c in newest] == [seeded["ts"] - 60, seeded["ts"]]
    eth = client.get("/api/v1/candles", params={"symbol": "ETH-USD", "limit": 3}).json()
    assert (eth["symbol"], len(eth["items"])) == ("ETH-USD", 3)
    unknown = client.get("/api/v1/candles", params={"symbol": "DOGE-USD"}).json()
    assert unknown["items"] == []
    assert client.get("/api/v1/candles", params={"limit": 5001}).status_code == 422


def test_candles_of_a_daemon_without_bars_are_empty() -> None:
    daemon = FakeDaemon()
    with serve(create_app(daemon, daemon, control_token=TOKEN)) as url:
        body = httpx.get(url + "/api/v1/candles").json()
    assert body == {"symbol": "", "symbols": [], "limit": 500, "items": []}


def test_the_chart_library_is_served_by_the_daemon(client: httpx.Client) -> None:
    response = client.get("/static/vendor/lightweight-charts.standalone.production.js")
    if response.status_code == 404:
        unavailable("the dashboard's chart library is missing: run scripts/fetch-web-assets.sh")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        ("text/javascript", "application/javascript")
    )
    assert "createChart" in response.text
    assert_security_headers(response)


def test_control_requires_the_bearer_token(client: httpx.Client, daemon: FakeDaemon) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
        denied = client.post("/api/v1/control/pause", headers=headers)
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in denied.text
    assert daemon.calls == []

    auth = {"Authorization": f"Bearer {TOKEN}"}
    paused = client.post("/api/v1/control/pause", headers=auth)
    assert paused.status_code == 200
    assert paused.json() == {
        "action": "pause",
        "accepted": True,
        "paused": True,
        "durable": True,
        "detail": "",
    }
    status = client.get("/api/v1/status").json()
    assert status["paused"] is True
    # Without a body the actor is the caller's address, so the status still says who.
    assert status["pause"]["by"] == "api (127.0.0.1)"
    assert status["pause"]["reason"] == ""
    assert client.post("/api/v1/control/resume", headers=auth).status_code == 200
    assert daemon.calls == ["pause", "resume"]
    status = client.get("/api/v1/status").json()
    assert status["paused"] is False
    assert status["pause"] is None


def test_pause_records_who_and_why(client: httpx.Client, daemon: FakeDaemon) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = {"by": "alice", "reason": "exchange maintenance at 02:00"}
    assert client.post("/api/v1/control/pause", headers=auth, json=body).status_code == 200
    pause = client.get("/api/v1/status").json()["pause"]
    assert pause["by"] == "alice"
    assert pause["reason"] == "exchange maintenance at 02:00"
    assert pause["since"].endswith("Z") or pause["since"].endswith("+00:00")
    for bad in ({"by": ""}, {"reason": "x" * 501}, {"unknown": 1}, [1, 2]):
        assert client.post("/api/v1/control/pause", headers=auth, json=bad).status_code == 422


def test_a_body_above_the_limit_is_refused_with_413(
    client: httpx.Client, daemon: FakeDaemon
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    big = b'{"reason": "' + b"x" * (64 * 1024) + b'"}'
    response = client.post("/api/v1/control/pause", headers=auth, content=big)
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]

    def chunks():  # no Content-Length: the limit holds for a streamed body too
        yield b'{"reason": "'
        for _ in range(64):
            yield b"x" * 1024
        yield b'"}'

    streamed = client.post("/api/v1/control/pause", headers=auth, content=chunks())
    assert streamed.status_code == 413
    assert daemon.calls == []


def test_control_is_disabled_without_a_configured_token(daemon: FakeDaemon) -> None:
    with serve(create_app(daemon, daemon, control_token=None)) as url:
        for token in ("x", "None", "anything"):
            response = httpx.post(
                url + "/api/v1/control/resume", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401
            assert "GRODT_CONTROL_TOKEN_FILE" in response.json()["detail"]
    assert daemon.calls == []


def test_openapi_is_served_and_docs_ui_is_not(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()

    assert spec["components"]["securitySchemes"]["controlToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["controlToken"]["description"],
    }
    assert {"/health", "/ready", "/api/v1/status", "/api/v1/trades"} <= set(spec["paths"])
    assert "503" in spec["paths"]["/ready"]["get"]["responses"]
    # No Swagger UI (a CDN and an inline script, which the CSP forbids): /docs says so.
    docs = client.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert 'href="openapi.json"' in docs.text and "<script" not in docs.text
    assert "/docs" not in spec["paths"]
    assert client.get("/redoc").status_code == 404


class ExplodingDaemon(FakeDaemon):
    def trades(self, limit: int, offset: int, *, symbol: str | None = None):  # type: ignore[no-untyped-def]
        raise RuntimeError("database is on fire at /var/lib/secret-path")


def test_errors_are_json_without_traceback() -> None:
    daemon = ExplodingDaemon()
    with serve(create_app(daemon, daemon, control_token=TOKEN)) as url:
        response = httpx.get(url + "/api/v1/trades", headers={"X-Request-ID": "req-42"})

    assert response.status_code == 500
    assert response.json() == {"detail": "internal error; quote the X-Request-ID"}
    assert response.headers["x-request-id"] == "req-42"
    assert_security_headers(response)
    assert "Traceback" not in response.text and "secret-path" not in response.text


def access_events(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "grodtd.access"]


def test_access_log_has_one_structured_event_per_request(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.render_to_log_kwargs,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    try:
        with caplog.at_level(logging.INFO, logger="grodtd.access"):
            client.get("/api/v1/status?x=1", headers={"X-Request-ID": "trace-me"})
            # The event is written once the response is sent, so it may trail the client.
            deadline = time.monotonic() + 5
            while not access_events(caplog) and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        structlog.reset_defaults()

    events = access_events(caplog)
    assert len(events) == 1
    event = events[0]
    assert event.msg == "http_request"
    fields = event.__dict__
    assert fields["method"] == "GET"
    assert fields["path"] == "/api/v1/status"
    assert fields["status"] == 200
    assert fields["request_id"] == "trace-me"
    assert fields["duration_ms"] >= 0
    assert fields["client"].startswith("127.0.0.1:")


def test_probes_that_pass_log_at_debug_and_failures_at_info(
    daemon: FakeDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    # Docker asks /health every 2 s: passing probes must not flood the info log.
    structlog.configure(
        processors=[structlog.stdlib.render_to_log_kwargs],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    try:
        with (
            caplog.at_level(logging.DEBUG, logger="grodtd.access"),
            serve(create_app(daemon, daemon, control_token=TOKEN)) as url,
        ):
            assert httpx.get(url + "/health").status_code == 200
            assert httpx.get(url + "/ready").status_code == 200
            assert httpx.get(url + "/api/v1/status").status_code == 200
            daemon.ready = HealthReport((CheckResult("store", False, "disk full"),))
            assert httpx.get(url + "/ready").status_code == 503
            deadline = time.monotonic() + 5
            while len(access_events(caplog)) < 4 and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        structlog.reset_defaults()

    levels = [
        (r.__dict__["path"], r.__dict__["status"], r.levelname) for r in access_events(caplog)
    ]
    assert levels == [
        ("/health", 200, "DEBUG"),
        ("/ready", 200, "DEBUG"),
        ("/api/v1/status", 200, "INFO"),
        ("/ready", 503, "INFO"),
    ]


def test_the_chart_series_written_directly_are_what_their_models_would_write(
    daemon: FakeDaemon,
) -> None:
    """The two largest answers skip the models for speed (chart_schemas); they must still be
    exactly the documented shape, NaN included."""
    candles = daemon.candle_log["BTC-USD"][-5:]
    nan = replace(candles[-1], vwap=float("nan"))
    written = json.loads(candles_json("BTC-USD", ["BTC-USD"], 5, [*candles[:-1], nan]))
    items = [CandleOut(**dataclasses.asdict(c)) for c in [*candles[:-1], nan]]
    model = CandlesOut(symbol="BTC-USD", symbols=["BTC-USD"], limit=5, items=items)
    assert written == json.loads(model.model_dump_json())
    assert written["items"][-1]["vwap"] is None
    history = EquityHistory(10_000.0, daemon.equity_log[:4])
    written = json.loads(equity_history_json(history, 4))
    model_eq = EquityHistoryOut(
        initial_cash=10_000.0, points=4, items=[equity_out(e) for e in history.points]
    )
    assert written == json.loads(model_eq.model_dump_json())
