"""Render a fleet file (configs/fleet/fleet.yaml) into a Docker Swarm stack.

A fleet is many singletons: every bot is its own single-replica service with its own overlay,
secrets, database and volume, and its updates stop the old task before starting the new one,
so one bot never runs twice against its account. scripts/fleet.sh calls this; it needs only
the standard library and PyYAML, which the project's venv and the grodt image both have.

Written into the state directory (default .fleet/<stack>/, never committed):
  stack.yml            the stack for `docker stack deploy` (--infra: PostgreSQL alone)
  prometheus.yml       docker/prometheus/prometheus.swarm.yml plus one target per bot
  bots.tsv             bot, service, database role, for the shell script's loops
  secrets/<bot>/       database_url, db_password, control_token (created once, random)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_TEMPLATE = REPO / "docker/prometheus/prometheus.swarm.yml"
ALERTS = REPO / "docker/prometheus/alerts.yml"
# A bot name becomes a service name, a DNS name on the stack network and a PostgreSQL role.
BOT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
DEFAULTS = {
    "stack": "grodt-fleet",
    "image": "grodt-fleet:local",
    "postgres_image": "grodt-postgres:local",
    "prometheus_image": "grodt-prometheus:local",
    "environment": "prod",
}


class FleetError(Exception):
    """A fleet file problem; the message names the file, the key and the fix."""


def load_fleet(path: Path, env: dict[str, str]) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise FleetError(f"{path}: cannot read the fleet file ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("bots"), dict) or not data["bots"]:
        raise FleetError(
            f"{path}: bots: give at least one bot, e.g. bots: {{alpha: {{overlay: alpha.yaml}}}}"
        )
    fleet = {**DEFAULTS, **{k: v for k, v in data.items() if k != "bots"}}
    # The environment wins, so a test or a one-off upgrade needs no edited copy of the file.
    for key in DEFAULTS:
        fleet[key] = env.get(f"FLEET_{key.upper()}", fleet[key])
    unknown = set(fleet) - set(DEFAULTS)
    if unknown:
        raise FleetError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown))}: "
            f"allowed are bots, {', '.join(DEFAULTS)}"
        )
    if not STACK_NAME.match(str(fleet["stack"])):
        raise FleetError(
            f"{path}: stack: {fleet['stack']!r} must be lower-case letters, digits and '-'"
        )
    bots = {}
    for name, spec in data["bots"].items():
        if not BOT_NAME.match(str(name)):
            raise FleetError(
                f"{path}: bots.{name}: a bot name is lower-case letters, digits and '-', "
                "at most 31 characters"
            )
        if not isinstance(spec, dict) or "overlay" not in spec:
            raise FleetError(
                f"{path}: bots.{name}: give its config overlay, e.g. overlay: {name}.yaml"
            )
        overlay = (path.parent / str(spec["overlay"])).resolve()
        if not overlay.is_file():
            raise FleetError(
                f"{path}: bots.{name}.overlay: {overlay} does not exist: create it or fix the path"
            )
        extra = set(spec) - {"overlay"}
        if extra:
            raise FleetError(
                f"{path}: bots.{name}: unknown key(s) {', '.join(sorted(extra))}: "
                "only overlay is allowed"
            )
        bots[str(name)] = {"overlay": overlay, "role": "bot_" + str(name).replace("-", "_")}
    fleet["bots"] = bots
    return fleet


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def ensure_secrets(directory: Path, role: str) -> dict[str, Path]:
    """Random secrets made once and kept: a Docker secret cannot change under a running stack."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    files = {name: directory / name for name in ("db_password", "control_token", "database_url")}
    for name in ("db_password", "control_token"):
        if not files[name].is_file():
            write_private(files[name], secrets.token_hex(24))
    password = files["db_password"].read_text().strip()
    write_private(
        files["database_url"], f"postgresql+psycopg://{role}:{password}@postgres:5432/{role}"
    )
    return files


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def hardened(memory: str, cpus: str) -> dict[str, Any]:
    """What every service shares: no capabilities, read-only root, bounded restarts, and
    stop-first updates and rollbacks (one task of a service at a time, never two)."""
    one_at_a_time = {"parallelism": 1, "order": "stop-first", "delay": "0s"}
    return {
        "cap_drop": ["ALL"],
        "read_only": True,
        "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": "5"}},
        "networks": ["fleet"],
        "deploy": {
            "mode": "replicated",
            "replicas": 1,
            # DNS names the one task directly: no virtual IP to balance over a single replica,
            # and none of the IPVS load balancer, which nested or locked-down hosts lack.
            "endpoint_mode": "dnsrr",
            "restart_policy": {
                "condition": "on-failure",
                "delay": "5s",
                "max_attempts": 5,
                "window": "120s",
            },
            "update_config": {
                **one_at_a_time,
                "failure_action": "rollback",
                "monitor": "20s",
                "max_failure_ratio": 0,
            },
            "rollback_config": {**one_at_a_time, "failure_action": "pause", "monitor": "20s"},
            "resources": {"limits": {"memory": memory, "cpus": cpus}},
        },
    }


