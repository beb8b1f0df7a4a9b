"""The Kubernetes manifests of deploy/k8s: each is a valid object of its kind, and together they
run newsbot the way its settings, commands and endpoints expect."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.serve import _health_server
from bot.settings import Settings, load_settings
from tests.deploy.repo import (
    dockerfile_stages,
    is_command,
    known_names,
    manifests,
    served_paths,
    setting_names,
)

MANIFESTS = manifests()
KINDS = {
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "PersistentVolumeClaim": "v1",
    "Deployment": "apps/v1",
    "CronJob": "batch/v1",
    "Ingress": "networking.k8s.io/v1",
    "PodDisruptionBudget": "policy/v1",
}
# CronJob's timeZone is stable from Kubernetes 1.27 on.
OLDEST_KUBERNETES = "1.27.0"

CONFIG = MANIFESTS["configmap.yaml:ConfigMap"]["data"]
SECRET = MANIFESTS["example/secret.yaml:Secret"]["stringData"]
HTTP = MANIFESTS["http/deployment.yaml:Deployment"]
SOCKET = MANIFESTS["socket/deployment.yaml:Deployment"]
DIGEST = MANIFESTS["cronjob-digest.yaml:CronJob"]
INGEST = MANIFESTS["cronjob-ingest.yaml:CronJob"]
WORKLOADS = {"http": HTTP, "socket": SOCKET, "digest": DIGEST, "ingest": INGEST}


def pod(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    return (spec["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else spec)["template"]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    [only] = pod(workload)["spec"]["containers"]
    return only


def environment(workload: dict[str, Any]) -> dict[str, str]:
    """The variables the container sees, with the example Secret's values for secret keys."""
    c = container(workload)
    env = {}
    for source in c.get("envFrom", []):
        assert source["configMapRef"]["name"] == "newsbot"
        env.update(CONFIG)
    for var in c.get("env", []):
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref is None:
            env[var["name"]] = var["value"]
        elif ref["key"] in SECRET:
            env[var["name"]] = SECRET[ref["key"]]
    return env


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_each_manifest_is_an_object_kubernetes_knows(name: str) -> None:
    doc = MANIFESTS[name]
    assert KINDS[doc["kind"]] == doc["apiVersion"]
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"])
    assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == "newsbot"
    assert "namespace" not in doc["metadata"]  # the one `kubectl apply -n` chooses


