"""`grodt run --check`: ask the exchange whether this configuration can trade, without trading.

Before real money, the operator wants to know the keys work, may trade, and the symbols exist,
without placing an order or touching the store (a running daemon may hold it). Each check
prints one line; the exit code is 0 when the daemon would start trading as configured, 1 when
the exchange says no (a refused key, no trading permission, a symbol it does not list, no
answer), 2 for a configuration error (as every command).
"""

from __future__ import annotations

from grodtd.cli.common import EXIT_FATAL, EXIT_OK
from grodtd.config import Settings


def check_venue(settings: Settings) -> int:
    """Print what the configuration will do and what the exchange says of it."""
    from grodtd.factories import exchange_feed, live_broker

    mode, why = settings.trading_mode()
    print(f"trading {mode} ({why})")
    if settings.market.source != "exchange":
        print(f"market data: {settings.market.source}, nothing to ask an exchange")
        return EXIT_OK
    exchange = settings.market.exchange
    symbols = list(settings.market.symbols)
    if mode != "live":
        feed = exchange_feed(settings)
        try:
            feed.connect(attempts=1)
        except Exception as exc:
            print(f"FAIL market data: {exchange} did not answer or refused: {_short(exc)}")
            return EXIT_FATAL
        print(f"ok   market data: {exchange} lists {', '.join(symbols)}")
        return EXIT_OK
    broker = live_broker(settings)
    try:
        markets = broker.markets()
        missing = [s for s in symbols if s not in markets]
        if missing:
            print(f"FAIL symbols: {exchange} does not list {', '.join(missing)}")
            return EXIT_FATAL
        print(f"ok   symbols: {exchange} lists {', '.join(symbols)}")
        balances, permissions = broker.venue.account()
    except Exception as exc:
        print(f"FAIL keys: {exchange} refused or did not answer: {_short(exc)}")
        return EXIT_FATAL
    held = ", ".join(f"{a} {v:.8g}" for a, v in sorted(balances.items()) if v) or "nothing"
    print(f"ok   keys: {exchange} accepted the key pair; the account holds {held}")
    if permissions.get("canTrade") is False:
        print(f"FAIL permissions: {exchange} says this key may not trade (canTrade false)")
        return EXIT_FATAL
    said = permissions.get("permissions")
    print(f"ok   permissions: trading allowed{f' ({said})' if said else ''}")
    return EXIT_OK


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
