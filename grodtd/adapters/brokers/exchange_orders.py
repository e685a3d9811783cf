"""What a ccxt exchange's orders and trades mean to GRODT: client ids, fills, safe messages.

Pure functions for the live broker (``live.py``), kept apart so they can be read and tested
without an exchange.

- Client ids: GRODT's ids (``s1_trend-BTC-USDT-1767225600-trend_break``, 40 characters) are
  longer than Binance allows (``^[.A-Z:/a-z0-9_-]{1,36}$``, the same rule ccxt passes on as
  ``newClientOrderId``). An id that fits is sent as it is; a longer one becomes its first 23
  characters, a dash and 12 hex digits of its SHA-256. The mapping is a pure function of
  the id, so a restarted daemon, or a reconciliation that only has the store's ids, finds
  the same exchange order again; 48 bits of hash make a collision between two ids that share
  their first 23 characters (the same strategy, symbol and most of the bar time) negligible.
- Fills: the engine books one fill per order, so the executions of one order become one
  ``Fill``: the quantity, the volume-weighted price, the fees converted to the quote currency.
  Binance takes a buy's fee in the base asset it delivers (0.1% of it, without BNB), so the
  account receives less than the order's quantity: the fill reports the quantity RECEIVED
  (executed minus the base fee) and that fee as ``fee_in_base * price`` in quote. Cash then
  moves by ``qty * price + fee`` = what the exchange charged, and the position equals the
  balance, so the exit sells what the account holds instead of being refused for 0.1% it
  does not have. A fee in a third asset (BNB) has no price here: it is reported as 0 and
  logged.
- Messages: ccxt puts the request URL into its errors, and a signed GET carries its query,
  signature included, in that URL. Every exchange error is re-raised with URL queries cut and
  the key and secret masked before anything (a log line, ``/ready``, a ``BrokerError``)
  can show it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grodtd.core.models import Fill, Side

MAX_CLIENT_ID = 36
# ccxt's order statuses after which nothing more executes.
FINAL_STATUSES = frozenset({"closed", "canceled", "expired", "rejected"})
_VALID_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_INVALID_CHAR = re.compile(r"[^\.A-Z\:/a-z0-9_-]")
_HASH_CHARS = 12
_URL_QUERY = re.compile(r"(https?://[^\s?#]+)\?\S*")


def exchange_client_id(client_order_id: str) -> str:
    """The ``newClientOrderId`` GRODT's ``client_order_id`` is sent under (see the module)."""
    if _VALID_ID.match(client_order_id):
        return client_order_id
    digest = hashlib.sha256(client_order_id.encode()).hexdigest()[:_HASH_CHARS]
    prefix = _INVALID_CHAR.sub("_", client_order_id)[: MAX_CLIENT_ID - _HASH_CHARS - 1]
    return f"{prefix}-{digest}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without URL queries (signatures) and without any of ``secrets``."""
    text = _URL_QUERY.sub(r"\1?<query hidden>", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<hidden>")
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Execution:
    """The executions of one exchange order, summed: what its ``Fill`` is made of."""

    executed: float  # base quantity traded
    cost: float  # quote paid or received
    fee_quote: float  # every fee in quote currency (base fees converted at their trade price)
    fee_base: float  # the part of the fees charged in base quantity
    other_fees: tuple[tuple[str, float], ...]  # fees in a third asset, not converted
    last_ms: int | None

    @property
    def price(self) -> float:
        return self.cost / self.executed if self.executed > 0 else 0.0


def _num(value: Any) -> float:
    return float(value) if value is not None else 0.0


def execution_of(trades: Sequence[Mapping[str, Any]], base: str, quote: str) -> Execution:
    """Sum ccxt trades (of ``fetch_my_trades`` or an order's ``trades``) of one order."""
    executed = cost = fee_quote = fee_base = 0.0
    other: dict[str, float] = {}
    last_ms: int | None = None
    for trade in trades:
        amount, price = _num(trade.get("amount")), _num(trade.get("price"))
        executed += amount
        cost += _num(trade.get("cost")) or amount * price
        for fee in trade.get("fees") or ([trade["fee"]] if trade.get("fee") else []):
            paid, currency = _num(fee.get("cost")), fee.get("currency")
            if currency == quote:
                fee_quote += paid
            elif currency == base:
                fee_base += paid
                fee_quote += paid * price
            elif paid:
                other[str(currency)] = other.get(str(currency), 0.0) + paid
        stamp = trade.get("timestamp")
        if stamp is not None:
            last_ms = max(last_ms or 0, int(stamp))
    return Execution(executed, cost, fee_quote, fee_base, tuple(other.items()), last_ms)


def _tidy(value: float) -> float:
    """Float noise off a sum of decimal quantities (0.01 - 0.00001 is 0.009990000000000001)."""
    return float(f"{value:.12g}")


def fill_of(
    client_order_id: str,
    symbol: str,
    side: Side,
    execution: Execution,
    *,
    reference: float | None,
    ts_ms: int,
) -> Fill:
    """The ``Fill`` of one order's executions; slippage against ``reference`` as the paper
    broker signs it (adverse positive), zero without a reference."""
    price = execution.price
    qty = execution.executed
    if side is Side.BUY:
        qty -= execution.fee_base  # what the account received (see the module docstring)
        slippage = price - reference if reference is not None else 0.0
    else:
        slippage = reference - price if reference is not None else 0.0
    return Fill(
        client_order_id=client_order_id,
        symbol=symbol,
        side=side,
        qty=_tidy(qty),
        price=price,
        fee=execution.fee_quote,
        ts=ts_ms // 1000,
        slippage=slippage,
    )
