"""When the exchange counts as down: readiness, the kill switch and grodt_exchange_up agree."""

from __future__ import annotations

import ccxt

from grodtd.adapters.markets.exchange.edge import FAILURES_BEFORE_DOWN, EdgeStatus
from grodtd.ops.exchange_metrics import ExchangeCollector


def exchange_up(status: EdgeStatus) -> float:
    for family in ExchangeCollector(status).collect():
        if family.name == "grodt_exchange_up":
            return family.samples[0].value
    raise AssertionError("grodt_exchange_up not collected")


def test_one_failed_request_answered_on_retry_is_a_blip_not_an_outage() -> None:
    status = EdgeStatus("binance")
    status.failed(ccxt.RateLimitExceeded("429 Too Many Requests"), now=100.0)
    assert status.problem(now=100.5) is None
    assert exchange_up(status) == 1
    status.succeeded(now=101.0)
    assert status.errors == {"rate_limited": 1}
    assert status.problem(now=101.0) is None


def test_failures_in_a_row_are_an_outage_until_an_answer() -> None:
    status = EdgeStatus("binance")
    for k in range(FAILURES_BEFORE_DOWN):
        status.failed(ccxt.ExchangeNotAvailable("503 Service Unavailable"), now=100.0 + k)
    problem = status.problem(now=112.0)
    assert problem is not None
    assert problem.startswith("exchange binance failing for 12 s (2 failed requests, last: ")
    assert "ExchangeNotAvailable: 503 Service Unavailable" in problem
    assert exchange_up(status) == 0
    status.succeeded(now=113.0)
    assert status.problem(now=113.0) is None
    assert exchange_up(status) == 1
