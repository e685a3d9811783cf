"""Metrics of the edge to a real exchange, read from its status at every scrape.

The market data adapter counts what happens at the edge (requests, errors by kind, retries,
the last answer) in a plain object that knows nothing of Prometheus; this collector turns it
into ``grodt_exchange_*`` series when the daemon runs on an exchange. Label values are fixed
sets (outcomes, error kinds), never a URL or a symbol the exchange sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

OUTCOMES = ("ok", "error")
ERROR_KINDS = ("timeout", "rate_limited", "unavailable", "network", "rejected")


class EdgeCounters(Protocol):
    """What ``grodtd.adapters.markets.exchange.edge.EdgeStatus`` offers (read-only here)."""

    @property
    def exchange(self) -> str: ...
    @property
    def requests(self) -> Mapping[str, int]: ...
    @property
    def errors(self) -> Mapping[str, int]: ...
    @property
    def retries(self) -> int: ...
    @property
    def last_success(self) -> float | None: ...
    @property
    def down(self) -> bool: ...


Family = CounterMetricFamily | GaugeMetricFamily


class StatusCollector(Collector):
    """Families read from a plain status object at every scrape; ``describe`` yields them
    empty, so registering the collector never reads the status."""

    def describe(self) -> Iterator[Family]:
        return self._families(describe_only=True)

    def collect(self) -> Iterator[Family]:
        return self._families(describe_only=False)

    def _families(self, *, describe_only: bool) -> Iterator[Family]:
        raise NotImplementedError


class ExchangeCollector(StatusCollector):
    def __init__(self, status: EdgeCounters) -> None:
        self._status = status

    def _families(
        self, *, describe_only: bool
    ) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        status = self._status
        requests = CounterMetricFamily(
            "grodt_exchange_requests",
            "Requests to the exchange, by outcome.",
            labels=["outcome"],
        )
        errors = CounterMetricFamily(
            "grodt_exchange_errors",
            "Failed requests to the exchange, by kind.",
            labels=["kind"],
        )
        retries = CounterMetricFamily(
            "grodt_exchange_retries", "Requests repeated after an error (backoff, jitter)."
        )
        last = GaugeMetricFamily(
            "grodt_exchange_last_success_timestamp_seconds",
            "Wall-clock time of the exchange's last answer (0 before the first).",
        )
        up = GaugeMetricFamily("grodt_exchange_up", "0 while requests to the exchange fail.")
        if not describe_only:
            counts = dict(status.requests)
            for outcome in OUTCOMES:
                requests.add_metric([outcome], counts.get(outcome, 0))
            kinds = dict(status.errors)
            for kind in ERROR_KINDS:
                errors.add_metric([kind], kinds.get(kind, 0))
            retries.add_metric([], status.retries)
            last.add_metric([], status.last_success or 0.0)
            up.add_metric([], 0 if status.down else 1)
        yield from (requests, errors, retries, last, up)
