"""Orders and trades, and the JSON shapes Binance gives them (ccxt parses these fields)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .ledger import ZERO
from .symbols import fmt

# 0.1% of what the order receives: base on a buy, quote on a sell (Binance without BNB fees).
FEE_RATE = Decimal("0.001")
OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})
STOP_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
MARKET_STOP_TYPES = frozenset({"STOP_LOSS", "TAKE_PROFIT"})
LIMIT_TYPES = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})


@dataclass(frozen=True)
class Trade:
    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int
    is_maker: bool


@dataclass
class Order:
    order_id: int
    client_id: str
    symbol: str  # Binance market id
    side: str  # BUY or SELL
    type: str
    time_in_force: str | None
    orig_qty: Decimal
    price: Decimal  # zero for market kinds
    stop_price: Decimal  # zero unless a stop kind
    orig_quote_qty: Decimal
    time_ms: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    update_ms: int = 0
    working_ms: int = -1  # -1 while a stop order waits for its trigger, as Binance shows it
    checked_ms: int = 0  # the price path up to here has been matched against this order
    hold_until_ms: int = 0  # after a partial fill the rest waits for the next minute
    lock_asset: str = ""
    lock_unit: Decimal = ZERO  # locked per unit of base quantity (a buy's price; 1 on a sell)
    locked: Decimal = ZERO
    partial_fraction: Decimal | None = None
    fills: list[Trade] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    @property
    def waiting_for_trigger(self) -> bool:
        return self.type in STOP_TYPES and self.working_ms < 0

    def view(self) -> dict[str, Any]:
        """``GET /api/v3/order`` and the rows of openOrders/allOrders."""
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "price": fmt(self.price),
            "origQty": fmt(self.orig_qty),
            "executedQty": fmt(self.executed_qty),
            "cummulativeQuoteQty": fmt(self.cum_quote),
            "status": self.status,
            "timeInForce": self.time_in_force or "GTC",
            "type": self.type,
            "side": self.side,
            "stopPrice": fmt(self.stop_price),
            "icebergQty": fmt(ZERO),
            "time": self.time_ms,
            "updateTime": self.update_ms,
            "isWorking": self.working_ms >= 0,
            "workingTime": self.working_ms,
            "origQuoteOrderQty": fmt(self.orig_quote_qty),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }

    def placed(self, resp_type: str, transact_ms: int) -> dict[str, Any]:
        """``POST /api/v3/order`` for newOrderRespType ACK, RESULT or FULL."""
        ack: dict[str, Any] = {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "transactTime": transact_ms,
        }
        if resp_type == "ACK":
            return ack
        view = self.view()
        result = {
            **ack,
            **{
                k: view[k]
                for k in (
                    "price",
                    "origQty",
                    "executedQty",
                    "cummulativeQuoteQty",
                    "status",
                    "timeInForce",
                    "type",
                    "side",
                )
            },
            "workingTime": self.working_ms,
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        if self.type in STOP_TYPES:
            result["stopPrice"] = fmt(self.stop_price)
        if resp_type == "FULL":
            result["fills"] = [
                {
                    "price": fmt(t.price),
                    "qty": fmt(t.qty),
                    "commission": fmt(t.commission),
                    "commissionAsset": t.commission_asset,
                    "tradeId": t.trade_id,
                }
                for t in self.fills
            ]
        return result

    def canceled(self, cancel_client_id: str, transact_ms: int) -> dict[str, Any]:
        """``DELETE /api/v3/order``: the order as it was canceled."""
        view = self.view()
        return {
            "symbol": self.symbol,
            "origClientOrderId": self.client_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": cancel_client_id,
            "transactTime": transact_ms,
            **{
                k: view[k]
                for k in (
                    "price",
                    "origQty",
                    "executedQty",
                    "cummulativeQuoteQty",
                    "status",
                    "timeInForce",
                    "type",
                    "side",
                    "stopPrice",
                )
            },
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }


def trade_view(trade: Trade) -> dict[str, Any]:
    """A row of ``GET /api/v3/myTrades``."""
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": fmt(trade.price),
        "qty": fmt(trade.qty),
        "quoteQty": fmt(trade.quote_qty),
        "commission": fmt(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time_ms,
        "isBuyer": trade.side == "BUY",
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }
