"""Liveness and readiness logic, driven by injected clocks."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from grodtd.ops.health import (
    Heartbeat,
    MarketDataClock,
    StoreProbe,
    liveness_report,
    readiness_report,
    redact,
)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def ok_store() -> None:
    return None


def checks(report) -> dict[str, tuple[bool, str]]:  # type: ignore[no-untyped-def]
    return {c.name: (c.ok, c.reason) for c in report.checks}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def ready(clock: FakeClock, **overrides):  # type: ignore[no-untyped-def]
    heartbeat = overrides.pop("heartbeat", None) or Heartbeat(clock)
    market = overrides.pop("market_data", None)
    if market is None:
        market = MarketDataClock(("BTC-USD", "ETH-USD"), clock)
        market.record("BTC-USD")
        market.record("ETH-USD")
    args = {
        "config_loaded": True,
        "store_check": ok_store,
        "market_data": market,
        "stale_after_s": 10.0,
        "engine_running": True,
        "heartbeat": heartbeat,
        "heartbeat_timeout_s": 30.0,
        "draining": False,
    }
    args.update(overrides)
    return readiness_report(**args)


def test_heartbeat_ages_with_the_clock_and_resets_on_beat(clock: FakeClock) -> None:
    heartbeat = Heartbeat(clock)
    assert heartbeat.age() == 0.0
    clock.advance(12.5)
    assert heartbeat.age() == 12.5
    heartbeat.beat()
    assert heartbeat.age() == 0.0


def test_liveness_fails_only_when_the_heartbeat_is_stale(clock: FakeClock) -> None:
    heartbeat = Heartbeat(clock)
    clock.advance(29.0)
    report = liveness_report(heartbeat, timeout_s=30.0)
    assert report.ok
    assert [c.name for c in report.checks] == ["process", "engine_heartbeat"]

    clock.advance(2.0)
    stalled = liveness_report(heartbeat, timeout_s=30.0)
    assert not stalled.ok
    ok, reason = checks(stalled)["engine_heartbeat"]
    assert not ok
    assert "31.0 s" in reason and "limit 30 s" in reason

    heartbeat.beat()
    assert liveness_report(heartbeat, timeout_s=30.0).ok


def test_market_data_clock_tracks_ages_per_symbol(clock: FakeClock) -> None:
    market = MarketDataClock(("BTC-USD", "ETH-USD"), clock)
    clock.advance(3.0)
    market.record("BTC-USD")
    clock.advance(4.0)

    # ETH-USD never delivered: it is as old as the clock itself, not fresh.
    assert market.ages() == {"BTC-USD": 4.0, "ETH-USD": 7.0}
    assert market.max_age() == 7.0
    assert market.never_received() == ["ETH-USD"]
    empty = MarketDataClock((), clock)
    clock.advance(2.0)
    assert empty.ages() == {}
    assert empty.max_age() == 2.0


def test_readiness_is_ok_when_everything_is(clock: FakeClock) -> None:
    report = ready(clock)

    assert report.ok
    assert [c.name for c in report.checks] == [
        "config",
        "store",
        "market_data",
        "engine",
        "not_draining",
    ]
    assert all(c.reason for c in report.checks)


def test_stale_market_data_names_the_symbol_and_the_limit(clock: FakeClock) -> None:
    market = MarketDataClock(("BTC-USD", "ETH-USD"), clock)
    market.record("ETH-USD")
    clock.advance(5.0)
    market.record("BTC-USD")
    clock.advance(9.2)

    report = ready(clock, market_data=market)

    assert not report.ok
    ok, reason = checks(report)["market_data"]
    assert not ok
    assert reason == "market data for ETH-USD is 14.2 s old (limit 10 s)"
    assert checks(report)["store"][0] and checks(report)["engine"][0]

    market.record("ETH-USD")
    assert ready(clock, market_data=market).ok


def test_a_symbol_that_never_delivered_is_not_ready(clock: FakeClock) -> None:
    market = MarketDataClock(("BTC-USD",), clock)
    clock.advance(11.0)

    ok, reason = checks(ready(clock, market_data=market))["market_data"]

    assert not ok
    assert "no market data for BTC-USD yet" in reason


def test_no_bar_at_all_is_not_ready(clock: FakeClock) -> None:
    market = MarketDataClock(clock=clock)
    clock.advance(1.5)

    ok, reason = checks(ready(clock, market_data=market))["market_data"]
    assert not ok
    assert reason == "no market data received yet (1.5 s since start)"

    market.record("SOL-USD")
    assert ready(clock, market_data=market).ok


def test_store_failure_reports_the_error_message_without_secrets(clock: FakeClock) -> None:
    def broken() -> None:
        raise OSError("could not write postgresql://grodt:hunter2@db:5432/grodt (password=hunter2)")

    report = ready(clock, store_check=broken)

    ok, reason = checks(report)["store"]
    assert not ok
    assert reason.startswith("store is not writable: OSError: could not write")
    assert "hunter2" not in reason
    assert "Traceback" not in reason


def test_store_check_against_a_read_only_sqlite_file(clock: FakeClock, tmp_path: Path) -> None:
    path = tmp_path / "grodt.db"
    sqlite3.connect(path).execute("create table t (x)").connection.commit()

    def writable() -> None:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            db.execute("insert into t values (1)")

    ok, reason = checks(ready(clock, store_check=writable))["store"]

    assert not ok
    assert "OperationalError" in reason and "readonly" in reason


@pytest.mark.parametrize(
    ("overrides", "failing"),
    [
        ({"config_loaded": False}, "config"),
        ({"engine_running": False}, "engine"),
        ({"draining": True}, "not_draining"),
    ],
)
def test_each_cause_fails_its_own_check(
    clock: FakeClock, overrides: dict[str, bool], failing: str
) -> None:
    report = ready(clock, **overrides)

    assert not report.ok
    assert [name for name, (ok, _) in checks(report).items() if not ok] == [failing]


def test_a_stalled_engine_is_not_ready(clock: FakeClock) -> None:
    heartbeat = Heartbeat(clock)
    market = MarketDataClock(("BTC-USD",), clock)
    clock.advance(31.0)
    market.record("BTC-USD")

    ok, reason = checks(ready(clock, heartbeat=heartbeat, market_data=market))["engine"]

    assert not ok
    assert "31.0 s" in reason


def test_all_causes_are_listed_at_once(clock: FakeClock) -> None:
    def broken() -> None:
        raise PermissionError("data directory is read-only")

    report = ready(clock, store_check=broken, draining=True, config_loaded=False)

    assert {n for n, (ok, _) in checks(report).items() if not ok} == {
        "config",
        "store",
        "not_draining",
    }


def test_redact_hides_url_and_keyword_credentials() -> None:
    assert redact("sqlite:///data/grodt.db is locked") == "sqlite:///data/grodt.db is locked"
    assert "pw" not in redact("postgresql+psycopg://user:pw@host/db")
    assert redact("token=abc secret: xyz") == "token=*** secret: ***"


# -- StoreProbe: readiness and scrapes never wait for the disk ------------------------------


class Probe:
    """A store probe whose outcome and duration the test controls."""

    def __init__(self) -> None:
        self.calls = 0
        self.error: Exception | None = None
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        self.entered.set()
        assert self.release.wait(5), "the test never released the probe"
        if self.error is not None:
            raise self.error


def test_store_probe_first_ask_waits_then_answers_from_memory() -> None:
    probe, now = Probe(), [100.0]
    checker = StoreProbe(probe, max_age_s=1.0, clock=lambda: now[0])
    checker.check()  # the first ask runs the probe and waits for it
    assert probe.calls == 1
    now[0] += 0.5
    checker.check()
    checker.check()
    assert probe.calls == 1  # still fresh: no new write


def test_store_probe_never_makes_a_caller_wait_for_a_slow_probe() -> None:
    probe, now = Probe(), [100.0]
    checker = StoreProbe(probe, max_age_s=1.0, clock=lambda: now[0])
    checker.check()
    probe.release.clear()
    probe.entered.clear()
    now[0] += 2.0  # stale: the next ask starts a probe, which now hangs
    started = time.monotonic()
    checker.check()  # answers from the last good probe
    checker.check()  # and does not start a second probe while one runs
    assert time.monotonic() - started < 0.5
    assert probe.entered.wait(5)
    assert probe.calls == 2
    probe.release.set()


def test_store_probe_reports_a_failure_and_then_the_recovery() -> None:
    probe, now = Probe(), [100.0]
    checker = StoreProbe(probe, max_age_s=1.0, clock=lambda: now[0])
    checker.check()
    probe.error = OSError("disk full")
    now[0] += 2.0
    assert "disk full" in str(poll_until(checker, failing=True))
    probe.error = None  # every ask re-probes while failing, so the recovery shows at once
    poll_until(checker, failing=False)


def poll_until(checker: StoreProbe, failing: bool) -> OSError | None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            checker.check()
        except OSError as exc:
            if failing:
                return exc
        else:
            if not failing:
                return None
        time.sleep(0.01)
    raise AssertionError(f"the probe never reported {'a failure' if failing else 'recovery'}")


def test_store_probe_failure_on_the_first_ask_is_raised() -> None:
    probe = Probe()
    probe.error = PermissionError("read-only file system")
    checker = StoreProbe(probe, max_age_s=1.0)
    with pytest.raises(PermissionError, match="read-only"):
        checker.check()


def test_store_probe_that_hangs_is_reported_and_so_is_its_end() -> None:
    probe, now = Probe(), [100.0]
    checker = StoreProbe(probe, max_age_s=1.0, hang_after_s=5.0, clock=lambda: now[0])
    checker.check()
    probe.release.clear()
    probe.entered.clear()
    now[0] += 2.0
    checker.check()  # starts the probe that hangs, answers from the last good one
    assert probe.entered.wait(5)
    now[0] += 4.0
    checker.check()  # running for 4 s: still within the limit
    now[0] += 1.0
    with pytest.raises(TimeoutError, match="has not finished for 5 s"):
        checker.check()
    probe.release.set()  # the disk answers again
    poll_until(checker, failing=False)


def test_store_probe_first_ask_does_not_wait_forever() -> None:
    probe = Probe()
    probe.release.clear()
    checker = StoreProbe(probe, max_age_s=1.0, hang_after_s=0.2)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        checker.check()
    assert time.monotonic() - started < 2.0
    probe.release.set()
