"""Embedded uvicorn servers that share the daemon's event loop, bounded against hostile clients.

uvicorn normally installs its own SIGTERM/SIGINT handlers and re-raises the signal after
shutting down; inside GRODT the composition root owns signals (it must flip readiness and
drain the engine first), so those handlers are switched off here.

The listening sockets are bound here, before uvicorn starts, so a port in use is a
``StartupError`` naming the variable to change (exit 1) instead of uvicorn's own
``sys.exit(3)`` from inside a task.

Whoever reaches the web or metrics port shares the trading process's memory and event loop,
so every connection is bounded (``HttpLimits``): uvicorn's httptools protocol keeps the
request line and headers in memory as they arrive and has no limit on their size, no deadline
for a request to arrive and no cap on connections. ``GuardedHttpToolsProtocol`` adds those
three; request bodies are capped in the web app (``grodtd.web.middleware.BodyLimitMiddleware``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import socket
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class StartupError(Exception):
    """The daemon could not start for a reason outside configuration (a port in use...)."""


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What one client may cost the daemon; docs/docker-deployment.md states these numbers."""

    # Request line plus headers. Browsers send 1-2 kB; proxies that add SSO cookies rarely
    # pass 16 kB. Beyond this the request is refused with 431 before more bytes are kept.
    max_head_bytes: int = 32 * 1024
    # A request must arrive whole (headers and body) this many seconds after its first byte,
    # or after the connection opened: a slow-loris client is cut off instead of held forever.
    request_timeout_s: float = 10.0
    # An idle keep-alive connection is closed after this long.
    keep_alive_s: float = 5.0
    # Open connections per server; more are answered 503 and closed.
    max_connections: int = 200
    # Loopback clients (the container's own HEALTHCHECK, `grodt healthcheck`) are never
    # refused by the cap, so a flood from outside cannot make the daemon look dead.
    exempt_loopback: bool = True


DEFAULT_LIMITS = HttpLimits()


def _response(status: bytes, message: bytes) -> bytes:
    return b"".join(
        [
            b"HTTP/1.1 ",
            status,
            b"\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ",
            str(len(message)).encode("ascii"),
            b"\r\nconnection: close\r\n\r\n",
            message,
        ]
    )


_HEAD_TOO_LARGE = _response(
    b"431 Request Header Fields Too Large", b"request line and headers too large\n"
)
_TIMEOUT = _response(b"408 Request Timeout", b"request not received in time\n")
_BUSY = _response(b"503 Service Unavailable", b"too many connections\n")


def _is_loopback(client: tuple[str, int] | None) -> bool:
    if client is None:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head-size cap, a request deadline and a connection cap.

    It hooks the parser callbacks that httptools defines (``on_message_begin``,
    ``on_headers_complete``, ``on_message_complete``) and the asyncio ``Protocol`` methods,
    which is the surface uvicorn's own protocol is built on; the hostile-client tests
    (tests/integration/test_hostile_clients.py) prove the behaviour on the locked version.
    """

    limits: ClassVar[HttpLimits] = DEFAULT_LIMITS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limits = self.limits
        if len(self.connections) > limits.max_connections and not (
            limits.exempt_loopback and _is_loopback(self.client)
        ):
            self._refuse(_BUSY)
            return
        self._arm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._in_head:
            super().data_received(data)
            return
        room = self.limits.max_head_bytes - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        # Feed only what still fits: if the head ends inside it, the rest is body or the next
        # request and is checked again; if not, the head is too large and nothing more is kept.
        if room > 0:
            self._head_bytes += room
            super().data_received(data[:room])
        if self._in_head:
            self._refuse(_HEAD_TOO_LARGE)
        elif not self.transport.is_closing():
            self.data_received(data[room:])

    # -- parser callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._arm_deadline()

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm_deadline()
        self._in_head = True
        self._head_bytes = 0

    # -- helpers -------------------------------------------------------------------------

    def _arm_deadline(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.limits.request_timeout_s, self._expired)

    def _disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        cycle = self.cycle
        if cycle is not None and cycle.response_started:
            self.transport.close()  # mid-response: a raw 408 would corrupt the stream
        else:
            self._refuse(_TIMEOUT)

    def _refuse(self, response: bytes) -> None:
        self._disarm_deadline()
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()


def guarded_protocol(limits: HttpLimits) -> type[GuardedHttpToolsProtocol]:
    """A protocol class bound to ``limits`` (uvicorn instantiates the class it is given)."""
    return type("GuardedHttpTools", (GuardedHttpToolsProtocol,), {"limits": limits})


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server on a socket bound by ``listen``; the daemon owns the signals."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket) -> None:
        super().__init__(config)
        self.socket = sock

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        await super().serve(sockets=sockets or [self.socket])


def listen(host: str, port: int, *, what: str, variable: str, backlog: int = 2048) -> socket.socket:
    """Bind and listen now, or raise ``StartupError`` naming the setting to change."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not the default 0: accepted connections inherit it, and asyncio
    # sets TCP_NODELAY only on sockets that say they are TCP. Without it every keep-alive
    # response waits out the client's delayed ACK (Nagle): 40 ms for a 1 ms /health.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except (OSError, OverflowError) as exc:
        sock.close()
        host_variable = variable.replace("_PORT", "_HOST")
        if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
            hint = f"another process uses it: stop that one, or set {variable} to a free port"
        elif isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
            hint = f"ports below 1024 need privileges: set {variable} to a port above 1023"
        else:
            hint = f"check {host_variable} (an address of this machine) and {variable}"
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StartupError(
            f"the {what} server cannot listen on {host}:{port} ({reason}): {hint}"
        ) from None
    return sock


def embedded_server(
    app: Any, sock: socket.socket, *, limits: HttpLimits = DEFAULT_LIMITS
) -> EmbeddedServer:
    config = uvicorn.Config(
        app,
        # Logging is configured once by grodtd.ops.logs; uvicorn must not replace it.
        log_config=None,
        # grodtd.web_app logs each request itself, with the request id.
        access_log=False,
        # OPS-4: no Server header.
        server_header=False,
        date_header=True,
        lifespan="off",
        # The C parser (httptools), behind the limits above; named rather than "auto" so
        # that a missing httptools fails loudly instead of falling back to h11.
        http=guarded_protocol(limits),
        timeout_keep_alive=int(max(1, limits.keep_alive_s)),
        timeout_graceful_shutdown=2,
    )
    return EmbeddedServer(config, sock)
