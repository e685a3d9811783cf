"""Size, start-to-healthy time and memory of the GRODT container image (issue 4).

Measures, on the real engine:
  * the image's total size and the size of the layers GRODT adds over its base image;
  * the time from `docker run` to Docker itself reporting the container healthy (polling
    `docker inspect`), over several starts;
  * the container's memory (`docker stats --no-stream`) after N seconds of trading, and the
    order count at that point, which proves it was trading;
  * the same on an exchange (``--exchange-seconds``): the container paper-trades on the
    Binance emulator of the tests, on 127.0.0.1 (host network), with ccxt loaded and polling.
Targets: added layers <= 100 MB, healthy within 3 s, memory under 100 MB (both sources).

    scripts/docker-build.sh
    .venv/bin/python bench/bench_image.py --seconds 300 --exchange-seconds 300 \
        --write bench/results/image.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the exchange emulator lives with the tests

# 90 MB until the PostgreSQL driver (psycopg with its libpq, about 12 MB) joined the image so
# that one image serves SQLite and a fleet's PostgreSQL alike.
TARGET_ADDED_MB = 100.0
TARGET_HEALTHY_S = 3.0
TARGET_MEMORY_MB = 100.0


def docker_binary() -> str:
    return os.environ.get("DOCKER") or (
        "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
    )


@dataclass
class Engine:
    binary: str

    def __call__(self, *args: str, timeout: float = 120.0) -> str:
        result = subprocess.run(
            [self.binary, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout.strip()

    def size(self, image: str) -> int:
        return int(self("image", "inspect", "--format", "{{.Size}}", image))

    def added_layers(self, image: str, base: str) -> list[tuple[int, str]]:
        """History entries of the image above the base's own history, with bytes."""

        def rows(ref: str) -> list[tuple[int, str]]:
            out = self(
                "history",
                "--no-trunc",
                "--human=false",
                "--format",
                "{{.Size}}\t{{.CreatedBy}}",
                ref,
            )
            return [(int(s), c) for s, _, c in (line.partition("\t") for line in out.splitlines())]

        mine, theirs = rows(image), rows(base)
        return mine[: len(mine) - len(theirs)]

    def seconds_to_healthy(self, name: str, image: str, *options: str) -> float:
        started = time.monotonic()
        self("run", "-d", "--name", name, *options, image)
        while time.monotonic() - started < 120:
            state = json.loads(self("inspect", "--format", "{{json .State}}", name))
            if (state.get("Health") or {}).get("Status") == "healthy":
                return time.monotonic() - started
            if not state["Running"]:
                raise RuntimeError(f"{name} exited {state['ExitCode']}")
            time.sleep(0.05)
        raise RuntimeError(f"{name} not healthy within 120 s")

    def memory_mib(self, name: str) -> float:
        """The container's memory as `docker stats` reports it, e.g. "61.2MiB / 23.5GiB"."""
        usage = self("stats", "--no-stream", "--format", "{{.MemUsage}}", name).split("/")[0]
        match = re.fullmatch(r"([\d.]+)\s*([KMG]i?B)", usage.strip())
        if match is None:
            raise RuntimeError(f"unexpected docker stats output: {usage!r}")
        scale = {"K": 1 / 1024, "M": 1.0, "G": 1024.0}[match.group(2)[0]]
        return float(match.group(1)) * scale


