"""Fault drills on the real daemon: a full disk, a read-only data directory, bad token files.

The kill drill (20 SIGKILLs at random moments) is tests/integration/test_crash_recovery.py.
The disk drills mount a real tmpfs or a read-only bind mount, which needs root: on a
developer machine without it they skip loudly, in CI (root) they run.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess, grodt, wait_for
from tests.support.store_state import StoreState, check_consistent
from tests.support.tools import unavailable

pytestmark = pytest.mark.slow


def need_root() -> None:
    if os.geteuid() != 0:
        unavailable("mounting a tmpfs or a read-only bind mount needs root")


@contextmanager
def mounted(*args: str, target: Path) -> Iterator[Path]:
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", *args, str(target)], check=True)
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def stderr_lines(d: DaemonProcess) -> list[str]:
    assert "Traceback" not in d.stderr(), d.stderr()[-2000:]
    return [line for line in d.stderr().splitlines() if line.strip()]


def test_a_full_data_directory_stops_trading_with_exit_1_and_the_store_survives(
    tmp_path: Path,
) -> None:
    need_root()
    with mounted("-t", "tmpfs", "-o", "size=8m", "tmpfs", target=tmp_path / "data") as data:
        env = {"GRODT_MARKET__SPEED_BARS_PER_SECOND": "200"}
        daemon = DaemonProcess(data, env=env)
        # The daemon's own stdout/stderr files must not live on the disk that fills up.
        daemon.log_path = tmp_path / "full-stdout.log"
        daemon.err_path = tmp_path / "full-stderr.log"
        filler = data / "filler"
        try:
            daemon.start()
            daemon.wait_ready()
            wait_for(lambda: daemon.query("SELECT COUNT(*) FROM fills")[0][0] > 0, 60, 0.5)
            before = StoreState.read(daemon)
            # Take every free byte, as another process on the volume would.
            subprocess.run(
                ["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True, check=False
            )
            assert daemon.proc is not None
            code = daemon.proc.wait(timeout=60)
            assert code == 1, daemon.stderr()[-2000:]
            lines = stderr_lines(daemon)
            assert len(lines) == 1, lines
            assert str(data) in lines[0] and "full" in lines[0], lines[0]
            filler.unlink()
            # Space is back: the same store starts, recovers and is consistent.
            again = DaemonProcess(data, env=env)
            again.log_path, again.err_path = daemon.log_path, daemon.err_path
            again.start()
            again.wait_ready()
            check_consistent(again, before)
            assert again.stop() == 0
        finally:
            daemon.ensure_stopped()
            filler.unlink(missing_ok=True)


def test_a_read_only_data_directory_at_start_exits_2_with_the_fix(tmp_path: Path) -> None:
    need_root()
    data = tmp_path / "data"
    data.mkdir()
    with mounted("--bind", "-o", "ro", str(data), target=data):
        daemon = DaemonProcess(data)
        daemon.log_path = tmp_path / "ro-stdout.log"
        daemon.err_path = tmp_path / "ro-stderr.log"
        try:
            daemon.start()
            assert daemon.proc is not None
            assert daemon.proc.wait(timeout=30) == 2
            lines = stderr_lines(daemon)
            assert len(lines) == 1, lines
            assert str(data) in lines[0] and "chown" in lines[0], lines[0]
        finally:
            daemon.ensure_stopped()


@pytest.mark.parametrize(
    ("content", "needle"), [(None, "does not exist"), ("", "is empty"), ("\n", "is empty")]
)
def test_a_missing_or_empty_token_file_exits_2_with_one_line(
    tmp_path: Path, content: str | None, needle: str
) -> None:
    token = tmp_path / "token"
    if content is not None:
        token.write_text(content)
    env = {"GRODT_CONTROL_TOKEN_FILE": str(token), "GRODT_DATA_DIR": str(tmp_path / "data")}
    result = grodt("run", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "GRODT_CONTROL_TOKEN_FILE" in lines[0] and str(token) in lines[0]
    assert needle in lines[0]


def test_a_world_readable_token_file_is_used_with_a_warning(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("readable-token-value\n")
    token.chmod(0o644)
    daemon = DaemonProcess(tmp_path / "data", env={"GRODT_CONTROL_TOKEN_FILE": str(token)})
    daemon.env.pop("GRODT_CONTROL_TOKEN")
    try:
        daemon.start()
        daemon.wait_ready()
        warnings = [r for r in daemon.log_records() if r["event"] == "configuration warning"]
        assert len(warnings) == 1, warnings
        assert str(token) in warnings[0]["detail"] and "chmod 600" in warnings[0]["detail"]
        assert "readable-token-value" not in "\n".join(daemon.stdout_lines())
        assert daemon.stop() == 0
    finally:
        daemon.ensure_stopped()
    token.chmod(0o600)
    check = grodt("check-config", env={"GRODT_CONTROL_TOKEN_FILE": str(token)})
    assert check.returncode == 0 and "warning" not in check.stderr
