"""A small engine rig for the engine tests: broker and store doubles, observer, bar builders."""

from __future__ import annotations

import itertools
from typing import Any

from core_doubles import T0, Journal, NextOpenBroker, RecordingStore

from grodtd.core.engine import Engine
from grodtd.core.events import Event
from grodtd.core.models import Bar, Position, Regime, Trade
from grodtd.core.params import EngineParams, RiskParams, StrategyParams
from grodtd.core.ports import SimulatedBroker

SYM = "BTC-USD"
ENTRY_BAR = 20  # the 21st bar: EMA(21) is seeded, the first possible entry


def params(**risk: Any) -> EngineParams:
    # Gating open to every regime so these tests exercise the trade cycle, not the classifier.
    return EngineParams(
        initial_cash=100_000.0,
        strategies=(StrategyParams(allowed_regimes=frozenset(Regime)),),
        risk=RiskParams(**risk),
    )


def rising(n: int, start: float = 100.0, symbol: str = SYM, t0: int = T0) -> list[Bar]:
    bars = []
    price = start
    for i in range(n):
        o, c = price, price * 1.001
        bars.append(Bar(symbol, t0 + 60 * i, o, c * 1.0005, o * 0.9995, c, 2.0))
        price = c
    return bars


def after(last: Bar, o: float, h: float, lo: float, c: float, k: int = 1) -> Bar:
    return Bar(last.symbol, last.ts + 60 * k, o, h, lo, c, 2.0)


def drive(engine: Engine, venue: SimulatedBroker, bar: Bar) -> None:
    """What every driver does with a bar: the venue sees it first, then the engine.

    A bar the engine processed before a restart is not shown to the venue: the live runner
    only warms the engine up on those, and the engine ignores them.
    """
    if bar.ts > engine.resume_after.get(bar.symbol, -1):
        venue.on_bar(bar)
    engine.process(bar)


class Rig:
    def __init__(self, p: EngineParams | None = None, observe: bool = True) -> None:
        self.journal = Journal()
        self.broker = NextOpenBroker(self.journal, fee_bps=10.0)
        self.store = RecordingStore(self.journal)
        self.events: list[Event] = []
        self.trades: list[Trade] = []
        ticks = itertools.count()
        self.engine = Engine(
            p or params(),
            self.broker,
            self.store,
            observers=[self.events.append] if observe else [],
            clock=lambda: next(ticks) * 0.001,
            record_trade=self.trades.append,
        )

    def feed(self, b: Bar) -> None:
        drive(self.engine, self.broker, b)

    def run(self, bars: list[Bar]) -> None:
        for b in bars:
            self.feed(b)

    def of[E](self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]


def held(rig: Rig) -> Position:
    (view,) = rig.engine.snapshot().positions
    return view.position


def open_position(rig: Rig) -> list[Bar]:
    bars = rising(ENTRY_BAR + 2)
    rig.run(bars)
    assert rig.engine.snapshot().positions[0].position.symbol == SYM
    return bars
