"""Liveness and readiness: the two questions an orchestrator asks, answered separately.

Liveness ("should I restart you?") must only fail when restarting would help: a stalled engine
loop. It never looks at the store or the market, because restarting a healthy process while
the database is down only adds an outage. Readiness ("should traffic and trading rely on you?")
looks at everything the daemon needs and names the one thing that is wrong, so the operator
reading ``/ready`` knows what to fix without opening the logs.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    reason: str


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Liveness (``/health``) or readiness (``/ready``): ok only if every check is ok."""

    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


Clock = Callable[[], float]

# A reason is shown to operators and scraped into logs; keep a runaway driver message short.
_MAX_REASON_CHARS = 300
# Driver errors may echo a connection URL or DSN; a reason must never carry its password.
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*:)[^@\s]*@")
_KV_PASSWORD = re.compile(r"(?P<head>\b(?:password|passwd|pwd|token|secret)\s*[=:]\s*)\S+", re.I)


def redact(message: str) -> str:
    """Blank out credentials that database drivers like to echo in their error messages."""
    message = _URL_PASSWORD.sub(r"\g<head>***@", message)
    return _KV_PASSWORD.sub(r"\g<head>***", message)


class Heartbeat:
    """The engine beats after every bar (and on idle ticks); a stale beat means a stuck loop.

    The clock is monotonic by default so that wall-clock jumps (NTP, suspend) neither fake a
    stall nor hide one.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._last = clock()

    def beat(self) -> None:
        self._last = self._clock()

    def age(self) -> float:
        """Seconds since the last beat (since creation if it never beat)."""
        return max(0.0, self._clock() - self._last)


@dataclass
class MarketDataClock:
    """Per-symbol wall-clock time at which the last bar arrived.

    Arrival time, not the bar's own timestamp: a replay or a fast simulation emits bars whose
    open times are far from now, yet the feed is perfectly fresh.
    """

    symbols: tuple[str, ...] = ()
    clock: Clock = time.time
    # Set when a bounded source (a CSV replay) has delivered its last bar: why no more come.
    ended: str | None = None
    # The source's own word on why it cannot be relied on now (an exchange that fails).
    problem: Callable[[], str | None] = field(default=lambda: None, repr=False)
    _last: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    _started: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        # An expected symbol that never delivered counts as old as the daemon, not as fresh.
        self._started = self.clock()

    def record(self, symbol: str) -> None:
        self._last[symbol] = self.clock()

    def ages(self) -> dict[str, float]:
        """Age per symbol; expected symbols that never delivered count from the start."""
        now = self.clock()
        # The feed records from the engine thread while probes read here: copy first (one
        # C-level dict copy, atomic under the GIL) instead of iterating a changing dict.
        last = dict(self._last)
        ages = {symbol: max(0.0, now - self._started) for symbol in self.symbols}
        ages.update({symbol: max(0.0, now - seen) for symbol, seen in last.items()})
        return ages

    def max_age(self) -> float:
        """The age of the stalest symbol; before any bar at all, the time since start."""
        ages = self.ages()
        return max(ages.values()) if ages else max(0.0, self.clock() - self._started)

    def never_received(self) -> list[str]:
        last = dict(self._last)
        return [symbol for symbol in self.symbols if symbol not in last]


class StoreProbe:
    """The store's write probe, answered without waiting for the disk.

    Readiness and every metrics scrape ask whether the store accepts writes, and the honest
    answer is a real write, which may wait tens of milliseconds behind the engine's commit or a
    slow disk. Scrapes are served on the event loop, so they must not wait: ``check`` answers
    at once from the last probe while it is younger than ``max_age_s`` and succeeded; an older
    or failed answer starts one new probe in the background (never two at a time) and is
    reported meanwhile. A failure therefore shows within one probe of happening, and so does
    the recovery. Only the very first ask waits for a result, and no ask trusts a probe that
    has been running for ``hang_after_s``: a store that hangs is not ready either.
    """

    def __init__(
        self,
        probe: Callable[[], None],
        max_age_s: float,
        hang_after_s: float = 5.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._probe = probe
        self._max_age_s = max_age_s
        self._hang_after_s = hang_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._result: tuple[float, Exception | None] | None = None  # (probe start, error)
        self._running: threading.Thread | None = None
        self._running_since = 0.0

    def check(self) -> None:
        """Return if the last probe succeeded, raise its error if it failed or hangs."""
        with self._lock:
            now = self._clock()
            result = self._result
            stale = result is None or result[1] is not None or now - result[0] >= self._max_age_s
            if stale and self._running is None:
                self._running = threading.Thread(target=self._run, name="store-probe", daemon=True)
                self._running_since = now
                self._running.start()
            running, since = self._running, self._running_since
        if result is None and running is not None:
            running.join(self._hang_after_s)
            with self._lock:
                result, running = self._result, self._running
            now = self._clock()
        if running is not None and now - since >= self._hang_after_s:
            raise TimeoutError(
                f"the store's write probe has not finished for {now - since:.0f} s "
                "(the disk or the database server hangs)"
            )
        if result is not None and result[1] is not None:
            # A fresh traceback each time: re-raising one object would grow its traceback.
            raise result[1].with_traceback(None)

    def _run(self) -> None:
        started = self._clock()
        error: Exception | None = None
        try:
            self._probe()
        except Exception as exc:  # reported by check(); readiness names it
            error = exc
        with self._lock:
            self._result = (started, error)
            self._running = None


def heartbeat_check(heartbeat: Heartbeat, timeout_s: float) -> CheckResult:
    age = heartbeat.age()
    if age <= timeout_s:
        return CheckResult("engine_heartbeat", True, f"last beat {age:.1f} s ago")
    return CheckResult(
        "engine_heartbeat",
        False,
        f"engine loop has not beaten for {age:.1f} s (limit {timeout_s:g} s); "
        "it is stuck or blocked, restart the daemon",
    )


def liveness_report(heartbeat: Heartbeat, timeout_s: float) -> HealthReport:
    """Alive means: this code runs (the loop answers) and the engine loop is not frozen."""
    return HealthReport(
        checks=(
            CheckResult("process", True, "event loop is answering"),
            heartbeat_check(heartbeat, timeout_s),
        )
    )


def _store_result(store_check: Callable[[], None]) -> CheckResult:
    try:
        store_check()
    except Exception as exc:  # any driver error means "not writable"; say which, not where
        message = redact(" ".join(str(exc).split())) or type(exc).__name__
        if len(message) > _MAX_REASON_CHARS:
            message = message[: _MAX_REASON_CHARS - 3] + "..."
        return CheckResult(
            "store",
            False,
            f"store is not writable: {type(exc).__name__}: {message}",
        )
    return CheckResult("store", True, "store accepts writes")


def _market_data_result(market_data: MarketDataClock, stale_after_s: float) -> CheckResult:
    if market_data.ended is not None:
        return CheckResult("market_data", False, market_data.ended)
    problem = market_data.problem()
    if problem is not None:
        return CheckResult("market_data", False, problem)
    ages = market_data.ages()
    if not ages:
        waited = market_data.max_age()
        return CheckResult(
            "market_data", False, f"no market data received yet ({waited:.1f} s since start)"
        )
    stale = {symbol: age for symbol, age in ages.items() if age > stale_after_s}
    if not stale:
        oldest = max(ages.values())
        return CheckResult(
            "market_data",
            True,
            f"{len(ages)} symbol(s) fresh, oldest {oldest:.1f} s (limit {stale_after_s:g} s)",
        )
    missing = set(market_data.never_received())
    parts = []
    for symbol in sorted(stale, key=lambda s: -stale[s]):
        if symbol in missing:
            parts.append(f"no market data for {symbol} yet ({stale[symbol]:.1f} s)")
        else:
            parts.append(
                f"market data for {symbol} is {stale[symbol]:.1f} s old (limit {stale_after_s:g} s)"
            )
    return CheckResult("market_data", False, "; ".join(parts))


def readiness_report(
    config_loaded: bool,
    store_check: Callable[[], None],
    market_data: MarketDataClock,
    stale_after_s: float,
    engine_running: bool,
    heartbeat: Heartbeat,
    heartbeat_timeout_s: float,
    draining: bool,
) -> HealthReport:
    """Every check always runs, so the body lists all causes at once, not just the first."""
    config = (
        CheckResult("config", True, "configuration loaded")
        if config_loaded
        else CheckResult("config", False, "configuration is not loaded yet")
    )
    beat = heartbeat_check(heartbeat, heartbeat_timeout_s)
    if not engine_running:
        engine = CheckResult(
            "engine", False, "engine is not running (starting, recovering or stopped)"
        )
    elif not beat.ok:
        engine = CheckResult("engine", False, beat.reason)
    else:
        engine = CheckResult("engine", True, f"engine running, {beat.reason}")
    not_draining = (
        CheckResult("not_draining", False, "daemon is shutting down and takes no new work")
        if draining
        else CheckResult("not_draining", True, "daemon is not shutting down")
    )
    return HealthReport(
        checks=(
            config,
            _store_result(store_check),
            _market_data_result(market_data, stale_after_s),
            engine,
            not_draining,
        )
    )
