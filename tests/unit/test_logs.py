"""grodtd.ops.logs: one JSON object per line from every logger, context, exceptions, redaction."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import structlog
import uvicorn

from grodtd.ops.logs import (
    bound_context,
    clear_context,
    configure_logging,
    get_logger,
    uvicorn_log_config,
)

SECRET = "s3cr3t-Token-9d1f"
REQUIRED = {"timestamp", "level", "event", "logger"}


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    yield buffer
    clear_context()
    # Leave logging as an unconfigured process would have it, for the next test module.
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_grodt_handler", False):
            root.removeHandler(handler)
    logging.captureWarnings(False)
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line parsed as JSON (a non-JSON line fails the test) with the required keys."""
    out = stream.getvalue()
    assert out.endswith("\n")
    records = [json.loads(line) for line in out.splitlines()]
    for record in records:
        assert isinstance(record, dict)
        assert set(record) >= REQUIRED, record
        stamp = datetime.fromisoformat(record["timestamp"])
        assert stamp.utcoffset() is not None
        assert stamp.utcoffset().total_seconds() == 0
        assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    return records


def test_structlog_stdlib_and_uvicorn_loggers_all_emit_json(stream: io.StringIO) -> None:
    configure_logging("INFO", "json", stream=stream)
    get_logger("grodtd.engine").info("bar processed", symbol="BTC-USD", close=101.5)
    structlog.get_logger("grodtd.other").warning("plain structlog")
    logging.getLogger().info("from the root logger %d", 7)
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/health", "1.1", 200
    )
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    logging.getLogger("alembic.runtime.migration").info("Running upgrade -> 0001")
    logging.getLogger("sqlalchemy.engine.Engine").warning("pool overflow")
    warnings.warn("deprecated thing", DeprecationWarning, stacklevel=1)

    records = lines(stream)
    assert [(r["logger"], r["level"], r["event"]) for r in records] == [
        ("grodtd.engine", "info", "bar processed"),
        ("grodtd.other", "warning", "plain structlog"),
        ("root", "info", "from the root logger 7"),
        ("uvicorn.access", "info", '127.0.0.1:5000 - "GET /health HTTP/1.1" 200'),
        ("uvicorn.error", "info", "Application startup complete."),
        ("alembic.runtime.migration", "info", "Running upgrade -> 0001"),
        ("sqlalchemy.engine.Engine", "warning", "pool overflow"),
        ("py.warnings", "warning", records[-1]["event"]),
    ]
    assert "deprecated thing" in records[-1]["event"]
    assert records[0]["symbol"] == "BTC-USD"
    assert records[0]["close"] == 101.5
    # The essentials lead each line, for a person reading raw output.
    assert list(records[0])[:4] == ["timestamp", "level", "logger", "event"]


def test_context_variables_reach_both_kinds_of_logger(stream: io.StringIO) -> None:
    configure_logging("INFO", "json", stream=stream)
    log = get_logger("grodtd.engine", strategy="s1_trend")
    with bound_context(request_id="req-1", symbol="ETH-USD", order_id="o-42"):
        log.info("order submitted")
        logging.getLogger("uvicorn.access").info("GET /api/v1/orders")
    log.info("outside")
    first, second, third = lines(stream)
    for record in (first, second):
        assert (record["request_id"], record["symbol"], record["order_id"]) == (
            "req-1",
            "ETH-USD",
            "o-42",
        )
    assert first["strategy"] == "s1_trend"
    assert "request_id" not in third
    assert third["strategy"] == "s1_trend"


def test_an_exception_is_one_line_with_its_traceback(stream: io.StringIO) -> None:
    configure_logging("INFO", "json", stream=stream)
    try:
        {}["missing"]
    except KeyError:
        get_logger("grodtd.app").exception("engine crashed")
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    assert len(stream.getvalue().splitlines()) == 2
    for record in lines(stream):
        assert record["level"] == "error"
        assert record["exception"].startswith("Traceback (most recent call last):")
        assert "KeyError: 'missing'" in record["exception"]
        assert "exc_info" not in record


