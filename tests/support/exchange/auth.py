"""Binance's signed-request check (SIGNED endpoints, HMAC-SHA256 keys).

The signature is the hex HMAC-SHA256, keyed with the API secret, of the query string
concatenated with the request body, without the ``signature`` parameter itself, exactly as the
bytes arrived (still URL-encoded). ``timestamp`` must lie within ``recvWindow`` (default 5000 ms,
at most 60000) behind the server's clock and at most 1000 ms ahead of it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ApiError, illegal, missing

DEFAULT_RECV_WINDOW_MS = 5_000
MAX_RECV_WINDOW_MS = 60_000
MAX_AHEAD_MS = 1_000


@dataclass(frozen=True)
class Credentials:
    api_key: str
    api_secret: str

    def sign(self, payload: str) -> str:
        """What a client sends as ``signature`` for ``payload`` (for tests that sign by hand)."""
        return hmac.new(self.api_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _without_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` minus its ``signature=...`` part, and that signature (None if absent)."""
    kept: list[str] = []
    signature: str | None = None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), signature


def verify(
    creds: Credentials,
    *,
    api_key: str | None,
    raw_query: str,
    raw_body: str,
    params: Mapping[str, str],
    server_ms: int,
) -> None:
    """Raise the ApiError Binance would answer, or return if the request is properly signed."""
    if not api_key:
        raise ApiError(-2014, "API-key format invalid.", status=401)
    if not hmac.compare_digest(api_key, creds.api_key):
        raise ApiError(-2015, "Invalid API-key, IP, or permissions for action.", status=401)
    query, signature = _without_signature(raw_query)
    body = raw_body
    if signature is None:
        body, signature = _without_signature(raw_body)
    if not signature:
        raise missing("signature")
    if "timestamp" not in params:
        raise missing("timestamp")
    if not hmac.compare_digest(signature.lower(), creds.sign(query + body)):
        raise ApiError(-1022, "Signature for this request is not valid.")
    try:
        timestamp = int(params["timestamp"])
        window = int(params.get("recvWindow", DEFAULT_RECV_WINDOW_MS))
    except ValueError:
        raise illegal("timestamp", "^[0-9]{1,20}$") from None
    if window > MAX_RECV_WINDOW_MS or window <= 0:
        raise ApiError(-1131, "recvWindow must be less than 60000")
    if timestamp > server_ms + MAX_AHEAD_MS:
        raise ApiError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if server_ms - timestamp > window:
        raise ApiError(-1021, "Timestamp for this request is outside of the recvWindow.")
