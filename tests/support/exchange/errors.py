"""Binance's error answers: an HTTP status plus ``{"code": -NNNN, "msg": ...}``.

The codes and messages are Binance's own, because clients (ccxt among them) map the code or the
exact message to an exception class: a different wording would test a different code path.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the emulator answers the way Binance would."""

    def __init__(self, code: int, msg: str, *, status: int = 400) -> None:
        super().__init__(f"{status} {code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg}


def missing(name: str) -> ApiError:
    return ApiError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def illegal(name: str, pattern: str) -> ApiError:
    return ApiError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{pattern}'."
    )


def invalid_symbol() -> ApiError:
    return ApiError(-1121, "Invalid symbol.")


def rejected(msg: str) -> ApiError:
    """-2010 NEW_ORDER_REJECTED; ccxt looks at the message first, then at the code."""
    return ApiError(-2010, msg)


INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
DUPLICATE_ORDER = "Duplicate order sent."
STOP_WOULD_TRIGGER = "Stop price would trigger immediately."
WOULD_TAKE = "Order would immediately match and take."
