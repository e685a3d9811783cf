"""The ccxt client as the daemon opens it, on the locked ccxt: only the exchange it talks to is
loaded, every REST URL goes to ``market.base_url``, and symbols map both ways."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from grodtd.adapters.markets.exchange.client import (
    UnknownExchange,
    open_exchange,
    to_grodt_symbol,
    to_market_symbol,
)


def _urls(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [url for value in node.values() for url in _urls(value)]
    return []


def test_only_the_chosen_exchange_module_is_loaded() -> None:
    # In a fresh interpreter: ccxt's own __init__ imports every exchange (about 100 MB).
    probe = (
        "import json, sys\n"
        "from grodtd.adapters.markets.exchange.client import open_exchange\n"
        "open_exchange('binance', base_url='http://127.0.0.1:9')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('ccxt.')"
        " and m.count('.') == 1)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    exchanges = [m for m in json.loads(done.stdout) if m not in ("ccxt.base", "ccxt.abstract")]
    assert exchanges == ["ccxt.binance"]


def test_every_rest_url_goes_to_the_base_url_with_its_path_kept() -> None:
    plain = open_exchange("binance")
    rebased = open_exchange("binance", base_url="http://127.0.0.1:8765/proxy")
    before, after = _urls(plain.urls["api"]), _urls(rebased.urls["api"])
    assert len(before) == len(after) > 5
    for original, moved in zip(before, after, strict=True):
        parts = urlsplit(moved)
        assert (parts.scheme, parts.netloc) == ("http", "127.0.0.1:8765")
        assert parts.path == "/proxy" + urlsplit(original).path
    assert rebased.enableRateLimit is True
    assert rebased.options["defaultType"] == "spot"


def test_an_unknown_exchange_says_what_to_use() -> None:
    with pytest.raises(UnknownExchange, match="'nosuchvenue' is not an exchange ccxt knows"):
        open_exchange("nosuchvenue")


@pytest.mark.parametrize(("grodt", "market"), [("BTC-USDT", "BTC/USDT"), ("ETH-USD", "ETH/USD")])
def test_symbols_map_both_ways(grodt: str, market: str) -> None:
    assert to_market_symbol(grodt) == market
    assert to_grodt_symbol(market) == grodt
