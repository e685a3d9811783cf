"""What every endpoint handler gets: the exchange's state and one parsed request."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .auth import Credentials
from .clock import Clock
from .errors import ApiError, illegal, invalid_symbol, missing
from .faults import FaultSchedule
from .journal import Journal
from .ledger import Ledger
from .market import Market
from .matching import Engine

_DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_DECIMAL_PATTERN = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
_INTEGER = re.compile(r"^-?[0-9]{1,20}$")


@dataclass
class ApiRequest:
    method: str
    path: str
    params: dict[str, str]
    headers: Mapping[str, str]
    raw_query: str
    raw_body: str
    now_ms: int  # market time, read once so one request sees one instant
    drop_response: bool = False  # set by a ``lost_response`` fault once the work is done
    fault: str | None = None  # the fault that shaped the answer, for the journal
    extra_headers: dict[str, str] = field(default_factory=dict)
    cached_skew_ms: int | None = None  # filled by ExchangeState.skew_ms

    def text(self, name: str) -> str:
        value = self.params.get(name, "")
        if value == "":
            raise missing(name)
        return value

    def optional_int(self, name: str) -> int | None:
        value = self.params.get(name, "")
        if value == "":
            return None
        if not _INTEGER.match(value):
            raise illegal(name, "^[0-9]{1,20}$")
        return int(value)

    def optional_decimal(self, name: str) -> Decimal | None:
        value = self.params.get(name, "")
        if value == "":
            return None
        if not _DECIMAL.match(value):
            raise illegal(name, _DECIMAL_PATTERN)
        try:
            return Decimal(value)
        except InvalidOperation:
            raise illegal(name, _DECIMAL_PATTERN) from None

    def limit(self, default: int, maximum: int) -> int:
        """Binance caps ``limit`` at the endpoint's maximum instead of refusing it."""
        value = self.optional_int("limit")
        if value is None:
            return default
        if value <= 0:
            raise ApiError(-1100, "Illegal characters found in parameter 'limit'.")
        return min(value, maximum)


class ExchangeState:
    """The emulated exchange behind the HTTP layer; ``lock`` serialises every change."""

    def __init__(
        self,
        *,
        clock: Clock,
        market: Market,
        ledger: Ledger,
        engine: Engine,
        faults: FaultSchedule,
        journal: Journal,
        creds: Credentials,
    ) -> None:
        self.clock = clock
        self.market = market
        self.ledger = ledger
        self.engine = engine
        self.faults = faults
        self.journal = journal
        self.creds = creds
        self.lock = threading.RLock()

    def symbol(self, req: ApiRequest) -> str:
        """The mandatory ``symbol`` parameter, checked against the listed markets."""
        found = self.optional_symbol(req)
        if found is None:
            raise missing("symbol")
        return found

    def optional_symbol(self, req: ApiRequest) -> str | None:
        value = req.params.get("symbol", "")
        if value == "":
            return None
        if value not in self.market.market_ids:
            raise invalid_symbol()
        return value

    def skew_ms(self, req: ApiRequest) -> int:
        """The ``skew`` faults' offset, read (and counted) once per request that reads a clock."""
        if req.cached_skew_ms is None:
            faults = self.faults.take_all({"skew"}, req.path, req.method)
            req.cached_skew_ms = sum(f.ms for f in faults)
            if faults:
                req.fault = "skew"
        return req.cached_skew_ms

    def server_ms(self, req: ApiRequest) -> int:
        return req.now_ms + self.clock.skew_ms + self.skew_ms(req)


Handler = Callable[[ExchangeState, ApiRequest], Any]


@dataclass(frozen=True)
class Route:
    handler: Handler
    weight: int
    signed: bool = False
