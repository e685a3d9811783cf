"""What a backtest keeps besides its trades: curves, candles, the benchmark, regimes and halts.

The runner adds every bar to its symbol's ``candles``, sets ``now`` and calls ``sample`` once
per bar time; the engine tells ``observe`` its events. Only bounded data is kept (see
``series``), except the halts and one row per calendar month, which a run has few of.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from grodtd.backtest.series import Candles, EquityCurve
from grodtd.core.events import (
    EntriesHalted,
    EntriesResumed,
    Event,
    KillSwitchTripped,
    OrderSubmitted,
    RegimeChanged,
)
from grodtd.core.models import OrderPurpose, Regime


@dataclass(frozen=True, slots=True)
class HaltRecord:
    """One change of the entry halts: a kill switch tripped, a halt began or ended."""

    ts: int
    event: str  # "kill_switch_tripped", "entries_halted" or "entries_resumed"
    reason: str
    detail: str

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["time"] = iso(self.ts)
        return data


@dataclass(frozen=True, slots=True)
class MonthEnd:
    month: str  # "2026-03"
    equity: float
    benchmark: float


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest fall from a peak: its depth, when the peak was, the bottom and the recovery."""

    depth: float
    peak_ts: int | None
    trough_ts: int | None
    recovery_ts: int | None  # None: still below the peak when the run ended


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def _month(ts: int) -> tuple[str, int]:
    """The month of ``ts`` ("2026-03") and the epoch second the next month starts."""
    moment = datetime.fromtimestamp(ts, UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return f"{moment:%Y-%m}", int(datetime(year, month, 1, tzinfo=UTC).timestamp())


class RunRecorder:
    """Streams one backtest's bars, equity samples and engine events into report data."""

    def __init__(self, symbols: tuple[str, ...], initial_cash: float, bar_seconds: int) -> None:
        self.candles = {symbol: Candles(bar_seconds) for symbol in symbols}
        self.curve = EquityCurve(bar_seconds)
        self.halts: list[HaltRecord] = []
        self.entry_regimes: dict[str, Regime] = {}  # entry order id -> regime the gate saw
        self.months: list[MonthEnd] = []
        self._regime: dict[str, Regime] = {}
        self.now = 0  # the bar time being processed: the runner sets it, halts carry it
        # Buy and hold: equal cash per symbol, bought at its first close, never sold, no fees.
        self._share = initial_cash / max(len(symbols), 1)
        self._initial = initial_cash
        self._holdings = tuple(self.candles.values())
        # The drawdown walk, with the same arithmetic as ``report.max_drawdown``; plain
        # attributes, not a Drawdown per sample: ``sample`` runs for every bar time.
        self._peak = initial_cash
        self._peak_ts: int | None = None
        self._depth = 0.0
        self._worst_peak = initial_cash
        self._worst_peak_ts: int | None = None
        self._trough_ts: int | None = None
        self._recovery_ts: int | None = None
        self._recovering = False  # below the deepest drawdown's peak since its trough
        self._month = ""
        self._next_month_ts = -1
        self._last_equity = initial_cash
        self._last_benchmark = initial_cash

    # -- fed by the runner --------------------------------------------------------------

    def benchmark(self) -> float:
        """Buy and hold now: a symbol not seen yet is still cash."""
        value = self._initial
        share = self._share
        for candles in self._holdings:
            first = candles.first_close
            if first > 0:
                value += share * (candles.close[-1] / first - 1.0)
        return value

    def sample(self, ts: int, equity: float) -> None:
        """The account's equity once every bar of time ``ts`` was processed."""
        if ts >= self._next_month_ts:
            self._new_month(ts)
        peak = self._peak
        if equity > peak:
            self._peak = peak = equity
            self._peak_ts = ts
        elif peak > 0:
            depth = (peak - equity) / peak
            if depth > self._depth:
                self._depth = depth
                self._worst_peak, self._worst_peak_ts = peak, self._peak_ts
                self._trough_ts, self._recovery_ts = ts, None
                self._recovering = True
                self._add(ts, equity, -depth)
                return
        if self._recovering and equity >= self._worst_peak:
            self._recovery_ts = ts
            self._recovering = False
        self._add(ts, equity, -(peak - equity) / peak if peak > 0 else 0.0)

    def _add(self, ts: int, equity: float, drawdown: float) -> None:
        benchmark = self.benchmark()
        self.curve.add(ts, equity, benchmark, drawdown)
        self._last_equity = equity
        self._last_benchmark = benchmark

    def _new_month(self, ts: int) -> None:
        if self._month:
            self.months.append(MonthEnd(self._month, self._last_equity, self._last_benchmark))
        self._month, self._next_month_ts = _month(ts)
        if self._peak_ts is None:
            self._peak_ts = ts  # the first sample: the initial cash is the first peak

    def finish(self) -> None:
        """Close the last (partial) month."""
        if self._month:
            self.months.append(MonthEnd(self._month, self._last_equity, self._last_benchmark))
            self._month = ""

    @property
    def drawdown(self) -> Drawdown:
        return Drawdown(self._depth, self._worst_peak_ts, self._trough_ts, self._recovery_ts)

    @property
    def benchmark_final(self) -> float:
        return self._last_benchmark

    # -- the engine's observer ----------------------------------------------------------

    def observe(self, event: Event) -> None:
        kind = type(event)  # the runner asks the engine for no BarProcessed (bar_events=False)
        if kind is RegimeChanged:
            assert isinstance(event, RegimeChanged)
            self._regime[event.symbol] = event.current
        elif kind is OrderSubmitted:
            assert isinstance(event, OrderSubmitted)
            order = event.order
            if order.purpose is OrderPurpose.ENTRY:
                regime = self._regime.get(order.symbol, Regime.TRANSITION)
                self.entry_regimes[order.client_order_id] = regime
        elif kind is KillSwitchTripped:
            assert isinstance(event, KillSwitchTripped)
            self._halt("kill_switch_tripped", event.reason, event.detail)
        elif kind is EntriesHalted:
            assert isinstance(event, EntriesHalted)
            self._halt("entries_halted", event.reason, event.detail)
        elif kind is EntriesResumed:
            assert isinstance(event, EntriesResumed)
            self._halt("entries_resumed", event.reason, "")

    def _halt(self, what: str, reason: str, detail: str) -> None:
        self.halts.append(HaltRecord(self.now, what, str(reason), detail))
