"""The fault schedule: misbehaviour a test switches on from Python while the server runs.

A fault fires on the requests it matches (``path_prefix``, ``method``, ``symbol``) until its
``count`` is used up, or until it is cleared when ``count`` is None. Kinds:

- request faults, checked before any routing: ``429`` and ``418`` (``Retry-After`` header and
  Binance's -1003 body), ``500`` and ``503`` (a gateway's HTML page; ``json_body=True``
  sends Binance's -1001 JSON instead, which ccxt maps to ``OperationFailed``, not to a network
  error), ``timeout`` (hold the request ``seconds`` before answering it normally, so a client
  with a shorter timeout gives up while the request still takes effect) and ``drop`` (close the
  connection without a byte of response, before the request is processed: an order sent
  into a ``drop`` does not exist, unlike one sent into a ``lost_response``);
- data faults: ``gap`` (klines leave out candles whose open time is in [start_ms, end_ms); the
  same candles come back once the fault is cleared, as history fills in after an outage),
  ``reform`` (the ``depth`` latest candles, the forming one by default, show a close moved by
  ``percent``: a candle that changes while forming, or just after closing; klines only, fills
  follow the unmoved path) and ``skew`` (the server's clock reads ``ms`` off, in
  ``/api/v3/time`` and in the signed-request check);
- order faults, consumed by ``POST /api/v3/order``: ``lost_response`` (the order is accepted
  and processed, then the connection drops before the answer), ``partial`` (the order fills
  only ``fraction`` of its quantity at first; the rest of a market or IOC order expires, the
  rest of a GTC limit order can fill from the next minute on) and ``reject`` (refused with
  -2010 insufficient balance).

``after`` lets that many matching requests through untouched before a request or order fault
(not ``partial``) starts firing: "the exchange goes down right after it took the order".
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

REQUEST_KINDS = frozenset({"429", "418", "500", "503", "timeout", "drop"})
DATA_KINDS = frozenset({"gap", "reform", "skew"})
ORDER_KINDS = frozenset({"lost_response", "partial", "reject"})
KINDS = REQUEST_KINDS | DATA_KINDS | ORDER_KINDS


@dataclass(eq=False)  # identity, so remove() takes out this fault and not an equal one
class Fault:
    """One scheduled fault; ``hits`` counts how often it fired (tests assert on it)."""

    kind: str
    count: int | None = None
    path_prefix: str | None = None
    method: str | None = None
    symbol: str | None = None  # a Binance market id (BTCUSDT) or ccxt's BTC/USDT
    retry_after: int = 1
    seconds: float = 15.0  # longer than ccxt's default timeout (10 s)
    start_ms: int = 0
    end_ms: int = 0
    percent: float = 5.0
    depth: int = 1
    ms: int = 0
    fraction: float = 0.5
    json_body: bool = False
    after: int = 0  # matching requests let through before it fires (take() only)
    hits: int = 0

    @property
    def active(self) -> bool:
        return self.count is None or self.count > 0

    def matches(self, path: str, method: str, symbol: str | None) -> bool:
        if self.path_prefix is not None and not path.startswith(self.path_prefix):
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.symbol is None or self.symbol.replace("/", "") == symbol


class FaultSchedule:
    """Thread-safe: tests add and clear faults while server threads consume them."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # take() calls find() and consume()
        self._faults: list[Fault] = []

    def add(self, kind: str | int, *, count: int | None = None, **options: object) -> Fault:
        """Schedule a fault; ``options`` are the fields of :class:`Fault` for its kind."""
        name = str(kind)
        if name not in KINDS:
            raise ValueError(f"unknown fault kind {name!r}; known: {sorted(KINDS)}")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1, or None for 'until cleared'")
        try:
            fault = Fault(kind=name, count=count, **options)  # type: ignore[arg-type]
        except TypeError as e:
            raise ValueError(f"bad option for a {name!r} fault: {e}") from None
        if name == "gap" and not fault.start_ms < fault.end_ms:
            raise ValueError("a gap needs start_ms < end_ms")
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if f is not fault]

    def clear(self, kind: str | int | None = None) -> None:
        """Clear every fault, or every fault of one kind."""
        with self._lock:
            if kind is None:
                self._faults.clear()
            else:
                self._faults = [f for f in self._faults if f.kind != str(kind)]

    def pending(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if f.active]

    def find(
        self, kinds: Iterable[str], path: str, method: str, symbol: str | None = None
    ) -> list[Fault]:
        """Every active matching fault of ``kinds``, in the order they were added, unused."""
        wanted = set(kinds)
        with self._lock:
            return [
                f
                for f in self._faults
                if f.kind in wanted and f.active and f.matches(path, method, symbol)
            ]

    def consume(self, fault: Fault) -> None:
        """Count one use of ``fault`` (after the request it shaped was answered or processed)."""
        with self._lock:
            if fault.count is not None:
                fault.count = max(0, fault.count - 1)
            fault.hits += 1

    def take(
        self, kinds: Iterable[str], path: str, method: str, symbol: str | None = None
    ) -> Fault | None:
        """The first active matching fault of ``kinds`` that lets no more requests through
        (``after``), with one use consumed."""
        with self._lock:
            for fault in self.find(kinds, path, method, symbol):
                if fault.after > 0:
                    fault.after -= 1
                    continue
                self.consume(fault)
                return fault
            return None

    def take_all(
        self, kinds: Iterable[str], path: str, method: str, symbol: str | None = None
    ) -> list[Fault]:
        """Every active matching fault of ``kinds`` (several gaps may hide several spans)."""
        with self._lock:
            found = self.find(kinds, path, method, symbol)
            for fault in found:
                self.consume(fault)
            return found
