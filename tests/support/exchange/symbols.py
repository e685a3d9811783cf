"""Per-symbol trading rules: tick size, lot size and minimum notional, as exchangeInfo lists them.

Defaults are derived from a typical price so that any ``BASE/QUOTE`` works out of the box with
values of the same order as Binance's (BTC/USDT: tick 0.01, step 0.00001, min notional 5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from .errors import ApiError

# Rough USD prices; only the order of magnitude matters (it sets tick and step sizes).
TYPICAL_USD_PRICE: dict[str, float] = {
    "BTC": 60_000.0,
    "ETH": 3_000.0,
    "BNB": 600.0,
    "SOL": 150.0,
    "LTC": 80.0,
    "XRP": 0.5,
    "ADA": 0.4,
    "DOGE": 0.15,
}
STABLECOINS = frozenset({"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "USD"})
UNKNOWN_USD_PRICE = 100.0

ORDER_TYPES = (
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
)
PRECISION = 8  # Binance quotes every asset with 8 decimals


def fmt(value: Decimal) -> str:
    """Binance's number format: a string with exactly 8 decimals."""
    return f"{value:.8f}"


def _usd(asset: str) -> float:
    if asset in STABLECOINS:
        return 1.0
    return TYPICAL_USD_PRICE.get(asset, UNKNOWN_USD_PRICE)


def _power_of_ten(exponent: int) -> Decimal:
    return Decimal(1).scaleb(max(-PRECISION, exponent))


@dataclass(frozen=True)
class SymbolSpec:
    """One spot market. ``symbol`` is ccxt's notation (``BTC/USDT``), ``market_id`` Binance's."""

    symbol: str
    base: str
    quote: str
    base_price: float
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal

    @property
    def market_id(self) -> str:
        return self.base + self.quote

    @classmethod
    def default(cls, symbol: str, base_price: float | None = None) -> SymbolSpec:
        base, sep, quote = symbol.partition("/")
        if not sep or not base or not quote:
            raise ValueError(f"symbol {symbol!r} is not BASE/QUOTE")
        price = base_price if base_price is not None else _usd(base) / _usd(quote)
        magnitude = math.floor(math.log10(price))
        tick = _power_of_ten(magnitude - 6)
        step = min(Decimal(1), _power_of_ten(-magnitude - 1))
        notional = (Decimal(5) / Decimal(str(_usd(quote)))).quantize(_power_of_ten(-PRECISION))
        return cls(
            symbol=symbol,
            base=base,
            quote=quote,
            base_price=price,
            tick_size=tick,
            step_size=step,
            min_qty=step,
            max_qty=step.scaleb(9),
            min_notional=max(notional, _power_of_ten(-PRECISION)),
        )

    def round_price(self, price: float) -> Decimal:
        """The nearest valid price (a multiple of the tick), never below one tick."""
        ticks = max(1, round(price / float(self.tick_size)))
        return Decimal(ticks) * self.tick_size

    def floor_qty(self, qty: Decimal) -> Decimal:
        return (qty / self.step_size).to_integral_value(rounding=ROUND_DOWN) * self.step_size

    def check_price(self, price: Decimal) -> None:
        if price <= 0 or price % self.tick_size != 0:
            raise ApiError(-1013, "Filter failure: PRICE_FILTER")

    def check_qty(self, qty: Decimal) -> None:
        if qty < self.min_qty or qty > self.max_qty or qty % self.step_size != 0:
            raise ApiError(-1013, "Filter failure: LOT_SIZE")

    def check_notional(self, notional: Decimal) -> None:
        if notional < self.min_notional:
            raise ApiError(-1013, "Filter failure: NOTIONAL")

    def exchange_info(self) -> dict[str, Any]:
        """The symbol's entry in ``/api/v3/exchangeInfo``."""
        return {
            "symbol": self.market_id,
            "status": "TRADING",
            "baseAsset": self.base,
            "baseAssetPrecision": PRECISION,
            "quoteAsset": self.quote,
            "quotePrecision": PRECISION,
            "quoteAssetPrecision": PRECISION,
            "baseCommissionPrecision": PRECISION,
            "quoteCommissionPrecision": PRECISION,
            "orderTypes": list(ORDER_TYPES),
            "icebergAllowed": False,
            "ocoAllowed": False,
            "otoAllowed": False,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": False,
            "amendAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": fmt(self.tick_size),
                    "maxPrice": fmt(self.tick_size.scaleb(12)),
                    "tickSize": fmt(self.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": fmt(self.min_qty),
                    "maxQty": fmt(self.max_qty),
                    "stepSize": fmt(self.step_size),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": fmt(self.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": fmt(Decimal(9_000_000)),
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER"],
        }