def tmpfs(target: str, size: int) -> dict[str, Any]:
    return {"type": "tmpfs", "target": target, "tmpfs": {"size": size}}


def bot_service(fleet: dict[str, Any], name: str, bot: dict[str, Any]) -> dict[str, Any]:
    service = hardened("512M", "0.5")
    service["deploy"]["labels"] = {"org.grodt.bot": name, "org.grodt.database": bot["role"]}
    service.update(
        {
            "image": fleet["image"],
            "command": ["run"],
            "hostname": name,
            "environment": {
                "GRODT_ENV": fleet["environment"],
                # The bot's overlay comes last: its symbols, strategy and risk win over docker.yaml.
                "GRODT_CONFIG_OVERLAYS": "docker,bot",
                "GRODT_DATA_DIR": "/data",
            },
            "configs": [
                {
                    "source": f"{name}_overlay",
                    "target": "/opt/grodt/configs/bot.yaml",
                    "mode": 0o444,
                }
            ],
            # /run/secrets/grodt_<name> is where the daemon looks for each secret by default.
            "secrets": [
                {
                    "source": f"{name}_database_url",
                    "target": "grodt_database_url",
                    "uid": "10001",
                    "gid": "0",
                    "mode": 0o400,
                },
                {
                    "source": f"{name}_control_token",
                    "target": "grodt_control_token",
                    "uid": "10001",
                    "gid": "0",
                    "mode": 0o400,
                },
            ],
            "volumes": [
                {"type": "volume", "source": f"{name}-data", "target": "/data"},
                tmpfs("/tmp", 16 << 20),
            ],
            # The daemon drains in under 5 s; 20 s leaves room on a loaded host before SIGKILL.
            "stop_grace_period": "20s",
        }
    )
    return service


def postgres_service(fleet: dict[str, Any]) -> dict[str, Any]:
    service = hardened("512M", "1.0")
    service.update(
        {
            "image": fleet["postgres_image"],
            "volumes": [
                {"type": "volume", "source": "postgres-data", "target": "/var/lib/postgresql/data"},
                # The server's socket lives here too: the root file system is read-only.
                tmpfs("/tmp", 64 << 20),
            ],
            "stop_grace_period": "60s",
        }
    )
    return service


def prometheus_service(fleet: dict[str, Any]) -> dict[str, Any]:
    service = hardened("1G", "0.5")
    service.update(
        {
            "image": fleet["prometheus_image"],
            # No admin or lifecycle API, as in the Compose stack.
            "command": [
                "--config.file=/etc/prometheus/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
                "--storage.tsdb.retention.time=15d",
                "--web.listen-address=:9090",
            ],
            "configs": [
                {
                    "source": "prometheus_config",
                    "target": "/etc/prometheus/prometheus.yml",
                    "mode": 0o444,
                },
                {
                    "source": "prometheus_alerts",
                    "target": "/etc/prometheus/alerts.yml",
                    "mode": 0o444,
                },
            ],
            "volumes": [
                {"type": "volume", "source": "prometheus-data", "target": "/prometheus"},
                tmpfs("/tmp", 16 << 20),
            ],
            "stop_grace_period": "30s",
        }
    )
    return service