def orders_total(port: int) -> int:
    url = f"http://127.0.0.1:{port}/api/v1/orders?limit=1"
    with urllib.request.urlopen(url, timeout=5) as response:
        return int(json.loads(response.read())["total"])


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def exchange_run(docker: Engine, image: str, name: str, seconds: float) -> tuple[float, int]:
    """Memory (MiB) and orders after ``seconds`` of paper trading on the emulator."""
    from tests.support.exchange import BinanceEmulator

    # 60x: a candle closes every second, so a few minutes hold hours of trading decisions.
    with BinanceEmulator(symbols=["BTC/USDT", "ETH/USDT"], speed=60.0, seed=11) as emu:
        web, metrics = free_port(), free_port()
        env = {
            "GRODT_MARKET__SOURCE": "exchange",
            "GRODT_MARKET__BASE_URL": emu.url,
            "GRODT_MARKET__SYMBOLS": "BTC-USDT,ETH-USDT",
            "GRODT_MARKET__POLL_SECONDS": "0.2",
            "GRODT_MARKET__HISTORY_BARS": "120",
            "GRODT_WEB_PORT": str(web),
            "GRODT_METRICS_PORT": str(metrics),
        }
        options = ["--network", "host", *[a for k, v in env.items() for a in ("-e", f"{k}={v}")]]
        healthy = docker.seconds_to_healthy(name, image, *options)
        time.sleep(max(0.0, seconds - healthy))
        return docker.memory_mib(name), orders_total(web)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="grodt:local")
    parser.add_argument("--base", default="grodt-base:trixie")
    parser.add_argument("--seconds", type=float, default=300.0, help="trading time before memory")
    parser.add_argument("--starts", type=int, default=3, help="starts timed to healthy")
    parser.add_argument(
        "--exchange-seconds", type=float, default=0.0, help="trading time on the emulator (0: skip)"
    )
    parser.add_argument("--write", type=Path, help="write the results as Markdown here")
    args = parser.parse_args()
    docker = Engine(docker_binary())
    tag = uuid.uuid4().hex[:8]
    names: list[str] = []
    try:
        total, base = docker.size(args.image), docker.size(args.base)
        layers = docker.added_layers(args.image, args.base)
        added = sum(size for size, _ in layers)
        healthy: list[float] = []
        for i in range(args.starts):
            names.append(f"grodt-bench-{tag}-{i}")
            healthy.append(
                docker.seconds_to_healthy(names[-1], args.image, "-p", "127.0.0.1::8000")
            )
            # Only the last one keeps trading: earlier ones would compete for the CPU.
            if i < args.starts - 1:
                docker("rm", "-f", "-v", names[-1])
        port = int(docker("port", names[-1], "8000/tcp").splitlines()[0].rsplit(":", 1)[1])
        time.sleep(max(0.0, args.seconds - healthy[-1]))
        memory = docker.memory_mib(names[-1])
        orders = orders_total(port)
        docker("rm", "-f", "-v", names[-1])
        exchange: tuple[float, int] | None = None
        if args.exchange_seconds > 0:
            names.append(f"grodt-bench-{tag}-exchange")
            exchange = exchange_run(docker, args.image, names[-1], args.exchange_seconds)
    finally:
        for name in names:
            subprocess.run(
                [docker.binary, "rm", "-f", "-v", name], capture_output=True, check=False
            )

    verdict = {
        "added": "met" if added / 1e6 <= TARGET_ADDED_MB else "MISSED",
        "healthy": "met" if statistics.median(healthy) <= TARGET_HEALTHY_S else "MISSED",
        "memory": "met" if memory < TARGET_MEMORY_MB else "MISSED",
    }
    exchange_rows = []
    if exchange is not None:
        verdict["exchange"] = "met" if exchange[0] < TARGET_MEMORY_MB else "MISSED"
        exchange_rows.append(
            f"| Memory after {args.exchange_seconds:.0f} s on an exchange (the emulator, 60x) "
            f"| {exchange[0]:.1f} MiB ({exchange[1]} orders placed) "
            f"| < {TARGET_MEMORY_MB:.0f} MB | {verdict['exchange']} |"
        )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    engine_version = docker("version", "--format", "{{.Server.Version}}")
    lines = [
        "# Container image benchmark",
        "",
        "```",
        "scripts/docker-build.sh",
        " ".join([".venv/bin/python", "bench/bench_image.py", *sys.argv[1:]]),
        "```",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Docker {engine_version}, "
        f"image `{args.image}` over base `{args.base}`, {os.cpu_count()} CPUs, "
        f"load average at the end: {load}.",
        "",
        "| Measure | Value | Target | |",
        "|---|---|---|---|",
        f"| Image total | {total / 1e6:.1f} MB | | |",
        f"| Base image | {base / 1e6:.1f} MB | | |",
        f"| Layers GRODT adds | {added / 1e6:.1f} MB | <= {TARGET_ADDED_MB:.0f} MB "
        f"| {verdict['added']} |",
        f"| `docker run` -> healthy (median of {len(healthy)}) "
        f"| {statistics.median(healthy):.2f} s (each: {', '.join(f'{h:.2f}' for h in healthy)}) "
        f"| <= {TARGET_HEALTHY_S:.0f} s | {verdict['healthy']} |",
        f"| Memory after {args.seconds:.0f} s of trading (`docker stats`) | {memory:.1f} MiB "
        f"({orders} orders placed) | < {TARGET_MEMORY_MB:.0f} MB | {verdict['memory']} |",
        *exchange_rows,
        "",
        "Layers GRODT adds (newest first):",
        "",
        *[f"- {size / 1e6:.2f} MB: `{cmd[:110]}`" for size, cmd in layers if size > 0],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text)
    return 0 if all(v == "met" for v in verdict.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
