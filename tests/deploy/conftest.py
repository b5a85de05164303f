"""The production topology, started for real on loopback: MLflow's backend store on
PostgreSQL, its artifacts on S3 (SeaweedFS) proxied by ``mlflow server
--serve-artifacts``, and a small model registered into it with the production alias.

Clients (training, the API, the image) talk only to the MLflow server: they need no
database driver configuration and no S3 credentials, which only the server holds.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.postgres import PostgresServer
from tests.fixtures.processes import env_with_venv, free_port, http_ok, running, wait_until
from tests.fixtures.s3 import S3Server
from tests.fixtures.serving import MODEL_NAME, fit_sentiment_model, register_model

REPO_ROOT = Path(__file__).resolve().parents[2]
# Generous: on a busy 2-core machine the server's first start (schema migrations on
# PostgreSQL) was seen to take minutes.
MLFLOW_STARTUP_SECONDS = 300.0
ARTIFACTS_PREFIX = "mlflow-artifacts"


@dataclass(frozen=True)
class ProductionRegistry:
    """An ``mlflow server`` on PostgreSQL + S3, and where each of its stores lives."""

    tracking_uri: str
    postgres: PostgresServer
    database: str
    s3: S3Server
    bucket: str
    log_path: Path


def mlflow_server_args(
    *, port: int, backend_store_uri: str, artifacts_destination: str
) -> list[str]:
    """The server command of the production topology (compose.yaml runs the same)."""
    return [
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        backend_store_uri,
        "--serve-artifacts",
        "--artifacts-destination",
        artifacts_destination,
    ]


@pytest.fixture(scope="session")
def production_registry(
    postgres_server: PostgresServer,
    s3_server: S3Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ProductionRegistry]:
    """A real ``mlflow server`` whose backend store is PostgreSQL and artifacts S3."""
    database = postgres_server.create_database("mlflow")
    bucket = s3_server.create_bucket("mlflow")
    port = free_port()
    log_path = tmp_path_factory.mktemp("production-mlflow") / "mlflow-server.log"
    args = mlflow_server_args(
        port=port,
        backend_store_uri=postgres_server.url(database),
        artifacts_destination=f"s3://{bucket}/{ARTIFACTS_PREFIX}",
    )
    # Only the server gets the S3 keys. Its background job runner (huey) is not used by
    # this project and only costs CPU on a small machine.
    server_env = env_with_venv(**s3_server.aws_env(), MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    with running(args, log_path=log_path, env=server_env) as process:
        tracking_uri = f"http://127.0.0.1:{port}"
        wait_until(
            http_ok(f"{tracking_uri}/health"),
            timeout=MLFLOW_STARTUP_SECONDS,
            what=f"mlflow server on PostgreSQL + S3 (log: {log_path})",
            process=process,
        )
        yield ProductionRegistry(
            tracking_uri=tracking_uri,
            postgres=postgres_server,
            database=database,
            s3=s3_server,
            bucket=bucket,
            log_path=log_path,
        )


@pytest.fixture(scope="session")
def production_model_version(production_registry: ProductionRegistry) -> str:
    """A small real model registered in the production registry as @production."""
    return register_model(production_registry.tracking_uri, fit_sentiment_model(), name=MODEL_NAME)


def client_env(tracking_uri: str, **extra: str) -> dict[str, str]:
    """What a client of the registry gets: the tracking URI and nothing about S3."""
    env = env_with_venv(MLFLOW_TRACKING_URI=tracking_uri, **extra)
    for name in list(env):
        if name.startswith("AWS_") or name.startswith("MLFLOW_S3"):
            del env[name]
    return env


@dataclass(frozen=True)
class TrainedModel:
    name: str
    version: str
    experiment_name: str


TRAINED_MODEL_NAME = "amazon_sentiment_model_topology"


@pytest.fixture(scope="session")
def trained_production_model(
    production_registry: ProductionRegistry,
    golden_sample: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> TrainedModel:
    """`amazon-sentiment train` with the committed grid, registering and promoting into
    the production registry (under its own model name, so other tests keep theirs)."""
    workdir = tmp_path_factory.mktemp("topology-training")
    experiment = "topology-training"
    env = client_env(
        production_registry.tracking_uri,
        AMAZON_SENTIMENT_MODEL_NAME=TRAINED_MODEL_NAME,
        AMAZON_SENTIMENT_EXPERIMENT_NAME=experiment,
    )
    result = subprocess.run(
        [
            "amazon-sentiment",
            "train",
            "--golden-sample",
            str(golden_sample),
            "--config",
            str(REPO_ROOT / "configs" / "train.yaml"),
        ],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, f"training failed:\n{result.stdout}\n{result.stderr}"
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=production_registry.tracking_uri)
    version = client.get_model_version_by_alias(TRAINED_MODEL_NAME, "production").version
    return TrainedModel(name=TRAINED_MODEL_NAME, version=str(version), experiment_name=experiment)
