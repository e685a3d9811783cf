"""The edge to the outside world: retries with backoff and jitter, and what happened there.

Every exchange call goes through ``Edge.call``. Timeouts, 429s (ccxt's ``DDoSProtection`` and
``RateLimitExceeded``), 5xx (``ExchangeNotAvailable``, ``OperationFailed``) and dropped
connections are retried by tenacity with exponential backoff and full jitter, honouring a
``Retry-After`` the exchange sent; anything else (a bad symbol, a rejected key) is raised at
once, because repeating it cannot help. ``EdgeStatus`` counts requests, errors by kind and
retries, and remembers the last success and how long the exchange has been failing: the
metrics, the logs and ``/ready`` read it, and the feed uses it as its circuit.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from grodtd.adapters.markets.exchange.client import ccxt_errors

log = structlog.stdlib.get_logger("grodtd.exchange")

# Error kinds, the label values of grodt_exchange_errors_total: a small fixed set.
ERROR_KINDS = ("timeout", "rate_limited", "unavailable", "network", "rejected")


def error_kind(exc: BaseException) -> str:
    errors = ccxt_errors()
    if isinstance(exc, errors.RequestTimeout):
        return "timeout"
    if isinstance(exc, errors.DDoSProtection | errors.RateLimitExceeded):
        return "rate_limited"
    if isinstance(exc, errors.ExchangeNotAvailable):
        return "unavailable"
    if isinstance(exc, errors.NetworkError):
        return "network"
    # In ccxt's tree NetworkError is a kind of OperationFailed, so this comes last: an
    # OperationFailed that is no network error is the exchange's own 5xx (Binance -1000).
    if isinstance(exc, errors.OperationFailed):
        return "unavailable"
    return "rejected"


def retryable(exc: BaseException) -> bool:
    return error_kind(exc) != "rejected"


# Failed requests in a row before the exchange counts as down (readiness, kill switch).
FAILURES_BEFORE_DOWN = 2


@dataclass
class EdgeStatus:
    """What the edge saw; read from other threads (metrics, readiness), written by the feed."""

    exchange: str
    requests: Counter[str] = field(default_factory=Counter)  # by outcome: ok, error
    errors: Counter[str] = field(default_factory=Counter)  # by kind
    retries: int = 0
    last_success: float | None = None  # wall clock
    failing_since: float | None = None
    consecutive_failures: int = 0
    last_error: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def succeeded(self, now: float) -> None:
        with self._lock:
            self.requests["ok"] += 1
            self.last_success = now
            if self.failing_since is not None:
                log.info(
                    "exchange reachable again",
                    exchange=self.exchange,
                    down_seconds=round(now - self.failing_since, 1),
                )
            self.failing_since = None
            self.consecutive_failures = 0

    def failed(self, exc: BaseException, now: float) -> None:
        kind = error_kind(exc)
        with self._lock:
            self.requests["error"] += 1
            self.errors[kind] += 1
            self.consecutive_failures += 1
            self.last_error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            if self.failing_since is None:
                self.failing_since = now

    def retried(self) -> None:
        with self._lock:
            self.retries += 1

    @property
    def down(self) -> bool:
        """The exchange is failing (grodt_exchange_up 0), not just one blip."""
        with self._lock:
            return self._down()

    def _down(self) -> bool:
        return self.failing_since is not None and self.consecutive_failures >= FAILURES_BEFORE_DOWN

    def problem(self, now: float) -> str | None:
        """Why the exchange cannot be relied on right now, for /ready; None when it can.

        One failed request whose retry answered is a blip, not an outage: it would otherwise
        flip readiness and trip the stale-data kill switch for a single 429.
        """
        with self._lock:
            since = self.failing_since
            if since is None or not self._down():
                return None
            return (
                f"exchange {self.exchange} failing for {now - since:.0f} s "
                f"({self.consecutive_failures} failed requests, last: {self.last_error}); "
                "retrying with backoff, no entry is made until fresh candles arrive"
            )


class Edge:
    """Calls into one exchange, retried; ``call`` raises only when retrying is pointless or
    ``attempts`` ran out (the caller then waits for its next cycle)."""

    def __init__(
        self,
        exchange: Any,
        status: EdgeStatus,
        *,
        attempts: int = 4,
        max_wait_s: float = 8.0,
        budget_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.exchange = exchange
        self.status = status
        self._attempts = attempts
        self._max_wait_s = max_wait_s
        self._budget_s = budget_s
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with full jitter; a Retry-After the exchange sent comes first."""
        retry_after = self._retry_after()
        if retry_after is not None:
            return min(retry_after, self._max_wait_s)
        ceiling = min(self._max_wait_s, 0.5 * 2 ** (state.attempt_number - 1))
        return self._rng.uniform(0.1, ceiling)

    def retry_after(self) -> float | None:
        """Seconds the exchange's last answer asked us to stay away (``Retry-After``), if any."""
        return self._retry_after()

    def _retry_after(self) -> float | None:
        headers = getattr(self.exchange, "last_response_headers", None) or {}
        value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None

    def _before_sleep(self, state: RetryCallState, what: str) -> None:
        self.status.retried()
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        log.warning(
            "exchange request failed, retrying",
            exchange=self.status.exchange,
            request=what,
            attempt=state.attempt_number,
            error=f"{type(error).__name__}: {error}" if error else "",
            wait_s=round(state.upcoming_sleep, 2),
        )

    def call[T](self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        def attempt() -> T:
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                self.status.failed(exc, self._clock())
                raise
            self.status.succeeded(self._clock())
            return result

        retrying = Retrying(
            stop=stop_after_attempt(self._attempts) | stop_after_delay(self._budget_s),
            wait=self._wait,
            retry=retry_if_exception(retryable),
            before_sleep=lambda state: self._before_sleep(state, what),
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(attempt)
