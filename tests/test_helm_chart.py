"""The Helm chart: `helm lint --strict`, `helm template` for the default, several-replica and
bundled-PostgreSQL values, every rendered manifest valid against the Kubernetes schemas, and
what the manifests say checked against factorwatch itself (its config, its environment
names, the repository's alert rules and dashboards).

Helm here is helm-python-sdk: Helm 4's Go SDK as a library (ctypes), not a `helm` binary;
`helm_python.lint(strict=True)` is `helm lint --strict`, `Chart.render` is `helm template`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from service.config import check_config, load_settings

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "helm" / "factorwatch"
KUBE_VERSIONS = ("1.25.0", "1.37.0")  # the chart's kubeVersion floor, and the newest known
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}  # Prometheus Operator: not in the schemas

MULTI_REPLICA: dict[str, Any] = {
    "replicaCount": 3,
    "region": "eu-west",
    "cluster": {"leaseTTL": "10s"},
    "database": {"existingSecret": "factorwatch-db", "existingSecretKey": "url"},
    "secretEnv": {"OPENAI_API_KEY": {"secretName": "llm-keys", "key": "openai"},
                  "SLACK_WEBHOOK_URL": {"secretName": "alerting", "key": "slack"}},
    "secretFiles": [{"name": "llm-keys", "secretName": "llm-keys"}],
    "apiToken": {"existingSecret": "factorwatch-api", "key": "token"},
    "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
    "prometheusRule": {"enabled": True,
                       "extraGroups": [{"name": "team", "rules": [
                           {"alert": "TeamRule", "expr": "vector(1) > 2"}]}]},
    "grafanaDashboards": {"enabled": True},
    "config": {
        "alerts": {"sinks": [{"type": "slack", "name": "team",
                              "webhook_url_env": "SLACK_WEBHOOK_URL"}]},
        "workloads": {"support-chat": {
            "volume": {"requests_per_month": 50000, "input_tokens": 800, "output_tokens": 200},
            "weights": {"latency": 4, "cost": 3}}},
    },
}
BUNDLED_POSTGRESQL: dict[str, Any] = {
    "replicaCount": 2,
    "postgresql": {"enabled": True, "existingSecret": "factorwatch-pg"},
}
VALUES = {"default": {}, "multi-replica": MULTI_REPLICA, "bundled-postgresql": BUNDLED_POSTGRESQL}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(values, name="fw", namespace="llmops", is_install=True)
    return [doc for path, text in sorted(files.items()) if path.endswith(".yaml")
            for doc in yaml.safe_load_all(text) if doc]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind]
    return found


def container_env(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_chart_passes_helm_lint_strict(values: dict[str, Any]) -> None:
    report = helm.lint(str(CHART), values, strict=True, namespace="llmops")
    problems = [m for m in report["messages"] if m["severity"] >= 2]  # warning or error
    assert not problems and not report["errors"], report


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_every_rendered_manifest_is_valid_kubernetes(values: dict[str, Any]) -> None:
    docs = render(values)
    assert {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget"} <= {
        d["kind"] for d in docs}
    for doc in docs:
        if doc["kind"] in CRD_KINDS:
            assert doc["apiVersion"] == "monitoring.coreos.com/v1"
            continue
        for version in KUBE_VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)


def test_default_is_one_hardened_replica_on_sqlite() -> None:
    docs = render({})
    assert {d["kind"] for d in docs} == {"Deployment", "Service", "ConfigMap",
                                          "PodDisruptionBudget", "ServiceAccount"}
    deployment = one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 1
    assert container_env(deployment)["FACTORWATCH_DATABASE"] == "sqlite:////data/factorwatch.db"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's user
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"] + pod["initContainers"]:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert mounts["/tmp"] == "tmp" and mounts["/data"] == "data"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["tmp"] and "emptyDir" in volumes["data"]
    (daemon,) = pod["containers"]
    assert daemon["args"] == ["run"]
    assert daemon["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert daemon["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["initContainers"][0]["args"] == ["db", "upgrade"]


def test_several_replicas_spread_and_read_database_and_keys_from_secrets() -> None:
    docs = render(MULTI_REPLICA)
    deployment = one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 3
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    env = container_env(deployment)
    assert env["FACTORWATCH_REGION"] == "eu-west"
    assert env["FACTORWATCH_CLUSTER__LEASE_TTL"] == "10s"
    assert env["FACTORWATCH_DATABASE"] == {"secretKeyRef": {"name": "factorwatch-db",
                                                            "key": "url"}}
    assert env["OPENAI_API_KEY"] == {"secretKeyRef": {"name": "llm-keys", "key": "openai"}}
    assert env["FACTORWATCH_API_TOKEN"] == {"secretKeyRef": {"name": "factorwatch-api",
                                                             "key": "token"}}
    assert one(docs, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    # No secret value is ever rendered: only references to Secrets the user made.
    assert "Secret" not in {d["kind"] for d in docs}


def test_chart_environment_and_config_are_what_factorwatch_reads(tmp_path: Path) -> None:
    docs = render(MULTI_REPLICA)
    config = tmp_path / "config.yaml"
    (text,) = [d["data"]["config.yaml"] for d in docs
               if d["kind"] == "ConfigMap" and "config.yaml" in d["data"]]
    config.write_text(text)
    ok, lines = check_config(str(config))
    assert ok, lines
    secrets = {"FACTORWATCH_DATABASE": "postgresql+psycopg://fw:pw@db.internal/factorwatch",
               "FACTORWATCH_API_TOKEN": "t0ken"}
    environ = {name: value if isinstance(value, str) else secrets.get(name, "secret")
               for name, value in container_env(one(docs, "Deployment")).items()}
    settings = load_settings(config, environ=environ)
    assert settings.region == "eu-west" and settings.cluster.lease_ttl == 10.0
    assert settings.listen == "0.0.0.0:9464"
    assert settings.database == secrets["FACTORWATCH_DATABASE"]
    assert "support-chat" in settings.workloads


def test_bundled_postgresql_is_off_by_default_and_wired_when_on() -> None:
    assert "StatefulSet" not in {d["kind"] for d in render({})}
    docs = render(BUNDLED_POSTGRESQL)
    statefulset = one(docs, "StatefulSet")
    (pg,) = statefulset["spec"]["template"]["spec"]["containers"]
    pg_env = {e["name"]: e.get("value", e.get("valueFrom")) for e in pg["env"]}
    assert pg_env["POSTGRES_PASSWORD"] == {"secretKeyRef": {"name": "factorwatch-pg",
                                                            "key": "password"}}
    env = container_env(one(docs, "Deployment"))
    assert env["FACTORWATCH_POSTGRESQL_PASSWORD"] == pg_env["POSTGRES_PASSWORD"]
    assert env["FACTORWATCH_DATABASE"] == ("postgresql+psycopg://factorwatch:"
                                           "$(FACTORWATCH_POSTGRESQL_PASSWORD)"
                                           "@fw-factorwatch-postgresql:5432/factorwatch")
    names = [e["name"] for e in one(docs, "Deployment")["spec"]["template"]["spec"][
        "containers"][0]["env"]]
    # Kubernetes expands $(VAR) only from variables defined earlier in the list.
    assert names.index("FACTORWATCH_POSTGRESQL_PASSWORD") < names.index("FACTORWATCH_DATABASE")


def test_prometheus_rule_carries_the_repository_rules_and_the_extra_groups() -> None:
    docs = render(MULTI_REPLICA)
    groups = one(docs, "PrometheusRule")["spec"]["groups"]
    repo = yaml.safe_load((REPO / "dashboards" / "rules" / "factorwatch.yml").read_text())
    assert groups == repo["groups"] + MULTI_REPLICA["prometheusRule"]["extraGroups"]
    # The rules expect job="factorwatch": the ServiceMonitor takes the job from this label.
    monitor = one(docs, "ServiceMonitor")
    service = one(docs, "Service")
    assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "factorwatch"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"


def test_every_dashboard_becomes_a_configmap_with_the_grafana_sidecar_label() -> None:
    maps = [d for d in render(MULTI_REPLICA) if d["kind"] == "ConfigMap"
            and d["metadata"]["labels"].get("grafana_dashboard") == "1"]
    files = sorted((REPO / "dashboards").glob("*.json"))
    assert files and len(maps) == len(files)
    by_key = {key: json.loads(text) for m in maps for key, text in m["data"].items()}
    assert by_key == {f.name: json.loads(f.read_text()) for f in files}


@pytest.mark.parametrize(("values", "reason"), [
    pytest.param({"replicaCount": 3}, "replicaCount > 1 needs PostgreSQL",
                 id="replicas-on-sqlite"),
    pytest.param({"replicas": 3}, "additional properties 'replicas' not allowed",
                 id="unknown-key"),
    pytest.param({"region": "eu west"}, "/region", id="region-not-a-label"),
    pytest.param({"replicaCount": "3"}, "got string, want integer", id="count-as-text"),
    pytest.param({"postgresql": {"enabled": True}}, "needs postgresql.existingSecret",
                 id="bundled-without-password"),
    pytest.param({"postgresql": {"enabled": True, "existingSecret": "pg"},
                  "database": {"existingSecret": "db"}}, "choose one", id="two-databases"),
    pytest.param({"secretEnv": {"OPENAI_API_KEY": {"secretName": "k"}}}, "missing property 'key'",
                 id="secret-ref-without-key"),
])
def test_bad_values_are_refused_with_the_reason(values: dict[str, Any], reason: str) -> None:
    with pytest.raises(helm.HelmError) as err:
        render(values)
    assert reason in str(err.value)


def test_the_values_in_the_deployment_guide_render_valid_manifests(tmp_path: Path) -> None:
    guide = (REPO / "docs" / "deploy.md").read_text()
    block = guide.split("# values-prod.yaml\n", 1)[1].split("```", 1)[0]
    values = yaml.safe_load(block)
    docs = render(values)
    for doc in docs:
        if doc["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(doc, KUBE_VERSIONS[-1], strict=True)
    (text,) = [d["data"]["config.yaml"] for d in docs
               if d["kind"] == "ConfigMap" and "config.yaml" in d["data"]]
    (tmp_path / "config.yaml").write_text(text)
    ok, lines = check_config(str(tmp_path / "config.yaml"))
    assert ok, lines
