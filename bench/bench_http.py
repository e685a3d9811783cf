"""Latency of /health and /metrics under concurrent load while the daemon trades, and its memory.

Starts the real daemon (default settings, trading on the simulator) and drives each endpoint
at a fixed request rate from several concurrent clients for a while, then reports p50 and p99
latency and the daemon's resident memory. Targets (issue 3): p99 under 10 ms at 200 requests
per second, resident memory under 90 MB.

    .venv/bin/python bench/bench_http.py --rate 200 --seconds 30 --write bench/results/http.md
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.daemon import DaemonProcess


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def drive(url: str, rate: float, seconds: float, clients: int) -> list[float]:
    """Send ``rate`` requests per second in total, spread over ``clients`` connections."""
    latencies: list[float] = []
    errors = 0
    per_client = rate / clients

    async def client_loop(offset: float) -> None:
        nonlocal errors
        async with httpx.AsyncClient(timeout=5) as client:
            start = time.perf_counter() + offset
            n = 0
            while True:
                due = start + n / per_client
                if due - start > seconds:
                    return
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent = time.perf_counter()
                response = await client.get(url)
                latencies.append(time.perf_counter() - sent)
                if response.status_code != 200:
                    errors += 1
                n += 1

    await asyncio.gather(*(client_loop(i / rate) for i in range(clients)))
    if errors:
        print(f"{url}: {errors} non-200 answers", file=sys.stderr)
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=20, help="seconds of trading first")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        daemon = DaemonProcess(Path(tmp) / "data")
        daemon.start()
        try:
            daemon.wait_ready()
            time.sleep(args.warmup)
            assert daemon.proc is not None
            rows = []
            for name, url in (
                ("/health", daemon.url + "/health"),
                ("/metrics", daemon.metrics_url),
            ):
                lat = asyncio.run(drive(url, args.rate, args.seconds, args.clients))
                rows.append(
                    (name, len(lat), pct(lat, 0.5), pct(lat, 0.99), statistics.fmean(lat) * 1000)
                )
            memory = rss_mb(daemon.proc.pid)
            fills = daemon.query("SELECT COUNT(*) FROM fills")[0][0]
            bars = daemon.get("/api/v1/status").json().get("bars_processed")
        finally:
            daemon.ensure_stopped()
    lines = [
        "| endpoint | requests | p50 ms | p99 ms | mean ms |",
        "|---|---|---|---|---|",
        *(f"| {n} | {c} | {p50:.2f} | {p99:.2f} | {mean:.2f} |" for n, c, p50, p99, mean in rows),
        "",
        f"Resident memory of the daemon after the load: {memory:.1f} MB "
        f"(it had processed {bars} bars and made {fills} fills).",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        command = "    .venv/bin/python bench/bench_http.py " + " ".join(sys.argv[1:])
        args.write.write_text(
            "# HTTP latency under load, and steady memory\n\n"
            f"Measured {time.strftime('%Y-%m-%d', time.gmtime())} on this project's 2-core "
            f"CI-class machine, {args.rate:g} requests/s per endpoint from {args.clients} "
            "concurrent "
            f"clients for {args.seconds:g} s each, while the daemon trades on the simulator. "
            "The load generator shares the 2 cores, so the figures include its contention."
            "\n\n"
            f"Command:\n\n{command}\n\n{report}\n\n"
            "Targets: p99 under 10 ms at 200 requests/s; resident memory under 90 MB.\n"
        )


if __name__ == "__main__":
    main()
