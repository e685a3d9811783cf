"""Adapters built from the settings: shared by the daemon (``app.py``) and the CLI commands.

The adapters know nothing of the configuration; this is where a setting becomes a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from grodtd.adapters.brokers.live import LiveBroker, open_live_broker
from grodtd.adapters.brokers.paper import PaperBroker, PaperBrokerParams
from grodtd.adapters.brokers.rails import NotionalRails
from grodtd.adapters.brokers.rules import VenueRules, venue_rules
from grodtd.adapters.markets.exchange import ExchangeFeed
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


def paper_broker(settings: Settings) -> PaperBroker:
    return PaperBroker(
        PaperBrokerParams(
            fee_bps=settings.broker.fee_bps, slippage_bps=settings.broker.slippage_bps
        )
    )


class RuleTaker(Protocol):
    """A broker that obeys the venue's lot, minimum and tick rules (paper and live)."""

    def set_rules(self, rules: Mapping[str, VenueRules]) -> None: ...


def live_broker(settings: Settings) -> LiveBroker:
    """Real orders on ``market.exchange`` with the account's key pair (see trading_mode)."""
    key, secret = settings.secrets.exchange_api_key, settings.secrets.exchange_api_secret
    if key is None or secret is None:
        raise ValueError("live_broker needs both exchange API key files (see trading_mode)")
    market, rails = settings.market, settings.broker
    return open_live_broker(
        market.exchange,
        market.symbols,
        api_key=key.get_secret_value(),
        api_secret=secret.get_secret_value(),
        base_url=market.base_url,
        rails=NotionalRails(rails.max_order_notional, rails.daily_notional_cap),
    )


def exchange_feed(settings: Settings, broker: RuleTaker | None = None) -> ExchangeFeed:
    """The exchange's candles; the paper broker learns each market's rules once it answers."""
    market = settings.market

    def learn_rules(markets: Mapping[str, Any]) -> None:
        if broker is not None:
            broker.set_rules({symbol: venue_rules(m) for symbol, m in markets.items()})

    return ExchangeFeed(
        market.exchange,
        market.symbols,
        base_url=market.base_url,
        bar_seconds=market.bar_seconds,
        history_bars=market.history_bars,
        poll_seconds=market.poll_seconds,
        timeout_s=market.request_timeout_seconds,
        on_markets=learn_rules,
    )


def build_market(settings: Settings, broker: RuleTaker | None = None) -> MarketData:
    """The embedded simulator, a CSV replay, or an exchange, as ``market.source`` says."""
    market = settings.market
    if market.source == "replay":
        return CsvReplay({symbol: Path(path) for symbol, path in market.replay_paths.items()})
    if market.source == "exchange":
        return exchange_feed(settings, broker)
    return SimMarket(sim_params(settings))
