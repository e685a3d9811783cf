"""Point a ccxt exchange at another base URL (the emulator, a proxy): the one place that knows how.

Findings on ccxt 4.5.90's ``binance`` (sync client), which this function encodes:

- Every REST call goes through ``sign()``, which takes the URL from ``exchange.urls['api'][api]``
  for the API group of the endpoint (``public``/``private`` = ``/api/v3``, ``v1`` = ``/api/v1``,
  ``sapi``..``sapiV4``, ``fapi*``, ``dapi*``, ``eapi*``, ``papi*``). Spot only needs
  ``public`` and ``private``, but rewriting the scheme and host of *every* entry and keeping
  the paths means a call the emulator lacks fails loudly on the emulator (404 naming the
  endpoint) instead of silently reaching the real exchange. ``urls['test']``/``urls['demo']``
  are swapped in by ``set_sandbox_mode``/demo trading; do not enable those afterwards.
- ``load_markets()`` calls, by default: ``fetch_currencies`` (``GET /sapi/v1/capital/config/
  getall``, only when API keys are set), ``GET /api/v3/exchangeInfo`` for spot, and
  ``/fapi/v1/exchangeInfo`` and ``/dapi/v1/exchangeInfo`` for futures, plus, with keys,
  ``/sapi/v1/margin/allPairs`` and ``/sapi/v1/margin/isolated/allPairs``. The options set here
  cut that down to the one spot exchangeInfo call: ``fetchMarkets.types = ['spot']``,
  ``fetchMargins = False``, ``fetchCurrencies = False`` (currencies are then derived from the
  markets, precision included).
- ``adjustForTimeDifference`` stays off (the default): when on, ``load_markets`` also calls
  ``/api/v3/time`` and signs with ``milliseconds() - timeDifference``.
- Error mapping depends on the URL: ccxt applies its spot-specific exception table only to
  hosts it recognises (``https://api.binance.com/``...); on any other base URL only the common
  table applies. For spot the two agree on every code the emulator sends but -1131 (bad
  recvWindow: ``BadRequest`` on Binance's host, a plain ``ExchangeError`` elsewhere).
- What a client sees (all checked against the emulator): 429 and 418 raise ``DDoSProtection``
  (a ``NetworkError``), never its sibling ``RateLimitExceeded``; a 5xx without a Binance body
  raises ``ExchangeNotAvailable``, but a 5xx whose JSON carries -1000/-1001 raises
  ``OperationFailed``, which is *not* a ``NetworkError``; a read timeout ``RequestTimeout``; a
  dropped connection ``NetworkError``; -1021 (clock) ``InvalidNonce``; -1022/-2014/-2015
  ``AuthenticationError`` (but -2015 after one successful private call becomes
  ``DDoSProtection``: ccxt reads it as a temporary ban); -2010 ``InvalidOrder``, refined by the
  message: insufficient balance ``InsufficientFunds``, stop would trigger
  ``OrderImmediatelyFillable``, "Duplicate order sent." stays plain ``InvalidOrder`` (not
  ``DuplicateOrderId``); -2011/-2013 ``OrderNotFound``; -1121 ``BadSymbol``.
- Orders: ``params={"clientOrderId": id}`` (or ``newClientOrderId``) is sent as
  ``newClientOrderId``; without one ccxt makes its own (``x-TKT5PX2F`` + 22 characters), so a
  retry after a lost response is only idempotent if the caller chose the id.
  ``fetch_order``/``cancel_order`` with ``params={"clientOrderId": id}`` send
  ``origClientOrderId``. Spot stops: ``create_order(s, "limit", side, qty, price,
  {"stopLossPrice": p})`` becomes ``STOP_LOSS_LIMIT`` (``takeProfitPrice``:
  ``TAKE_PROFIT_LIMIT``; with ``"market"``: ``STOP_LOSS``/``TAKE_PROFIT``), with ``stopPrice``.
  A market order given a ``price`` is sent as ``quoteOrderQty`` = amount x price.
  ``fetch_open_orders()`` without a symbol raises unless
  ``options["fetchOpenOrders"]["warnWithoutSymbol"] = False``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

# The daemon's own rebasing, so the tests point raw ccxt exactly as market.base_url does.
from grodtd.adapters.markets.exchange.client import rebase_urls


def point_ccxt_at(exchange: Any, base_url: str) -> Any:
    """Send every REST call of ``exchange`` to ``base_url`` and keep ``load_markets`` spot-only.

    ``base_url`` is a scheme and host (``http://127.0.0.1:8123``), optionally with a path
    prefix for a proxy. Returns ``exchange`` for chaining.
    """
    target = urlsplit(base_url)
    if target.scheme not in ("http", "https") or not target.netloc:
        raise ValueError(f"base URL {base_url!r} needs a scheme and a host, e.g. http://h:8123")
    # A fresh dict: ccxt deep-copies its description per instance, but being explicit costs
    # nothing and never touches another instance's URLs.
    exchange.urls = {**exchange.urls, "api": rebase_urls(exchange.urls["api"], base_url)}
    fetch_markets = exchange.options.get("fetchMarkets")
    fetch_markets = dict(fetch_markets) if isinstance(fetch_markets, dict) else {}
    fetch_markets["types"] = ["spot"]
    exchange.options["fetchMarkets"] = fetch_markets
    exchange.options["fetchMargins"] = False
    exchange.options["fetchCurrencies"] = False
    return exchange
