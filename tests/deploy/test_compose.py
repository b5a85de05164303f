"""compose.yaml and its env file: valid Compose, every variable supplied by the example
env file (with placeholders, not secrets), health checks and start order that make
`docker compose up` come up in the right order, and the bucket one-shot run for real."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from amazon_sentiment.settings import Settings
from tests.fixtures.processes import VENV_BIN
from tests.fixtures.s3 import S3Server

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "compose.yaml"
ENV_EXAMPLE = REPO_ROOT / "deploy" / ".env.example"
LONG_RUNNING = {"postgres", "s3", "mlflow", "api"}
# ${NAME}, ${NAME:-default}, ${NAME:?message}; `$${NAME}` is escaped for the container.
VARIABLE = re.compile(r"(?<!\$)\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?P<modifier>:[-?])?")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def compose_text_without_comments() -> str:
    return "\n".join(
        line for line in COMPOSE_FILE.read_text().splitlines() if not line.lstrip().startswith("#")
    )


def env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {name.strip(): value.strip() for name, value in pairs}


def test_compose_file_follows_the_compose_specification() -> None:
    result = subprocess.run(
        [
            str(VENV_BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_variable_comes_from_the_example_env_file() -> None:
    used = {
        match["name"]: match["modifier"]
        for match in VARIABLE.finditer(compose_text_without_comments())
    }
    example = env_example()
    required = {name for name, modifier in used.items() if modifier == ":?"}
    assert required <= set(example), f"missing from {ENV_EXAMPLE.name}: {required - set(example)}"
    # Optional image names aside, every variable the file reads is documented there.
    undocumented = (
        set(used) - set(example) - {"AMAZON_SENTIMENT_IMAGE", "AMAZON_SENTIMENT_PIPELINE_IMAGE"}
    )
    assert undocumented == set()


def test_example_env_file_holds_placeholders_not_secrets() -> None:
    secrets = {
        name: value
        for name, value in env_example().items()
        if any(word in name for word in ("PASSWORD", "SECRET", "API_KEY"))
    }
    assert secrets, "the example should show which secrets to set"
    assert all(value.startswith("change-me") for value in secrets.values()), secrets


def test_amazon_sentiment_variables_are_real_settings() -> None:
    """A typo in a variable name would be silently ignored by the service."""
    fields = {f"AMAZON_SENTIMENT_{name.upper()}" for name in Settings.model_fields}
    texts = [compose_text_without_comments(), ENV_EXAMPLE.read_text()]
    named = {name for text in texts for name in re.findall(r"\bAMAZON_SENTIMENT_[A-Z_]+\b", text)}
    assert named - {"AMAZON_SENTIMENT_IMAGE", "AMAZON_SENTIMENT_PIPELINE_IMAGE"} <= fields


def test_services_start_in_order_and_report_health() -> None:
    services = compose()["services"]
    for name in LONG_RUNNING:
        health = services[name].get("healthcheck", {})
        assert health.get("test"), f"{name} has no health check"
        assert not health.get("disable"), f"{name} has its health check disabled"
        assert services[name]["restart"] == "unless-stopped"

    def waits_for(service: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[service]["depends_on"].items()}

    assert waits_for("s3-init") == {"s3": "service_healthy"}
    assert waits_for("mlflow") == {
        "postgres": "service_healthy",
        "s3-init": "service_completed_successfully",
    }
    assert waits_for("api") == {"mlflow": "service_healthy"}
    assert waits_for("pipeline") == {"mlflow": "service_healthy"}
    assert services["pipeline"]["profiles"] == ["pipeline"]
    assert services["pipeline"]["build"]["target"] == "pipeline"
    assert services["api"]["build"]["target"] == "serving"


def test_stateful_services_keep_their_data_in_named_volumes() -> None:
    spec = compose()
    declared = set(spec["volumes"])
    mounted = {
        volume.split(":")[0]
        for service in spec["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert mounted == declared == {"postgres-data", "s3-data", "pipeline-artifacts"}


def test_mlflow_server_uses_postgres_and_proxies_s3_artifacts() -> None:
    services = compose()["services"]
    command = services["mlflow"]["command"]
    assert command[:2] == ["mlflow", "server"]
    assert any(arg.startswith("--backend-store-uri=postgresql+psycopg2://") for arg in command)
    assert any(arg.startswith("--artifacts-destination=s3://") for arg in command)
    assert "--serve-artifacts" in command
    # Only the storage side holds S3 keys; the API talks to MLflow alone.
    assert "AWS_SECRET_ACCESS_KEY" in services["mlflow"]["environment"]
    for client in ("api", "pipeline"):
        environment = services[client]["environment"]
        assert environment["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
        assert not any(name.startswith("AWS_") for name in environment)


def test_bucket_one_shot_creates_the_bucket_and_can_run_again(s3_server: S3Server) -> None:
    bucket = f"compose-init-{Path(s3_server.data_dir).name}".lower()[:40]
    env = {
        "PATH": str(VENV_BIN),
        "AWS_ENDPOINT_URL": s3_server.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "AWS_DEFAULT_REGION": s3_server.region,
        "MLFLOW_BUCKET": bucket,
    }
    script = str(REPO_ROOT / "deploy" / "create_bucket.py")
    first = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True)
    second = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True)
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert "created bucket" in first.stdout
    assert "already exists" in second.stdout
    names = [entry["Name"] for entry in s3_server.client().list_buckets()["Buckets"]]
    assert bucket in names