@pytest.mark.parametrize("name", sorted(MANIFESTS))
@pytest.mark.parametrize("version", [OLDEST_KUBERNETES, "latest"])
def test_each_manifest_passes_the_kubernetes_schema(name: str, version: str) -> None:
    validate = pytest.importorskip("kubernetes_validate", reason="pip: kubernetes-validate")
    version = validate.latest_version() if version == "latest" else version
    # strict: a misspelt field is an error, not silently dropped by the API server.
    validate.validate(MANIFESTS[name], version, strict=True)


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_every_workload_runs_a_newsbot_command_of_the_image(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    c = container(WORKLOADS[name])
    images = {container(w)["image"] for w in WORKLOADS.values()}
    assert len(images) == 1 and c["image"].startswith("newsbot:")
    # The image's ENTRYPOINT is `newsbot`; a manifest that set `command` would bypass it.
    assert "command" not in c
    assert is_command(c["args"], capsys), c["args"]


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_every_variable_is_one_newsbot_reads(name: str) -> None:
    c = container(WORKLOADS[name])
    names = {v["name"] for v in c.get("env", [])} | set(CONFIG) | set(SECRET)
    assert names <= known_names(), names - known_names()


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_every_secret_comes_from_the_secret(name: str) -> None:
    secret_fields = {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"}
    assert not secret_fields & set(CONFIG)
    for var in container(WORKLOADS[name]).get("env", []):
        if var["name"] in secret_fields | {"NEWSBOT_STATE_URL", "OPENSEARCH_URL"}:
            ref = var["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "newsbot" and ref["key"] == var["name"]
            assert ref.get("optional", False) or ref["key"] in SECRET


def test_the_example_secret_holds_no_real_value() -> None:
    assert all("REPLACE-ME" in value for value in SECRET.values())
    assert set(SECRET) <= known_names()


@pytest.mark.parametrize("transport", ["http", "socket"])
def test_the_serving_settings_load_and_have_what_the_transport_needs(
    transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in environment(WORKLOADS[transport]).items():
        monkeypatch.setenv(name, value)
    settings = load_settings(_env_file=None)
    assert settings.transport == transport
    settings.check_for_serving()
    assert settings.digest_scheduler == "off"  # the CronJob posts the digest, never each pod


def test_http_serving_scales_out_on_shared_state() -> None:
    assert HTTP["spec"]["replicas"] >= 2
    env = environment(HTTP)
    assert env["NEWSBOT_STATE_URL"].startswith("postgresql://")
    assert HTTP["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_socket_mode_is_one_replica() -> None:
    assert SOCKET["spec"]["replicas"] == 1
    assert "NEWSBOT_STATE_URL" in environment(SOCKET)


@pytest.mark.parametrize("name", ["http", "socket"])
def test_probes_ask_newsbot_endpoints_on_its_port(name: str) -> None:
    c = container(WORKLOADS[name])
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert list(ports.values()) == [int(CONFIG["NEWSBOT_PORT"])]
    probes = {kind: c[kind]["httpGet"] for kind in ("startupProbe", "readinessProbe")}
    probes["livenessProbe"] = c["livenessProbe"]["httpGet"]
    assert probes["readinessProbe"]["path"] == "/readyz"
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["startupProbe"]["path"] == "/healthz"
    for probe in probes.values():
        assert probe["port"] in ports
        assert probe["path"] in served_paths()


def test_socket_mode_serves_both_probe_paths() -> None:
    server = _health_server("127.0.0.1", 0, lambda: True)
    try:
        port = server.server_address[1]
        for probe in ("readinessProbe", "livenessProbe"):
            path = container(SOCKET)[probe]["httpGet"]["path"]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
                assert json.load(answer) == {"connected": True}
    finally:
        server.shutdown()


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_resources_and_a_locked_down_non_root_pod(name: str) -> None:
    c = container(WORKLOADS[name])
    assert {"cpu", "memory"} <= set(c["resources"]["requests"])
    assert "memory" in c["resources"]["limits"]
    security = pod(WORKLOADS[name])["spec"]["securityContext"]
    [user] = dockerfile_stages()[-1].all("USER")
    assert security["runAsNonRoot"] is True
    assert f"{security['runAsUser']}:{security['runAsGroup']}" == user
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_volumes_are_the_corpus_and_data_folders(name: str) -> None:
    spec = pod(WORKLOADS[name])["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container(WORKLOADS[name])["volumeMounts"]}
    assert set(mounts) == set(volumes)
    assert mounts["corpus"] == CONFIG["NEWSBOT_CORPUS_DIR"]
    assert mounts["data"] == CONFIG["NEWSBOT_DATA_DIR"]
    claim = volumes["corpus"]["persistentVolumeClaim"]["claimName"]
    pvc = MANIFESTS["pvc.yaml:PersistentVolumeClaim"]
    assert claim == pvc["metadata"]["name"]
    # Pods on several nodes read it and the ingest job writes it at the same time.
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]


@pytest.mark.parametrize("job", [DIGEST, INGEST])
def test_cronjobs_never_overlap_and_say_when(job: dict[str, Any]) -> None:
    spec = job["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    ZoneInfo(spec["timeZone"])
    assert pod(job)["spec"]["restartPolicy"] == "Never"


def test_the_digest_runs_when_the_settings_say_it_is_due() -> None:
    minute, hour, *rest = DIGEST["spec"]["schedule"].split()
    assert rest == ["*", "*", "*"]
    assert f"{int(hour):02d}:{int(minute):02d}" == CONFIG["DIGEST_TIME"]
    assert DIGEST["spec"]["timeZone"] == CONFIG["DIGEST_TZ"]
    # A run is stopped before another could take over its claim while it still posts.
    claim_timeout = Settings.model_fields["digest_claim_timeout_s"].default
    assert DIGEST["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] < claim_timeout
    assert "SLACK_BOT_TOKEN" in environment(DIGEST)


def _selects(selector: dict[str, str], workload: dict[str, Any]) -> bool:
    return selector.items() <= pod(workload)["metadata"]["labels"].items()


def test_service_ingress_and_budget_reach_the_http_pods() -> None:
    service = MANIFESTS["http/service.yaml:Service"]
    assert _selects(service["spec"]["selector"], HTTP)
    assert not _selects(service["spec"]["selector"], SOCKET)
    [port] = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in container(HTTP)["ports"]}

    ingress = MANIFESTS["http/ingress.yaml:Ingress"]
    [rule] = ingress["spec"]["rules"]
    [path] = rule["http"]["paths"]
    # Only Slack's request URL is public; the probes stay inside the cluster.
    assert (path["path"], path["pathType"]) == ("/slack/events", "Exact")
    assert path["path"] in served_paths()
    backend = path["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] == port["name"]
    assert rule["host"] in ingress["spec"]["tls"][0]["hosts"]

    budget = MANIFESTS["http/pdb.yaml:PodDisruptionBudget"]
    assert _selects(budget["spec"]["selector"]["matchLabels"], HTTP)
    assert budget["spec"]["minAvailable"] < HTTP["spec"]["replicas"]
