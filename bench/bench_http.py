"""Latency of /health and /metrics under concurrent load while the daemon trades, and its memory.

Starts the real daemon trading on the simulator, drives each endpoint at a fixed request rate
from several keep-alive connections, then reports p50, p99 and max latency and the daemon's
resident memory. Targets (issue 3): p99 under 10 ms at 200 requests per second, resident memory
under 90 MB.

Two targets, the same measurement:

* ``--image grodt:local`` (default): the image as shipped (compiled core, the image's Python,
  its Docker HEALTHCHECK running every 2 s), started with `docker run` as an operator would;
* ``--checkout``: ``python -m grodtd run`` from this checkout.

``--pin`` confines the daemon (and the image's health probes) to CPU 0 and the load generator
to the others, as a one-CPU container limit would. The load generator is deliberately lean:
raw HTTP/1.1 over asyncio streams, one pre-encoded request, no client library, so its own cost
stays small next to the server's.
``--dashboard`` keeps the dashboard open in Debian's headless Chromium for the whole run (it
polls the read API every 2 s and draws both charts, as an operator's open tab does), so the
budgets are measured with the dashboard's load on the daemon; the report counts the
dashboard's requests the daemon logged, proof that it really was polling.
Latency runs from the moment a request is written to the moment its whole body has arrived.
Requests are sent on a fixed schedule; ``late`` counts the ones sent more than 5 ms behind it,
which would mean the generator, not the server, was the bottleneck.

    .venv/bin/python bench/bench_http.py --rate 200 --seconds 30 --write bench/results/http.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support.daemon import DaemonProcess, wait_for  # noqa: E402

DAEMON_CPU = 0
LATE_S = 0.005


@dataclass
class Target:
    label: str
    pid: int  # on this host, for /proc/<pid>/status
    address: str
    web_port: int
    metrics_port: int
    log_lines: Callable[[], list[str]]  # the daemon's stdout so far

    def status(self) -> dict[str, object]:
        url = f"http://{self.address}:{self.web_port}/api/v1/status"
        with urllib.request.urlopen(url, timeout=5) as response:
            body: dict[str, object] = json.load(response)
        return body


def _answers(address: str, port: int, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}:{port}{path}", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@contextmanager
def image_target(image: str, pin: bool, healthcheck: bool) -> Iterator[Target]:
    docker = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
    if subprocess.run([docker, "image", "inspect", image], capture_output=True).returncode:
        sys.exit(f"no image {image}: build it with scripts/docker-build.sh, or use --checkout")
    name = f"grodt-bench-http-{os.getpid()}"
    # No published ports: on loopback they pass Docker's userland proxy, whose copying adds
    # its own latency tail. The container's bridge address is reached through the kernel only.
    subprocess.run(
        [
            docker,
            "run",
            "-d",
            "--name",
            name,
            *([f"--cpuset-cpus={DAEMON_CPU}"] if pin else []),
            image,
        ],
        check=True,
        capture_output=True,
    )
    try:
        fields = subprocess.run(
            [docker, "inspect", "--format", "{{.State.Pid}} {{.NetworkSettings.IPAddress}}", name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        pid, address = int(fields[0]), fields[1]
        wait_for(lambda: _answers(address, 8000, "/ready"), 60, what="the container to be ready")
        # tini is PID 1 of the container; the daemon is its only child.
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()

        def logs() -> list[str]:
            out = subprocess.run([docker, "logs", name], capture_output=True, text=True).stdout
            return out.splitlines()

        yield Target(f"image {image}", int(children[0]), address, 8000, 9090, logs)
    finally:
        subprocess.run([docker, "rm", "-f", name], capture_output=True, check=False)


@contextmanager
def checkout_target(pin: bool) -> Iterator[Target]:
    with tempfile.TemporaryDirectory() as tmp:
        daemon = DaemonProcess(Path(tmp) / "data")
        daemon.start()
        try:
            assert daemon.proc is not None
            if pin:
                os.sched_setaffinity(daemon.proc.pid, {DAEMON_CPU})
            daemon.wait_ready()
            yield Target(
                f"checkout ({sys.executable})",
                daemon.proc.pid,
                "127.0.0.1",
                daemon.web_port,
                daemon.metrics_port,
                daemon.stdout_lines,
            )
        finally:
            daemon.ensure_stopped()


@contextmanager
def dashboard_open(url: str) -> Iterator[None]:
    """Headless Chromium showing the dashboard for as long as the block runs."""
    if not Path(CHROMIUM).exists():
        sys.exit(f"--dashboard needs {CHROMIUM}: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_ARGS, f"--user-data-dir={profile}", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield
        finally:
            browser.terminate()
            try:
                browser.wait(10)
            except subprocess.TimeoutExpired:
                browser.kill()
                browser.wait()


def dashboard_requests(lines: list[str]) -> tuple[int, int, float, float]:
    """From the daemon's access log: chart polls, the tab's requests, their summed and their
    slowest server time in ms (the access log's ``duration_ms``: what the tab cost the daemon)."""
    polls, durations = 0, []
    for line in lines:
        if '"http_request"' not in line or '"/api/v1/' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("path") == "/api/v1/candles":
            polls += 1
        durations.append(float(record.get("duration_ms", 0.0)))
    return polls, len(durations), sum(durations), max(durations, default=0.0)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@dataclass
class Result:
    latencies: list[float]
    errors: int
    late: int


async def drive(
    address: str, port: int, path: str, rate: float, seconds: float, clients: int
) -> Result:
    """``rate`` requests per second in total, spread evenly over ``clients`` connections."""
    result = Result([], 0, 0)
    request = f"GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n".encode()
    period = clients / rate
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1

    async def client(offset: float) -> None:
        reader, writer = await asyncio.open_connection(address, port)
        try:
            for k in range(int(seconds / period)):
                due = start + offset + k * period
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent = time.perf_counter()
                if loop.time() - due > LATE_S:
                    result.late += 1
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                result.latencies.append(time.perf_counter() - sent)
                if head[9:12] != b"200":
                    result.errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(client(i / rate) for i in range(clients)))
    return result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--image", default="grodt:local", help="image to run (default)")
    where.add_argument("--checkout", action="store_true", help="run this checkout instead")
    parser.add_argument("--pin", action="store_true", help="daemon on CPU 0, load on the rest")
    parser.add_argument(
        "--no-healthcheck",
        action="store_true",
        help="image only: without Docker's HEALTHCHECK (to see what its probes cost)",
    )
    parser.add_argument(
        "--dashboard", action="store_true", help="keep the dashboard open in Chromium meanwhile"
    )
    parser.add_argument("--rate", type=float, default=200, help="requests/s per endpoint")
    parser.add_argument("--seconds", type=float, default=30, help="per endpoint")
    parser.add_argument("--clients", type=int, default=8, help="keep-alive connections")
    parser.add_argument("--warmup", type=float, default=15, help="seconds of trading first")
    parser.add_argument("--write", type=Path, help="also write the report to this file")
    args = parser.parse_args()

    cpus = os.sched_getaffinity(0)
    if args.pin and len(cpus) > 1:
        os.sched_setaffinity(0, cpus - {DAEMON_CPU})
    target = (
        checkout_target(args.pin)
        if args.checkout
        else image_target(args.image, args.pin, not args.no_healthcheck)
    )
    with target as daemon:
        url = f"http://{daemon.address}:{daemon.web_port}/"
        browser = dashboard_open(url) if args.dashboard else nullcontext()
        with browser:
            rows, memory, status = measure(daemon, args)
        polls, served, busy_ms, slowest_ms = (
            dashboard_requests(daemon.log_lines()) if args.dashboard else (0, 0, 0.0, 0.0)
        )
    lines = [
        f"Target: {daemon.label}{' without its HEALTHCHECK' if args.no_healthcheck else ''}; "
        + (
            f"daemon pinned to CPU {DAEMON_CPU}, load generator on CPUs "
            f"{sorted(os.sched_getaffinity(0))}; "
            if args.pin
            else "daemon and load generator share every CPU; "
        )
        + (
            f"the dashboard open in headless Chromium ({polls} polls, {served} API requests "
            f"served in {busy_ms:.0f} ms of server time in all, slowest {slowest_ms:.1f} ms); "
            if args.dashboard
            else ""
        )
        + f"{args.rate:g} requests/s per endpoint over "
        f"{args.clients} keep-alive connections for {args.seconds:g} s each, after "
        f"{args.warmup:g} s of trading.",
        "",
        "| endpoint | requests | non-200 | late | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Resident memory of the daemon after the load: {memory:.1f} MB (it had processed "
        f"{status.get('bars_processed')} bars, {status.get('open_positions')} positions open).",
        f"1-minute load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs.",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        command = "    .venv/bin/python bench/bench_http.py " + " ".join(sys.argv[1:])
        args.write.write_text(
            "# HTTP latency under load, and steady memory\n\n"
            f"Measured {time.strftime('%Y-%m-%d', time.gmtime())} on this project's 2-core "
            "CI-class machine while the daemon trades on the simulator.\n\n"
            f"Command:\n\n{command}\n\n{report}\n\n"
            "Targets: p99 under 10 ms at 200 requests/s; resident memory under 90 MB.\n"
        )


def measure(daemon: Target, args: argparse.Namespace) -> tuple[list[str], float, dict[str, object]]:
    """Trade for the warm-up, then load each endpoint; the table rows, RSS and final status."""
    time.sleep(args.warmup)
    rows = []
    for name, port in (("/health", daemon.web_port), ("/metrics", daemon.metrics_port)):
        result = asyncio.run(
            drive(daemon.address, port, name, args.rate, args.seconds, args.clients)
        )
        lat = result.latencies
        rows.append(
            f"| {name} | {len(lat)} | {result.errors} | {result.late} | {pct(lat, 0.5):.2f} "
            f"| {pct(lat, 0.99):.2f} | {max(lat) * 1000:.2f} |"
        )
    return rows, rss_mb(daemon.pid), daemon.status()


if __name__ == "__main__":
    main()