def prometheus_config(fleet: dict[str, Any]) -> dict[str, Any]:
    """The swarm template plus one static target per bot, each with its `bot` label, so every
    series a bot exposes (and its `up`) carries the bot's name without the Docker socket."""
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_TEMPLATE.read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "grodt")
    job["static_configs"] = [
        {"targets": [f"{name}:9090"], "labels": {"bot": name, "service": name}}
        for name in fleet["bots"]
    ]
    return config


def render(fleet: dict[str, Any], state: Path, infra_only: bool) -> dict[str, Any]:
    stack = fleet["stack"]
    services: dict[str, Any] = {"postgres": postgres_service(fleet)}
    configs: dict[str, Any] = {}
    secrets_: dict[str, Any] = {}
    volumes: dict[str, Any] = {"postgres-data": {}}
    with open(state / "bots.tsv", "w") as table:
        for name, bot in fleet["bots"].items():
            table.write(f"{name}\t{stack}_{name}\t{bot['role']}\n")
            files = ensure_secrets(state / "secrets" / name, bot["role"])
            if infra_only:
                continue
            services[name] = bot_service(fleet, name, bot)
            # Swarm configs and secrets cannot change in place: a content hash in the name makes
            # an edited overlay a new config, which the next deploy rolls out like an image.
            configs[f"{name}_overlay"] = {
                "name": f"{stack}_{name}_overlay_{digest(bot['overlay'])}",
                "file": str(bot["overlay"]),
            }
            for secret in ("database_url", "control_token"):
                secrets_[f"{name}_{secret}"] = {
                    "name": f"{stack}_{name}_{secret}_{digest(files[secret])}",
                    "file": str(files[secret]),
                }
            volumes[f"{name}-data"] = {}
    if not infra_only:
        prometheus_file = state / "prometheus.yml"
        prometheus_file.write_text(
            "# Rendered by docker/fleet/render.py; edit the fleet file instead.\n"
            + yaml.safe_dump(prometheus_config(fleet), sort_keys=False)
        )
        services["prometheus"] = prometheus_service(fleet)
        configs["prometheus_config"] = {
            "name": f"{stack}_prometheus_{digest(prometheus_file)}",
            "file": str(prometheus_file),
        }
        configs["prometheus_alerts"] = {
            "name": f"{stack}_alerts_{digest(ALERTS)}",
            "file": str(ALERTS),
        }
        volumes["prometheus-data"] = {}
    document: dict[str, Any] = {
        "version": "3.8",
        "services": services,
        "networks": {"fleet": {"driver": "overlay"}},
        "volumes": volumes,
    }
    if configs:
        document["configs"] = configs
    if secrets_:
        document["secrets"] = secrets_
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fleet_file", type=Path)
    parser.add_argument("--state-dir", type=Path, help="default: .fleet/<stack>/ in the checkout")
    parser.add_argument(
        "--infra", action="store_true", help="PostgreSQL only: the first phase of a deploy"
    )
    parser.add_argument(
        "--field", choices=sorted(DEFAULTS), help="print one setting of the fleet and exit"
    )
    args = parser.parse_args(argv)
    try:
        fleet = load_fleet(args.fleet_file.resolve(), dict(os.environ))
    except FleetError as exc:
        print(f"fleet: {exc}", file=sys.stderr)
        return 2
    if args.field:
        print(fleet[args.field])
        return 0
    state = (args.state_dir or REPO / ".fleet" / fleet["stack"]).resolve()
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    document = render(fleet, state, args.infra)
    out = state / ("stack.infra.yml" if args.infra else "stack.yml")
    out.write_text(
        "# Rendered by docker/fleet/render.py from "
        + str(args.fleet_file)
        + "; do not edit.\n"
        + yaml.safe_dump(document, sort_keys=False)
    )
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
