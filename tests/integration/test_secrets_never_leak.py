"""A secret planted in the configuration appears in no log line, API response or metric."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.daemon import DaemonProcess, grodt, wait_for

pytestmark = pytest.mark.slow

SECRET = "planted-secret-7Qx9-do-not-leak"
# The exchange account's key pair (live trading), loaded whenever its files are configured.
API_KEY = "planted-api-key-3Kd8-do-not-leak"
API_SECRET = "planted-api-secret-9Wm2-do-not-leak"


def test_secret_reaches_no_log_no_api_no_metric(tmp_path: Path) -> None:
    token_file = tmp_path / "control_token"
    token_file.write_text(SECRET + "\n")
    key_files = {}
    for name, value in (("API_KEY", API_KEY), ("API_SECRET", API_SECRET)):
        path = tmp_path / name.lower()
        path.write_text(value + "\n")
        path.chmod(0o600)
        key_files[f"GRODT_EXCHANGE_{name}_FILE"] = str(path)
    daemon = DaemonProcess(
        tmp_path / "data", env={"GRODT_CONTROL_TOKEN_FILE": str(token_file), **key_files}
    )
    daemon.env.pop("GRODT_CONTROL_TOKEN")
    try:
        daemon.start()
        daemon.wait_ready()
        wait_for(lambda: daemon.query("SELECT COUNT(*) FROM orders")[0][0] > 0, 60, 0.5, "orders")
        auth = {"Authorization": f"Bearer {SECRET}"}
        bodies: list[str] = []
        # The token works (so it really is the configured secret) ...
        for action in ("pause", "resume"):
            response = httpx.post(f"{daemon.url}/api/v1/control/{action}", headers=auth, timeout=5)
            assert response.status_code == 200, response.text
            bodies.append(response.text)
        # ... a wrong token is refused, and echoes nothing back.
        wrong = httpx.post(
            f"{daemon.url}/api/v1/control/pause",
            headers={"Authorization": f"Bearer {SECRET}x"},
            timeout=5,
        )
        assert wrong.status_code == 401
        bodies.append(wrong.text + str(wrong.headers))
        for path in (
            "/",
            "/health",
            "/ready",
            "/openapi.json",
            "/api/v1/status",
            "/api/v1/positions",
            "/api/v1/orders",
            "/api/v1/fills",
            "/api/v1/trades",
            "/api/v1/equity",
            "/api/v1/equity/history",
            "/api/v1/candles",
            "/docs",
        ):
            response = daemon.get(path)
            assert response.status_code in (200, 503), path
            bodies.append(response.text + str(response.headers))
        bodies.append(httpx.get(daemon.metrics_url, timeout=5).text)
        assert daemon.stop() == 0
        bodies.extend(daemon.stdout_lines())
        bodies.append(daemon.stderr())
        checked = grodt("check-config", "--json", env=daemon.env)
        assert checked.returncode == 0, checked.stderr
        assert '"exchange_api_key": "**********"' in checked.stdout
        bodies += [checked.stdout, checked.stderr]
        leaks = [
            body[:200] for body in bodies if any(s in body for s in (SECRET, API_KEY, API_SECRET))
        ]
        assert not leaks, leaks
        # The control actions were logged (with the request id), only the secret was not.
        assert any('"paused"' in line or "pause" in line for line in daemon.stdout_lines())
    finally:
        daemon.ensure_stopped()
