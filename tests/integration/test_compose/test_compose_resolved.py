"""The RUN items of CHECKLIST.md, asserted on the configuration Compose itself resolves.

`docker compose config --format json` applies the overrides, anchors, defaults and
interpolation exactly as `up` would, so these tests check what would run, not what the YAML
happens to look like. No engine is needed.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from grodtd.config import load_settings
from tests.integration.test_compose.monitoring import DOCKER, REPO
from tests.integration.test_compose.stack import (
    ENVIRONMENTS,
    clean_environment,
    compose_files,
    resolve,
    write_secrets,
)

PLANTED_TOKEN = "planted-control-token-8d1e0f"
PLANTED_PASSWORD = "planted-grafana-password-41c7"
APP_DRAIN_SECONDS = 5  # the daemon's drain after SIGTERM (issue 3), measured by its own tests
PUBLISHABLE = {"grodt": {8000}, "prometheus": {9090}, "grafana": {3000}}
NAMED_VOLUMES = {"grodt": "grodt-data", "prometheus": "prometheus-data", "grafana": "grafana-data"}
VARIANTS = [(env, False) for env in ENVIRONMENTS] + [(env, True) for env in ENVIRONMENTS]


def _variant_id(variant: tuple[str, bool]) -> str:
    env, local = variant
    return f"{env}+local" if local else env


@pytest.fixture(scope="module")
def secret_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return write_secrets(
        tmp_path_factory.mktemp("secrets"),
        {"grodt_control_token": PLANTED_TOKEN, "grafana_admin_password": PLANTED_PASSWORD},
    )


@functools.cache
def _resolve_once(
    env_name: str, local: bool, secrets: tuple[tuple[str, str], ...]
) -> tuple[dict[str, Any], str]:
    result = resolve(compose_files(env_name, local), clean_environment(dict(secrets)))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


@pytest.fixture(scope="module", params=VARIANTS, ids=_variant_id)
def resolved(
    request: pytest.FixtureRequest, secret_env: dict[str, str]
) -> tuple[str, bool, dict[str, Any], str]:
    env_name, local = request.param
    config, stderr = _resolve_once(env_name, local, tuple(sorted(secret_env.items())))
    return env_name, local, config, stderr


def _seconds(duration: str) -> float:
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration):
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


# -- RUN-9: every environment resolves, without warnings -----------------------------------------


def test_resolves_without_warnings(resolved: tuple[str, bool, dict[str, Any], str]) -> None:
    _, _, _, stderr = resolved
    assert stderr.strip() == "", f"compose printed warnings:\n{stderr}"


def test_environment_name_reaches_the_daemon(
    resolved: tuple[str, bool, dict[str, Any], str],
) -> None:
    env_name, _, config, _ = resolved
    assert config["services"]["grodt"]["environment"]["GRODT_ENV"] == env_name


def test_only_valid_grodt_variables_reach_the_daemon(
    resolved: tuple[str, bool, dict[str, Any], str],
) -> None:
    """The daemon refuses unknown GRODT_* variables; the compose file must only set real ones,
    with values the daemon accepts: proved with the daemon's own loader over the image's
    configuration (the docker overlay included) and a control token as the stack mounts one."""
    _, _, config, _ = resolved
    env = dict(config["services"]["grodt"]["environment"])
    assert all(name.startswith("GRODT_") for name in env), sorted(env)
    env.update(
        GRODT_CONFIG_DIR=str(REPO / "configs"),
        GRODT_CONFIG_OVERLAYS="docker",
        GRODT_CONTROL_TOKEN="a-token-as-the-stack-mounts-one",
    )
    load_settings(env, secrets_dir=REPO / "no-secrets-dir")


def test_local_variant_uses_local_images_and_leaves_grafana_out(
    resolved: tuple[str, bool, dict[str, Any], str],
) -> None:
    _, local, config, _ = resolved
    services = config["services"]
    if local:
        assert set(services) == {"grodt", "prometheus"}
        assert services["grodt"]["image"] == "grodt:local"
        assert services["prometheus"]["image"] == "grodt-prometheus:local"
        assert all(s["pull_policy"] == "never" for s in services.values())
    else:
        assert set(services) == {"grodt", "prometheus", "grafana"}


# -- RUN-1: loopback only, metrics port unpublished --------------------------------------------


def test_published_ports_bind_to_loopback_only(
    resolved: tuple[str, bool, dict[str, Any], str],
) -> None:
    _, _, config, _ = resolved
    for name, service in config["services"].items():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes {port} beyond loopback"
            assert port["target"] in PUBLISHABLE[name], f"{name} publishes {port['target']}"


def test_daemon_metrics_port_is_not_published(
    resolved: tuple[str, bool, dict[str, Any], str],
) -> None:
    _, _, config, _ = resolved
    grodt = config["services"]["grodt"]
    assert [p["target"] for p in grodt["ports"]] == [8000]
    assert "9090" in grodt["expose"]
    networks = {tuple(s["networks"]) for s in config["services"].values()}
    assert networks == {("grodt",)}, "Prometheus must share the daemon's network to scrape it"


# -- RUN-2 and RUN-3: hardening, limits, restarts, grace ----------------------------------------


def test_daemon_runs_hardened_and_limited(
    resolved: tuple[str, bool, dict[str, Any], str],
) -> None:
    _, _, config, _ = resolved
    grodt = config["services"]["grodt"]
    assert grodt["read_only"] is True
    assert grodt["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in grodt["security_opt"]
    assert any(t.split(":")[0] == "/tmp" for t in grodt["tmpfs"])
    limits = grodt["deploy"]["resources"]["limits"]
    assert int(limits["memory"]) > 0 and float(limits["cpus"]) > 0 and int(limits["pids"]) > 0


def test_every_service_drops_capabilities_and_privilege_escalation(
    resolved: tuple[str, bool, dict[str, Any], str],
) -> None:
    _, _, config, _ = resolved
    for name, service in config["services"].items():
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["deploy"]["resources"]["limits"]["memory"], name


def test_restarts_are_bounded_and_grace_outlasts_the_drain(
    resolved: tuple[str, bool, dict[str, Any], str],
) -> None:
    _, _, config, _ = resolved
    for name, service in config["services"].items():
        assert service["restart"] == "on-failure:5", name
    grace = _seconds(config["services"]["grodt"]["stop_grace_period"])
    assert grace >= 4 * APP_DRAIN_SECONDS, f"grace period {grace} s is too close to the drain"


# -- RUN-4: healthchecks and ordering ------------------------------------------------------------


def test_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies(
    resolved: tuple[str, bool, dict[str, Any], str],
) -> None:
    _, _, config, _ = resolved
    services = config["services"]
    assert services["grodt"]["healthcheck"]["test"] == ["CMD", "grodt", "healthcheck"]
    for name, service in services.items():
        check = service["healthcheck"]
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert not check.get("disable"), name
        for dependency in service.get("depends_on", {}).values():
            assert dependency["condition"] == "service_healthy", name
    assert "grodt" in services["prometheus"]["depends_on"]


# -- RUN-5: log rotation -------------------------------------------------------------------------


def test_every_service_rotates_its_logs(
    resolved: tuple[str, bool, dict[str, Any], str],
) -> None:
    _, _, config, _ = resolved
    for name, service in config["services"].items():
        logging = service["logging"]
        assert logging["driver"] == "json-file", name
        assert logging["options"]["max-size"] and int(logging["options"]["max-file"]) >= 2, name


# -- RUN-6: named volumes, read-only configuration, no Docker socket ----------------------------


def test_data_lives_in_named_volumes_and_configuration_is_read_only(
    resolved: tuple[str, bool, dict[str, Any], str],
) -> None:
    _, _, config, _ = resolved
    for name, service in config["services"].items():
        mounts = service.get("volumes", [])
        volumes = [m for m in mounts if m["type"] == "volume"]
        assert [m["source"] for m in volumes] == [NAMED_VOLUMES[name]], name
        for mount in mounts:
            assert "docker.sock" not in mount.get("source", ""), name
            if mount["type"] == "bind":
                assert mount.get("read_only") is True, f"{name}: {mount['source']} is writable"
                assert Path(mount["source"]).exists(), f"{name}: {mount['source']} is missing"
    expected = {NAMED_VOLUMES[name] for name in config["services"]}
    assert expected <= set(config["volumes"])


# -- RUN-7: secrets as files, nothing secret defaulted ----------------------------------------


def test_secrets_are_files_and_their_values_appear_nowhere_in_the_config(
    resolved: tuple[str, bool, dict[str, Any], str], secret_env: dict[str, str]
) -> None:
    _, _, config, _ = resolved
    assert config["secrets"]["grodt_control_token"]["file"] == secret_env["CONTROL_TOKEN_FILE"]
    grodt_secrets = [s["source"] for s in config["services"]["grodt"]["secrets"]]
    assert grodt_secrets == ["grodt_control_token"]
    text = json.dumps(config)
    assert PLANTED_TOKEN not in text and PLANTED_PASSWORD not in text


@pytest.mark.parametrize("missing", ["CONTROL_TOKEN_FILE", "GRAFANA_ADMIN_PASSWORD_FILE"])
@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_a_missing_secret_stops_compose_with_a_clear_message(
    env_name: str, missing: str, secret_env: dict[str, str]
) -> None:
    env = clean_environment({k: v for k, v in secret_env.items() if k != missing})
    result = resolve(compose_files(env_name), env)
    assert result.returncode != 0
    assert missing in result.stderr and "docker-dev.sh" in result.stderr, result.stderr


def test_env_example_documents_every_variable_and_defaults_no_secret() -> None:
    used: set[str] = set()
    for path in DOCKER.glob("*.yml"):
        used |= set(re.findall(r"\$\{([A-Z0-9_]+)", path.read_text()))
    example = (DOCKER / ".env.example").read_text()
    documented = dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", example, flags=re.MULTILINE))
    assert used - set(documented) == set(), "variables used but not in docker/.env.example"
    for name in ("CONTROL_TOKEN_FILE", "GRAFANA_ADMIN_PASSWORD_FILE"):
        assert documented[name] == "", f"{name} must not have a default"
    assert not any(name.startswith("GRODT_") for name in documented), "the daemon owns GRODT_*"


# -- RUN-8: Prometheus APIs off, Grafana locked down --------------------------------------------


def test_prometheus_admin_and_lifecycle_apis_stay_off(
    resolved: tuple[str, bool, dict[str, Any], str],
) -> None:
    _, _, config, _ = resolved
    command = config["services"]["prometheus"]["command"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in command
    assert not [a for a in command if "enable-admin-api" in a or "enable-lifecycle" in a]


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_grafana_password_from_secret_anonymous_off_provisioning_read_only(
    env_name: str, secret_env: dict[str, str]
) -> None:
    """With a registry only: compose.local.yml leaves Grafana out (asserted above)."""
    config, _ = _resolve_once(env_name, False, tuple(sorted(secret_env.items())))
    grafana = config["services"]["grafana"]
    env = grafana["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert [s["source"] for s in grafana["secrets"]] == ["grafana_admin_password"]
    targets = {m["target"]: m for m in grafana["volumes"]}
    for path in ("/etc/grafana/provisioning", "/etc/grafana/dashboards"):
        assert targets[path]["read_only"] is True


# -- checkov -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_checkov_passes_on_the_docker_directory() -> None:
    """checkov has no Compose framework; its Dockerfile and secrets frameworks cover docker/
    (the Compose rules themselves are the tests above)."""
    checkov = REPO / ".venv/bin/checkov"
    if not checkov.exists():
        pytest.fail("checkov is missing: scripts/bootstrap.sh --all-groups installs it")
    result = subprocess.run(
        [
            str(checkov),
            "--directory",
            str(DOCKER),
            "--framework",
            "dockerfile",
            "secrets",
            "--quiet",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_local_prometheus_dockerfile_passes_hadolint() -> None:
    hadolint = REPO / ".venv/bin/hadolint"
    if not hadolint.exists():
        pytest.fail("hadolint is missing: scripts/bootstrap.sh --all-groups installs it")
    result = subprocess.run(
        [str(hadolint), str(DOCKER / "prometheus/Dockerfile.local")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
