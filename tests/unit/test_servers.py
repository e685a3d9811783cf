"""The embedded servers' own rules: binding errors that name the variable, the connection cap.

The daemon-level attacks (oversized headers, slow-loris, floods) are in
tests/integration/test_hostile_clients.py; here a real uvicorn server runs in-process with
tighter limits, so the cap can be seen from loopback (which the daemon never refuses).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from grodtd.live.servers import HttpLimits, StartupError, embedded_server, listen


async def _ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def running(limits: HttpLimits) -> Iterator[int]:
    sock = listen("127.0.0.1", 0, what="test", variable="GRODT_TEST_PORT")
    port = sock.getsockname()[1]
    server = embedded_server(_ok, sock, limits=limits)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def get(port: int) -> bytes:
    """The answer; b"RESET" when the server closed first (its 503 may be lost to the RST)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        answer = b""
        try:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while chunk := sock.recv(4096):
                answer += chunk
        except ConnectionResetError:
            return answer or b"RESET"
    return answer


def test_connections_above_the_cap_are_answered_503_and_closed() -> None:
    limits = HttpLimits(max_connections=5, exempt_loopback=False, request_timeout_s=30)
    with running(limits) as port:
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
        try:
            time.sleep(0.2)  # let the server accept all five
            assert get(port).startswith((b"HTTP/1.1 503", b"RESET"))
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.2)
        assert get(port).startswith(b"HTTP/1.1 200")


def test_loopback_is_never_refused_by_the_cap_by_default() -> None:
    with running(HttpLimits(max_connections=2, request_timeout_s=30)) as port:
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(4)]
        try:
            time.sleep(0.2)
            assert get(port).startswith(b"HTTP/1.1 200")
        finally:
            for sock in held:
                sock.close()


def test_a_request_body_that_never_arrives_is_cut_off() -> None:
    with running(HttpLimits(request_timeout_s=1.0)) as port:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
            answer = sock.recv(4096)
        assert time.monotonic() - started < 3
        # The app answered before reading the body; the connection is closed once the
        # deadline for the rest of the request passes.
        assert answer.startswith(b"HTTP/1.1 ")


def test_a_port_in_use_is_a_startup_error_naming_the_variable() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError) as caught:
            listen("127.0.0.1", port, what="web", variable="GRODT_WEB_PORT")
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "GRODT_WEB_PORT" in message
    assert "in use" in message


def test_an_address_not_of_this_machine_names_the_host_variable() -> None:
    with pytest.raises(StartupError) as caught:
        listen("192.0.2.1", 0, what="metrics", variable="GRODT_METRICS_PORT")
    assert "GRODT_METRICS_HOST" in str(caught.value)


def test_accepted_connections_send_without_waiting_for_the_delayed_ack() -> None:
    # A listening socket made with proto 0 hands asyncio connections it does not recognise
    # as TCP, so TCP_NODELAY stays off and every keep-alive response after the first waited
    # 40 ms for the client's delayed ACK (found by bench/bench_http.py: /health p50 44 ms).
    sock = listen("127.0.0.1", 0, what="web", variable="GRODT_WEB_PORT")
    port = sock.getsockname()[1]
    seen: list[int] = []

    async def scenario() -> None:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted = writer.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handler, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(scenario())
    assert seen == [1]
