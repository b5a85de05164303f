"""The Kubernetes manifest agrees with the image and the service: probes on the right
routes, the image's port and non-root uid, settings that exist, a Service that selects
the pods."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from amazon_sentiment.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = REPO_ROOT / "deploy" / "k8s" / "serving.yaml"


def documents() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc}


def api_container() -> dict[str, Any]:
    containers = documents()["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def dockerfile_value(keyword: str) -> str:
    serving = (REPO_ROOT / "Dockerfile").read_text().split("AS serving", 1)[1]
    match = re.search(rf"^{keyword} (.+)$", serving, re.MULTILINE)
    assert match is not None
    return match[1]


def test_manifest_holds_a_deployment_and_a_service() -> None:
    assert set(documents()) == {"Deployment", "Service"}


def test_readiness_waits_for_the_model_and_liveness_only_for_the_process() -> None:
    container = api_container()
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"


def test_container_matches_the_images_port_user_and_command() -> None:
    container = api_container()
    port = int(dockerfile_value("EXPOSE"))
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert container["args"] == json.loads(dockerfile_value("CMD"))
    uid, gid = (int(part) for part in dockerfile_value("USER").split(":"))
    pod_security = documents()["Deployment"]["spec"]["template"]["spec"]["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert (pod_security["runAsUser"], pod_security["runAsGroup"]) == (uid, gid)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # With a read-only root, model downloads need a writable /tmp.
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def test_environment_names_real_settings_and_keeps_keys_in_a_secret() -> None:
    fields = {f"AMAZON_SENTIMENT_{name.upper()}" for name in Settings.model_fields}
    env = {item["name"]: item for item in api_container()["env"]}
    assert "MLFLOW_TRACKING_URI" in env
    assert {name for name in env if name.startswith("AMAZON_SENTIMENT_")} <= fields
    for key in ("AMAZON_SENTIMENT_API_KEY", "AMAZON_SENTIMENT_ADMIN_API_KEY"):
        assert "value" not in env[key]
        assert "secretKeyRef" in env[key]["valueFrom"]


def test_service_selects_the_deployments_pods_on_the_named_port() -> None:
    deployment, service = documents()["Deployment"], documents()["Service"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"]
