"""Port 9090's HTTP contract around prometheus_client's ASGI app, which answers any path and
method: only ``GET``/``HEAD /metrics``, the 0.0.4 text format, security headers, and a
failing scrape answered 500 instead of escaping into the server.
"""

from __future__ import annotations

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
)


class MetricsEndpoint:
    """Routes, hardens and guards prometheus_client's app, which answers any path and method.

    The request's ``Accept`` header is dropped: Prometheus asks for OpenMetrics first, and
    prometheus_client would switch to it; the 0.0.4 text format is what every Prometheus
    version parses the same way, so the series the dashboards see stay what they were.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # the embedded server runs without lifespan; nothing else is served
        if scope.get("path") != "/metrics":
            await _plain(send, 404, b"not found; try /metrics\n")
            return
        if scope.get("method", "GET") not in ("GET", "HEAD"):
            await _plain(send, 405, b"method not allowed\n", ((b"allow", b"GET, HEAD"),))
            return
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"accept"]
        response = _HardenedResponse(send)
        try:
            await self._app({**scope, "headers": headers}, receive, response.send)
        except Exception as exc:  # a broken snapshot fails this scrape, never the process
            structlog.stdlib.get_logger("grodtd.ops.metrics").error(
                "metrics_refresh_failed", error=f"{type(exc).__name__}: {exc}"
            )
            if not response.started:
                await _plain(send, 500, b"metrics refresh failed\n")


class _HardenedResponse:
    """Adds the security headers and a Content-Length to a response sent in one body."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._start: Message | None = None
        self.started = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message  # held until the body is known, for its length
            return
        if self._start is not None:
            headers = [*self._start.get("headers", []), *_SECURITY_HEADERS]
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                headers.append((b"content-length", str(len(message.get("body", b""))).encode()))
            await self._send({**self._start, "headers": headers})
            self._start = None
            self.started = True
        await self._send(message)


async def _plain(
    send: Send, status: int, body: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *_SECURITY_HEADERS,
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
