"""The `grodt` command's contract: exit codes and one clear line per problem, never a traceback."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.daemon import REPO, DaemonProcess, free_port, grodt, grodt_env


def copy_configs(tmp_path: Path) -> Path:
    target = tmp_path / "configs"
    shutil.copytree(REPO / "configs", target)
    return target


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) >= 1
    for needle in needles:
        assert any(needle in line for line in lines), (needle, lines)
    return lines[0]


def test_version() -> None:
    result = grodt("version")
    assert result.returncode == 0
    assert result.stdout.startswith("grodt ")
    assert result.stdout.rstrip().endswith("interpreted core)")  # a checkout runs the source
    as_json = json.loads(grodt("version", "--json").stdout)
    assert set(as_json) == {"version", "revision", "core"}
    assert as_json["core"] == "interpreted"


def test_check_config_valid_prints_effective_config_with_secrets_redacted(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cr3t-check-config-value\n")
    result = grodt("check-config", env={"GRODT_CONTROL_TOKEN_FILE": str(secret)})
    assert result.returncode == 0, result.stderr
    assert "s3cr3t-check-config-value" not in result.stdout + result.stderr
    assert "risk" in result.stdout and "max_open_positions" in result.stdout


def test_broken_config_file_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    configs = copy_configs(tmp_path)
    risk = configs / "risk.yaml"
    risk.write_text(risk.read_text().replace("max_open_positions: 3", "max_open_positions: 0"))
    result = grodt("check-config", env={"GRODT_CONFIG_DIR": str(configs)})
    assert_one_clear_line(result, "risk.yaml", "max_open_positions")
    run = grodt("run", env={"GRODT_CONFIG_DIR": str(configs), "GRODT_DATA_DIR": str(tmp_path)})
    assert_one_clear_line(run, "risk.yaml", "max_open_positions")


def test_yaml_syntax_error_exits_2_naming_the_line(tmp_path: Path) -> None:
    configs = copy_configs(tmp_path)
    (configs / "regime.yaml").write_text("slope_window: [30\n")
    result = grodt("check-config", env={"GRODT_CONFIG_DIR": str(configs)})
    assert_one_clear_line(result, "regime.yaml", "line")


def test_bad_environment_override_exits_2_naming_the_variable() -> None:
    result = grodt("check-config", env={"GRODT_WEB_PORT": "not-a-port"})
    assert_one_clear_line(result, "GRODT_WEB_PORT")


def test_missing_secret_file_exits_2(tmp_path: Path) -> None:
    result = grodt("check-config", env={"GRODT_CONTROL_TOKEN_FILE": str(tmp_path / "absent")})
    assert_one_clear_line(result, "GRODT_CONTROL_TOKEN_FILE", str(tmp_path / "absent"))


def test_malformed_csv_backtest_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    csv = tmp_path / "btc.csv"
    csv.write_text(
        "timestamp,open,high,low,close,volume\n"
        "1767225600,100,101,99,100.5,10\n"
        "1767225660,100.5,abc,99,100,10\n"
    )
    result = grodt("backtest", "--csv", f"BTC-USD={csv}", "--no-progress")
    assert_one_clear_line(result, str(csv), "line 3")


def test_unwritable_data_directory_exits_2_with_the_chown_to_run(tmp_path: Path) -> None:
    # Root ignores permission bits, so make the path impossible to create instead: its parent
    # is a regular file. The message must still name the directory and the fix.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    data = blocker / "data"
    result = grodt(
        "run",
        env={
            "GRODT_DATA_DIR": str(data),
            "GRODT_WEB_PORT": str(free_port()),
            "GRODT_METRICS_PORT": str(free_port()),
        },
    )
    line = assert_one_clear_line(result, str(data), "chown")
    assert "10001" in line or str(os.getuid()) in line


def test_healthcheck_exit_codes(tmp_path: Path) -> None:
    nobody = grodt("healthcheck", "--port", str(free_port()), "--timeout", "1")
    assert nobody.returncode == 1
    daemon = DaemonProcess(tmp_path / "data")
    try:
        daemon.start()
        daemon.wait_ready()
        ok = grodt("healthcheck", env={"GRODT_WEB_PORT": str(daemon.web_port)})
        assert ok.returncode == 0, ok.stderr
    finally:
        daemon.ensure_stopped()


class _Answer(http.server.BaseHTTPRequestHandler):
    """/health with a status the test chooses; anything but 200 must fail the probe."""

    status = 503

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[socketserver.BaseRequestHandler]) -> socketserver.TCPServer:
    server = socketserver.TCPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _NotHttp(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.rfile.readline()
        self.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n")


@pytest.mark.parametrize(
    ("handler", "says"),
    [(_Answer, "answered 503"), (_NotHttp, "not an HTTP answer")],
)
def test_healthcheck_fails_on_anything_but_an_http_200(
    handler: type[socketserver.BaseRequestHandler], says: str
) -> None:
    server = _serve(handler)
    try:
        port = server.server_address[1]
        result = grodt("healthcheck", "--port", str(port), "--timeout", "2")
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1
    assert says in result.stderr, result.stderr


def test_output_cut_short_by_the_reader_is_no_traceback() -> None:
    # `grodt backtest --json | head -c 0`: the reader closes the pipe before the report.
    with subprocess.Popen(
        [sys.executable, "-m", "grodtd", "backtest", "--days", "2", "--json", "--no-progress"],
        cwd=REPO,
        env=grodt_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # gone before the report is written
        stderr = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert "Traceback" not in stderr, stderr
    assert code == 1


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["backtest", "--help"]])
def test_help(argv: list[str]) -> None:
    assert grodt(*argv).returncode == 0


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["--days", "-5"], ["--days", "-5"]),
        (["--days", "0"], ["--days", "more than 0"]),
        (["--days", "nan"], ["--days"]),
        (["--days", "soon"], ["--days", "number of days"]),
        (["--days", "99999"], ["--days", "3650"]),
        (["--days", "0.0001"], ["--days", "one bar"]),
        (["--symbols", "FOO"], ["--symbols", "market.symbols", "BTC-USD"]),
        (["--symbols", "BTC-USD", "BTC-USD"], ["--symbols", "more than once"]),
        (["--seed", "-3"], ["--seed", "market.seed", ">= 0"]),
        (["--seed", "x"], ["--seed", "invalid int"]),
        (["--csv", "BTC-USD=x.csv", "--days", "3"], ["--days", "--csv"]),
        (["--csv", "BTC-USD=x.csv", "--symbols", "ETH-USD"], ["--symbols", "--csv"]),
        (["--frobnicate"], ["--frobnicate"]),
    ],
)
def test_bad_backtest_arguments_exit_2_with_one_line(argv: list[str], needles: list[str]) -> None:
    result = grodt("backtest", "--no-progress", *argv)
    assert_one_clear_line(result, *needles)
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    assert result.stdout == ""


def test_a_config_file_grodt_would_not_read_is_an_error_naming_it(tmp_path: Path) -> None:
    configs = copy_configs(tmp_path)
    (configs / "risk.yaml").rename(configs / "risk.yml")
    env = {"GRODT_CONFIG_DIR": str(configs), "GRODT_DATA_DIR": str(tmp_path / "data")}
    for command in ("check-config", "run"):
        line = assert_one_clear_line(grodt(command, env=env), "risk.yml", "risk.yaml")
        assert "rename" in line
    (configs / "risk.yml").rename(configs / "risk.yaml")
    shutil.copy(
        configs / "environments" / "prod.yaml", configs / "environments" / "production.yaml"
    )
    assert_one_clear_line(grodt("check-config", env=env), "production.yaml", "dev, staging, prod")


def test_check_config_names_the_files_it_read_and_warns_about_the_rest(tmp_path: Path) -> None:
    configs = copy_configs(tmp_path)
    (configs / "NOTES.txt").write_text("my notes\n")
    result = grodt("check-config", env={"GRODT_CONFIG_DIR": str(configs), "GRODT_WEB_PORT": "8123"})
    assert result.returncode == 0, result.stderr
    read = [line for line in result.stderr.splitlines() if line.startswith("grodt: read ")]
    assert read == [
        f"grodt: read {configs / name}"
        for name in (
            "settings.yaml",
            "risk.yaml",
            "regime.yaml",
            "strategies.yaml",
            "environments/dev.yaml",
        )
    ] + ["grodt: read environment variable GRODT_WEB_PORT"]
    assert f"grodt: warning: {configs / 'NOTES.txt'}: not a configuration file" in result.stderr


def test_check_config_sources_say_where_each_value_came_from(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("sources-secret-value\n")
    env = {"GRODT_WEB_PORT": "8123", "GRODT_CONTROL_TOKEN_FILE": str(token)}
    result = grodt("check-config", "--sources", env=env)
    assert result.returncode == 0, result.stderr
    assert "sources-secret-value" not in result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert rows["web.port"].endswith("# environment variable GRODT_WEB_PORT")
    configs = REPO / "configs"
    assert rows["risk.risk_per_trade"].endswith(f"# {configs / 'risk.yaml'}")
    assert rows["log.level"].endswith(f"# {configs / 'environments' / 'dev.yaml'}")
    assert rows["shutdown.drain_timeout_seconds"].endswith(f"# {configs / 'settings.yaml'}")
    assert rows["broker.fee_bps"].endswith(f"# {configs / 'settings.yaml'}")
    assert rows["secrets.control_token"].endswith(f"# secret file {token}")
    assert "**" in rows["secrets.control_token"]
    narrow = grodt("check-config", "--sources", "market.seed")
    assert narrow.stdout.splitlines() == [f"market.seed  42  # {configs / 'settings.yaml'}"]
    assert_one_clear_line(grodt("check-config", "--sources", "no.such.key"), "no.such.key")


def test_live_trading_takes_two_opt_ins_and_says_which_mode_runs(tmp_path: Path) -> None:
    exchange = {"GRODT_MARKET__SOURCE": "exchange", "GRODT_BROKER__MODE": "live"}
    paper = grodt("check-config", env=exchange)
    assert paper.returncode == 0, paper.stderr
    assert "grodt: trading paper (broker.mode is live but no API key files" in paper.stderr
    refused = grodt("check-config", env={**exchange, "GRODT_ENV": "prod"})
    assert refused.returncode == 2
    assert "broker.mode: is live in prod but no API key files" in refused.stderr
    assert "Traceback" not in refused.stderr
    keys = {}
    for name in ("KEY", "SECRET"):
        path = tmp_path / name.lower()
        path.write_text(f"planted-{name.lower()}\n")
        path.chmod(0o600)
        keys[f"GRODT_EXCHANGE_API_{name}_FILE"] = str(path)
    live = grodt("check-config", env={**exchange, **keys})
    assert "grodt: trading live (broker.mode is live with API keys for binance)" in live.stderr
    assert "planted-" not in live.stdout + live.stderr
