"""Start the real `grodt run` as a subprocess on ephemeral ports, and talk to it.

Integration tests use this instead of importing the app: what they check is exactly what an
operator gets (signals, exit codes, stdout), with a real SQLite file in a temporary directory.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
CONTROL_TOKEN = "test-control-token-5f1c"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Any, timeout: float, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def grodt_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without any GRODT_* variable, reading the repository's configs/."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("GRODT_")}
    return {**base, "GRODT_CONFIG_DIR": str(REPO / "configs"), **(extra or {})}


def grodt(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m grodtd ARGS` from the repository, as a user runs the `grodt` command."""
    return subprocess.run(
        [sys.executable, "-m", "grodtd", *args],
        cwd=REPO,
        env=grodt_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class DaemonProcess:
    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.web_port = free_port()
        self.metrics_port = free_port()
        self.log_path = data_dir.parent / f"{data_dir.name}-stdout.log"
        self.err_path = data_dir.parent / f"{data_dir.name}-stderr.log"
        self.env = grodt_env(
            {
                "GRODT_DATA_DIR": str(data_dir),
                "GRODT_WEB_PORT": str(self.web_port),
                "GRODT_METRICS_PORT": str(self.metrics_port),
                "GRODT_CONTROL_TOKEN": CONTROL_TOKEN,
                **(env or {}),
            }
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "grodt.db"

    def start(self) -> DaemonProcess:
        out = self.log_path.open("ab")
        err = self.err_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grodtd", "run"],
            cwd=REPO,
            env=self.env,
            stdout=out,
            stderr=err,
        )
        out.close()
        err.close()
        return self

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=5, **kwargs)

    def status_code(self, path: str) -> int | None:
        try:
            return self.get(path).status_code
        except httpx.HTTPError:
            return None

    def wait_ready(self, timeout: float = 30) -> None:
        def ready() -> bool:
            self._assert_running()
            return self.status_code("/ready") == 200

        wait_for(ready, timeout, what="/ready to answer 200")

    def _assert_running(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"daemon exited with {self.proc.returncode}; stderr: {self.stderr()[-2000:]}"
            )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def ensure_stopped(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stdout_lines(self) -> list[str]:
        if not self.log_path.exists():
            return []
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def log_records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout_lines() if line.strip()]

    def stderr(self) -> str:
        return (
            self.err_path.read_text(encoding="utf-8", errors="replace")
            if self.err_path.exists()
            else ""
        )

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read the daemon's store through a separate SQLite connection (WAL allows it)."""
        return self.query_snapshot(sql, params=params)[0]

    def query_snapshot(
        self, *sqls: str, params: tuple[Any, ...] = ()
    ) -> list[list[tuple[Any, ...]]]:
        """Run several reads in ONE read transaction: they all see the same committed state.

        Separate reads of a daemon that keeps trading can see different bars (an order read
        as open, then its fill committed before the next read).
        """
        conn = sqlite3.connect(
            f"file:{self.db_path}?mode=ro", uri=True, timeout=10, isolation_level=None
        )
        try:
            conn.execute("BEGIN")
            return [conn.execute(sql, params).fetchall() for sql in sqls]
        finally:
            conn.close()
