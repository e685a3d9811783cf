"""The configured market data source, shared by the daemon and the backtest command."""

from __future__ import annotations

from pathlib import Path

from grodtd.adapters.markets.replay import CsvReplay
from grodtd.adapters.markets.sim import SimMarket, SimParams
from grodtd.config import Settings
from grodtd.core.ports import MarketData


def sim_params(settings: Settings) -> SimParams:
    market = settings.market
    return SimParams(
        seed=market.seed,
        symbols=tuple(market.symbols),
        start_ts=market.start_ts,
        bar_seconds=market.bar_seconds,
    )


def build_market(settings: Settings) -> MarketData:
    """The embedded simulator, or a CSV replay when ``market.source`` is ``replay``."""
    market = settings.market
    if market.source == "replay":
        return CsvReplay({symbol: Path(path) for symbol, path in market.replay_paths.items()})
    return SimMarket(sim_params(settings))
