"""The real daemon against hostile clients on its web and metrics ports.

Whoever reaches port 8000 or 9090 shares the trading process's memory and event loop. These
tests play that client: fuzzed and malformed requests, every wrong form of the bearer token,
oversized headers and bodies, slow-loris and connection floods. They assert what an operator
relies on: no 5xx, no traceback and no token in any answer, metric or log line, resident
memory under ``RSS_BOUND_MB`` during and after each attack, ``/health`` answering within
``HEALTH_BUDGET_S`` while it runs, and every attacking connection closed by the daemon.
The limits themselves are ``grodtd.live.servers.HttpLimits`` (docs/docker-deployment.md).
"""

from __future__ import annotations

import contextlib
import random
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from grodtd.live.servers import DEFAULT_LIMITS
from tests.support.daemon import DaemonProcess, wait_for

pytestmark = pytest.mark.slow

TOKEN = "hostile-test-token-Zq81-never-echo"
RSS_BOUND_MB = 150.0
HEALTH_BUDGET_S = 0.050
ROUTES = (
    "/",
    "/health",
    "/ready",
    "/openapi.json",
    "/static/app.js",
    "/static/vendor/lightweight-charts.standalone.production.js",
    "/docs",
    "/api/v1/checks",
    "/api/v1/status",
    "/api/v1/positions",
    "/api/v1/orders",
    "/api/v1/fills",
    "/api/v1/trades",
    "/api/v1/equity",
    "/api/v1/equity/history",
    "/api/v1/candles",
    "/api/v1/control/pause",
    "/api/v1/control/resume",
)
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "FOO")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    root = tmp_path_factory.mktemp("hostile")
    token_file = root / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    proc = DaemonProcess(root / "data", env={"GRODT_CONTROL_TOKEN_FILE": str(token_file)})
    proc.env.pop("GRODT_CONTROL_TOKEN")
    proc.start()
    try:
        proc.wait_ready(timeout=60)
        yield proc
    finally:
        proc.ensure_stopped()


def rss_mb(d: DaemonProcess) -> float:
    assert d.proc is not None
    for line in Path(f"/proc/{d.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS in /proc status")


