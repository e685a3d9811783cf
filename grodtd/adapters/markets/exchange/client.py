"""Opening a ccxt exchange: the one place that knows how GRODT talks to ccxt.

Loading: ``import ccxt`` imports every one of its ~100 exchange modules (about 35 MB of
resident memory and a second or more of start-up in this daemon, whose whole budget is
100 MB), although a daemon talks to one exchange. So the ``ccxt`` package is registered
without running its ``__init__`` and only ``ccxt.<id>`` (plus the ``ccxt.base`` it imports)
is loaded. This relies on ccxt's layout (``ccxt/<id>.py`` defines the class ``<id>``), which
``tests/unit/adapters/test_exchange_client.py`` checks on the locked version.

Base URL: ``market.base_url`` replaces the scheme and host of every REST URL the exchange
has, keeping the paths, so a proxy or a test server receives every call; a call the server
lacks then fails loudly there instead of reaching the real exchange.

Symbols: GRODT writes ``BTC-USDT`` (a dash is safe in URLs, file names and metric labels),
ccxt's unified notation is ``BTC/USDT``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_LOCK = threading.Lock()


class UnknownExchange(ValueError):
    """The exchange id names no exchange ccxt knows."""


def to_market_symbol(symbol: str) -> str:
    """``BTC-USDT`` -> ``BTC/USDT``."""
    base, _, quote = symbol.partition("-")
    return f"{base}/{quote}"


def to_grodt_symbol(market_symbol: str) -> str:
    """``BTC/USDT`` -> ``BTC-USDT`` (a derivative's ``:SETTLE`` suffix is not supported)."""
    base, _, quote = market_symbol.partition("/")
    return f"{base}-{quote}"


def _ccxt_package() -> ModuleType:
    """The ``ccxt`` package object, registered without importing every exchange."""
    loaded = sys.modules.get("ccxt")
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("ccxt")
    if spec is None or spec.submodule_search_locations is None:
        raise UnknownExchange("ccxt is not installed: install the project's dependencies")
    package = importlib.util.module_from_spec(spec)
    sys.modules["ccxt"] = package  # its __init__ never runs; submodules import normally
    return package


def exchange_class(exchange_id: str) -> type[Any]:
    """The ccxt class of ``exchange_id``, loading only that exchange's module."""
    with _LOCK:
        package = _ccxt_package()
        locations = list(getattr(package, "__path__", []))
        if importlib.util.find_spec(f"ccxt.{exchange_id}") is None or not locations:
            raise UnknownExchange(_unknown_message(exchange_id, locations))
        module = importlib.import_module(f"ccxt.{exchange_id}")
    cls = getattr(module, exchange_id, None)
    if not isinstance(cls, type):
        raise UnknownExchange(f"ccxt.{exchange_id} defines no exchange class {exchange_id!r}")
    return cls


def _unknown_message(exchange_id: str, locations: list[str]) -> str:
    # The image keeps the major spot venues only (docker/prune_ccxt.py) and lists them.
    for location in locations:
        listing = Path(location) / "EXCHANGES_IN_IMAGE"
        if listing.is_file():
            carried = ", ".join(listing.read_text().split())
            return (
                f"{exchange_id!r} is not among the exchanges this image carries ({carried}): "
                "use one of them, or build the image with --build-arg CCXT_EXCHANGES=all "
                "(or a list of ccxt exchange ids)"
            )
    return (
        f"{exchange_id!r} is not an exchange ccxt knows: use a ccxt exchange id such as "
        "binance, kraken, coinbase, bybit or okx (see docs/markets.md)"
    )


def ccxt_errors() -> ModuleType:
    """``ccxt.base.errors``: the exception classes every exchange raises."""
    _ccxt_package()
    return importlib.import_module("ccxt.base.errors")


def _rebase(url: str, base: str) -> str:
    target = urlsplit(base)
    parts = urlsplit(url)
    path = target.path.rstrip("/") + parts.path
    return urlunsplit((target.scheme, target.netloc, path, parts.query, parts.fragment))


def rebase_urls(node: Any, base: str) -> Any:
    """A ccxt ``urls["api"]`` tree (strings, nested dicts) with every URL moved to ``base``:
    its scheme and host, its path as a prefix, each URL's own path and query kept."""
    if isinstance(node, str):
        return _rebase(node, base)
    if isinstance(node, dict):
        return {key: rebase_urls(value, base) for key, value in node.items()}
    return node


def open_exchange(
    exchange_id: str,
    *,
    base_url: str | None = None,
    timeout_s: float = 10.0,
    credentials: dict[str, str] | None = None,
) -> Any:
    """A ccxt exchange with its rate limiter on, spot markets only, REST at ``base_url``.

    ``fetchCurrencies``/``fetchMargins`` are off: they call account endpoints (and need keys)
    that market data never needs; currencies are then derived from the markets.
    """
    cls = exchange_class(exchange_id)
    exchange = cls(
        {
            "enableRateLimit": True,
            "timeout": int(timeout_s * 1000),
            **(credentials or {}),
        }
    )
    if base_url is not None:
        exchange.urls = {**exchange.urls, "api": rebase_urls(exchange.urls["api"], base_url)}
    fetch_markets = exchange.options.get("fetchMarkets")
    fetch_markets = dict(fetch_markets) if isinstance(fetch_markets, dict) else {}
    fetch_markets["types"] = ["spot"]
    exchange.options["fetchMarkets"] = fetch_markets
    exchange.options["fetchMargins"] = False
    exchange.options["fetchCurrencies"] = False
    exchange.options["defaultType"] = "spot"
    return exchange
