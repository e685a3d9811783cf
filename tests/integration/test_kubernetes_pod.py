"""The rendered staging pod, run on the real image by the real Docker engine as a kubelet would.

No cluster runs on these machines, so this test plays the kubelet: it turns the rendered
StatefulSet's pod spec into `docker run` options (user and groups, read-only root, dropped
capabilities, no privilege escalation, limits, environment, the volumes), prepares the data
volume and the Secret's files with the ownership a kubelet gives them under `fsGroup`, probes
/health and /ready as the probes say, and stops the pod with its grace period. A field of the
pod spec it does not know how to translate fails the test instead of being ignored, so the
manifests cannot drift away from what was proved here.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.integration.test_docker.engine import IMAGE_TAG, Docker, DockerError
from tests.support.kube import Doc, bots, container, documents, render
from tests.support.tools import unavailable

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# What this kubelet stand-in translates; anything else in the manifests fails the test.
POD_CONTEXT = {
    "runAsNonRoot",
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "fsGroupChangePolicy",
    "seccompProfile",
}
CONTAINER_CONTEXT = {
    "allowPrivilegeEscalation",
    "privileged",
    "readOnlyRootFilesystem",
    "runAsNonRoot",
    "capabilities",
    "seccompProfile",
}


@pytest.fixture
def docker() -> Iterator[Docker]:
    handle = Docker()
    if not handle.answers():
        unavailable(f"no Docker engine answers to {handle.binary}: scripts/ci-docker-engine.sh")
    try:
        yield handle
    finally:
        handle.cleanup()


def _mib(quantity: str) -> int:
    assert quantity.endswith("Mi"), f"only Mi quantities are translated: {quantity}"
    return int(quantity.removesuffix("Mi"))


def _as_root(docker: Docker, image: str, volume: str, script: str, *env: str) -> None:
    """What the kubelet does to a volume before the pod starts, done by root in a container."""
    docker.run(
        "run",
        "--rm",
        "--user",
        "0",
        "--entrypoint",
        "/bin/sh",
        "--network",
        "none",
        *env,
        "-v",
        f"{volume}:/v",
        image,
        "-c",
        script,
    )


def _run_options(docker: Docker, image: str, bot: Doc, token: str) -> list[str]:
    pod = bot["spec"]["template"]["spec"]
    main = container(bot)
    pod_context, context = pod["securityContext"], main["securityContext"]
    assert set(pod_context) <= POD_CONTEXT and set(context) <= CONTAINER_CONTEXT
    assert pod_context["seccompProfile"] == context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert context["capabilities"] == {"drop": ["ALL"]} and context["privileged"] is False
    fs_group = pod_context["fsGroup"]
    options = [
        "--user", f"{pod_context['runAsUser']}:{pod_context['runAsGroup']}",
        "--group-add", str(fs_group),
        "--cap-drop", "ALL",
        # Kubernetes ignores the image's HEALTHCHECK: the probes below replace it.
        "--no-healthcheck",
        "--memory", f"{_mib(main['resources']['limits']['memory'])}m",
        "--cpus", main["resources"]["limits"]["cpu"],
    ]  # fmt: skip
    if context["readOnlyRootFilesystem"]:
        options.append("--read-only")
    if context["allowPrivilegeEscalation"] is False:
        options += ["--security-opt", "no-new-privileges"]
    for env in main["env"]:
        options += ["-e", f"{env['name']}={env['value']}"]
    for port in main["ports"]:
        options += ["-p", f"127.0.0.1::{port['containerPort']}"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    claims = {claim["metadata"]["name"] for claim in bot["spec"]["volumeClaimTemplates"]}
    for mount in main["volumeMounts"]:
        name, path = mount["name"], mount["mountPath"]
        if name in claims:
            # A fresh volume, root's, made group-writable for fsGroup with the setgid bit.
            volume = docker.volume("k8s-data")
            _as_root(docker, image, volume, f"chown 0:{fs_group} /v && chmod 2775 /v")
            options += ["-v", f"{volume}:{path}"]
        elif "emptyDir" in volumes[name]:
            empty = volumes[name]["emptyDir"]
            assert empty["medium"] == "Memory"
            options += ["--tmpfs", f"{path}:size={_mib(empty['sizeLimit'])}m,mode=1777"]
        elif "secret" in volumes[name]:
            # The Secret's files: root's, group fsGroup, with the volume's defaultMode.
            mode = f"{volumes[name]['secret']['defaultMode']:o}"
            volume = docker.volume("k8s-secret")
            _as_root(docker, image, volume,
                     'printf %s "$TOKEN" >/v/grodt_control_token && '
                     f"chown 0:{fs_group} /v/grodt_control_token && "
                     f"chmod {mode} /v/grodt_control_token && chmod 0755 /v",
                     "-e", f"TOKEN={token}")  # fmt: skip
            assert mount["readOnly"] is True
            options += ["-v", f"{volume}:{path}:ro"]
        else:
            pytest.fail(f"volume {name} is of a kind this test does not translate")
    return options


def _get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _post(port: int, path: str, token: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps({"by": "test_kubernetes_pod", "reason": "token from the Secret"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def _probe(docker: Docker, name: str, port: int, probe: Doc) -> float:
    """Seconds until the probe passes, polled at its period, within its failure budget."""
    started = time.monotonic()
    for _ in range(probe["failureThreshold"]):
        if _get(port, probe["httpGet"]["path"]) == 200:
            return time.monotonic() - started
        if not docker.state(name).get("Running"):
            pytest.fail(f"the pod's container exited:\n{docker.logs(name)[-3000:]}")
        time.sleep(probe["periodSeconds"])
    pytest.fail(f"{probe['httpGet']['path']} never passed:\n{docker.logs(name)[-3000:]}")


def test_the_rendered_staging_pod_runs_the_real_image(docker: Docker) -> None:
    (bot,) = bots(documents(render("staging")))
    main = container(bot)
    try:
        image = docker.build(IMAGE_TAG)
    except DockerError as exc:
        pytest.fail(str(exc), pytrace=False)
    token = secrets.token_urlsafe(24)
    options = _run_options(docker, image, bot, token)
    name = docker.start(image, *options, command=main["args"], prefix="k8s-pod")
    port = docker.host_port(name, 8000)

    started = _probe(docker, name, port, main["startupProbe"])
    # Readiness needs fresh market data: a few periods of its probe after start-up.
    ready_probe = {**main["readinessProbe"], "failureThreshold": 12}
    ready = _probe(docker, name, port, ready_probe)
    assert _get(port, main["livenessProbe"]["httpGet"]["path"]) == 200

    # The token came from the Secret's file: the control endpoints want exactly it.
    assert _post(port, "/api/v1/control/pause", None) == 401
    assert _post(port, "/api/v1/control/pause", token) == 200
    assert _post(port, "/api/v1/control/resume", token) == 200
    # The store is on the fsGroup volume, written by a uid that does not own it.
    assert docker.exec(name, "test", "-s", "/data/grodt.db").returncode == 0

    grace = bot["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    stopping = time.monotonic()
    docker.run("stop", "-t", str(grace), name, timeout=grace + 30)
    stopped = time.monotonic() - stopping
    state = docker.state(name)
    logs = docker.logs(name)
    assert state["ExitCode"] == 0 and not state["OOMKilled"], logs[-3000:]
    assert stopped < grace / 2, f"the drain took {stopped:.1f} s of a {grace} s grace period"
    lines = [line for line in logs.splitlines() if line.strip()]
    assert lines and all(json.loads(line)["level"] for line in lines)
    assert token not in logs
    print(
        f"k8s pod: healthy {started:.1f} s, ready {ready:.1f} s later, stopped in {stopped:.1f} s"
    )