def health_latency(d: DaemonProcess) -> float:
    """One probe as an orchestrator sends it: a new connection, GET /health, the answer."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", d.web_port), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    elapsed = time.perf_counter() - started
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
    return elapsed


class Watch:
    """Samples memory and /health latency in the background while an attack runs."""

    def __init__(self, d: DaemonProcess) -> None:
        self._d = d
        self.rss: list[float] = []
        self.health: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.rss.append(rss_mb(self._d))
            self.health.append(health_latency(self._d))
            self._stop.wait(0.1)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def assert_within_bounds(self) -> None:
        assert self.rss and self.health, "the watch took no sample"
        assert max(self.rss) < RSS_BOUND_MB, f"RSS peaked at {max(self.rss):.1f} MB"
        # The median, not the maximum: two cores shared with the attackers and the test.
        median = statistics.median(self.health)
        assert median < HEALTH_BUDGET_S, f"/health median {median * 1000:.1f} ms under attack"


def raw(port: int, payload: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes as they are and read the whole answer (the server closes or times out)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        # Refused mid-send: what was answered (if anything) is read below.
        with contextlib.suppress(OSError):
            sock.sendall(payload)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return answer


def raw_request(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes | None
) -> tuple[int, str]:
    lines = [f"{method} {path} HTTP/1.1", "Host: fuzz", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
    answer = raw(port, head + (body or b""))
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer.decode("utf-8", "replace")


def assert_clean(status: int, body: str) -> None:
    assert status < 500, (status, body[:300])
    assert "Traceback" not in body
    assert TOKEN not in body


def token_forms() -> list[dict[str, str]]:
    return [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": TOKEN},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Bearer  {TOKEN} trailing"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Token {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN.upper()}"},
        {"Authorization": "Bearer " + "A" * 4000},
        {"X-Api-Key": TOKEN},
    ]


def fuzz_requests(rng: random.Random) -> Iterator[tuple[str, str, dict[str, str], bytes | None]]:
    junk_paths = [
        "/../../etc/passwd",
        "/static/../../grodtd/app.py",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2fpyproject.toml",
        "/api/v1/orders/../../../../etc/shadow",
        "/%00",
        "/api/v1/%ff%fe",
        "/api/v1/status?" + "x=" * 500,
        "/api/v1/orders?limit=-1&offset=abc",
        "/api/v1/orders?limit=99999999999999999999",
        "/api/v1/equity?since=9999-99-99",
        "/api/v1/equity?since=" + "9" * 400,
        "/api/v1/candles?symbol=" + "B" * 5000,
        "/api/v1/candles?symbol=../../etc&since=1e999",
        "/api/v1/equity/history?points=1e9",
        "/api/v1/orders?status=pending&status=" + "x" * 3000,
        "/" + "a" * 8000,
        "/\u00e9t\u00e9",
    ]
    bodies: list[tuple[bytes | None, str]] = [
        (None, ""),
        (b"{", "application/json"),
        (b'{"reason": 1}', "application/json"),
        (b'{"by": "' + b"x" * 200 + b'"}', "application/json"),
        (b"[" * 5000, "application/json"),
        (b'{"a":' * 2000 + b"1" + b"}" * 2000, "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"reason=x", "application/x-www-form-urlencoded"),
        (b"<xml/>", "text/xml"),
        (b'{"reason": "' + b"x" * 2_000_000 + b'"}', "application/json"),
    ]
    for path in (*ROUTES, *junk_paths):
        for method in METHODS:
            body, content_type = rng.choice(bodies)
            headers = dict(rng.choice(token_forms()))
            if content_type:
                headers["Content-Type"] = content_type
            yield method, path, headers, body
    for _ in range(600):
        path = "/" + "".join(rng.choice("abcz/._-%~0123456789") for _ in range(rng.randint(0, 60)))
        body, content_type = rng.choice(bodies)
        headers = dict(rng.choice(token_forms()))
        if content_type:
            headers["Content-Type"] = content_type
        yield rng.choice(METHODS), path, headers, body


def test_fuzzed_requests_get_no_5xx_no_traceback_and_never_the_token(
    daemon: DaemonProcess,
) -> None:
    rng = random.Random(16)
    sent = 0
    with httpx.Client(base_url=daemon.url, timeout=10) as client, Watch(daemon) as watch:
        for method, path, headers, body in fuzz_requests(rng):
            try:
                response = client.request(method, path, headers=headers, content=body)
            except httpx.RemoteProtocolError:
                continue  # the server closed a request it refused outright; checked below
            except httpx.LocalProtocolError:
                # httpx will not send this header as it is; send the bytes by hand.
                status, text = raw_request(daemon.web_port, method, path, headers, body)
                assert_clean(status, text)
                sent += 1
                continue
            sent += 1
            assert_clean(response.status_code, response.text + str(response.headers))
            if path.startswith("/api/v1/control") and method == "POST":
                # Only the exact token opens control; here it is never sent in exact form.
                assert response.status_code in (401, 413, 422), (headers, response.text)
    watch.assert_within_bounds()
    assert sent > 800
    # Malformed on the wire: answered 400 (or closed), never a 5xx or a hang.
    for payload in (
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET / HTTP/1.1\r\n\x00\x01\x02: \xff\r\n\r\n",
        b"POST /api/v1/control/pause HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
        b"Content-Length: 20\r\n\r\n0123456789",
    ):
        answer = raw(daemon.web_port, payload)
        assert not answer or answer.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4")), answer[:200]
    metrics = httpx.get(daemon.metrics_url, timeout=5).text
    assert TOKEN not in metrics
    assert TOKEN not in "\n".join(daemon.stdout_lines()) + daemon.stderr()
    assert daemon.status_code("/health") == 200


def test_an_oversized_header_is_refused_with_431_and_the_connection_closed(
    daemon: DaemonProcess,
) -> None:
    too_big = DEFAULT_LIMITS.max_head_bytes + 1024
    for port in (daemon.web_port, daemon.metrics_port):
        line = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * too_big + b"\r\n\r\n"
        answer = raw(port, line)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
        assert b"connection: close" in answer.lower()
        many = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 5000 + b"\r\n"
        assert raw(port, many).startswith(b"HTTP/1.1 431")
    just_fits = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    assert raw(daemon.web_port, just_fits).startswith(b"HTTP/1.1 200")


def _flood_header(port: int, megabytes: int, outcome: list[str]) -> None:
    """One unfinished header of ``megabytes`` MB, sent as fast as the server takes it."""
    chunk = b"a" * 65536
    sent = 0
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Flood: ")
            while sent < megabytes * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
            outcome.append(f"server kept reading {sent} bytes")
    except OSError:
        outcome.append(f"closed by the server after {sent} bytes")


def test_four_unfinished_100_mb_headers_leave_the_daemon_small_and_answering(
    daemon: DaemonProcess,
) -> None:
    before = rss_mb(daemon)
    outcome: list[str] = []
    with Watch(daemon) as watch:
        attackers = [
            threading.Thread(target=_flood_header, args=(port, 100, outcome))
            for port in (daemon.web_port, daemon.web_port, daemon.web_port, daemon.metrics_port)
        ]
        for attacker in attackers:
            attacker.start()
        for attacker in attackers:
            attacker.join(60)
        time.sleep(0.5)
    watch.assert_within_bounds()
    assert len(outcome) == 4 and all(o.startswith("closed by the server") for o in outcome), outcome
    after = rss_mb(daemon)
    assert after < RSS_BOUND_MB, f"RSS after the attack {after:.1f} MB (before {before:.1f} MB)"


def _open_connections(port: int, count: int, send: Callable[[socket.socket], None]) -> list:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        send(sock)
        sockets.append(sock)
    return sockets


def _closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        data = sock.recv(4096)
    except BlockingIOError:
        return False
    except OSError:
        return True
    # A 408 answer, then EOF, both mean the server is done with it.
    return data == b"" or data.startswith(b"HTTP/1.1 408")


def test_slow_loris_and_idle_connections_are_cut_off_after_the_request_timeout(
    daemon: DaemonProcess,
) -> None:
    timeout = DEFAULT_LIMITS.request_timeout_s
    with Watch(daemon) as watch:
        idle = _open_connections(daemon.web_port, 300, lambda s: None)
        loris = _open_connections(
            daemon.web_port, 50, lambda s: s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        )
        started = time.monotonic()
        # Slow-loris keeps sending a header byte now and then: still cut off on time.
        while time.monotonic() - started < timeout - 1:
            for sock in loris:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X")
            time.sleep(1.0)
        everything = idle + loris
        closed = wait_for(
            lambda: all(_closed_by_server(s) for s in everything) or None,
            timeout=timeout + 5,
            interval=0.5,
            what="the daemon to close idle and slow-loris connections",
        )
        elapsed = time.monotonic() - started
    for sock in everything:
        sock.close()
    assert closed
    assert elapsed < timeout + 5
    watch.assert_within_bounds()
    assert daemon.status_code("/health") == 200


def test_oversized_bodies_are_refused_before_they_are_kept(daemon: DaemonProcess) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    big = b'{"reason": "' + b"x" * (8 * 1024 * 1024) + b'"}'
    with Watch(daemon) as watch:
        for _ in range(5):
            response = httpx.post(
                f"{daemon.url}/api/v1/control/pause", headers=auth, content=big, timeout=30
            )
            assert response.status_code == 413, response.text[:200]
        # A declared length far beyond the limit is refused without reading the body at all.
        answer = raw(
            daemon.web_port,
            b"POST /api/v1/control/pause HTTP/1.1\r\nHost: x\r\nContent-Type: "
            b"application/json\r\nContent-Length: 1000000000\r\n\r\n{",
        )
        assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    watch.assert_within_bounds()
    # And the control still works with a proper body.
    ok = httpx.post(
        f"{daemon.url}/api/v1/control/resume", headers=auth, json={"reason": "test"}, timeout=5
    )
    assert ok.status_code == 200
