"""The Kubernetes manifests as a cluster would receive them: every overlay rendered by kubectl's
own kustomize, validated offline against the Kubernetes schemas (kubernetes-validate), scanned
by checkov, and its rendered objects held to the daemon's contract (probes, the restricted Pod
Security profile, one replica per bot, secrets only as files, metrics only for Prometheus).

Tools: kubectl and build/kube-tools/ come from scripts/ci-kube-tools.sh, checkov from the
project's `scan` group. Missing, they skip loudly here and fail in CI. As root, the validators
run in a network namespace of their own (`unshare --net`), which proves they need no network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.support.kube import (
    INSTALL,
    KUBE,
    OVERLAYS,
    Doc,
    bots,
    container,
    documents,
    of_kind,
    render,
)
from tests.support.tools import in_ci, require_tool, unavailable

ROOT = KUBE.parents[1]
KUBE_TOOLS = ROOT / "build" / "kube-tools" / "bin"
# Oldest and newest Kubernetes the manifests are validated against (StatefulSet PVC retention,
# used here, is on by default from 1.27 on).
KUBERNETES_VERSIONS = ("1.30", "1.37")
# Every checkov skip the manifests may carry, with the overlays allowed to carry it; each must
# also give its reason in the annotation itself.
ALLOWED_SKIPS = {"CKV_K8S_43": set(OVERLAYS), "CKV_K8S_15": {"dev"}}


def _offline(command: list[str]) -> list[str]:
    """The command in a network namespace with no interface but loopback, where one can be had."""
    unshare = shutil.which("unshare")
    if os.geteuid() == 0 and unshare is not None:
        return [unshare, "--net", "--", *command]
    if in_ci():
        pytest.fail("CI runs as root and must prove validation offline with unshare --net")
    return command


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path, list[Doc]]:
    name: str = request.param
    text = render(name)
    path = tmp_path_factory.mktemp(f"k8s-{name}") / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return name, path, documents(text)


# -- the tools ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_overlay_validates_against_the_kubernetes_schemas_offline(
    overlay: tuple[str, Path, list[Doc]], version: str
) -> None:
    _, path, docs = overlay
    validate = KUBE_TOOLS / "kubernetes-validate"
    if not validate.exists():
        unavailable(f"{validate} is missing: {INSTALL}")
    done = subprocess.run(
        _offline([str(validate), "--strict", "-k", version, str(path)]),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    passed = re.findall(r"passed for resource (\S+) against", done.stdout)
    core = [d for d in docs if not d["apiVersion"].startswith("monitoring.coreos.com/")]
    assert len(passed) == len(core), done.stdout
    # The two Prometheus Operator kinds have no core schema: test_custom_resources_* checks them.
    assert set(re.findall(r"schema for kind (\w+)", done.stdout)) <= {
        "ServiceMonitor",
        "PrometheusRule",
    }


def test_custom_resources_match_their_schemas(overlay: tuple[str, Path, list[Doc]]) -> None:
    _, _, docs = overlay
    for kind in ("ServiceMonitor", "PrometheusRule"):
        schema = yaml.safe_load((KUBE / "schemas" / f"{kind.lower()}.schema.yaml").read_text())
        (doc,) = of_kind(docs, kind)
        jsonschema.validate(doc, schema)
        # The schema is strict: a misspelt field is an error, not a field the server drops.
        misspelt = json.loads(json.dumps(doc))
        misspelt["spec"]["endpoint" if kind == "ServiceMonitor" else "group"] = []
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(misspelt, schema)


@pytest.fixture(scope="module")
def checkov_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One checkov run over every rendered overlay (its start-up is most of its time)."""
    checkov = ROOT / ".venv" / "bin" / "checkov"
    if not checkov.exists():
        unavailable("checkov is not in .venv: scripts/bootstrap.sh --all-groups installs it")
    folder = tmp_path_factory.mktemp("k8s-checkov")
    for name in OVERLAYS:
        (folder / f"{name}.yaml").write_text(render(name), encoding="utf-8")
    command = [str(checkov), "-d", str(folder), "--framework", "kubernetes", "--compact",
               "--skip-download", "-o", "json"]  # fmt: skip
    done = subprocess.run(_offline(command), capture_output=True, text=True, cwd=folder)
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    assert done.returncode == 0 or report["results"]["failed_checks"], done.stderr[-2000:]
    return report


