"""IMG items proved inside a running container: what the image holds and who may write where.

All checks run as `docker exec` in the one shared container (conftest.app_container), so they
cost no extra container start.
"""

from __future__ import annotations

import pytest

from tests.integration.test_docker.engine import Docker

pytestmark = pytest.mark.docker

SITE = "/opt/grodt/venv/lib/python3*/site-packages"


def sh(app: tuple[Docker, str], script: str, user: str | None = None) -> tuple[int, str]:
    docker, name = app
    result = docker.exec(name, "/bin/sh", "-c", script, user=user)
    return result.returncode, (result.stdout + result.stderr).strip()


def test_no_setuid_or_setgid_file(app_container: tuple[Docker, str]) -> None:
    # IMG-1: scanned as root so that no directory is hidden from find.
    code, out = sh(app_container, "find / -xdev -perm /6000 -type f", user="0")
    assert code == 0, out
    assert out == ""


def test_no_sudo_compiler_pip_or_curl(app_container: tuple[Docker, str]) -> None:
    # IMG-5 and IMG-2 (the healthcheck needs no curl).
    for tool in ("sudo", "gcc", "cc", "c++", "make", "pip", "pip3", "curl", "wget", "uv"):
        code, out = sh(app_container, f"command -v {tool}")
        assert code != 0, f"{tool} is in the image: {out}"
    code, out = sh(app_container, f"ls -d {SITE}/pip {SITE}/pip-* 2>/dev/null")
    assert out == "", f"pip is installed in the venv: {out}"


def test_no_build_leftovers_caches_tests_git_or_secrets(app_container: tuple[Docker, str]) -> None:
    # IMG-5: nothing from the build context beyond the venv and the configs.
    _code, out = sh(
        app_container,
        "find / -xdev \\( -name .git -o -name .env -o -name 'wheelhouse' -o -name '*.whl' "
        "-o -path /root/.cache -o -path '*/.cache/pip' -o -name secrets -o -name conftest.py "
        "-o -name pyproject.toml -o -name uv.lock -o -path /build -o -path /staging "
        "-o -path /opt/build-tools \\) -print",
        user="0",
    )
    assert out == "", f"unexpected files in the image:\n{out}"
    _code, out = sh(app_container, "ls /opt/grodt")
    assert out.split() == ["configs", "venv"]
    _code, out = sh(app_container, "ls /var/lib/apt/lists /var/cache/apt/archives 2>/dev/null")
    assert "Packages" not in out and ".deb" not in out


def test_code_and_venv_are_not_writable_by_the_runtime_user(
    app_container: tuple[Docker, str],
) -> None:
    # IMG-8: the exec runs as the image's user (10001:0).
    code, out = sh(app_container, "id -u; id -g")
    assert out.split() == ["10001", "0"]
    for target in (
        "/opt/grodt/x",
        "/opt/grodt/venv/x",
        "/opt/grodt/venv/bin/x",
        "/opt/grodt/configs/x",
        f"$(echo {SITE})/grodtd/x",
        f"$(echo {SITE})/x",
        "/x",
        "/etc/x",
        "/usr/x",
    ):
        code, out = sh(app_container, f'touch "{target}"')
        assert code != 0, f"uid 10001 could write {target}"
    code, out = sh(app_container, f"echo x >> $(echo {SITE})/grodtd/cli.py")
    assert code != 0, "uid 10001 could modify the code"
    code, out = sh(app_container, "find /opt/grodt ! -user 0 -print | head -n 5")
    assert out == "", f"not owned by root: {out}"


def test_only_data_and_tmp_are_writable(app_container: tuple[Docker, str]) -> None:
    # IMG-8: /data is 10001:0 and group-writable (an arbitrary UID in group 0 can write).
    code, out = sh(app_container, "touch /data/probe /tmp/probe && rm /data/probe /tmp/probe")
    assert code == 0, out
    code, out = sh(app_container, "stat -c '%u:%g %a' /data")
    assert out == "10001:0 770"
    code, out = sh(
        app_container,
        "find / -xdev -writable ! -path '/proc/*' ! -path '/sys/*' ! -path '/dev/*' "
        "! -path '/data*' ! -path '/tmp*' ! -path '/var/tmp*' ! -path '/run/lock*' "
        "! -path /var/lock "
        "-print 2>/dev/null | head -n 20",
    )
    assert out == "", f"writable by uid 10001 outside /data and /tmp:\n{out}"


def test_bytecode_is_precompiled_and_used(app_container: tuple[Docker, str]) -> None:
    # IMG-7: with PYTHONDONTWRITEBYTECODE and a read-only venv, a stale or missing .pyc would
    # mean recompiling on every start; `python -v` says "matches" when the .pyc is used.
    code, out = sh(app_container, "python3 -v -c 'import grodtd.cli' 2>&1")
    assert code == 0, out[-2000:]
    ours = [line for line in out.splitlines() if "/grodtd/" in line and line.startswith("# ")]
    assert ours, "grodtd was not imported"
    assert all(" matches " in line or "code object from" in line for line in ours)
    cli_pyc = "grodtd/cli/__pycache__/__init__.cpython-"
    assert any(cli_pyc in line and " matches " in line for line in ours)
    assert not [line for line in ours if "could not" in line or "bad " in line]


def test_the_image_carries_the_listed_exchanges_and_nothing_of_ccxt_it_never_imports(
    app_container: tuple[Docker, str],
) -> None:
    # docker/prune_ccxt.py and docker/not-in-image.txt: the size budget with ccxt in it.
    _, out = sh(
        app_container,
        f"ls -d {SITE}/ccxt/async_support {SITE}/ccxt/pro {SITE}/ccxt/test {SITE}/aiohttp "
        f"{SITE}/uvloop {SITE}/coincurve 2>/dev/null",
    )
    assert out == "", f"unused parts of ccxt are in the image: {out}"
    script = (
        "from pathlib import Path; import glob; "
        "from grodtd.adapters.markets.exchange.client import UnknownExchange, open_exchange; "
        "listed = Path(glob.glob('/opt/grodt/venv/lib/python3*/site-packages/ccxt/"
        "EXCHANGES_IN_IMAGE')[0]).read_text().split(); "
        "print(' '.join(open_exchange(e).id for e in listed))\n"
        "try:\n    open_exchange('poloniex')\nexcept UnknownExchange as exc:\n    print(exc)"
    )
    docker, name = app_container
    result = docker.exec(name, "python", "-c", script)
    assert result.returncode == 0, result.stderr
    opened, refused = result.stdout.strip().splitlines()
    assert {"binance", "coinbase", "kraken", "bybit", "okx"} <= set(opened.split())
    assert "not among the exchanges this image carries" in refused
    assert "CCXT_EXCHANGES=all" in refused