def test_a_secret_never_reaches_the_output(stream: io.StringIO) -> None:
    url = f"postgresql://grodt:{SECRET}@db/grodt"
    configure_logging("DEBUG", "json", secrets=[SECRET, url, ""], stream=stream)
    log = get_logger("grodtd.web")
    with bound_context(request_id=SECRET):
        log.info(f"token is {SECRET}", token=SECRET, nested={SECRET: [f"a{SECRET}b", 1, None]})
    log.info("connecting", url=url, obj=ValueError(SECRET))
    logging.getLogger("uvicorn.access").info("GET /control?token=%s", SECRET)
    logging.getLogger("sqlalchemy.engine").warning(f"bad password {SECRET}")
    try:
        raise RuntimeError(f"auth failed with {SECRET}")
    except RuntimeError:
        log.exception("failure")
        logging.getLogger("alembic").exception("failure")
    output = stream.getvalue()
    assert SECRET not in output
    assert "grodt:" not in output.replace("grodtd", "")
    records = lines(stream)
    assert records[0]["event"] == "token is **********"
    assert records[0]["token"] == "**********"
    assert records[0]["request_id"] == "**********"
    assert records[0]["nested"] == {"**********": ["a**********b", 1, None]}
    assert records[1]["url"] == "**********"
    assert records[2]["event"] == "GET /control?token=**********"
    assert "**********" in records[4]["exception"]


def test_reconfiguring_replaces_the_handler(stream: io.StringIO) -> None:
    configure_logging("INFO", "json", stream=stream)
    log = get_logger("grodtd.test")  # obtained before the second configuration
    second = io.StringIO()
    configure_logging("WARNING", "json", secrets=[SECRET], stream=second)
    log.info("dropped below WARNING")
    log.warning("kept", value=SECRET)
    logging.getLogger("uvicorn.error").info("dropped too")
    assert stream.getvalue() == ""
    (record,) = lines(second)
    assert (record["event"], record["value"]) == ("kept", "**********")
    assert sum(getattr(h, "_grodt_handler", False) for h in logging.getLogger().handlers) == 1


def test_chatty_libraries_stay_at_warning(stream: io.StringIO) -> None:
    # SQLAlchemy logs every SQL statement at INFO: a DEBUG daemon must not flood stdout.
    configure_logging("DEBUG", "json", stream=stream)
    logging.getLogger("sqlalchemy.engine.Engine").info("SELECT 1")
    logging.getLogger("asyncio").debug("Using selector: EpollSelector")
    # ccxt and urllib3 narrate every exchange request at DEBUG.
    logging.getLogger("ccxt.base.exchange").debug("GET https://127.0.0.1/api/v3/klines")
    logging.getLogger("urllib3.connectionpool").debug('"GET /api/v3/klines HTTP/1.1" 200')
    logging.getLogger("sqlalchemy.pool.impl.QueuePool").warning("pool exhausted")
    logging.getLogger("alembic.runtime.migration").info("Running upgrade -> 0002")
    logging.getLogger("uvicorn.error").debug("debug from uvicorn")
    assert [r["event"] for r in lines(stream)] == [
        "pool exhausted",
        "Running upgrade -> 0002",
        "debug from uvicorn",
    ]


def test_console_format_and_bad_arguments(stream: io.StringIO) -> None:
    configure_logging("INFO", "console", secrets=[SECRET], stream=stream)
    get_logger("grodtd.cli").info("hello", token=SECRET)
    text = stream.getvalue()
    assert "hello" in text
    assert SECRET not in text
    with pytest.raises(ValueError, match="unknown log format 'xml'"):
        configure_logging("INFO", "xml", stream=stream)
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        configure_logging("LOUD", "json", stream=stream)


def test_a_real_uvicorn_server_logs_json(stream: io.StringIO) -> None:
    """Uvicorn's startup, access and shutdown lines, from a server on an ephemeral port."""
    configure_logging("INFO", "json", secrets=[SECRET], stream=stream)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=uvicorn_log_config(), access_log=True, lifespan="off", log_level="info"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        response = httpx.get(f"http://127.0.0.1:{port}/ping?token={SECRET}")
        assert response.status_code == 204
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    records = lines(stream)
    loggers = {r["logger"] for r in records}
    assert {"uvicorn.error", "uvicorn.access"} <= loggers
    (access,) = [r for r in records if r["logger"] == "uvicorn.access"]
    assert "GET /ping?token=********** HTTP/1.1" in access["event"]
    assert SECRET not in stream.getvalue()
