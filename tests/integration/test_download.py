"""`grodt download` against the Binance emulator: a CSV a backtest reads, a resume after a
kill halfway, and one line with exit 2 for what no retry can fix."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemon import REPO, grodt, grodt_env
from tests.support.exchange import BinanceEmulator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def emu() -> Iterator[BinanceEmulator]:
    # A frozen clock: every run sees the same history, so files can be compared whole.
    with BinanceEmulator(symbols=["BTC/USDT", "ETH/USDT"], speed=0.0, seed=11) as emulator:
        yield emulator


def download(emu: BinanceEmulator, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return grodt(
        "download", "--base-url", emu.url, "--out", str(out), "--no-progress", *args, timeout=300
    )


def rows(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_download_writes_csv_files_a_backtest_replays(emu: BinanceEmulator, tmp_path: Path) -> None:
    result = download(emu, tmp_path, "--symbols", "BTC/USDT,ETH/USDT", "--days", "3")
    assert result.returncode == 0, result.stderr
    btc = tmp_path / "binance-BTC-USDT-1m.csv"
    lines = rows(btc)
    assert lines[0] == "timestamp,open,high,low,close,volume"
    times = [int(line.split(",")[0]) for line in lines[1:]]
    assert len(times) == 3 * 1440
    assert times == list(range(times[0], times[0] + 60 * len(times), 60))
    # The forming candle is never written.
    assert (times[-1] + 60) * 1000 <= emu.clock.now_ms()
    assert f"--csv BTC-USDT={btc}" in result.stderr
    backtest = grodt("backtest", "--csv", f"BTC-USDT={btc}", "--json", "--no-progress")
    assert backtest.returncode == 0, backtest.stderr
    assert json.loads(backtest.stdout)["bars"] == 3 * 1440


def test_a_download_killed_halfway_resumes_where_it_stopped(
    emu: BinanceEmulator, tmp_path: Path
) -> None:
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert download(emu, whole, "--symbols", "BTC/USDT", "--days", "20").returncode == 0
    path = killed / "binance-BTC-USDT-1m.csv"
    emu.faults.add("timeout", seconds=0.3, path_prefix="/api/v3/klines")  # slow pages
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grodtd",
            "download",
            "--base-url",
            emu.url,
            "--out",
            str(killed),
            "--no-progress",
            "--symbols",
            "BTC/USDT",
            "--days",
            "20",
        ],
        cwd=REPO,
        env=grodt_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not (path.exists() and len(rows(path)) > 5000):
        assert proc.poll() is None and time.monotonic() < deadline, "the download ended first"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    emu.faults.clear()
    partial = len(rows(path))
    assert partial < 20 * 1440
    resumed = download(emu, killed, "--symbols", "BTC/USDT", "--days", "20")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed" in resumed.stderr
    assert rows(path) == rows(whole / "binance-BTC-USDT-1m.csv")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--exchange", "no_such_exchange", "--symbols", "BTC/USDT"], "--exchange"),
        (["--symbols", "DOGE/EUR"], "DOGE/EUR"),
        (["--symbols", "btc"], "--symbols"),
        (["--symbols", "BTC/USDT", "--days", "-1"], "--days"),
    ],
)
def test_what_no_retry_can_fix_exits_2_with_one_line(
    emu: BinanceEmulator, tmp_path: Path, args: list[str], needle: str
) -> None:
    result = download(emu, tmp_path, *args)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], lines
    assert "Traceback" not in result.stderr


def test_an_exchange_that_stays_down_exits_1_saying_to_run_again(
    emu: BinanceEmulator, tmp_path: Path
) -> None:
    emu.faults.add("503", path_prefix="/api/v3/klines")
    try:
        result = download(emu, tmp_path, "--symbols", "BTC/USDT", "--days", "1")
    finally:
        emu.faults.clear()
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("grodt:")]
    assert len(lines) == 1 and "run the same command again" in lines[0], result.stderr[-500:]
