"""A real exchange's market data through ccxt: closed candles, polled, with the edge's
retries, backoff and circuit (``edge``), and the one place that opens ccxt (``client``)."""

from grodtd.adapters.markets.exchange.feed import ExchangeFeed, MarketConfigError

__all__ = ["ExchangeFeed", "MarketConfigError"]
