"""Spot balances: free and locked per asset, in exact decimals.

An open order locks what it may spend (a buy locks quote at its limit price, a sell locks its
base quantity), so ``fetch_balance`` shows ``used`` funds the way Binance does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

ZERO = Decimal(0)


class InsufficientBalance(Exception):
    pass


class Ledger:
    """Not thread-safe by itself: the emulator holds its state lock around every use."""

    def __init__(
        self, balances: Mapping[str, str | float | Decimal], assets: Iterable[str] = ()
    ) -> None:
        self._free: dict[str, Decimal] = {asset: ZERO for asset in assets}
        self._locked: dict[str, Decimal] = {asset: ZERO for asset in self._free}
        for asset, amount in balances.items():
            self._free[asset] = Decimal(str(amount))
            self._locked.setdefault(asset, ZERO)

    def free(self, asset: str) -> Decimal:
        return self._free.get(asset, ZERO)

    def locked(self, asset: str) -> Decimal:
        return self._locked.get(asset, ZERO)

    def lock(self, asset: str, amount: Decimal) -> None:
        if self.free(asset) < amount:
            raise InsufficientBalance(asset)
        self._free[asset] = self.free(asset) - amount
        self._locked[asset] = self.locked(asset) + amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        amount = min(amount, self.locked(asset))
        self._locked[asset] = self.locked(asset) - amount
        self._free[asset] = self.free(asset) + amount

    def spend(self, asset: str, amount: Decimal) -> None:
        if self.free(asset) < amount:
            raise InsufficientBalance(asset)
        self._free[asset] = self.free(asset) - amount

    def credit(self, asset: str, amount: Decimal) -> None:
        self._free[asset] = self.free(asset) + amount
        self._locked.setdefault(asset, ZERO)

    def snapshot(self) -> dict[str, tuple[Decimal, Decimal]]:
        """asset -> (free, locked)."""
        return {asset: (self.free(asset), self.locked(asset)) for asset in sorted(self._free)}
