"""The HTTP layer: parse a request, apply request faults, route it, answer as Binance does."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .auth import verify
from .context import ApiRequest, ExchangeState, Route
from .errors import ApiError
from .faults import REQUEST_KINDS, Fault
from .journal import JournalEntry
from .private_api import ROUTES as PRIVATE_ROUTES
from .public_api import ROUTES as PUBLIC_ROUTES

ROUTES: dict[tuple[str, str], Route] = {**PUBLIC_ROUTES, **PRIVATE_ROUTES}
JSON_TYPE = "application/json;charset=UTF-8"
RATE_LIMIT_MSG = (
    "Too many requests; current limit of IP(127.0.0.1) request weight per 1 MINUTE is 6000. "
    "Please use WebSocket Streams for live updates to avoid polling the API."
)
BANNED_MSG = (
    "Way too much request weight used; IP banned until {until}. Please use WebSocket "
    "Streams for live updates to avoid bans."
)
INTERNAL_MSG = "Internal error; unable to process your request. Please try again."
GATEWAY_PAGE = "<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"


class WeightMeter:
    """Request weight used in the current real minute, for ``X-MBX-USED-WEIGHT-1M``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._minute = 0
        self._used = 0

    def add(self, weight: int) -> int:
        minute = int(time.time() // 60)
        with self._lock:
            if minute != self._minute:
                self._minute, self._used = minute, 0
            self._used += weight
            return self._used


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Tracks open connections so ``close_connections`` can end keep-alive ones at shutdown."""

    daemon_threads = True

    def __init__(self, port: int, state: ExchangeState, stopping: threading.Event) -> None:
        self.state = state
        self.stopping = stopping
        self.weights = WeightMeter()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a client's connection pool expects
    server_version = "emulated-binance"
    sys_version = ""
    timeout = 30  # an idle keep-alive connection is closed after this
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK add about 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # the journal is the access log
        pass

    def _dispatch(self, method: str) -> None:
        state = self.server.state
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        params.update(parse_qsl(raw_body, keep_blank_values=True))
        headers = dict(self.headers.items())
        req = ApiRequest(
            method, split.path, params, headers, split.query, raw_body, state.clock.now_ms()
        )
        route = ROUTES.get((method, split.path))
        used = self.server.weights.add(route.weight if route else 1)
        fault = state.faults.take(REQUEST_KINDS, req.path, method)
        if fault is not None:
            req.fault = fault.kind
            if fault.kind == "drop":
                self._record(req, route, 0, None)
                self._drop()
                return
            if fault.kind == "timeout":
                if self.server.stopping.wait(fault.seconds):
                    self._drop()
                    return
                req.now_ms = state.clock.now_ms()
            else:
                self._send_fault(req, route, fault, used)
                return
        status, body, code = self._answer(route, req)
        if req.drop_response:
            self._record(req, route, 0, code)
            self._drop()
            return
        self._record(req, route, status, code)
        self._send(
            status,
            json.dumps(body, separators=(",", ":")).encode(),
            JSON_TYPE,
            {"X-MBX-USED-WEIGHT-1M": str(used), **req.extra_headers},
        )

    def _answer(self, route: Route | None, req: ApiRequest) -> tuple[int, Any, int | None]:
        if route is None:
            # No Binance code: ccxt then maps the status (404: ExchangeNotAvailable) and shows
            # this message, which names what the emulator lacks.
            return 404, {"msg": f"the emulator has no endpoint {req.method} {req.path}"}, None
        state = self.server.state
        try:
            with state.lock:
                state.engine.sync(req.now_ms)
                if route.signed:
                    verify(
                        state.creds,
                        api_key=self.headers.get("X-MBX-APIKEY"),
                        raw_query=req.raw_query,
                        raw_body=req.raw_body,
                        params=req.params,
                        server_ms=state.clock.auth_ms(state.skew_ms(req)),
                    )
                return 200, route.handler(state, req), None
        except ApiError as e:
            return e.status, e.body(), e.code
        except Exception as e:  # a bug in the emulator: say so loudly instead of hanging
            traceback.print_exc(file=sys.stderr)
            return 500, {"code": -1000, "msg": f"emulator bug: {e!r}"}, -1000

    def _send_fault(self, req: ApiRequest, route: Route | None, fault: Fault, used: int) -> None:
        status = int(fault.kind)
        headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
        code: int | None = -1003
        if status in (429, 418):
            headers["Retry-After"] = str(fault.retry_after)
            until = int(time.time() * 1000) + fault.retry_after * 1000
            msg = RATE_LIMIT_MSG if status == 429 else BANNED_MSG.format(until=until)
            payload, content_type = json.dumps({"code": -1003, "msg": msg}).encode(), JSON_TYPE
        elif fault.json_body:
            code = -1001
            payload = json.dumps({"code": code, "msg": INTERNAL_MSG}).encode()
            content_type = JSON_TYPE
        else:
            code = None
            text = {500: "500 Internal Server Error", 503: "503 Service Unavailable"}[status]
            payload, content_type = GATEWAY_PAGE.format(status=text).encode(), "text/html"
        self._record(req, route, status, code)
        self._send(status, payload, content_type, headers)

    def _send(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str]
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up (a timeout fault outlived its patience)
            self.close_connection = True

    def _drop(self) -> None:
        """Close the connection without a byte of response: the client sees a reset/EOF."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _record(self, req: ApiRequest, route: Route | None, status: int, code: int | None) -> None:
        self.server.state.journal.record(
            JournalEntry(
                method=req.method,
                path=req.path,
                params=dict(req.params),
                status=status,
                code=code,
                fault=req.fault,
                wall_s=time.time(),
                market_ms=req.now_ms,
                signed=bool(route and route.signed),
            )
        )
