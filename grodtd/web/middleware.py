"""ASGI middleware for the web interface: security headers, request ids, access log, errors.

Plain ASGI classes instead of Starlette's ``BaseHTTPMiddleware``: they add no task or stream
per request (``/health`` is probed often and has a latency budget), and they see every
response, including the 404s and 500s that the framework produces outside the routes.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_ALWAYS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
# Live data must never be served from a cache: a stale /ready is worse than none.
_NO_STORE_PREFIXES = ("/api/", "/health", "/ready", "/openapi.json")
_REPLACED = {name for name, _ in _ALWAYS} | {b"server", b"cache-control"}

# Probes that answer well are logged at debug: Docker's healthcheck alone asks every 2 s, and
# thousands of identical "200" lines an hour would bury what matters. Failed probes stay info.
_PROBE_PATHS = frozenset(("/health", "/ready"))

# Accept a caller's id only if it is short and harmless in a log line or a header.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


class SecurityHeadersMiddleware:
    """Stamps the security headers on every response and drops any ``Server`` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        no_store = path.startswith(_NO_STORE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in _REPLACED]
                cached = [
                    (k, v) for k, v in message.get("headers", ()) if k.lower() == b"cache-control"
                ]
                kept.extend(_ALWAYS)
                if no_store:
                    kept.append((b"cache-control", b"no-store"))
                else:
                    kept.extend(cached or [(b"cache-control", b"no-cache")])
                message["headers"] = kept
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Refuses request bodies above ``max_bytes`` with 413 before the app sees them.

    The body is read here, up to the limit, and handed on whole: the routes that take one
    (pause, resume) expect a short JSON object, and a streamed multi-megabyte body must never
    reach JSON parsing or memory. A declared ``Content-Length`` above the limit is refused
    without reading anything.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _json_error(send, 413, f"request body larger than {self.max_bytes} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _json_error(send, 413, f"request body larger than {self.max_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestContextMiddleware:
    """Gives each request an id, logs one access event for it and turns crashes into JSON.

    The id is bound to structlog's context variables, so every log line written while serving
    the request carries it, and it is echoed in ``X-Request-ID`` for the operator to quote.
    """

    def __init__(self, app: ASGIApp, logger: Any) -> None:
        self.app = app
        self.logger = logger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                # The traceback goes to the log (with the request id), never to the client.
                self.logger.exception(
                    "http_unhandled_error", error_type=type(exc).__name__, path=scope.get("path")
                )
                if response_started:
                    raise
                await _json_error(send_with_id, 500, "internal error; quote the X-Request-ID")
        finally:
            client = scope.get("client")
            quiet = status < 400 and scope.get("path") in _PROBE_PATHS
            (self.logger.debug if quiet else self.logger.info)(
                "http_request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000.0, 3),
                request_id=request_id,
                client=f"{client[0]}:{client[1]}" if client else None,
            )
            structlog.contextvars.reset_contextvars(**tokens)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            try:
                candidate: str = bytes(value).decode("ascii")
            except UnicodeDecodeError:
                break
            if _SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


async def _json_error(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