def test_checkov_passes_with_explained_skips_only(
    overlay: tuple[str, Path, list[Doc]], checkov_report: dict[str, Any]
) -> None:
    name, _, _ = overlay
    results = {
        kind: [c for c in checks if c["file_path"] == f"/{name}.yaml"]
        for kind, checks in checkov_report["results"].items()
        if kind != "parsing_errors"
    }
    failed = [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert not failed, failed
    assert len(results["passed_checks"]) > 50, "checkov evaluated next to nothing"
    for check in results["skipped_checks"]:
        assert name in ALLOWED_SKIPS.get(check["check_id"], set()), check["check_id"]
        assert len(check["check_result"]["suppress_comment"]) > 40, check  # a reason, not a shrug


# -- one bot, one pod --------------------------------------------------------------------------


def test_every_bot_is_a_single_replica_that_never_overlaps_itself(
    overlay: tuple[str, Path, list[Doc]],
) -> None:
    _, _, docs = overlay
    assert not of_kind(docs, "HorizontalPodAutoscaler") and not of_kind(docs, "ReplicaSet")
    for deployment in of_kind(docs, "Deployment"):
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    for bot in bots(docs):
        spec = bot["spec"]
        assert spec["replicas"] == 1
        assert spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        assert spec["updateStrategy"]["type"] == "RollingUpdate"
        assert [t["metadata"]["name"] for t in spec["volumeClaimTemplates"]] == ["data"]


def test_a_fleet_is_bots_with_their_own_pods_accounts_and_volumes(
    overlay: tuple[str, Path, list[Doc]],
) -> None:
    name, _, docs = overlay
    fleet = bots(docs)
    if name == "prod":
        assert len(fleet) >= 2, "prod shows the fleet: several singleton bots"
    pod_labels = [bot["spec"]["template"]["metadata"]["labels"] for bot in fleet]
    for bot in fleet:
        selector = bot["spec"]["selector"]["matchLabels"]
        matched = [labels for labels in pod_labels if selector.items() <= labels.items()]
        assert len(matched) == 1, f"{bot['metadata']['name']} selects another bot's pods"
    secrets = {
        volume["secret"]["secretName"]
        for bot in fleet
        for volume in bot["spec"]["template"]["spec"]["volumes"]
        if "secret" in volume
    }
    assert len(secrets) == len(fleet), "two bots share one account's Secret"
    names = {bot["metadata"]["name"] for bot in fleet}
    assert len(names) == len(fleet)


def test_prod_guards_each_bot_with_a_disruption_budget_and_a_named_store(
    overlay: tuple[str, Path, list[Doc]],
) -> None:
    name, _, docs = overlay
    budgets = of_kind(docs, "PodDisruptionBudget")
    if name != "prod":
        assert budgets == []
        return
    fleet = bots(docs)
    assert len(budgets) == len(fleet)
    for bot in fleet:
        labels = bot["spec"]["template"]["metadata"]["labels"]
        guarding = [
            b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(guarding) == 1 and guarding[0]["spec"]["maxUnavailable"] == 0
        env = {e["name"]: e["value"] for e in container(bot)["env"]}
        assert env["GRODT_DATABASE_URL_FILE"] == "/run/secrets/grodt_database_url"


# -- the daemon's contract ----------------------------------------------------------------------


def test_probes_follow_the_health_and_readiness_contract(
    overlay: tuple[str, Path, list[Doc]],
) -> None:
    name, _, docs = overlay
    heartbeat = yaml.safe_load((ROOT / "configs" / "settings.yaml").read_text())["health"][
        "heartbeat_timeout_seconds"
    ]
    for bot in bots(docs):
        main = container(bot)
        ports = {p["name"]: p["containerPort"] for p in main["ports"]}
        assert ports == {"web": 8000, "metrics": 9090}
        env = {e["name"]: e["value"] for e in main["env"]}
        assert env["GRODT_ENV"] == name
        for probe, path in (
            ("startupProbe", "/health"),
            ("livenessProbe", "/health"),
            ("readinessProbe", "/ready"),
        ):
            get = main[probe]["httpGet"]
            assert (get["path"], ports[get["port"]]) == (path, 8000), probe
        live = main["livenessProbe"]
        # A restart only after the engine heartbeat has certainly gone stale, never on one miss.
        assert live["periodSeconds"] * live["failureThreshold"] > heartbeat
        start = main["startupProbe"]
        assert start["periodSeconds"] * start["failureThreshold"] >= 60


def test_pods_meet_the_restricted_pod_security_profile(
    overlay: tuple[str, Path, list[Doc]],
) -> None:
    _, _, docs = overlay
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    user = re.search(r"^USER (\d+)", dockerfile, re.M)
    assert user is not None, "docker/Dockerfile names no numeric USER"
    image_uid = int(user.group(1))
    (namespace,) = of_kind(docs, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for bot in bots(docs):
        pod = bot["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == image_uid
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
        assert not any("hostPath" in v for v in pod["volumes"])
        context = container(bot)["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        # Writable: the data directory and /tmp, as in the image (IMG-8); secrets read-only.
        mounts = {m["mountPath"]: m.get("readOnly", False) for m in container(bot)["volumeMounts"]}
        assert mounts == {"/data": False, "/tmp": False, "/run/secrets": True}


def test_the_grace_period_outlasts_the_drain(overlay: tuple[str, Path, list[Doc]]) -> None:
    _, _, docs = overlay
    drain = yaml.safe_load((ROOT / "configs" / "settings.yaml").read_text())["shutdown"][
        "drain_timeout_seconds"
    ]
    for bot in bots(docs):
        assert bot["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= drain + 10


def test_secrets_reach_the_pod_only_as_files_and_are_never_in_the_manifests(
    overlay: tuple[str, Path, list[Doc]],
) -> None:
    _, path, docs = overlay
    assert of_kind(docs, "Secret") == [] and of_kind(docs, "ConfigMap") == []
    secret_names = ("TOKEN", "SECRET", "PASSWORD", "API_KEY", "DATABASE_URL")
    for bot in bots(docs):
        for env in container(bot).get("env", []):
            if any(word in env["name"] for word in secret_names):
                assert env["name"].endswith("_FILE") and env["value"].startswith("/run/secrets/")
        (volume,) = [v for v in bot["spec"]["template"]["spec"]["volumes"] if "secret" in v]
        assert volume["secret"]["defaultMode"] == 0o440
    # No URL with credentials anywhere in the rendered text.
    assert not re.search(r"://[^/\s:@]+:[^@\s]+@", path.read_text())


# -- monitoring --------------------------------------------------------------------------------


def test_only_prometheus_reaches_the_metrics_port(overlay: tuple[str, Path, list[Doc]]) -> None:
    _, _, docs = overlay
    (policy,) = of_kind(docs, "NetworkPolicy")
    for bot in bots(docs):
        labels = bot["spec"]["template"]["metadata"]["labels"]
        assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert "Ingress" in policy["spec"]["policyTypes"]
    to_metrics = [
        r for r in policy["spec"]["ingress"] if any(p["port"] == 9090 for p in r["ports"])
    ]
    assert all("ports" in r for r in policy["spec"]["ingress"]), "a rule opens every port"
    assert to_metrics == [
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    },
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                }
            ],
            "ports": [{"port": 9090, "protocol": "TCP"}],
        }
    ]


def test_the_service_monitor_scrapes_every_bot_as_job_grodt(
    overlay: tuple[str, Path, list[Doc]],
) -> None:
    _, _, docs = overlay
    (monitor,) = of_kind(docs, "ServiceMonitor")
    services = of_kind(docs, "Service")
    assert len(services) == len(bots(docs))
    selector = monitor["spec"]["selector"]["matchLabels"]
    for service in services:
        assert selector.items() <= service["metadata"]["labels"].items()
        # The job name the alert rules use (job="grodt").
        assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "grodt"
        port_names = {p["name"] for p in service["spec"]["ports"]}
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= port_names
    for bot in bots(docs):
        assert bot["spec"]["serviceName"] in {s["metadata"]["name"] for s in services}
        # Every series carries the pod's bot name as `bot`, the dashboards' selector label.
        assert bot["spec"]["template"]["metadata"]["labels"]["grodt.io/bot"]
    for endpoint in monitor["spec"]["endpoints"]:
        assert {
            "sourceLabels": ["__meta_kubernetes_pod_label_grodt_io_bot"],
            "targetLabel": "bot",
        } in endpoint["relabelings"]


def test_the_prometheus_rule_carries_the_compose_alert_rules(
    overlay: tuple[str, Path, list[Doc]], tmp_path: Path
) -> None:
    _, _, docs = overlay
    (rule,) = of_kind(docs, "PrometheusRule")
    compose = yaml.safe_load((ROOT / "docker" / "prometheus" / "alerts.yml").read_text())
    assert rule["spec"]["groups"] == compose["groups"]
    # The job the ServiceMonitor's jobLabel produces (test_the_service_monitor_*).
    assert any('job="grodt"' in r["expr"] for g in compose["groups"] for r in g["rules"])
    sync = ROOT / "deploy" / "kubernetes" / "tools" / "sync_alert_rules.py"
    done = subprocess.run(
        [str(ROOT / ".venv/bin/python"), str(sync), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    # Prometheus' own parser on the rules as the operator hands them to Prometheus.
    promtool = require_tool("promtool", "apt-get install prometheus (.ci/run does)")
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(yaml.safe_dump(rule["spec"]), encoding="utf-8")
    checked = subprocess.run(
        [promtool, "check", "rules", str(rules_file)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(compose['groups'][0]['rules'])} rules found" in checked.stdout
